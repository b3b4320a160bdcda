//! Set semantics: keyed records become a set (one record per key), base
//! records and nightly changes alike, emitted as differences.
//!
//! Readers send records to the worker that owns their key ([`keyed_state`]'s
//! `route`); that worker collapses what it received for a time by sorting
//! (not hashing) and emits each new key once with diff `+1`. This costs one
//! sort instead of a `distinct`/`reduce` arrangement, which for tens of
//! millions of friendships halves the memory.
//!
//! Contract, per time in order: base records are adds, order-free (a union
//! keeping, per key, the least record, or the one that [`Keyed::improves`]
//! on the present one); changes apply in position order per key (`+` adds
//! or improves, `-` removes the key); the output is the difference between
//! the set before and after the time, each changed key once.

use std::cell::RefCell;
use std::collections::{BTreeMap, VecDeque};
use std::rc::Rc;

use timely::dataflow::channels::pact::Exchange;
use timely::dataflow::operators::{Capability, Operator};
use timely::dataflow::StreamVec;
use timely::progress::frontier::AntichainRef;

use differential_dataflow::{AsCollection, ExchangeData};

use crate::dataflow::{Coll, Diff, Time};

/// Counts of what nightly changes did, per time.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ChangeCounts {
    /// `+` records that added a key (or, for adoptions, moved its day earlier).
    pub applied_adds: u64,
    /// `-` records that removed a present key.
    pub applied_removes: u64,
    /// `+` records for a present key that changed nothing.
    pub noop_adds: u64,
    /// `-` records for an absent key.
    pub noop_removes: u64,
}

impl ChangeCounts {
    /// Adds another worker's counts.
    pub fn add(&mut self, other: &ChangeCounts) {
        self.applied_adds += other.applied_adds;
        self.applied_removes += other.applied_removes;
        self.noop_adds += other.noop_adds;
        self.noop_removes += other.noop_removes;
    }
}

/// What a worker's state operators counted, by time (at time 0, the base's
/// distinct keys as `applied_adds`); read by the worker between epochs
/// (operators and worker share the thread).
pub type Counters = Rc<RefCell<BTreeMap<Time, ChangeCounts>>>;

/// What a state operator holds, shared with the worker so that it can
/// checkpoint between epochs.
pub struct Held<R> {
    /// The current set, sorted by key (empty unless state is kept).
    pub set: Vec<R>,
    /// When `Some`, every difference nights made to the set since the
    /// worker last took them (a service's checkpoint log).
    pub journal: Option<Vec<(R, Diff)>>,
}

impl<R> Default for Held<R> {
    fn default() -> Self {
        Held {
            set: Vec::new(),
            journal: None,
        }
    }
}

/// A state operator's [`Held`] set, shared with the worker.
pub type State<R> = Rc<RefCell<Held<R>>>;

/// A nightly change record: the record, and `position << 1 | is_remove`
/// where `position` orders changes within the night (the byte offset in
/// the night's file).
pub type Change<R> = (R, u64);

/// Collapsed records waiting to be emitted, with their capability: a
/// time's differences, or a base's records alone when they are all adds
/// (emitted as they are, with no copy of tens of millions of records).
type Ready<R> = VecDeque<(Capability<Time>, Emit<R>)>;

/// What one time emits.
enum Emit<R> {
    /// Differences.
    Diffs(std::vec::IntoIter<(R, Diff)>),
    /// Records, each added once.
    Adds(std::vec::IntoIter<R>),
}

impl<R> Iterator for Emit<R> {
    type Item = (R, Diff);
    fn next(&mut self) -> Option<(R, Diff)> {
        match self {
            Emit::Diffs(diffs) => diffs.next(),
            Emit::Adds(records) => records.next().map(|r| (r, 1)),
        }
    }
}

impl<R> Emit<R> {
    fn is_empty(&self) -> bool {
        match self {
            Emit::Diffs(diffs) => diffs.len() == 0,
            Emit::Adds(records) => records.len() == 0,
        }
    }
}

/// Records received for times not yet complete, each time with a capability.
pub type Stash<D> = BTreeMap<Time, (Capability<Time>, Vec<D>)>;

/// Moves a message's batches into `stash` under its time (room for
/// `reserve(time)` records when the time is new).
pub fn stash<'a, D: 'a>(
    stash: &mut Stash<D>,
    capability: Capability<Time>,
    batches: impl IntoIterator<Item = &'a mut Vec<D>>,
    reserve: impl FnOnce(Time) -> usize,
) {
    let time = *capability.time();
    let entry = stash
        .entry(time)
        .or_insert_with(|| (capability, Vec::with_capacity(reserve(time))));
    for batch in batches {
        entry.1.append(batch);
    }
}

