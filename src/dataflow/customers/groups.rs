//! The tables over groups of customers: `value_matrix` (customers, spend
//! and influenced revenue per RFM segment and tier) and `benchmark` (the
//! social customers' buying against the base).
//!
//! Money is summed in units (exact); influenced revenue, already a float
//! per customer, is summed in the values' sorted order, so the same
//! customers give the same bits at any worker count.

use serde::{Deserialize, Serialize};

use super::SCALE;
use crate::dataflow::operators::current::reduce_current;
use crate::dataflow::Coll;
use crate::hash::mix;
use crate::tables::{BenchmarkRow, CustomerRow, Decimal, Group, ValueMatrixRow};

/// The `value_matrix` table.
pub fn value_matrix(customers: Coll<'_, CustomerRow>) -> Coll<'_, ValueMatrixRow> {
    reduce_current(
        customers.map(|row| {
            (
                (row.segment, row.tier),
                (row.monetary_units, row.influenced_revenue),
            )
        }),
        "ValueMatrix",
        |(segment, tier)| mix(u64::from(segment.0) << 8 | *tier as u64),
        |&(segment, tier), values, out| {
            let mut row = ValueMatrixRow {
                segment,
                tier,
                customers: 0,
                monetary: Decimal(0.0),
                influenced_revenue: Decimal(0.0),
            };
            let mut units: i128 = 0;
            for ((monetary, influenced), n) in values {
                row.customers += *n as u64;
                units += i128::from(*monetary) * i128::from(*n);
                row.influenced_revenue.0 += influenced.0 * f64::from(*n);
            }
            row.monetary = Decimal(units as f64 / SCALE as f64);
            out.push(row);
        },
    )
}

/// A group's sums.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
struct Sums {
    customers: u64,
    buyers: u64,
    purchases: u64,
    units: i128,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
enum Fact {
    Present,
    Group(Group, Sums),
}

/// The groups a customer belongs to.
fn groups(row: &CustomerRow) -> impl Iterator<Item = Group> {
    let social = row.accounts >= 1;
    [
        Some(Group::All),
        Some(if social {
            Group::Social
        } else {
            Group::NotSocial
        }),
        social.then_some(Group::Tier(row.tier)),
    ]
    .into_iter()
    .flatten()
}

/// The `benchmark` table: `all`, `social` and `not-social` always (once
/// customer inputs are `present`), and a `tier:` row per tier holding
/// social customers.
pub fn benchmark<'s>(
    customers: Coll<'s, CustomerRow>,
    present: Coll<'s, ()>,
) -> Coll<'s, BenchmarkRow> {
    let sums = reduce_current(
        customers.flat_map(|row| {
            let one = (row.frequency > 0, row.frequency, row.monetary_units);
            groups(&row)
                .map(move |group| (group, one))
                .collect::<Vec<_>>()
        }),
        "BenchmarkGroups",
        |group| mix(group_code(group)),
        |&group, values, out| {
            let mut sums = Sums::default();
            for ((buyer, frequency, units), n) in values {
                let n = *n as u64;
                sums.customers += n;
                sums.buyers += if *buyer { n } else { 0 };
                sums.purchases += frequency * n;
                sums.units += i128::from(*units) * i128::from(n as i64);
            }
            out.push(Fact::Group(group, sums));
        },
    );
    reduce_current(
        sums.concat(present.map(|()| Fact::Present))
            .map(|fact| ((), fact)),
        "Benchmark",
        |()| 0,
        |(), facts, out| {
            let mut by_group: Vec<(Group, Sums)> = [Group::All, Group::Social, Group::NotSocial]
                .into_iter()
                .map(|g| (g, Sums::default()))
                .collect();
            for (fact, _) in facts {
                if let Fact::Group(group, sums) = fact {
                    match by_group.iter_mut().find(|(g, _)| g == group) {
                        Some(entry) => entry.1 = *sums,
                        None => by_group.push((*group, *sums)),
                    }
                }
            }
            let all = by_group[0].1;
            for (group, sums) in by_group {
                out.push(row(group, sums, all));
            }
        },
    )
}

/// A stable number for a group (its route).
fn group_code(group: &Group) -> u64 {
    match group {
        Group::All => 0,
        Group::Social => 1,
        Group::NotSocial => 2,
        Group::Tier(tier) => 3 + *tier as u64,
    }
}

/// A benchmark row from its group's sums and those of `all`.
fn row(group: Group, sums: Sums, all: Sums) -> BenchmarkRow {
    let scale = SCALE as f64;
    let customers = sums.customers as f64;
    let (mean_monetary, mean_frequency) = match sums.customers {
        0 => (None, None),
        _ => (
            Some(sums.units as f64 / scale / customers),
            Some(sums.purchases as f64 / customers),
        ),
    };
    // (units / customers) / (all units / all customers), as one division.
    let lift = (sums.customers > 0 && all.units > 0)
        .then(|| (sums.units as f64 * all.customers as f64) / (all.units as f64 * customers));
    BenchmarkRow {
        group,
        customers: sums.customers,
        buyers: sums.buyers,
        monetary: Decimal(sums.units as f64 / scale),
        mean_monetary: mean_monetary.map(Decimal),
        mean_frequency: mean_frequency.map(Decimal),
        lift: lift.map(Decimal),
    }
}
