//! A customer's own spend and its RFM scores, and the `customers` row that
//! gathers everything.
//!
//! - [`bought`]: `last_purchase`, `frequency`, `monetary` per customer;
//! - [`scores`]: the quintile cut points of the three measures over every
//!   buyer (one small reduce per measure, over the distinct values and
//!   their counts), broadcast to every worker, and each buyer scored
//!   against them ([`with_global`]): a night that does not move a cut point
//!   scores only the customers whose purchases changed;
//! - [`customers`]: one row per customer with an account in `users` or a
//!   purchase, at the worker that owns the customer's id, so that the row
//!   leaves with its text.

use std::cell::RefCell;
use std::rc::Rc;

use serde::{Deserialize, Serialize};

use super::accounts::Account;
use super::revenue::Money;
use super::{Customer, Purchase, Units, SCALE};
use crate::dataflow::fraction::money_of;
use crate::dataflow::operators::current::reduce_current;
use crate::dataflow::operators::global::with_global;
use crate::dataflow::tiers::tier;
use crate::dataflow::{Coll, Day};
use crate::hash::mix;
use crate::ids::{bucket_of_id, Dictionary};
use crate::params::Params;
use crate::rfm;
use crate::tables::{CustomerRow, Decimal, Segment};

/// A buyer's measures: last purchase day, number of purchases, summed amount.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Bought {
    /// The latest purchase day.
    pub last: Day,
    /// Purchases.
    pub frequency: u64,
    /// Their summed amount, in units.
    pub monetary: Units,
}

/// Per customer with purchases, its measures.
pub fn bought(purchases: Coll<'_, Purchase>) -> Coll<'_, (Customer, Bought)> {
    reduce_current(
        purchases.map(|(c, day, units, topic)| (c, (day, units, topic))),
        "CustomerPurchases",
        |c| mix(*c),
        |&c, values, out| {
            let mut b = Bought {
                last: Day::MIN,
                frequency: 0,
                monetary: 0,
            };
            for ((day, units, _), n) in values {
                b.last = b.last.max(*day);
                b.frequency += *n as u64;
                b.monetary += units * Units::from(*n);
            }
            out.push((c, b));
        },
    )
}

/// The three measures, as the cut points key them.
fn measures(b: &Bought) -> [i64; 3] {
    [i64::from(b.last), b.frequency as i64, b.monetary]
}

/// `(r, f, m)` per buyer.
pub fn scores(bought: Coll<'_, (Customer, Bought)>) -> Coll<'_, (Customer, (u8, u8, u8))> {
    let cuts = reduce_current(
        bought.clone().flat_map(|(_, b)| {
            measures(&b)
                .into_iter()
                .enumerate()
                .map(|(i, x)| (i as u8, x))
        }),
        "CutPoints",
        |measure| mix(u64::from(*measure)),
        |&measure, values, out| {
            let counted: Vec<(i64, u64)> = values.iter().map(|(x, n)| (*x, *n as u64)).collect();
            if let Some(cuts) = rfm::cut_points(&counted) {
                out.push((measure, cuts));
            }
        },
    );
    with_global(
        bought,
        cuts,
        "Scores",
        |c| mix(*c),
        |&c, b, cuts| {
            if cuts.len() != 3 {
                return None;
            }
            let x = measures(b);
            let score = |i: usize| rfm::score(&x[i], &cuts[i].1);
            Some((c, (score(0), score(1), score(2))))
        },
    )
}

/// The sum of a customer's accounts' influence, smallest first: the same
/// bits whatever the accounts' ids (integer or text), hence their order.
fn influence(mut parts: Vec<Decimal>) -> f64 {
    parts.sort_unstable();
    parts.iter().map(|d| d.0).sum()
}

/// What [`customers`] gathers.
pub struct Parts<'s> {
    /// The accounts of `A(c)`.
    pub accounts: Coll<'s, (Customer, Account)>,
    /// `friend_count(c)` of customers with several accounts.
    pub union: Coll<'s, (Customer, u32)>,
    /// Buyers' measures.
    pub bought: Coll<'s, (Customer, Bought)>,
    /// Buyers' scores.
    pub scores: Coll<'s, (Customer, (u8, u8, u8))>,
    /// Shares of influenced revenue.
    pub money: Coll<'s, (Customer, Money)>,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
enum Part {
    Account(Account),
    Union(u32),
    Bought(Bought),
    Scores(u8, u8, u8),
    Money(u32, Units),
}

/// The `customers` table.
pub fn customers<'s>(
    parts: Parts<'s>,
    params: &Params,
    names: Rc<RefCell<Dictionary>>,
) -> Coll<'s, CustomerRow> {
    let params = params.clone();
    let gathered = parts
        .accounts
        .map(|(c, a)| (c, Part::Account(a)))
        .concat(parts.union.map(|(c, n)| (c, Part::Union(n))))
        .concat(parts.bought.map(|(c, b)| (c, Part::Bought(b))))
        .concat(
            parts
                .scores
                .map(|(c, (r, f, m))| (c, Part::Scores(r, f, m))),
        )
        .concat(
            parts
                .money
                .map(|(c, (k, units))| (c, Part::Money(k, units))),
        );
    // Routed by the id's bucket, so at the worker holding the customer's text.
    reduce_current(
        gathered,
        "Customers",
        |c| bucket_of_id(*c),
        move |&c, parts, out| {
            let (mut accounts, mut single_friends, mut union) = (0u32, 0u32, None);
            let (mut influences, mut persuaded_total, mut leads) = (Vec::new(), 0u64, false);
            let (mut bought, mut scores) = (None, None);
            let mut money: Vec<(u32, u128)> = Vec::new();
            for (part, n) in parts {
                match part {
                    Part::Account(a) => {
                        accounts += 1;
                        single_friends = a.friends;
                        influences.push(a.influence);
                        persuaded_total += a.persuaded;
                        leads |= a.leads;
                    }
                    Part::Union(count) => union = Some(*count),
                    Part::Bought(b) => bought = Some(*b),
                    Part::Scores(r, f, m) => scores = Some((*r, *f, *m)),
                    Part::Money(k, units) => money.push((*k, (*units as u128) * (*n as u128))),
                }
            }
            if accounts == 0 && bought.is_none() {
                return;
            }
            let friend_count = match accounts {
                0 => 0,
                1 => single_friends,
                _ => union.unwrap_or(0),
            };
            let monetary = bought.map_or(0, |b| b.monetary);
            let influenced = money_of(money.iter().copied(), SCALE);
            money.push((1, monetary as u128));
            let total = money_of(money.iter().copied(), SCALE);
            let scores = bought.and(scores);
            let segment = match scores {
                Some((r, f, m)) => rfm::segment(r, f, m),
                None => rfm::NO_PURCHASES,
            };
            let customer_id = names
                .borrow()
                .text(c)
                .expect("a customer's row is made where its text is")
                .to_string();
            out.push(CustomerRow {
                customer_id,
                accounts,
                friend_count,
                super_connector: friend_count >= params.super_connector_min,
                influence: Decimal(influence(influences)),
                persuaded_total,
                tier: tier(friend_count, leads, &params),
                last_purchase: bought.map(|b| b.last),
                frequency: bought.map_or(0, |b| b.frequency),
                monetary: Decimal(monetary as f64 / SCALE as f64),
                scores,
                segment: Segment::of(segment),
                influenced_revenue: Decimal(influenced),
                total_value: Decimal(total),
                monetary_units: monetary,
            });
        },
    )
}
