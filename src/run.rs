//! Running a job: every worker reads its share, the dataflow computes the
//! tables, every worker writes its own part files into a staging directory,
//! and process 0 publishes the directory once all workers on all processes
//! are done.
//!
//! Workers agree on everything through the dataflow itself: read statistics
//! (including bad lines) are broadcast at time 0, so every worker takes the
//! same decision to fail or to write; a second broadcast at time 1 is the
//! barrier that tells process 0 that every part file is written.

use std::cell::RefCell;
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Instant;

use serde::{Deserialize, Serialize};
use timely::dataflow::channels::pact::Exchange;
use timely::dataflow::operators::probe::Handle as Probe;
use timely::dataflow::operators::vec::Broadcast;
use timely::dataflow::operators::{Input, Inspect, Operator, Probe as _};
use timely::worker::Worker;

use crate::dataflow::{self, graph, Coll, Diff, Time, User};
use crate::error::{Error, Result};
use crate::generate;
use crate::input::lines::{self, Sniff};
use crate::input::records::{self, BadLine, Friendship};
use crate::input::{self, FileInfo, Source};
use crate::job::{self, Job};
use crate::output::{self, publish, table::Row};
use crate::summary::{self, Summary};
use crate::tables::{DegreeRow, UserRow};

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
    fn add(&mut self, other: &ReadStats) {
        self.friendship_records += other.friendship_records;
        self.self_loops += other.self_loops;
        self.headers += other.headers;
        self.bytes += other.bytes;
        self.bad_total += other.bad_total;
        self.bad.extend(other.bad.iter().cloned());
    }
}

/// Messages every worker sends every other worker.
#[derive(Clone, Debug, Serialize, Deserialize)]
enum Control {
    /// At time 0: what a worker read.
    Read(ReadStats),
    /// At time 1: a worker wrote its parts (rows per table), or failed to.
    Written(std::result::Result<Vec<(String, u64)>, String>),
}

/// Everything workers share, read-only.
struct Context {
    job: Job,
    friendship_sources: Vec<Source>,
    friendship_sniffs: Vec<Sniff>,
    model: Option<generate::Model>,
    staging: PathBuf,
    progress: Option<indicatif::ProgressBar>,
}

/// What worker 0 hands back to publish the run.
struct Totals {
    read: ReadStats,
    degree_distribution: Vec<DegreeRow>,
    rows: Vec<(String, u64)>,
}

