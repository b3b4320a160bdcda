//! A literal oracle of METRICS.md's "Customers" section: the `customers`,
//! `value_matrix` and `benchmark` rows and the summary's `customers` object,
//! computed over maps with exact fractions, sharing no code with the job
//! (the quintiles and the segment table are written again here; the social
//! side is the [`Oracle`] of this directory). Also the input state as
//! METRICS defines it, with nights applied line by line, and the comparison
//! of an output directory with the oracle.
//!
//! Fractions are over `num_bigint::BigInt` (a dev-dependency already) with a
//! gcd after every step: `num-rational` is not in the offline registry, and
//! the denominators of influenced revenue are products of `k` values, which
//! outgrow `i128` on dense random graphs, so a bounded integer is not safe.

use std::collections::{BTreeMap, BTreeSet};

use num_bigint::BigInt;

use super::Oracle;

mod exact;
mod inputs;
mod random;
mod runs;
mod tables;
#[allow(unused_imports)] // not every test file uses every part
pub use {exact::*, inputs::*, random::*, runs::*, tables::*};

/// The parameters T, C, W, K.
#[derive(Clone, Copy, Debug)]
pub struct Params {
    pub t: u64,
    pub c: u64,
    pub w: i64,
    pub k: usize,
}

impl Default for Params {
    fn default() -> Params {
        Params {
            t: 1000,
            c: 101,
            w: 60,
            k: 100,
        }
    }
}

/// The summary's `customers` object.
#[derive(Clone, Debug, PartialEq)]
pub struct Summary {
    pub customers: u64,
    pub accounts_with_customer: u64,
    pub match_rate: f64,
    pub customers_with_purchases: u64,
    pub purchases: u64,
    pub revenue: f64,
}

/// The expected tables, rows written as the job writes them.
#[derive(Clone, Debug)]
pub struct Expected {
    pub customers: Vec<Vec<String>>,
    pub value_matrix: Vec<Vec<String>>,
    pub benchmark: Vec<Vec<String>>,
    pub summary: Summary,
    /// Per topic, the influenced revenue handed out to persuader accounts
    /// (with or without a customer), in units.
    pub handed_out: BTreeMap<String, Frac>,
}

pub const TIERS: [&str; 4] = [
    "super-connector",
    "topical-influencer",
    "connector",
    "standard",
];

/// METRICS.md's segment table, written again: name, r, f, m inclusive ranges.
const SEGMENT_TABLE: [(&str, [u8; 6]); 10] = [
    ("Champions", [5, 5, 5, 5, 5, 5]),
    ("Potential Loyalist", [3, 5, 3, 5, 2, 5]),
    ("Loyal Customers", [2, 4, 2, 4, 2, 4]),
    ("Promising", [3, 4, 1, 3, 3, 5]),
    ("New Customers", [4, 5, 1, 3, 1, 5]),
    ("Can't Lose Them", [1, 2, 3, 4, 4, 5]),
    ("At Risk", [1, 2, 2, 5, 4, 5]),
    ("Need Attention", [1, 3, 3, 5, 3, 5]),
    ("About To Sleep", [2, 3, 1, 3, 1, 4]),
    ("Lost", [1, 1, 1, 5, 1, 5]),
];

/// Segment names in value_matrix order.
pub fn segment_order() -> Vec<&'static str> {
    let mut names: Vec<&str> = SEGMENT_TABLE.iter().map(|s| s.0).collect();
    names.extend(["Others", "No purchases"]);
    names
}

fn segment(r: u8, f: u8, m: u8) -> &'static str {
    for (name, b) in SEGMENT_TABLE {
        if b[0] <= r && r <= b[1] && b[2] <= f && f <= b[3] && b[4] <= m && m <= b[5] {
            return name;
        }
    }
    "Others"
}

/// Quintile scores of `values`, in their order: sort, q_i = the value at
/// 1-based rank ceil(i*n/5), score = 1 + |{i : x > q_i}|.
pub fn quintile_scores(values: &[i128]) -> Vec<u8> {
    let mut sorted = values.to_vec();
    sorted.sort();
    let n = sorted.len();
    let q: Vec<i128> = (1..=4).map(|i| sorted[(i * n).div_ceil(5) - 1]).collect();
    values
        .iter()
        .map(|x| 1 + q.iter().filter(|qi| x > *qi).count() as u8)
        .collect()
}