/// The earliest stashed time of either input that both inputs' frontiers
/// have passed: the next time complete on both, in time order.
pub fn next_complete<A, B>(
    base: &Stash<A>,
    nightly: &Stash<B>,
    frontiers: [AntichainRef<'_, Time>; 2],
) -> Option<Time> {
    let time = base.keys().chain(nightly.keys()).min().copied()?;
    frontiers
        .iter()
        .all(|frontier| !frontier.less_equal(&time))
        .then_some(time)
}

/// Packs a change's position and operation.
pub fn op_seq(position: u64, remove: bool) -> u64 {
    position << 1 | u64::from(remove)
}

/// Records with a key, where an add may improve on the present record.
pub trait Keyed: ExchangeData + Copy {
    /// The key.
    type Key: Ord + Clone;
    /// The record's key.
    fn key(&self) -> &Self::Key;
    /// Whether this record, added, replaces `present` (an earlier day).
    fn improves(&self, present: &Self) -> bool;
    /// Sorts records in their order (`sort_unstable`, unless a record type
    /// knows a faster way to the same order).
    fn sort(records: &mut [Self]) {
        records.sort_unstable();
    }
}

/// The set-semantics operator: base records are adds (order-free), changes
/// apply in position order per key, later times after earlier ones. Emits
/// each difference to the current set once. With `keep_state`, the current
/// set is kept (sorted) for later changes; without, the base is emitted and
/// forgotten.
pub fn keyed_state<'s, R: Keyed>(
    records: StreamVec<'s, Time, R>,
    changes: StreamVec<'s, Time, Change<R>>,
    name: &str,
    keep_state: bool,
    (counters, state): (Counters, State<R>),
    expected: usize,
    route: impl Fn(&R) -> u64 + Clone + 'static,
) -> Coll<'s, R> {
    let route_change = route.clone();
    let scope = records.scope();
    records
        .binary_frontier(
            changes,
            Exchange::new(move |record: &R| route(record)),
            Exchange::new(move |(record, _): &Change<R>| route_change(record)),
            name,
            move |_capability, info| {
                let activator = scope.activator_for(info.address);
                let mut base: Stash<R> = BTreeMap::new();
                let mut nightly: Stash<Change<R>> = BTreeMap::new();
                let mut ready: Ready<R> = VecDeque::new();
                move |(input1, frontier1), (input2, frontier2), output| {
                    input1.for_each_stamp(|capability, data| {
                        if let Some(capability) = capability.retain_least(0) {
                            let reserve = |time| if time == 0 { expected } else { 0 };
                            stash(&mut base, capability, data, reserve);
                        }
                    });
                    input2.for_each_stamp(|capability, data| {
                        if let Some(capability) = capability.retain_least(0) {
                            stash(&mut nightly, capability, data, |_| 0);
                        }
                    });
                    while let Some(time) = next_complete(
                        &base,
                        &nightly,
                        [frontier1.frontier(), frontier2.frontier()],
                    ) {
                        let mut capability = None;
                        let mut diffs: Vec<(R, Diff)> = Vec::new();
                        let mut adds: Option<Vec<R>> = None;
                        if let Some((cap, records)) = base.remove(&time) {
                            capability = Some(cap);
                            // `diffs` is new for this time: all of it is the base's.
                            adds = apply_base(
                                records,
                                &mut state.borrow_mut().set,
                                keep_state,
                                &mut diffs,
                            );
                            let added = diffs.iter().filter(|(_, d)| *d > 0).count()
                                + adds.as_ref().map_or(0, Vec::len);
                            counters.borrow_mut().entry(time).or_default().applied_adds +=
                                added as u64;
                        }
                        if let Some(records) = adds.take() {
                            if let Some(capability) = &capability {
                                ready.push_back((
                                    capability.clone(),
                                    Emit::Adds(records.into_iter()),
                                ));
                            }
                        }
                        if let Some((cap, changes)) = nightly.remove(&time) {
                            capability.get_or_insert(cap);
                            let mut counts = ChangeCounts::default();
                            let from = diffs.len();
                            let mut held = state.borrow_mut();
                            apply_changes(changes, &mut held.set, &mut diffs, &mut counts);
                            if let Some(journal) = &mut held.journal {
                                journal.extend_from_slice(&diffs[from..]);
                            }
                            drop(held);
                            counters.borrow_mut().entry(time).or_default().add(&counts);
                        }
                        if let Some(capability) = capability {
                            ready.push_back((capability, Emit::Diffs(diffs.into_iter())));
                        }
                    }
                    // Emit a budget's worth, so downstream operators consume as
                    // we go instead of everything queueing at once.
                    let mut budget = EMIT_BUDGET;
                    while let Some((capability, diffs)) = ready.front_mut() {
                        let time = *capability.time();
                        let mut session = output.session(&*capability);
                        for (record, diff) in diffs.by_ref().take(budget) {
                            session.give((record, time, diff));
                            budget -= 1;
                        }
                        drop(session);
                        if diffs.is_empty() {
                            ready.pop_front();
                        }
                        if budget == 0 {
                            break;
                        }
                    }
                    if !ready.is_empty() {
                        activator.activate();
                    }
                }
            },
        )
        .as_collection()
}

