//! Friend counts and the degree distribution, read from the one arrangement
//! of the friendship graph by user.

use differential_dataflow::operators::arrange::{Arranged, TraceAgent};
use differential_dataflow::operators::CountTotal;
use differential_dataflow::trace::implementations::{ValBuilder, ValSpine};

use super::{Coll, Diff, Time, User};
use crate::tables::DegreeRow;

/// The friendship graph arranged by user: `u -> v` for every friend `v` of `u`.
pub type FriendsByUser<'s> = Arranged<'s, TraceAgent<ValSpine<User, User, Time, Diff>>>;

/// Arranges the simple graph (each friendship once) in both directions, once,
/// for every metric to share.
pub fn by_user(friendships: Coll<'_, (User, User)>) -> FriendsByUser<'_> {
    friendships
        .flat_map(|(a, b)| [(a, b), (b, a)])
        .arrange_by_key_named("FriendsByUser")
}

/// `friend_count(u) = |N(u)|` for every user with at least one friend.
pub fn friend_counts<'s>(by_user: &FriendsByUser<'s>) -> Coll<'s, (User, u32)> {
    by_user
        .clone()
        .reduce_abelian::<_, ValBuilder<_, _, _, _>, ValSpine<User, u32, Time, Diff>, _, _>(
            "FriendCount",
            |_user, friends, output| {
                let count: Diff = friends.iter().map(|(_, diff)| *diff).sum();
                if count > 0 {
                    output.push((count as u32, 1));
                }
            },
            |vec, key, upds| {
                vec.clear();
                vec.extend(upds.drain(..).map(|(v, t, r)| ((*key, v), t, r)));
            },
        )
        .as_collection(|user, count| (*user, *count))
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
