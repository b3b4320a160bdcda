//! The dataflow: from input records to every output table.
//!
//! ```text
//! friendship lines ─▶ graph::simple_graph ─▶ friends::by_user (arranged once)
//!                                              ├─▶ friends::friend_counts ─▶ tiers::users
//!                                              └─▶ friends::degree_distribution
//! ```
//! One module per metric family; each takes collections or arrangements and
//! returns collections, so a job wires them together in [`build`].

pub mod friends;
pub mod graph;
pub mod tiers;

use differential_dataflow::VecCollection;

use crate::params::Params;
use crate::tables::{DegreeRow, UserRow};

/// A user id as it appears in the input.
pub type User = u64;
/// Logical time: 0 is the base load, night `n` is time `n`.
pub type Time = u32;
/// Differences (multiplicities) of updates.
pub type Diff = isize;

/// A collection in a dataflow of this crate.
pub type Coll<'s, D> = VecCollection<'s, Time, D, Diff>;

/// The output tables as collections, one update stream per table.
pub struct Tables<'s> {
    /// `users`, keyed by user id.
    pub users: Coll<'s, UserRow>,
    /// `degree_distribution`.
    pub degree_distribution: Coll<'s, DegreeRow>,
}

/// Builds every table from the simple undirected friendship graph
/// (each friendship once, smaller id first).
pub fn build<'s>(friendships: Coll<'s, (User, User)>, params: &Params) -> Tables<'s> {
    let by_user = friends::by_user(friendships);
    let counts = friends::friend_counts(&by_user);
    let degree_distribution = friends::degree_distribution(counts.clone());
    let users = tiers::users(counts, params);
    Tables {
        users,
        degree_distribution,
    }
}
