//! For the CRM analyst: the users to act on first, and what changed last
//! night.
//!
//! The users to act on are the first of the `users` table by tier (in the
//! tiers' own order: super-connector, topical influencer, connector,
//! standard), then influence (largest first), then user id; they are kept
//! in a bounded list while the table streams past. What changed last night
//! is read from the last night's `users` change feed
//! (`changes/<night>/users/`, written by `reach serve` and by
//! `reach run --deltas`): per user, the `-` row is before the night and the
//! `+` row after it (a missing row: not in the table), which gives who
//! entered or left each tier and the largest moves of influence.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use super::data::TIERS;
use super::read::{decimal, int, OutputDir};
use crate::error::Result;

/// Users listed to act on.
pub const TOP_USERS: usize = 25;
/// Users listed per list of last night's changes.
pub const CHANGES_SHOWN: usize = 15;

/// A row of `users`, as the page lists it.
#[derive(Clone, Debug, PartialEq)]
pub struct UserRow {
    /// The user.
    pub user_id: u64,
    /// The tier, as written.
    pub tier: String,
    /// Influence (parsed, for ordering).
    pub influence: f64,
    /// Friends persuaded over all topics.
    pub persuaded_total: u64,
    /// Friend count.
    pub friend_count: u64,
    /// The topic with the most credit (empty: none).
    pub top_topic: String,
}

/// A tier's place in [`TIERS`]; unknown names after them.
pub fn tier_rank(tier: &str) -> usize {
    TIERS.iter().position(|t| *t == tier).unwrap_or(TIERS.len())
}

/// The order of the users to act on: tier, influence descending, user id;
/// a user as `(tier, influence, user_id)`.
pub fn act_order(a: (&str, f64, u64), b: (&str, f64, u64)) -> Ordering {
    tier_rank(a.0)
        .cmp(&tier_rank(b.0))
        .then_with(|| a.0.cmp(b.0))
        .then_with(|| b.1.total_cmp(&a.1))
        .then_with(|| a.2.cmp(&b.2))
}

impl UserRow {
    fn key(&self) -> (&str, f64, u64) {
        (&self.tier, self.influence, self.user_id)
    }
}

/// The first `n` users in [`act_order`], kept while rows stream past.
#[derive(Clone, Debug)]
pub struct TopUsers {
    n: usize,
    rows: Vec<UserRow>,
}

impl TopUsers {
    /// An empty list of at most `n`.
    pub fn new(n: usize) -> TopUsers {
        TopUsers {
            n,
            rows: Vec::with_capacity(n + 1),
        }
    }

    /// Whether a user `(tier, influence, user_id)` is among the first `n`
    /// so far (cheap: call it before making the row).
    pub fn admits(&self, key: (&str, f64, u64)) -> bool {
        self.n > 0
            && self
                .rows
                .get(self.n - 1)
                .is_none_or(|last| act_order(key, last.key()) == Ordering::Less)
    }

    /// Offers a row: kept if it is among the first `n` so far.
    pub fn offer(&mut self, row: UserRow) {
        if !self.admits(row.key()) {
            return;
        }
        let at = self
            .rows
            .partition_point(|kept| act_order(kept.key(), row.key()) == Ordering::Less);
        self.rows.insert(at, row);
        self.rows.truncate(self.n);
    }

    /// The rows, in order.
    pub fn into_rows(self) -> Vec<UserRow> {
        self.rows
    }
}

/// A user's row before and after a night: (tier, influence), None when the
/// user was not in the table.
type Side = Option<(String, f64)>;

/// A user whose tier changed last night.
#[derive(Clone, Debug, PartialEq)]
pub struct TierChange {
    /// The user.
    pub user_id: u64,
    /// The tier before (None: not in the table).
    pub from: Option<String>,
    /// The tier after (None: left the table).
    pub to: Option<String>,
    /// Influence after the night (0 if the user left).
    pub influence: f64,
}

/// A user whose influence changed last night.
#[derive(Clone, Debug, PartialEq)]
pub struct InfluenceMove {
    /// The user.
    pub user_id: u64,
    /// Influence before (0 if not in the table).
    pub before: f64,
    /// Influence after (0 if the user left).
    pub after: f64,
    /// The tier after the night (before it, if the user left).
    pub tier: String,
}

impl InfluenceMove {
    /// after - before.
    pub fn change(&self) -> f64 {
        self.after - self.before
    }
}

/// What the last night's `users` feed says.
#[derive(Clone, Debug, PartialEq)]
pub struct NightChanges {
    /// The night's name.
    pub night: String,
    /// Users with a row in the feed.
    pub users_changed: u64,
    /// Per tier (in [`TIERS`] order, then unknown names): users who
    /// entered it and users who left it.
    pub tiers: Vec<(String, u64, u64)>,
    /// Users whose tier changed, counted.
    pub tier_changes_total: u64,
    /// The first [`CHANGES_SHOWN`] of them: by the tier they are in now
    /// (leaving the table last), then influence, then user id.
    pub tier_changes: Vec<TierChange>,
    /// The [`CHANGES_SHOWN`] largest moves of influence, by size of the
    /// change (either way), then user id.
    pub moves: Vec<InfluenceMove>,
}

