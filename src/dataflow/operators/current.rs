//! A reduce over each key's current values, for this crate's epochs.
//!
//! Differential's `reduce` keeps the whole history of its input and output
//! in arrangements, so that it can answer for any time in a partial order.
//! Our times are epochs in a total order and every operator finishes one
//! before the next starts, so a key's history is never read: only its
//! current values, from which `logic` gives the output last emitted for
//! them as well as the new one. [`reduce_current`] keeps exactly those
//! values, per key, in a hash map. A night then costs a hash lookup and two
//! calls of `logic` per changed key instead of seeks through every batch of
//! two traces, and no output arrangement is built at all.
//!
//! Same contract as `reduce`: `logic` sees a key's values sorted, with
//! positive multiplicities, and pushes its outputs; the operator emits the
//! difference to what it emitted for the key before. A key with no values
//! is not called (and forgotten).
//!
//! A key's values are a [`Values`]: one value is held inline in the map, not
//! in an allocation of its own. Most keys hold one (an account's customer,
//! a persuaded adoption's single persuader). Measured at 1M users with
//! customers (`reach run`, 2 workers, two alternating pairs): 32.9-34.7 ->
//! 31.7-32.5 s, peak 4.43-4.45 -> 4.31-4.33 GB; social nights unchanged.

use std::collections::BTreeMap;
use std::hash::Hash;

use timely::dataflow::channels::pact::Exchange;
use timely::dataflow::operators::{Capability, InputCapability, Operator};
use timely::progress::frontier::AntichainRef;

use differential_dataflow::consolidation::consolidate_slice;
use differential_dataflow::{AsCollection, ExchangeData};
use smallvec::SmallVec;

use crate::dataflow::{Coll, Diff, Time};
use crate::hash::IdMap;

/// A key's current values with their counts, sorted: one inline, more in
/// an allocation.
pub type Values<V> = SmallVec<[(V, Diff); 1]>;

/// One time's updates, with a capability for that time.
pub type Stashed<K, V> = (Capability<Time>, Vec<((K, V), Diff)>);

/// Updates received for times not yet complete, with their capabilities.
pub type Pending<K, V> = BTreeMap<Time, Stashed<K, V>>;

/// Stashes a message's updates under their times, each time with a
/// capability of its own.
pub fn stash<K, V>(
    pending: &mut Pending<K, V>,
    capability: &InputCapability<Time>,
    batch: &mut Vec<((K, V), Time, Diff)>,
) {
    for (update, time, diff) in batch.drain(..) {
        pending
            .entry(time)
            .or_insert_with(|| (capability.delayed(&time, 0), Vec::new()))
            .1
            .push((update, diff));
    }
}

/// The earliest stashed time the input frontier has passed, with its
/// updates: a time that is complete, in time order.
pub fn next_complete<K, V>(
    pending: &mut Pending<K, V>,
    frontier: AntichainRef<'_, Time>,
) -> Option<Stashed<K, V>> {
    let first = pending.first_entry()?;
    if frontier.less_equal(first.key()) {
        return None;
    }
    Some(first.remove())
}

/// Groups `(key, value)` updates by key and applies `logic` to each key's
/// current values whenever they change, emitting the changed outputs.
///
/// `logic` must be a function of the key and values alone: the outputs
/// emitted before are not stored but computed again from the values
/// before the change.
///
/// `route` sends a key to its worker (use [`crate::hash::mix`] of the key's parts, as
/// elsewhere, so placement is stable across runs).
pub fn reduce_current<'s, K, V, O>(
    input: Coll<'s, (K, V)>,
    name: &str,
    route: impl Fn(&K) -> u64 + 'static,
    mut logic: impl FnMut(&K, &[(V, Diff)], &mut Vec<O>) + 'static,
) -> Coll<'s, O>
where
    K: ExchangeData + Hash + Eq + Ord,
    V: ExchangeData + Ord,
    O: ExchangeData + Ord,
{
    let mut merged: Values<V> = Values::new();
    let (mut old, mut fresh): (Vec<O>, Vec<O>) = (Vec::new(), Vec::new());
    per_changed_key(
        input,
        name,
        route,
        move |key, values: &mut Values<V>, changes, out| {
            old.clear();
            if !values.is_empty() {
                logic(key, values, &mut old);
                old.sort_unstable();
            }
            merge(values, changes.drain(..), &mut merged);
            std::mem::swap(values, &mut merged);
            fresh.clear();
            if !values.is_empty() {
                logic(key, values, &mut fresh);
                fresh.sort_unstable();
            }
            if fresh != old {
                emit_difference(&old, &fresh, |row, diff| out.push((row, diff)));
            }
            !values.is_empty()
        },
    )
}

