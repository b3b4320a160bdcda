//! The model: parameters checked, expected degrees drawn, alias tables
//! over users and topics built, cascade seeds planted. Everything the
//! chunks draw from is fixed here, once.

use std::collections::{HashMap, HashSet};

use super::math::{exp, ln};
use super::random::{Alias, Normals, Rng};
use super::{Params, Planted, CASCADE_START_DAYS, EDGE_CHUNK, START_DAY, USER_CHUNK};

/// Largest number of users: user indices are stored as `u32` in the alias
/// table (which needs 8 bytes per user, plus 8 more while it is built).
const MAX_USERS: u64 = 1 << 32;

/// A built generator: expected-degree and topic alias tables plus the
/// planted seeds. Cheap to share between threads (`&Model` is `Sync`).
pub struct Model {
    pub(super) params: Params,
    pub(super) edges: u64,
    pub(super) users_alias: Alias,
    pub(super) topics_alias: Alias,
    /// Seeds sorted by user id.
    pub(super) planted: Vec<Planted>,
    /// Bit `u` set when user `u` is a seed (a fast filter before the map).
    pub(super) seed_bits: Vec<u64>,
    pub(super) seed_index: HashMap<u64, u32>,
    /// `exp(-POISSON_PIECE)` and `exp(-rest)` for the Poisson draws.
    pub(super) poisson_full: u64,
    pub(super) poisson_l_full: f64,
    pub(super) poisson_l_rest: f64,
    pub(super) topic_width: usize,
    /// The cascade followers, for purchases (found on first use).
    pub(super) followers: super::purchases::Followers,
}

// Stream tags: ASCII words, so streams of different purposes never collide.
const TAG_WEIGHTS: u64 = u64::from_be_bytes(*b"weights\0");
pub(super) const TAG_EDGES: u64 = u64::from_be_bytes(*b"edges\0\0\0");
pub(super) const TAG_ADOPT: u64 = u64::from_be_bytes(*b"adopt\0\0\0");
const TAG_SEEDS: u64 = u64::from_be_bytes(*b"seeds\0\0\0");
pub(super) const TAG_FOLLOW: u64 = u64::from_be_bytes(*b"follow\0\0");

/// Poisson counts are drawn as sums of Poisson(30) pieces plus a remainder,
/// so that `exp(-lambda)` never underflows.
const POISSON_PIECE: f64 = 30.0;

/// After this many self-loop redraws of the second endpoint (only possible
/// when one user holds nearly all the weight) the second endpoint is drawn
/// uniformly among the other users instead.
pub(super) const MAX_REDRAWS: u32 = 1000;

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
            followers: Default::default(),
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
