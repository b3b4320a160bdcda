//! Multiset semantics: records that may repeat (purchases: two identical
//! lines are two purchases), base records and nightly changes alike,
//! emitted as differences.
//!
//! Contract, per time in order: every base record adds one copy; changes
//! apply in position order (the same packing as [`super::set`]: `position
//! << 1 | is_remove`): `+` adds one copy, `-` removes one copy if there is
//! one and is a no-op otherwise. The output is the multiset's difference
//! over the time. Records are sent to the worker `route` names, which holds
//! their counts (when `keep_state`; a batch forgets them after the base).

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::hash::Hash;
use std::rc::Rc;

use timely::dataflow::channels::pact::Exchange;
use timely::dataflow::operators::Operator;
use timely::dataflow::StreamVec;

use differential_dataflow::consolidation::consolidate;
use differential_dataflow::{AsCollection, ExchangeData};

use super::set::{next_complete, stash, Change, ChangeCounts, Counters, Stash};
use crate::dataflow::{Coll, Diff, Time};

/// The copies of each record held at a worker, shared with the worker so
/// that it can checkpoint between epochs.
pub type Counts<R> = Rc<RefCell<HashMap<R, u32>>>;

/// The multiset operator: see the module's contract.
pub fn multiset<'s, R>(
    records: StreamVec<'s, Time, R>,
    changes: StreamVec<'s, Time, Change<R>>,
    name: &str,
    keep_state: bool,
    (counters, counts): (Counters, Counts<R>),
    route: impl Fn(&R) -> u64 + Clone + 'static,
) -> Coll<'s, R>
where
    R: ExchangeData + Hash + Eq + Ord,
{
    let route_change = route.clone();
    records
        .binary_frontier(
            changes,
            Exchange::new(move |record: &R| route(record)),
            Exchange::new(move |(record, _): &Change<R>| route_change(record)),
            name,
            move |_capability, _info| {
                let mut base: Stash<R> = BTreeMap::new();
                let mut nightly: Stash<Change<R>> = BTreeMap::new();
                move |(input1, frontier1), (input2, frontier2), output| {
                    input1.for_each_stamp(|capability, data| {
                        if let Some(capability) = capability.retain_least(0) {
                            stash(&mut base, capability, data, |_| 0);
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
                        let mut held = counts.borrow_mut();
                        if let Some((cap, records)) = base.remove(&time) {
                            capability = Some(cap);
                            counters.borrow_mut().entry(time).or_default().applied_adds +=
                                records.len() as u64;
                            if keep_state {
                                for record in &records {
                                    *held.entry(record.clone()).or_insert(0) += 1;
                                }
                            }
                            diffs.extend(records.into_iter().map(|r| (r, 1)));
                        }
                        if let Some((cap, mut changes)) = nightly.remove(&time) {
                            capability.get_or_insert(cap);
                            changes.sort_by_key(|(_, seq)| *seq);
                            let mut tally = ChangeCounts::default();
                            for (record, seq) in changes {
                                let remove = seq & 1 == 1;
                                let count = held.entry(record.clone()).or_insert(0);
                                if !remove {
                                    *count += 1;
                                    tally.applied_adds += 1;
                                    diffs.push((record, 1));
                                } else if *count > 0 {
                                    *count -= 1;
                                    tally.applied_removes += 1;
                                    if *count == 0 {
                                        held.remove(&record);
                                    }
                                    diffs.push((record, -1));
                                } else {
                                    held.remove(&record);
                                    tally.noop_removes += 1;
                                }
                            }
                            counters.borrow_mut().entry(time).or_default().add(&tally);
                        }
                        drop(held);
                        consolidate(&mut diffs);
                        if let Some(capability) = capability {
                            let mut session = output.session(&capability);
                            for (record, diff) in diffs {
                                session.give((record, time, diff));
                            }
                        }
                    }
                }
            },
        )
        .as_collection()
}
