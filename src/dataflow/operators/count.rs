//! A count over current values: each record's multiplicity, as
//! `(record, count)`, for this crate's epochs.
//!
//! Contract: the output is differential's `count_total` of the input (at
//! every time, `(record, n)` once for each record whose accumulated
//! multiplicity `n` is not zero), emitted once a time is complete.
//!
//! `count_total` arranges its input: every update is sorted and merged
//! into batches, and their history kept, so that any time can be read. Our
//! times are epochs in a total order and each completes before the next is
//! worked on, so only each record's current count is needed: a worker adds
//! each update into a hash map as it arrives (the time's sums), and when the
//! time completes moves the sums into the counts it holds, emitting the
//! changes. Measured on the topical `reach` count at 1M users (batch, 2
//! workers, worker 0, 21.5M updates; alternating pairs): 1.79-1.81 s
//! arranging plus the count -> 1.69-1.71 s, the batch 20.0-21.1 ->
//! 19.2-19.8 s and its peak 2.27-2.29 -> 2.15 GB; nights unchanged
//! (1.19-1.40 s computed), tables and feeds byte-identical.
//!
//! What was left then was a cache miss per update in a map of 2.4M records
//! per worker. The sums and counts are therefore [`Partitioned`]: 256 maps,
//! each a 256th of the records (by bits of their hash that the maps do not
//! use), and an update waits in its map's small buffer until the buffer is
//! full, then the buffer is added into the map while that map is in cache.
//! Measured on the same count: see docs/nightly.md run 12.
//!
//! Records are sent to the worker `route` names (use the route of the
//! operator that reads the counts, and the counts need not move again).
//! Without `keep` (a batch, whose only time is the base) no count is held:
//! each time is counted from nothing.

use std::collections::hash_map::Entry;
use std::collections::BTreeMap;
use std::hash::{BuildHasher, BuildHasherDefault, Hash};

use timely::dataflow::channels::pact::Exchange;
use timely::dataflow::operators::{Capability, Operator};

use differential_dataflow::{AsCollection, ExchangeData};

use crate::dataflow::{Coll, Diff, Time};
use crate::hash::{IdMap, MixHasher};

/// Counts each record's current multiplicity; see the module docs.
pub fn count_current<'s, K>(
    input: Coll<'s, K>,
    name: &str,
    keep: bool,
    route: impl Fn(&K) -> u64 + 'static,
) -> Coll<'s, (K, Diff)>
where
    K: ExchangeData + Hash + Eq,
{
    let exchange = Exchange::new(move |(record, _, _): &(K, Time, Diff)| route(record));
    input
        .inner
        .unary_frontier(exchange, name, move |_, _| {
            // The sums of the times not yet complete, each with its capability.
            let mut pending: BTreeMap<Time, (Capability<Time>, Partitioned<K>)> = BTreeMap::new();
            let mut counts: Partitioned<K> = Partitioned::new();
            move |(input, frontier), output| {
                input.for_each_stamp(|capability, data| {
                    for batch in data {
                        for (record, time, diff) in batch.drain(..) {
                            pending
                                .entry(time)
                                .or_insert_with(|| {
                                    (capability.delayed(&time, 0), Partitioned::new())
                                })
                                .1
                                .add(record, diff);
                        }
                    }
                });
                while let Some(entry) = pending.first_entry() {
                    if frontier.less_equal(entry.key()) {
                        break;
                    }
                    let (capability, mut sums) = entry.remove();
                    sums.settle();
                    let time = *capability.time();
                    let mut session = output.session(&capability);
                    if counts.is_empty() {
                        // Nothing counted (the base): the sums are the counts.
                        for part in &mut sums.parts {
                            part.retain(|_, n| *n != 0);
                            for (record, n) in part.iter() {
                                session.give(((record.clone(), *n), time, 1));
                            }
                        }
                        if keep {
                            counts = sums;
                        }
                        continue;
                    }
                    for (part, held) in sums.parts.into_iter().zip(&mut counts.parts) {
                        for (record, diff) in part.into_iter().filter(|(_, diff)| *diff != 0) {
                            match held.entry(record) {
                                Entry::Occupied(mut held) => {
                                    let before = *held.get();
                                    session.give(((held.key().clone(), before), time, -1));
                                    if before + diff == 0 {
                                        held.remove();
                                    } else {
                                        *held.get_mut() = before + diff;
                                        session.give((
                                            (held.key().clone(), before + diff),
                                            time,
                                            1,
                                        ));
                                    }
                                }
                                Entry::Vacant(absent) => {
                                    session.give(((absent.key().clone(), diff), time, 1));
                                    absent.insert(diff);
                                }
                            }
                        }
                    }
                }
            }
        })
        .as_collection()
}

