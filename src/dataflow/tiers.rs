//! The `users` table: one row per user with a current friendship, with the
//! super-connector flag and the CRM tier.
//!
//! `tier(u)` is the first that applies: `super-connector` (friend_count >=
//! T), `topical-influencer` (a topic leader in any topic), `connector`
//! (friend_count >= C), `standard`.

use super::{Coll, User};
use crate::params::Params;
use crate::tables::{Tier, UserRow};

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

/// The `users` table from friend counts.
pub fn users<'s>(counts: Coll<'s, (User, u32)>, params: &Params) -> Coll<'s, UserRow> {
    let params = params.clone();
    counts.map(move |(user_id, friend_count)| UserRow {
        user_id,
        friend_count,
        super_connector: friend_count >= params.super_connector_min,
        influence: 0.0.into(),
        persuaded_total: 0,
        top_topic: String::new(),
        tier: tier(friend_count, false, &params),
    })
}
