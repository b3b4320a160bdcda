//! What the report shows, computed from the tables of an output directory
//! in one pass each: the degree distribution and the study shares, the
//! influence-by-friend-count grid, CRM tiers, the top topics with their
//! leaders, and the shuffle test when its table is there; the users to act
//! on and last night's changes come from [`super::crm`].
//!
//! Everything is ordered (B-tree maps, sorted vectors, sums in file order),
//! so the same tables give the same numbers and the same report bytes.

use std::collections::{BTreeMap, BTreeSet};

use super::crm;
use super::read::{decimal, int, OutputDir};
use crate::error::Result;

/// The study's thresholds: ">100 friends" and "1000 or more".
pub const STUDY_CONNECTOR_MIN: u32 = 101;
/// See [`STUDY_CONNECTOR_MIN`].
pub const STUDY_SUPER_MIN: u32 = 1000;
/// The study's shares: about 20% of users have more than 100 friends ...
pub const STUDY_SHARE_CONNECTORS: f64 = 0.20;
/// ... and under 1% have 1000 or more.
pub const STUDY_SHARE_SUPER: f64 = 0.01;
/// Grid cells per power of ten on both axes of the influence figure.
pub const BINS_PER_DECADE: f64 = 5.0;
/// Leaders listed per shown topic.
pub const LEADERS_SHOWN: u32 = 5;
/// A topic is "significant" in the shuffle test at this p-value or below.
pub const SIGNIFICANCE_LEVEL: f64 = 0.05;

/// Topics with fewer adopters are counted in the shuffle test but not
/// listed: with a handful of adopters one lucky event gives a small p.
pub const MIN_ADOPTERS_LISTED: u64 = 5;

/// The tier names in display order, as the `tier` column writes them.
pub const TIERS: [&str; 4] = [
    "super-connector",
    "topical-influencer",
    "connector",
    "standard",
];

/// One tier's totals.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TierTotals {
    /// Users in the tier.
    pub users: u64,
    /// Sum of their influence.
    pub influence: f64,
    /// Sum of their friend counts.
    pub friends: u64,
}

/// A leader of a shown topic.
#[derive(Clone, Debug, PartialEq)]
pub struct Leader {
    /// 1..=K.
    pub rank: u32,
    /// The user.
    pub user_id: u64,
    /// credit(u,t), as written in the table.
    pub credit: String,
    /// persuaded(u,t).
    pub persuaded: u64,
    /// reach(u,t).
    pub reach: u64,
    /// The leader's friend count (from `users`).
    pub friend_count: Option<u64>,
}

/// A row of `topics` with its leaders.
#[derive(Clone, Debug, PartialEq)]
pub struct Topic {
    /// The name.
    pub topic: String,
    /// Adopters.
    pub adopters: u64,
    /// Adoptions with a friend adopting 1..=W days before.
    pub socially_explained: u64,
    /// The first [`LEADERS_SHOWN`] leaders.
    pub leaders: Vec<Leader>,
}

/// A row of `topic_significance`.
#[derive(Clone, Debug, PartialEq)]
pub struct Significance {
    /// The topic.
    pub topic: String,
    /// Adopters.
    pub adopters: u64,
    /// The observed statistic, as written.
    pub observed: String,
    /// Mean over the shuffles, as written.
    pub shuffled_mean: String,
    /// Standard deviation over the shuffles, as written.
    pub shuffled_std: String,
    /// (observed - mean) / std; NaN when empty or undefined.
    pub z: f64,
    /// The p-value; NaN when empty.
    pub p_value: f64,
    /// The Benjamini-Hochberg q-value over all tested topics; NaN when p is.
    pub q_value: f64,
}