/// Adds base records (order-free: a set union keeping the least record per
/// key). Returns the records instead of differences when every one is an
/// add and the set is not kept (a batch's base).
fn apply_base<R: Keyed>(
    mut records: Vec<R>,
    state: &mut Vec<R>,
    keep: bool,
    diffs: &mut Vec<(R, Diff)>,
) -> Option<Vec<R>> {
    R::sort(&mut records);
    records.dedup_by(|later, earlier| later.key() == earlier.key());
    if state.is_empty() {
        if !keep {
            return Some(records);
        }
        diffs.reserve(records.len());
        diffs.extend(records.iter().cloned().map(|r| (r, 1)));
        *state = records;
        return None;
    }
    let mut merged = Vec::with_capacity(state.len() + records.len());
    let mut present = std::mem::take(state).into_iter().peekable();
    for record in records {
        while present.peek().is_some_and(|p| p.key() < record.key()) {
            merged.push(present.next().expect("peeked"));
        }
        match present.peek() {
            Some(p) if p.key() == record.key() => {
                if record.improves(p) {
                    let old = present.next().expect("peeked");
                    diffs.push((old, -1));
                    diffs.push((record, 1));
                    merged.push(record);
                }
            }
            _ => {
                diffs.push((record, 1));
                merged.push(record);
            }
        }
    }
    merged.extend(present);
    if keep {
        *state = merged;
    }
    None
}

/// Applies one time's changes in position order per key.
fn apply_changes<R: Keyed>(
    mut changes: Vec<Change<R>>,
    state: &mut Vec<R>,
    diffs: &mut Vec<(R, Diff)>,
    counts: &mut ChangeCounts,
) {
    changes.sort_unstable_by(|(r1, s1), (r2, s2)| r1.key().cmp(r2.key()).then(s1.cmp(s2)));
    // (position in state or insertion point, the final record) per changed key.
    let mut edits: Vec<(usize, Option<R>, bool)> = Vec::new();
    let mut i = 0;
    let mut from = 0;
    while i < changes.len() {
        let key = changes[i].0.key().clone();
        let found = gallop(state, from, &key);
        from = match found {
            Ok(at) | Err(at) => at,
        };
        let before = found.ok().map(|at| state[at]);
        let mut current = before;
        while i < changes.len() && *changes[i].0.key() == key {
            let (record, seq) = &changes[i];
            if seq & 1 == 1 {
                if current.take().is_some() {
                    counts.applied_removes += 1;
                } else {
                    counts.noop_removes += 1;
                }
            } else {
                match &current {
                    Some(present) if !record.improves(present) => counts.noop_adds += 1,
                    _ => {
                        current = Some(*record);
                        counts.applied_adds += 1;
                    }
                }
            }
            i += 1;
        }
        if current != before {
            if let Some(old) = &before {
                diffs.push((*old, -1));
            }
            if let Some(new) = &current {
                diffs.push((*new, 1));
            }
            let at = match found {
                Ok(at) | Err(at) => at,
            };
            edits.push((at, current, found.is_ok()));
        }
    }
    apply_edits(state, edits);
}

/// Where `key` is in the sorted `state` (as `binary_search`), searched
/// forward from `from`, before which every key is smaller: the changed keys
/// come in order, so each search starts where the last ended and probes
/// memory near it (a binary search over tens of millions of records missed
/// the cache at each of its last dozen probes, for every changed key).
/// Measured on a 1M-user night (worker 0, 68k friendship changes over 22.5M
/// friendships): `SimpleGraph` 0.112 -> 0.083 s.
fn gallop<R: Keyed>(state: &[R], from: usize, key: &R::Key) -> Result<usize, usize> {
    let mut bound = 1;
    while from + bound < state.len() && state[from + bound].key() < key {
        bound *= 2;
    }
    let (low, high) = (from + bound / 2, (from + bound + 1).min(state.len()));
    match state[low..high].binary_search_by(|p| p.key().cmp(key)) {
        Ok(at) => Ok(low + at),
        Err(at) => Err(low + at),
    }
}

