//! The crate's `key -> value` arrangements: differential's ordered batches,
//! with update lists that grow as they are filled.
//!
//! A batch of differential's `ValSpine` stores, per `(key, value)`, the
//! list of its `(time, diff)` updates; a list equal to the one before it is
//! not stored again (its offset says "same as before"). Our arrangements
//! are almost all such lists: the friendship graph by user is 90M values
//! at 1M users, each with the single update `(0, +1)` of the base. The
//! builder nevertheless reserves room for every update up front (a vector
//! of times and one of diffs as long as the values), which stays allocated,
//! unused, for the life of the batch: 8 bytes per value, 0.72 GB at 1M
//! users for the friendship arrangement alone (heaptrack of `reach serve`:
//! 0.76 GB of live allocations in `Upds::with_capacity`). Untouched, those
//! pages are not resident as long as the allocator maps them fresh, but
//! they count against the address space and any allocator that hands out
//! memory touched before makes them resident. [`Grown`] is a vector that ignores
//! that reservation and grows as it is pushed to; times and diffs are
//! stored in it, everything else as in `ValSpine`.

use std::rc::Rc;

use serde::{Deserialize, Serialize};

use differential_dataflow::batcher::merge::vec::VecMerger;
use differential_dataflow::batcher::merge::MergeBatcher;
use differential_dataflow::operators::arrange::{Arranged, TraceAgent};
use differential_dataflow::trace::implementations::ord_neu::{OrdValBatch, OrdValBuilder};
use differential_dataflow::trace::implementations::spine_fueled::Spine;
use differential_dataflow::trace::implementations::{BatchContainer, ContainerChunker, OffsetList};
use differential_dataflow::ExchangeData;
use differential_dataflow::Hashable;

use crate::dataflow::{Coll, Diff, Time};

/// A vector that does not take a builder's capacity hint: it grows as it is
/// pushed to (see the module docs). Merged batches still get the exact sum
/// of their inputs' lengths.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Grown<T>(Vec<T>);

impl<T: Ord + Clone + 'static> BatchContainer for Grown<T> {
    type Owned = T;
    type ReadItem<'a> = &'a T;

    fn into_owned(item: &T) -> T {
        item.clone()
    }
    fn clone_onto(item: &T, other: &mut T) {
        other.clone_from(item);
    }
    fn reborrow<'b, 'a: 'b>(item: &'a T) -> &'b T {
        item
    }
    fn push_ref(&mut self, item: &T) {
        self.0.push(item.clone());
    }
    fn push_own(&mut self, item: &T) {
        self.0.push(item.clone());
    }
    fn clear(&mut self) {
        self.0.clear();
    }
    fn with_capacity(_hint: usize) -> Self {
        Grown(Vec::new())
    }
    fn merge_capacity(cont1: &Self, cont2: &Self) -> Self {
        Grown(Vec::with_capacity(cont1.0.len() + cont2.0.len()))
    }
    fn index(&self, index: usize) -> &T {
        &self.0[index]
    }
    fn get(&self, index: usize) -> Option<&T> {
        self.0.get(index)
    }
    fn len(&self) -> usize {
        self.0.len()
    }
}

/// Keys, values, times, diffs, offsets: `ValSpine`'s layout with [`Grown`]
/// update lists.
pub type Layout<K, V> = (Vec<K>, Vec<V>, Grown<Time>, Grown<Diff>, OffsetList);

/// The batches' builder.
pub type Builder<K, V> = OrdValBuilder<Layout<K, V>, Vec<((K, V), Time, Diff)>>;

/// The batcher: differential's merge batcher, sealing with [`Builder`].
pub type Batcher<K, V> = MergeBatcher<
    ContainerChunker<Vec<((K, V), Time, Diff)>>,
    VecMerger<(K, V), Time, Diff>,
    Builder<K, V>,
>;

/// The trace.
pub type ByKeySpine<K, V> = Spine<Rc<OrdValBatch<Layout<K, V>>>>;

/// An arrangement of `key -> value`.
pub type ByKey<'s, K, V> = Arranged<'s, TraceAgent<ByKeySpine<K, V>>>;

/// Arranges `(key, value)` records by key, each key at the worker of its hash.
pub fn arrange_by_key<'s, K, V>(records: Coll<'s, (K, V)>, name: &str) -> ByKey<'s, K, V>
where
    K: ExchangeData + Hashable<Output = u64>,
    V: ExchangeData,
{
    records.arrange_named::<Batcher<K, V>, ByKeySpine<K, V>>(name, Batcher::new)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grown_ignores_the_hint_and_keeps_what_is_pushed() {
        let mut times = <Grown<u32> as BatchContainer>::with_capacity(1 << 20);
        assert_eq!(times.0.capacity(), 0);
        for t in [3, 1, 4] {
            times.push_own(&t);
        }
        assert_eq!((times.len(), times.index(1), times.get(3)), (3, &1, None));
        let merged = <Grown<u32> as BatchContainer>::merge_capacity(&times, &times);
        assert_eq!((merged.len(), merged.0.capacity()), (0, 6));
    }
}
