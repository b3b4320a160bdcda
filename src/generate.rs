//! Deterministic synthetic datasets: a friendship graph with a heavy-tailed
//! degree distribution, a year of dated topic adoptions, and planted
//! influence cascades whose ground truth is known.
//!
//! Real social graphs large enough to exercise the job at scale cannot be
//! shipped with the project, so this module makes them up, reproducibly. The
//! graph is a Chung-Lu random graph whose expected degrees are lognormal; the
//! default (mean 90, sigma 1.5) is calibrated to the study the project cites:
//! about 20% of users have more than 100 friends and under 1% have 1,000 or
//! more. Adoptions are spontaneous (a Poisson number per user, topics drawn by
//! Zipf popularity, days uniform over 2025) plus planted cascades: a few seed
//! users adopt an unpopular topic and each of their friends follows, with
//! probability `cascade_follow_prob`, 1..=60 days later, so the influence
//! metrics have something to find and `planted.csv` says what it is.
//!
//! Everything is a pure function of [`Params`]: it draws from the crate's own
//! random number generators ([`crate::hash`]: SplitMix64 for seeding and
//! hashing, xoshiro256** for draws) and carries its own `ln`/`exp`, using only IEEE-754 arithmetic and
//! `sqrt`, so the data never changes with a dependency upgrade, a platform's
//! libm or the number of threads. Work is cut into chunks (edges in chunks of
//! [`EDGE_CHUNK`], users in chunks of [`USER_CHUNK`]) and every chunk has its
//! own random stream seeded from `(seed, stream tag, chunk index)`, so any
//! worker can generate any chunk alone and get the same records.
//!
//! **Stable:** the formulas documented on the private helpers (stream
//! seeding, uniform and normal draws, alias sampling, the follow hash) and the
//! chunk sizes define the datasets; changing any of them changes every
//! generated dataset.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Condvar, Mutex};

use crate::hash::{mix, SplitMix64, Xoshiro256StarStar};
use crate::output::csv::{write_u64, write_u64_padded};

/// First day of the generated year, 2025-01-01, in days since 1970-01-01.
pub const START_DAY: i32 = 20_089;
/// Number of days over which spontaneous adoptions are spread: every
/// generated day `d` satisfies `START_DAY <= d < START_DAY + SPAN_DAYS`.
pub const SPAN_DAYS: i32 = 365;
/// A cascade seed adopts on one of the first `CASCADE_START_DAYS` days.
pub const CASCADE_START_DAYS: i32 = 300;
/// A cascade follower adopts 1..=`FOLLOW_WINDOW_DAYS` days after its seed.
pub const FOLLOW_WINDOW_DAYS: i32 = 60;
/// Edges per edge chunk (the last chunk is shorter). Stable.
pub const EDGE_CHUNK: u64 = 1 << 20;
/// Users per adoption chunk (the last chunk is shorter). Stable.
pub const USER_CHUNK: u64 = 1 << 16;

/// Largest number of users: user indices are stored as `u32` in the alias
/// table (which needs 8 bytes per user, plus 8 more while it is built).
const MAX_USERS: u64 = 1 << 32;

/// Parameters of a synthetic dataset. Equal parameters give equal data.
#[derive(Clone, Debug, PartialEq)]
pub struct Params {
    /// Number of users; user ids are `0..users`. At least 2, at most 2^32.
    pub users: u64,
    /// Mean expected degree (friends per user before duplicate collapse);
    /// greater than 0 and less than `users`.
    pub mean_degree: f64,
    /// Sigma of the lognormal expected degrees (>= 0); the lognormal mu is
    /// `ln(mean_degree) - sigma^2 / 2`, so the mean is `mean_degree`.
    pub sigma: f64,
    /// Seed of every random stream.
    pub seed: u64,
    /// Number of topics (at least 1), named `topic-0001`, ...
    pub topics: u32,
    /// Zipf exponent s of topic popularity (>= 0): topic rank r (topic index
    /// r-1) is drawn with probability proportional to 1/r^s.
    pub zipf_exponent: f64,
    /// Mean number of spontaneous adoptions per user over the year (>= 0).
    pub adoptions_per_user: f64,
    /// Number of planted cascade seeds; `None` means `users / 1000`, and at
    /// least 1 when `users >= 100`. At most `users`.
    pub cascade_seeds: Option<u64>,
    /// Probability (in [0, 1]) that a friend of a seed follows its cascade.
    pub cascade_follow_prob: f64,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            users: 100_000,
            mean_degree: 90.0,
            sigma: 1.5,
            seed: 7,
            topics: 1000,
            zipf_exponent: 1.0,
            adoptions_per_user: 5.0,
            cascade_seeds: None,
            cascade_follow_prob: 0.5,
        }
    }
}

/// One adoption record: `user` adopted topic index `topic` (0-based; its
/// name is [`Model::topic_name`]) on `day` (days since 1970-01-01).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Adoption {
    /// User id.
    pub user: u64,
    /// Topic index, 0-based (index 0 is the most popular topic).
    pub topic: u32,
    /// Day, in days since 1970-01-01.
    pub day: i32,
}

/// A planted cascade seed: `user` adopts `topic` on `day`, and each friend
/// follows with probability `cascade_follow_prob`, 1..=60 days later.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Planted {
    /// The seed user.
    pub user: u64,
    /// The cascade's topic index (always in the less popular half).
    pub topic: u32,
    /// The seed's adoption day, in days since 1970-01-01.
    pub day: i32,
}

/// A built generator: expected-degree and topic alias tables plus the
/// planted seeds. Cheap to share between threads (`&Model` is `Sync`).
pub struct Model {
    params: Params,
    edges: u64,
    users_alias: Alias,
    topics_alias: Alias,
    /// Seeds sorted by user id.
    planted: Vec<Planted>,
    /// Bit `u` set when user `u` is a seed (a fast filter before the map).
    seed_bits: Vec<u64>,
    seed_index: HashMap<u64, u32>,
    /// `exp(-POISSON_PIECE)` and `exp(-rest)` for the Poisson draws.
    poisson_full: u64,
    poisson_l_full: f64,
    poisson_l_rest: f64,
    topic_width: usize,
}