/// One customer's metrics.
struct Customer {
    accounts: u64,
    friend_count: u64,
    super_connector: bool,
    influence: Frac,
    persuaded_total: u64,
    tier: &'static str,
    purchases: Vec<(i64, i64)>, // (day, units)
    influenced: Frac,           // units
    scores: Option<(u8, u8, u8)>,
}

/// The customer tables and summary for `inputs` under `p`, self-checked.
pub fn expected(inputs: &Inputs, p: &Params) -> Expected {
    let edges: Vec<(u64, u64)> = inputs.friendships.iter().copied().collect();
    let adoptions: Vec<(u64, String, i64)> = inputs
        .adoptions
        .iter()
        .map(|((u, t), d)| (*u, t.clone(), *d))
        .collect();
    let mut social = Oracle::new(&edges, &adoptions, p.w);
    (social.t, social.c, social.k) = (p.t, p.c, p.k);
    let mut users: BTreeSet<u64> = social.friends.keys().copied().collect();
    users.extend(social.adopted.keys().map(|(u, _)| *u));
    let leaders: BTreeSet<u64> = social
        .leaders()
        .values()
        .flat_map(|list| list.iter().map(|l| l.0))
        .collect();
    let friends = |u: u64| -> BTreeSet<u64> { social.friends.get(&u).cloned().unwrap_or_default() };

    // revenue(v,t): cust(v)'s purchases with topic t on or after a(v,t).
    let revenue = |v: u64, t: &str, av: i64| -> i64 {
        let Some(c) = inputs.identities.get(&v) else {
            return 0;
        };
        inputs
            .purchases
            .iter()
            .filter(|q| &q.customer == c && q.topic.as_deref() == Some(t) && q.day >= av)
            .map(|q| q.units)
            .sum()
    };
    // The money each adoption (u,t) is handed: over v in N(u) persuaded by
    // u, revenue(v,t) / k(v,t).
    let mut handout: BTreeMap<(u64, String), Frac> = BTreeMap::new();
    let mut handed_out: BTreeMap<String, Frac> = BTreeMap::new();
    for ((u, t), &au) in &inputs.adoptions {
        let mut sum = Frac::zero();
        for v in friends(*u) {
            let Some(&av) = inputs.adoptions.get(&(v, t.clone())) else {
                continue;
            };
            if (1..=p.w).contains(&(av - au)) {
                let k = social.k_of(v, t);
                sum = sum.add(&Frac::new(revenue(v, t, av), k));
            }
        }
        let total = handed_out.entry(t.clone()).or_insert_with(Frac::zero);
        *total = total.add(&sum);
        handout.insert((*u, t.clone()), sum);
    }
    // Invariant: per topic, handed out == revenue of adoptions with k >= 1.
    for (t, total) in &handed_out {
        let brought: i64 = inputs
            .adoptions
            .iter()
            .filter(|((v, t2), _)| t2 == t && social.k_of(*v, t) >= 1)
            .map(|((v, _), &av)| revenue(*v, t, av))
            .sum();
        assert_eq!(
            *total,
            Frac::new(brought, 1),
            "oracle: money handed out on {t}"
        );
    }

    if !inputs.customer_inputs {
        // No customer input yet: the tables are empty, not even `all`.
        let (customers, handed_out) = (BTreeMap::new(), BTreeMap::new());
        let mut e = render(inputs, &users, &customers, handed_out);
        e.benchmark.clear();
        return e;
    }

    // The customers: with an account in users, or a purchase.
    let mut ids: BTreeSet<String> = inputs
        .identities
        .iter()
        .filter(|(a, _)| users.contains(a))
        .map(|(_, c)| c.clone())
        .collect();
    ids.extend(inputs.purchases.iter().map(|q| q.customer.clone()));
    let mut customers: BTreeMap<String, Customer> = BTreeMap::new();
    for c in ids {
        let mine: BTreeSet<u64> = inputs
            .identities
            .iter()
            .filter(|(a, c2)| **c2 == c && users.contains(a))
            .map(|(a, _)| *a)
            .collect();
        let mut around: BTreeSet<u64> = BTreeSet::new();
        let (mut influence, mut persuaded_total, mut influenced) = (Frac::zero(), 0, Frac::zero());
        for &a in &mine {
            around.extend(friends(a));
            for ((_, t), _) in inputs
                .adoptions
                .range((a, String::new())..)
                .take_while(|((u, _), _)| *u == a)
            {
                let m = social.user_topic(a, t);
                let (n, d) = m.credit_exact;
                influence = influence.add(&Frac::new(BigInt::from(n), BigInt::from(d)));
                persuaded_total += m.persuaded;
                influenced = influenced.add(&handout[&(a, t.clone())]);
            }
        }
        let friend_count = around.difference(&mine).count() as u64;
        let tier = if friend_count >= p.t {
            TIERS[0]
        } else if mine.iter().any(|a| leaders.contains(a)) {
            TIERS[1]
        } else if friend_count >= p.c {
            TIERS[2]
        } else {
            TIERS[3]
        };
        let purchases = inputs
            .purchases
            .iter()
            .filter(|q| q.customer == c)
            .map(|q| (q.day, q.units))
            .collect();
        let customer = Customer {
            accounts: mine.len() as u64,
            friend_count,
            super_connector: friend_count >= p.t,
            influence,
            persuaded_total,
            tier,
            purchases,
            influenced,
            scores: None,
        };
        customers.insert(c, customer);
    }

    // RFM over the customers with purchases.
    let buyers: Vec<String> = customers
        .iter()
        .filter(|(_, c)| !c.purchases.is_empty())
        .map(|(id, _)| id.clone())
        .collect();
    let measure = |f: &dyn Fn(&Customer) -> i128| -> Vec<u8> {
        let values: Vec<i128> = buyers.iter().map(|id| f(&customers[id])).collect();
        if values.is_empty() {
            Vec::new()
        } else {
            quintile_scores(&values)
        }
    };
    let r = measure(&|c| i128::from(c.purchases.iter().map(|q| q.0).max().unwrap()));
    let f = measure(&|c| c.purchases.len() as i128);
    let m = measure(&|c| c.purchases.iter().map(|q| i128::from(q.1)).sum());
    for (i, id) in buyers.iter().enumerate() {
        customers.get_mut(id).unwrap().scores = Some((r[i], f[i], m[i]));
    }

    render(inputs, &users, &customers, handed_out)
}

