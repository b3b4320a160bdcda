//! A half join: updates on one side looked up in an arrangement of the other,
//! with nothing arranged on the streaming side.
//!
//! Each request `(key, payload)` at time `t` with diff `r1` meets every
//! value `v` of `key` in the arrangement whose accumulated diff `r2` over the
//! chosen times is non-zero: the times before `t` ([`Times::Before`]) or up to
//! and including `t` ([`Times::Through`]). It emits `logic(key, payload, v)`
//! at `t` with diff `r1 * r2`. Choosing `Before` for some inputs and
//! `Through` for others is how a delta query counts every combination of
//! simultaneous changes exactly once (see [`crate::dataflow::topical`]).
//!
//! Times are totally ordered (`u32`), so an output's time is the request's
//! time. The operator answers requests only once the arrangement is complete
//! through their time, answers them in runs sorted by key of at least [`GATHER`]
//! requests (or all of a time's), works through at most [`BUDGET`] matches
//! per activation (then reschedules itself, so a batch of millions of
//! requests streams downstream instead of piling up), and holds the
//! arrangement's compaction just below the oldest unanswered request.
//! A key's values and their multiplicities are read from the trace once per
//! run of requests for that key, then reused for each request of the run
//! (a user's friendships): at 1M users (batch, 2 workers, worker 0)
//! `FriendshipMeetsVectorA` 2.05 -> 1.04 s and `FriendshipMeetsVectorB`
//! 3.75 -> 2.90 s.
//!
//! This is the pattern of the `half_join` operator of differential's
//! `dogsdogsdogs` crate, re-derived for differential 0.26 and specialised to
//! totally ordered times.

use std::collections::BTreeMap;

use timely::dataflow::channels::pact::{Exchange, Pipeline};
use timely::dataflow::operators::{Capability, Operator};
use timely::progress::Antichain;

use differential_dataflow::trace::cursor::{cursor_list, Cursor};
use differential_dataflow::trace::TraceReader;
use differential_dataflow::{AsCollection, ExchangeData, Hashable};

pub use super::arranged::ByKey;
use crate::dataflow::{Coll, Diff, Time};

/// Matches per activation before the operator yields.
pub const BUDGET: usize = 1 << 16;

/// Requests gathered into one sorted run before it is answered, unless
/// every request of its time has arrived.
///
/// Requests arrive in chunks (an upstream lookup sends at most [`BUDGET`]
/// matches per activation) in no order. Answered chunk by chunk, a run of
/// 65k requests over 500k keys visits the arrangement's keys, and the
/// memory their values point to, far apart: a cache miss per request. A
/// run of 4M requests visits each key once for several requests. Measured
/// on the 1M-user base (2 workers, worker 0): `FriendshipMeetsVectorB`
/// 7.9-8.0 s -> 5.1-5.3 s, the batch 23.5 -> 20.0-21.6 s with its peak
/// unchanged; 1 << 24 was no faster and peaked 0.9 GB higher. The runs
/// are held while answered (32 bytes a request): `reach serve`'s base
/// load, which holds more state at that moment, peaks 3.9 -> 4.6 GB.
/// Nights, whose requests all fit in one run: the two delta-meets-vector
/// lookups 0.10 -> 0.07 s each.
pub const GATHER: usize = 1 << 22;

/// Which times of the arrangement a request at time `t` sees.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Times {
    /// Times strictly before `t`: the state before this round's changes.
    Before,
    /// Times up to and including `t`: the state after them.
    Through,
}

impl Times {
    fn admits(self, time: Time, request: Time) -> bool {
        match self {
            Times::Before => time < request,
            Times::Through => time <= request,
        }
    }
}

/// Looks each request up in `arrangement` (see the module docs); `logic`
/// pushes the outputs of one match into the buffer it is given.
pub fn lookup<'s, K, V, P, D, L>(
    name: &str,
    requests: Coll<'s, (K, P)>,
    arrangement: &ByKey<'s, K, V>,
    times: Times,
    logic: L,
) -> Coll<'s, D>
where
    K: ExchangeData + Hashable<Output = u64>,
    V: ExchangeData,
    P: ExchangeData,
    D: ExchangeData,
    L: FnMut(&K, &P, &V, &mut Vec<D>) + 'static,
{
    lookup_touching(name, requests, arrangement, times, |_| {}, logic)
}

