//! `reach run`, the batch driver: every worker loads the base, applies the
//! job's nights (`--deltas`) one epoch each, and writes its parts of the
//! final tables and of each night's feed; process 0 publishes once every
//! worker of every process has written (`engine::epoch`).
//!
//! Workers agree twice (`engine::agree`): on the read statistics, so that
//! every worker takes the same decision to fail or to write, and on what
//! was written, which is also the barrier before publishing.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use timely::worker::Worker;

use crate::cluster::figures::{self, WorkerFigures};
use crate::engine::epoch::Merged;
use crate::engine::open::Start;
use crate::engine::stages::{self, Stages};
use crate::engine::summary::{Base, NightSummary, Summary, Totals};
use crate::engine::{agree, epoch, read, workers, Context, Engine};
use crate::error::{Error, Result};
use crate::input::ReadStats;
use crate::job::Job;
use crate::output::{self, layout, publish};

/// What a finished run reports.
#[derive(Clone, Debug)]
pub struct RunReport {
    /// The published output directory.
    pub output: PathBuf,
    /// The run summary (also in `summary.json`); `None` on processes other than 0.
    pub summary: Option<Summary>,
    /// Wall-clock seconds.
    pub seconds: f64,
}

/// Runs a job to completion and publishes its output (on process 0).
pub fn run(job: &Job, quiet: bool) -> Result<RunReport> {
    output::guard::check(&job.output, &job.input_paths(), job.overwrite)?;
    let start = Instant::now();
    let plan = crate::cluster::plan(job)?;
    let context = Arc::new(Context::open(job, Start::Base, quiet, &plan)?);
    let results = workers::execute(plan, &context, batch_worker)?;
    let summary = match results.into_iter().flatten().next() {
        Some((totals, figures)) => Some(publish_run(&context, &totals, &figures, start)?),
        None => None,
    };
    Ok(RunReport {
        output: job.output.clone(),
        summary,
        seconds: start.elapsed().as_secs_f64(),
    })
}

/// Process 0: `rejects.csv` (with `max_bad_lines > 0`) and the run files, then publish.
fn publish_run(
    context: &Context,
    totals: &Totals,
    worker_figures: &[WorkerFigures],
    start: Instant,
) -> Result<Summary> {
    let job = &context.job;
    let files = context
        .base_files()
        .inspect_err(|_| publish::abandon(&job.output))?;
    let run = serde_json::json!({
        "workers_per_process": job.workers,
        "processes": job.cluster.processes,
        "seconds": start.elapsed().as_secs_f64(),
        "per_process": figures::per_process(job.workers, worker_figures),
    });
    epoch::publish(context, totals, files, run, |staging| {
        match job.params.max_bad_lines {
            0 => Ok(()),
            _ => output::write_rejects(&staging.join(layout::REJECTS), &totals.read.sorted_bad()),
        }
    })
}

/// One worker of a batch run; worker 0 returns the totals and every worker's figures.
fn batch_worker(
    worker: &mut Worker,
    context: &Context,
) -> Result<Option<(Totals, Vec<WorkerFigures>)>> {
    let me = (worker.index(), worker.peers());
    let mut stages = Stages::start(me.0, context.progress.as_ref());
    let mut base_read = ReadStats::default();
    let nights = !context.nights.is_empty();
    let mut engine = Engine::load(worker, context, nights, &mut base_read);
    stages.read(&base_read, "computing the tables");
    engine.close(worker);
    stages.end(
        "computed",
        if nights {
            "applying the nights"
        } else {
            "writing"
        },
    );

    // Nights: night n is time n.
    let mut night_reads = Vec::with_capacity(context.nights.len());
    let mut feeds = Vec::with_capacity(context.nights.len());
    for night in &context.nights {
        let book = engine.crm.as_ref().map(|crm| &crm.book);
        let records = read::read_night(night, me, context.stop_after(), context.job.ids, book);
        stages.night_read(&records.stats);
        night_reads.push(records.stats.clone());
        let time = engine.apply(worker, records);
        feeds.push((night.night.name.clone(), time));
        stages.end(&format!("night {}", night.night.name), "writing");
    }

    // Every worker learns every worker's statistics: decide together.
    let (read, base_read, night_reads) = sum_reads(agree::gather(worker, (base_read, night_reads)));
    let verdict = epoch::check_read(context, &read);
    let written = match &verdict {
        Ok(()) => epoch::write_parts(worker, context, &engine, &feeds),
        Err(_) => Err(Error::Runtime("not written".to_string())),
    };
    stages.end("written", "publishing");
    let written = written.map(|written| epoch::Written {
        figures: stages.finish(context),
        ..written
    });
    let all_written = agree::gather(worker, written);
    verdict?;
    let all_figures: Vec<WorkerFigures> = all_written
        .iter()
        .filter_map(|w| w.as_ref().ok().map(|w| w.figures.clone()))
        .collect();
    let merged = epoch::merge_written(all_written)?;
    stages::log_process(context, me.0, &all_figures);
    if me.0 != 0 {
        return Ok(None);
    }
    let totals = totals(context, &engine, merged, (read, base_read, night_reads));
    Ok(Some((totals, all_figures)))
}

/// Worker 0: the totals of the run, with a line per night.
fn totals(
    context: &Context,
    engine: &Engine,
    merged: Merged,
    (read, base_read, night_reads): (ReadStats, ReadStats, Vec<ReadStats>),
) -> Totals {
    let nights = context.nights.iter().zip(&night_reads).enumerate();
    let nights = nights
        .map(|(n, (night, stats))| {
            let (friendships, adoptions) = merged.at((n + 1) as u32);
            NightSummary::new(&night.night.name, stats, friendships, adoptions)
                .with_customers(stats, merged.customers_at((n + 1) as u32))
        })
        .collect();
    let (friendships, adoptions) = merged.at(0);
    let base = Base {
        friendship_records: base_read.friendship_records,
        self_loops: base_read.self_loops,
        friendships: friendships.applied_adds,
        adoption_records: base_read.adoption_records,
        adoptions: adoptions.applied_adds,
    };
    epoch::totals(engine, read, base, nights, (merged.rows, merged.customers))
}

/// Every worker's (base, nights) statistics summed: over everything, over
/// the base, and per night.
fn sum_reads(all: Vec<(ReadStats, Vec<ReadStats>)>) -> (ReadStats, ReadStats, Vec<ReadStats>) {
    let mut read = ReadStats::default();
    let mut base_read = ReadStats::default();
    let mut per_night: Vec<ReadStats> = Vec::new();
    for (base, nights) in &all {
        read.add(base);
        base_read.add(base);
        per_night.resize(nights.len().max(per_night.len()), ReadStats::default());
        for (n, stats) in nights.iter().enumerate() {
            read.add(stats);
            per_night[n].add(stats);
        }
    }
    (read, base_read, per_night)
}
