//! The `users` table: one row per user with a current friendship or
//! adoption, assembled from friend counts, per-adoption metrics and
//! leadership.
//!
//! `tier(u)` is the first that applies: `super-connector` (friend_count >=
//! T), `topical-influencer` (a topic leader in any topic), `connector`
//! (friend_count >= C), `standard`. `influence` sums credit over topics in
//! topic-id order (a fixed order, so the bits never depend on workers);
//! `top_topic` is the topic with the largest credit > 0, ties broken by name.

use std::cmp::Ordering;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::leaders::Leader;
use super::operators::current::reduce_current;
use super::topical::Credited;
use super::{Coll, Day, Topic, User};
use crate::hash::mix;
use crate::params::Params;
use crate::tables::{Decimal, Tier, UserRow};
use crate::topics;

/// The tier of a user from its friend count and whether it leads a topic.
pub fn tier(friend_count: u32, leads_a_topic: bool, params: &Params) -> Tier {
    if friend_count >= params.super_connector_min {
        Tier::SuperConnector
    } else if leads_a_topic {
        Tier::TopicalInfluencer
    } else if friend_count >= params.connector_min {
        Tier::Connector
    } else {
        Tier::Standard
    }
}

/// What is known of a user, gathered by user.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
enum Fact {
    Friends(u32),
    /// One per adoption: held once, with the user's number of adoptions as
    /// its count.
    Adopted,
    /// An adoption with credit: its topic, credit and persuaded.
    Credited(Topic, Decimal, u32),
    Leads,
}

/// The `users` table.
///
/// The totals read the credits alone (`credited`), not the `user_topics`
/// rows: a night changes many rows in reach or k only (a friendship between
/// co-adopters, a persuader more for someone else), which do not move a
/// user's totals. Adoptions without credit add nothing to them (`+ 0.0`
/// leaves a sum's bits as they are), so only their existence is kept.
/// Measured on a 1M-user night (2 workers, worker 0): 556k -> 477k records
/// in, 0.17-0.19 -> 0.15 s busy, 130 MB less resident.
pub fn users<'s>(
    counts: Coll<'s, (User, u32)>,
    adoptions: Coll<'s, ((User, Topic), Day)>,
    credited: Credited<'s>,
    leaders: Coll<'s, Leader>,
    params: &Params,
    dictionary: topics::Shared,
) -> Coll<'s, UserRow> {
    let params = params.clone();
    // The empty `top_topic`, shared by every row without one.
    let no_topic: topics::Name = Arc::from("");
    reduce_current(
        counts
            .map(|(user, count)| (user, Fact::Friends(count)))
            .concat(adoptions.map(|((user, _), _)| (user, Fact::Adopted)))
            .concat(credited.map(|((user, topic), (credit, persuaded))| {
                (user, Fact::Credited(topic, credit, persuaded))
            }))
            .concat(leaders.map(|leader| (leader.candidate.user, Fact::Leads))),
        "Users",
        |user| mix(u64::from(*user)),
        move |&user_id, facts, output| {
            let mut friend_count = 0;
            let mut influence = 0.0;
            let mut persuaded_total = 0u64;
            let mut top: Option<(Decimal, Topic)> = None;
            let mut leads = false;
            let dictionary = dictionary.borrow();
            for (fact, _) in facts {
                match fact {
                    Fact::Friends(n) => friend_count = *n,
                    Fact::Adopted => {}
                    Fact::Credited(topic, credit, persuaded) => {
                        influence += credit.0;
                        persuaded_total += u64::from(*persuaded);
                        if credit.0 > 0.0 {
                            let better = match top {
                                None => true,
                                Some((best, best_topic)) => match credit.cmp(&best) {
                                    Ordering::Greater => true,
                                    Ordering::Less => false,
                                    Ordering::Equal => {
                                        dictionary.name(*topic) < dictionary.name(best_topic)
                                    }
                                },
                            };
                            if better {
                                top = Some((*credit, *topic));
                            }
                        }
                    }
                    Fact::Leads => leads = true,
                }
            }
            let row = UserRow {
                user_id: user_id.into(),
                friend_count,
                super_connector: friend_count >= params.super_connector_min,
                influence: Decimal(influence),
                persuaded_total,
                top_topic: top.map_or_else(
                    || Arc::clone(&no_topic),
                    |(_, topic)| dictionary.shared_name(topic),
                ),
                tier: tier(friend_count, leads, &params),
            };
            output.push(row);
        },
    )
}
