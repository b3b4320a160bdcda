//! `influenced_revenue(c)`: each persuaded adoption `(v, t)` hands the money
//! it brought in, `revenue(v, t)` (the summed amount of `cust(v)`'s
//! purchases of `t` on or after `a(v, t)`), to its k persuaders, `1/k`
//! each, and a persuader's share goes to its customer.
//!
//! Three steps, each a reduce over current values: per `(customer, topic)`
//! the revenue of each of its accounts' persuaded adoptions
//! (`TopicRevenue`); per persuaded adoption, its revenue to each persuader
//! (`RevenueShares`, which holds the credit shares once more, keyed as
//! `CreditShares` keys them); per persuader, its customer (`ShareCustomers`).
//! Amounts stay integers (units of 1/10,000); the final division by k is
//! exact (see [`crate::dataflow::fraction::money_of`]).

use serde::{Deserialize, Serialize};

use super::accounts::Adopted;
use super::{Customer, Purchase, Units};
use crate::dataflow::operators::current::reduce_current;
use crate::dataflow::{Coll, Day, Topic, User};
use crate::hash::mix;

/// A persuader's share of a persuaded adoption's revenue: `(k, revenue)`,
/// worth `revenue / k`.
pub type Money = (u32, Units);

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
enum ByTopic {
    Adopted(Adopted),
    Bought(Day, Units),
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
enum ByAdoption {
    Revenue(u32, Units),
    To(User),
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
enum ByPersuader {
    Customer(Customer),
    Money(u32, Units),
}

/// `(c, (k, revenue))` for every share of revenue a persuader account of
/// customer `c` receives.
pub fn influenced<'s>(
    adopted: Coll<'s, ((Customer, Topic), Adopted)>,
    purchases: Coll<'s, Purchase>,
    persuaders: Coll<'s, ((User, Topic), User)>,
    identities: Coll<'s, (User, Customer)>,
) -> Coll<'s, (Customer, Money)> {
    let bought = purchases
        .flat_map(|(c, day, units, topic)| topic.map(|t| ((c, t), ByTopic::Bought(day, units))));
    let revenue = reduce_current(
        adopted
            .map(|(key, adopted)| (key, ByTopic::Adopted(adopted)))
            .concat(bought),
        "TopicRevenue",
        |(c, t)| mix(*c ^ mix(u64::from(*t))),
        |&(_, topic), values, out| {
            for (value, _) in values {
                let ByTopic::Adopted((v, adopted, k)) = value else {
                    continue;
                };
                let revenue: Units = values
                    .iter()
                    .filter_map(|(value, n)| match value {
                        ByTopic::Bought(day, units) if day >= adopted => {
                            Some(units * Units::from(*n))
                        }
                        _ => None,
                    })
                    .sum();
                if revenue > 0 {
                    out.push(((*v, topic), ByAdoption::Revenue(*k, revenue)));
                }
            }
        },
    );
    let shares = reduce_current(
        revenue.concat(persuaders.map(|(adoption, u)| (adoption, ByAdoption::To(u)))),
        "RevenueShares",
        |(v, t)| mix(u64::from(*v) ^ mix(u64::from(*t))),
        |_, values, out| {
            let Some((k, revenue)) = values.iter().find_map(|(value, _)| match value {
                ByAdoption::Revenue(k, revenue) => Some((*k, *revenue)),
                ByAdoption::To(_) => None,
            }) else {
                return;
            };
            for (value, _) in values {
                if let ByAdoption::To(u) = value {
                    out.push((*u, ByPersuader::Money(k, revenue)));
                }
            }
        },
    );
    reduce_current(
        shares.concat(identities.map(|(u, c)| (u, ByPersuader::Customer(c)))),
        "ShareCustomers",
        |u| mix(u64::from(*u)),
        |_, values, out| {
            let Some(c) = values.iter().find_map(|(value, _)| match value {
                ByPersuader::Customer(c) => Some(*c),
                ByPersuader::Money(..) => None,
            }) else {
                return;
            };
            for (value, n) in values {
                if let ByPersuader::Money(k, revenue) = value {
                    out.push((c, (*k, revenue * Units::from(*n))));
                }
            }
        },
    )
}