// Stream tags: ASCII words, so streams of different purposes never collide.
const TAG_WEIGHTS: u64 = u64::from_be_bytes(*b"weights\0");
const TAG_EDGES: u64 = u64::from_be_bytes(*b"edges\0\0\0");
const TAG_ADOPT: u64 = u64::from_be_bytes(*b"adopt\0\0\0");
const TAG_SEEDS: u64 = u64::from_be_bytes(*b"seeds\0\0\0");
const TAG_FOLLOW: u64 = u64::from_be_bytes(*b"follow\0\0");

/// Poisson counts are drawn as sums of Poisson(30) pieces plus a remainder,
/// so that `exp(-lambda)` never underflows.
const POISSON_PIECE: f64 = 30.0;

/// After this many self-loop redraws of the second endpoint (only possible
/// when one user holds nearly all the weight) the second endpoint is drawn
/// uniformly among the other users instead.
const MAX_REDRAWS: u32 = 1000;

impl Model {
    /// Validates `params` and builds the model: expected degrees, the alias
    /// tables over users and topics, and the cascade seeds. O(users) time
    /// (0.15 s for a million users) and about 8 bytes per user (20 while
    /// building). The error names the bad parameter.
    pub fn new(params: &Params) -> Result<Model, String> {
        let p = params;
        if p.users < 2 || p.users > MAX_USERS {
            return Err(format!(
                "users must be between 2 and {MAX_USERS} (got {})",
                p.users
            ));
        }
        if !(p.mean_degree.is_finite() && p.mean_degree > 0.0 && p.mean_degree < p.users as f64) {
            return Err(format!(
                "mean_degree must be finite, greater than 0 and less than users = {} (got {})",
                p.users, p.mean_degree
            ));
        }
        if !(p.sigma.is_finite() && p.sigma >= 0.0) {
            return Err(format!(
                "sigma must be finite and at least 0 (got {})",
                p.sigma
            ));
        }
        if p.topics < 1 {
            return Err("topics must be at least 1 (got 0)".to_string());
        }
        if !(p.zipf_exponent.is_finite() && p.zipf_exponent >= 0.0) {
            return Err(format!(
                "zipf_exponent must be finite and at least 0 (got {})",
                p.zipf_exponent
            ));
        }
        if !(p.adoptions_per_user.is_finite() && p.adoptions_per_user >= 0.0) {
            return Err(format!(
                "adoptions_per_user must be finite and at least 0 (got {})",
                p.adoptions_per_user
            ));
        }
        if let Some(k) = p.cascade_seeds {
            if k > p.users {
                return Err(format!(
                    "cascade_seeds must be at most users = {} (got {k})",
                    p.users
                ));
            }
        }
        if !(0.0..=1.0).contains(&p.cascade_follow_prob) {
            return Err(format!(
                "cascade_follow_prob must be between 0 and 1 (got {})",
                p.cascade_follow_prob
            ));
        }

        // Expected degrees: w = exp(mu + sigma z), z standard normal, capped
        // at users - 1; one stream per user chunk.
        let n = p.users;
        let mu = ln(p.mean_degree) - p.sigma * p.sigma / 2.0;
        let cap = (n - 1) as f64;
        let mut weights = Vec::with_capacity(n as usize);
        for chunk in 0..n.div_ceil(USER_CHUNK) {
            let mut rng = Rng::stream(p.seed, TAG_WEIGHTS, chunk);
            let mut normals = Normals::default();
            let len = USER_CHUNK.min(n - chunk * USER_CHUNK);
            for _ in 0..len {
                let w = exp(mu + p.sigma * normals.next(&mut rng));
                weights.push(w.min(cap));
            }
        }
        let total: f64 = weights.iter().sum();
        let edges = (total / 2.0).round() as u64;
        let users_alias = Alias::new(weights);

        // Topic popularity: rank r = index + 1 has weight r^-s.
        let topic_weights: Vec<f64> = (1..=p.topics)
            .map(|r| exp(-p.zipf_exponent * ln(r as f64)))
            .collect();
        let topics_alias = Alias::new(topic_weights);

        // Seeds: Floyd's sampling of k distinct users, sorted by id; then,
        // in that order, a topic uniform in the less popular half and a day
        // uniform in the first CASCADE_START_DAYS days.
        let k = p
            .cascade_seeds
            .unwrap_or(if n >= 100 { (n / 1000).max(1) } else { 0 });
        let mut rng = Rng::stream(p.seed, TAG_SEEDS, 0);
        let mut chosen = HashSet::with_capacity(k as usize);
        for j in (n - k)..n {
            let t = rng.below(j + 1);
            if !chosen.insert(t) {
                chosen.insert(j);
            }
        }
        let mut seed_users: Vec<u64> = chosen.into_iter().collect();
        seed_users.sort_unstable();
        let half = p.topics / 2;
        let mut planted = Vec::with_capacity(seed_users.len());
        let mut seed_bits = vec![0u64; n.div_ceil(64) as usize];
        let mut seed_index = HashMap::with_capacity(seed_users.len());
        for (i, &user) in seed_users.iter().enumerate() {
            let topic = half + rng.below(u64::from(p.topics - half)) as u32;
            let day = START_DAY + rng.below(CASCADE_START_DAYS as u64) as i32;
            planted.push(Planted { user, topic, day });
            seed_bits[(user / 64) as usize] |= 1 << (user % 64);
            seed_index.insert(user, i as u32);
        }

        let poisson_full = (p.adoptions_per_user / POISSON_PIECE).floor() as u64;
        let rest = p.adoptions_per_user - poisson_full as f64 * POISSON_PIECE;
        let topic_width = p.topics.to_string().len().max(4);
        Ok(Model {
            params: p.clone(),
            edges,
            users_alias,
            topics_alias,
            planted,
            seed_bits,
            seed_index,
            poisson_full,
            poisson_l_full: exp(-POISSON_PIECE),
            poisson_l_rest: exp(-rest),
            topic_width,
        })
    }

