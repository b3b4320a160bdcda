//! Each key's value seen with a small global collection: `logic(key, value,
//! globals)` for every key, kept current as either side changes.
//!
//! The global collection (the RFM cut points: a few records) is broadcast
//! to every worker; the keyed values stay where `route` sends them. When a
//! time changes the globals, every key held here is computed again (the
//! outputs before and after are compared, so only changed outputs are
//! emitted); when it does not, only the keys whose value changed are. That
//! is the cost a night should have: a purchase re-scores its customer, and
//! only a move of the cut points re-scores everybody.
//!
//! Contract: each key holds at most one value at a time (a function from
//! keys to values); `logic` sees the globals sorted, each once (the global
//! collection is a set). Times are this crate's epochs: totally ordered,
//! each complete before the next.

use std::collections::{BTreeMap, HashMap};
use std::hash::Hash;

use timely::dataflow::channels::pact::{Exchange, Pipeline};
use timely::dataflow::operators::vec::Broadcast;
use timely::dataflow::operators::{Capability, Operator};

use differential_dataflow::consolidation::consolidate;
use differential_dataflow::{AsCollection, ExchangeData};

use super::current::{emit_difference, merge, stash, Pending, Values};
use crate::dataflow::{Coll, Diff, Time};

/// `logic(key, value, globals)` for every `(key, value)`, as a collection
/// that changes when the value or the globals do.
pub fn with_global<'s, K, V, G, O>(
    items: Coll<'s, (K, V)>,
    globals: Coll<'s, G>,
    name: &str,
    route: impl Fn(&K) -> u64 + 'static,
    mut logic: impl FnMut(&K, &V, &[G]) -> Option<O> + 'static,
) -> Coll<'s, O>
where
    K: ExchangeData + Hash + Eq + Ord,
    V: ExchangeData + Ord,
    G: ExchangeData + Ord,
    O: ExchangeData + Ord,
{
    let globals = globals.inner.broadcast();
    items
        .inner
        .binary_frontier(
            globals,
            Exchange::new(move |((key, _), _, _): &((K, V), Time, Diff)| route(key)),
            Pipeline,
            name,
            |_capability, _info| {
                let mut pending: Pending<K, V> = BTreeMap::new();
                let mut pending_globals: Pending<(), G> = BTreeMap::new();
                let mut state: HashMap<K, V> = HashMap::new();
                let mut current: Values<G> = Values::new();
                let mut merged: Values<G> = Values::new();
                move |(input1, frontier1), (input2, frontier2), output| {
                    input1.for_each_stamp(|capability, data| {
                        for batch in data {
                            stash(&mut pending, &capability, batch);
                        }
                    });
                    input2.for_each_stamp(|capability, data| {
                        for batch in data {
                            let mut keyed: Vec<(((), G), Time, Diff)> =
                                batch.drain(..).map(|(g, t, d)| (((), g), t, d)).collect();
                            stash(&mut pending_globals, &capability, &mut keyed);
                        }
                    });
                    loop {
                        let next = match (pending.keys().next(), pending_globals.keys().next()) {
                            (None, None) => break,
                            (Some(a), Some(b)) => *a.min(b),
                            (Some(a), None) | (None, Some(a)) => *a,
                        };
                        let complete = !frontier1.frontier().less_equal(&next)
                            && !frontier2.frontier().less_equal(&next);
                        if !complete {
                            break;
                        }
                        let items = pending.remove(&next);
                        let globals = pending_globals.remove(&next);
                        let capability: Capability<Time> = match (&items, &globals) {
                            (Some((c, _)), _) | (None, Some((c, _))) => c.clone(),
                            (None, None) => unreachable!("a pending time"),
                        };
                        let mut updates = items.map(|(_, u)| u).unwrap_or_default();
                        consolidate(&mut updates);
                        // The values before this time of the keys it changes.
                        let mut before: BTreeMap<K, Option<V>> = BTreeMap::new();
                        for ((key, _), _) in &updates {
                            before
                                .entry(key.clone())
                                .or_insert_with(|| state.get(key).cloned());
                        }
                        for ((key, value), diff) in updates {
                            match diff {
                                1 => {
                                    state.insert(key, value);
                                }
                                -1 => {
                                    if state.get(&key) == Some(&value) {
                                        state.remove(&key);
                                    }
                                }
                                _ => panic!("with_global: a key with {diff} copies of a value"),
                            }
                        }
                        let old_globals: Vec<G> = current.iter().map(|(g, _)| g.clone()).collect();
                        if let Some((_, mut changes)) = globals {
                            consolidate(&mut changes);
                            let changes = changes.into_iter().map(|(((), g), d)| (g, d));
                            merge(
                                &current,
                                changes.collect::<Vec<_>>().into_iter(),
                                &mut merged,
                            );
                            std::mem::swap(&mut current, &mut merged);
                        }
                        let new_globals: Vec<G> = current.iter().map(|(g, _)| g.clone()).collect();
                        let time = *capability.time();
                        let mut session = output.session(&capability);
                        let mut emit = |key: &K, old: Option<&V>, new: Option<&V>| {
                            let mut olds: Vec<O> = old
                                .and_then(|v| logic(key, v, &old_globals))
                                .into_iter()
                                .collect();
                            let mut news: Vec<O> = new
                                .and_then(|v| logic(key, v, &new_globals))
                                .into_iter()
                                .collect();
                            olds.sort_unstable();
                            news.sort_unstable();
                            emit_difference(&olds, &news, |row, diff| {
                                session.give((row, time, diff))
                            });
                        };
                        if old_globals != new_globals {
                            for (key, value) in &state {
                                match before.get(key) {
                                    Some(old) => emit(key, old.as_ref(), Some(value)),
                                    None => emit(key, Some(value), Some(value)),
                                }
                            }
                            for (key, old) in &before {
                                if !state.contains_key(key) {
                                    emit(key, old.as_ref(), None);
                                }
                            }
                        } else {
                            for (key, old) in &before {
                                emit(key, old.as_ref(), state.get(key));
                            }
                        }
                    }
                }
            },
        )
        .as_collection()
}
