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
//! With [`Params::customers`], the same model also makes up the CRM side
//! (module `customers`, `purchases`): identities joining accounts to customer ids,
//! customers without accounts, and purchases in which cascade followers'
//! customers tend to buy the cascade's topic soon after adopting it.
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

mod chunks;
mod crm_nights;
mod customer_files;
mod customers;
mod math;
mod model;
mod nights;
mod parallel;
mod purchases;
mod random;
mod write;

pub use customers::{customer_id, NO_ACCOUNT_CUSTOMERS_PER_100_USERS};
pub use model::Model;
pub use nights::{write_nights, NightsWritten};
pub use purchases::format_amount;
pub use write::{write_dataset, write_dataset_threads, Written};

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
    /// Also make up customers: identities (`account,customer`) and
    /// purchases (`customer,day,amount[,topic]`), see [`Model::identities`]
    /// and [`Model::purchase_chunk`]. The graph and adoptions do not change.
    pub customers: bool,
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
            customers: false,
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
