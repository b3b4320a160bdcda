//! `count::count_current` against `count_total`'s definition: at every
//! epoch, `(record, n)` once for each record whose accumulated multiplicity
//! `n` is not zero. Diffs of either sign that cancel within and across
//! epochs, and multiplicities that go negative.

use std::collections::BTreeMap;

use differential_dataflow::AsCollection;
use reach::dataflow::operators::count::count_current;
use reach::dataflow::{Diff, Time};
use reach::hash::mix;

use crate::harness::{accumulate, check, random_epochs, run, FEEDS, SEEDS, WORKERS};

type Update = (u64, Time, Diff);

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

/// Runs `count_current` on `input` at every worker count and feed, and
/// compares it with the definition at every epoch.
fn check_count(label: &str, input: &[Vec<Update>], keep: bool) {
    let expected = model(input);
    let none: Vec<Vec<()>> = Vec::new();
    for workers in WORKERS {
        for feed in FEEDS {
            let label = format!("{label}, {workers} workers, {feed:?}, keep {keep}");
            let run = run(workers, feed, input, &none, move |_, updates, _| {
                count_current(updates.as_collection(), "Count", keep, |r| mix(*r))
            });
            check(&label, &run, &expected);
        }
    }
}

#[test]
fn count_current_matches_the_definition_at_every_epoch() {
    for seed in SEEDS {
        check_count(&format!("seed {seed}"), &random_epochs(seed), true);
    }
}

/// Without `keep`, the first epoch (a batch's only one) is counted all the same.
#[test]
fn count_current_without_keep_counts_the_base() {
    for seed in SEEDS {
        let base: Vec<Vec<Update>> = random_epochs(seed).into_iter().take(1).collect();
        check_count(&format!("seed {seed}"), &base, false);
    }
}
