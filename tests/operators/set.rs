//! `set::keyed_state` against a `BTreeMap` from key to record.
//!
//! Records are adoptions `((user, topic), day)`: the key is `(user, topic)`
//! and an add with an earlier day improves on the present record, so base
//! unions, improving adds, no-op adds, removes and no-op removes all occur.

use std::collections::BTreeMap;

use reach::dataflow::graph::AdoptionRecord;
use reach::dataflow::operators::set::{keyed_state, op_seq, Change, ChangeCounts, Keyed, State};
use reach::dataflow::Time;
use reach::hash::mix;

use crate::harness::{check, run_with, Random, FEEDS, SEEDS, WORKERS};

type R = AdoptionRecord;

/// What the model says about one run.
struct Expected {
    /// The set at each epoch, as a collection.
    sets: Vec<BTreeMap<R, i64>>,
    /// What each epoch's base and changes did.
    counts: Vec<ChangeCounts>,
    /// The differences the changes (not the base) made, over all epochs.
    journal: BTreeMap<R, i64>,
}

/// The literal definition: per epoch, each base record is added unless its
/// key holds a record it does not improve on; then the changes in position
/// order: `+` the same, `-` removes the key.
fn model(base: &[Vec<R>], changes: &[Vec<Change<R>>]) -> Expected {
    let mut set: BTreeMap<(u32, u32), R> = BTreeMap::new();
    let mut expected = Expected {
        sets: Vec::new(),
        counts: Vec::new(),
        journal: BTreeMap::new(),
    };
    for (records, changes) in base.iter().zip(changes) {
        let mut counts = ChangeCounts::default();
        let before = set.clone();
        for record in records {
            match set.get(record.key()) {
                Some(present) if !record.improves(present) => {}
                _ => {
                    set.insert(*record.key(), *record);
                }
            }
        }
        counts.applied_adds += set.iter().filter(|(k, r)| before.get(k) != Some(r)).count() as u64;
        let after_base = set.clone();
        let mut ordered = changes.clone();
        ordered.sort_by_key(|(_, seq)| *seq);
        for (record, seq) in ordered {
            if seq & 1 == 1 {
                match set.remove(record.key()) {
                    Some(_) => counts.applied_removes += 1,
                    None => counts.noop_removes += 1,
                }
            } else {
                match set.get(record.key()) {
                    Some(present) if !record.improves(present) => counts.noop_adds += 1,
                    _ => {
                        set.insert(*record.key(), record);
                        counts.applied_adds += 1;
                    }
                }
            }
        }
        for r in after_base.values() {
            *expected.journal.entry(*r).or_insert(0) -= 1;
        }
        for r in set.values() {
            *expected.journal.entry(*r).or_insert(0) += 1;
        }
        expected.journal.retain(|_, d| *d != 0);
        expected.sets.push(set.values().map(|r| (*r, 1)).collect());
        expected.counts.push(counts);
    }
    expected
}

fn record(rng: &mut Random) -> R {
    (
        (rng.below(3) as u32, rng.below(2) as u32),
        rng.below(4) as i32,
    )
}

/// Random epochs of base records and changes over 6 keys and 4 days;
/// change positions are a random permutation, so arrival order is not
/// position order.
fn generate(seed: u64) -> (Vec<Vec<R>>, Vec<Vec<Change<R>>>) {
    let mut rng = Random::new(seed);
    let epochs = 1 + rng.below(6) as usize;
    let mut base = Vec::new();
    let mut changes = Vec::new();
    for epoch in 0..epochs {
        let n = rng.below(if epoch == 0 { 9 } else { 4 });
        base.push((0..n).map(|_| record(&mut rng)).collect::<Vec<_>>());
        let n = rng.below(9) as usize;
        let mut positions: Vec<u64> = (0..n as u64).collect();
        for i in (1..n).rev() {
            positions.swap(i, rng.below(i as u64 + 1) as usize);
        }
        changes.push(
            positions
                .into_iter()
                .map(|p| (record(&mut rng), op_seq(p, rng.one_in(2))))
                .collect(),
        );
    }
    (base, changes)
}

