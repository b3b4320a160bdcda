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

use differential_dataflow::operators::CountTotal;

use super::operators::arranged::{arrange_by_key, ByKey};
use super::operators::combine::combine_locally;
use super::{Coll, Diff, User};
use crate::tables::DegreeRow;

/// The friendship graph arranged by user: `u -> v` for every friend `v` of `u`.
pub type FriendsByUser<'s> = ByKey<'s, User, User>;

/// Arranges the simple graph (each friendship once) in both directions, once,
/// for every later reader to share.
pub fn by_user(friendships: Coll<'_, (User, User)>) -> FriendsByUser<'_> {
    arrange_by_key(
        friendships.flat_map(|(a, b)| [(a, b), (b, a)]),
        "FriendsByUser",
    )
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
