//! The dataflow: from input records to every output table.
//!
//! ```text
//! friendship records ─▶ graph::simple_graph ─┬─▶ friends::friend_counts ─┬─▶ tiers::users
//!                                  │          │                            └─▶ friends::degree_distribution
//!                                  │          └─▶ friends::by_user (nights only, arranged once)
//! adoption records ─▶ graph::adoptions ─▶ topical::topic_vectors (arranged once)
//!                                  └──────────────┴─▶ topical::co_adoptions (half joins)
//!                                                      ├─▶ topical::user_topics ─▶ leaders::leaders
//!                                                      └─▶ significance::topic_significance (shuffle_rounds > 0)
//! ```
//! One module per metric family; each takes collections or arrangements and
//! returns collections, so a job wires them together in [`build`]. The
//! operators they are built from, where differential's own do not serve,
//! are in [`operators`].

pub mod customers;
pub mod fraction;
pub mod friends;
pub mod graph;
pub mod leaders;
pub mod operators;
pub mod significance;
pub mod tiers;
pub mod topical;

use differential_dataflow::operators::CountTotal;
use differential_dataflow::VecCollection;

use crate::ids::IdMode;
use crate::params::Params;
use crate::tables::{DegreeRow, LeaderRow, TopicRow, TopicSignificanceRow, UserRow, UserTopicRow};
use crate::topics;

/// A user id as it appears in the input.
pub type User = u32;
/// An interned topic (see [`crate::topics`]).
pub use crate::topics::Topic;
/// A day: days since 1970-01-01.
pub type Day = i32;
/// Logical time: 0 is the base load, night `n` is time `n`.
pub type Time = u32;
/// Differences (multiplicities) of updates.
pub type Diff = i32;

/// A collection in a dataflow of this crate.
pub type Coll<'s, D> = VecCollection<'s, Time, D, Diff>;

/// The output tables as collections, one update stream per table.
pub struct Tables<'s> {
    /// `users`.
    pub users: Coll<'s, UserRow>,
    /// `user_topics`.
    pub user_topics: Coll<'s, UserTopicRow>,
    /// `topic_leaders`.
    pub topic_leaders: Coll<'s, LeaderRow>,
    /// `degree_distribution`.
    pub degree_distribution: Coll<'s, DegreeRow>,
    /// `topics`: adopters and socially explained adoptions per topic.
    pub topics: Coll<'s, TopicRow>,
    /// `topic_significance`: the shuffle test, built only when `shuffle_rounds > 0`.
    pub topic_significance: Option<Coll<'s, TopicSignificanceRow>>,
    /// The customer tables, built only with customer inputs.
    pub customers: Option<customers::CustomerTables<'s>>,
}

/// The customer inputs of [`build`], the customer dictionary, and the
/// base's candidate accounts of several-account customers (if known).
pub type CustomerInputs<'s> = (
    customers::Inputs<'s>,
    leaders::Texts,
    Option<customers::accounts::Candidates>,
);

/// Builds every table from the simple undirected friendship graph (each
/// friendship once, smaller id first) and the adoptions (each (user, topic)
/// once, at its earliest day).
///
/// With `nights`, the friendship graph is arranged by user for the topical
/// paths that react to changed topic vectors; a batch run (every change at
/// time 0) never reads it, so it is not built. `ids`: the user ids' kind
/// and this worker's part of their dictionary, where leaders' ties find the
/// users' texts (text ids: byte order; integer ids of 2^31 and above: the
/// integers' order).
pub fn build<'s>(
    friendships: Coll<'s, (User, User)>,
    adoptions: Coll<'s, ((User, Topic), Day)>,
    params: &Params,
    dictionary: topics::Shared,
    ids: (IdMode, leaders::Texts),
    nights: bool,
    customer_inputs: Option<CustomerInputs<'s>>,
) -> Tables<'s> {
    let counts = friends::friend_counts(friendships.clone());
    let degree_distribution = friends::degree_distribution(counts.clone());

    let by_user = nights.then(|| friends::by_user(friendships.clone()));
    let customer_friendships = customer_inputs.as_ref().map(|_| friendships.clone());
    let vectors = topical::topic_vectors(adoptions.clone());
    let co_adoptions = topical::co_adoptions(friendships, by_user.as_ref(), &vectors);
    let topic_significance = (params.shuffle_rounds > 0).then(|| {
        significance::topic_significance(
            adoptions.clone(),
            co_adoptions.clone(),
            params.shuffle_rounds,
            params.shuffle_seed,
            params.window_days,
            dictionary.clone(),
        )
    });
    let topical::Topical {
        rows: user_topics,
        shares,
        credited,
    } = topical::user_topics(adoptions.clone(), co_adoptions, params.window_days, nights);
    let leaders = leaders::leaders(user_topics.clone(), params.top_k, ids);
    let users = tiers::users(
        counts,
        adoptions,
        credited,
        leaders.clone(),
        params,
        dictionary.clone(),
    );
    let customers = customer_inputs.map(|(inputs, names, candidates)| {
        customers::tables(
            inputs,
            customers::Social {
                users: users.clone(),
                leaders: leaders.clone(),
                user_topics: user_topics.clone(),
                shares,
                friendships: customer_friendships.expect("kept with customer inputs"),
                by_user: by_user.clone(),
                candidates,
            },
            params,
            names,
        )
    });

    let names = dictionary.clone();
    let topic_rows = user_topics
        .clone()
        .map(|row| (row.topic, row.persuaders > 0))
        .count_total_core::<Diff>()
        .map(|((topic, explained), n)| (topic, (explained, n)))
        .reduce_named("Topics", move |&topic, counts, output| {
            let mut row = TopicRow {
                topic: names.borrow().shared_name(topic),
                adopters: 0,
                socially_explained: 0,
            };
            for ((explained, n), _) in counts {
                row.adopters += *n as u64;
                if *explained {
                    row.socially_explained += *n as u64;
                }
            }
            output.push((row, 1));
        })
        .map(|(_, row)| row);

    let names = dictionary.clone();
    let user_topic_rows = user_topics.map(move |row| UserTopicRow {
        user_id: row.user.into(),
        topic: names.borrow().shared_name(row.topic),
        adopted: row.day,
        reach: row.reach,
        persuaded: row.persuaded,
        credit: row.credit,
    });
    let names = dictionary;
    let leader_rows = leaders.map(move |leader| LeaderRow {
        topic: names.borrow().shared_name(leader.topic),
        rank: leader.rank,
        user_id: leader.candidate.user.into(),
        credit: leader.candidate.credit,
        persuaded: leader.candidate.persuaded,
        reach: leader.candidate.reach,
    });
    Tables {
        users,
        user_topics: user_topic_rows,
        topic_leaders: leader_rows,
        degree_distribution,
        topics: topic_rows,
        topic_significance,
        customers,
    }
}
