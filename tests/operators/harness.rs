//! Runs an operator over two inputs fed epoch by epoch, captures its output
//! at worker 0, and compares the output with a model at every epoch.
//!
//! Inputs are given per epoch; item `i` of an epoch is sent by worker
//! `i % peers`, so operators that exchange really move data. Two ways of
//! feeding ([`Feed`]): one epoch at a time, stepping until the probe passes
//! the epoch (and then noting how much output worker 0 has seen), or every
//! epoch sent before the first step.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt::Debug;
use std::rc::Rc;
use std::sync::{Arc, Once};

use timely::container::CapacityContainerBuilder;
use timely::dataflow::channels::pact::Exchange;
use timely::dataflow::operators::probe::Handle as Probe;
use timely::dataflow::operators::{Input, Operator, Probe as _};
use timely::dataflow::StreamVec;

use differential_dataflow::ExchangeData;
use reach::dataflow::{Coll, Diff, Time};
use reach::hash::SplitMix64;

/// How epochs are fed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Feed {
    /// Send an epoch, advance, step until the probe passes it; then the next.
    OneAtATime,
    /// Send every epoch (advancing between them), then step.
    AllAtOnce,
}

/// Both ways of feeding.
pub const FEEDS: [Feed; 2] = [Feed::OneAtATime, Feed::AllAtOnce];

/// Worker counts every case runs at (one process, threads).
pub const WORKERS: [usize; 2] = [1, 3];

/// Seeds every case runs with.
pub const SEEDS: std::ops::Range<u64> = 0..12;

/// What a run produced.
pub struct Run<O, Z> {
    /// Every output update, as worker 0 received them, in arrival order.
    pub updates: Vec<(O, Time, Diff)>,
    /// With [`Feed::OneAtATime`]: how many of `updates` had arrived when
    /// the probe passed each epoch.
    pub seen: Vec<usize>,
    /// What each worker's `extract` returned, by worker index.
    pub extras: Vec<Z>,
}

/// Random numbers for the generators (the crate's SplitMix64, seeded).
pub struct Random(SplitMix64);

impl Random {
    /// A generator for `seed`.
    pub fn new(seed: u64) -> Self {
        Random(SplitMix64(
            seed.wrapping_mul(0x5851_F42D_4C95_7F2D) ^ 0xA5A5,
        ))
    }
    /// Uniform in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.0.below(n)
    }
    /// True with probability `1 / n`.
    pub fn one_in(&mut self, n: u64) -> bool {
        self.below(n) == 0
    }
}

/// Runs `build` on `workers` threads with `xs` and `ys` fed per epoch as
/// `feed` says; `extract` turns what `build` returned besides the output
/// into something each worker hands back after the run.
pub fn run_with<X, Y, O, E, Z, B, F>(
    workers: usize,
    feed: Feed,
    xs: &[Vec<X>],
    ys: &[Vec<Y>],
    build: B,
    extract: F,
) -> Run<O, Z>
where
    X: ExchangeData + Sync,
    Y: ExchangeData + Sync,
    O: ExchangeData,
    Z: Send + 'static,
    E: 'static,
    B: for<'s> Fn(usize, StreamVec<'s, Time, X>, StreamVec<'s, Time, Y>) -> (Coll<'s, O>, E)
        + Send
        + Sync
        + 'static,
    F: Fn(E) -> Z + Send + Sync + 'static,
{
    abort_on_worker_panic();
    let epochs = xs.len().max(ys.len());
    let xs = Arc::new(xs.to_vec());
    let ys = Arc::new(ys.to_vec());
    let guards = timely::execute(timely::Config::process(workers), move |worker| {
        let (index, peers) = (worker.index(), worker.peers());
        let probe = Probe::new();
        let sink: Rc<RefCell<Vec<(O, Time, Diff)>>> = Rc::default();
        let (mut xin, mut yin, extra) = worker.dataflow::<Time, _, _>(|scope| {
            let (xin, x) = scope.new_input::<Vec<X>>();
            let (yin, y) = scope.new_input::<Vec<Y>>();
            let (output, extra) = build(index, x, y);
            let sink = Rc::clone(&sink);
            output
                .inner
                .unary::<CapacityContainerBuilder<Vec<(O, Time, Diff)>>, _, _, _>(
                    Exchange::new(|_: &(O, Time, Diff)| 0),
                    "CaptureAtWorker0",
                    |_, _| {
                        move |input, _output| {
                            input.for_each_stamp(|_, data| {
                                for batch in data {
                                    sink.borrow_mut().append(batch);
                                }
                            });
                        }
                    },
                )
                .probe_with(&probe);
            (xin, yin, extra)
        });
        let mut seen = Vec::new();
        for epoch in 0..epochs {
            let mine = |i: &usize| i % peers == index;
            for (_, x) in xs
                .get(epoch)
                .into_iter()
                .flatten()
                .enumerate()
                .filter(|(i, _)| mine(i))
            {
                xin.send(x.clone());
            }
            for (_, y) in ys
                .get(epoch)
                .into_iter()
                .flatten()
                .enumerate()
                .filter(|(i, _)| mine(i))
            {
                yin.send(y.clone());
            }
            let next = epoch as Time + 1;
            xin.advance_to(next);
            yin.advance_to(next);
            if feed == Feed::OneAtATime {
                worker.step_while(|| probe.less_than(&next));
                seen.push(sink.borrow().len());
            }
        }
        drop((xin, yin));
        worker.step_while(|| !probe.done());
        let updates = std::mem::take(&mut *sink.borrow_mut());
        (updates, seen, extract(extra))
    })
    .expect("timely starts");
    let mut updates = Vec::new();
    let mut seen = Vec::new();
    let mut extras = Vec::new();
    for (i, result) in guards.join().into_iter().enumerate() {
        let (u, s, z) = result.expect("a worker failed");
        if i == 0 {
            (updates, seen) = (u, s);
        }
        extras.push(z);
    }
    Run {
        updates,
        seen,
        extras,
    }
}

