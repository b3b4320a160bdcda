//! Running a job: every worker reads its share, the dataflow computes the
//! tables, every worker writes its own part files into a staging directory,
//! and process 0 publishes the directory once all workers on all processes
//! are done.
//!
//! Workers agree on everything through small broadcasts between epochs
//! ([`engine::gather`]): read statistics (including bad lines), so every
//! worker takes the same decision to fail or to write, and a last one that
//! tells process 0 that every part file is written.

pub(crate) mod engine;
pub(crate) mod profile;
pub(crate) mod write;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use serde::{Deserialize, Serialize};
use timely::worker::Worker;

use crate::cluster::figures::{self, WorkerFigures};
use crate::cluster::Plan;
use crate::dataflow::graph::{ChangeCounts, Counters};
use crate::dataflow::Time;
use crate::error::{Error, Result};
use crate::generate;
use crate::input::lines::{self, Sniff};
use crate::input::nights;
use crate::input::records::{self, BadLine};
use crate::input::{self, FileInfo, Source};
use crate::job::{self, Job};
use crate::output::{self, publish};
use crate::summary::{self, Summary, Totals};
use crate::tables::{DegreeRow, TopicRow};
use crate::topics::Dictionary;
use engine::{BaseInput, Engine, NightInput};
use write::Out;

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

/// Per-worker read statistics, broadcast to every worker.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct ReadStats {
    /// Friendship records parsed (self-loops included).
    pub friendship_records: u64,
    /// Adoption records parsed (repeated observations included).
    pub adoption_records: u64,
    /// Friendship change records (`+`/`-`) parsed in nights.
    pub friendship_changes: u64,
    /// Adoption change records parsed in nights.
    pub adoption_changes: u64,
    /// Self-loops rejected.
    pub self_loops: u64,
    /// Header lines skipped.
    pub headers: u64,
    /// Bytes read.
    pub bytes: u64,
    /// Bad lines found (the first few are in `bad`).
    pub bad_total: u64,
    /// Bad lines, at most `max_bad_lines + 1` per worker.
    pub bad: Vec<BadLine>,
}

impl ReadStats {
    pub(crate) fn absorb(&mut self, report: records::ShareReport) {
        self.headers += u64::from(report.header);
        self.bytes += report.bytes;
        self.bad_total += report.bad.len() as u64;
        self.bad.extend(report.bad);
    }

    /// The bad lines kept, in file and line order.
    pub(crate) fn sorted_bad(&self) -> Vec<BadLine> {
        let mut bad = self.bad.clone();
        bad.sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
        bad
    }

    pub(crate) fn add(&mut self, other: &ReadStats) {
        self.friendship_records += other.friendship_records;
        self.adoption_records += other.adoption_records;
        self.friendship_changes += other.friendship_changes;
        self.adoption_changes += other.adoption_changes;
        self.self_loops += other.self_loops;
        self.headers += other.headers;
        self.bytes += other.bytes;
        self.bad_total += other.bad_total;
        self.bad.extend(other.bad.iter().cloned());
    }
}

/// What a worker reports once its parts are written.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub(crate) struct Written {
    /// Rows written per table (final tables only).
    pub rows: Vec<(String, u64)>,
    /// What each night's friendship changes did at this worker's keys.
    pub friendship_counts: Vec<(Time, ChangeCounts)>,
    /// What each night's adoption changes did at this worker's keys.
    pub adoption_counts: Vec<(Time, ChangeCounts)>,
    /// What the worker read, stage timings, its process's traffic (for `run.json`).
    pub figures: WorkerFigures,
}

/// Everything workers share, read-only.
pub(crate) struct Context {
    pub job: Job,
    pub friendship_sources: Vec<Source>,
    pub friendship_sniffs: Vec<Sniff>,
    pub adoption_sources: Vec<Source>,
    pub adoption_sniffs: Vec<Sniff>,
    pub model: Option<generate::Model>,
    pub nights: Vec<NightInput>,
    pub staging: PathBuf,
    pub progress: Option<indicatif::ProgressBar>,
    /// Bytes exchanged with each peer process (cluster runs).
    pub traffic: Option<Arc<crate::cluster::net::Traffic>>,
}

