//! `global::with_global` against a `BTreeMap` of each key's value and the
//! current global set.
//!
//! Inputs keep the operator's contract (each key holds at most one value at
//! a time; the globals are a set) and mix epochs where only keys change,
//! only the globals change, both change, and nothing changes; keys change
//! value (up or down, or twice over), appear, disappear, or appear and
//! vanish within an epoch; globals are added, removed, all removed, and
//! added and removed within an epoch.

use std::collections::{BTreeMap, BTreeSet};

use differential_dataflow::AsCollection;
use reach::dataflow::operators::global::with_global;
use reach::dataflow::{Diff, Time};
use reach::hash::mix;

use crate::harness::{check, run, Feed, Random, FEEDS, SEEDS, WORKERS};

type K = u64;
type V = u64;
type G = u64;
/// Keyed value updates.
type Item = ((K, V), Time, Diff);
/// Global updates.
type Global = (G, Time, Diff);
/// `(key % 3, value, globals at or below the value, globals, globals sorted
/// and distinct)`: keys 3 apart with one value give the same output.
type O = (u64, u64, u64, u64, bool);

/// Some function of a key, its value and the globals, which depends on the
/// globals' order (a binary search) and number, says whether they came
/// sorted and distinct, and has no output for some inputs.
fn logic(key: &K, value: &V, globals: &[G]) -> Option<O> {
    if (key + value + globals.len() as u64) % 4 == 3 {
        return None;
    }
    let sorted = globals.windows(2).all(|w| w[0] < w[1]);
    let rank = globals.partition_point(|g| g <= value) as u64;
    Some((key % 3, *value, rank, globals.len() as u64, sorted))
}

/// The literal definition: at each epoch, the accumulated `(key, value)`
/// pairs (each key with one value, once) and the accumulated globals (each
/// once, sorted); `logic` of every pair with those globals.
fn model(items: &[Vec<Item>], globals: &[Vec<Global>]) -> Vec<BTreeMap<O, i64>> {
    let mut pairs: BTreeMap<(K, V), Diff> = BTreeMap::new();
    let mut set: BTreeMap<G, Diff> = BTreeMap::new();
    let mut expected = Vec::new();
    for epoch in 0..items.len().max(globals.len()) {
        for (kv, _, d) in items.get(epoch).into_iter().flatten() {
            *pairs.entry(*kv).or_insert(0) += d;
        }
        for (g, _, d) in globals.get(epoch).into_iter().flatten() {
            *set.entry(*g).or_insert(0) += d;
        }
        pairs.retain(|_, d| *d != 0);
        set.retain(|_, d| *d != 0);
        assert!(
            pairs.values().all(|d| *d == 1),
            "the generator repeated a pair"
        );
        assert!(
            set.values().all(|d| *d == 1),
            "the generator repeated a global"
        );
        let values: BTreeMap<K, V> = pairs.keys().map(|(k, v)| (*k, *v)).collect();
        assert_eq!(
            values.len(),
            pairs.len(),
            "the generator gave a key two values"
        );
        let sorted: Vec<G> = set.keys().copied().collect();
        let mut outputs = BTreeMap::new();
        for (k, v) in &values {
            if let Some(o) = logic(k, v, &sorted) {
                *outputs.entry(o).or_insert(0) += 1;
            }
        }
        expected.push(outputs);
    }
    expected
}

/// What changes in an epoch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Keys,
    Globals,
    Both,
    Neither,
}

/// A random epoch's updates to keys: over 6 keys and 8 values.
fn key_updates(rng: &mut Random, values: &mut BTreeMap<K, V>, time: Time) -> Vec<Item> {
    let mut updates = Vec::new();
    for _ in 0..1 + rng.below(4) {
        let key = rng.below(6);
        let fresh = |rng: &mut Random, not: Option<V>| loop {
            let v = rng.below(8);
            if Some(v) != not {
                return v;
            }
        };
        match values.get(&key).copied() {
            Some(old) => match rng.below(5) {
                0 | 1 => {
                    // A new value, retracting the old one.
                    let new = fresh(rng, Some(old));
                    updates.push(((key, old), time, -1));
                    updates.push(((key, new), time, 1));
                    values.insert(key, new);
                }
                2 => {
                    updates.push(((key, old), time, -1));
                    values.remove(&key);
                }
                3 => {
                    // Two changes within the epoch.
                    let mid = fresh(rng, Some(old));
                    let new = fresh(rng, Some(mid));
                    updates.push(((key, old), time, -1));
                    updates.push(((key, mid), time, 1));
                    updates.push(((key, mid), time, -1));
                    updates.push(((key, new), time, 1));
                    values.insert(key, new);
                }
                _ => {
                    // Retracted and added again.
                    updates.push(((key, old), time, -1));
                    updates.push(((key, old), time, 1));
                }
            },
            None => {
                let new = fresh(rng, None);
                updates.push(((key, new), time, 1));
                if rng.one_in(4) {
                    updates.push(((key, new), time, -1));
                } else {
                    values.insert(key, new);
                }
            }
        }
    }
    updates
}

