//! `reach serve`: the long-running nightly driver.
//!
//! It loads the base (or, after a restart, the checkpoint in the output),
//! publishes, then applies each complete night of the inbox as one epoch
//! and publishes again ([`publish`]): tables, the night's feed, checkpoint,
//! manifest, in one rename. That rename is the commit: a night is applied
//! exactly when the published manifest lists it, and the checkpoint beside
//! the tables is the state after it. A crash before the rename leaves the
//! night in the inbox (it is applied again from the previous checkpoint); a
//! crash after it leaves a night the manifest already lists (it is moved to
//! `applied/`).
//!
//! Worker 0 decides what happens next ([`decide`]) and tells every worker
//! through `engine::agree::gather`; the other workers park meanwhile.

pub mod decide;
pub mod inbox;
pub mod manifest;
pub mod publish;
mod signals;

use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde::{Deserialize, Serialize};
use timely::worker::Worker;

use crate::engine::open::Start;
use crate::engine::summary::{Base, NightSummary};
use crate::engine::{agree, epoch, read, workers, Context, Engine, NightInput, NightRecords};
use crate::engine::{checkpoint, customers};
use crate::error::{Error, Result};
use crate::input::{nights, ReadStats};
use crate::job::Job;
use crate::output::publish as output;
use decide::{decide, refuse, Decision};
use manifest::{BaseRecord, Manifest};

/// What `reach serve` did before it stopped.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct ServeReport {
    /// Nights applied by this process's run.
    pub applied: Vec<String>,
    /// Nights refused (moved to `rejected/`).
    pub rejected: Vec<String>,
    /// Whether it started from a checkpoint.
    pub resumed: bool,
}

/// How this process's service runs (the same on every worker).
struct Session {
    manifest: Option<Manifest>,
    drain: bool,
    quiet: bool,
    started: Instant,
    /// Worker 0: the nights applied by this process, for `run.json`.
    nights: Mutex<Vec<NightFigures>>,
}

/// What one night cost, in `run.json` (`nights`): seconds from the start
/// of the night to the end of its dataflow (`computed_seconds`), from then
/// until the run files are written (`published_seconds`: tables, feed,
/// checkpoint, manifest; the rename that follows takes milliseconds), both
/// (`seconds`), and the process's resident memory then.
#[derive(Clone, Debug, Serialize)]
struct NightFigures {
    night: String,
    computed_seconds: f64,
    published_seconds: f64,
    seconds: f64,
    resident_bytes: u64,
}

/// Runs `reach serve` until the inbox is drained (`drain`), a signal
/// arrives, or something fails.
pub fn serve(job: &Job, drain: bool, quiet: bool) -> Result<ServeReport> {
    crate::output::guard::check(&job.output, &job.input_paths(), job.overwrite)?;
    let Some(serve) = &job.serve else {
        return Err(Error::Config(
            "no inbox: give --inbox DIR or set [serve] inbox in the job file (see docs/nightly.md)"
                .to_string(),
        ));
    };
    if job.deltas.is_some() {
        return Err(Error::Config(
            "reach serve reads nights from its inbox; --deltas (or [input] deltas) is for \
             reach run"
                .to_string(),
        ));
    }
    serve.prepare_dirs()?;
    let (manifest, start) = match (
        Manifest::read(&job.output)?,
        checkpoint::Meta::read(&job.output)?,
    ) {
        (Some(manifest), Some(meta)) => (Some(manifest), Start::Checkpoint(meta)),
        (None, None) => (None, Start::Base),
        _ => {
            return Err(Error::Input(format!(
                "{}: has a manifest.json or a {}/ but not both; it was not written by reach \
                 serve. Move it away to start again from the base.",
                job.output.display(),
                checkpoint::DIR
            )))
        }
    };
    if job.output.exists() && manifest.is_none() {
        tracing::warn!(output = %job.output.display(), "no checkpoint in the output: starting from the base");
    }
    let plan = crate::cluster::plan(job)?;
    signals::install();
    // A resumed service reads its checkpoint, never the base: the base files
    // may have been moved or deleted since the first start.
    let resumed = matches!(start, Start::Checkpoint(_));
    let context = Arc::new(Context::open(job, start, quiet || resumed, &plan)?);
    let session = Arc::new(Session {
        manifest,
        drain,
        quiet,
        started: Instant::now(),
        nights: Mutex::default(),
    });
    let results = workers::execute(plan, &context, move |worker, context| {
        serve_worker(worker, context, &session)
    })?;
    Ok(results.into_iter().flatten().next().unwrap_or_default())
}