/// The last night of `out` (from `summary.json`'s `nights`, which for a
/// `reach serve` output is its manifest's), if its `users` feed is in the
/// output.
pub fn last_night_feed(out: &OutputDir) -> Option<(String, String)> {
    let nights = out.summary["nights"].as_array()?;
    let name = nights.last()?["name"].as_str()?.to_string();
    let table = format!("changes/{name}/users");
    out.has_table(&table).then_some((name, table))
}

/// Reads the last night's `users` feed into [`NightChanges`], or None when
/// the output has no night (or its feed was not kept).
pub fn last_night(out: &OutputDir) -> Result<Option<NightChanges>> {
    let Some((night, table)) = last_night_feed(out) else {
        return Ok(None);
    };
    let mut sides: BTreeMap<u64, (Side, Side)> = BTreeMap::new();
    out.for_each_row(&table, &["op", "user_id", "influence", "tier"], |c| {
        let user = int(c[1], "user_id")?;
        let influence = decimal(c[2], "influence")?;
        let entry = sides.entry(user).or_default();
        let (slot, side) = match c[0] {
            "-" => (&mut entry.0, "-"),
            "+" => (&mut entry.1, "+"),
            other => return Err(format!("op: expected + or -, found {other:?}")),
        };
        if slot.is_some() {
            return Err(format!("user {user} has two {side} rows in one night"));
        }
        *slot = Some((c[3].to_string(), influence));
        Ok(())
    })?;

    let mut entered: BTreeMap<String, u64> = BTreeMap::new();
    let mut left: BTreeMap<String, u64> = BTreeMap::new();
    let mut tier_changes = Vec::new();
    let mut moves = Vec::new();
    for (&user_id, (before, after)) in &sides {
        let from = before.as_ref().map(|b| b.0.clone());
        let to = after.as_ref().map(|a| a.0.clone());
        let (was, now) = (
            before.as_ref().map_or(0.0, |b| b.1),
            after.as_ref().map_or(0.0, |a| a.1),
        );
        if from != to {
            if let Some(tier) = &from {
                *left.entry(tier.clone()).or_default() += 1;
            }
            if let Some(tier) = &to {
                *entered.entry(tier.clone()).or_default() += 1;
            }
            tier_changes.push(TierChange {
                user_id,
                from: from.clone(),
                to: to.clone(),
                influence: now,
            });
        }
        if was != now {
            moves.push(InfluenceMove {
                user_id,
                before: was,
                after: now,
                tier: to.or(from).unwrap_or_default(),
            });
        }
    }
    let tier_changes_total = tier_changes.len() as u64;
    tier_changes.sort_by(|a, b| {
        let rank = |c: &TierChange| c.to.as_deref().map_or(usize::MAX, tier_rank);
        rank(a)
            .cmp(&rank(b))
            .then_with(|| a.to.cmp(&b.to))
            .then_with(|| b.influence.total_cmp(&a.influence))
            .then_with(|| a.user_id.cmp(&b.user_id))
    });
    tier_changes.truncate(CHANGES_SHOWN);
    moves.sort_by(|a, b| {
        b.change()
            .abs()
            .total_cmp(&a.change().abs())
            .then_with(|| a.user_id.cmp(&b.user_id))
    });
    moves.truncate(CHANGES_SHOWN);

    let mut names: Vec<String> = TIERS.iter().map(|t| t.to_string()).collect();
    for name in entered.keys().chain(left.keys()) {
        if !names.contains(name) {
            names.push(name.clone());
        }
    }
    let tiers = names
        .into_iter()
        .map(|name| {
            let (e, l) = (
                entered.get(&name).copied().unwrap_or(0),
                left.get(&name).copied().unwrap_or(0),
            );
            (name, e, l)
        })
        .collect();
    Ok(Some(NightChanges {
        night,
        users_changed: sides.len() as u64,
        tiers,
        tier_changes_total,
        tier_changes,
        moves,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(user_id: u64, tier: &str, influence: f64) -> UserRow {
        UserRow {
            user_id,
            tier: tier.to_string(),
            influence,
            persuaded_total: 0,
            friend_count: 0,
            top_topic: String::new(),
        }
    }

    #[test]
    fn the_bounded_list_keeps_the_first_in_order() {
        let rows = [
            row(1, "standard", 9.0),
            row(2, "connector", 0.5),
            row(3, "super-connector", 0.0),
            row(4, "connector", 2.0),
            row(5, "gold", 50.0),
            row(6, "connector", 2.0),
            row(7, "topical-influencer", 1.0),
        ];
        let ids = |n: usize| {
            let mut top = TopUsers::new(n);
            for r in rows.iter().cloned() {
                top.offer(r);
            }
            top.into_rows()
                .iter()
                .map(|r| r.user_id)
                .collect::<Vec<_>>()
        };
        // Worked by hand: super 3; topical 7; connectors 4, 6 (tie: id), 2;
        // standard 1; the unknown tier last.
        assert_eq!(ids(10), vec![3, 7, 4, 6, 2, 1, 5]);
        assert_eq!(ids(3), vec![3, 7, 4]);
        assert_eq!(ids(0), Vec::<u64>::new());
    }
}
