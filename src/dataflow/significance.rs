//! The shuffle test (Anagnostopoulos, Kumar, Mahdian, KDD 2008): is a
//! topic's count of socially explained adoptions more than chance would give?
//!
//! Per topic `t`, `observed` is the number of adopters `v` of `t` with a
//! friend `u` who adopted `t` 1..=W days before `v` (`topics.socially_explained`).
//! Round `r` (1..=R) recomputes that count after permuting the multiset of
//! adoption days among `t`'s adopters ([`shuffle_days`]), keeping the graph
//! and the set of adopters fixed. The table compares `observed` with the R
//! shuffled counts (see docs/metrics.md, `topic_significance`).
//!
//! **Shape.** A permutation moves days, never adopters, so the friendships
//! between two adopters of `t` (the co-adoptions of [`super::topical`],
//! already computed for every other table) are the same in every round; only
//! the days along them change. So nothing is joined again per round:
//!
//! 1. the co-adoptions `(a, b, t)` and the adoptions `(u, t, day)` are
//!    gathered per topic into one [`TopicGraph`] (adopters sorted by id with
//!    their days, and the co-adoptions as adjacency lists over adopter
//!    positions), together with its `observed` count;
//! 2. each topic graph is replicated into R records keyed by `(topic, round)`
//!    (a shared pointer, not a copy) and exchanged by that key, so the rounds
//!    of one large topic are spread over all workers like any other keyed work;
//! 3. each `(topic, round)` record becomes the round's count: permute the
//!    days, then one pass over the adjacency lists (`O(adopters + co-adoptions)`);
//! 4. the counts are reduced per topic into the row.
//!
//! The friendship graph is not arranged again, and no co-adoption is
//! materialised per round. Everything is an ordinary collection, so nights
//! maintain the table like every other: a topic whose adopters or
//! co-adoptions changed is rebuilt and its R rounds recomputed (twice: the
//! retraction of the old graph's rounds and the new ones).
//!
//! **Determinism.** The permutation of round `r` of topic `t` depends only on
//! `shuffle_seed`, the topic's *name*, `r` and the number of adopters, and is
//! applied to the days in ascending adopter-id order; statistics are
//! computed from integer sums. So the bytes do not depend on worker count,
//! process count or arrival order, nor on whether a topic arrived in a night.

use std::sync::Arc;

use differential_dataflow::{AsCollection, Hashable};
use serde::{Deserialize, Serialize};
use timely::dataflow::operators::Exchange;

use super::topical::CoAdoption;
use super::{Coll, Day, Diff, Time, Topic, User};
use crate::hash::SplitMix64;
use crate::tables::{Decimal, TopicSignificanceRow};
use crate::topics;

/// FNV-1a (64-bit) of a topic name: the topic's part of the round's seed.
pub fn topic_key(name: &str) -> u64 {
    name.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// The generator of one round: SplitMix64 started from
/// `seed`, then `key` and `round` each xor-ed in and mixed. Stable.
fn round_rng(seed: u64, key: u64, round: u32) -> SplitMix64 {
    let mut rng = SplitMix64(seed);
    let a = rng.next_u64();
    let mut rng = SplitMix64(a ^ key);
    let b = rng.next_u64();
    SplitMix64(b ^ u64::from(round))
}

/// Permutes `days` in place with a Fisher-Yates shuffle driven by `rng`
/// (`i` from the last position down to 1 swaps with a uniform `j <= i`).
fn fisher_yates(rng: &mut SplitMix64, days: &mut [Day]) {
    for i in (1..days.len()).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        days.swap(i, j);
    }
}

/// Round `round` of the shuffle test for topic `topic`: the adopters' days,
/// given in ascending adopter-id order, permuted (the same multiset, dealt
/// out again). A pure function of its arguments.
pub fn shuffle_days(seed: u64, topic: &str, round: u32, days: &[Day]) -> Vec<Day> {
    let mut out = days.to_vec();
    fisher_yates(&mut round_rng(seed, topic_key(topic), round), &mut out);
    out
}

/// One topic's adopters and the friendships among them.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct TopicGraph {
    /// [`topic_key`] of the topic's name.
    key: u64,
    /// Adoption days, in ascending adopter-id order.
    days: Vec<Day>,
    /// `neighbours[offsets[i]..offsets[i + 1]]`: positions of adopter `i`'s co-adopting friends.
    offsets: Vec<u32>,
    /// Adjacency lists over adopter positions (each friendship in both lists).
    neighbours: Vec<u32>,
    /// The count with the real days.
    observed: u64,
}

