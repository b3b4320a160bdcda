//! `reach serve`: the long-running nightly mode.
//!
//! It loads the base (or, after a restart, the checkpoint in the output),
//! publishes, then applies each complete night of the inbox as one epoch.
//! After each night every worker writes its table parts, the night's change
//! feed and its checkpoint file into the staging directory; worker 0 adds
//! `manifest.json` (the night appended), `summary.json` and the feeds of
//! earlier nights (hard links), then publishes the whole directory in one
//! rename. That rename is the commit: a night is applied exactly when the
//! published manifest lists it, and the checkpoint beside the tables is the
//! state after it. A crash before the rename leaves the night in the inbox
//! (it is applied again from the previous checkpoint); a crash after it
//! leaves a night the manifest already lists (it is moved to `applied/`).
//!
//! Worker 0 decides what happens next (a night, or stop) and tells every
//! worker through [`engine::gather`]; the other workers park meanwhile.

pub mod checkpoint;
pub mod inbox;
pub mod manifest;
mod signals;

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use timely::worker::Worker;

use crate::dataflow::Time;
use crate::error::{Error, Result};
use crate::input::nights;
use crate::job::{Job, Serve};
use crate::output::publish;
use crate::run::engine::{self, Engine, NightInput};
use crate::run::write::{self, Feed, Out};
use crate::run::{self, Context, ReadStats, Written};
use crate::summary::{self, Totals};
use crate::topics::Dictionary;
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

/// A published output to resume from: its manifest and checkpoint.
#[derive(Clone, Debug)]
struct Resume {
    manifest: Manifest,
    meta: checkpoint::Meta,
}

/// What every worker of a serve run shares besides the run context.
struct Shared {
    resume: Option<Resume>,
    drain: bool,
    quiet: bool,
    started: Instant,
    fingerprints: Mutex<Option<run::Fingerprints>>,
}