    /// The parameters the model was built from.
    pub fn params(&self) -> &Params {
        &self.params
    }

    /// Number of edge lines the model generates, `round(sum(w) / 2)`,
    /// duplicates included (the job collapses them).
    pub fn edges(&self) -> u64 {
        self.edges
    }

    /// Number of edge chunks: `ceil(edges / EDGE_CHUNK)`.
    pub fn edge_chunks(&self) -> usize {
        self.edges.div_ceil(EDGE_CHUNK) as usize
    }

    /// Generates edge chunk `chunk` (edges `chunk * EDGE_CHUNK ..`, at most
    /// `EDGE_CHUNK` of them): calls `edge(a, b)` for each edge (never a
    /// self-loop; an edge may repeat, in either orientation), and, right
    /// after an edge touching a cascade seed, `adoption` for the friend's
    /// cascade adoption when the friend follows. Whether and when a friend
    /// follows a seed depends only on `(seed, seed user, friend)`, so a
    /// repeated edge repeats the same adoption.
    ///
    /// Panics if `chunk >= self.edge_chunks()`.
    pub fn edge_chunk(
        &self,
        chunk: usize,
        edge: impl FnMut(u64, u64),
        mut adoption: impl FnMut(Adoption),
    ) {
        self.edge_chunk_with(chunk, edge, |_, _, followed| {
            if let Some(a) = followed {
                adoption(a)
            }
        })
    }

    /// [`Model::edge_chunk`], reporting every (seed index, friend) contact
    /// with the friend's cascade adoption if it follows.
    fn edge_chunk_with(
        &self,
        chunk: usize,
        mut edge: impl FnMut(u64, u64),
        mut contact: impl FnMut(u32, u64, Option<Adoption>),
    ) {
        assert!(
            chunk < self.edge_chunks(),
            "edge chunk {chunk} out of range (the model has {})",
            self.edge_chunks()
        );
        let lo = chunk as u64 * EDGE_CHUNK;
        let hi = (lo + EDGE_CHUNK).min(self.edges);
        let n = self.params.users;
        let mut rng = Rng::stream(self.params.seed, TAG_EDGES, chunk as u64);
        for _ in lo..hi {
            let a = self.users_alias.sample(&mut rng);
            let mut b = self.users_alias.sample(&mut rng);
            let mut redraws = 0;
            while b == a {
                redraws += 1;
                b = if redraws <= MAX_REDRAWS {
                    self.users_alias.sample(&mut rng)
                } else {
                    (a + 1 + rng.below(n - 1)) % n
                };
            }
            edge(a, b);
            if let Some(i) = self.seed_of(a) {
                contact(i, b, self.follow(i, b));
            }
            if let Some(i) = self.seed_of(b) {
                contact(i, a, self.follow(i, a));
            }
        }
    }

    /// The index in `planted` of `user` if it is a seed.
    fn seed_of(&self, user: u64) -> Option<u32> {
        if self.seed_bits[(user / 64) as usize] & (1 << (user % 64)) == 0 {
            return None;
        }
        self.seed_index.get(&user).copied()
    }

    /// Whether `friend` follows seed `index`, and when. Stable: with
    /// `h = mix(hash3(params.seed, TAG_FOLLOW, seed user) ^ friend)`, the
    /// friend follows iff `unit(h) < cascade_follow_prob`, on day
    /// `seed day + 1 + below(mix(h), FOLLOW_WINDOW_DAYS)` (see [`unit()`] and
    /// [`below`]).
    fn follow(&self, index: u32, friend: u64) -> Option<Adoption> {
        let seed = self.planted[index as usize];
        let h = mix(hash3(self.params.seed, TAG_FOLLOW, seed.user) ^ friend);
        if unit(h) >= self.params.cascade_follow_prob {
            return None;
        }
        let offset = 1 + below(mix(h), FOLLOW_WINDOW_DAYS as u64) as i32;
        Some(Adoption {
            user: friend,
            topic: seed.topic,
            day: seed.day + offset,
        })
    }

    /// Number of adoption chunks: `ceil(users / USER_CHUNK)`.
    pub fn adoption_chunks(&self) -> usize {
        self.params.users.div_ceil(USER_CHUNK) as usize
    }

    /// Generates adoption chunk `chunk` (users `chunk * USER_CHUNK ..`, at
    /// most `USER_CHUNK` of them), user by user: a Poisson(`adoptions_per_user`)
    /// number of spontaneous adoptions, each with a Zipf topic and a day
    /// uniform in `START_DAY .. START_DAY + SPAN_DAYS`; then, for a seed, its
    /// planted adoption. A seed's spontaneous adoptions of its own cascade
    /// topic are dropped, so the planted day is its only adoption of it.
    /// A user may draw the same topic twice (two observations; the job keeps
    /// the earliest day).
    ///
    /// Panics if `chunk >= self.adoption_chunks()`.
    pub fn adoption_chunk(&self, chunk: usize, mut adoption: impl FnMut(Adoption)) {
        assert!(
            chunk < self.adoption_chunks(),
            "adoption chunk {chunk} out of range (the model has {})",
            self.adoption_chunks()
        );
        let lo = chunk as u64 * USER_CHUNK;
        let hi = (lo + USER_CHUNK).min(self.params.users);
        let mut rng = Rng::stream(self.params.seed, TAG_ADOPT, chunk as u64);
        let mut next_seed = self.planted.partition_point(|s| s.user < lo);
        for user in lo..hi {
            let seed = self
                .planted
                .get(next_seed)
                .filter(|s| s.user == user)
                .copied();
            let count = self.poisson(&mut rng);
            for _ in 0..count {
                let topic = self.topics_alias.sample(&mut rng) as u32;
                let day = START_DAY + rng.below(SPAN_DAYS as u64) as i32;
                if seed.is_some_and(|s| s.topic == topic) {
                    continue;
                }
                adoption(Adoption { user, topic, day });
            }
            if let Some(s) = seed {
                adoption(Adoption {
                    user,
                    topic: s.topic,
                    day: s.day,
                });
                next_seed += 1;
            }
        }
    }