/// A random epoch's updates to the globals: over 7 globals.
fn global_updates(rng: &mut Random, set: &mut BTreeSet<G>, time: Time) -> Vec<Global> {
    let mut updates = Vec::new();
    if !set.is_empty() && rng.one_in(5) {
        // All of them removed.
        updates.extend(set.iter().map(|g| (*g, time, -1)));
        set.clear();
        return updates;
    }
    for _ in 0..1 + rng.below(3) {
        let g = rng.below(7);
        let d = if set.contains(&g) { -1 } else { 1 };
        updates.push((g, time, d));
        if rng.one_in(4) {
            updates.push((g, time, -d));
        } else if d == 1 {
            set.insert(g);
        } else {
            set.remove(&g);
        }
    }
    updates
}

/// Shuffles an epoch's updates, so that a retraction may come first or
/// last and be sent by any worker.
fn shuffle<T>(rng: &mut Random, xs: &mut [T]) {
    for i in (1..xs.len()).rev() {
        xs.swap(i, rng.below(i as u64 + 1) as usize);
    }
}

/// Random epochs of key and global updates, and what each epoch changes.
fn generate(seed: u64) -> (Vec<Vec<Item>>, Vec<Vec<Global>>, Vec<Kind>) {
    let mut rng = Random::new(seed);
    let mut values = BTreeMap::new();
    let mut set = BTreeSet::new();
    let (mut items, mut globals, mut kinds) = (Vec::new(), Vec::new(), Vec::new());
    for time in 0..2 + rng.below(7) as Time {
        let kind = match (time, rng.below(4)) {
            (0, _) => Kind::Both,
            (_, 0) => Kind::Keys,
            (_, 1) => Kind::Globals,
            (_, 2) => Kind::Both,
            _ => Kind::Neither,
        };
        let mut i = Vec::new();
        let mut g = Vec::new();
        if matches!(kind, Kind::Keys | Kind::Both) {
            i = key_updates(&mut rng, &mut values, time);
        }
        if matches!(kind, Kind::Globals | Kind::Both) {
            g = global_updates(&mut rng, &mut set, time);
        }
        shuffle(&mut rng, &mut i);
        shuffle(&mut rng, &mut g);
        items.push(i);
        globals.push(g);
        kinds.push(kind);
    }
    (items, globals, kinds)
}

fn run_global(
    workers: usize,
    feed: Feed,
    items: &[Vec<Item>],
    globals: &[Vec<Global>],
) -> crate::harness::Run<O, ()> {
    run(workers, feed, items, globals, |_, items, globals| {
        with_global(
            items.as_collection(),
            globals.as_collection(),
            "Global",
            |k| mix(*k),
            logic,
        )
    })
}

#[test]
fn with_global_matches_the_model_at_every_epoch() {
    let mut kinds_seen = BTreeSet::new();
    for seed in SEEDS {
        let (items, globals, kinds) = generate(seed);
        kinds_seen.extend(kinds);
        let expected = model(&items, &globals);
        for workers in WORKERS {
            for feed in FEEDS {
                let label = format!("seed {seed}, {workers} workers, {feed:?}");
                let run = run_global(workers, feed, &items, &globals);
                check(&label, &run, &expected);
            }
        }
    }
    let all = BTreeSet::from([Kind::Keys, Kind::Globals, Kind::Both, Kind::Neither]);
    assert_eq!(kinds_seen, all, "the seeds cover every kind of epoch");
}

/// A hand-made run: epoch 1 changes only the globals (every key must be
/// computed again), epoch 2 changes nothing, epoch 3 changes both, epoch 4
/// removes every global, epoch 5 only moves a key.
#[test]
fn a_change_of_the_globals_alone_recomputes_every_key() {
    let items: Vec<Vec<Item>> = vec![
        vec![
            ((0, 2), 0, 1),
            ((1, 5), 0, 1),
            ((4, 5), 0, 1),
            ((5, 7), 0, 1),
        ],
        vec![],
        vec![],
        vec![((1, 5), 3, -1), ((1, 1), 3, 1), ((5, 7), 3, -1)],
        vec![],
        vec![((0, 2), 5, -1), ((0, 6), 5, 1)],
    ];
    let globals: Vec<Vec<Global>> = vec![
        vec![(6, 0, 1), (3, 0, 1)],
        vec![(1, 1, 1), (4, 1, 1), (3, 1, -1)],
        vec![],
        vec![(0, 3, 1)],
        vec![(0, 4, -1), (1, 4, -1), (4, 4, -1), (6, 4, -1)],
        vec![],
    ];
    let expected = model(&items, &globals);
    // By hand, epoch 1: globals [1, 4, 6]; key 0 (value 2): rank 1; keys 1
    // and 4 (value 5): rank 2, the same output twice; key 5 (value 7): 5 +
    // 7 + 3 is 3 mod 4, no output.
    let by_hand: BTreeMap<O, i64> = [((0, 2, 1, 3, true), 1), ((1, 5, 2, 3, true), 2)].into();
    assert_eq!(expected[1], by_hand, "the model at epoch 1");
    assert_eq!(expected[1], expected[2], "the model at epoch 2");
    for workers in WORKERS {
        for feed in FEEDS {
            let label = format!("by hand, {workers} workers, {feed:?}");
            check(
                &label,
                &run_global(workers, feed, &items, &globals),
                &expected,
            );
        }
    }
}
