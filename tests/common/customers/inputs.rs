//! The inputs of the customers oracle as METRICS.md defines their state,
//! built from base files and changed night by night, line by line.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use super::{parse_day, parse_units};
use crate::common::csv_fields;
/// One purchase; `units` are 1/10_000 of the currency.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Purchase {
    pub customer: String,
    pub day: i64,
    pub units: i64,
    pub topic: Option<String>,
}

/// The inputs as they stand (METRICS.md's state after every line so far).
#[derive(Clone, Debug, Default)]
pub struct Inputs {
    /// Each friendship once, smaller id first.
    pub friendships: BTreeSet<(u64, u64)>,
    /// (user, topic) -> adoption day.
    pub adoptions: BTreeMap<(u64, String), i64>,
    /// account -> customer.
    pub identities: BTreeMap<u64, String>,
    /// Every current purchase (a multiset, in arrival order).
    pub purchases: Vec<Purchase>,
    /// Whether identities or purchases have appeared (a base file or a
    /// night's file, even empty): before that the customer tables are empty.
    pub customer_inputs: bool,
}

/// Which input a text is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Friendships,
    Adoptions,
    Identities,
    Purchases,
}

impl Kind {
    /// The kind of a night file, by the start of its name.
    pub fn of_file(name: &str) -> Option<Kind> {
        [
            ("friendships", Kind::Friendships),
            ("adoptions", Kind::Adoptions),
            ("identities", Kind::Identities),
            ("purchases", Kind::Purchases),
        ]
        .into_iter()
        .find(|(prefix, _)| name.starts_with(prefix))
        .map(|(_, kind)| kind)
    }
}

/// The records of a text (comments and a header skipped), split the way
/// METRICS.md says, the separator detected per file.
fn records(text: &str) -> Vec<Vec<String>> {
    let tab = text.contains('\t');
    let comma = !tab && text.contains(',');
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.trim_end_matches('\r');
        let t = line.trim();
        if t.is_empty() || t.starts_with('#') || t.starts_with('%') {
            continue;
        }
        let fields: Vec<String> = if tab {
            line.split('\t').map(|f| f.trim().to_string()).collect()
        } else if comma {
            csv_fields(line)
                .into_iter()
                .map(|f| f.trim().to_string())
                .collect()
        } else {
            line.split_whitespace().map(str::to_string).collect()
        };
        out.push(fields);
    }
    out
}

impl Inputs {
    /// Applies a text of `kind`: base records (`nightly` false, read as `+`)
    /// or change lines. Returns the no-ops. A header is the first record
    /// when its first field is a plain name (not an op, not a number).
    pub fn apply(&mut self, kind: Kind, text: &str, nightly: bool) -> u64 {
        let mut no_ops = 0;
        self.customer_inputs |= matches!(kind, Kind::Identities | Kind::Purchases);
        for (i, mut f) in records(text).into_iter().enumerate() {
            let header = if nightly {
                f[0] != "+" && f[0] != "-"
            } else {
                f[0].parse::<u64>().is_err() && kind != Kind::Purchases
                    || kind == Kind::Purchases && f.len() > 2 && f[2].parse::<f64>().is_err()
            };
            if i == 0 && header {
                continue;
            }
            let add = if nightly { f.remove(0) == "+" } else { true };
            let done = match kind {
                Kind::Friendships => {
                    let (a, b): (u64, u64) = (f[0].parse().unwrap(), f[1].parse().unwrap());
                    if a == b {
                        continue; // rejected, not a no-op
                    }
                    let key = (a.min(b), a.max(b));
                    if add {
                        self.friendships.insert(key)
                    } else {
                        self.friendships.remove(&key)
                    }
                }
                Kind::Adoptions => {
                    let key = (f[0].parse().unwrap(), f[1].clone());
                    if !add {
                        self.adoptions.remove(&key).is_some()
                    } else {
                        let day = parse_day(&f[2]);
                        match self.adoptions.get(&key) {
                            Some(&current) if current <= day => false,
                            _ => {
                                self.adoptions.insert(key, day);
                                true
                            }
                        }
                    }
                }
                Kind::Identities => {
                    let (account, customer) = (f[0].parse().unwrap(), f[1].clone());
                    match (add, self.identities.get(&account)) {
                        (true, Some(c)) if *c == customer => false,
                        (true, Some(c)) => {
                            panic!("oracle: account {account} has customer {c}, not {customer}")
                        }
                        (true, None) => self.identities.insert(account, customer).is_none(),
                        (false, Some(c)) if *c == customer => {
                            self.identities.remove(&account).is_some()
                        }
                        (false, _) => false,
                    }
                }
                Kind::Purchases => {
                    let purchase = Purchase {
                        customer: f[0].clone(),
                        day: parse_day(&f[1]),
                        units: parse_units(&f[2]),
                        topic: f.get(3).filter(|t| !t.is_empty()).cloned(),
                    };
                    if add {
                        self.purchases.push(purchase);
                        true
                    } else if let Some(i) = self.purchases.iter().position(|p| *p == purchase) {
                        self.purchases.remove(i);
                        true
                    } else {
                        false
                    }
                }
            };
            no_ops += u64::from(!done);
        }
        no_ops
    }

    /// Applies a night directory's files (in name order), as METRICS.md
    /// says; returns the no-ops per kind.
    pub fn apply_night(&mut self, night: &Path) -> BTreeMap<&'static str, u64> {
        let mut names: Vec<_> = std::fs::read_dir(night)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        let mut no_ops = BTreeMap::new();
        for name in names {
            let Some(kind) = Kind::of_file(&name) else {
                continue;
            };
            let text = std::fs::read_to_string(night.join(&name)).unwrap();
            let key = match kind {
                Kind::Friendships => "friendships",
                Kind::Adoptions => "adoptions",
                Kind::Identities => "identities",
                Kind::Purchases => "purchases",
            };
            *no_ops.entry(key).or_insert(0) += self.apply(kind, &text, true);
        }
        no_ops
    }
}

/// A field for a CSV line, quoted when it holds a comma or a quote.
fn csv_field(field: &str) -> String {
    if field.contains(',') || field.contains('"') {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_string()
    }
}

impl Inputs {
    /// The state written as base files: friendships, adoptions and
    /// identities as CSV with a header, purchases as CSV without one.
    pub fn texts(&self) -> Vec<(Kind, String)> {
        let mut f = String::from("src,dst\n");
        for (a, b) in &self.friendships {
            f += &format!("{a},{b}\n");
        }
        let mut a = String::from("user,topic,day\n");
        for ((u, t), d) in &self.adoptions {
            a += &format!("{u},{},{d}\n", csv_field(t));
        }
        let mut i = String::from("account,customer\n");
        for (account, customer) in &self.identities {
            i += &format!("{account},{}\n", csv_field(customer));
        }
        let mut p = String::new();
        for q in &self.purchases {
            p += &format!(
                "{},{},{}",
                csv_field(&q.customer),
                q.day,
                super::units_text(q.units.into())
            );
            if let Some(t) = &q.topic {
                p += &format!(",{}", csv_field(t));
            }
            p += "\n";
        }
        vec![
            (Kind::Friendships, f),
            (Kind::Adoptions, a),
            (Kind::Identities, i),
            (Kind::Purchases, p),
        ]
    }
}