/// The shell the reductions over current values share: exchanges the
/// input by `route`, waits for each time to complete, and calls `each`
/// once per key the time changes, with the key's state (its default for
/// a new key), its value changes (consolidated, sorted by value) and a
/// buffer for its outputs' changes. `each` says whether the key still has
/// state; a key without is forgotten.
pub fn per_changed_key<'s, K, V, S, O>(
    input: Coll<'s, (K, V)>,
    name: &str,
    route: impl Fn(&K) -> u64 + 'static,
    mut each: impl FnMut(&K, &mut S, &mut Vec<(V, Diff)>, &mut Vec<(O, Diff)>) -> bool + 'static,
) -> Coll<'s, O>
where
    K: ExchangeData + Hash + Eq + Ord,
    V: ExchangeData + Ord,
    S: Default + 'static,
    O: ExchangeData,
{
    input
        .inner
        .unary_frontier(
            Exchange::new(move |((key, _), _, _): &((K, V), Time, Diff)| route(key)),
            name,
            |_capability, _info| {
                let mut pending: Pending<K, V> = BTreeMap::new();
                let mut state: IdMap<K, S> = IdMap::default();
                let mut changes: Vec<(V, Diff)> = Vec::new();
                let mut out: Vec<(O, Diff)> = Vec::new();
                move |(input, frontier), output| {
                    input.for_each_stamp(|capability, data| {
                        for batch in data {
                            stash(&mut pending, &capability, batch);
                        }
                    });
                    while let Some((capability, updates)) =
                        next_consolidated(&mut pending, frontier.frontier())
                    {
                        let time = *capability.time();
                        reserve_for_base(&mut state, &updates);
                        let mut session = output.session(&capability);
                        for_each_key(updates, &mut changes, |key, changes| {
                            let kept = each(
                                &key,
                                state.entry(key.clone()).or_default(),
                                changes,
                                &mut out,
                            );
                            if !kept {
                                state.remove(&key);
                            }
                            for (row, diff) in out.drain(..) {
                                session.give((row, time, diff));
                            }
                        });
                    }
                }
            },
        )
        .as_collection()
}

/// The earliest complete time's updates, consolidated: sorted by key, then
/// value, each `(key, value)` once.
fn next_consolidated<K: Ord, V: Ord>(
    pending: &mut Pending<K, V>,
    frontier: AntichainRef<'_, Time>,
) -> Option<Stashed<K, V>> {
    let (capability, mut updates) = next_complete(pending, frontier)?;
    consolidate_by_key(&mut updates);
    Some((capability, updates))
}

/// Sorts and consolidates `updates` as `consolidate` does, in two steps:
/// an unstable sort by key alone, then each key's few values sorted and
/// added up in place. Comparing whole `(key, value)` pairs in one stable
/// sort was an eighth of a night's dataflow time (`perf`, 1M users).
/// Measured on 1M-user nights (worker 0, night 2): the dataflow 1.14 ->
/// 1.06 s (`Credit` 0.199 -> 0.184, `Users` 0.141 -> 0.137); the batch
/// unchanged.
fn consolidate_by_key<K: Ord, V: Ord>(updates: &mut Vec<((K, V), Diff)>) {
    updates.sort_unstable_by(|((x, _), _), ((y, _), _)| x.cmp(y));
    let mut write = 0;
    let mut start = 0;
    while start < updates.len() {
        let mut end = start + 1;
        while end < updates.len() && updates[end].0 .0 == updates[start].0 .0 {
            end += 1;
        }
        let kept = consolidate_slice(&mut updates[start..end]);
        for i in 0..kept {
            updates.swap(write + i, start + i);
        }
        write += kept;
        start = end;
    }
    updates.truncate(write);
}

/// Before a base load (an empty `state`), room for every key at once,
/// instead of rehashing millions of keys as the map doubles.
fn reserve_for_base<K: Hash + Eq, S, V>(state: &mut IdMap<K, S>, updates: &[((K, V), Diff)]) {
    if state.is_empty() {
        let distinct = updates
            .windows(2)
            .filter(|w| w[0].0 .0 != w[1].0 .0)
            .count();
        state.reserve(distinct + 1);
    }
}

/// Calls `each(key, changes)` once per key of consolidated `updates`, with
/// that key's value changes in order (`changes` is a reused buffer).
fn for_each_key<K: PartialEq, V>(
    updates: Vec<((K, V), Diff)>,
    changes: &mut Vec<(V, Diff)>,
    mut each: impl FnMut(K, &mut Vec<(V, Diff)>),
) {
    let mut updates = updates.into_iter().peekable();
    while let Some(((key, value), diff)) = updates.next() {
        changes.clear();
        changes.push((value, diff));
        while let Some(((_, value), diff)) = updates.next_if(|((next, _), _)| *next == key) {
            changes.push((value, diff));
        }
        each(key, changes);
    }
}

/// A key's current values and the output last emitted for them.
type Kept<V, W> = (Values<V>, Option<W>);

