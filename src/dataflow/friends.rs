//! Friend counts and the degree distribution.
//!
//! `friend_count(u)` counts u's current friendships. Each worker first adds
//! up, per time, the endpoints of the friendships it holds (a local
//! pre-aggregation: one `(user, +n)` update per user instead of n updates),
//! and `count_total` then accumulates those per user across workers and
//! nights. At 1M users this puts about 2M updates through the counting
//! arrangement instead of the 90M directed friendships.
//!
//! The friendship graph arranged by user ([`by_user`]) is only built when
//! something reads it later: the topical paths that react to a night's
//! changed topic vectors look up the changed user's friends in it.

use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::{Capability, Operator};

use differential_dataflow::operators::arrange::{Arranged, TraceAgent};
use differential_dataflow::operators::CountTotal;
use differential_dataflow::trace::implementations::ValSpine;
use differential_dataflow::AsCollection;

use super::{Coll, Diff, Time, User};
use crate::hash::IdMap;
use crate::tables::DegreeRow;

/// The friendship graph arranged by user: `u -> v` for every friend `v` of `u`.
pub type FriendsByUser<'s> = Arranged<'s, TraceAgent<ValSpine<User, User, Time, Diff>>>;

/// Arranges the simple graph (each friendship once) in both directions, once,
/// for every later reader to share.
pub fn by_user(friendships: Coll<'_, (User, User)>) -> FriendsByUser<'_> {
    friendships
        .flat_map(|(a, b)| [(a, b), (b, a)])
        .arrange_by_key_named("FriendsByUser")
}

/// Users to values, hashed with [`crate::hash::mix`]: the local combine
/// sees every endpoint of every friendship, where SipHash's cost shows.
type UserMap<V> = IdMap<User, V>;

/// Adds up a worker's updates per (record, time) before they are exchanged:
/// a local combine that keeps the collection the same and makes it shorter.
fn combine_locally<'s>(endpoints: Coll<'s, User>) -> Coll<'s, User> {
    endpoints
        .inner
        .unary_frontier(Pipeline, "CombineLocally", |_, _| {
            let mut sums: Vec<(Capability<Time>, UserMap<Diff>)> = Vec::new();
            move |(input, frontier), output| {
                input.for_each_stamp(|capability, data| {
                    let Some(capability) = capability.retain_least(0) else {
                        return;
                    };
                    let time = *capability.time();
                    let slot = match sums.iter().position(|(c, _)| *c.time() == time) {
                        Some(slot) => slot,
                        None => {
                            sums.push((capability, UserMap::default()));
                            sums.len() - 1
                        }
                    };
                    let sum = &mut sums[slot].1;
                    for batch in data {
                        for (user, _, diff) in batch.drain(..) {
                            *sum.entry(user).or_insert(0) += diff;
                        }
                    }
                });
                sums.retain_mut(|(capability, sum)| {
                    if frontier.frontier().less_equal(capability.time()) {
                        return true;
                    }
                    let time = *capability.time();
                    let mut session = output.session(&*capability);
                    for (user, diff) in sum.drain() {
                        if diff != 0 {
                            session.give((user, time, diff));
                        }
                    }
                    false
                });
            }
        })
        .as_collection()
}

/// `friend_count(u) = |N(u)|` for every user with at least one friend.
pub fn friend_counts(friendships: Coll<'_, (User, User)>) -> Coll<'_, (User, u32)> {
    combine_locally(friendships.flat_map(|(a, b)| [a, b]))
        .count_total_core::<Diff>()
        .map(|(user, count)| (user, count as u32))
}

/// For each friend count `d >= 1`, the number of users with exactly `d` friends.
pub fn degree_distribution(counts: Coll<'_, (User, u32)>) -> Coll<'_, DegreeRow> {
    counts
        .map(|(_, count)| count)
        .count_total_core::<Diff>()
        .map(|(friend_count, users)| DegreeRow {
            friend_count,
            users: users as u64,
        })
}