/// Reads the head of every source (separator, header position).
fn sniff_all(sources: &[Source], job: &Job) -> Result<Vec<Sniff>> {
    sources
        .iter()
        .map(|source| {
            lines::sniff(source).map_err(|failure| Error::BadLines {
                bad: vec![BadLine {
                    file: source.display(),
                    line: failure.line_in_share + 1,
                    reason: failure.reason,
                }],
                total: 1,
                tolerated: job.params.max_bad_lines,
            })
        })
        .collect()
}

/// Runs a job to completion and publishes its output (on process 0).
pub fn run(job: &Job, quiet: bool) -> Result<RunReport> {
    output::guard::check(&job.output, &job.input_paths(), job.overwrite)?;
    let start = Instant::now();
    let plan = crate::cluster::plan(job)?;
    let context = Context::open(job, quiet, &plan)?;
    let fingerprints = context.fingerprint();
    let results = execute(job, plan, context, worker_main)?;
    let (totals, worker_figures) = match results.into_iter().flatten().next() {
        Some((totals, figures)) => (Some(totals), figures),
        None => (None, Vec::new()),
    };
    let summary = match (totals, fingerprints) {
        (Some(totals), Some(fingerprints)) => {
            let files = fingerprints
                .join()
                .map_err(|_| Error::Runtime("fingerprinting the inputs failed".to_string()))??;
            let staging = publish::staging_dir(&job.output);
            let summary = finish(job, &staging, totals, files, &worker_figures, start)?;
            if job.report {
                let top = crate::report::DEFAULT_TOP_TOPICS;
                if let Err(e) = crate::report::write(&staging, None, top) {
                    publish::abandon(&job.output);
                    return Err(e);
                }
            }
            publish::publish(&job.output)?;
            Some(summary)
        }
        _ => None,
    };
    Ok(RunReport {
        output: job.output.clone(),
        summary,
        seconds: start.elapsed().as_secs_f64(),
    })
}

/// The base's and the nights' input files, fingerprinted in the background.
pub(crate) type Fingerprints = std::thread::JoinHandle<Result<(Vec<FileInfo>, Vec<FileInfo>)>>;

impl Context {
    /// Lists and sniffs the job's inputs and prepares the staging directory
    /// (process 0 empties it; the others write into the same path).
    pub(crate) fn open(job: &Job, quiet: bool, plan: &Plan) -> Result<Context> {
        let (friendship_sources, adoption_sources, model) = match &job.source {
            job::Source::Files {
                friendships,
                adoptions,
            } => {
                let list = |path: &Option<PathBuf>| match path {
                    Some(path) => input::list_sources(path),
                    None => Ok(Vec::new()),
                };
                (list(friendships)?, list(adoptions)?, None)
            }
            job::Source::Generated(params) => {
                let model = generate::Model::new(params)
                    .map_err(|e| Error::Config(format!("[generate]: {e}")))?;
                (Vec::new(), Vec::new(), Some(model))
            }
        };
        let friendship_sniffs = sniff_all(&friendship_sources, job)?;
        let adoption_sniffs = sniff_all(&adoption_sources, job)?;
        let nights = match &job.deltas {
            Some(deltas) => nights::list_nights(deltas)?
                .into_iter()
                .map(|night| {
                    NightInput::open(night).map_err(|bad| Error::BadLines {
                        bad: vec![bad],
                        total: 1,
                        tolerated: job.params.max_bad_lines,
                    })
                })
                .collect::<Result<Vec<_>>>()?,
            None => Vec::new(),
        };
        let staging = if job.cluster.process == 0 {
            publish::prepare(&job.output)?
        } else {
            publish::staging_dir(&job.output)
        };
        let total_bytes: u64 = friendship_sources
            .iter()
            .chain(&adoption_sources)
            .map(|s| s.bytes)
            .sum();
        let progress = (!quiet
            && total_bytes > 0
            && std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .then(|| {
            let bar = indicatif::ProgressBar::new(total_bytes / job.cluster.processes as u64);
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "reading {bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
                )
                .expect("valid template"),
            );
            bar
        });
        Ok(Context {
            job: job.clone(),
            friendship_sources,
            friendship_sniffs,
            adoption_sources,
            adoption_sniffs,
            model,
            nights,
            staging,
            progress,
            traffic: match plan {
                Plan::Cluster(cluster) => Some(Arc::clone(&cluster.traffic)),
                _ => None,
            },
        })
    }

    /// On process 0: fingerprints the base inputs in a background thread.
    pub(crate) fn fingerprint(&self) -> Option<Fingerprints> {
        let friendships = self.friendship_sources.clone();
        let adoptions = self.adoption_sources.clone();
        (self.job.cluster.process == 0).then(|| {
            std::thread::spawn(move || {
                Ok((
                    input::fingerprint(&friendships)?,
                    input::fingerprint(&adoptions)?,
                ))
            })
        })
    }
}