impl TopicGraph {
    /// Adopters with a co-adopting friend who adopted 1..=`window` days earlier, given `days`.
    fn explained(&self, days: &[Day], window: i64) -> u64 {
        (0..days.len())
            .filter(|&v| {
                let friends =
                    &self.neighbours[self.offsets[v] as usize..self.offsets[v + 1] as usize];
                friends.iter().any(|&u| {
                    let gap = i64::from(days[v]) - i64::from(days[u as usize]);
                    (1..=window).contains(&gap)
                })
            })
            .count() as u64
    }

    /// The count in round `round`.
    fn shuffled(&self, seed: u64, round: u32, window: i64) -> u64 {
        let mut days = self.days.clone();
        fisher_yates(&mut round_rng(seed, self.key, round), &mut days);
        self.explained(&days, window)
    }
}

/// What the per-topic gathering reads: adopters (sorted first) and co-adoptions.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
enum Member {
    Adopter(User, Day),
    Pair(User, User),
}

/// What the per-topic statistics read.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
enum Outcome {
    /// Adopters and the observed count.
    Observed(u64, u64),
    /// A round and its count.
    Round(u32, u64),
}

/// The `topic_significance` table (one row per topic with at least 2
/// adopters), from the adoptions and the co-adoptions of [`super::topical`].
pub fn topic_significance<'s>(
    adoptions: Coll<'s, ((User, Topic), Day)>,
    co_adoptions: Coll<'s, CoAdoption>,
    rounds: u32,
    seed: u64,
    window_days: u32,
    dictionary: topics::Shared,
) -> Coll<'s, TopicSignificanceRow> {
    let window = i64::from(window_days);
    let names = dictionary.clone();
    let members = adoptions
        .map(|((user, topic), day)| (topic, Member::Adopter(user, day)))
        .concat(co_adoptions.map(|(a, b, topic, _, _)| (topic, Member::Pair(a, b))));
    let graphs = members.reduce_named("TopicGraphs", move |&topic, members, output| {
        // Adopters come first (the enum's order), sorted by user id.
        let adopters: Vec<(User, Day)> = members
            .iter()
            .filter(|(_, diff)| *diff > 0)
            .filter_map(|(member, _)| match member {
                Member::Adopter(user, day) => Some((*user, *day)),
                Member::Pair(..) => None,
            })
            .collect();
        if adopters.len() < 2 {
            return;
        }
        let position = |user: &User| adopters.binary_search_by_key(user, |(u, _)| *u).ok();
        let mut degree = vec![0u32; adopters.len() + 1];
        let mut pairs: Vec<(u32, u32)> = Vec::new();
        for (member, diff) in members {
            if let (Member::Pair(a, b), true) = (member, *diff > 0) {
                if let (Some(i), Some(j)) = (position(a), position(b)) {
                    pairs.push((i as u32, j as u32));
                    degree[i] += 1;
                    degree[j] += 1;
                }
            }
        }
        let mut offsets = Vec::with_capacity(adopters.len() + 1);
        let mut total = 0u32;
        for d in &degree[..adopters.len()] {
            offsets.push(total);
            total += d;
        }
        offsets.push(total);
        let mut fill = offsets.clone();
        let mut neighbours = vec![0u32; total as usize];
        for (i, j) in pairs {
            neighbours[fill[i as usize] as usize] = j;
            fill[i as usize] += 1;
            neighbours[fill[j as usize] as usize] = i;
            fill[j as usize] += 1;
        }
        let mut graph = TopicGraph {
            key: topic_key(names.borrow().name(topic)),
            days: adopters.iter().map(|(_, day)| *day).collect(),
            offsets,
            neighbours,
            observed: 0,
        };
        graph.observed = graph.explained(&graph.days, window);
        output.push((Arc::new(graph), 1));
    });

    let observed = graphs.clone().map(|(topic, graph)| {
        let outcome = Outcome::Observed(graph.days.len() as u64, graph.observed);
        (topic, outcome)
    });
    let shuffled = graphs
        .flat_map(move |(topic, graph)| {
            (1..=rounds).map(move |round| ((topic, round), Arc::clone(&graph)))
        })
        .inner
        .exchange(
            |(((topic, round), _), _, _): &(((Topic, u32), _), Time, Diff)| {
                (*topic, *round).hashed()
            },
        )
        .as_collection()
        .map(move |((topic, round), graph)| {
            let count = graph.shuffled(seed, round, window);
            (topic, Outcome::Round(round, count))
        });

    let names = dictionary;
    observed
        .concat(shuffled)
        .reduce_named("TopicSignificance", move |&topic, outcomes, output| {
            let mut seen = None;
            let (mut n, mut sum, mut squares, mut at_least) = (0u128, 0u128, 0u128, 0u64);
            let mut counts = Vec::with_capacity(outcomes.len());
            for (outcome, diff) in outcomes {
                match outcome {
                    Outcome::Observed(adopters, observed) if *diff > 0 => {
                        seen = Some((*adopters, *observed))
                    }
                    Outcome::Round(_, count) if *diff > 0 => counts.push(*count),
                    _ => {}
                }
            }
            let Some((adopters, observed)) = seen else {
                return;
            };
            for count in counts {
                n += 1;
                sum += u128::from(count);
                squares += u128::from(count) * u128::from(count);
                at_least += u64::from(count >= observed);
            }
            let row = statistics(adopters, observed, n, sum, squares, at_least);
            let row = TopicSignificanceRow {
                topic: names.borrow().shared_name(topic),
                ..row
            };
            output.push((row, 1));
        })
        .map(|(_, row)| row)
}