/// Makes a panic in a timely worker abort the test binary: the other
/// workers of the run would wait for it forever, and a hung test says less
/// than a failed one (the panic's message is printed first).
fn abort_on_worker_panic() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let report = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            report(info);
            let name = std::thread::current().name().map(str::to_owned);
            if name.is_some_and(|n| n.starts_with("timely:work")) {
                std::process::abort();
            }
        }));
    });
}

/// [`run_with`] for operators with nothing besides their output.
pub fn run<X, Y, O, B>(
    workers: usize,
    feed: Feed,
    xs: &[Vec<X>],
    ys: &[Vec<Y>],
    build: B,
) -> Run<O, ()>
where
    X: ExchangeData + Sync,
    Y: ExchangeData + Sync,
    O: ExchangeData,
    B: for<'s> Fn(usize, StreamVec<'s, Time, X>, StreamVec<'s, Time, Y>) -> Coll<'s, O>
        + Send
        + Sync
        + 'static,
{
    run_with(
        workers,
        feed,
        xs,
        ys,
        move |i, x, y| (build(i, x, y), ()),
        |()| (),
    )
}

/// The accumulated multiplicity of each record in `updates` at times up to
/// and including `through`, zeros dropped.
pub fn accumulate<O: Ord + Clone>(updates: &[(O, Time, Diff)], through: Time) -> BTreeMap<O, i64> {
    let mut acc = BTreeMap::new();
    for (o, t, d) in updates {
        if *t <= through {
            *acc.entry(o.clone()).or_insert(0) += i64::from(*d);
        }
    }
    acc.retain(|_, d| *d != 0);
    acc
}

/// Random epochs (1 to 6) of updates over 5 records, with diffs of either
/// sign, a third of them cancelled within their epoch: the input of the
/// operators over plain records (`combine`, `count`).
pub fn random_epochs(seed: u64) -> Vec<Vec<(u64, Time, Diff)>> {
    let mut rng = Random::new(seed);
    let epochs = 1 + rng.below(6) as Time;
    (0..epochs)
        .map(|time| {
            let mut updates = Vec::new();
            for _ in 0..rng.below(16) {
                let record = rng.below(5);
                let d = [-2, -1, -1, 1, 1, 2][rng.below(6) as usize];
                updates.push((record, time, d));
                if rng.one_in(3) {
                    updates.push((record, time, -d));
                }
            }
            updates
        })
        .collect()
}

/// The records on which two collections differ, as `(record, got, want)`,
/// at most ten of them (the whole collections can be large).
fn differences<O: Ord + Clone>(
    got: &BTreeMap<O, i64>,
    want: &BTreeMap<O, i64>,
) -> Vec<(O, i64, i64)> {
    let keys: std::collections::BTreeSet<&O> = got.keys().chain(want.keys()).collect();
    keys.into_iter()
        .map(|k| {
            (
                k.clone(),
                got.get(k).copied().unwrap_or(0),
                want.get(k).copied().unwrap_or(0),
            )
        })
        .filter(|(_, g, w)| g != w)
        .take(10)
        .collect()
}

/// Checks a run against `expected[e]`, the model's collection at epoch `e`:
/// the output accumulated through every epoch equals the model's; no output
/// lies past the last epoch; fed one epoch at a time, the output that had
/// arrived when the probe passed an epoch already accumulates to the
/// model's collection at that epoch.
pub fn check<O: Ord + Clone + Debug, Z>(
    label: &str,
    run: &Run<O, Z>,
    expected: &[BTreeMap<O, i64>],
) {
    let last = expected.len() as Time;
    if let Some(late) = run.updates.iter().find(|(_, t, _)| *t >= last) {
        panic!("{label}: output {late:?} at or past epoch {last}");
    }
    for (epoch, want) in expected.iter().enumerate() {
        let got = accumulate(&run.updates, epoch as Time);
        let wrong = differences(&got, want);
        assert!(
            wrong.is_empty(),
            "{label}: at epoch {epoch}, (record, output, model): {wrong:?}"
        );
    }
    for (epoch, &seen) in run.seen.iter().enumerate() {
        let got = accumulate(&run.updates[..seen], epoch as Time);
        let wrong = differences(&got, &expected[epoch]);
        assert!(
            wrong.is_empty(),
            "{label}: when the probe passed epoch {epoch}, (record, output, model): {wrong:?}"
        );
    }
}