/// Starts this process's workers on `work` and waits for them; on any
/// failure process 0 removes the staging directory and the first error is
/// returned. Returns each local worker's result. If a peer process dies,
/// this process exits from its network thread (after the same clean-up), so
/// nothing is published (see `crate::cluster::execute`).
pub(crate) fn execute<T, F>(job: &Job, plan: Plan, context: Context, work: F) -> Result<Vec<T>>
where
    T: Send + 'static,
    F: Fn(&mut Worker, &Context) -> Result<T> + Send + Sync + 'static,
{
    let context = Arc::new(context);
    let cleanup: Arc<dyn Fn() + Send + Sync> = {
        let output = job.output.clone();
        let first_process = job.cluster.process == 0;
        Arc::new(move || {
            if first_process {
                publish::abandon(&output);
            }
        })
    };
    let worker_context = Arc::clone(&context);
    let guards = match crate::cluster::execute(plan, Arc::clone(&cleanup), move |worker| {
        work(worker, &worker_context)
    }) {
        Ok(guards) => guards,
        Err(error) => {
            cleanup();
            return Err(error);
        }
    };
    let mut results = Vec::new();
    let mut failure = None;
    for result in guards.join() {
        match result {
            Ok(Ok(value)) => results.push(value),
            Ok(Err(e)) => {
                failure.get_or_insert(e);
            }
            Err(panic) => {
                failure.get_or_insert(Error::Runtime(format!("a worker failed: {panic}")));
            }
        }
    }
    if let Some(bar) = &context.progress {
        bar.finish_and_clear();
    }
    if let Some(error) = failure {
        cleanup();
        return Err(error);
    }
    Ok(results)
}

/// Writes the run-level files (summary, rejects, run facts, `_SUCCESS`) into staging.
fn finish(
    job: &Job,
    staging: &std::path::Path,
    totals: Totals,
    files: (Vec<FileInfo>, Vec<FileInfo>),
    worker_figures: &[WorkerFigures],
    start: Instant,
) -> Result<Summary> {
    let summary = summary::build(job, &totals, files);
    let write = |name: &str, bytes: Vec<u8>| {
        let path = staging.join(name);
        std::fs::write(&path, bytes).map_err(|e| Error::io(&path, e))
    };
    write("summary.json", summary::to_json(&summary))?;
    if job.params.max_bad_lines > 0 {
        output::write_rejects(&staging.join("rejects.csv"), &totals.read.sorted_bad())?;
    }
    let run = serde_json::json!({
        "workers_per_process": job.workers,
        "processes": job.cluster.processes,
        "seconds": start.elapsed().as_secs_f64(),
        "per_process": figures::per_process(job.workers, worker_figures),
    });
    write("run.json", serde_json::to_vec_pretty(&run).expect("json"))?;
    write("_SUCCESS", Vec::new())?;
    Ok(summary)
}

