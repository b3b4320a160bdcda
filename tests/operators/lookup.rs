//! `lookup::lookup` (the half join) against the sum it is defined by.
//!
//! A request `((key, payload), t, r1)` meets each value `v` of `key` whose
//! arrangement diffs, summed over the times `Before` (`< t`) or `Through`
//! (`<= t`) admits, come to `r2 != 0`, and yields `logic(key, payload, v)`
//! at `t` with diff `r1 * r2`. Arrangement updates and requests arrive in
//! the same epochs, with diffs of either sign that cancel within and across
//! epochs.

use std::collections::BTreeMap;

use differential_dataflow::AsCollection;
use reach::dataflow::operators::arranged::arrange_by_key;
use reach::dataflow::operators::lookup::{lookup, lookup_touching, Times, AHEAD, BUDGET};
use reach::dataflow::{Diff, Time};

use crate::harness::{check, run, Random, FEEDS, SEEDS, WORKERS};

type Update<D> = (D, Time, Diff);
/// `(key, payload, value or value + 100)`.
type O = (u64, u64, u64);

/// One output per match, and a second one for values divisible by 3.
fn logic(key: &u64, payload: &u64, value: &u64, out: &mut Vec<O>) {
    out.push((*key, *payload, *value));
    if value.is_multiple_of(3) {
        out.push((*key, *payload, value + 100));
    }
}

/// The definition, summed directly; accumulated per epoch.
fn model(
    arrangement: &[Vec<Update<(u64, u64)>>],
    requests: &[Vec<Update<(u64, u64)>>],
    times: Times,
) -> Vec<BTreeMap<O, i64>> {
    let all: Vec<&Update<(u64, u64)>> = arrangement.iter().flatten().collect();
    let mut acc: BTreeMap<O, i64> = BTreeMap::new();
    let mut expected = Vec::new();
    for epoch_requests in requests {
        for ((key, payload), t, r1) in epoch_requests {
            let mut r2: BTreeMap<u64, i64> = BTreeMap::new();
            for ((k, v), s, d) in &all {
                let admitted = match times {
                    Times::Before => s < t,
                    Times::Through => s <= t,
                };
                if k == key && admitted {
                    *r2.entry(*v).or_insert(0) += i64::from(*d);
                }
            }
            for (v, r2) in r2.into_iter().filter(|(_, r2)| *r2 != 0) {
                let mut out = Vec::new();
                logic(key, payload, &v, &mut out);
                for o in out {
                    *acc.entry(o).or_insert(0) += i64::from(*r1) * r2;
                }
            }
        }
        acc.retain(|_, d| *d != 0);
        expected.push(acc.clone());
    }
    expected
}

/// Updates with diffs of either sign over `keys` keys and `values` values
/// (or payloads), some cancelled within their epoch by a second update.
fn updates(
    rng: &mut Random,
    time: Time,
    n: u64,
    keys: u64,
    values: u64,
) -> Vec<Update<(u64, u64)>> {
    let mut out = Vec::new();
    for _ in 0..n {
        let kv = (rng.below(keys), rng.below(values));
        let d = [-2, -1, 1, 1, 2][rng.below(5) as usize];
        out.push((kv, time, d));
        if rng.one_in(4) {
            out.push((kv, time, -d));
        }
    }
    out
}

type Epochs = Vec<Vec<Update<(u64, u64)>>>;

/// Random epochs of arrangement updates and requests over 4 keys.
fn generate(seed: u64) -> (Epochs, Epochs) {
    let mut rng = Random::new(seed);
    let epochs = 1 + rng.below(6) as Time;
    let mut arrangement = Vec::new();
    let mut requests = Vec::new();
    for time in 0..epochs {
        let n = rng.below(10);
        arrangement.push(updates(&mut rng, time, n, 4, 6));
        let n = rng.below(10);
        requests.push(updates(&mut rng, time, n, 4, 3));
    }
    (arrangement, requests)
}

