//! The simple undirected graph: friendship records in, each friendship once
//! out (smaller id first), as a differential collection.
//!
//! Readers send every non-loop record oriented `(min, max)`. The records are
//! exchanged by friendship so that each worker owns a share of the
//! friendships, then collapsed by sorting (not hashing): a worker sorts what
//! it received for a time, drops repeats and emits each new friendship once
//! with diff `+1`. This costs one sort instead of a `distinct` arrangement,
//! which for tens of millions of friendships halves the memory.

use timely::dataflow::channels::pact::Exchange;
use timely::dataflow::operators::Operator;
use timely::dataflow::StreamVec;

use differential_dataflow::AsCollection;

use super::{Coll, Diff, Time, User};

/// Mixes the bits of a 64-bit value (SplitMix64's finaliser): used to route
/// keys to workers and rows to part files, stable across versions and runs.
pub fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// Collapses oriented friendship records into the set of friendships.
pub fn simple_graph<'s>(records: StreamVec<'s, Time, (User, User)>) -> Coll<'s, (User, User)> {
    let route = Exchange::new(|&(a, b): &(User, User)| mix(a ^ mix(b)));
    records
        .unary_frontier(route, "SimpleGraph", |_capability, _info| {
            let mut stash = Vec::new();
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
                    let (time, capability, mut edges) = stash.remove(0);
                    edges.sort_unstable();
                    edges.dedup();
                    let mut session = output.session(&capability);
                    for edge in edges {
                        session.give((edge, time, 1 as Diff));
                    }
                }
            }
        })
        .as_collection()
}