/// An estimate (on the high side) of the base friendship records a worker
/// receives: at least 12 bytes a line in files, or the generator's count.
fn expected_friendships(context: &Context, peers: usize) -> usize {
    let total = match &context.model {
        Some(model) => model.edges() as usize,
        None => context
            .friendship_sources
            .iter()
            .map(|s| s.bytes as usize / 12)
            .sum(),
    };
    per_worker_with_slack(total, peers)
}

/// A worker's share of `total` records plus 10%: what its set operator
/// reserves up front (an overestimate costs only address space).
pub(crate) fn per_worker_with_slack(total: usize, peers: usize) -> usize {
    total / peers + total / peers / 10
}

/// Reads the base's adoptions and interns every topic (a broadcast of
/// names), then builds the engine and sends the base as time 0.
pub(crate) fn load_base(
    worker: &mut Worker,
    context: &Context,
    keep_state: bool,
    stats: &mut ReadStats,
) -> Engine {
    let job = &context.job;
    let me = (worker.index(), worker.peers());
    let stop_after = (job.params.max_bad_lines as usize).saturating_add(1);
    let base = BaseInput {
        friendships: (&context.friendship_sources, &context.friendship_sniffs),
        adoptions: (&context.adoption_sources, &context.adoption_sniffs),
        model: context.model.as_ref(),
        stop_after,
        progress: context.progress.as_ref(),
    };
    // Before the main dataflow: adoptions are read and their topics interned,
    // so every worker knows every topic id before any adoption flows.
    let local = engine::read_adoptions(
        base.adoptions,
        me,
        stats,
        stop_after,
        context.progress.as_ref(),
    );
    let mut names = engine::gather_names(worker, local.names.clone());
    if let Some(model) = &context.model {
        names.extend((0..model.params().topics).map(|t| model.topic_name(t)));
    }
    let mut engine = Engine::build(
        worker,
        &job.params,
        Dictionary::from_names(names),
        keep_state,
        job.parts,
        expected_friendships(context, me.1),
    );
    engine::send_base(worker, &mut engine, local, &base, stats);
    engine
}