fn run_lookup(
    workers: usize,
    feed: crate::harness::Feed,
    arrangement: &Epochs,
    requests: &Epochs,
    times: Times,
) -> crate::harness::Run<O, ()> {
    run(
        workers,
        feed,
        arrangement,
        requests,
        move |_, arranged, requests| {
            let arranged = arrange_by_key(arranged.as_collection(), "Arranged");
            lookup("Lookup", requests.as_collection(), &arranged, times, logic)
        },
    )
}

#[test]
fn lookup_matches_the_model_at_every_epoch() {
    for times in [Times::Before, Times::Through] {
        for seed in SEEDS {
            let (arrangement, requests) = generate(seed);
            let expected = model(&arrangement, &requests, times);
            for workers in WORKERS {
                for feed in FEEDS {
                    let label = format!("{times:?}, seed {seed}, {workers} workers, {feed:?}");
                    let run = run_lookup(workers, feed, &arrangement, &requests, times);
                    check(&label, &run, &expected);
                }
            }
        }
    }
}

/// More matches in one epoch than the operator works through per
/// activation, so it yields and resumes in the middle of a sorted run.
#[test]
fn lookup_resumes_past_its_budget() {
    let mut rng = Random::new(99);
    let values = 400;
    let arrangement: Epochs = vec![
        (0..2 * values).map(|v| ((v % 2, v), 0, 1)).collect(),
        updates(&mut rng, 1, 50, 2, values),
    ];
    let requests: Epochs = vec![
        updates(&mut rng, 0, 200, 2, 50),
        updates(&mut rng, 1, 400, 2, 50),
    ];
    let matches: usize = requests[1].len() * values as usize;
    assert!(matches > 2 * BUDGET, "{matches} matches");
    for times in [Times::Before, Times::Through] {
        let expected = model(&arrangement, &requests, times);
        for workers in WORKERS {
            for feed in FEEDS {
                let label = format!("{times:?}, budget, {workers} workers, {feed:?}");
                let run = run_lookup(workers, feed, &arrangement, &requests, times);
                check(&label, &run, &expected);
            }
        }
    }
}

/// `lookup_touching` answers as `lookup` does, and touches requests before
/// answering them: only requested payloads, and in a run longer than
/// [`AHEAD`], some.
#[test]
fn lookup_touching_answers_the_same_and_touches_requests_ahead() {
    use std::sync::{Arc, Mutex};
    let mut rng = Random::new(7);
    let arrangement: Epochs = vec![updates(&mut rng, 0, 300, 40, 6)];
    let requests: Epochs = vec![updates(&mut rng, 0, 500, 40, 30)];
    assert!(requests[0].len() > 2 * AHEAD);
    let requested: std::collections::BTreeSet<u64> = requests[0]
        .iter()
        .map(|((_, payload), _, _)| *payload)
        .collect();
    let expected = model(&arrangement, &requests, Times::Through);
    for workers in WORKERS {
        let touched = Arc::new(Mutex::new(Vec::new()));
        let seen = touched.clone();
        let run = run(
            workers,
            FEEDS[0],
            &arrangement,
            &requests,
            move |_, arranged, requests| {
                let arranged = arrange_by_key(arranged.as_collection(), "Arranged");
                let seen = seen.clone();
                lookup_touching(
                    "Lookup",
                    requests.as_collection(),
                    &arranged,
                    Times::Through,
                    move |payload: &u64| seen.lock().unwrap().push(*payload),
                    logic,
                )
            },
        );
        check(&format!("touching, {workers} workers"), &run, &expected);
        let touched = touched.lock().unwrap();
        assert!(!touched.is_empty(), "{workers} workers: nothing touched");
        assert!(
            touched.len() <= requests[0].len(),
            "{workers} workers: touched {}",
            touched.len()
        );
        assert!(
            touched.iter().all(|p| requested.contains(p)),
            "{workers} workers"
        );
    }
}
