//! `fields::assemble` against a `BTreeMap` of each key's fields.
//!
//! Updates keep the operator's contract (each field of a key holds at most
//! one value at the end of every epoch) and exercise what it allows: a
//! field's value replaced (the retraction and the insertion in random order,
//! so that after consolidation the new value may come first), a value
//! inserted and retracted within one epoch, a field emptied, and keys whose
//! fields all empty (forgotten, and their row gone).

use std::collections::BTreeMap;

use reach::dataflow::operators::fields::{assemble, Fields};
use reach::dataflow::{Diff, Time};
use reach::hash::mix;

use crate::harness::{check, run, Random, FEEDS, SEEDS, WORKERS};

type K = u64;
/// `(field, value)`: field 0 (the row's presence), 1 or 2; values 1..=4.
type V = (u8, u8);
type Update = ((K, V), Time, Diff);
/// `(key, field 0, field 1, field 2)`.
type O = (K, u8, u8, u8);

/// Three fields, 0 when empty.
#[derive(Clone, Debug, Default, PartialEq)]
struct Trio([u8; 3]);

impl Fields for Trio {
    type Value = V;
    fn insert(&mut self, &(field, value): &V) {
        self.0[usize::from(field)] = value;
    }
    fn retract(&mut self, &(field, value): &V) {
        if self.0[usize::from(field)] == value {
            self.0[usize::from(field)] = 0;
        }
    }
}

/// A row for each key whose field 0 holds a value.
fn view(key: &K, fields: &Trio) -> Option<O> {
    let [a, b, c] = fields.0;
    (a != 0).then_some((*key, a, b, c))
}

/// The literal definition: at each epoch, the row of each key's fields.
fn model(epochs: &[Vec<Update>]) -> Vec<BTreeMap<O, i64>> {
    let mut values: BTreeMap<(K, u8), BTreeMap<u8, Diff>> = BTreeMap::new();
    let mut expected = Vec::new();
    for updates in epochs {
        for ((key, (field, value)), _, diff) in updates {
            *values
                .entry((*key, *field))
                .or_default()
                .entry(*value)
                .or_insert(0) += diff;
        }
        let mut rows: BTreeMap<K, [u8; 3]> = BTreeMap::new();
        for ((key, field), counts) in &values {
            let present: Vec<u8> = counts
                .iter()
                .filter(|(_, n)| **n != 0)
                .map(|(v, n)| {
                    assert_eq!(*n, 1, "the generator broke the contract");
                    *v
                })
                .collect();
            assert!(present.len() <= 1, "the generator broke the contract");
            if let Some(value) = present.first() {
                rows.entry(*key).or_default()[usize::from(*field)] = *value;
            }
        }
        expected.push(
            rows.iter()
                .filter_map(|(key, fields)| view(key, &Trio(*fields)))
                .map(|row| (row, 1))
                .collect(),
        );
    }
    expected
}

/// Random epochs over 4 keys that keep each field to one value.
fn generate(seed: u64) -> Vec<Vec<Update>> {
    let mut rng = Random::new(seed);
    let mut current: BTreeMap<(K, u8), u8> = BTreeMap::new();
    let epochs = 1 + rng.below(7);
    (0..epochs as Time)
        .map(|time| {
            let mut updates = Vec::new();
            for _ in 0..rng.below(12) {
                let (key, field) = (rng.below(4), rng.below(3) as u8);
                let value = 1 + rng.below(4) as u8;
                let old = current.get(&(key, field)).copied();
                match (rng.below(4), old) {
                    (0, Some(old)) => {
                        // Emptied.
                        updates.push(((key, (field, old)), time, -1));
                        current.remove(&(key, field));
                    }
                    (1, None) => {
                        // In and out within the epoch.
                        updates.push(((key, (field, value)), time, 1));
                        updates.push(((key, (field, value)), time, -1));
                    }
                    (_, old) if old != Some(value) => {
                        // Set or replaced.
                        if let Some(old) = old {
                            updates.push(((key, (field, old)), time, -1));
                        }
                        updates.push(((key, (field, value)), time, 1));
                        current.insert((key, field), value);
                    }
                    _ => {}
                }
            }
            // Any order within the epoch.
            for i in (1..updates.len()).rev() {
                updates.swap(i, rng.below(i as u64 + 1) as usize);
            }
            updates
        })
        .collect()
}

#[test]
fn assemble_matches_the_model_at_every_epoch() {
    for seed in SEEDS {
        let input = generate(seed);
        let expected = model(&input);
        let none: Vec<Vec<()>> = Vec::new();
        for workers in WORKERS {
            for feed in FEEDS {
                let label = format!("seed {seed}, {workers} workers, {feed:?}");
                let run = run(workers, feed, &input, &none, |_, updates, _| {
                    use differential_dataflow::AsCollection;
                    assemble::<_, Trio, _>(updates.as_collection(), "Fields", |k| mix(*k), view)
                });
                check(&label, &run, &expected);
            }
        }
    }
}
