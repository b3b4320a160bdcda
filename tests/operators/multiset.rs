//! `multiset::multiset` against a `BTreeMap` from record to its copies.
//!
//! Base records repeat; nightly changes of one record come in mixed order
//! within an epoch (positions are a random permutation, so arrival order is
//! not position order), `-` of an absent record is a no-op, and counts go
//! to zero and back.

use std::collections::BTreeMap;

use reach::dataflow::operators::multiset::{multiset, Counts};
use reach::dataflow::operators::set::{op_seq, Change, ChangeCounts, Counters};
use reach::dataflow::Time;
use reach::hash::mix;

use crate::harness::{check, run_with, Feed, Random, Run, FEEDS, SEEDS, WORKERS};

type R = u64;

/// What the model says about one run.
struct Expected {
    /// The multiset at each epoch, as a collection.
    sets: Vec<BTreeMap<R, i64>>,
    /// What each epoch's base and changes did, empty epochs left out.
    counts: BTreeMap<Time, ChangeCounts>,
}

/// The literal definition: per epoch, each base record adds a copy; then
/// the changes in position order: `+` adds a copy, `-` removes one if
/// there is one and otherwise does nothing.
fn model(base: &[Vec<R>], changes: &[Vec<Change<R>>]) -> Expected {
    let mut copies: BTreeMap<R, i64> = BTreeMap::new();
    let mut expected = Expected {
        sets: Vec::new(),
        counts: BTreeMap::new(),
    };
    for (epoch, (records, changes)) in base.iter().zip(changes).enumerate() {
        let mut counts = ChangeCounts::default();
        for record in records {
            *copies.entry(*record).or_insert(0) += 1;
            counts.applied_adds += 1;
        }
        let mut ordered = changes.clone();
        ordered.sort_by_key(|(_, seq)| *seq);
        for (record, seq) in ordered {
            let n = copies.entry(record).or_insert(0);
            if seq & 1 == 0 {
                *n += 1;
                counts.applied_adds += 1;
            } else if *n > 0 {
                *n -= 1;
                counts.applied_removes += 1;
            } else {
                counts.noop_removes += 1;
            }
        }
        copies.retain(|_, n| *n != 0);
        expected.sets.push(copies.clone());
        if counts != ChangeCounts::default() {
            expected.counts.insert(epoch as Time, counts);
        }
    }
    expected
}

/// Random epochs over 4 records: a base at epoch 0 with repeats (and now
/// and then a few base records later), and changes at later epochs, with
/// more `-` than `+` so that counts reach zero and `-` finds nothing.
fn generate(seed: u64) -> (Vec<Vec<R>>, Vec<Vec<Change<R>>>) {
    let mut rng = Random::new(seed);
    let epochs = 2 + rng.below(5) as usize;
    let mut base = Vec::new();
    let mut changes = Vec::new();
    for epoch in 0..epochs {
        let n = match epoch {
            0 => rng.below(9),
            _ if rng.one_in(4) => 1 + rng.below(2),
            _ => 0,
        };
        base.push((0..n).map(|_| rng.below(4)).collect::<Vec<_>>());
        let n = if epoch == 0 {
            0
        } else {
            rng.below(10) as usize
        };
        let mut positions: Vec<u64> = (0..n as u64).collect();
        for i in (1..n).rev() {
            positions.swap(i, rng.below(i as u64 + 1) as usize);
        }
        changes.push(
            positions
                .into_iter()
                .map(|p| (rng.below(4), op_seq(p, rng.below(5) < 3)))
                .collect(),
        );
    }
    (base, changes)
}

/// What a worker held after the run: its counters and its counts.
type Held = (BTreeMap<Time, ChangeCounts>, BTreeMap<R, u32>);

fn run_multiset(
    workers: usize,
    feed: Feed,
    base: &[Vec<R>],
    changes: &[Vec<Change<R>>],
    keep_state: bool,
) -> Run<R, Held> {
    run_with(
        workers,
        feed,
        base,
        changes,
        move |_, records, changes| {
            let counters: Counters = Default::default();
            let counts: Counts<R> = Default::default();
            let bag = multiset(
                records,
                changes,
                "Multiset",
                keep_state,
                (std::rc::Rc::clone(&counters), std::rc::Rc::clone(&counts)),
                |r| mix(*r),
            );
            (bag, (counters, counts))
        },
        |(counters, counts): (Counters, Counts<R>)| {
            let held = counts.borrow().iter().map(|(r, n)| (*r, *n)).collect();
            (counters.borrow().clone(), held)
        },
    )
}

