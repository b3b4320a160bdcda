//! The customer tables (METRICS.md, "Customers"): the social graph joined
//! to the CRM's customers, and influence priced in money.
//!
//! ```text
//! identities ─┐
//! users, leaders, user_topics ─▶ accounts::accounts ─┬─▶ A(c): account facts ─────────────┐
//!                                                     ├─▶ accounts::friend_union (2+ accounts) ─┤
//!                                                     └─▶ persuaded adoptions by (c, t)     │
//! purchases ─▶ value::bought ─┬─▶ value::scores (cut points broadcast) ──────────────────────┤
//!             └──────────────┴─▶ revenue::influenced (with the credit shares) ──────────────┤
//!                                                                 value::customers ◀─────────┘
//!                                                    groups::value_matrix, groups::benchmark
//! ```
//! Customer ids are text, interned by the customer dictionary (the same
//! partitioned dictionary as text user ids, see [`crate::ids`]); the rows
//! leave [`value::customers`] with their texts, at the worker that owns
//! each customer's id.

pub mod accounts;
pub mod groups;
pub mod revenue;
pub mod value;

use super::friends::FriendsByUser;
use super::leaders::Leader;
use super::topical::{Shares, UserTopic};
use super::{Coll, Day, Topic, User};
use std::cell::RefCell;
use std::rc::Rc;

use crate::ids::Dictionary;
use crate::params::Params;
use crate::tables::{BenchmarkRow, CustomerRow, UserRow, ValueMatrixRow};

/// A customer's internal id (from the customer dictionary).
pub type Customer = u64;
/// Money in units of 1/10,000 (see [`crate::money`]).
pub type Units = i64;
/// One purchase: customer, day, amount, and its topic if it has one.
pub type Purchase = (Customer, Day, Units, Option<Topic>);
/// Units per currency unit.
pub const SCALE: u128 = 10_000;

/// The customer tables as collections.
pub struct CustomerTables<'s> {
    /// `customers`.
    pub customers: Coll<'s, CustomerRow>,
    /// `value_matrix`.
    pub value_matrix: Coll<'s, ValueMatrixRow>,
    /// `benchmark`.
    pub benchmark: Coll<'s, BenchmarkRow>,
}

/// What the customer tables are computed from.
pub struct Inputs<'s> {
    /// Current mappings `(account, customer)`, at most one per account.
    pub identities: Coll<'s, (User, Customer)>,
    /// Current purchases (a multiset).
    pub purchases: Coll<'s, Purchase>,
    /// One `()` from the first time customer inputs appear in the run.
    pub present: Coll<'s, ()>,
}

/// What the social tables lend the customer tables.
pub struct Social<'s> {
    /// The `users` rows.
    pub users: Coll<'s, UserRow>,
    /// The topic leaders.
    pub leaders: Coll<'s, Leader>,
    /// Every current adoption with its metrics.
    pub user_topics: Coll<'s, UserTopic>,
    /// The credit shares.
    pub shares: Shares<'s>,
    /// The friendships (each once).
    pub friendships: Coll<'s, (User, User)>,
    /// The friendship graph by user (nights only).
    pub by_user: Option<FriendsByUser<'s>>,
    /// The base's candidate accounts of several-account customers, if known.
    pub candidates: Option<accounts::Candidates>,
}

/// Builds the customer tables.
pub fn tables<'s>(
    inputs: Inputs<'s>,
    social: Social<'s>,
    params: &Params,
    names: Rc<RefCell<Dictionary>>,
) -> CustomerTables<'s> {
    let accounts = accounts::accounts(
        inputs.identities.clone(),
        social.users,
        social.leaders,
        social.user_topics,
    );
    let union = accounts::friend_union(
        accounts.present.clone(),
        social.friendships,
        social.by_user.as_ref(),
        social.candidates,
    );
    let bought = value::bought(inputs.purchases.clone());
    let scores = value::scores(bought.clone());
    let money = revenue::influenced(
        accounts.adopted,
        inputs.purchases,
        social.shares.persuaders(),
        inputs.identities,
    );
    let customers = value::customers(
        value::Parts {
            accounts: accounts.present,
            union,
            bought,
            scores,
            money,
        },
        params,
        names,
    );
    CustomerTables {
        value_matrix: groups::value_matrix(customers.clone()),
        benchmark: groups::benchmark(customers.clone(), inputs.present),
        customers,
    }
}
