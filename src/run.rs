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
use std::collections::HashMap;
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

use crate::dataflow::{self, graph, Coll, Day, Diff, Time, Topic, User};
use crate::error::{Error, Result};
use crate::generate;
use crate::input::lines::{self, Sniff};
use crate::input::records::{self, Adoption, BadLine, Friendship};
use crate::input::{self, FileInfo, Source};
use crate::job::{self, Job};
use crate::output::{self, publish, table::Row};
use crate::summary::{self, Summary};
use crate::tables::{DegreeRow, LeaderRow, TopicRow, UserRow, UserTopicRow};
use crate::topics::Dictionary;

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
    fn absorb(&mut self, report: records::ShareReport) {
        self.headers += u64::from(report.header);
        self.bytes += report.bytes;
        self.bad_total += report.bad.len() as u64;
        self.bad.extend(report.bad);
    }

    fn add(&mut self, other: &ReadStats) {
        self.friendship_records += other.friendship_records;
        self.adoption_records += other.adoption_records;
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
    adoption_sources: Vec<Source>,
    adoption_sniffs: Vec<Sniff>,
    model: Option<generate::Model>,
    staging: PathBuf,
    progress: Option<indicatif::ProgressBar>,
}

/// What worker 0 hands back to publish the run.
struct Totals {
    read: ReadStats,
    degree_distribution: Vec<DegreeRow>,
    topics: Vec<TopicRow>,
    rows: Vec<(String, u64)>,
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
    let start = Instant::now();
    let config = crate::cluster::timely_config(job)?;
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
    let first_process = job.cluster.process == 0;
    let staging = if first_process {
        publish::prepare(&job.output)?
    } else {
        publish::staging_dir(&job.output)
    };
    let fingerprints = {
        let friendships = friendship_sources.clone();
        let adoptions = adoption_sources.clone();
        first_process.then(|| {
            std::thread::spawn(move || {
                Ok::<_, Error>((
                    input::fingerprint(&friendships)?,
                    input::fingerprint(&adoptions)?,
                ))
            })
        })
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
    let context = Arc::new(Context {
        job: job.clone(),
        friendship_sources,
        friendship_sniffs,
        adoption_sources,
        adoption_sniffs,
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
    files: (Vec<FileInfo>, Vec<FileInfo>),
    start: Instant,
) -> Result<Summary> {
    let summary = summary::build(
        job,
        &totals.read,
        &totals.degree_distribution,
        &totals.topics,
        &totals.rows,
        files,
    );
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

/// What one worker read of the adoptions before the main dataflow exists:
/// records with topics as indices into `names`.
struct LocalAdoptions {
    records: Vec<(User, u32, Day)>,
    names: Vec<String>,
}

/// Reads this worker's share of the adoption files.
fn read_adoptions(
    context: &Context,
    index: usize,
    peers: usize,
    stats: &mut ReadStats,
    stop_after: usize,
) -> LocalAdoptions {
    let mut local = LocalAdoptions {
        records: Vec::new(),
        names: Vec::new(),
    };
    let mut ids: HashMap<String, u32> = HashMap::new();
    for share in input::shares(&context.adoption_sources, index, peers) {
        if stats.bad.len() >= stop_after {
            break;
        }
        let source = &context.adoption_sources[share.source];
        let sniff = &context.adoption_sniffs[share.source];
        let report = records::parse_share::<Adoption>(
            source,
            &share,
            sniff,
            stop_after - stats.bad.len(),
            |adoption, _offset| {
                let next = ids.len() as u32;
                let id = *ids.entry(adoption.topic).or_insert_with_key(|name| {
                    local.names.push(name.clone());
                    next
                });
                local.records.push((adoption.user, id, adoption.day));
            },
        );
        stats.adoption_records += report.records;
        stats.absorb(report);
        if let Some(bar) = &context.progress {
            bar.inc(share.end.min(source.bytes) - share.start);
        }
    }
    local
}

/// Gathers every worker's topic names and returns the global dictionary,
/// the same on every worker (sorted names, ids in name order).
fn intern(worker: &mut Worker, names: Vec<String>) -> Dictionary {
    let seen: Rc<RefCell<Vec<String>>> = Rc::new(RefCell::new(Vec::new()));
    let (mut input, probe) = worker.dataflow::<Time, _, _>(|scope| {
        let (input, names) = scope.new_input::<Vec<String>>();
        let sink = Rc::clone(&seen);
        let (probe, _) = names
            .broadcast()
            .inspect(move |name: &String| sink.borrow_mut().push(name.clone()))
            .probe();
        (input, probe)
    });
    for name in names {
        input.send(name);
    }
    drop(input);
    worker.step_while(|| !probe.done());
    let names = std::mem::take(&mut *seen.borrow_mut());
    Dictionary::from_names(names)
}

/// The captured tables of one worker.
struct Captures {
    users: Captured<UserRow>,
    user_topics: Captured<UserTopicRow>,
    topic_leaders: Captured<LeaderRow>,
    degrees: Captured<DegreeRow>,
    topics: Captured<TopicRow>,
}

fn worker_main(worker: &mut Worker, context: &Context) -> Result<Option<Totals>> {
    let started = Instant::now();
    let index = worker.index();
    let peers = worker.peers();
    let job = &context.job;
    let parts = job.parts;
    let params = job.params.clone();
    let stop_after = (job.params.max_bad_lines as usize).saturating_add(1);
    let mut stats = ReadStats::default();

    // Before the main dataflow: adoptions are read and their topics interned,
    // so every worker knows every topic id before any adoption flows.
    let (local, dictionary) = match &context.model {
        Some(model) => {
            let names: Vec<String> = (0..model.params().topics)
                .map(|t| model.topic_name(t))
                .collect();
            let dictionary = Dictionary::from_names(names.clone());
            (
                LocalAdoptions {
                    records: Vec::new(),
                    names,
                },
                dictionary,
            )
        }
        None => {
            let local = read_adoptions(context, index, peers, &mut stats, stop_after);
            let dictionary = intern(worker, local.names.clone());
            (local, dictionary)
        }
    };
    let to_global: Vec<Topic> = local
        .names
        .iter()
        .map(|name| {
            dictionary
                .id(name)
                .expect("every local topic is in the dictionary")
        })
        .collect();
    let dictionary = dictionary.shared();

    let probe = Probe::new();
    let control_probe = Probe::new();
    let control_seen: Rc<RefCell<Vec<Control>>> = Rc::new(RefCell::new(Vec::new()));
    let (mut friendship_input, mut adoption_input, mut control_input, captures) = worker
        .dataflow::<Time, _, _>(|scope| {
            let (friendship_input, friendship_records) = scope.new_input::<Vec<(User, User)>>();
            let (adoption_input, adoption_records) = scope.new_input::<Vec<((User, Topic), Day)>>();
            let friendships = graph::simple_graph(friendship_records);
            let adoptions = graph::adoptions(adoption_records);
            let tables = dataflow::build(friendships, adoptions, &params, Rc::clone(&dictionary));
            let captures = Captures {
                users: capture(
                    tables.users,
                    move |row| user_part(row.user_id, parts),
                    &probe,
                ),
                user_topics: capture(
                    tables.user_topics,
                    move |row| user_part(row.user_id, parts),
                    &probe,
                ),
                topic_leaders: capture(tables.topic_leaders, |_| 0, &probe),
                degrees: capture(tables.degree_distribution, |_| 0, &probe),
                topics: capture(tables.topics, |_| 0, &probe),
            };

            let (control_input, control) = scope.new_input::<Vec<Control>>();
            let seen = Rc::clone(&control_seen);
            control
                .broadcast()
                .inspect(move |message: &Control| seen.borrow_mut().push(message.clone()))
                .probe_with(&control_probe);
            (friendship_input, adoption_input, control_input, captures)
        });

    // Time 0: feed this worker's share.
    for (user, topic, day) in local.records {
        adoption_input.send(((user, to_global[topic as usize]), day));
    }
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
        for chunk in (index..model.adoption_chunks()).step_by(peers) {
            model.adoption_chunk(chunk, |a| {
                stats.adoption_records += 1;
                adoption_input.send(((a.user, to_global[a.topic as usize]), a.day));
            });
        }
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
                |a| {
                    stats.adoption_records += 1;
                    adoption_input.send(((a.user, to_global[a.topic as usize]), a.day));
                },
            );
        }
    }
    for share in input::shares(&context.friendship_sources, index, peers) {
        if stats.bad.len() >= stop_after {
            break;
        }
        let source = &context.friendship_sources[share.source];
        let sniff = &context.friendship_sniffs[share.source];
        let mut last_offset = share.start;
        let report = records::parse_share::<Friendship>(
            source,
            &share,
            sniff,
            stop_after - stats.bad.len(),
            |f, offset| {
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
            },
        );
        stats.friendship_records += report.records;
        if let Some(bar) = &context.progress {
            bar.inc((share.start + report.bytes).saturating_sub(last_offset));
        }
        stats.absorb(report);
    }
    tracing::info!(
        worker = index,
        friendship_records = stats.friendship_records,
        adoption_records = stats.adoption_records,
        bytes = stats.bytes,
        seconds = started.elapsed().as_secs_f64(),
        "read"
    );
    control_input.send(Control::Read(stats));
    friendship_input.advance_to(1);
    adoption_input.advance_to(1);
    control_input.advance_to(1);
    friendship_input.flush();
    adoption_input.flush();
    control_input.flush();
    worker.step_while(|| probe.less_than(&1) || control_probe.less_than(&1));
    tracing::info!(
        worker = index,
        seconds = started.elapsed().as_secs_f64(),
        "computed"
    );

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
        Ok(()) => write_parts(context, index, peers, &captures),
        Err(_) => Err("not written".to_string()),
    };
    tracing::info!(
        worker = index,
        seconds = started.elapsed().as_secs_f64(),
        "written"
    );
    control_input.send(Control::Written(written));
    drop(friendship_input);
    drop(adoption_input);
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
    let mut degree_distribution: Vec<DegreeRow> = final_rows(&captures.degrees);
    degree_distribution.sort();
    let mut topics: Vec<TopicRow> = final_rows(&captures.topics);
    topics.sort();
    Ok(Some(Totals {
        read,
        degree_distribution,
        topics,
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
    captures: &Captures,
) -> std::result::Result<Vec<(String, u64)>, String> {
    let parts = context.job.parts;
    let by_user = |user| user_part(user, parts);
    Ok(vec![
        (
            "users".to_string(),
            write_table(
                context,
                "users",
                parts,
                index,
                peers,
                final_rows(&captures.users),
                |row| by_user(row.user_id),
            )?,
        ),
        (
            "user_topics".to_string(),
            write_table(
                context,
                "user_topics",
                parts,
                index,
                peers,
                final_rows(&captures.user_topics),
                |row| by_user(row.user_id),
            )?,
        ),
        (
            "topic_leaders".to_string(),
            write_table(
                context,
                "topic_leaders",
                1,
                index,
                peers,
                final_rows(&captures.topic_leaders),
                |_| 0,
            )?,
        ),
        (
            "degree_distribution".to_string(),
            write_table(
                context,
                "degree_distribution",
                1,
                index,
                peers,
                final_rows(&captures.degrees),
                |_| 0,
            )?,
        ),
        (
            "topics".to_string(),
            write_table(
                context,
                "topics",
                1,
                index,
                peers,
                final_rows(&captures.topics),
                |_| 0,
            )?,
        ),
    ])
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
        let path = dir.join(format!("part-{part:05}.{}", context.job.format.extension()));
        output::write_table(&path, context.job.format, &mine)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        written += mine.len() as u64;
    }
    Ok(written)
}
