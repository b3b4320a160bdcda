//! Topic leaders: per topic, the users with credit > 0 ordered by credit
//! desc, then persuaded desc, then user id asc; the first K, ranked 1..K.
//!
//! A popular topic can have a million candidates, and a reduction keyed by
//! topic alone would put them all on one worker and re-sort them whenever
//! one changes. So the top K is taken twice: first per (topic, bucket of
//! users), spread over workers, then per topic over at most
//! `BUCKETS * K` survivors.

use std::cmp::Ordering;

use serde::{Deserialize, Serialize};

use super::operators::current::reduce_current;
use super::topical::UserTopic;
use super::{Coll, Topic, User};
use crate::hash::mix;
use crate::tables::Decimal;

/// User buckets per topic in the first round.
pub const BUCKETS: u64 = 16;

/// A candidate, ordered best first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Candidate {
    /// credit(u,t).
    pub credit: Decimal,
    /// persuaded(u,t).
    pub persuaded: u32,
    /// The user.
    pub user: User,
    /// reach(u,t).
    pub reach: u32,
}

impl Ord for Candidate {
    fn cmp(&self, other: &Self) -> Ordering {
        other
            .credit
            .cmp(&self.credit)
            .then(other.persuaded.cmp(&self.persuaded))
            .then(self.user.cmp(&other.user))
            .then(self.reach.cmp(&other.reach))
    }
}

impl PartialOrd for Candidate {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// A leader: `rank` (1-based) in `topic`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Leader {
    /// The topic.
    pub topic: Topic,
    /// 1..=K.
    pub rank: u32,
    /// Who, with their numbers.
    pub candidate: Candidate,
}

/// The top `k` users per topic by credit.
pub fn leaders<'s>(user_topics: Coll<'s, UserTopic>, k: u32) -> Coll<'s, Leader> {
    let k = k as usize;
    let per_bucket = reduce_current(
        user_topics.filter(|row| row.credit.0 > 0.0).map(|row| {
            let bucket = mix(row.user) % BUCKETS;
            (
                (row.topic, bucket),
                Candidate {
                    credit: row.credit,
                    persuaded: row.persuaded,
                    user: row.user,
                    reach: row.reach,
                },
            )
        }),
        "LeadersPerBucket",
        |&(topic, bucket)| mix(u64::from(topic) ^ mix(bucket)),
        move |&(topic, _bucket), candidates, output| {
            // Values arrive sorted, best first.
            for (candidate, _) in candidates.iter().take(k) {
                output.push((topic, candidate.clone()));
            }
        },
    );
    reduce_current(
        per_bucket,
        "Leaders",
        |&topic| mix(u64::from(topic)),
        move |&topic, candidates, output| {
            for (rank, (candidate, _)) in candidates.iter().take(k).enumerate() {
                output.push(Leader {
                    topic,
                    rank: (rank + 1) as u32,
                    candidate: candidate.clone(),
                });
            }
        },
    )
}