/// The shuffle test's table, summarised.
#[derive(Clone, Debug, PartialEq)]
pub struct ShuffleTest {
    /// Topics tested (rows of the table).
    pub tested: u64,
    /// Topics with p_value <= [`SIGNIFICANCE_LEVEL`].
    pub significant: u64,
    /// Topics with q_value <= [`SIGNIFICANCE_LEVEL`] (Benjamini-Hochberg).
    pub discoveries: u64,
    /// The first rows with at least [`MIN_ADOPTERS_LISTED`] adopters, by
    /// q ascending, then z descending (undefined last), then topic name.
    pub top: Vec<Significance>,
}

/// The influence-by-friend-count grid: users with at least one friend,
/// binned by log10 of both values ([`BINS_PER_DECADE`] bins a decade).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Grid {
    /// (friend-count bin, influence bin) -> users, for influence > 0.
    pub cells: BTreeMap<(i32, i32), u64>,
    /// Per friend-count bin: (users, users with influence 0, sum of influence).
    pub columns: BTreeMap<i32, (u64, u64, f64)>,
}

impl Grid {
    /// The bin of a positive value: floor(log10(v) * bins a decade), guarded
    /// against rounding just below an exact power of ten.
    pub fn bin(value: f64) -> i32 {
        (value.log10() * BINS_PER_DECADE + 1e-9).floor() as i32
    }

    /// The lower edge of a bin.
    pub fn edge(bin: i32) -> f64 {
        10f64.powf(f64::from(bin) / BINS_PER_DECADE)
    }
}

/// Everything the page shows.
#[derive(Clone, Debug)]
pub struct Data {
    /// `summary.json`.
    pub summary: serde_json::Value,
    /// `csv` or `parquet`.
    pub format: &'static str,
    /// Part files of `users`.
    pub parts: usize,
    /// Rows of `users`.
    pub users: u64,
    /// `degree_distribution`: (friend count, users), ascending.
    pub degrees: Vec<(u64, u64)>,
    /// Users with at least one friend (sum of `degree_distribution`).
    pub users_with_friends: u64,
    /// Users with more than 100 friends.
    pub over_100: u64,
    /// Users with 1000 or more friends.
    pub at_least_1000: u64,
    /// Users per tier, in [`TIERS`] order, plus any unknown tier names after.
    pub tiers: Vec<(String, TierTotals)>,
    /// Sum of all influence.
    pub total_influence: f64,
    /// The influence figure's data.
    pub grid: Grid,
    /// Spearman's rank correlation of friend count and influence over users
    /// with at least one friend (None if either is constant).
    pub spearman: Option<f64>,
    /// Rows of `topics`.
    pub topics_total: u64,
    /// Sum of adopters over topics.
    pub adoptions: u64,
    /// Sum of socially explained adoptions over topics.
    pub socially_explained: u64,
    /// The shown topics: most adopters first (ties: name).
    pub top_topics: Vec<Topic>,
    /// The shuffle test, if its table is in the output.
    pub shuffle: Option<ShuffleTest>,
    /// The first users to act on (by tier, then influence).
    pub top_users: Vec<crm::UserRow>,
    /// What the last night's change feed says, if the output has one.
    pub last_night: Option<crm::NightChanges>,
    /// The customers side, if the output has one.
    pub customers: Option<super::customers::Customers>,
}

impl Data {
    /// Share of users with at least one friend who have more than 100 friends.
    pub fn share_over_100(&self) -> f64 {
        share(self.over_100, self.users_with_friends)
    }

    /// Share of users with at least one friend who have 1000 or more.
    pub fn share_at_least_1000(&self) -> f64 {
        share(self.at_least_1000, self.users_with_friends)
    }
}