/// One worker's life in `reach serve`.
fn serve_worker(
    worker: &mut Worker,
    context: &Context,
    session: &Session,
) -> Result<Option<ServeReport>> {
    let job = &context.job;
    let serve = job.serve.as_ref().expect("checked by serve()");
    let lead = worker.index() == 0;
    let mut report = ServeReport {
        resumed: session.manifest.is_some(),
        ..ServeReport::default()
    };
    let mut plan = checkpoint::Plan::default();
    let (mut engine, mut manifest, mut failure) = match (&context.start, &session.manifest) {
        (Start::Checkpoint(meta), Some(manifest)) => {
            let engine = Engine::resume(worker, context, meta, false)?;
            (engine, manifest.clone(), None)
        }
        _ => load_base(worker, context, session, &mut plan)?,
    };
    engine.keep_journal();
    if lead && failure.is_none() {
        say_started(context, session, &manifest, report.resumed);
    }
    loop {
        let decision = match (lead, failure.take()) {
            (true, Some(error)) => Decision::Stop(Some(error)),
            (true, None) => decide(
                job,
                serve,
                (session.drain, session.quiet),
                &manifest,
                &mut report,
            ),
            (false, _) => Decision::Stop(None),
        };
        let name = match agree::gather(worker, decision).swap_remove(0) {
            Decision::Stop(None) => break,
            Decision::Stop(Some(error)) => return Err(error),
            Decision::Night(name) => name,
        };
        if engine.crm.is_none() && brings_customers(serve, &name) {
            // The customer tables start with this night: the engine is
            // built again, with them, from the checkpoint just published.
            let meta = checkpoint::Meta::read(&job.output)?
                .ok_or_else(|| Error::Runtime("no checkpoint to resume from".to_string()))?;
            drop(engine);
            engine = Engine::resume(worker, context, &meta, true)?;
            engine.keep_journal();
        }
        let state = (&mut engine, &mut plan, &mut manifest);
        failure = apply_night(worker, context, session, state, &name, &mut report);
    }
    if lead {
        // The staging directory prepared for a next epoch that never came.
        output::abandon(&job.output);
    }
    Ok(lead.then_some(report))
}

/// Reads, checks, applies and publishes the night `name`; worker 0 then
/// moves it to `applied/` (or, refused, to `rejected/`). Returns worker
/// 0's failure, to be passed on with the next decision.
fn apply_night(
    worker: &mut Worker,
    context: &Context,
    session: &Session,
    (engine, plan, manifest): (&mut Engine, &mut checkpoint::Plan, &mut Manifest),
    name: &str,
    report: &mut ServeReport,
) -> Option<Error> {
    let serve = context.job.serve.as_ref().expect("serve job");
    let lead = worker.index() == 0;
    let started = Instant::now();
    let book = engine.crm.as_ref().map(|crm| &crm.book);
    let (records, read) = match read_night(worker, context, name, book) {
        Ok(read) => read,
        Err(reasons) if lead => return refuse(serve, name, &reasons, report),
        Err(_) => return None,
    };
    let time = engine.apply(worker, records);
    let computed = started.elapsed().as_secs_f64();
    let failure = publish::publish_epoch(
        worker,
        context,
        (engine, plan),
        Some((name.to_string(), time)),
        |manifest| {
            let seconds = started.elapsed().as_secs_f64();
            session.nights.lock().expect("lock").push(NightFigures {
                night: name.to_string(),
                computed_seconds: computed,
                published_seconds: seconds - computed,
                seconds,
                resident_bytes: resident_bytes(),
            });
            run_json(context, session, manifest)
        },
        |counts| {
            let night = NightSummary::new(name, &read, counts.friendships, counts.adoptions)
                .with_customers(&read, counts.customers);
            manifest.nights.push(night);
            manifest.base.bad_lines_skipped += read.bad_total;
            Ok(manifest.clone())
        },
    );
    if !lead || failure.is_some() {
        return failure;
    }
    let moved = inbox::move_applied(serve, name).err();
    report.applied.push(name.to_string());
    say_applied(
        context,
        session,
        manifest.nights.last(),
        (computed, started),
    );
    moved
}

/// Worker 0: the service is up.
fn say_started(context: &Context, session: &Session, manifest: &Manifest, resumed: bool) {
    if session.quiet {
        return;
    }
    let serve = context.job.serve.as_ref().expect("serve job");
    let how = if resumed { "resumed" } else { "loaded" };
    println!(
        "reach serve: {how} {} ({} nights applied so far) in {:.2} s; watching {}",
        context.job.output.display(),
        manifest.nights.len(),
        session.started.elapsed().as_secs_f64(),
        serve.inbox.display()
    );
}