/// One worker of a batch run; worker 0 returns the totals and every
/// worker's figures.
fn worker_main(
    worker: &mut Worker,
    context: &Context,
) -> Result<Option<(Totals, Vec<WorkerFigures>)>> {
    let started = Instant::now();
    let index = worker.index();
    let peers = worker.peers();
    let job = &context.job;
    let stop_after = (job.params.max_bad_lines as usize).saturating_add(1);
    let keep_state = !context.nights.is_empty();
    let mut my_figures = WorkerFigures {
        worker: index,
        ..WorkerFigures::default()
    };
    let stage = |figures: &mut WorkerFigures, name: String| {
        figures.stages.push((name, started.elapsed().as_secs_f64()));
    };

    let mut base_stats = ReadStats::default();
    let mut engine = load_base(worker, context, keep_state, &mut base_stats);
    tracing::info!(
        worker = index,
        friendship_records = base_stats.friendship_records,
        adoption_records = base_stats.adoption_records,
        bytes = base_stats.bytes,
        seconds = started.elapsed().as_secs_f64(),
        "read"
    );
    my_figures.friendship_records = base_stats.friendship_records;
    my_figures.adoption_records = base_stats.adoption_records;
    my_figures.bytes_read = base_stats.bytes;
    stage(&mut my_figures, "read".to_string());
    engine.close(worker);
    tracing::info!(
        worker = index,
        seconds = started.elapsed().as_secs_f64(),
        "computed"
    );
    stage(&mut my_figures, "computed".to_string());

    // Nights: night n is time n.
    let mut night_stats = Vec::with_capacity(context.nights.len());
    let mut feeds = Vec::with_capacity(context.nights.len());
    for night in &context.nights {
        let night_started = Instant::now();
        let records = engine::read_night(night, (index, peers), stop_after);
        my_figures.change_records +=
            records.stats.friendship_changes + records.stats.adoption_changes;
        my_figures.bytes_read += records.stats.bytes;
        night_stats.push(records.stats.clone());
        engine.send_night(worker, records);
        feeds.push((night.night.name.clone(), engine.time()));
        engine.close(worker);
        tracing::info!(
            worker = index,
            night = %night.night.name,
            seconds = night_started.elapsed().as_secs_f64(),
            "night applied"
        );
        stage(&mut my_figures, format!("night {}", night.night.name));
    }

    // Every worker learns every worker's statistics: decide together.
    let all = engine::gather(worker, (base_stats, night_stats));
    let mut read = ReadStats::default();
    let mut base_read = ReadStats::default();
    let mut per_night: Vec<ReadStats> = vec![ReadStats::default(); context.nights.len()];
    for (base, nights) in &all {
        read.add(base);
        base_read.add(base);
        for (n, stats) in nights.iter().enumerate() {
            read.add(stats);
            per_night[n].add(stats);
        }
    }
    let verdict = check_read(job, context, &read);

    // Write this worker's parts (unless the job failed), then the barrier.
    let written = match &verdict {
        Ok(()) => {
            let out = Out {
                dir: &context.staging,
                format: job.format,
                parts: job.parts,
                me: (index, peers),
            };
            write::write_parts(&out, &engine.captures, &feeds).map(|rows| Written {
                rows,
                friendship_counts: counts(&engine.friendship_counts),
                adoption_counts: counts(&engine.adoption_counts),
                figures: WorkerFigures::default(),
            })
        }
        Err(_) => Err("not written".to_string()),
    };
    tracing::info!(
        worker = index,
        seconds = started.elapsed().as_secs_f64(),
        "written"
    );
    stage(&mut my_figures, "written".to_string());
    if index.is_multiple_of(job.workers) {
        if let Some(traffic) = &context.traffic {
            my_figures.traffic = traffic.snapshot(job.cluster.process);
        }
    }
    let written = written.map(|written| Written {
        figures: my_figures,
        ..written
    });
    let all_written = engine::gather(worker, written);
    verdict?;
    let all_figures: Vec<WorkerFigures> = all_written
        .iter()
        .filter_map(|w| w.as_ref().ok().map(|w| w.figures.clone()))
        .collect();
    let (rows, friendship_nights, adoption_nights) = merge_written(all_written)?;
    if index.is_multiple_of(job.workers) {
        let process = figures::per_process(job.workers, &all_figures)
            .into_iter()
            .find(|p| p.process == job.cluster.process);
        if let Some(process) = process {
            figures::log(&process);
        }
    }
    if index != 0 {
        return Ok(None);
    }
    let nights = context
        .nights
        .iter()
        .zip(per_night)
        .enumerate()
        .map(|(n, (night, stats))| {
            let time = (n + 1) as Time;
            night_summary(
                &night.night.name,
                &stats,
                friendship_nights.get(&time).copied().unwrap_or_default(),
                adoption_nights.get(&time).copied().unwrap_or_default(),
            )
        })
        .collect();
    let base = summary::Base {
        friendship_records: base_read.friendship_records,
        self_loops: base_read.self_loops,
        friendships: friendship_nights.get(&0).map_or(0, |c| c.applied_adds),
        adoption_records: base_read.adoption_records,
        adoptions: adoption_nights.get(&0).map_or(0, |c| c.applied_adds),
    };
    Ok(Some((
        totals(&engine, read, base, nights, rows),
        all_figures,
    )))
}