/// Per-time counts summed over workers, empty times dropped.
fn summed(extras: &[Held]) -> BTreeMap<Time, ChangeCounts> {
    let mut total: BTreeMap<Time, ChangeCounts> = BTreeMap::new();
    for (counts, _) in extras {
        for (time, c) in counts {
            total.entry(*time).or_default().add(c);
        }
    }
    total.retain(|_, c| *c != ChangeCounts::default());
    total
}

/// Runs at every worker count and feed and checks the output at every
/// epoch, the counters, and the counts held at the end (each record at one
/// worker, no zeros).
fn check_all(name: &str, base: &[Vec<R>], changes: &[Vec<Change<R>>], expected: &Expected) {
    for workers in WORKERS {
        for feed in FEEDS {
            let label = format!("{name}, {workers} workers, {feed:?}");
            let run = run_multiset(workers, feed, base, changes, true);
            check(&label, &run, &expected.sets);
            assert_eq!(summed(&run.extras), expected.counts, "{label}: counters");
            let mut held: BTreeMap<R, i64> = BTreeMap::new();
            for (_, counts) in &run.extras {
                for (r, n) in counts {
                    assert!(
                        held.insert(*r, i64::from(*n)).is_none(),
                        "{label}: {r} twice"
                    );
                }
            }
            assert_eq!(&held, expected.sets.last().unwrap(), "{label}: held counts");
        }
    }
}

#[test]
fn multiset_matches_the_model_at_every_epoch() {
    let mut epochs_with_noops = 0;
    for seed in SEEDS {
        let (base, changes) = generate(seed);
        let expected = model(&base, &changes);
        epochs_with_noops += expected
            .counts
            .values()
            .filter(|c| c.noop_removes > 0)
            .count();
        check_all(&format!("seed {seed}"), &base, &changes, &expected);
    }
    assert!(epochs_with_noops > 0, "the seeds never tried a no-op `-`");
}

/// A hand-made run. Epoch 0: base `7, 7, 8`. Epoch 1: record 9's `-` at
/// position 0 (absent: a no-op) and `+` at position 1, sent `+` first;
/// record 8's `+` at position 3 and `-` at position 2 (sent in that order):
/// the `-` removes the base copy, the `+` adds it back. Epoch 2: record 7's
/// `-` three times (two copies: the third is a no-op). Epoch 3: record 7
/// back. Epoch 4: nothing.
#[test]
fn changes_apply_in_position_order_and_absent_removes_do_nothing() {
    let base = vec![vec![7, 7, 8], vec![], vec![], vec![], vec![]];
    let changes = vec![
        vec![],
        vec![
            (9, op_seq(1, false)),
            (9, op_seq(0, true)),
            (8, op_seq(3, false)),
            (8, op_seq(2, true)),
        ],
        vec![
            (7, op_seq(5, true)),
            (7, op_seq(0, true)),
            (7, op_seq(9, true)),
        ],
        vec![(7, op_seq(0, false))],
        vec![],
    ];
    let counts = |applied_adds, applied_removes, noop_removes| ChangeCounts {
        applied_adds,
        applied_removes,
        noop_adds: 0,
        noop_removes,
    };
    let by_hand = Expected {
        sets: vec![
            [(7, 2), (8, 1)].into(),
            [(7, 2), (8, 1), (9, 1)].into(),
            [(8, 1), (9, 1)].into(),
            [(7, 1), (8, 1), (9, 1)].into(),
            [(7, 1), (8, 1), (9, 1)].into(),
        ],
        counts: [
            (0, counts(3, 0, 0)),
            (1, counts(2, 1, 1)),
            (2, counts(0, 2, 1)),
            (3, counts(1, 0, 0)),
        ]
        .into(),
    };
    let modelled = model(&base, &changes);
    assert_eq!(modelled.sets, by_hand.sets, "the model's multisets");
    assert_eq!(modelled.counts, by_hand.counts, "the model's counts");
    check_all("by hand", &base, &changes, &by_hand);
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
                let run = run_multiset(workers, feed, &base, &changes, false);
                check(&label, &run, &expected.sets);
                assert_eq!(summed(&run.extras), expected.counts, "{label}: counters");
                assert!(
                    run.extras.iter().all(|(_, held)| held.is_empty()),
                    "{label}: counts held without state"
                );
            }
        }
    }
}
