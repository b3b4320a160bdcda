//! Input records become sets: the simple undirected friendship graph (each
//! friendship once, smaller id first) and the adoptions (each (user, topic)
//! once, at its earliest day), as differential collections.
//!
//! Both are the set-semantics operator ([`keyed_state`]) with this crate's
//! records: what a record's key is, when an add improves on the present
//! record (an earlier day), and which worker owns a key. An adoption's
//! owner is [`mix`] of its parts; a friendship's is the owner of its lower
//! end in every by-user arrangement (differential's `hashed` of the user),
//! so that the friendship set leaves the operator where the topical half
//! join first looks it up, already in that half join's order. (A
//! checkpoint is not tied to either: its records flow to their owners like
//! any input.)

use timely::dataflow::StreamVec;

use differential_dataflow::Hashable;

use super::operators::set::{keyed_state, Change, Counters, Keyed, State};
use super::{Coll, Day, Time, Topic, User};
use crate::hash::mix;

/// An adoption record: `((user, topic), day)`.
pub type AdoptionRecord = ((User, Topic), Day);

/// Collapses oriented friendship records `(min, max)` into the set of
/// friendships, and applies nightly changes to it.
///
/// A friendship `(a, b)` belongs to the worker of `a` (see the module docs):
/// the set comes out sorted, so at that worker the base's friendships meet
/// `a`'s adoptions in order and with no exchange. Measured at 1M users
/// (batch, 2 workers, worker 0): `FriendshipMeetsVectorA` 2.5-2.7 ->
/// 2.1-2.3 s (its requests found sorted in one pass), and 11.2M
/// friendships no longer cross workers on their way to it.
///
/// `expected` is an estimate of the base records this worker will receive:
/// reserving it up front spares the stash its doubling copies (an
/// overestimate costs only address space, never touched).
pub fn simple_graph<'s>(
    records: StreamVec<'s, Time, (User, User)>,
    changes: StreamVec<'s, Time, Change<(User, User)>>,
    keep_state: bool,
    (counters, state): (Counters, State<(User, User)>),
    expected: usize,
) -> Coll<'s, (User, User)> {
    keyed_state(
        records,
        changes,
        "SimpleGraph",
        keep_state,
        (counters, state),
        expected,
        |(a, _): &(User, User)| a.hashed(),
    )
}

/// Collapses adoption observations `((user, topic), day)` into one adoption
/// per (user, topic) at the earliest day, and applies nightly changes.
pub fn adoptions<'s>(
    records: StreamVec<'s, Time, ((User, Topic), Day)>,
    changes: StreamVec<'s, Time, Change<AdoptionRecord>>,
    keep_state: bool,
    (counters, state): (Counters, State<AdoptionRecord>),
) -> Coll<'s, ((User, Topic), Day)> {
    keyed_state(
        records,
        changes,
        "Adoptions",
        keep_state,
        (counters, state),
        0,
        |((user, topic), _): &AdoptionRecord| mix(u64::from(*user) ^ mix(u64::from(*topic))),
    )
}

impl Keyed for (User, User) {
    type Key = (User, User);
    fn key(&self) -> &Self::Key {
        self
    }
    fn improves(&self, _present: &Self) -> bool {
        false
    }
    /// A radix sort on the pair as one `u64` (the same order): 22.5M
    /// friendships, 0.63 -> 0.37 s (`cargo bench --bench sort_friendships`).
    fn sort(records: &mut [Self]) {
        radsort::sort_by_key(records, |&(a, b)| u64::from(a) << 32 | u64::from(b));
    }
}

impl Keyed for ((User, Topic), Day) {
    type Key = (User, Topic);
    fn key(&self) -> &Self::Key {
        &self.0
    }
    fn improves(&self, present: &Self) -> bool {
        self.1 < present.1
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::SplitMix64;

    /// The friendships' radix sort gives `sort_unstable`'s order, over the
    /// whole range of ids (both halves of the key, their top bits too).
    #[test]
    fn friendships_sort_as_sort_unstable() {
        let mut random = SplitMix64(11);
        for n in [0, 1, 2, 300, 5_000] {
            let records: Vec<(User, User)> = (0..n)
                .map(|_| {
                    let draw = |r: &mut SplitMix64| match r.below(3) {
                        0 => r.below(8) as User,
                        1 => User::MAX - r.below(8) as User,
                        _ => r.next_u64() as User,
                    };
                    (draw(&mut random), draw(&mut random))
                })
                .collect();
            let (mut radix, mut want) = (records.clone(), records);
            <(User, User) as Keyed>::sort(&mut radix);
            want.sort_unstable();
            assert_eq!(radix, want, "{n} records");
        }
    }
}