/// A worker's set-operator counts, by time.
pub(crate) fn counts(counters: &Counters) -> Vec<(Time, ChangeCounts)> {
    counters.borrow().iter().map(|(t, c)| (*t, *c)).collect()
}

/// Per-table row counts and per-time change counts, summed over workers;
/// fails if any worker failed to write.
#[allow(clippy::type_complexity)]
pub(crate) fn merge_written(
    all: Vec<std::result::Result<Written, String>>,
) -> Result<(
    Vec<(String, u64)>,
    BTreeMap<Time, ChangeCounts>,
    BTreeMap<Time, ChangeCounts>,
)> {
    let mut rows: Vec<(String, u64)> = Vec::new();
    let mut friendship_nights: BTreeMap<Time, ChangeCounts> = BTreeMap::new();
    let mut adoption_nights: BTreeMap<Time, ChangeCounts> = BTreeMap::new();
    for result in all {
        let written =
            result.map_err(|e| Error::Runtime(format!("writing the output failed: {e}")))?;
        for (table, n) in &written.rows {
            match rows.iter_mut().find(|(t, _)| t == table) {
                Some(entry) => entry.1 += n,
                None => rows.push((table.clone(), *n)),
            }
        }
        for (time, counts) in &written.friendship_counts {
            friendship_nights.entry(*time).or_default().add(counts);
        }
        for (time, counts) in &written.adoption_counts {
            adoption_nights.entry(*time).or_default().add(counts);
        }
    }
    Ok((rows, friendship_nights, adoption_nights))
}

/// A night's line in `summary.json`.
pub(crate) fn night_summary(
    name: &str,
    stats: &ReadStats,
    friendships: ChangeCounts,
    adoptions: ChangeCounts,
) -> summary::NightSummary {
    summary::NightSummary {
        name: name.to_string(),
        friendship_changes: stats.friendship_changes,
        adoption_changes: stats.adoption_changes,
        self_loops_rejected: stats.self_loops,
        friendships,
        adoptions,
    }
}

/// The run totals `summary.json` is built from (worker 0 holds the small tables).
pub(crate) fn totals(
    engine: &Engine,
    read: ReadStats,
    base: summary::Base,
    nights: Vec<summary::NightSummary>,
    rows: Vec<(String, u64)>,
) -> Totals {
    let mut degree_distribution: Vec<DegreeRow> = write::final_rows(&engine.captures.degrees);
    degree_distribution.sort();
    let mut topics: Vec<TopicRow> = write::final_rows(&engine.captures.topics);
    topics.sort();
    Totals {
        read,
        base,
        nights,
        degree_distribution,
        topics,
        rows,
    }
}

/// Fails the job if the inputs had more bad lines than tolerated, or no records.
pub(crate) fn check_read(job: &Job, context: &Context, read: &ReadStats) -> Result<()> {
    if read.bad_total > job.params.max_bad_lines {
        let mut bad = read.sorted_bad();
        bad.truncate(5);
        return Err(Error::BadLines {
            bad,
            total: read.bad_total,
            tolerated: job.params.max_bad_lines,
        });
    }
    if let job::Source::Files {
        friendships,
        adoptions,
    } = &job.source
    {
        let inputs = [
            (
                "friendship",
                "--friendships",
                friendships,
                &context.friendship_sources,
                read.friendship_records,
            ),
            (
                "adoption",
                "--adoptions",
                adoptions,
                &context.adoption_sources,
                read.adoption_records,
            ),
        ];
        for (what, flag, path, sources, records) in inputs {
            if let (Some(path), 0) = (path, records) {
                let where_ = if sources.len() == 1 {
                    format!("{}:1: no {what} records: the file is empty", path.display())
                } else {
                    format!(
                        "{}: no {what} records in its {} part files",
                        path.display(),
                        sources.len()
                    )
                };
                return Err(Error::Input(format!(
                    "{where_} (only comments or a header). Check the path, or drop {flag}."
                )));
            }
        }
    }
    Ok(())
}