/// How many maps a [`Partitioned`] spreads its records over.
pub const PARTS: usize = 256;

/// Updates a part's buffer holds before they are added into its map. A
/// buffer must be large beside its map for the map's cache lines to be
/// reused: `Reach` at 1M users (worker 0, 21.5M updates, 4.8k records per
/// map) took 1.11-1.14 s with 512, 0.76-0.82 with 4096, 0.71 with 8192
/// and 0.64 with 16384. 8192 is 25 MB of buffers per time being counted
/// (`(K, Diff)` of 12 bytes), freed when the time is settled.
pub const STAGED: usize = 8192;

/// Sums per record, spread over [`PARTS`] hash maps by bits 32-39 of the
/// record's hash (a map places a record by the low bits of that hash and
/// tags it with the top seven, so each map still sees well-spread hashes).
/// An update waits in its part's buffer; a full buffer is added into its
/// map at once, while that map (a `PARTS`-th of all records) is in cache.
pub struct Partitioned<K> {
    /// The maps (after [`Partitioned::settle`], every record's sum).
    pub parts: Vec<IdMap<K, Diff>>,
    staged: Vec<Vec<(K, Diff)>>,
}

impl<K: Hash + Eq> Partitioned<K> {
    /// Empty maps and buffers (the buffers grow on first use).
    pub fn new() -> Self {
        Partitioned {
            parts: (0..PARTS).map(|_| IdMap::default()).collect(),
            staged: (0..PARTS).map(|_| Vec::new()).collect(),
        }
    }

    /// The part a record belongs to.
    fn part(record: &K) -> usize {
        (BuildHasherDefault::<MixHasher>::default().hash_one(record) >> 32) as usize % PARTS
    }

    /// Adds `diff` to the record's sum (perhaps later: see [`Partitioned::settle`]).
    pub fn add(&mut self, record: K, diff: Diff) {
        let part = Self::part(&record);
        let staged = &mut self.staged[part];
        staged.push((record, diff));
        if staged.len() >= STAGED {
            add_into(&mut self.parts[part], staged.drain(..));
        }
    }

    /// Adds every waiting update into its map, and frees the buffers (a
    /// settled map may be held for long: the counts of a service).
    pub fn settle(&mut self) {
        for (staged, map) in self.staged.iter_mut().zip(&mut self.parts) {
            add_into(map, std::mem::take(staged));
        }
    }

    /// Whether no record has a sum (settled or not).
    pub fn is_empty(&self) -> bool {
        self.parts.iter().all(|p| p.is_empty()) && self.staged.iter().all(|s| s.is_empty())
    }
}

/// Adds updates into a map of sums.
fn add_into<K: Hash + Eq>(map: &mut IdMap<K, Diff>, updates: impl IntoIterator<Item = (K, Diff)>) {
    for (record, diff) in updates {
        *map.entry(record).or_insert(0) += diff;
    }
}

impl<K: Hash + Eq> Default for Partitioned<K> {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::SplitMix64;

    /// Many updates (buffers fill and are added many times over), settled,
    /// give each record's sum, the same as one map: updates to records of
    /// every part, and three buffers' worth to a few records of part 0.
    #[test]
    fn partitioned_sums_equal_one_map() {
        let mut random = SplitMix64(7);
        let mut sums = Partitioned::new();
        let mut reference: BTreeMap<(u32, u32), Diff> = BTreeMap::new();
        let mut add = |record: (u32, u32), diff: Diff| {
            sums.add(record, diff);
            *reference.entry(record).or_insert(0) += diff;
        };
        let first_part: Vec<(u32, u32)> = (0..3_000u32)
            .flat_map(|user| (0..4).map(move |topic| (user, topic)))
            .filter(|record| Partitioned::part(record) == 0)
            .collect();
        assert!(first_part.len() > 10);
        for i in 0..3 * STAGED + 100 {
            let record = first_part[i % first_part.len()];
            add(record, random.below(5) as Diff - 2);
            let other = (random.below(3_000) as u32, random.below(4) as u32);
            add(other, random.below(5) as Diff - 2);
        }
        assert!(!sums.is_empty());
        sums.settle();
        let mut got: BTreeMap<(u32, u32), Diff> = BTreeMap::new();
        for (index, part) in sums.parts.iter().enumerate() {
            for (record, sum) in part {
                assert_eq!(Partitioned::part(record), index, "{record:?} in its part");
                assert!(got.insert(*record, *sum).is_none(), "{record:?} once");
            }
        }
        assert_eq!(got, reference);
    }
}