/// What worker 0 tells every worker to do next.
#[derive(Clone, Debug, Serialize, Deserialize)]
enum Decision {
    /// Apply the night of this name (staging is ready).
    Night(String),
    /// Stop: cleanly (`None`), or failing with a message.
    Stop(Option<String>),
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
    for dir in [&serve.inbox, &serve.applied, &serve.rejected] {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    let resume = match (
        Manifest::read(&job.output)?,
        checkpoint::Meta::read(&job.output)?,
    ) {
        (Some(manifest), Some(meta)) => Some(Resume { manifest, meta }),
        (None, None) => None,
        _ => {
            return Err(Error::Input(format!(
                "{}: has a manifest.json or a {}/ but not both; it was not written by reach \
                 serve. Move it away to start again from the base.",
                job.output.display(),
                checkpoint::DIR
            )))
        }
    };
    if job.output.exists() && resume.is_none() {
        tracing::warn!(output = %job.output.display(), "no checkpoint in the output: starting from the base");
    }
    let plan = crate::cluster::plan(job)?;
    signals::install();
    // A resumed service reads its checkpoint, never the base: the base files
    // may have been moved or deleted since the first start.
    let context = match &resume {
        Some(_) => {
            let mut resumed = job.clone();
            resumed.source = crate::job::Source::Files {
                friendships: None,
                adoptions: None,
            };
            Context::open(&resumed, true, &plan)?
        }
        None => Context::open(job, quiet, &plan)?,
    };
    let fingerprints = match resume {
        Some(_) => None,
        None => context.fingerprint(),
    };
    let shared = Arc::new(Shared {
        resume,
        drain,
        quiet,
        started: Instant::now(),
        fingerprints: Mutex::new(fingerprints),
    });
    let results = run::execute(job, plan, context, move |worker, context| {
        serve_worker(worker, context, &shared)
    })?;
    Ok(results.into_iter().flatten().next().unwrap_or_default())
}

/// One worker's life in `reach serve`.
fn serve_worker(
    worker: &mut Worker,
    context: &Context,
    shared: &Shared,
) -> Result<Option<ServeReport>> {
    let job = &context.job;
    let serve = job.serve.as_ref().expect("checked by serve()");
    let lead = worker.index() == 0;
    let me = (worker.index(), worker.peers());
    let stop_after = (job.params.max_bad_lines as usize).saturating_add(1);
    let mut report = ServeReport {
        resumed: shared.resume.is_some(),
        ..ServeReport::default()
    };

    // The state: the checkpoint, or the base (published at once).
    let mut plan = checkpoint::Plan::default();
    let (mut engine, mut manifest, mut failure) = match &shared.resume {
        Some(resume) => {
            let engine = restore(worker, context, &resume.meta)?;
            (engine, resume.manifest.clone(), None)
        }
        None => {
            let mut stats = ReadStats::default();
            let mut engine = run::load_base(worker, context, true, &mut stats);
            engine.close(worker);
            let mut read = ReadStats::default();
            for stats in engine::gather(worker, stats) {
                read.add(&stats);
            }
            run::check_read(job, context, &read)?;
            let mut manifest = Manifest {
                format: manifest::FORMAT,
                base: BaseRecord {
                    header_lines: read.headers,
                    bad_lines_skipped: read.bad_total,
                    ..BaseRecord::default()
                },
                nights: Vec::new(),
            };
            let failure = publish_epoch(
                worker,
                context,
                shared,
                (&mut engine, &mut plan),
                None,
                |counts| {
                    let (files, bad) = match shared.fingerprints.lock().expect("lock").take() {
                        Some(handle) => match handle.join() {
                            Ok(Ok(files)) => (files, None),
                            Ok(Err(e)) => (Default::default(), Some(e.to_string())),
                            Err(_) => (Default::default(), Some("fingerprinting failed".into())),
                        },
                        None => (Default::default(), None),
                    };
                    if let Some(e) = bad {
                        return Err(e);
                    }
                    manifest.base.counts = summary::Base {
                        friendship_records: read.friendship_records,
                        self_loops: read.self_loops,
                        friendships: counts.friendships.applied_adds,
                        adoption_records: read.adoption_records,
                        adoptions: counts.adoptions.applied_adds,
                    };
                    (manifest.base.friendship_files, manifest.base.adoption_files) = files;
                    Ok(manifest.clone())
                },
            );
            (engine, manifest, failure)
        }
    };
    engine.keep_journal();
    if lead && failure.is_none() && !shared.quiet {
        let how = if report.resumed { "resumed" } else { "loaded" };
        println!(
            "reach serve: {how} {} ({} nights applied so far) in {:.2} s; watching {}",
            job.output.display(),
            manifest.nights.len(),
            shared.started.elapsed().as_secs_f64(),
            serve.inbox.display()
        );
    }

    loop {
        let decision = if lead {
            match failure.take() {
                Some(error) => Decision::Stop(Some(error)),
                None => decide(job, serve, shared, &manifest, &mut report),
            }
        } else {
            Decision::Stop(None)
        };
        let decision = engine::gather(worker, decision).swap_remove(0);
        let name = match decision {
            Decision::Stop(None) => break,
            Decision::Stop(Some(error)) => return Err(Error::Runtime(error)),
            Decision::Night(name) => name,
        };
        let started = Instant::now();

        // Read and check the night before anything of it reaches the state.
        let opened = nights::night(name.clone(), serve.inbox.join(&name))
            .map_err(|e| e.to_string())
            .and_then(|night| NightInput::open(night).map_err(|bad| bad.to_string()));
        let night = match opened {
            Ok(night) => night,
            Err(reason) => {
                if lead {
                    failure = refuse(serve, &name, &[reason], &mut report);
                }
                continue;
            }
        };
        let records = engine::read_night(&night, me, stop_after);
        let mut read = ReadStats::default();
        for stats in engine::gather(worker, records.stats.clone()) {
            read.add(&stats);
        }
        if read.bad_total > job.params.max_bad_lines {
            if lead {
                let bad = read.sorted_bad();
                let mut reasons = vec![format!(
                    "{} bad line(s) (max_bad_lines = {}); the first ones, with paths as they were in the inbox:",
                    read.bad_total, job.params.max_bad_lines
                )];
                reasons.extend(bad.iter().take(10).map(|b| b.to_string()));
                failure = refuse(serve, &name, &reasons, &mut report);
            }
            continue;
        }

        // Apply it as the next epoch, then publish tables, feed and checkpoint.
        engine.send_night(worker, records);
        let time = engine.time();
        engine.close(worker);
        let computed = started.elapsed().as_secs_f64();
        failure = publish_epoch(
            worker,
            context,
            shared,
            (&mut engine, &mut plan),
            Some((name.clone(), time)),
            |counts| {
                manifest.nights.push(run::night_summary(
                    &name,
                    &read,
                    counts.friendships,
                    counts.adoptions,
                ));
                manifest.base.bad_lines_skipped += read.bad_total;
                Ok(manifest.clone())
            },
        );
        if lead && failure.is_none() {
            if let Err(e) = inbox::move_applied(serve, &name) {
                failure = Some(e.to_string());
            }
            report.applied.push(name.clone());
            let summary = manifest.nights.last().expect("just pushed");
            let seconds = started.elapsed().as_secs_f64();
            let rss = resident_bytes();
            tracing::info!(night = %name, computed, seconds, rss, "night applied");
            if !shared.quiet {
                println!(
                    "reach serve: night {name}: friendships +{} -{}, adoptions +{} -{} \
                     (computed in {computed:.2} s, published in {:.2} s, {:.0} MB resident) -> {}",
                    summary.friendships.applied_adds,
                    summary.friendships.applied_removes,
                    summary.adoptions.applied_adds,
                    summary.adoptions.applied_removes,
                    seconds - computed,
                    rss as f64 / 1e6,
                    job.output.display()
                );
            }
        }
    }
    if lead {
        // The staging directory prepared for a next epoch that never came.
        publish::abandon(&job.output);
    }
    Ok(lead.then_some(report))
}

/// Worker 0: waits for the next thing to do.
fn decide(
    job: &Job,
    serve: &Serve,
    shared: &Shared,
    manifest: &Manifest,
    report: &mut ServeReport,
) -> Decision {
    let mut said_blocked = false;
    loop {
        if signals::stop_requested() {
            tracing::info!("stopping on a signal, between nights");
            return Decision::Stop(None);
        }
        match next_night(serve, manifest, report) {
            Err(e) => return Decision::Stop(Some(e.to_string())),
            Ok(Next::Night(name)) => {
                return match publish::prepare(&job.output) {
                    Ok(_) => Decision::Night(name),
                    Err(e) => Decision::Stop(Some(e.to_string())),
                }
            }
            Ok(Next::Blocked(rejected)) => {
                let message = format!(
                    "night {rejected} is in {} awaiting an operator's decision; no later night \
                     applies until it is resolved (see its .txt report and docs/nightly.md)",
                    serve.rejected.display()
                );
                if shared.drain {
                    return Decision::Stop(Some(message));
                }
                if !said_blocked {
                    tracing::warn!("{message}");
                    if !shared.quiet {
                        eprintln!("reach serve: {message}");
                    }
                    said_blocked = true;
                }
            }
            Ok(Next::Nothing) => {
                if shared.drain {
                    return Decision::Stop(None);
                }
            }
        }
        let until = Instant::now() + Duration::from_secs_f64(serve.poll_seconds);
        while Instant::now() < until && !signals::stop_requested() {
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// What the inbox holds next.
enum Next {
    Night(String),
    Blocked(String),
    Nothing,
}

/// Looks at `rejected/` and the inbox: nights the manifest lists are moved
/// to `applied/` (a crash came between publishing and moving them), nights
/// that sort before the last applied one are refused.
fn next_night(serve: &Serve, manifest: &Manifest, report: &mut ServeReport) -> Result<Next> {
    if let Some(rejected) = inbox::rejected_nights(serve)?.into_iter().next() {
        return Ok(Next::Blocked(rejected));
    }
    for name in inbox::ready_nights(serve)? {
        if manifest.has(&name) {
            tracing::info!(night = %name, "already applied (listed in the manifest): moved to applied/");
            inbox::move_applied(serve, &name)?;
            continue;
        }
        if let Some(last) = manifest.last().filter(|last| name.as_str() <= *last) {
            let reason = format!(
                "night {name} sorts before the last applied night {last}: nights apply in name \
                 order, and a night that arrives late cannot be applied before a later one"
            );
            refuse(serve, &name, &[reason], report);
            return Ok(Next::Blocked(name));
        }
        return Ok(Next::Night(name));
    }
    Ok(Next::Nothing)
}

/// Worker 0: moves a night to `rejected/` with its report; a failure to do
/// so stops the run.
fn refuse(
    serve: &Serve,
    name: &str,
    reasons: &[String],
    report: &mut ServeReport,
) -> Option<String> {
    eprintln!(
        "reach serve: night {name} refused: {}",
        reasons.join("\n  ")
    );
    report.rejected.push(name.to_string());
    inbox::reject(serve, name, reasons)
        .err()
        .map(|e| e.to_string())
}

/// Loads a checkpoint as the base (time 0) and runs the dataflow over it.
fn restore(worker: &mut Worker, context: &Context, meta: &checkpoint::Meta) -> Result<Engine> {
    let job = &context.job;
    let (index, peers) = (worker.index(), worker.peers());
    let mut sets = Vec::new();
    let mut failed = None;
    for file in (index..meta.workers).step_by(peers) {
        match checkpoint::read_worker(&job.output, meta, file) {
            Ok(set) => sets.push(set),
            Err(e) => {
                failed.get_or_insert(e);
            }
        }
    }
    if let Some(e) = engine::gather(worker, failed).into_iter().flatten().next() {
        return Err(Error::Input(format!("cannot load the checkpoint: {e}")));
    }
    let dictionary = Dictionary::from_names(meta.topics.clone());
    let ids: Vec<u32> = meta
        .topics
        .iter()
        .map(|name| {
            dictionary
                .id(name)
                .expect("every checkpoint topic is interned")
        })
        .collect();
    let expected = run::per_worker_with_slack(meta.friendships as usize, peers);
    let mut engine = Engine::build(worker, &job.params, dictionary, true, job.parts, expected);
    for (friendships, adoptions) in sets {
        for ((user, topic), day) in adoptions {
            engine.send_adoption(user, ids[topic as usize], day);
        }
        for (a, b) in friendships {
            engine.send_friendship(worker, a, b);
        }
    }
    engine.close(worker);
    Ok(engine)
}

/// What the set operators did at the epoch just closed, summed over workers.
struct EpochCounts {
    friendships: crate::dataflow::graph::ChangeCounts,
    adoptions: crate::dataflow::graph::ChangeCounts,
}

/// Writes the epoch just closed into staging and publishes it: every
/// worker writes its parts, feed and checkpoint file; worker 0 asks
/// `update` for the manifest (given the epoch's counts), writes the run
/// files and publishes. Returns worker 0's failure, if any, to be passed on
/// with the next decision (every worker learns of write failures here).
fn publish_epoch(
    worker: &mut Worker,
    context: &Context,
    shared: &Shared,
    (engine, plan): (&mut Engine, &mut checkpoint::Plan),
    feed: Option<Feed>,
    update: impl FnOnce(&EpochCounts) -> std::result::Result<Manifest, String>,
) -> Option<String> {
    let job = &context.job;
    let (index, peers) = (worker.index(), worker.peers());
    let time: Time = engine.time() - 1;
    let out = Out {
        dir: &context.staging,
        format: job.format,
        parts: job.parts,
        me: (index, peers),
    };
    let feeds: Vec<Feed> = feed.iter().cloned().collect();
    // A snapshot of the sets, or the night's log of differences to them.
    let journal = engine.take_journal();
    let night = feed.as_ref().map(|(name, _)| name.as_str());
    let log = night.filter(|_| !plan.snapshot_due());
    let clock = Instant::now();
    let mut tables_seconds = 0.0;
    let written = write::write_parts(&out, &engine.captures, &feeds).and_then(|rows| {
        tables_seconds = clock.elapsed().as_secs_f64();
        match log {
            Some(night) => checkpoint::write_log(&context.staging, night, index, &journal)?,
            None => checkpoint::write_worker(
                &context.staging,
                index,
                &engine.friendship_state.borrow().set,
                &engine.adoption_state.borrow().set,
            )?,
        }
        Ok(Written {
            rows,
            friendship_counts: run::counts(&engine.friendship_counts),
            adoption_counts: run::counts(&engine.adoption_counts),
            figures: Default::default(),
        })
    });
    let sizes = (
        engine.friendship_state.borrow().set.len() as u64,
        engine.adoption_state.borrow().set.len() as u64,
        (journal.0.len() + journal.1.len()) as u64,
    );
    drop(journal);
    let checkpoint_seconds = clock.elapsed().as_secs_f64() - tables_seconds;
    // Writing consolidated every table (only present rows are held now).
    let all = engine::gather(worker, (written, sizes));
    let gathered = clock.elapsed().as_secs_f64();
    if job.serve.as_ref().is_some_and(|serve| serve.return_memory) {
        crate::memory::give_back();
    }
    tracing::debug!(
        worker = index,
        tables_seconds,
        checkpoint_seconds,
        waited_seconds = gathered - tables_seconds - checkpoint_seconds,
        return_memory_seconds = clock.elapsed().as_secs_f64() - gathered,
        snapshot = log.is_none(),
        "epoch written"
    );
    let (results, sizes): (Vec<_>, Vec<_>) = all.into_iter().unzip();
    match log {
        Some(night) => plan.log_written(night, sizes.iter().map(|s| s.2).sum()),
        None => plan.snapshot_written(sizes.iter().map(|s| s.0 + s.1).sum()),
    }
    let merged = run::merge_written(results);
    if index != 0 {
        return None;
    }
    let (rows, friendship_counts, adoption_counts) = match merged {
        Ok(merged) => merged,
        Err(e) => return Some(e.to_string()),
    };
    let counts = EpochCounts {
        friendships: friendship_counts.get(&time).copied().unwrap_or_default(),
        adoptions: adoption_counts.get(&time).copied().unwrap_or_default(),
    };
    let manifest = match update(&counts) {
        Ok(manifest) => manifest,
        Err(e) => return Some(e),
    };
    let meta = checkpoint::Meta {
        format: checkpoint::FORMAT,
        workers: peers,
        friendships: sizes.iter().map(|s| s.0).sum(),
        adoptions: sizes.iter().map(|s| s.1).sum(),
        topics: {
            let dictionary = engine.dictionary.borrow();
            (0..dictionary.len() as u32)
                .map(|id| dictionary.name(id).to_string())
                .collect()
        },
        logs: plan.logs().to_vec(),
    };
    let finishing = Instant::now();
    let finished = finish_epoch(context, shared, engine, &manifest, &meta, rows);
    tracing::debug!(
        seconds = finishing.elapsed().as_secs_f64(),
        "run files, links and publish"
    );
    finished.err().map(|e| e.to_string())
}

/// Worker 0: the run files, earlier feeds, then the atomic publish.
fn finish_epoch(
    context: &Context,
    shared: &Shared,
    engine: &Engine,
    manifest: &Manifest,
    meta: &checkpoint::Meta,
    rows: Vec<(String, u64)>,
) -> Result<()> {
    let job = &context.job;
    let serve = job.serve.as_ref().expect("serve job");
    let staging = &context.staging;
    // The snapshot and earlier logs that the checkpoint still needs, carried
    // over as hard links (each worker wrote this night's file itself).
    if let Some(night) = meta.logs.last() {
        for file in meta.files(Some(night)) {
            let from = job.output.join(checkpoint::DIR).join(&file);
            link_file(&from, &staging.join(checkpoint::DIR).join(&file))?;
        }
    }
    meta.write(staging).map_err(Error::Runtime)?;
    let write = |name: &str, bytes: Vec<u8>| {
        let path = staging.join(name);
        std::fs::write(&path, bytes).map_err(|e| Error::io(&path, e))
    };
    write(manifest::FILE, manifest.to_json())?;
    let read = ReadStats {
        headers: manifest.base.header_lines,
        bad_total: manifest.base.bad_lines_skipped,
        ..ReadStats::default()
    };
    let totals: Totals = run::totals(
        engine,
        read,
        manifest.base.counts.clone(),
        manifest.nights.clone(),
        rows,
    );
    let files = (
        manifest.base.friendship_files.clone(),
        manifest.base.adoption_files.clone(),
    );
    let summary = summary::build(job, &totals, files);
    write("summary.json", summary::to_json(&summary))?;
    let run = serde_json::json!({
        "workers_per_process": job.workers,
        "processes": job.cluster.processes,
        "nights_applied": manifest.nights.len(),
        "seconds_since_start": shared.started.elapsed().as_secs_f64(),
    });
    write("run.json", serde_json::to_vec_pretty(&run).expect("json"))?;
    // Earlier nights' feeds, up to `keep_feeds` in all, carried over as hard links.
    let keep = serve.keep_feeds.saturating_sub(1);
    let earlier = manifest.nights.len().saturating_sub(1);
    for night in &manifest.nights[earlier.saturating_sub(keep)..earlier] {
        let from = job.output.join("changes").join(&night.name);
        if from.is_dir() {
            link_tree(&from, &staging.join("changes").join(&night.name))?;
        }
    }
    write("_SUCCESS", Vec::new())?;
    if job.report {
        crate::report::write(staging, None, crate::report::DEFAULT_TOP_TOPICS)?;
    }
    publish::publish(&job.output)
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

/// Recreates a directory tree of hard links to the files under `from`.
fn link_tree(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to).map_err(|e| Error::io(to, e))?;
    for entry in std::fs::read_dir(from).map_err(|e| Error::io(from, e))? {
        let entry = entry.map_err(|e| Error::io(from, e))?;
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            link_tree(&entry.path(), &target)?;
        } else {
            link_file(&entry.path(), &target)?;
        }
    }
    Ok(())
}

/// A hard link to `from` at `to`, or a copy where links are refused.
fn link_file(from: &Path, to: &Path) -> Result<()> {
    if std::fs::hard_link(from, to).is_err() {
        std::fs::copy(from, to).map_err(|e| Error::io(to, e))?;
    }
    Ok(())
}