/// How many requests ahead of the one answered [`lookup_touching`] touches.
pub const AHEAD: usize = 16;

/// [`lookup`], calling `touch` on each request's payload [`AHEAD`]
/// requests before it is answered: to prefetch memory the payload points
/// to, which a sorted run reads in no order. `touch` must not change what
/// the request means (it sees the payload by reference only).
///
/// Measured with the topical half join, whose payload is the lower end's
/// adoption vector (one heap allocation per user, a cache miss per
/// request): at 1M users (batch, 2 workers, worker 0)
/// `FriendshipMeetsVectorB` 6.8-7.8 -> 5.2 s, the batch 22.7-25.6 ->
/// 21.2-21.3 s in alternating runs.
pub fn lookup_touching<'s, K, V, P, D, T, L>(
    name: &str,
    requests: Coll<'s, (K, P)>,
    arrangement: &ByKey<'s, K, V>,
    times: Times,
    touch: T,
    mut logic: L,
) -> Coll<'s, D>
where
    T: Fn(&P) + 'static,
    K: ExchangeData + Hashable<Output = u64>,
    V: ExchangeData,
    P: ExchangeData,
    D: ExchangeData,
    L: FnMut(&K, &P, &V, &mut Vec<D>) + 'static,
{
    let mut trace = Some(arrangement.trace.clone());
    let scope = requests.scope();
    let route = Exchange::new(|((key, _), _, _): &((K, P), Time, Diff)| key.hashed());
    requests
        .inner
        .binary_frontier(
            arrangement.stream.clone(),
            route,
            Pipeline,
            name,
            move |_capability, info| {
                let activator = scope.activator_for(info.address);
                // Unanswered requests by time, each with a capability for its time.
                let mut stash: BTreeMap<Time, Pending<K, P>> = BTreeMap::new();
                // What `logic` found for one match (reused, never reallocated).
                let mut found: Vec<D> = Vec::new();
                move |(requests, requests_frontier), (batches, arranged_frontier), output| {
                    requests.for_each_stamp(|capability, data| {
                        let Some(capability) = capability.retain_least(0) else {
                            return;
                        };
                        let entry = stash.entry(*capability.time()).or_insert_with(|| Pending {
                            capability,
                            answering: Vec::new(),
                            incoming: Vec::new(),
                        });
                        for batch in data {
                            entry
                                .incoming
                                .extend(batch.drain(..).map(|(kp, _t, r)| (kp, r)));
                        }
                    });
                    // Batches are read through the trace; the stream only drives progress.
                    batches.for_each_stamp(|_, _| {});

                    let Some(trace_handle) = trace.as_mut() else {
                        return;
                    };
                    let upper = arranged_frontier.frontier().to_owned();
                    trace_handle.set_physical_compaction(upper.borrow());
                    let mut work = 0usize;
                    let mut yielded = false;
                    while let Some(mut entry) = stash.first_entry() {
                        let time = *entry.key();
                        if upper.less_equal(&time) {
                            break; // the arrangement is not complete through `time` yet
                        }
                        if work >= BUDGET {
                            yielded = true;
                            break;
                        }
                        let pending = entry.get_mut();
                        if times == Times::Before && time == Time::default() {
                            // Nothing is before the first time: no request can match.
                            entry.remove();
                            continue;
                        }
                        // Every batch this worker's trace holds, not just those
                        // through `upper`: `upper` is the least frontier of all
                        // workers' arrangements, and this worker's may be ahead
                        // of it with a batch that straddles it (a panic in
                        // `batches_through(upper)`). Later times are not
                        // admitted, and compaction is held below every
                        // unanswered request, so the extra batches change nothing.
                        let batches = trace_handle
                            .batches_through(Antichain::new().borrow())
                            .expect("every batch is readable");
                        let (mut cursor, storage) = cursor_list(batches);
                        if !cursor.key_valid(&storage) {
                            // An empty arrangement (a job without adoptions): no
                            // request can match, so none is sorted or sought.
                            pending.answering.clear();
                            pending.incoming.clear();
                            entry.remove();
                            continue;
                        }
                        if pending.answering.is_empty() {
                            let more_may_come = requests_frontier.frontier().less_equal(&time);
                            if more_may_come && pending.incoming.len() < GATHER {
                                // Too few yet for a run that sweeps the arrangement.
                                break;
                            }
                            // Take what arrived so far as one run sorted by key
                            // (so each request is sorted once), then reversed so
                            // that popping answers keys in ascending order (and
                            // drops each payload as it is answered). Sorted
                            // ascending, a run that arrives in key order (the
                            // friendships, from their set) is found sorted in
                            // one pass. Requests are not consolidated: a
                            // repeated request answers twice, the same sum, and
                            // sorting by key alone is half the time of sorting
                            // whole requests (4M topical requests: 0.46 -> 0.21
                            // s; at 1M users, `FriendshipMeetsVectorB` 5.1-5.6
                            // -> 3.9-4.1 s per worker).
                            std::mem::swap(&mut pending.answering, &mut pending.incoming);
                            pending
                                .answering
                                .sort_unstable_by(|((x, _), _), ((y, _), _)| x.cmp(y));
                            pending.answering.reverse();
                        }

                        let mut session = output.session(&pending.capability);
                        let mut last: Option<K> = None;
                        // The last key's values with their accumulated
                        // multiplicities at `time`: a run of requests for one
                        // key (a user's friendships) walks the trace once.
                        let mut matches: Vec<(&V, Diff)> = Vec::new();
                        while let Some(((key, payload), r1)) = pending.answering.pop() {
                            if let Some(ahead) = pending.answering.len().checked_sub(AHEAD) {
                                touch(&pending.answering[ahead].0 .1);
                            }
                            if last.as_ref() != Some(&key) {
                                // A run is sorted, and `last` starts afresh with
                                // each run: the cursor only moves forward.
                                debug_assert!(last.as_ref().is_none_or(|previous| *previous < key));
                                matches.clear();
                                cursor.seek_key(&storage, &key);
                                if cursor.get_key(&storage) == Some(&key) {
                                    while let Some(value) = cursor.get_val(&storage) {
                                        let mut r2: Diff = 0;
                                        cursor.map_times(&storage, |t, d| {
                                            if times.admits(*t, time) {
                                                r2 += *d;
                                            }
                                        });
                                        if r2 != 0 {
                                            matches.push((value, r2));
                                        }
                                        cursor.step_val(&storage);
                                    }
                                }
                            }
                            for &(value, r2) in &matches {
                                logic(&key, &payload, value, &mut found);
                                for out in found.drain(..) {
                                    session.give((out, time, r1 * r2));
                                    work += 1;
                                }
                            }
                            last = Some(key);
                            work += 1;
                            if work >= BUDGET {
                                break;
                            }
                        }
                        drop(session);
                        if pending.answering.is_empty() && pending.incoming.is_empty() {
                            entry.remove();
                        } else if !pending.answering.is_empty() || work >= BUDGET {
                            yielded = true;
                            break;
                        }
                    }
                    if yielded {
                        activator.activate();
                    }
                    // Hold compaction just below the oldest time we may still be asked about.
                    let mut hold = Antichain::new();
                    for time in requests_frontier.frontier().iter().chain(stash.keys()) {
                        hold.insert(time.saturating_sub(1));
                    }
                    if requests_frontier.is_empty() && stash.is_empty() {
                        trace = None;
                    } else {
                        trace_handle.set_logical_compaction(hold.borrow());
                    }
                }
            },
        )
        .as_collection()
}

/// Requests waiting at one time.
struct Pending<K, P> {
    capability: Capability<Time>,
    /// The run being answered: sorted by key, descending.
    answering: Vec<((K, P), Diff)>,
    /// Requests that arrived since the run was sorted.
    incoming: Vec<((K, P), Diff)>,
}