    /// A Poisson(`adoptions_per_user`) count: the sum of `poisson_full`
    /// Poisson(30) draws and one Poisson(rest) draw, each by Knuth's method
    /// (multiply uniforms until the product is at most `exp(-lambda)`).
    fn poisson(&self, rng: &mut Rng) -> u64 {
        let knuth = |rng: &mut Rng, limit: f64| {
            let mut k = 0;
            let mut product = rng.unit();
            while product > limit {
                k += 1;
                product *= rng.unit();
            }
            k
        };
        let mut count = 0;
        for _ in 0..self.poisson_full {
            count += knuth(rng, self.poisson_l_full);
        }
        if self.poisson_l_rest < 1.0 {
            count += knuth(rng, self.poisson_l_rest);
        }
        count
    }

    /// The planted cascade seeds, sorted by user id.
    pub fn planted(&self) -> &[Planted] {
        &self.planted
    }

    /// The name of topic index `topic`: `topic-` and the 1-based rank,
    /// zero-padded to 4 digits or to the number of digits of `topics`
    /// (`topic-0001` for index 0).
    pub fn topic_name(&self, topic: u32) -> String {
        format!("topic-{:0w$}", u64::from(topic) + 1, w = self.topic_width)
    }
}

/// What [`write_dataset`] wrote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Written {
    /// Lines of `friendships.csv` without the header (duplicates included).
    pub friendships: u64,
    /// Lines of `adoptions.csv` without the header.
    pub adoptions: u64,
    /// Lines of `planted.csv` without the header (the number of seeds).
    pub planted: u64,
    /// The files written: friendships, adoptions, planted.
    pub files: Vec<PathBuf>,
}

/// Writes the dataset of `model` into `dir` (created if needed):
///
/// - `friendships.csv`, header `src,dst`: the edges of every edge chunk in
///   chunk order;
/// - `adoptions.csv`, header `user,topic,day` (topic names, ISO days): the
///   adoption chunks in order, then the cascade adoptions in edge-chunk order;
/// - `planted.csv`, header `user,topic,day,friends,followers`: each seed with
///   its number of distinct friends and of distinct friends that follow it.
///
/// The bytes depend only on the model's [`Params`]. Each file is written to
/// a temporary name in `dir`, synced, and renamed into place once all three
/// are complete, so readers never see a half-written file. Chunks are
/// generated on all available cores. `progress(done, total)` is called as
/// work completes, in units of edges plus users (`total = edges + users`).
pub fn write_dataset(
    model: &Model,
    dir: &Path,
    progress: &mut dyn FnMut(u64, u64),
) -> io::Result<Written> {
    fs::create_dir_all(dir)?;
    let names = ["friendships.csv", "adoptions.csv", "planted.csv"];
    let finals: Vec<PathBuf> = names.iter().map(|n| dir.join(n)).collect();
    let temps: Vec<PathBuf> = names
        .iter()
        .map(|n| dir.join(format!(".{n}.tmp-{}", std::process::id())))
        .collect();
    let result = write_temps(model, &temps, progress).and_then(|written| {
        for (t, f) in temps.iter().zip(&finals) {
            fs::rename(t, f)?;
        }
        Ok(written)
    });
    let mut written = match result {
        Ok(written) => written,
        Err(e) => {
            for t in &temps {
                let _ = fs::remove_file(t);
            }
            return Err(e);
        }
    };
    // Make the renames durable too (best effort: not every platform can
    // open a directory).
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    written.files = finals;
    Ok(written)
}

/// Nights of changes written by [`write_nights`].
#[derive(Clone, Debug, Default)]
pub struct NightsWritten {
    /// The night directories, in order.
    pub nights: Vec<PathBuf>,
    /// Friendship change lines over all nights.
    pub friendship_changes: u64,
    /// Adoption change lines over all nights.
    pub adoption_changes: u64,
}

/// Parts per ten thousand of the base's friendship lines removed each night
/// (and as many friendships added): 0.3% of friendships change per night.
const NIGHT_REMOVE_PER_10K: u64 = 15;
const TAG_NIGHT: u64 = u64::from_be_bytes(*b"night\0\0\0");

