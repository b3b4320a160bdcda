//! The local combine: a worker adds up its own updates per (record, time)
//! before they are exchanged, so that a count downstream receives one
//! `(record, +n)` update instead of `n` updates of `+1`.
//!
//! Contract: the output is the same collection as the input (at every time,
//! the same accumulated multiplicity per record), made shorter: per worker
//! and time, each record at most once, and none whose sum is zero. It moves
//! no data between workers (`Pipeline`), and emits a time's sums once the
//! input frontier has passed that time.
//!
//! Records are small integers (user ids), so the sums live in an array
//! indexed by the record ([`Slot`]), not a hash map: the friend counts add
//! up every endpoint of every friendship (45M at 1M users), and a hash
//! map's probe per endpoint was a sixth of the friendships-only batch. A
//! record joins the array while the array stays within four slots per
//! update this time has seen (at least [`DENSE_FLOOR`]), so that memory
//! follows the input, not the largest id; a record past that (a sparse
//! id) is summed in a hash map instead, and the two are merged on output.
//! Measured on the 1M-user friend counts (worker 0, 45M updates): see
//! docs/nightly.md run 12.

use std::hash::Hash;

use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::{Capability, Operator};

use differential_dataflow::{AsCollection, ExchangeData};

use crate::dataflow::{Coll, Diff, Time};
use crate::hash::IdMap;

/// The array slots every time may use, whatever it has seen (256 KiB).
pub const DENSE_FLOOR: usize = 1 << 16;

/// A record that names a place in an array: a small unsigned integer.
pub trait Slot: Sized {
    /// Its place, if it fits in a `usize`.
    fn slot(&self) -> Option<usize>;
    /// The record at a place (the inverse of [`Slot::slot`]).
    fn from_slot(slot: usize) -> Self;
}

impl Slot for u32 {
    fn slot(&self) -> Option<usize> {
        usize::try_from(*self).ok()
    }
    fn from_slot(slot: usize) -> Self {
        slot as u32
    }
}

impl Slot for u64 {
    fn slot(&self) -> Option<usize> {
        usize::try_from(*self).ok()
    }
    fn from_slot(slot: usize) -> Self {
        slot as u64
    }
}

/// One time's sums: an array for the records that fit it, a map for the rest.
struct Sums<K> {
    dense: Vec<Diff>,
    sparse: IdMap<K, Diff>,
    /// Updates seen this time: the array may grow to four slots for each.
    seen: usize,
}

impl<K: Slot + Hash + Eq> Sums<K> {
    fn new() -> Self {
        Sums {
            dense: Vec::new(),
            sparse: IdMap::default(),
            seen: 0,
        }
    }

    fn add(&mut self, record: K, diff: Diff) {
        match record.slot() {
            Some(slot) if slot < self.dense.len() => self.dense[slot] += diff,
            Some(slot) if slot < DENSE_FLOOR.max(self.seen.saturating_mul(4)) => {
                // Doubling, within the bound: few reallocations on the way up.
                let bound = DENSE_FLOOR.max(self.seen.saturating_mul(4));
                let len = (slot + 1).max(self.dense.len() * 2).min(bound);
                self.dense.resize(len, 0);
                self.dense[slot] += diff;
            }
            _ => *self.sparse.entry(record).or_insert(0) += diff,
        }
    }

    /// Every record with a non-zero sum, once: the array's in record order,
    /// then the map's (less those that the array grew to cover, which are
    /// added into it first).
    fn drain(mut self, mut each: impl FnMut(K, Diff)) {
        let len = self.dense.len();
        self.sparse.retain(|record, diff| match record.slot() {
            Some(slot) if slot < len => {
                self.dense[slot] += *diff;
                false
            }
            _ => true,
        });
        for (slot, diff) in self.dense.into_iter().enumerate() {
            if diff != 0 {
                each(K::from_slot(slot), diff);
            }
        }
        for (record, diff) in self.sparse {
            if diff != 0 {
                each(record, diff);
            }
        }
    }
}

/// Adds up a worker's updates per (record, time); see the module docs.
/// The map's records are hashed with [`crate::hash::MixHasher`].
pub fn combine_locally<'s, K>(input: Coll<'s, K>) -> Coll<'s, K>
where
    K: ExchangeData + Hash + Eq + Slot,
{
    input
        .inner
        .unary_frontier(Pipeline, "CombineLocally", |_, _| {
            let mut sums: Vec<(Capability<Time>, Sums<K>)> = Vec::new();
            move |(input, frontier), output| {
                input.for_each_stamp(|capability, data| {
                    let Some(capability) = capability.retain_least(0) else {
                        return;
                    };
                    let time = *capability.time();
                    let slot = match sums.iter().position(|(c, _)| *c.time() == time) {
                        Some(slot) => slot,
                        None => {
                            sums.push((capability, Sums::new()));
                            sums.len() - 1
                        }
                    };
                    let sum = &mut sums[slot].1;
                    for batch in data {
                        sum.seen += batch.len();
                        for (record, _, diff) in batch.drain(..) {
                            sum.add(record, diff);
                        }
                    }
                });
                let mut index = 0;
                while index < sums.len() {
                    if frontier.frontier().less_equal(sums[index].0.time()) {
                        index += 1;
                        continue;
                    }
                    let (capability, sum) = sums.swap_remove(index);
                    let time = *capability.time();
                    let mut session = output.session(&capability);
                    sum.drain(|record, diff| session.give((record, time, diff)));
                }
            }
        })
        .as_collection()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A record refused by a small array (summed in the map), then taken by
    /// the array once the time has seen enough updates: its two sums leave
    /// as one update, and records that cancel leave none.
    #[test]
    fn the_array_and_the_map_merge_on_output() {
        let far = DENSE_FLOOR as u64 + 10;
        let mut sums = Sums::<u64>::new();
        sums.add(far, 2);
        sums.add(3, 1);
        sums.add(u64::MAX, 5);
        sums.add(7, 1);
        sums.add(7, -1);
        assert!(sums.dense.len() <= far as usize, "far is in the map");
        sums.seen = DENSE_FLOOR;
        sums.add(far, 3);
        assert!(sums.dense.len() > far as usize, "far is now in the array");
        let mut out = Vec::new();
        sums.drain(|record, diff| out.push((record, diff)));
        out.sort_unstable();
        assert_eq!(out, vec![(3, 1), (far, 5), (u64::MAX, 5)]);
    }
}
