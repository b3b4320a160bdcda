//! Topic leaders: per topic, the users with credit > 0 ordered by credit
//! desc, then persuaded desc, then user id asc; the first K, ranked 1..K.
//!
//! A popular topic can have a million candidates, and a reduction keyed by
//! topic alone would put them all on one worker and re-sort them whenever
//! one changes. So the top K is taken twice: first per (topic, bucket of
//! users), spread over workers, then per topic over at most
//! `BUCKETS * K` survivors.

use std::cell::RefCell;
use std::cmp::Ordering;
use std::rc::Rc;

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

/// With text user ids, this worker's part of their dictionary: the
/// leaders' first round runs where the candidates' texts are.
pub type Texts = Rc<RefCell<crate::ids::Dictionary>>;

/// Whether two candidates tie on what comes before the user id.
fn tied(a: &Candidate, b: &Candidate) -> bool {
    a.credit == b.credit && a.persuaded == b.persuaded
}

/// The first `k` of `candidates` (in candidate order) with ties on credit
/// and persuaded ordered by their texts' bytes instead of their ids.
fn first_k_by_text(
    candidates: &[(Candidate, String)],
    k: usize,
    out: &mut Vec<(Candidate, String)>,
) {
    let mut at = 0;
    while at < candidates.len() && out.len() < k {
        let end = at
            + candidates[at..]
                .iter()
                .take_while(|(c, _)| tied(c, &candidates[at].0))
                .count();
        let mut group: Vec<&(Candidate, String)> = candidates[at..end].iter().collect();
        let need = k - out.len();
        if group.len() > need {
            group.select_nth_unstable_by(need - 1, |a, b| a.1.cmp(&b.1));
            group.truncate(need);
        }
        group.sort_by(|a, b| a.1.cmp(&b.1));
        out.extend(group.into_iter().cloned());
        at = end;
    }
}

/// The top `k` users per topic by credit. With `texts`, ties on credit and
/// persuaded are ordered by the users' texts (byte order): the first round
/// is keyed by the owner of the user's text, so that it finds the texts in
/// its own part of the dictionary, and hands them on to the second.
pub fn leaders<'s>(
    user_topics: Coll<'s, UserTopic>,
    k: u32,
    texts: Option<Texts>,
) -> Coll<'s, Leader> {
    let k = k as usize;
    let peers = user_topics.inner.scope().peers();
    let text_ids = texts.is_some();
    let per_bucket = reduce_current(
        user_topics
            .filter(|row| row.credit.0 > 0.0)
            .map(move |row| {
                let bucket = match text_ids {
                    false => mix(row.user) % BUCKETS,
                    true => crate::ids::owner(crate::ids::bucket_of_id(row.user), peers) as u64,
                };
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
        move |&(topic, bucket)| match text_ids {
            false => mix(u64::from(topic) ^ mix(bucket)),
            // The bucket is the owning worker.
            true => bucket,
        },
        move |&(topic, _bucket), candidates, output| match &texts {
            // Values arrive sorted, best first.
            None => {
                for (candidate, _) in candidates.iter().take(k) {
                    output.push((topic, (candidate.clone(), String::new())));
                }
            }
            Some(texts) => {
                let texts = texts.borrow();
                let named: Vec<(Candidate, String)> = candidates
                    .iter()
                    .map(|(c, _)| {
                        let text = texts.text(c.user).expect("a candidate's text at its owner");
                        (c.clone(), text.to_string())
                    })
                    .collect();
                let mut first = Vec::with_capacity(k);
                first_k_by_text(&named, k, &mut first);
                output.extend(first.into_iter().map(|named| (topic, named)));
            }
        },
    );
    reduce_current(
        per_bucket,
        "Leaders",
        |&topic| mix(u64::from(topic)),
        move |&topic, candidates, output| {
            let mut push = |rank: usize, candidate: &Candidate| {
                output.push(Leader {
                    topic,
                    rank: (rank + 1) as u32,
                    candidate: candidate.clone(),
                })
            };
            if text_ids {
                let named: Vec<(Candidate, String)> =
                    candidates.iter().map(|(c, _)| c.clone()).collect();
                let mut first = Vec::with_capacity(k);
                first_k_by_text(&named, k, &mut first);
                for (rank, (candidate, _)) in first.iter().enumerate() {
                    push(rank, candidate);
                }
            } else {
                for (rank, ((candidate, _), _)) in candidates.iter().take(k).enumerate() {
                    push(rank, candidate);
                }
            }
        },
    )
}
