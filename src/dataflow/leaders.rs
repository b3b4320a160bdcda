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
use crate::ids::{self, IdMode};
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

/// This worker's part of the user ids' dictionary: the leaders' first round
/// finds there the texts of the candidates whose ids it holds.
pub type Texts = Rc<RefCell<crate::ids::Dictionary>>;

/// What orders candidates tied on credit and persuaded: the user id as read
/// (integer ids) or its text's bytes (text ids).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum TieKey {
    /// An integer id as read.
    Id(u64),
    /// A text id.
    Text(String),
}

/// Whether two candidates tie on what comes before the user id.
fn tied(a: &Candidate, b: &Candidate) -> bool {
    a.credit == b.credit && a.persuaded == b.persuaded
}

/// The first `k` of `candidates` (in candidate order) with ties on credit
/// and persuaded ordered by their [`TieKey`]s instead of their internal ids.
fn first_k_by_key(
    candidates: &[(Candidate, TieKey)],
    k: usize,
    out: &mut Vec<(Candidate, TieKey)>,
) {
    let mut at = 0;
    while at < candidates.len() && out.len() < k {
        let end = at
            + candidates[at..]
                .iter()
                .take_while(|(c, _)| tied(c, &candidates[at].0))
                .count();
        let mut group: Vec<&(Candidate, TieKey)> = candidates[at..end].iter().collect();
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

/// The first round's bucket of a candidate: integer ids used as they are,
/// a hash bucket of 0..[`BUCKETS`] (ties between them are in id order
/// already); an id of the dictionary, `BUCKETS` + the worker that holds its
/// text (text ids: that worker alone).
fn bucket(user: User, mode: IdMode, peers: usize) -> u64 {
    let owner = |id| ids::owner(ids::bucket_of_id(id), peers) as u64;
    match (mode, ids::dictionary_id(user, mode)) {
        (IdMode::Integer, None) => mix(u64::from(user)) % BUCKETS,
        (IdMode::Integer, Some(id)) => BUCKETS + owner(id),
        (IdMode::Text, Some(id)) => owner(id),
        (IdMode::Text, None) => unreachable!("every text id is in the dictionary"),
    }
}

/// The top `k` users per topic by credit. Ties on credit and persuaded are
/// ordered by [`TieKey`]: the first round of a candidate whose id is in the
/// dictionary is keyed by the worker holding its text, so that it finds the
/// text in its own part of the dictionary, and hands it on to the second.
pub fn leaders<'s>(
    user_topics: Coll<'s, UserTopic>,
    k: u32,
    (mode, texts): (IdMode, Texts),
) -> Coll<'s, Leader> {
    let k = k as usize;
    let peers = user_topics.inner.scope().peers();
    let per_bucket = reduce_current(
        user_topics
            .filter(|row| row.credit.0 > 0.0)
            .map(move |row| {
                (
                    (row.topic, bucket(row.user, mode, peers)),
                    Candidate {
                        credit: row.credit,
                        persuaded: row.persuaded,
                        user: row.user,
                        reach: row.reach,
                    },
                )
            }),
        "LeadersPerBucket",
        move |&(topic, bucket)| match (mode, bucket) {
            (IdMode::Integer, b) if b < BUCKETS => mix(u64::from(topic) ^ mix(b)),
            (IdMode::Integer, b) => b - BUCKETS,
            // The bucket is the owning worker.
            (IdMode::Text, b) => b,
        },
        move |&(topic, bucket), candidates, output| {
            // Values arrive sorted, best first.
            if mode == IdMode::Integer && bucket < BUCKETS {
                for (candidate, _) in candidates.iter().take(k) {
                    let key = TieKey::Id(u64::from(candidate.user));
                    output.push((topic, (candidate.clone(), key)));
                }
                return;
            }
            let texts = texts.borrow();
            let keyed: Vec<(Candidate, TieKey)> = candidates
                .iter()
                .map(|(c, _)| {
                    let id = ids::dictionary_id(c.user, mode).expect("an id of the dictionary");
                    let text = texts.text(id).expect("a candidate's text at its owner");
                    let key = match mode {
                        IdMode::Integer => TieKey::Id(text.parse().expect("an integer id")),
                        IdMode::Text => TieKey::Text(text.to_string()),
                    };
                    (c.clone(), key)
                })
                .collect();
            let mut first = Vec::with_capacity(k);
            first_k_by_key(&keyed, k, &mut first);
            output.extend(first.into_iter().map(|keyed| (topic, keyed)));
        },
    );
    reduce_current(
        per_bucket,
        "Leaders",
        |&topic| mix(u64::from(topic)),
        move |&topic, candidates, output| {
            let keyed: Vec<(Candidate, TieKey)> =
                candidates.iter().map(|(c, _)| c.clone()).collect();
            let mut first = Vec::with_capacity(k);
            first_k_by_key(&keyed, k, &mut first);
            for (rank, (candidate, _)) in first.into_iter().enumerate() {
                output.push(Leader {
                    topic,
                    rank: (rank + 1) as u32,
                    candidate,
                });
            }
        },
    )
}
