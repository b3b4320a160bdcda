//! `current::reduce_current` against a `BTreeMap` of each key's values.
//!
//! Input updates keep every accumulated count non-negative (the operator's
//! contract, as for any reduce over a collection), and include values added
//! and retracted within one epoch, retracted in a later epoch, added twice,
//! and keys that lose their last value.

use std::collections::BTreeMap;

use reach::dataflow::operators::current::{reduce_current, reduce_current_kept};
use reach::dataflow::{Diff, Time};
use reach::hash::mix;

use crate::harness::{check, run, Random, FEEDS, SEEDS, WORKERS};

type K = u64;
type V = u64;
/// Input updates.
type Update = ((K, V), Time, Diff);
/// `(key, what, number)`.
type O = (u64, u8, i64);

/// Some function of a key and its values (sorted, positive counts), with
/// several outputs per key, duplicates among them, and none for some keys.
fn logic(key: &K, values: &[(V, Diff)], out: &mut Vec<O>) {
    let total: i64 = values.iter().map(|(_, n)| i64::from(*n)).sum();
    if total == 3 {
        return;
    }
    let weighted: i64 = values.iter().map(|(v, n)| *v as i64 * i64::from(*n)).sum();
    out.push((*key, 0, weighted));
    out.push((*key, 1, values.last().map_or(-1, |(v, _)| *v as i64)));
    if values.len().is_multiple_of(2) {
        out.push((*key, 2, values[0].0 as i64));
        out.push((*key, 2, values[0].0 as i64));
    }
}

/// The literal definition: at each epoch, `logic` of every key's
/// accumulated values (those with a positive count), each output once per
/// time it is pushed.
fn model(epochs: &[Vec<Update>]) -> Vec<BTreeMap<O, i64>> {
    let mut values: BTreeMap<K, BTreeMap<V, Diff>> = BTreeMap::new();
    let mut expected = Vec::new();
    for updates in epochs {
        for ((k, v), _, d) in updates {
            *values.entry(*k).or_default().entry(*v).or_insert(0) += d;
        }
        let mut outputs = BTreeMap::new();
        for (k, vals) in &values {
            let vals: Vec<(V, Diff)> = vals
                .iter()
                .filter(|(_, n)| **n != 0)
                .map(|(v, n)| (*v, *n))
                .collect();
            assert!(
                vals.iter().all(|(_, n)| *n > 0),
                "the generator went negative"
            );
            if vals.is_empty() {
                continue;
            }
            let mut out = Vec::new();
            logic(k, &vals, &mut out);
            for o in out {
                *outputs.entry(o).or_insert(0) += 1;
            }
        }
        expected.push(outputs);
    }
    expected
}

/// Random epochs of updates over 4 keys and 5 values whose accumulated
/// counts never go negative.
fn generate(seed: u64) -> Vec<Vec<Update>> {
    let mut rng = Random::new(seed);
    let mut counts: BTreeMap<(K, V), Diff> = BTreeMap::new();
    let epochs = 1 + rng.below(7);
    (0..epochs as Time)
        .map(|time| {
            let mut updates = Vec::new();
            for _ in 0..rng.below(12) {
                let kv = (rng.below(4), rng.below(5));
                let count = counts.entry(kv).or_insert(0);
                match rng.below(4) {
                    0 | 1 if *count > 0 => {
                        let d = if *count > 1 && rng.one_in(2) { -2 } else { -1 };
                        updates.push((kv, time, d));
                        *count += d;
                    }
                    0 | 1 => {
                        updates.push((kv, time, 1));
                        *count += 1;
                    }
                    2 => {
                        let d = 1 + rng.below(2) as Diff;
                        updates.push((kv, time, d));
                        *count += d;
                    }
                    _ => {
                        // Cancels within the epoch, in either order.
                        let d = if rng.one_in(2) { 1 } else { -1 };
                        updates.push((kv, time, d));
                        updates.push((kv, time, -d));
                    }
                }
            }
            updates
        })
        .collect()
}

#[test]
fn reduce_current_matches_the_model_at_every_epoch() {
    for seed in SEEDS {
        let input = generate(seed);
        let expected = model(&input);
        let none: Vec<Vec<()>> = Vec::new();
        for workers in WORKERS {
            for feed in FEEDS {
                let label = format!("seed {seed}, {workers} workers, {feed:?}");
                let run = run(workers, feed, &input, &none, |_, updates, _| {
                    use differential_dataflow::AsCollection;
                    reduce_current(updates.as_collection(), "Current", |k| mix(*k), logic)
                });
                check(&label, &run, &expected);
            }
        }
    }
}

/// A key and its one output.
type KeptRow = (K, (i64, i64));

/// One output per key for `reduce_current_kept`: a function of the values
/// that often stays the same when they change (so that "no change" is
/// exercised as well as a changed output).
fn single(key: &K, values: &[(V, Diff)]) -> (i64, i64) {
    let total: i64 = values.iter().map(|(_, n)| i64::from(*n)).sum();
    (*key as i64 * 10 + (total % 3), values[0].0 as i64)
}

#[test]
fn reduce_current_kept_matches_the_model_at_every_epoch() {
    for seed in SEEDS {
        let input = generate(seed);
        // The literal definition: `(key, single(values))` for every key
        // with values, read off the generic model's per-key outputs.
        let expected: Vec<BTreeMap<KeptRow, i64>> = {
            let mut values: BTreeMap<K, BTreeMap<V, Diff>> = BTreeMap::new();
            input
                .iter()
                .map(|updates| {
                    for ((k, v), _, d) in updates {
                        *values.entry(*k).or_default().entry(*v).or_insert(0) += d;
                    }
                    values
                        .iter()
                        .filter_map(|(k, vals)| {
                            let vals: Vec<(V, Diff)> = vals
                                .iter()
                                .filter(|(_, n)| **n != 0)
                                .map(|(v, n)| (*v, *n))
                                .collect();
                            (!vals.is_empty()).then(|| ((*k, single(k, &vals)), 1))
                        })
                        .collect()
                })
                .collect()
        };
        let none: Vec<Vec<()>> = Vec::new();
        for workers in WORKERS {
            for feed in FEEDS {
                let label = format!("seed {seed}, {workers} workers, {feed:?}");
                let run = run(workers, feed, &input, &none, |_, updates, _| {
                    use differential_dataflow::AsCollection;
                    reduce_current_kept(updates.as_collection(), "Kept", |k| mix(*k), single)
                });
                check(&label, &run, &expected);
            }
        }
    }
}
