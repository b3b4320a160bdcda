//! `combine::combine_locally` against the input it must equal.
//!
//! The combine's output is the same collection as its input at every epoch,
//! made shorter: per worker and time at most one update per record, and
//! none that sums to zero. Diffs of either sign, cancelling within and
//! across epochs, and accumulations that go negative (the combine is
//! linear; it must not assume counts). Records are spread so that some sum
//! in the combine's array and some in its map (ids past the array's bound).

use std::collections::BTreeMap;

use differential_dataflow::AsCollection;
use reach::dataflow::operators::combine::combine_locally;
use reach::dataflow::{Diff, Time};

use crate::harness::{accumulate, check, random_epochs, run, FEEDS, SEEDS, WORKERS};

/// The five records of [`random_epochs`], as ids the combine sums in its
/// array (the first two) and in its map (past its bound at this size).
const SPREAD: [u64; 5] = [0, 65_535, 65_536, 1 << 40, u64::MAX];

#[test]
fn combine_locally_keeps_the_collection_and_shortens_it() {
    for seed in SEEDS {
        let input: Vec<Vec<(u64, Time, Diff)>> = random_epochs(seed)
            .into_iter()
            .map(|epoch| {
                let spread = |(r, t, d): (u64, Time, Diff)| (SPREAD[r as usize], t, d);
                epoch.into_iter().map(spread).collect()
            })
            .collect();
        let expected: Vec<BTreeMap<u64, i64>> = (0..input.len() as Time)
            .map(|epoch| accumulate(&input.concat(), epoch))
            .collect();
        let none: Vec<Vec<()>> = Vec::new();
        for workers in WORKERS {
            for feed in FEEDS {
                let label = format!("seed {seed}, {workers} workers, {feed:?}");
                // Tagged with the worker that emitted each update.
                let run = run(workers, feed, &input, &none, |worker, updates, _| {
                    combine_locally(updates.as_collection()).map(move |r| (worker, r))
                });
                let untagged = crate::harness::Run {
                    updates: run
                        .updates
                        .iter()
                        .map(|((_, r), t, d)| (*r, *t, *d))
                        .collect(),
                    seen: run.seen.clone(),
                    extras: Vec::<()>::new(),
                };
                check(&label, &untagged, &expected);
                let mut emitted: BTreeMap<(usize, u64, Time), usize> = BTreeMap::new();
                for ((worker, record), time, diff) in &run.updates {
                    assert_ne!(*diff, 0, "{label}: a zero update");
                    *emitted.entry((*worker, *record, *time)).or_default() += 1;
                }
                let repeated: Vec<_> = emitted.iter().filter(|(_, n)| **n > 1).collect();
                assert!(
                    repeated.is_empty(),
                    "{label}: emitted more than once: {repeated:?}"
                );
            }
        }
    }
}
