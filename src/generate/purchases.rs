//! Made-up purchases: a few per buyer, lognormal amounts in cents, days in
//! the adoption year, topics for some; and the influence signal, planted
//! like the cascades: a cascade follower's customer buys the cascade's
//! topic soon after following, far more often than customers buy a topic
//! otherwise.
//!
//! Purchase chunk `c < adoption_chunks()` holds the purchases of the
//! customers whose accounts are in user chunk `c`, in this order:
//!
//! 1. per customer (in account order), with probability [`BUYER_SHARE`], a
//!    geometric number of purchases (mean 3, at most 50), each on a day
//!    uniform in the year, with a topic (Zipf, as adoptions) with
//!    probability [`TOPIC_SHARE`];
//! 2. per adoption of a matched account (the chunk's adoptions in their
//!    order), with probability [`ADOPTER_BUYS`], the adopted topic on the
//!    adoption day plus 0..30 days (at most the year's last day);
//! 3. per cascade follower of the chunk with a customer (sorted by
//!    account, topic, day), with probability [`FOLLOWER_BUYS`], the
//!    cascade's topic on the following day plus 0..15 days (at most the
//!    year's last day).
//!
//! The chunks after those hold the customers without an account,
//! [`USER_CHUNK`] per chunk, each with a geometric number of purchases as in 1.
//! Amounts are `exp(ln 2500 + z)` cents (z standard normal) rounded, kept
//! within 5.00..=500.00. Every chunk has its own stream; the followers are
//! found once per model by a pass over the edges (the dataset writer hands
//! over the ones it finds anyway).

use std::sync::OnceLock;

use super::math::{exp, ln};
use super::model::Model;
use super::parallel::parallel_ordered;
use super::random::{Normals, Rng};
use super::{Adoption, SPAN_DAYS, START_DAY, USER_CHUNK};

/// Probability that a customer with accounts buys anything in the year.
pub(super) const BUYER_SHARE: f64 = 0.6;
/// Probability that a background purchase has a topic.
pub(super) const TOPIC_SHARE: f64 = 0.4;
/// Probability that an adoption leads its customer to buy the topic.
pub(super) const ADOPTER_BUYS: f64 = 0.1;
/// Probability that a cascade follower's customer buys the cascade topic.
pub(super) const FOLLOWER_BUYS: f64 = 0.5;
/// Success probability of the geometric purchase count (mean 1 / p = 3).
const COUNT_P: f64 = 1.0 / 3.0;
const MAX_COUNT: u32 = 50;
/// Amounts in cents: median 25.00, clamped to 5.00..=500.00.
const MEDIAN_CENTS: f64 = 2500.0;
const MIN_CENTS: i64 = 500;
const MAX_CENTS: i64 = 50_000;
/// Amount units per cent (amounts are in units of 1/10_000).
const UNITS_PER_CENT: i64 = 100;

const TAG_BUY: u64 = u64::from_be_bytes(*b"buy\0\0\0\0\0");

/// The cascade followers, found once (see [`Model::followers`]).
pub(super) type Followers = OnceLock<Vec<Adoption>>;

/// `units` (1/10_000) as a decimal with two digits after the point
/// (`125000` -> `12.50`); the generator's amounts are whole cents.
pub fn format_amount(units: i64) -> String {
    let cents = units / UNITS_PER_CENT;
    format!("{}.{:02}", cents / 100, cents % 100)
}

/// Draws of one chunk.
pub(super) struct Draws {
    rng: Rng,
    normals: Normals,
}

impl Draws {
    pub(super) fn new(seed: u64, tag: u64, index: u64) -> Draws {
        Draws {
            rng: Rng::stream(seed, tag, index),
            normals: Normals::default(),
        }
    }

    pub(super) fn unit(&mut self) -> f64 {
        self.rng.unit()
    }

    pub(super) fn below(&mut self, n: u64) -> u64 {
        self.rng.below(n)
    }

    /// An amount in units: whole cents, lognormal, clamped.
    pub(super) fn amount(&mut self) -> i64 {
        let z = self.normals.next(&mut self.rng);
        let cents = exp(ln(MEDIAN_CENTS) + z).round() as i64;
        cents.clamp(MIN_CENTS, MAX_CENTS) * UNITS_PER_CENT
    }

    /// A geometric count, 1..=MAX_COUNT.
    fn count(&mut self) -> u32 {
        let u = 1.0 - self.rng.unit(); // in (0, 1]
        let extra = (ln(u) / ln(1.0 - COUNT_P)).floor();
        (1.0 + extra).min(f64::from(MAX_COUNT)) as u32
    }

    /// A topic drawn like adoptions' with probability TOPIC_SHARE.
    pub(super) fn topic(&mut self, model: &Model) -> Option<u32> {
        (self.rng.unit() < TOPIC_SHARE).then(|| model.topics_alias.sample(&mut self.rng) as u32)
    }

    /// A customer's background purchases: `f(day, units, topic)`.
    fn purchases(&mut self, model: &Model, mut f: impl FnMut(i32, i64, Option<u32>)) {
        for _ in 0..self.count() {
            let day = START_DAY + self.rng.below(SPAN_DAYS as u64) as i32;
            let amount = self.amount();
            f(day, amount, self.topic(model));
        }
    }
}