/// As [`reduce_current`] for a `logic` with exactly one output per key,
/// emitted as `(key, output)`: the output is kept beside the key's values,
/// so a change calls `logic` once (on the new values), not twice. Worth its
/// memory (one output per key) where `logic` is costly: `Credit`'s exact
/// fraction sums, a quarter of a night's busiest operator.
pub fn reduce_current_kept<'s, K, V, W>(
    input: Coll<'s, (K, V)>,
    name: &str,
    route: impl Fn(&K) -> u64 + 'static,
    mut logic: impl FnMut(&K, &[(V, Diff)]) -> W + 'static,
) -> Coll<'s, (K, W)>
where
    K: ExchangeData + Hash + Eq + Ord,
    V: ExchangeData + Ord,
    W: ExchangeData + Ord,
{
    let mut merged: Values<V> = Values::new();
    per_changed_key(
        input,
        name,
        route,
        move |key, state: &mut Kept<V, W>, changes, out| {
            let (values, kept) = state;
            merge(values, changes.drain(..), &mut merged);
            std::mem::swap(values, &mut merged);
            let fresh = (!values.is_empty()).then(|| logic(key, values));
            if fresh != *kept {
                if let Some(old) = kept.take() {
                    out.push(((key.clone(), old), -1));
                }
                if let Some(new) = &fresh {
                    out.push(((key.clone(), new.clone()), 1));
                }
                *kept = fresh;
            }
            !values.is_empty()
        },
    )
}

/// Merges sorted, consolidated `changes` into sorted, consolidated
/// `values`, into `merged` (cleared first); drops values whose count
/// reaches zero.
pub(crate) fn merge<V: Ord + Clone>(
    values: &[(V, Diff)],
    changes: impl ExactSizeIterator<Item = (V, Diff)>,
    merged: &mut Values<V>,
) {
    merged.clear();
    if merged.capacity() > 2 * (values.len() + changes.len()) + 8 {
        // A buffer last grown for a large key: not handed on to a small one.
        *merged = Values::new();
    }
    merged.reserve(values.len() + changes.len());
    let mut present = values.iter().cloned().peekable();
    for (value, diff) in changes {
        while let Some(earlier) = present.next_if(|(v, _)| *v < value) {
            merged.push(earlier);
        }
        match present.next_if(|(v, _)| *v == value) {
            Some((value, count)) if count + diff != 0 => merged.push((value, count + diff)),
            Some(_) => {}
            None => merged.push((value, diff)),
        }
    }
    merged.extend(present);
    if merged.spilled() && merged.len() <= 1 {
        // Inline again: the buffer came from another key.
        merged.shrink_to_fit();
    }
    debug_assert!(merged.iter().all(|(_, n)| *n > 0), "a negative count");
}

/// Calls `give` with `-1` for each output of `old` not in `new` and `+1`
/// for each of `new` not in `old` (both sorted).
pub(crate) fn emit_difference<O: Ord + Clone>(old: &[O], new: &[O], mut give: impl FnMut(O, Diff)) {
    let (mut i, mut j) = (0, 0);
    while i < old.len() || j < new.len() {
        match (old.get(i), new.get(j)) {
            (Some(a), Some(b)) if a == b => {
                i += 1;
                j += 1;
            }
            (Some(a), Some(b)) if a < b => {
                give(a.clone(), -1);
                i += 1;
            }
            (Some(a), None) => {
                give(a.clone(), -1);
                i += 1;
            }
            (_, Some(b)) => {
                give(b.clone(), 1);
                j += 1;
            }
            (None, None) => unreachable!(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consolidate_by_key_equals_consolidate() {
        let mut seed = 11u64;
        let mut next = |n: u64| {
            seed = crate::hash::mix(seed);
            seed % n
        };
        for len in [0, 1, 2, 5, 40, 300] {
            for _ in 0..20 {
                let updates: Vec<((u64, u64), Diff)> = (0..len)
                    .map(|_| ((next(6), next(4)), [-2, -1, 1, 2][next(4) as usize]))
                    .collect();
                let mut expected = updates.clone();
                differential_dataflow::consolidation::consolidate(&mut expected);
                let mut got = updates.clone();
                consolidate_by_key(&mut got);
                assert_eq!(got, expected, "{updates:?}");
            }
        }
    }

    #[test]
    fn merge_adds_removes_and_drops_zeros() {
        let values = vec![(1, 1), (3, 2), (5, 1)];
        let mut merged = Values::new();
        merge(
            &values,
            vec![(0, 1), (3, -2), (5, 1), (7, 1)].into_iter(),
            &mut merged,
        );
        assert_eq!(merged.as_slice(), [(0, 1), (1, 1), (5, 2), (7, 1)]);
        merge(&[], vec![(2, 1)].into_iter(), &mut merged);
        assert_eq!(merged.as_slice(), [(2, 1)]);
        assert!(!merged.spilled(), "one value is held inline");
        merge(&values, std::iter::empty(), &mut merged);
        assert_eq!(merged.as_slice(), values);
    }

    #[test]
    fn only_changed_outputs_are_emitted() {
        let mut emitted = Vec::new();
        emit_difference(&[1, 2, 4], &[2, 3, 4, 5], |o, d| emitted.push((o, d)));
        assert_eq!(emitted, vec![(1, -1), (3, 1), (5, 1)]);
        emitted.clear();
        emit_difference(&[1], &[], |o, d| emitted.push((o, d)));
        assert_eq!(emitted, vec![(1, -1)]);
    }
}
