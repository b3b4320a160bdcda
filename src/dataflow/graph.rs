//! Input records become sets: the simple undirected friendship graph (each
//! friendship once, smaller id first) and the adoptions (each (user, topic)
//! once, at its earliest day), as differential collections.
//!
//! Readers send records to the worker that owns their key; that worker
//! collapses what it received for a time by sorting (not hashing) and emits
//! each new key once with diff `+1`. This costs one sort instead of a
//! `distinct`/`reduce` arrangement, which for tens of millions of
//! friendships halves the memory.

use std::collections::VecDeque;
use timely::dataflow::channels::pact::Exchange;

use timely::dataflow::operators::{Capability, Operator};
use timely::dataflow::StreamVec;

use differential_dataflow::{AsCollection, ExchangeData};

use super::{Coll, Day, Diff, Time, Topic, User};

/// Mixes the bits of a 64-bit value (SplitMix64's finaliser): used to route
/// keys to workers and rows to part files, stable across versions and runs.
pub fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// Collapses oriented friendship records `(min, max)` into the set of friendships.
pub fn simple_graph<'s>(records: StreamVec<'s, Time, (User, User)>) -> Coll<'s, (User, User)> {
    earliest_per_key(records, "SimpleGraph", |&(a, b)| mix(a ^ mix(b)))
}

/// Collapses adoption observations `((user, topic), day)` into one adoption
/// per (user, topic) at the earliest day.
pub fn adoptions<'s>(
    records: StreamVec<'s, Time, ((User, Topic), Day)>,
) -> Coll<'s, ((User, Topic), Day)> {
    earliest_per_key(records, "Adoptions", |((user, topic), _)| {
        mix(*user ^ mix(u64::from(*topic)))
    })
}

/// Keeps, per key, the least record (records are compared whole, so a
/// `(key, day)` pair keeps its earliest day; a key alone is deduplicated).
fn earliest_per_key<'s, R>(
    records: StreamVec<'s, Time, R>,
    name: &str,
    route: impl Fn(&R) -> u64 + 'static,
) -> Coll<'s, R>
where
    R: ExchangeData + KeyOf,
{
    let route = Exchange::new(move |record: &R| route(record));
    let scope = records.scope();
    records
        .unary_frontier(route, name, move |_capability, info| {
            let activator = scope.activator_for(info.address);
            // Records received, by time, until the input frontier passes it.
            let mut stash: Vec<(Time, Capability<Time>, Vec<R>)> = Vec::new();
            // Collapsed records being emitted, a budget at a time (oldest first).
            let mut ready: VecDeque<(Capability<Time>, std::vec::IntoIter<R>)> = VecDeque::new();
            move |(input, frontier), output| {
                input.for_each_stamp(|capability, data| {
                    let Some(capability) = capability.retain_least(0) else {
                        return;
                    };
                    let time = *capability.time();
                    let slot = match stash.iter().position(|(t, _, _)| *t == time) {
                        Some(slot) => slot,
                        None => {
                            stash.push((time, capability, Vec::new()));
                            stash.len() - 1
                        }
                    };
                    for batch in data {
                        stash[slot].2.append(batch);
                    }
                });
                stash.sort_by_key(|(t, _, _)| *t);
                while let Some((time, _, _)) = stash.first() {
                    if frontier.frontier().less_equal(time) {
                        break;
                    }
                    let (_, capability, mut records) = stash.remove(0);
                    records.sort_unstable();
                    records.dedup_by(|later, earlier| later.key_eq(earlier));
                    records.shrink_to_fit();
                    ready.push_back((capability, records.into_iter()));
                }
                // Emit a budget's worth, so downstream operators consume as we go
                // instead of everything queueing at once.
                let mut budget = EMIT_BUDGET;
                while let Some((capability, records)) = ready.front_mut() {
                    let time = *capability.time();
                    let mut session = output.session(&*capability);
                    for record in records.by_ref().take(budget) {
                        session.give((record, time, 1 as Diff));
                        budget -= 1;
                    }
                    drop(session);
                    if records.len() == 0 {
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
        })
        .as_collection()
}

/// Records emitted per activation.
const EMIT_BUDGET: usize = 1 << 18;

/// Records whose key is a prefix of the record.
trait KeyOf {
    /// Whether two records have the same key.
    fn key_eq(&self, other: &Self) -> bool;
}

impl KeyOf for (User, User) {
    fn key_eq(&self, other: &Self) -> bool {
        self == other
    }
}

impl KeyOf for ((User, Topic), Day) {
    fn key_eq(&self, other: &Self) -> bool {
        self.0 == other.0
    }
}