/// Runs a job to completion and publishes its output (on process 0).
pub fn run(job: &Job, quiet: bool) -> Result<RunReport> {
    let start = Instant::now();
    let config = crate::cluster::timely_config(job)?;
    let (friendship_sources, model) = match &job.source {
        job::Source::Files { friendships, .. } => {
            let sources = match friendships {
                Some(path) => input::list_sources(path)?,
                None => Vec::new(),
            };
            (sources, None)
        }
        job::Source::Generated(params) => {
            let model = generate::Model::new(params)
                .map_err(|e| Error::Config(format!("[generate]: {e}")))?;
            (Vec::new(), Some(model))
        }
    };
    let friendship_sniffs = friendship_sources
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
        .collect::<Result<Vec<_>>>()?;
    let first_process = job.cluster.process == 0;
    let staging = if first_process {
        publish::prepare(&job.output)?
    } else {
        publish::staging_dir(&job.output)
    };
    let fingerprints = {
        let sources = friendship_sources.clone();
        first_process.then(|| std::thread::spawn(move || input::fingerprint(&sources)))
    };
    let total_bytes: u64 = friendship_sources.iter().map(|s| s.bytes).sum();
    let progress = (!quiet && total_bytes > 0 && std::io::IsTerminal::is_terminal(&std::io::stderr()))
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
    let context = Arc::new(Context {
        job: job.clone(),
        friendship_sources,
        friendship_sniffs,
        model,
        staging,
        progress,
    });

    let worker_context = Arc::clone(&context);
    let guards = timely::execute(config, move |worker| worker_main(worker, &worker_context))
        .map_err(|e| Error::Runtime(format!("cannot start the workers: {e}")))?;
    let mut totals = None;
    let mut failure = None;
    for result in guards.join() {
        match result {
            Ok(Ok(Some(t))) => totals = Some(t),
            Ok(Ok(None)) => {}
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
        if first_process {
            publish::abandon(&job.output);
        }
        return Err(error);
    }
    let summary = match (totals, fingerprints) {
        (Some(totals), Some(fingerprints)) => {
            let files = fingerprints
                .join()
                .map_err(|_| Error::Runtime("fingerprinting the inputs failed".to_string()))??;
            let summary = finish(job, &context.staging, totals, files, start)?;
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

/// Writes the run-level files (summary, rejects, run facts, `_SUCCESS`) into staging.
fn finish(
    job: &Job,
    staging: &std::path::Path,
    totals: Totals,
    files: Vec<FileInfo>,
    start: Instant,
) -> Result<Summary> {
    let summary = summary::build(job, &totals.read, &totals.degree_distribution, &totals.rows, files);
    let write = |name: &str, bytes: Vec<u8>| {
        let path = staging.join(name);
        std::fs::write(&path, bytes).map_err(|e| Error::io(&path, e))
    };
    write("summary.json", summary::to_json(&summary))?;
    if job.params.max_bad_lines > 0 {
        let mut bad = totals.read.bad.clone();
        bad.sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
        output::write_rejects(&staging.join("rejects.csv"), &bad)?;
    }
    let run = serde_json::json!({
        "workers_per_process": job.workers,
        "processes": job.cluster.processes,
        "seconds": start.elapsed().as_secs_f64(),
    });
    write("run.json", serde_json::to_vec_pretty(&run).expect("json"))?;
    write("_SUCCESS", Vec::new())?;
    Ok(summary)
}

/// Rows captured at one worker, with their times and diffs.
type Captured<R> = Rc<RefCell<Vec<(R, Time, Diff)>>>;

/// Sends a table's updates to the worker that writes each row's part, and
/// captures them there.
fn capture<'s, R>(
    table: Coll<'s, R>,
    part_of: impl Fn(&R) -> u64 + 'static,
    probe: &Probe<Time>,
) -> Captured<R>
where
    R: differential_dataflow::ExchangeData,
{
    let captured: Captured<R> = Rc::new(RefCell::new(Vec::new()));
    let sink = Rc::clone(&captured);
    table
        .inner
        .unary(
            Exchange::new(move |(row, _, _): &(R, Time, Diff)| part_of(row)),
            "ToWriter",
            |_, _| {
                move |input, output| {
                    input.for_each_stamp(|capability, data| {
                        let mut session = output.session(&capability);
                        for batch in data {
                            session.give_container(batch);
                        }
                    });
                }
            },
        )
        .inspect(move |update: &(R, Time, Diff)| sink.borrow_mut().push(update.clone()))
        .probe_with(probe);
    captured
}

/// The part a user's row goes to.
pub fn user_part(user: User, parts: usize) -> u64 {
    graph::mix(user) % parts as u64
}

fn worker_main(worker: &mut Worker, context: &Context) -> Result<Option<Totals>> {
    let index = worker.index();
    let peers = worker.peers();
    let job = &context.job;
    let parts = job.parts;
    let params = job.params.clone();
    let probe = Probe::new();
    let control_probe = Probe::new();
    let control_seen: Rc<RefCell<Vec<Control>>> = Rc::new(RefCell::new(Vec::new()));

    let (mut friendship_input, mut control_input, users, degrees) = worker.dataflow::<Time, _, _>(|scope| {
        let (friendship_input, records) = scope.new_input::<Vec<(User, User)>>();
        let friendships = graph::simple_graph(records);
        let tables = dataflow::build(friendships, &params);
        let users = capture(tables.users, move |row| user_part(row.user_id, parts), &probe);
        let degrees = capture(tables.degree_distribution, |_| 0, &probe);

        let (control_input, control) = scope.new_input::<Vec<Control>>();
        let seen = Rc::clone(&control_seen);
        control
            .broadcast()
            .inspect(move |message: &Control| seen.borrow_mut().push(message.clone()))
            .probe_with(&control_probe);
        (friendship_input, control_input, users, degrees)
    });

    // Time 0: read this worker's share.
    let mut stats = ReadStats::default();
    let stop_after = (job.params.max_bad_lines as usize).saturating_add(1);
    let mut pending = 0usize;
    let mut send = |a: User, b: User, worker: &mut Worker| {
        friendship_input.send((a.min(b), a.max(b)));
        pending += 1;
        if pending >= 1 << 20 {
            pending = 0;
            worker.step();
        }
    };
    if let Some(model) = &context.model {
        for chunk in (index..model.edge_chunks()).step_by(peers) {
            model.edge_chunk(
                chunk,
                |a, b| {
                    stats.friendship_records += 1;
                    if a == b {
                        stats.self_loops += 1;
                    } else {
                        send(a, b, worker);
                    }
                },
                |_adoption| {},
            );
        }
    }
    for share in input::shares(&context.friendship_sources, index, peers) {
        let source = &context.friendship_sources[share.source];
        let sniff = &context.friendship_sniffs[share.source];
        let mut last_offset = share.start;
        let report = records::parse_share::<Friendship>(source, &share, sniff, stop_after.saturating_sub(stats.bad.len()), |f, offset| {
            if f.src == f.dst {
                stats.self_loops += 1;
            } else {
                send(f.src, f.dst, worker);
            }
            if let Some(bar) = &context.progress {
                if offset > last_offset + (8 << 20) {
                    bar.inc(offset - last_offset);
                    last_offset = offset;
                }
            }
        });
        stats.friendship_records += report.records;
        stats.headers += u64::from(report.header);
        stats.bytes += report.bytes;
        stats.bad_total += report.bad.len() as u64;
        stats.bad.extend(report.bad);
        if let Some(bar) = &context.progress {
            bar.inc((share.start + report.bytes).saturating_sub(last_offset));
        }
        if stats.bad.len() >= stop_after {
            break;
        }
    }
    control_input.send(Control::Read(stats));
    friendship_input.advance_to(1);
    control_input.advance_to(1);
    friendship_input.flush();
    control_input.flush();
    worker.step_while(|| probe.less_than(&1) || control_probe.less_than(&1));

    // Every worker now holds every worker's statistics: decide together.
    let mut read = ReadStats::default();
    for message in control_seen.borrow().iter() {
        if let Control::Read(stats) = message {
            read.add(stats);
        }
    }
    let verdict = check_read(job, context, &read);

    // Time 1: write this worker's parts (unless the job failed), then the barrier.
    let written = match &verdict {
        Ok(()) => write_parts(context, index, peers, &users, &degrees),
        Err(_) => Err("not written".to_string()),
    };
    control_input.send(Control::Written(written));
    drop(friendship_input);
    drop(control_input);
    worker.step_while(|| !control_probe.done());
    verdict?;

    let mut rows: Vec<(String, u64)> = Vec::new();
    for message in control_seen.borrow().iter() {
        if let Control::Written(result) = message {
            match result {
                Ok(counts) => {
                    for (table, n) in counts {
                        match rows.iter_mut().find(|(t, _)| t == table) {
                            Some(entry) => entry.1 += n,
                            None => rows.push((table.clone(), *n)),
                        }
                    }
                }
                Err(e) => return Err(Error::Runtime(format!("writing the output failed: {e}"))),
            }
        }
    }
    if index != 0 {
        return Ok(None);
    }
    let mut degree_distribution: Vec<DegreeRow> = final_rows(&degrees);
    degree_distribution.sort();
    Ok(Some(Totals {
        read,
        degree_distribution,
        rows,
    }))
}

/// Fails the job if the inputs had more bad lines than tolerated, or no records.
fn check_read(job: &Job, context: &Context, read: &ReadStats) -> Result<()> {
    if read.bad_total > job.params.max_bad_lines {
        let mut bad = read.bad.clone();
        bad.sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
        bad.truncate(5);
        return Err(Error::BadLines {
            bad,
            total: read.bad_total,
            tolerated: job.params.max_bad_lines,
        });
    }
    if let job::Source::Files {
        friendships: Some(path),
        ..
    } = &job.source
    {
        if read.friendship_records == 0 {
            let what = if context.friendship_sources.len() == 1 {
                format!("{}:1: no friendship records: the file is empty", path.display())
            } else {
                format!(
                    "{}: no friendship records in its {} part files",
                    path.display(),
                    context.friendship_sources.len()
                )
            };
            return Err(Error::Input(format!(
                "{what} (only comments or a header). Check the path, or drop --friendships."
            )));
        }
    }
    Ok(())
}

/// The rows of a batch result: consolidated, each present once.
fn final_rows<R: Ord + Clone + std::fmt::Debug>(captured: &Captured<R>) -> Vec<R> {
    let mut updates: Vec<(R, Time, Diff)> = captured.borrow().clone();
    differential_dataflow::consolidation::consolidate_updates(&mut updates);
    updates
        .into_iter()
        .map(|(row, _time, diff)| {
            assert_eq!(diff, 1, "a table row with multiplicity {diff}: {row:?}");
            row
        })
        .collect()
}

fn write_parts(
    context: &Context,
    index: usize,
    peers: usize,
    users: &Captured<UserRow>,
    degrees: &Captured<DegreeRow>,
) -> std::result::Result<Vec<(String, u64)>, String> {
    let job = &context.job;
    let mut counts = Vec::new();
    let users = final_rows(users);
    counts.push((
        "users".to_string(),
        write_table(context, "users", job.parts, index, peers, users, |row| {
            user_part(row.user_id, job.parts)
        })?,
    ));
    let degrees = final_rows(degrees);
    counts.push((
        "degree_distribution".to_string(),
        write_table(context, "degree_distribution", 1, index, peers, degrees, |_| 0)?,
    ));
    Ok(counts)
}

/// Writes the parts `p` of a table with `p % peers == index`, each sorted.
fn write_table<R: Row + Ord>(
    context: &Context,
    table: &str,
    parts: usize,
    index: usize,
    peers: usize,
    mut rows: Vec<R>,
    part_of: impl Fn(&R) -> u64,
) -> std::result::Result<u64, String> {
    let dir = context.staging.join(table);
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    rows.sort();
    let mut written = 0;
    for part in (index..parts).step_by(peers) {
        let mine: Vec<&R> = rows.iter().filter(|r| part_of(r) == part as u64).collect();
        let path = dir.join(format!(
            "part-{part:05}.{}",
            context.job.format.extension()
        ));
        output::write_table(&path, context.job.format, &mine)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        written += mine.len() as u64;
    }
    Ok(written)
}
