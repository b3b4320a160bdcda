//! Input records become sets: the simple undirected friendship graph (each
//! friendship once, smaller id first) and the adoptions (each (user, topic)
//! once, at its earliest day), as differential collections.
//!
//! Both are the set-semantics operator ([`keyed_state`]) with this crate's
//! records: what a record's key is, when an add improves on the present
//! record (an earlier day), and which worker owns a key ([`mix`] of its
//! parts, stable across runs so checkpoints stay where they were).

use timely::dataflow::StreamVec;

use super::operators::set::{keyed_state, Change, Counters, Keyed, State};
use super::{Coll, Day, Time, Topic, User};
use crate::hash::mix;

/// An adoption record: `((user, topic), day)`.
pub type AdoptionRecord = ((User, Topic), Day);

/// Collapses oriented friendship records `(min, max)` into the set of
/// friendships, and applies nightly changes to it.
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
        |&(a, b)| mix(u64::from(a) ^ mix(u64::from(b))),
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