/// What a worker held after the run.
type Held = (BTreeMap<Time, ChangeCounts>, Vec<R>, Vec<(R, i32)>);

fn run_set(
    workers: usize,
    feed: crate::harness::Feed,
    base: &[Vec<R>],
    changes: &[Vec<Change<R>>],
    keep_state: bool,
) -> crate::harness::Run<R, Held> {
    run_with(
        workers,
        feed,
        base,
        changes,
        move |_, records, changes| {
            let counters = Default::default();
            let state: State<R> = Default::default();
            state.borrow_mut().journal = Some(Vec::new());
            let route = |((user, topic), _): &R| mix(u64::from(*user) ^ mix(u64::from(*topic)));
            let set = keyed_state(
                records,
                changes,
                "Set",
                keep_state,
                (std::rc::Rc::clone(&counters), std::rc::Rc::clone(&state)),
                0,
                route,
            );
            (set, (counters, state))
        },
        |(counters, state): (reach::dataflow::operators::set::Counters, State<R>)| {
            let mut held = state.borrow_mut();
            let journal = held.journal.take().unwrap_or_default();
            (
                counters.borrow().clone(),
                std::mem::take(&mut held.set),
                journal,
            )
        },
    )
}

/// Per-time counts summed over workers, empty times dropped.
fn summed(extras: &[Held]) -> BTreeMap<Time, ChangeCounts> {
    let mut total: BTreeMap<Time, ChangeCounts> = BTreeMap::new();
    for (counts, _, _) in extras {
        for (time, c) in counts {
            total.entry(*time).or_default().add(c);
        }
    }
    total.retain(|_, c| *c != ChangeCounts::default());
    total
}

#[test]
fn keyed_state_matches_the_model_at_every_epoch() {
    for seed in SEEDS {
        let (base, changes) = generate(seed);
        let expected = model(&base, &changes);
        for workers in WORKERS {
            for feed in FEEDS {
                let label = format!("seed {seed}, {workers} workers, {feed:?}");
                let run = run_set(workers, feed, &base, &changes, true);
                check(&label, &run, &expected.sets);
                let want: BTreeMap<Time, ChangeCounts> = (expected.counts.iter().enumerate())
                    .filter(|(_, c)| **c != ChangeCounts::default())
                    .map(|(t, c)| (t as Time, *c))
                    .collect();
                assert_eq!(summed(&run.extras), want, "{label}: change counts");
                // The held sets: each sorted by key, together the final set.
                let mut held = BTreeMap::new();
                let mut journal: BTreeMap<R, i64> = BTreeMap::new();
                for (_, set, log) in &run.extras {
                    assert!(
                        set.windows(2).all(|w| w[0].key() < w[1].key()),
                        "{label}: {set:?}"
                    );
                    held.extend(set.iter().map(|r| (*r, 1i64)));
                    for (r, d) in log {
                        *journal.entry(*r).or_insert(0) += i64::from(*d);
                    }
                }
                journal.retain(|_, d| *d != 0);
                assert_eq!(&held, expected.sets.last().unwrap(), "{label}: held set");
                assert_eq!(journal, expected.journal, "{label}: journal");
            }
        }
    }
}

#[test]
fn without_state_the_base_is_emitted_once() {
    for seed in SEEDS {
        let (mut base, _) = generate(seed);
        base.truncate(1);
        let changes = vec![Vec::new()];
        let expected = model(&base, &changes);
        for workers in WORKERS {
            for feed in FEEDS {
                let label = format!("seed {seed}, {workers} workers, {feed:?}, no state");
                let run = run_set(workers, feed, &base, &changes, false);
                check(&label, &run, &expected.sets);
                assert_eq!(
                    summed(&run.extras).get(&0).copied().unwrap_or_default(),
                    expected.counts[0],
                    "{label}: change counts"
                );
                assert!(
                    run.extras.iter().all(|(_, set, _)| set.is_empty()),
                    "{label}"
                );
            }
        }
    }
}