/// Writes `nights` nights of changes under `dir/nights/<day>/`, named by
/// the days after the base year (`2026-01-01`, ...), in the delta format of
/// METRICS.md:
///
/// - `friendships.csv`: about 0.15% of the base's friendship lines removed
///   (`- a b`, chosen by a hash of the night and the pair), as many new
///   friendships added (`+ a b`, drawn like the base's), and a few no-ops
///   (re-adding a friendship just added, removing one that never existed);
/// - `adoptions.csv`: a day of new adoptions (`+ user topic day`, the base's
///   yearly rate divided by 365, on the night's day), about 0.03% of the
///   base's spontaneous adoptions removed (`- user topic`), and a few no-op
///   adds (an existing adoption again with a later day).
///
/// Deterministic for the model's parameters and `nights`.
pub fn write_nights(model: &Model, dir: &Path, nights: usize) -> io::Result<NightsWritten> {
    let mut written = NightsWritten::default();
    let seed = model.params.seed;
    for night in 1..=nights as u64 {
        let day = START_DAY + SPAN_DAYS + night as i32 - 1;
        let night_dir = dir.join("nights").join(crate::date::days_to_iso(day));
        fs::create_dir_all(&night_dir)?;
        let mut rng = Rng::stream(seed, TAG_NIGHT, night);

        let mut f: Vec<u8> = b"op,src,dst\n".to_vec();
        let mut removed = 0u64;
        for chunk in 0..model.edge_chunks() {
            model.edge_chunk(
                chunk,
                |a, b| {
                    let pair = (a.min(b) << 32) ^ a.max(b);
                    if hash3(seed ^ TAG_NIGHT, night, pair) % 10_000 < NIGHT_REMOVE_PER_10K {
                        push_change(&mut f, b'-', a, b);
                        removed += 1;
                    }
                },
                |_| {},
            );
        }
        let mut added = Vec::new();
        for _ in 0..removed {
            let a = model.users_alias.sample(&mut rng);
            let b = model.users_alias.sample(&mut rng);
            if a != b {
                push_change(&mut f, b'+', a, b);
                added.push((a, b));
            }
        }
        for &(a, b) in added.iter().take(5) {
            push_change(&mut f, b'+', b, a); // present already: a no-op
        }
        let n = model.params.users;
        for _ in 0..5 {
            let a = rng.below(n);
            push_change(&mut f, b'-', a, (a + 1 + rng.below(n - 1)) % n); // almost surely absent
        }
        written.friendship_changes += f.iter().filter(|&&c| c == b'\n').count() as u64 - 1;
        write_atomically(&night_dir.join("friendships.csv"), &f)?;

        let mut a: Vec<u8> = b"op,user,topic,day\n".to_vec();
        let per_day = (model.params.users as f64 * model.params.adoptions_per_user / 365.0) as u64;
        for _ in 0..per_day {
            let user = rng.below(n);
            let topic = model.topics_alias.sample(&mut rng) as u32;
            a.extend_from_slice(b"+,");
            push_adoption(&mut a, model, Adoption { user, topic, day });
        }
        let mut noop_adds = 0;
        for chunk in 0..model.adoption_chunks() {
            model.adoption_chunk(chunk, |adoption| {
                let key = (adoption.user << 20) ^ u64::from(adoption.topic);
                let h = hash3(seed ^ TAG_NIGHT, night ^ (1 << 40), key) % 10_000;
                if h < 3 {
                    a.extend_from_slice(b"-,");
                    push_u64(&mut a, adoption.user);
                    a.push(b',');
                    push_topic(&mut a, model, adoption.topic);
                    a.push(b'\n');
                } else if h == 9_999 && noop_adds < 5 {
                    // The same adoption, a day later than it was: changes nothing.
                    a.extend_from_slice(b"+,");
                    push_adoption(
                        &mut a,
                        model,
                        Adoption {
                            day: adoption.day + 1,
                            ..adoption
                        },
                    );
                    noop_adds += 1;
                }
            });
        }
        written.adoption_changes += a.iter().filter(|&&c| c == b'\n').count() as u64 - 1;
        write_atomically(&night_dir.join("adoptions.csv"), &a)?;
        // The inbox marker of `reach serve` (docs/nightly.md): the night is complete.
        let marker = format!("{}.ready", crate::date::days_to_iso(day));
        write_atomically(&dir.join("nights").join(marker), b"")?;
        written.nights.push(night_dir);
    }
    Ok(written)
}

fn push_change(buf: &mut Vec<u8>, op: u8, a: u64, b: u64) {
    buf.push(op);
    buf.push(b',');
    push_u64(buf, a);
    buf.push(b',');
    push_u64(buf, b);
    buf.push(b'\n');
}

fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temp = path.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
    fs::write(&temp, bytes)?;
    fs::rename(&temp, path)
}

/// One edge chunk's output, formatted on a worker thread.
#[derive(Default)]
struct EdgeOut {
    edges: Vec<u8>,
    adoptions: Vec<u8>,
    adoption_lines: u64,
    /// (seed index, friend, follows)
    contacts: Vec<(u32, u64, bool)>,
}

fn write_temps(
    model: &Model,
    temps: &[PathBuf],
    progress: &mut dyn FnMut(u64, u64),
) -> io::Result<Written> {
    let users = model.params.users;
    let total = model.edges + users;
    let mut done = 0;
    progress(done, total);
    let mut friendships = Out::create(&temps[0])?;
    let mut adoptions = Out::create(&temps[1])?;
    friendships.buf.extend_from_slice(b"src,dst\n");
    adoptions.buf.extend_from_slice(b"user,topic,day\n");
    let mut adoption_lines = 0;

    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunks = model.adoption_chunks();
    parallel_ordered(
        chunks,
        threads,
        |c| {
            // Lines are at most 7 + 1 + 16 + 1 + 10 + 1 bytes for ids below
            // 10^7 and topic counts below 10^10: 36 per adoption.
            let expected = (model.params.adoptions_per_user + 1.0) * USER_CHUNK as f64 * 36.0;
            let mut buf = Vec::with_capacity(expected.min(1e9) as usize);
            let mut lines = 0u64;
            model.adoption_chunk(c, |a| {
                push_adoption(&mut buf, model, a);
                lines += 1;
            });
            (buf, lines)
        },
        |c, (buf, lines)| {
            adoption_lines += lines;
            adoptions.write(&buf)?;
            done += USER_CHUNK.min(users - c as u64 * USER_CHUNK);
            progress(done, total);
            Ok(())
        },
    )?;

    // (seed index, friend, follows) for every edge line touching a seed:
    // 16 bytes each, a small share of the edges unless most users are seeds.
    let mut contacts = Vec::new();
    let line = 2 * (users - 1).to_string().len() + 2;
    parallel_ordered(
        model.edge_chunks(),
        threads,
        |c| {
            let mut out = EdgeOut {
                edges: Vec::with_capacity(EDGE_CHUNK as usize * line),
                ..EdgeOut::default()
            };
            model.edge_chunk_with(
                c,
                |a, b| {
                    push_u64(&mut out.edges, a);
                    out.edges.push(b',');
                    push_u64(&mut out.edges, b);
                    out.edges.push(b'\n');
                },
                |i, friend, followed| {
                    out.contacts.push((i, friend, followed.is_some()));
                    if let Some(a) = followed {
                        push_adoption(&mut out.adoptions, model, a);
                        out.adoption_lines += 1;
                    }
                },
            );
            out
        },
        |c, out| {
            friendships.write(&out.edges)?;
            adoptions.write(&out.adoptions)?;
            adoption_lines += out.adoption_lines;
            contacts.extend(out.contacts);
            done += EDGE_CHUNK.min(model.edges - c as u64 * EDGE_CHUNK);
            progress(done, total);
            Ok(())
        },
    )?;
    friendships.finish()?;
    adoptions.finish()?;

    // Distinct friends and followers per seed.
    contacts.sort_unstable();
    contacts.dedup();
    let mut friends = vec![0u64; model.planted.len()];
    let mut followers = vec![0u64; model.planted.len()];
    for &(i, _, follows) in &contacts {
        friends[i as usize] += 1;
        followers[i as usize] += u64::from(follows);
    }
    let mut planted = Out::create(&temps[2])?;
    planted
        .buf
        .extend_from_slice(b"user,topic,day,friends,followers\n");
    for (i, s) in model.planted.iter().enumerate() {
        push_u64(&mut planted.buf, s.user);
        planted.buf.push(b',');
        push_topic(&mut planted.buf, model, s.topic);
        planted.buf.push(b',');
        push_iso_day(&mut planted.buf, s.day);
        for v in [friends[i], followers[i]] {
            planted.buf.push(b',');
            push_u64(&mut planted.buf, v);
        }
        planted.buf.push(b'\n');
    }
    planted.finish()?;
    Ok(Written {
        friendships: model.edges,
        adoptions: adoption_lines,
        planted: model.planted.len() as u64,
        files: Vec::new(),
    })
}

