//! `count::count_current` against `count_total`'s definition: at every
//! epoch, `(record, n)` once for each record whose accumulated multiplicity
//! `n` is not zero. Diffs of either sign that cancel within and across
//! epochs, and multiplicities that go negative.

use std::collections::BTreeMap;

use differential_dataflow::AsCollection;
use reach::dataflow::operators::count::count_current;
use reach::dataflow::{Diff, Time};
use reach::hash::mix;

use crate::harness::{accumulate, check, run, Random, FEEDS, SEEDS, WORKERS};

type Update = (u64, Time, Diff);

/// Random epochs of updates over 5 records.
fn generate(seed: u64) -> Vec<Vec<Update>> {
    let mut rng = Random::new(seed);
    let epochs = 1 + rng.below(6) as Time;
    (0..epochs)
        .map(|time| {
            let mut updates = Vec::new();
            for _ in 0..rng.below(16) {
                let record = rng.below(5);
                let d = [-2, -1, 1, 1, 1, 2][rng.below(6) as usize];
                updates.push((record, time, d));
                if rng.one_in(3) {
                    updates.push((record, time, -d));
                }
            }
            updates
        })
        .collect()
}

/// The definition: per epoch, each record with its accumulated multiplicity, when not zero.
fn model(input: &[Vec<Update>]) -> Vec<BTreeMap<(u64, Diff), i64>> {
    (0..input.len() as Time)
        .map(|epoch| {
            accumulate(&input.concat(), epoch)
                .into_iter()
                .map(|(record, n)| ((record, n as Diff), 1))
                .collect()
        })
        .collect()
}

#[test]
fn count_current_matches_the_definition_at_every_epoch() {
    for seed in SEEDS {
        let input = generate(seed);
        let expected = model(&input);
        let none: Vec<Vec<()>> = Vec::new();
        for workers in WORKERS {
            for feed in FEEDS {
                let label = format!("seed {seed}, {workers} workers, {feed:?}");
                let run = run(workers, feed, &input, &none, |_, updates, _| {
                    count_current(updates.as_collection(), "Count", true, |r| mix(*r))
                });
                check(&label, &run, &expected);
            }
        }
    }
}

/// Without `keep`, the first epoch (a batch's only one) is counted all the same.
#[test]
fn count_current_without_keep_counts_the_base() {
    for seed in SEEDS {
        let input: Vec<Vec<Update>> = generate(seed).into_iter().take(1).collect();
        let expected = model(&input);
        let none: Vec<Vec<()>> = Vec::new();
        for workers in WORKERS {
            for feed in FEEDS {
                let label = format!("seed {seed}, {workers} workers, {feed:?}, no keep");
                let run = run(workers, feed, &input, &none, |_, updates, _| {
                    count_current(updates.as_collection(), "Count", false, |r| mix(*r))
                });
                check(&label, &run, &expected);
            }
        }
    }
}
