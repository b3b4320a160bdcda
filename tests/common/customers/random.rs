//! Random small cases for the customer tables: a base and three nights of
//! every input, drawn with the tests' `Lcg`. Each change line is applied to
//! a running state as it is drawn (with the oracle's reading of METRICS.md),
//! so that remaps only touch unmapped accounts and refunds hit purchases
//! that exist, or miss on purpose (no-ops).

use super::{units_text, Case, Inputs, Kind, Params};
use crate::common::Lcg;

const TOPICS: [&str; 3] = ["rock", "jazz", "pop"];
/// Customer ids: case matters, and one holds a comma and a space.
const CUSTOMERS: [&str; 8] = ["C-1", "C-2", "C-3", "C-4", "c-1", "Smith, J.", "C-5", "C-6"];
/// Customers that never get an account.
const SOLO: [&str; 2] = ["solo-1", "solo-2"];

/// An amount of `units` written one of three ways (`12.5`, `12.5000`, `12.50`).
fn amount(units: i64, style: u64) -> String {
    let short = units_text(units.into());
    match style {
        0 => short,
        1 => format!("{}.{:04}", units / 10_000, units % 10_000),
        _ if short.contains('.') && units % 10 == 0 => format!("{short}0"),
        _ if short.contains('.') => short,
        _ => format!("{short}.00"),
    }
}

fn purchase_line(
    rng: &mut Lcg,
    customer: &str,
    day: i64,
    units: i64,
    topic: Option<&str>,
) -> String {
    let customer = if customer.contains(',') {
        format!("\"{customer}\"")
    } else {
        customer.to_string()
    };
    let mut line = format!("{customer},{day},{}", amount(units, rng.next(3)));
    match topic {
        Some(t) => line += &format!(",{t}"),
        None if rng.next(2) == 0 => line += ",", // an empty topic field: no topic
        None => {}
    }
    line
}

/// A random case. With `customer_base` false, identities and purchases
/// first appear in the second night (the base run has no customer tables).
pub fn random_case(seed: u64, customer_base: bool) -> Case {
    let mut rng = Lcg(seed);
    let users = 10 + rng.next(12);
    let params = Params {
        t: 6,
        c: 4,
        w: 20,
        k: 2,
    };
    let pick = |rng: &mut Lcg, list: &[&'static str]| list[rng.next(list.len() as u64) as usize];

    let mut f = String::from("src,dst\n");
    for _ in 0..users * 2 {
        f += &format!("{},{}\n", rng.next(users), rng.next(users));
    }
    let mut a = String::from("user,topic,day\n");
    for _ in 0..users * 2 {
        a += &format!(
            "{},{},{}\n",
            rng.next(users + 2),
            pick(&mut rng, &TOPICS),
            100 + rng.next(50)
        );
    }
    let mut i = String::from("account,customer\n");
    for account in 0..users + 2 {
        if rng.next(4) != 0 {
            let c = pick(&mut rng, &CUSTOMERS);
            i += &format!("{account},\"{c}\"\n");
        }
    }
    let mut p = String::new();
    for _ in 0..users * 2 {
        let list = if rng.next(5) == 0 {
            &SOLO[..]
        } else {
            &CUSTOMERS[..]
        };
        let c = pick(&mut rng, list);
        let topic = (rng.next(3) != 0).then(|| pick(&mut rng, &TOPICS));
        let (day, units) = (95 + rng.next(70) as i64, rng.next(300_000) as i64);
        p += &purchase_line(&mut rng, c, day, units, topic);
        p += "\n";
    }
    let mut base = vec![(Kind::Friendships, f), (Kind::Adoptions, a)];
    if customer_base {
        base.extend([(Kind::Identities, i), (Kind::Purchases, p)]);
    }
    let mut state = Inputs::default();
    for (kind, text) in &base {
        state.apply(*kind, text, false);
    }

    let mut nights = Vec::new();
    for night in 0..3 {
        let mut files = Vec::new();
        let mut f = String::new();
        for _ in 0..3 {
            let op = if rng.next(2) == 0 { '+' } else { '-' };
            f += &format!("{op} {} {}\n", rng.next(users + 2), rng.next(users + 2));
        }
        files.push(("friendships.txt".to_string(), f));
        let mut a = String::new();
        for _ in 0..3 {
            let (u, t) = (rng.next(users + 2), pick(&mut rng, &TOPICS));
            a += &match rng.next(2) {
                0 => format!("- {u} {t}\n"),
                _ => format!("+ {u} {t} {}\n", 100 + rng.next(60)),
            };
        }
        files.push(("adoptions.txt".to_string(), a));
        if customer_base || night > 0 {
            files.push((
                "identities.csv".to_string(),
                identity_changes(&mut rng, &mut state, users),
            ));
            files.push((
                "purchases.csv".to_string(),
                purchase_changes(&mut rng, &mut state),
            ));
        }
        nights.push((format!("2026-02-0{}", night + 1), files));
    }
    Case {
        base,
        nights,
        params,
    }
}

fn identity_changes(rng: &mut Lcg, state: &mut Inputs, users: u64) -> String {
    let mut text = String::new();
    for _ in 0..5 {
        let account = rng.next(users + 4);
        let mapped = state.identities.get(&account).cloned();
        let c = CUSTOMERS[rng.next(CUSTOMERS.len() as u64) as usize];
        let line = match (rng.next(3), mapped) {
            (0, Some(own)) => format!("-,{account},\"{own}\""),
            (1, Some(own)) => format!("+,{account},\"{own}\""), // a no-op
            (_, Some(own)) if own != c => format!("-,{account},\"{c}\""), // a no-op
            (_, Some(own)) => format!("-,{account},\"{own}\""),
            (_, None) => format!("+,{account},\"{c}\""),
        };
        state.apply(Kind::Identities, &line, true);
        text += &line;
        text += "\n";
    }
    text
}

fn purchase_changes(rng: &mut Lcg, state: &mut Inputs) -> String {
    let mut text = String::new();
    for _ in 0..6 {
        let line = match (rng.next(3), state.purchases.is_empty()) {
            (0, false) | (1, false) => {
                // A refund of a current purchase (one in three a day later: then
                // usually absent, a no-op).
                let q = state.purchases[rng.next(state.purchases.len() as u64) as usize].clone();
                let day = q.day + i64::from(rng.next(3) == 0);
                let line = purchase_line(rng, &q.customer, day, q.units, q.topic.as_deref());
                format!("-,{line}")
            }
            _ => {
                let all: Vec<&str> = CUSTOMERS.iter().chain(&SOLO).copied().collect();
                let c = all[rng.next(all.len() as u64) as usize];
                let topic = (rng.next(3) != 0).then(|| TOPICS[rng.next(3) as usize]);
                let (day, units) = (95 + rng.next(80) as i64, rng.next(300_000) as i64);
                format!("+,{}", purchase_line(rng, c, day, units, topic))
            }
        };
        state.apply(Kind::Purchases, &line, true);
        text += &line;
        text += "\n";
    }
    text
}