/// part / whole, 0 when whole is 0.
pub fn share(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

/// Reads the tables of `out` into [`Data`], listing `top_n` topics.
pub fn collect(out: &OutputDir, top_n: usize) -> Result<Data> {
    // Degree distribution.
    let mut degrees = Vec::new();
    out.for_each_row("degree_distribution", &["friend_count", "users"], |c| {
        degrees.push((int(c[0], "friend_count")?, int(c[1], "users")?));
        Ok(())
    })?;
    degrees.sort_unstable();
    let users_with_friends = degrees.iter().map(|d| d.1).sum();
    let at_least = |min: u32| -> u64 {
        degrees
            .iter()
            .filter(|d| d.0 >= u64::from(min))
            .map(|d| d.1)
            .sum()
    };
    let over_100 = at_least(STUDY_CONNECTOR_MIN);
    let at_least_1000 = at_least(STUDY_SUPER_MIN);

    // Topics: the top N by adopters.
    let mut topics: Vec<Topic> = Vec::new();
    let (mut adoptions, mut socially_explained) = (0u64, 0u64);
    if out.has_table("topics") {
        out.for_each_row(
            "topics",
            &["topic", "adopters", "socially_explained"],
            |c| {
                let topic = Topic {
                    topic: c[0].to_string(),
                    adopters: int(c[1], "adopters")?,
                    socially_explained: int(c[2], "socially_explained")?,
                    leaders: Vec::new(),
                };
                adoptions += topic.adopters;
                socially_explained += topic.socially_explained;
                topics.push(topic);
                Ok(())
            },
        )?;
    }
    let topics_total = topics.len() as u64;
    topics.sort_by(|a, b| {
        b.adopters
            .cmp(&a.adopters)
            .then_with(|| a.topic.cmp(&b.topic))
    });
    topics.truncate(top_n);

    // Their leaders.
    let shown: BTreeMap<String, usize> = topics
        .iter()
        .enumerate()
        .map(|(i, t)| (t.topic.clone(), i))
        .collect();
    if out.has_table("topic_leaders") && !shown.is_empty() {
        out.for_each_row(
            "topic_leaders",
            &["topic", "rank", "user_id", "credit", "persuaded", "reach"],
            |c| {
                let Some(&i) = shown.get(c[0]) else {
                    return Ok(());
                };
                let rank = int(c[1], "rank")?;
                if rank <= u64::from(LEADERS_SHOWN) {
                    topics[i].leaders.push(Leader {
                        rank: rank as u32,
                        user_id: int(c[2], "user_id")?,
                        credit: c[3].to_string(),
                        persuaded: int(c[4], "persuaded")?,
                        reach: int(c[5], "reach")?,
                        friend_count: None,
                    });
                }
                Ok(())
            },
        )?;
    }
    for topic in &mut topics {
        topic.leaders.sort_by_key(|l| (l.rank, l.user_id));
    }
    let leader_ids: BTreeSet<u64> = topics
        .iter()
        .flat_map(|t| t.leaders.iter().map(|l| l.user_id))
        .collect();

    // Users: tiers, influence by friend count, the leaders' friend counts.
    let mut users = 0u64;
    let mut tiers: BTreeMap<String, TierTotals> = BTreeMap::new();
    let mut total_influence = 0.0;
    let mut grid = Grid::default();
    let mut pairs: Vec<(f64, f64)> = Vec::new();
    let mut leader_friends: BTreeMap<u64, u64> = BTreeMap::new();
    let mut top_users = crm::TopUsers::new(crm::TOP_USERS);
    out.for_each_row(
        "users",
        &[
            "user_id",
            "friend_count",
            "influence",
            "tier",
            "persuaded_total",
            "top_topic",
        ],
        |c| {
            let friends = int(c[1], "friend_count")?;
            let influence = decimal(c[2], "influence")?;
            if !influence.is_finite() || influence < 0.0 {
                return Err(format!(
                    "influence: expected a finite non-negative decimal, found {:?}",
                    c[2]
                ));
            }
            users += 1;
            total_influence += influence;
            let tier = tiers.entry(c[3].to_string()).or_default();
            tier.users += 1;
            tier.influence += influence;
            tier.friends += friends;
            let user = int(c[0], "user_id")?;
            if leader_ids.contains(&user) {
                leader_friends.insert(user, friends);
            }
            if top_users.admits((c[3], influence, user)) {
                top_users.offer(crm::UserRow {
                    user_id: user,
                    tier: c[3].to_string(),
                    influence,
                    persuaded_total: int(c[4], "persuaded_total")?,
                    friend_count: friends,
                    top_topic: c[5].to_string(),
                });
            }
            if friends > 0 {
                let x = Grid::bin(friends as f64);
                let column = grid.columns.entry(x).or_default();
                column.0 += 1;
                column.2 += influence;
                if influence > 0.0 {
                    *grid.cells.entry((x, Grid::bin(influence))).or_default() += 1;
                } else {
                    column.1 += 1;
                }
                pairs.push((friends as f64, influence));
            }
            Ok(())
        },
    )?;
    for topic in &mut topics {
        for leader in &mut topic.leaders {
            leader.friend_count = leader_friends.get(&leader.user_id).copied();
        }
    }
    let mut tiers_in_order: Vec<(String, TierTotals)> = TIERS
        .iter()
        .map(|name| (name.to_string(), tiers.remove(*name).unwrap_or_default()))
        .collect();
    tiers_in_order.extend(tiers);

    let shuffle = if out.has_table("topic_significance") {
        Some(shuffle_test(out, top_n)?)
    } else {
        None
    };

    Ok(Data {
        summary: out.summary.clone(),
        format: out.format("users")?,
        parts: out.parts("users")?.len(),
        users,
        degrees,
        users_with_friends,
        over_100,
        at_least_1000,
        tiers: tiers_in_order,
        total_influence,
        grid,
        spearman: spearman(&pairs),
        topics_total,
        adoptions,
        socially_explained,
        top_topics: topics,
        shuffle,
        top_users: top_users.into_rows(),
        last_night: crm::last_night(out)?,
        customers: super::customers::collect(out)?,
    })
}

/// Reads `topic_significance`: counts and the first `top_n` rows by z.
fn shuffle_test(out: &OutputDir, top_n: usize) -> Result<ShuffleTest> {
    let mut rows: Vec<Significance> = Vec::new();
    out.for_each_row(
        "topic_significance",
        &[
            "topic",
            "adopters",
            "observed",
            "shuffled_mean",
            "shuffled_std",
            "z",
            "p_value",
        ],
        |c| {
            rows.push(Significance {
                topic: c[0].to_string(),
                adopters: int(c[1], "adopters")?,
                observed: c[2].to_string(),
                shuffled_mean: c[3].to_string(),
                shuffled_std: c[4].to_string(),
                z: decimal(c[5], "z")?,
                p_value: decimal(c[6], "p_value")?,
                q_value: f64::NAN,
            });
            Ok(())
        },
    )?;
    let significant = rows
        .iter()
        .filter(|r| r.p_value <= SIGNIFICANCE_LEVEL)
        .count() as u64;
    let p: Vec<f64> = rows.iter().map(|r| r.p_value).collect();
    for (row, q) in rows.iter_mut().zip(super::multiple::bh_q_values(&p)) {
        row.q_value = q;
    }
    let discoveries = rows
        .iter()
        .filter(|r| r.q_value <= SIGNIFICANCE_LEVEL)
        .count() as u64;
    let tested = rows.len() as u64;
    rows.retain(|r| r.adopters >= MIN_ADOPTERS_LISTED);
    rows.sort_by(|a, b| {
        by_q(a.q_value, b.q_value)
            .then_with(|| by_z_desc(a.z, b.z))
            .then_with(|| a.topic.cmp(&b.topic))
    });
    rows.truncate(top_n);
    Ok(ShuffleTest {
        tested,
        significant,
        discoveries,
        top: rows,
    })
}

/// q ascending, NaN (undefined) last.
fn by_q(a: f64, b: f64) -> std::cmp::Ordering {
    match (a.is_nan(), b.is_nan()) {
        (true, true) => std::cmp::Ordering::Equal,
        (true, false) => std::cmp::Ordering::Greater,
        (false, true) => std::cmp::Ordering::Less,
        (false, false) => a.total_cmp(&b),
    }
}

/// z descending, +inf first, NaN (undefined) last.
pub fn by_z_desc(a: f64, b: f64) -> std::cmp::Ordering {
    match (a.is_nan(), b.is_nan()) {
        (true, true) => std::cmp::Ordering::Equal,
        (true, false) => std::cmp::Ordering::Greater,
        (false, true) => std::cmp::Ordering::Less,
        (false, false) => b.total_cmp(&a),
    }
}

/// Spearman's rank correlation: Pearson's correlation of the ranks, ties
/// getting their average rank. None when fewer than two pairs or a
/// constant variable.
pub fn spearman(pairs: &[(f64, f64)]) -> Option<f64> {
    if pairs.len() < 2 {
        return None;
    }
    let rx = ranks(pairs.iter().map(|p| p.0).collect());
    let ry = ranks(pairs.iter().map(|p| p.1).collect());
    let n = pairs.len() as f64;
    let mean = (n + 1.0) / 2.0;
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (x, y) in rx.iter().zip(&ry) {
        let (dx, dy) = (x - mean, y - mean);
        sxy += dx * dy;
        sxx += dx * dx;
        syy += dy * dy;
    }
    if sxx == 0.0 || syy == 0.0 {
        return None;
    }
    Some(sxy / (sxx * syy).sqrt())
}

/// 1-based ranks, ties averaged.
fn ranks(values: Vec<f64>) -> Vec<f64> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[a].total_cmp(&values[b]).then(a.cmp(&b)));
    let mut ranks = vec![0.0; values.len()];
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && values[order[j + 1]] == values[order[i]] {
            j += 1;
        }
        let rank = (i + j) as f64 / 2.0 + 1.0;
        for &k in &order[i..=j] {
            ranks[k] = rank;
        }
        i = j + 1;
    }
    ranks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spearman_by_hand() {
        // Perfectly monotone (not linear): 1.
        let up: Vec<(f64, f64)> = (1..=5).map(|i| (i as f64, (i * i) as f64)).collect();
        assert!((spearman(&up).unwrap() - 1.0).abs() < 1e-12);
        // Reversed: -1.
        let down: Vec<(f64, f64)> = (1..=5).map(|i| (i as f64, -(i as f64))).collect();
        assert!((spearman(&down).unwrap() + 1.0).abs() < 1e-12);
        // Ties: x = 1,1,2 -> ranks 1.5,1.5,3; y = 0,1,1 -> ranks 1,2.5,2.5.
        // Centred (mean 2): x -.5,-.5,1; y -1,.5,.5; sxy = .5-.25+.5 = .75;
        // sxx = 1.5, syy = 1.5; rho = .75/1.5 = .5.
        let tied = [(1.0, 0.0), (1.0, 1.0), (2.0, 1.0)];
        assert!((spearman(&tied).unwrap() - 0.5).abs() < 1e-12);
        assert_eq!(spearman(&[(1.0, 1.0), (2.0, 1.0)]), None);
    }

    #[test]
    fn bins_are_fifths_of_a_decade() {
        assert_eq!(Grid::bin(1.0), 0);
        assert_eq!(Grid::bin(10.0), 5);
        assert_eq!(Grid::bin(9.99), 4);
        assert_eq!(Grid::bin(1000.0), 15);
        assert_eq!(Grid::bin(0.5), -2); // log10(.5) * 5 = -1.5
        assert!((Grid::edge(5) - 10.0).abs() < 1e-9);
    }

    #[test]
    fn z_order_puts_infinity_first_and_undefined_last() {
        let mut z = [1.0, f64::NAN, f64::INFINITY, -2.0, f64::NEG_INFINITY];
        z.sort_by(|a, b| by_z_desc(*a, *b));
        assert_eq!(z[0], f64::INFINITY);
        assert_eq!(&z[1..4], &[1.0, -2.0, f64::NEG_INFINITY]);
        assert!(z[4].is_nan());
    }
}