/// Applies `(position, new record, replaces)` edits (in position order) to
/// the sorted state in place: no second copy of the state, so a night that
/// changes a few keys of tens of millions moves memory but allocates none
/// (a fresh vector per night cost its page faults every night).
fn apply_edits<R: Copy>(state: &mut Vec<R>, edits: Vec<(usize, Option<R>, bool)>) {
    if edits.is_empty() {
        return;
    }
    // Replacements in place; removals compacted left to right.
    let mut inserts: Vec<(usize, R)> = Vec::new();
    let mut removed = 0;
    let mut write = edits[0].0;
    let mut read = write;
    for (at, record, replaces) in edits {
        if removed > 0 {
            state.copy_within(read..at, write);
        }
        write += at - read;
        read = at;
        match (record, replaces) {
            (Some(record), true) => {
                state[write] = record;
                write += 1;
                read += 1;
            }
            (None, true) => {
                removed += 1;
                read += 1;
            }
            // Its position in the compacted state: before `write`'s record.
            (Some(record), false) => inserts.push((write, record)),
            (None, false) => {}
        }
    }
    let len = state.len();
    if removed > 0 {
        state.copy_within(read..len, write);
        state.truncate(len - removed);
    }
    // Insertions right to left, each segment moved once.
    let Some(&(_, filler)) = inserts.first() else {
        return;
    };
    let old_len = state.len();
    state.resize(old_len + inserts.len(), filler);
    let mut end = old_len;
    for (k, (at, record)) in inserts.into_iter().enumerate().rev() {
        state.copy_within(at..end, at + k + 1);
        state[at + k] = record;
        end = at;
    }
}

/// Records emitted per activation.
const EMIT_BUDGET: usize = 1 << 18;

#[cfg(test)]
mod tests {
    use super::{apply_edits, gallop};

    #[test]
    fn gallop_finds_what_binary_search_finds_from_any_earlier_start() {
        for len in [0u32, 1, 2, 3, 7, 64, 200] {
            let state: Vec<(u32, u32)> = (0..len).map(|i| (i * 3, 0)).collect();
            for target in 0..len * 3 + 3 {
                let key = (target, 0);
                let expected = state.binary_search(&key);
                let (Ok(at) | Err(at)) = expected;
                for from in 0..=at {
                    assert_eq!(
                        gallop(&state, from, &key),
                        expected,
                        "{len} {target} {from}"
                    );
                }
            }
        }
    }

    /// The edits applied the obvious way: a new vector.
    fn rebuilt(state: &[u32], edits: &[(usize, Option<u32>, bool)]) -> Vec<u32> {
        let mut next = Vec::new();
        let mut old = state.iter().copied().enumerate().peekable();
        for &(at, record, replaces) in edits {
            while old.peek().is_some_and(|(j, _)| *j < at) {
                next.push(old.next().unwrap().1);
            }
            if replaces {
                old.next();
            }
            next.extend(record);
        }
        next.extend(old.map(|(_, r)| r));
        next
    }

    #[test]
    fn edits_in_place_equal_a_rebuild() {
        let mut seed = 7u64;
        let mut next = |n: u64| {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) % n
        };
        for _ in 0..2000 {
            // Even numbers present; edits replace, remove or insert (odd keys).
            let len = next(12) as usize;
            let state: Vec<u32> = (0..len as u32).map(|k| 2 * k).collect();
            let mut edits = Vec::new();
            for key in 0..(2 * len as u32 + 1) {
                if next(3) != 0 {
                    continue;
                }
                let at = (key as usize).div_ceil(2);
                if key % 2 == 0 && (key / 2) < len as u32 {
                    let record = (next(2) == 0).then_some(key);
                    edits.push((at, record, true));
                } else if key % 2 == 1 {
                    edits.push((at, Some(key), false));
                }
            }
            let expected = rebuilt(&state, &edits);
            let mut actual = state.clone();
            apply_edits(&mut actual, edits.clone());
            assert_eq!(actual, expected, "state {state:?}, edits {edits:?}");
        }
    }
}