/// Runs `produce(c)` for every chunk `c` in `0..chunks` on `threads` worker
/// threads and hands the results to `consume` in chunk order on the calling
/// thread, so that writing overlaps generating. At most `2 * threads` chunks
/// are claimed ahead of the one being consumed, which bounds the memory.
/// The first error of `consume` stops the workers and is returned.
fn parallel_ordered<T: Send>(
    chunks: usize,
    threads: usize,
    produce: impl Fn(usize) -> T + Sync,
    mut consume: impl FnMut(usize, T) -> io::Result<()>,
) -> io::Result<()> {
    if threads <= 1 || chunks <= 1 {
        for c in 0..chunks {
            consume(c, produce(c))?;
        }
        return Ok(());
    }
    struct Claims {
        next: usize,
        consumed: usize,
        stop: bool,
    }
    /// Stops everyone if a thread unwinds, so that nobody waits for it.
    struct StopOnPanic<'a>(&'a Mutex<Claims>, &'a Condvar);
    impl Drop for StopOnPanic<'_> {
        fn drop(&mut self) {
            if std::thread::panicking() {
                if let Ok(mut claims) = self.0.lock() {
                    claims.stop = true;
                }
                self.1.notify_all();
            }
        }
    }
    let window = 2 * threads;
    let claims = Mutex::new(Claims {
        next: 0,
        consumed: 0,
        stop: false,
    });
    let wake = Condvar::new();
    let lock = || claims.lock().unwrap_or_else(|e| e.into_inner());
    let (tx, rx) = mpsc::channel::<(usize, T)>();
    std::thread::scope(|s| {
        for _ in 0..threads {
            let tx = tx.clone();
            let (claims, wake, produce) = (&claims, &wake, &produce);
            s.spawn(move || {
                let _guard = StopOnPanic(claims, wake);
                loop {
                    let c = {
                        let mut st = claims.lock().unwrap_or_else(|e| e.into_inner());
                        loop {
                            if st.stop || st.next >= chunks {
                                return;
                            }
                            if st.next < st.consumed + window {
                                st.next += 1;
                                break st.next - 1;
                            }
                            st = wake.wait(st).unwrap_or_else(|e| e.into_inner());
                        }
                    };
                    if tx.send((c, produce(c))).is_err() {
                        return;
                    }
                }
            });
        }
        drop(tx);
        // `consume` calls the caller's progress callback, which may panic.
        let _guard = StopOnPanic(&claims, &wake);
        let mut pending = BTreeMap::new();
        let mut next = 0;
        let mut result = Ok(());
        'receive: for (c, t) in rx.iter() {
            pending.insert(c, t);
            while let Some(t) = pending.remove(&next) {
                result = consume(next, t);
                next += 1;
                let mut st = lock();
                st.consumed = next;
                st.stop |= result.is_err();
                drop(st);
                wake.notify_all();
                if result.is_err() {
                    break 'receive;
                }
            }
        }
        // Dropping the receiver makes the workers' sends fail, so they stop.
        drop(rx);
        result
    })
}

/// A file being written through a 1 MiB buffer.
struct Out {
    file: File,
    buf: Vec<u8>,
}

const OUT_BUFFER: usize = 1 << 20;

impl Out {
    fn create(path: &Path) -> io::Result<Out> {
        Ok(Out {
            file: File::create(path)?,
            buf: Vec::with_capacity(OUT_BUFFER),
        })
    }

    fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        if self.buf.len() + bytes.len() > OUT_BUFFER {
            self.file.write_all(&self.buf)?;
            self.buf.clear();
        }
        if bytes.len() >= OUT_BUFFER {
            self.file.write_all(bytes)
        } else {
            self.buf.extend_from_slice(bytes);
            Ok(())
        }
    }

    fn finish(mut self) -> io::Result<()> {
        self.file.write_all(&self.buf)?;
        self.file.sync_all()
    }
}

/// Appends `user,topic-name,YYYY-MM-DD\n`.
fn push_adoption(buf: &mut Vec<u8>, model: &Model, a: Adoption) {
    push_u64(buf, a.user);
    buf.push(b',');
    push_topic(buf, model, a.topic);
    buf.push(b',');
    push_iso_day(buf, a.day);
    buf.push(b'\n');
}

fn push_topic(buf: &mut Vec<u8>, model: &Model, topic: u32) {
    buf.extend_from_slice(b"topic-");
    write_u64_padded(u64::from(topic) + 1, model.topic_width, buf);
}