/// The row's numbers from integer sums over `n` rounds (so they do not
/// depend on the order the rounds arrive in): the population standard
/// deviation, `z = (n * observed - sum) / sqrt(n * squares - sum^2)`
/// (which is `(observed - mean) / std`), 0 when the rounds never vary, and
/// `p = (1 + at_least) / (n + 1)`.
fn statistics(
    adopters: u64,
    observed: u64,
    n: u128,
    sum: u128,
    squares: u128,
    at_least: u64,
) -> TopicSignificanceRow {
    let as_f64 = |x: u128| x as f64;
    let rounds = n.max(1);
    let spread = n * squares - sum * sum; // n^2 * variance, exact
    let mean = as_f64(sum) / as_f64(rounds);
    let std = spread_sqrt(spread) / as_f64(rounds);
    let z = if spread == 0 {
        0.0
    } else {
        // Both fit in an i128: n <= 2^32 rounds of counts below 2^64.
        let above = (n * u128::from(observed)) as i128 - sum as i128;
        above as f64 / spread_sqrt(spread)
    };
    TopicSignificanceRow {
        topic: "".into(),
        adopters,
        observed,
        shuffled_mean: Decimal(mean),
        shuffled_std: Decimal(std),
        z: Decimal(z),
        p_value: Decimal((1.0 + at_least as f64) / (as_f64(n) + 1.0)),
    }
}

fn spread_sqrt(spread: u128) -> f64 {
    (spread as f64).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shuffle_keeps_the_multiset_and_depends_on_round_and_topic() {
        let days: Vec<Day> = (0..50).collect();
        let a = shuffle_days(1, "jazz", 1, &days);
        let mut sorted = a.clone();
        sorted.sort();
        assert_eq!(sorted, days);
        assert_eq!(a, shuffle_days(1, "jazz", 1, &days));
        assert_ne!(a, shuffle_days(1, "jazz", 2, &days));
        assert_ne!(a, shuffle_days(1, "rock", 1, &days));
        assert_ne!(a, shuffle_days(2, "jazz", 1, &days));
    }

    #[test]
    fn statistics_from_sums() {
        // Rounds 1, 2, 3 (mean 2, population std sqrt(2/3)), observed 4.
        let row = statistics(5, 4, 3, 6, 14, 0);
        assert_eq!(row.shuffled_mean.0, 2.0);
        assert!((row.shuffled_std.0 - (2.0f64 / 3.0).sqrt()).abs() < 1e-12);
        assert!((row.z.0 - 2.0 / (2.0f64 / 3.0).sqrt()).abs() < 1e-12);
        assert_eq!(row.p_value.0, 0.25);
        // No spread: z is 0.
        let row = statistics(2, 1, 4, 4, 4, 4);
        assert_eq!(
            (row.shuffled_std.0, row.z.0, row.p_value.0),
            (0.0, 0.0, 1.0)
        );
    }
}