impl Model {
    /// Number of purchase chunks: `adoption_chunks()` (customers with
    /// accounts) plus `ceil(no_account_customers() / USER_CHUNK)`; 0
    /// unless [`Params::customers`](super::Params::customers).
    pub fn purchase_chunks(&self) -> usize {
        if !self.params.customers {
            return 0;
        }
        self.adoption_chunks() + self.no_account_customers().div_ceil(USER_CHUNK) as usize
    }

    /// Generates purchase chunk `chunk` (see the module documentation):
    /// `f(customer, day, amount, topic)` per purchase, `day` in days since
    /// 1970-01-01 within the adoption year, `amount` in units of 1/10_000
    /// (whole cents, 5.00..=500.00), `topic` a topic index as for
    /// adoptions ([`Model::topic_name`]) or none. The same purchase may
    /// occur twice (two purchases). These are the lines of `purchases.csv`,
    /// chunk after chunk. Any chunk can be drawn alone, on any thread; the
    /// first call of a model with customers makes one pass over the edges
    /// to find the cascade followers (unless [`super::write_dataset`] did).
    ///
    /// Panics if `chunk >= self.purchase_chunks()`.
    pub fn purchase_chunk(&self, chunk: usize, mut f: impl FnMut(&str, i32, i64, Option<u32>)) {
        assert!(
            chunk < self.purchase_chunks(),
            "purchase chunk {chunk} out of range (the model has {})",
            self.purchase_chunks()
        );
        let mut draws = Draws::new(self.params.seed, TAG_BUY, chunk as u64);
        let accounts = self.adoption_chunks();
        if chunk >= accounts {
            let lo = (chunk - accounts) as u64 * USER_CHUNK;
            let hi = (lo + USER_CHUNK).min(self.no_account_customers());
            for j in lo..hi {
                let name = self.customer_name(super::customers::NO_ACCOUNT_BASE + j);
                draws.purchases(self, |day, amount, topic| f(&name, day, amount, topic));
            }
            return;
        }
        let lo = chunk as u64 * USER_CHUNK;
        let groups = self.groups(chunk);
        let names: Vec<String> = groups.iter().map(|&(k, _)| self.customer_name(k)).collect();
        for name in &names {
            if draws.unit() < BUYER_SHARE {
                draws.purchases(self, |day, amount, topic| f(name, day, amount, topic));
            }
        }
        // The group index of every account of the chunk.
        let mut owner = vec![u32::MAX; USER_CHUNK.min(self.params.users - lo) as usize];
        for (g, &(first, size)) in groups.iter().enumerate() {
            for account in first..first + u64::from(size) {
                owner[(account - lo) as usize] = g as u32;
            }
        }
        let last_day = START_DAY + SPAN_DAYS - 1;
        self.adoption_chunk(chunk, |a| {
            let g = owner[(a.user - lo) as usize];
            if g != u32::MAX && draws.unit() < ADOPTER_BUYS {
                let day = (a.day + draws.below(30) as i32).min(last_day);
                let amount = draws.amount();
                f(&names[g as usize], day, amount, Some(a.topic));
            }
        });
        let followers = self.followers();
        let from = followers.partition_point(|a| a.user < lo);
        for a in followers[from..]
            .iter()
            .take_while(|a| a.user < lo + owner.len() as u64)
        {
            let g = owner[(a.user - lo) as usize];
            if g != u32::MAX && draws.unit() < FOLLOWER_BUYS {
                let day = (a.day + draws.below(15) as i32).min(last_day);
                let amount = draws.amount();
                f(&names[g as usize], day, amount, Some(a.topic));
            }
        }
    }

    /// Every cascade adoption of a follower, sorted by (user, topic, day),
    /// without repeats: found on first use by a pass over all edge chunks
    /// on every core, unless [`Model::set_followers`] came first.
    pub(super) fn followers(&self) -> &[Adoption] {
        self.followers.get_or_init(|| {
            let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
            let mut contacts = Vec::new();
            parallel_ordered(
                self.edge_chunks(),
                threads,
                |c| {
                    let mut out = Vec::new();
                    self.edge_chunk(c, |_, _| {}, |a| out.push(a));
                    out
                },
                |_, out| {
                    contacts.extend(out);
                    Ok(())
                },
            )
            .expect("nothing to write");
            sorted(contacts)
        })
    }

    /// Hands over the followers found while writing the edges: (seed
    /// index, friend) of every contact whose friend follows.
    pub(super) fn set_followers(&self, contacts: impl Iterator<Item = (u32, u64)>) {
        if self.followers.get().is_none() {
            let found = contacts
                .filter_map(|(i, friend)| self.follow(i, friend))
                .collect();
            let _ = self.followers.set(sorted(found));
        }
    }
}

fn sorted(mut v: Vec<Adoption>) -> Vec<Adoption> {
    v.sort_unstable_by_key(|a| (a.user, a.topic, a.day));
    v.dedup();
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_have_two_decimals() {
        assert_eq!(format_amount(125_000), "12.50");
        assert_eq!(format_amount(50_000), "5.00");
        assert_eq!(format_amount(5_000_000), "500.00");
        assert_eq!(format_amount(100), "0.01");
    }
}