/// The rows of the three tables and the summary, self-checked.
fn render(
    inputs: &Inputs,
    users: &BTreeSet<u64>,
    customers: &BTreeMap<String, Customer>,
    handed_out: BTreeMap<String, Frac>,
) -> Expected {
    let order = segment_order();
    let float = |x: &Frac| format!("{:?}", x.to_f64());
    let mut rows = Vec::new();
    // (segment, tier) -> (customers, monetary units, influenced units)
    let mut matrix: BTreeMap<(usize, usize), (u64, i128, Frac)> = BTreeMap::new();
    // group -> (customers, buyers, monetary units, purchases)
    let mut groups: BTreeMap<(usize, String), (u64, u64, i128, u64)> = BTreeMap::new();
    for (id, c) in customers {
        let monetary: i128 = c.purchases.iter().map(|q| i128::from(q.1)).sum();
        let last = c.purchases.iter().map(|q| q.0).max();
        let segment = match c.scores {
            Some((r, f, m)) => segment(r, f, m),
            None => "No purchases",
        };
        let scores = match c.scores {
            Some((r, f, m)) => [r.to_string(), f.to_string(), m.to_string()],
            None => Default::default(),
        };
        let total = Frac::new(monetary, 1).add(&c.influenced);
        rows.push(vec![
            id.clone(),
            c.accounts.to_string(),
            c.friend_count.to_string(),
            c.super_connector.to_string(),
            float(&c.influence),
            c.persuaded_total.to_string(),
            c.tier.to_string(),
            last.map(iso_text).unwrap_or_default(),
            c.purchases.len().to_string(),
            units_text(monetary),
            scores[0].clone(),
            scores[1].clone(),
            scores[2].clone(),
            segment.to_string(),
            float(&money(&c.influenced)),
            float(&money(&total)),
        ]);
        let s = order.iter().position(|o| *o == segment).unwrap();
        let t = TIERS.iter().position(|o| *o == c.tier).unwrap();
        let cell = matrix.entry((s, t)).or_insert((0, 0, Frac::zero()));
        (cell.0, cell.1, cell.2) = (cell.0 + 1, cell.1 + monetary, cell.2.add(&c.influenced));
        let mut mine = vec![(0, "all".to_string())];
        if c.accounts >= 1 {
            mine.extend([
                (1, "social".to_string()),
                (3 + t, format!("tier:{}", c.tier)),
            ]);
        } else {
            mine.push((2, "not-social".to_string()));
        }
        for key in mine {
            let g = groups.entry(key).or_insert((0, 0, 0, 0));
            g.0 += 1;
            g.1 += u64::from(!c.purchases.is_empty());
            g.2 += monetary;
            g.3 += c.purchases.len() as u64;
        }
    }
    let value_matrix: Vec<Vec<String>> = matrix
        .iter()
        .map(|((s, t), (n, units, influenced))| {
            vec![
                order[*s].to_string(),
                TIERS[*t].to_string(),
                n.to_string(),
                units_text(*units),
                float(&money(influenced)),
            ]
        })
        .collect();
    for (i, name) in ["all", "social", "not-social"].into_iter().enumerate() {
        groups.entry((i, name.to_string())).or_insert((0, 0, 0, 0));
    }
    let mean = |g: &(u64, u64, i128, u64)| (g.0 > 0).then(|| Frac::new(g.2, g.0 as i128));
    let base = mean(&groups[&(0, "all".to_string())]).filter(|m| !m.is_zero());
    let benchmark: Vec<Vec<String>> = groups
        .iter()
        .map(|((_, name), g)| {
            let m = mean(g);
            let lift = match (&m, &base) {
                (Some(m), Some(base)) => float(&m.div(base)),
                _ => String::new(),
            };
            vec![
                name.clone(),
                g.0.to_string(),
                g.1.to_string(),
                units_text(g.2),
                m.as_ref().map(|m| float(&money(m))).unwrap_or_default(),
                if g.0 > 0 {
                    float(&Frac::new(g.3, g.0))
                } else {
                    String::new()
                },
                lift,
            ]
        })
        .collect();

    // Self-checks: the value matrix sums to the customers table, and `all`
    // holds every purchase.
    let count: u64 = matrix.values().map(|c| c.0).sum();
    assert_eq!(
        count,
        customers.len() as u64,
        "oracle: value_matrix customers"
    );
    let units: i128 = matrix.values().map(|c| c.1).sum();
    let revenue: i128 = inputs.purchases.iter().map(|q| i128::from(q.units)).sum();
    assert_eq!(units, revenue, "oracle: value_matrix monetary");
    let influenced = matrix.values().fold(Frac::zero(), |s, c| s.add(&c.2));
    let by_customer = customers
        .values()
        .fold(Frac::zero(), |s, c| s.add(&c.influenced));
    assert_eq!(
        influenced, by_customer,
        "oracle: value_matrix influenced revenue"
    );
    assert_eq!(groups[&(0, "all".to_string())].2, revenue);

    let matched = users
        .iter()
        .filter(|a| inputs.identities.contains_key(a))
        .count() as u64;
    let summary = Summary {
        customers: customers.len() as u64,
        accounts_with_customer: matched,
        match_rate: if users.is_empty() {
            0.0
        } else {
            matched as f64 / users.len() as f64
        },
        customers_with_purchases: customers
            .values()
            .filter(|c| !c.purchases.is_empty())
            .count() as u64,
        purchases: inputs.purchases.len() as u64,
        revenue: money(&Frac::new(revenue, 1)).to_f64(),
    };
    Expected {
        customers: rows,
        value_matrix,
        benchmark,
        summary,
        handed_out,
    }
}