/// Appends the decimal digits of `v`.
fn push_u64(buf: &mut Vec<u8>, v: u64) {
    write_u64(v, buf);
}

/// Appends the ISO date `YYYY-MM-DD` of `days` since 1970-01-01.
fn push_iso_day(buf: &mut Vec<u8>, days: i32) {
    crate::date::write_iso(days, buf);
}

// ---------------------------------------------------------------------------
// Randomness. Stable: changing anything below changes every generated dataset.

/// `mix(mix(mix(a) ^ b) ^ c)`.
fn hash3(a: u64, b: u64, c: u64) -> u64 {
    mix(mix(mix(a) ^ b) ^ c)
}

/// The top 53 bits of `x` as a uniform double in `[0, 1)`: `(x >> 11) * 2^-53`.
fn unit(x: u64) -> f64 {
    (x >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// `floor(x * n / 2^64)`, uniform in `0..n` for uniform `x` (Lemire's
/// multiply-shift without rejection; the bias is below n / 2^64).
fn below(x: u64, n: u64) -> u64 {
    ((u128::from(x) * u128::from(n)) >> 64) as u64
}

/// xoshiro256** ([`Xoshiro256StarStar`]), seeded with four successive
/// outputs of SplitMix64 started at `hash3(seed, tag, index)`.
struct Rng(Xoshiro256StarStar);

impl Rng {
    fn stream(seed: u64, tag: u64, index: u64) -> Rng {
        let mut seeder = SplitMix64(hash3(seed, tag, index));
        Rng(Xoshiro256StarStar::from_splitmix(&mut seeder))
    }

    fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }

    /// Uniform in `[0, 1)`: [`unit()`] of the next output.
    fn unit(&mut self) -> f64 {
        unit(self.next_u64())
    }

    /// Uniform in `0..n`: [`below`] of the next output.
    fn below(&mut self, n: u64) -> u64 {
        below(self.next_u64(), n)
    }
}

/// Standard normal draws by Marsaglia's polar method, both values of each
/// pair used (the first, then the spare). Stable: with `u = 2 U1 - 1`,
/// `v = 2 U2 - 1` (U from [`Rng::unit`]) redrawn until `0 < s = u^2 + v^2 < 1`,
/// the pair is `u f`, `v f` with `f = sqrt(-2 ln(s) / s)` ([`ln`] below).
#[derive(Default)]
struct Normals {
    spare: Option<f64>,
}

impl Normals {
    fn next(&mut self, rng: &mut Rng) -> f64 {
        if let Some(z) = self.spare.take() {
            return z;
        }
        loop {
            let u = 2.0 * rng.unit() - 1.0;
            let v = 2.0 * rng.unit() - 1.0;
            let s = u * u + v * v;
            if s > 0.0 && s < 1.0 {
                let f = (-2.0 * ln(s) / s).sqrt();
                self.spare = Some(v * f);
                return u * f;
            }
        }
    }
}

/// Walker's alias table, built by Vose's method: sampling is one uniform
/// index `i` ([`Rng::below`]) and one 32-bit coin (the top 32 bits of the
/// next output): `i` if the coin is below `threshold[i]`, else `alias[i]`.
/// Thresholds are probabilities quantized to 2^-32.
struct Alias {
    /// (threshold, alias) per slot.
    slots: Vec<(u32, u32)>,
}

impl Alias {
    /// Builds the table from `weights` (reused as the scaled probabilities).
    fn new(mut p: Vec<f64>) -> Alias {
        let n = p.len();
        let total: f64 = p.iter().sum();
        let scale = n as f64 / total;
        for w in &mut p {
            *w *= scale;
        }
        let mut slots: Vec<(u32, u32)> = (0..n).map(|i| (u32::MAX, i as u32)).collect();
        let (mut small, mut large): (Vec<u32>, Vec<u32>) =
            (0..n as u32).partition(|&i| p[i as usize] < 1.0);
        while let (Some(&s), Some(&l)) = (small.last(), large.last()) {
            small.pop();
            // Saturating float-to-int cast: p < 1 so at most 2^32 - 1.
            slots[s as usize] = ((p[s as usize] * 4_294_967_296.0) as u32, l);
            p[l as usize] = (p[l as usize] + p[s as usize]) - 1.0;
            if p[l as usize] < 1.0 {
                large.pop();
                small.push(l);
            }
        }
        // Leftovers (in either list) keep probability 1 and alias themselves.
        Alias { slots }
    }

    fn sample(&self, rng: &mut Rng) -> u64 {
        let i = rng.below(self.slots.len() as u64) as usize;
        let (threshold, alias) = self.slots[i];
        if ((rng.next_u64() >> 32) as u32) < threshold {
            i as u64
        } else {
            u64::from(alias)
        }
    }
}

// ---------------------------------------------------------------------------
// Portable ln and exp: IEEE-754 +, -, *, / only, so every platform computes
// the same bits (std's ln/exp call the platform's libm). Accurate to a few
// ulp, which is all the generator needs. Stable.

/// ln 2 rounded to 33 significant bits, so that `k * LN2_HI` is exact.
const LN2_HI: f64 = f64::from_bits(0x3FE6_2E42_FEE0_0000);
/// ln 2 - LN2_HI.
const LN2_LO: f64 = f64::from_bits(0x3DEA_39EF_3579_3C76);

/// Natural logarithm for finite `x > 0` (NaN for `x <= 0`): `x = 2^e m` with
/// `m` in `[sqrt(1/2), sqrt(2))`, `ln m = 2 atanh(t)`, `t = (m - 1) / (m + 1)`,
/// by its series to `t^25`.
fn ln(x: f64) -> f64 {
    if x.is_nan() || x <= 0.0 {
        return f64::NAN;
    }
    if x.is_infinite() {
        return x;
    }
    let (mut x, mut e) = (x, 0i64);
    if x < f64::MIN_POSITIVE {
        x *= (1u64 << 54) as f64;
        e -= 54;
    }
    let bits = x.to_bits();
    e += ((bits >> 52) & 0x7FF) as i64 - 1023;
    let mut m = f64::from_bits((bits & 0x000F_FFFF_FFFF_FFFF) | 0x3FF0_0000_0000_0000);
    if m > std::f64::consts::SQRT_2 {
        m *= 0.5;
        e += 1;
    }
    let t = (m - 1.0) / (m + 1.0);
    let t2 = t * t;
    let mut series = 0.0;
    for k in (1..=12).rev() {
        series = series * t2 + 1.0 / (2 * k + 1) as f64;
    }
    let e = e as f64;
    e * LN2_HI + (e * LN2_LO + 2.0 * t * (1.0 + t2 * series))
}

/// `e^x`: `x = k ln 2 + r` with `|r| <= ln(2) / 2`, `e^r` by its Taylor
/// series to `r^17`, then scaled by `2^k`.
fn exp(x: f64) -> f64 {
    if x.is_nan() {
        return x;
    }
    if x > 709.79 {
        return f64::INFINITY;
    }
    if x < -745.2 {
        return 0.0;
    }
    let k = (x * std::f64::consts::LOG2_E).round();
    let r = (x - k * LN2_HI) - k * LN2_LO;
    let mut sum = 1.0;
    for n in (1..=17).rev() {
        sum = 1.0 + sum * r / n as f64;
    }
    scale_by_pow2(sum, k as i32)
}

/// `y * 2^k` for `k` in -1100..=1100, in steps whose factors are normal.
fn scale_by_pow2(mut y: f64, mut k: i32) -> f64 {
    let pow2 = |k: i32| f64::from_bits(((k + 1023) as u64) << 52);
    while k > 1023 {
        y *= pow2(1023);
        k -= 1023;
    }
    while k < -1022 {
        y *= pow2(-1022);
        k += 1022;
    }
    y * pow2(k)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ulps(a: f64, b: f64) -> u64 {
        (a.to_bits() as i64 - b.to_bits() as i64).unsigned_abs()
    }

    #[test]
    fn ln_and_exp_match_std_to_a_few_ulp() {
        let mut rng = Rng::stream(1, 2, 3);
        for _ in 0..100_000 {
            let x = exp(rng.unit() * 1400.0 - 700.0);
            let ours = ln(x);
            let std = x.ln();
            assert!(
                ulps(ours, std) <= 4 || (ours - std).abs() < 1e-15,
                "ln({x}) = {ours} vs {std}"
            );
            let y = rng.unit() * 1400.0 - 700.0;
            assert!(
                ulps(exp(y), y.exp()) <= 4,
                "exp({y}) = {} vs {}",
                exp(y),
                y.exp()
            );
        }
        for x in [1.0, 2.0, 0.5, 1e-310, f64::MIN_POSITIVE, f64::MAX, 90.0] {
            assert!(ulps(ln(x), x.ln()) <= 4, "ln({x})");
        }
        assert_eq!(ln(1.0), 0.0);
        assert_eq!(exp(0.0), 1.0);
        assert!(ulps(exp(-740.0), (-740.0f64).exp()) <= 4);
    }

    #[test]
    fn iso_days() {
        assert_eq!(crate::date::days_to_iso(0), "1970-01-01");
        assert_eq!(crate::date::days_to_iso(START_DAY), "2025-01-01");
        assert_eq!(
            crate::date::days_to_iso(START_DAY + SPAN_DAYS - 1),
            "2025-12-31"
        );
        assert_eq!(crate::date::days_to_iso(11_016), "2000-02-29");
        assert_eq!(crate::date::days_to_iso(-1), "1969-12-31");
    }

    #[test]
    fn alias_frequencies() {
        let weights = [1.0, 2.0, 3.0, 0.0, 4.0];
        let alias = Alias::new(weights.to_vec());
        let mut rng = Rng::stream(9, 9, 9);
        let mut counts = [0u64; 5];
        let n = 1_000_000;
        for _ in 0..n {
            counts[alias.sample(&mut rng) as usize] += 1;
        }
        assert_eq!(counts[3], 0);
        for (i, w) in weights.iter().enumerate() {
            let share = counts[i] as f64 / n as f64;
            assert!((share - w / 10.0).abs() < 0.003, "{i}: {share}");
        }
    }

    #[test]
    fn parallel_ordered_keeps_order_and_stops_on_error() {
        for threads in [1, 2, 5] {
            let mut seen = Vec::new();
            parallel_ordered(
                100,
                threads,
                |c| c * 3,
                |c, v| {
                    assert_eq!(v, c * 3);
                    seen.push(c);
                    Ok(())
                },
            )
            .unwrap();
            assert_eq!(seen, (0..100).collect::<Vec<_>>());

            let mut consumed = 0;
            let err = parallel_ordered(
                1000,
                threads,
                |c| c,
                |c, _| {
                    consumed += 1;
                    if c == 7 {
                        Err(io::Error::other("disk full"))
                    } else {
                        Ok(())
                    }
                },
            )
            .unwrap_err();
            assert_eq!(err.to_string(), "disk full");
            assert_eq!(consumed, 8);
        }
    }

    #[test]
    fn parallel_ordered_propagates_panics_without_hanging() {
        let result = std::panic::catch_unwind(|| {
            parallel_ordered(
                100,
                3,
                |c| {
                    assert_ne!(c, 10, "worker fails");
                    c
                },
                |_, _| Ok(()),
            )
        });
        assert!(result.is_err());
        let result = std::panic::catch_unwind(|| {
            parallel_ordered(
                100,
                3,
                |c| c,
                |c, _| {
                    assert_ne!(c, 10, "progress callback fails");
                    Ok(())
                },
            )
        });
        assert!(result.is_err());
    }

    #[test]
    fn padded_integers() {
        let mut b = Vec::new();
        push_u64(&mut b, 0);
        push_u64(&mut b, u64::MAX);
        write_u64_padded(7, 4, &mut b);
        write_u64_padded(12345, 4, &mut b);
        assert_eq!(b, b"018446744073709551615000712345");
    }
}