/// Loads the base and publishes it at once (with an empty manifest).
fn load_base(
    worker: &mut Worker,
    context: &Context,
    session: &Session,
    plan: &mut checkpoint::Plan,
) -> Result<(Engine, Manifest, Option<Error>)> {
    let mut stats = ReadStats::default();
    let mut engine = Engine::load(worker, context, true, &mut stats);
    engine.close(worker);
    if let Some(bar) = &context.progress {
        bar.finish_and_clear();
    }
    let mut read = ReadStats::default();
    for stats in agree::gather(worker, stats) {
        read.add(&stats);
    }
    epoch::check_read(context, &read)?;
    let mut manifest = Manifest {
        format: manifest::FORMAT,
        base: BaseRecord {
            header_lines: read.headers,
            bad_lines_skipped: read.bad_total,
            ..BaseRecord::default()
        },
        nights: Vec::new(),
    };
    let failure = publish::publish_epoch(
        worker,
        context,
        (&mut engine, plan),
        None,
        |manifest| run_json(context, session, manifest),
        |counts| {
            manifest.base.counts = Base {
                friendship_records: read.friendship_records,
                self_loops: read.self_loops,
                friendships: counts.friendships.applied_adds,
                adoption_records: read.adoption_records,
                adoptions: counts.adoptions.applied_adds,
            };
            (manifest.base.friendship_files, manifest.base.adoption_files) =
                context.base_files()?;
            Ok(manifest.clone())
        },
    );
    Ok((engine, manifest, failure))
}

/// Whether the inbox's night `name` holds identities or purchases.
fn brings_customers(serve: &crate::job::Serve, name: &str) -> bool {
    nights::night(name.to_string(), serve.inbox.join(name))
        .is_ok_and(|night| night.identities.is_some() || night.purchases.is_some())
}

/// Reads and checks a night of the inbox before anything of it reaches the
/// state: this worker's records and every worker's statistics, or the
/// reasons to refuse it.
fn read_night(
    worker: &mut Worker,
    context: &Context,
    name: &str,
    book: Option<&customers::Book>,
) -> std::result::Result<(NightRecords, ReadStats), Vec<String>> {
    let job = &context.job;
    let serve = job.serve.as_ref().expect("serve job");
    let night = nights::night(name.to_string(), serve.inbox.join(name))
        .map_err(|e| e.to_string())
        .and_then(|night| NightInput::open(night).map_err(|bad| bad.to_string()))
        .map_err(|reason| vec![reason])?;
    let me = (worker.index(), worker.peers());
    let records = read::read_night(&night, me, context.stop_after(), context.job.ids, book);
    let mut read = ReadStats::default();
    for stats in agree::gather(worker, records.stats.clone()) {
        read.add(&stats);
    }
    if read.bad_total > job.params.max_bad_lines {
        let mut reasons = vec![format!(
            "{} bad line(s) (max_bad_lines = {}); the first ones, with paths as they were in the inbox:",
            read.bad_total, job.params.max_bad_lines
        )];
        reasons.extend(read.sorted_bad().iter().take(10).map(|b| b.to_string()));
        return Err(reasons);
    }
    Ok((records, read))
}

/// `run.json` of a serve output.
fn run_json(context: &Context, session: &Session, manifest: &Manifest) -> serde_json::Value {
    let job = &context.job;
    serde_json::json!({
        "workers_per_process": job.workers,
        "processes": job.cluster.processes,
        "nights_applied": manifest.nights.len(),
        "seconds_since_start": session.started.elapsed().as_secs_f64(),
        "nights": *session.nights.lock().expect("lock"),
    })
}

/// Worker 0: the night's line on the terminal and in the log.
fn say_applied(
    context: &Context,
    session: &Session,
    night: Option<&NightSummary>,
    (computed, started): (f64, Instant),
) {
    let Some(night) = night else { return };
    let seconds = started.elapsed().as_secs_f64();
    let rss = resident_bytes();
    tracing::info!(night = %night.name, computed, seconds, rss, "night applied");
    if !session.quiet {
        println!(
            "reach serve: night {}: friendships +{} -{}, adoptions +{} -{} \
             (computed in {computed:.2} s, published in {:.2} s, {:.0} MB resident) -> {}",
            night.name,
            night.friendships.applied_adds,
            night.friendships.applied_removes,
            night.adoptions.applied_adds,
            night.adoptions.applied_removes,
            seconds - computed,
            rss as f64 / 1e6,
            context.job.output.display()
        );
    }
}

/// This process's resident memory now, in bytes (Linux; 0 elsewhere).
fn resident_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    pages * page.max(0) as u64
}
