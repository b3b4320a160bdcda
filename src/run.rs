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
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use serde::{Deserialize, Serialize};
use timely::container::CapacityContainerBuilder;
use timely::dataflow::channels::pact::Exchange;
use timely::dataflow::operators::probe::Handle as Probe;
use timely::dataflow::operators::vec::Broadcast;
use timely::dataflow::operators::{Input, Inspect, Operator, Probe as _};
use timely::dataflow::InputHandle;
use timely::worker::Worker;

use crate::dataflow::graph::{op_seq, AdoptionRecord, ChangeCounts, Counters};
use crate::dataflow::{self, graph, Coll, Day, Diff, Time, Topic, User};
use crate::error::{Error, Result};
use crate::generate;
use crate::input::lines::{self, Sniff};
use crate::input::nights::{self, Night};
use crate::input::records::{
    self, Adoption, AdoptionChange, BadLine, Friendship, FriendshipChange, Op,
};
use crate::input::{self, FileInfo, Source};
use crate::job::{self, Job};
use crate::output::table::{Change, Row};
use crate::output::{self, publish};
use crate::summary::{self, Summary, Totals};
use crate::tables::{DegreeRow, LeaderRow, TopicRow, TopicSignificanceRow, UserRow, UserTopicRow};
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
    fn absorb(&mut self, report: records::ShareReport) {
        self.headers += u64::from(report.header);
        self.bytes += report.bytes;
        self.bad_total += report.bad.len() as u64;
        self.bad.extend(report.bad);
    }

    fn add(&mut self, other: &ReadStats) {
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

/// Messages every worker sends every other worker.
#[derive(Clone, Debug, Serialize, Deserialize)]
enum Control {
    /// At time `n`: what a worker read of night `n` (0 is the base).
    Read(usize, ReadStats),
    /// After the last night: a worker wrote its parts, or failed to.
    Written(std::result::Result<Written, String>),
}

/// What a worker reports once its parts are written.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct Written {
    /// Rows written per table (final tables only).
    rows: Vec<(String, u64)>,
    /// What each night's friendship changes did at this worker's keys.
    friendship_counts: Vec<(Time, ChangeCounts)>,
    /// What each night's adoption changes did at this worker's keys.
    adoption_counts: Vec<(Time, ChangeCounts)>,
}

/// A night's files with their sniffed formats.
struct NightInput {
    night: Night,
    friendships: Option<(Source, Sniff)>,
    adoptions: Option<(Source, Sniff)>,
}

/// Everything workers share, read-only.
struct Context {
    job: Job,
    friendship_sources: Vec<Source>,
    friendship_sniffs: Vec<Sniff>,
    adoption_sources: Vec<Source>,
    adoption_sniffs: Vec<Sniff>,
    model: Option<generate::Model>,
    nights: Vec<NightInput>,
    staging: PathBuf,
    progress: Option<indicatif::ProgressBar>,
}

/// Timely retries connecting to its peers forever; this watchdog ends the
/// process with a message if the workers have not started (all processes
/// connected) within the job's `connect_timeout`.
fn watch_connections(job: &Job, started: Arc<AtomicBool>) {
    let timeout = std::time::Duration::from_secs(job.cluster.connect_timeout);
    let processes = job.cluster.processes;
    let process = job.cluster.process;
    let hostfile = job
        .cluster
        .hostfile
        .as_ref()
        .map(|h| h.display().to_string())
        .unwrap_or_default();
    let staging_owner = (process == 0).then(|| job.output.clone());
    std::thread::spawn(move || {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if started.load(Ordering::SeqCst) {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        if !started.load(Ordering::SeqCst) {
            if let Some(output) = staging_owner {
                publish::abandon(&output);
            }
            eprintln!(
                "error: process {process} could not connect to all {processes} processes of \
                 {hostfile} within {} s. Check that every process was started with the same \
                 --processes and --workers and its own --process, and that the hostfile's ports \
                 are reachable (raise --connect-timeout if processes start slowly).",
                timeout.as_secs()
            );
            std::process::exit(1);
        }
    });
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
    let nights = match &job.deltas {
        Some(deltas) => nights::list_nights(deltas)?
            .into_iter()
            .map(|night| {
                let sniffed = |source: &Option<Source>| -> Result<Option<(Source, Sniff)>> {
                    Ok(match source {
                        Some(source) => {
                            let sniff = sniff_all(std::slice::from_ref(source), job)?.remove(0);
                            Some((source.clone(), sniff))
                        }
                        None => None,
                    })
                };
                Ok(NightInput {
                    friendships: sniffed(&night.friendships)?,
                    adoptions: sniffed(&night.adoptions)?,
                    night,
                })
            })
            .collect::<Result<Vec<_>>>()?,
        None => Vec::new(),
    };
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
        nights,
        staging,
        progress,
    });

    let started_flag = Arc::new(AtomicBool::new(false));
    if job.cluster.processes > 1 {
        watch_connections(job, Arc::clone(&started_flag));
    }
    let worker_context = Arc::clone(&context);
    let worker_started = Arc::clone(&started_flag);
    let guards = timely::execute(config, move |worker| {
        worker_started.store(true, Ordering::SeqCst);
        worker_main(worker, &worker_context)
    })
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
    let summary = summary::build(job, &totals, files);
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
    // Updates are moved into `sink` as they arrive; the operator's output
    // carries no data, only progress, so the probe behind it passes a time
    // once every update of that time is in `sink`.
    table
        .inner
        .unary::<CapacityContainerBuilder<Vec<(R, Time, Diff)>>, _, _, _>(
            Exchange::new(move |(row, _, _): &(R, Time, Diff)| part_of(row)),
            "ToWriter",
            |_, _| {
                move |input, _output| {
                    input.for_each_stamp(|_capability, data| {
                        let mut sink = sink.borrow_mut();
                        for batch in data {
                            sink.append(batch);
                        }
                    });
                }
            },
        )
        .probe_with(probe);
    captured
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
    total / peers + total / peers / 10
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

/// Parses this worker's shares of `sources` (with their sniffed formats),
/// calling `emit(record, offset)` for each record, and adds what the shares
/// held besides records (headers, bytes, bad lines) to `stats`. Stops once
/// the worker has found `stop_after` bad lines: the job fails then anyway.
/// Returns the number of records parsed.
fn read_shares<R: records::Record>(
    sources: &[Source],
    sniffs: &[Sniff],
    (index, peers): (usize, usize),
    stats: &mut ReadStats,
    stop_after: usize,
    progress: Option<&indicatif::ProgressBar>,
    mut emit: impl FnMut(R, u64),
) -> u64 {
    let mut records = 0;
    for share in input::shares(sources, index, peers) {
        if stats.bad.len() >= stop_after {
            break;
        }
        let mut shown = share.start;
        let report = records::parse_share::<R>(
            &sources[share.source],
            &share,
            &sniffs[share.source],
            stop_after - stats.bad.len(),
            |record, offset| {
                emit(record, offset);
                if let Some(bar) = progress {
                    if offset > shown + (8 << 20) {
                        bar.inc(offset - shown);
                        shown = offset;
                    }
                }
            },
        );
        if let Some(bar) = progress {
            bar.inc((share.start + report.bytes).saturating_sub(shown));
        }
        records += report.records;
        stats.absorb(report);
    }
    records
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
    stats.adoption_records += read_shares::<Adoption>(
        &context.adoption_sources,
        &context.adoption_sniffs,
        (index, peers),
        stats,
        stop_after,
        context.progress.as_ref(),
        |adoption, _offset| {
            let next = ids.len() as u32;
            let id = *ids.entry(adoption.topic).or_insert_with_key(|name| {
                local.names.push(name.clone());
                next
            });
            local.records.push((adoption.user, id, adoption.day));
        },
    );
    local
}

/// Gathers every worker's topic names: the same sorted, deduplicated list on
/// every worker, from which every worker builds the same dictionary.
fn gather_names(worker: &mut Worker, names: Vec<String>) -> Vec<String> {
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
    let mut names = std::mem::take(&mut *seen.borrow_mut());
    names.sort_unstable();
    names.dedup();
    names
}

/// The captured tables of one worker.
struct Captures {
    users: Captured<UserRow>,
    user_topics: Captured<UserTopicRow>,
    topic_leaders: Captured<LeaderRow>,
    degrees: Captured<DegreeRow>,
    topics: Captured<TopicRow>,
    /// Only with `shuffle_rounds > 0`.
    topic_significance: Option<Captured<TopicSignificanceRow>>,
}

/// An input of records of type `D`.
type In<D> = InputHandle<Time, CapacityContainerBuilder<Vec<D>>>;

/// The inputs of the main dataflow.
struct Inputs {
    friendships: In<(User, User)>,
    friendship_changes: In<graph::Change<(User, User)>>,
    adoptions: In<AdoptionRecord>,
    adoption_changes: In<graph::Change<AdoptionRecord>>,
    control: In<Control>,
}

impl Inputs {
    /// Closes the epoch: every input moves to `time` (forgetting one would stall the probe).
    fn advance_to(&mut self, time: Time) {
        self.friendships.advance_to(time);
        self.friendship_changes.advance_to(time);
        self.adoptions.advance_to(time);
        self.adoption_changes.advance_to(time);
        self.control.advance_to(time);
        self.friendships.flush();
        self.friendship_changes.flush();
        self.adoptions.flush();
        self.adoption_changes.flush();
        self.control.flush();
    }
}

fn worker_main(worker: &mut Worker, context: &Context) -> Result<Option<Totals>> {
    let started = Instant::now();
    let index = worker.index();
    let peers = worker.peers();
    let job = &context.job;
    let parts = job.parts;
    let params = job.params.clone();
    let stop_after = (job.params.max_bad_lines as usize).saturating_add(1);
    let keep_state = !context.nights.is_empty();
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
            let dictionary = Dictionary::from_names(gather_names(worker, local.names.clone()));
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
    let friendship_counts: Counters = Rc::default();
    let adoption_counts: Counters = Rc::default();
    let (mut inputs, captures) = worker.dataflow::<Time, _, _>(|scope| {
        let (friendships_in, friendship_records) = scope.new_input::<Vec<(User, User)>>();
        let (friendship_changes_in, friendship_changes) = scope.new_input();
        let (adoptions_in, adoption_records) = scope.new_input::<Vec<((User, Topic), Day)>>();
        let (adoption_changes_in, adoption_changes) = scope.new_input();
        let friendships = graph::simple_graph(
            friendship_records,
            friendship_changes,
            keep_state,
            Rc::clone(&friendship_counts),
            expected_friendships(context, peers),
        );
        let adoptions = graph::adoptions(
            adoption_records,
            adoption_changes,
            keep_state,
            Rc::clone(&adoption_counts),
        );
        let tables = dataflow::build(
            friendships,
            adoptions,
            &params,
            Rc::clone(&dictionary),
            keep_state,
        );
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
            topic_significance: tables
                .topic_significance
                .map(|table| capture(table, |_| 0, &probe)),
        };

        let (control_in, control) = scope.new_input::<Vec<Control>>();
        let seen = Rc::clone(&control_seen);
        control
            .broadcast()
            .inspect(move |message: &Control| seen.borrow_mut().push(message.clone()))
            .probe_with(&control_probe);
        let inputs = Inputs {
            friendships: friendships_in,
            friendship_changes: friendship_changes_in,
            adoptions: adoptions_in,
            adoption_changes: adoption_changes_in,
            control: control_in,
        };
        (inputs, captures)
    });

    // Time 0: feed this worker's share of the base.
    for (user, topic, day) in local.records {
        inputs
            .adoptions
            .send(((user, to_global[topic as usize]), day));
    }
    let mut pending = 0usize;
    let mut step_now_and_then = |worker: &mut Worker| {
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
                inputs
                    .adoptions
                    .send(((a.user, to_global[a.topic as usize]), a.day));
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
                        inputs.friendships.send((a.min(b), a.max(b)));
                        step_now_and_then(worker);
                    }
                },
                |a| {
                    stats.adoption_records += 1;
                    inputs
                        .adoptions
                        .send(((a.user, to_global[a.topic as usize]), a.day));
                },
            );
        }
    }
    let mut self_loops = 0;
    stats.friendship_records += read_shares::<Friendship>(
        &context.friendship_sources,
        &context.friendship_sniffs,
        (index, peers),
        &mut stats,
        stop_after,
        context.progress.as_ref(),
        |f, _offset| {
            if f.src == f.dst {
                self_loops += 1;
            } else {
                inputs
                    .friendships
                    .send((f.src.min(f.dst), f.src.max(f.dst)));
                step_now_and_then(worker);
            }
        },
    );
    stats.self_loops += self_loops;
    tracing::info!(
        worker = index,
        friendship_records = stats.friendship_records,
        adoption_records = stats.adoption_records,
        bytes = stats.bytes,
        seconds = started.elapsed().as_secs_f64(),
        "read"
    );
    inputs.control.send(Control::Read(0, stats));
    inputs.advance_to(1);
    worker.step_while(|| probe.less_than(&1) || control_probe.less_than(&1));
    tracing::info!(
        worker = index,
        seconds = started.elapsed().as_secs_f64(),
        "computed"
    );

    // Nights: night n is time n.
    for (n, night) in context.nights.iter().enumerate() {
        let time = (n + 1) as Time;
        let night_started = Instant::now();
        let mut stats = ReadStats::default();
        let (sources, sniffs): (Vec<Source>, Vec<Sniff>) =
            night.friendships.iter().cloned().unzip();
        let mut self_loops = 0;
        stats.friendship_changes += read_shares::<FriendshipChange>(
            &sources,
            &sniffs,
            (index, peers),
            &mut stats,
            stop_after,
            None,
            |change, offset| {
                let Friendship { src, dst } = change.friendship;
                if src == dst {
                    self_loops += 1;
                } else {
                    let remove = change.op == Op::Remove;
                    inputs
                        .friendship_changes
                        .send(((src.min(dst), src.max(dst)), op_seq(offset, remove)));
                }
            },
        );
        stats.self_loops += self_loops;
        let (sources, sniffs): (Vec<Source>, Vec<Sniff>) = night.adoptions.iter().cloned().unzip();
        let mut changes: Vec<(AdoptionChange, u64)> = Vec::new();
        stats.adoption_changes += read_shares::<AdoptionChange>(
            &sources,
            &sniffs,
            (index, peers),
            &mut stats,
            stop_after,
            None,
            |change, offset| changes.push((change, offset)),
        );
        // New topics get the next ids, the same on every worker.
        let new_names: Vec<String> = {
            let known = dictionary.borrow();
            let mut names: Vec<String> = changes
                .iter()
                .filter(|(c, _)| known.id(&c.topic).is_none())
                .map(|(c, _)| c.topic.clone())
                .collect();
            names.sort_unstable();
            names.dedup();
            names
        };
        let new_names = gather_names(worker, new_names);
        dictionary.borrow_mut().extend(new_names);
        {
            let known = dictionary.borrow();
            for (change, offset) in changes {
                let topic = known.id(&change.topic).expect("interned above");
                let remove = change.op == Op::Remove;
                inputs
                    .adoption_changes
                    .send((((change.user, topic), change.day), op_seq(offset, remove)));
            }
        }
        inputs.control.send(Control::Read(n + 1, stats));
        inputs.advance_to(time + 1);
        worker.step_while(|| probe.less_than(&(time + 1)) || control_probe.less_than(&(time + 1)));
        tracing::info!(
            worker = index,
            night = %night.night.name,
            seconds = night_started.elapsed().as_secs_f64(),
            "night applied"
        );
    }

    // Every worker now holds every worker's statistics: decide together.
    let mut read = ReadStats::default();
    let mut base_read = ReadStats::default();
    let mut per_night: Vec<ReadStats> = vec![ReadStats::default(); context.nights.len()];
    for message in control_seen.borrow().iter() {
        if let Control::Read(n, stats) = message {
            read.add(stats);
            if *n > 0 {
                per_night[n - 1].add(stats);
            } else {
                base_read.add(stats);
            }
        }
    }
    let verdict = check_read(job, context, &read);

    // After the last night: write this worker's parts (unless the job failed), then the barrier.
    let written = match &verdict {
        Ok(()) => write_parts(context, index, peers, &captures).map(|rows| Written {
            rows,
            friendship_counts: friendship_counts
                .borrow()
                .iter()
                .map(|(t, c)| (*t, *c))
                .collect(),
            adoption_counts: adoption_counts
                .borrow()
                .iter()
                .map(|(t, c)| (*t, *c))
                .collect(),
        }),
        Err(_) => Err("not written".to_string()),
    };
    tracing::info!(
        worker = index,
        seconds = started.elapsed().as_secs_f64(),
        "written"
    );
    inputs.control.send(Control::Written(written));
    drop(inputs);
    worker.step_while(|| !control_probe.done());
    verdict?;

    let mut rows: Vec<(String, u64)> = Vec::new();
    let mut friendship_nights: BTreeMap<Time, ChangeCounts> = BTreeMap::new();
    let mut adoption_nights: BTreeMap<Time, ChangeCounts> = BTreeMap::new();
    for message in control_seen.borrow().iter() {
        if let Control::Written(result) = message {
            match result {
                Ok(written) => {
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
                Err(e) => return Err(Error::Runtime(format!("writing the output failed: {e}"))),
            }
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
            summary::NightSummary {
                name: night.night.name.clone(),
                friendship_changes: stats.friendship_changes,
                adoption_changes: stats.adoption_changes,
                self_loops_rejected: stats.self_loops,
                friendships: friendship_nights.get(&time).copied().unwrap_or_default(),
                adoptions: adoption_nights.get(&time).copied().unwrap_or_default(),
            }
        })
        .collect();
    let mut degree_distribution: Vec<DegreeRow> = final_rows(&captures.degrees);
    degree_distribution.sort();
    let mut topics: Vec<TopicRow> = final_rows(&captures.topics);
    topics.sort();
    let base = summary::Base {
        friendship_records: base_read.friendship_records,
        self_loops: base_read.self_loops,
        friendships: friendship_nights.get(&0).map_or(0, |c| c.applied_adds),
        adoption_records: base_read.adoption_records,
        adoptions: adoption_nights.get(&0).map_or(0, |c| c.applied_adds),
    };
    Ok(Some(Totals {
        read,
        base,
        nights,
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

/// The rows of a table after the last night: all updates consolidated, each row present once.
fn final_rows<R: Ord + Clone + std::fmt::Debug>(captured: &Captured<R>) -> Vec<R> {
    let mut updates: Vec<(R, Time, Diff)> = captured
        .borrow()
        .iter()
        .map(|(row, _, diff)| (row.clone(), 0, *diff))
        .collect();
    differential_dataflow::consolidation::consolidate_updates(&mut updates);
    updates
        .into_iter()
        .map(|(row, _time, diff)| {
            assert_eq!(diff, 1, "a table row with multiplicity {diff}: {row:?}");
            row
        })
        .collect()
}

/// A table's change feed at `time`: rows that left (`-`) and arrived (`+`).
fn changes_at<R: Ord + Clone + std::fmt::Debug>(
    captured: &Captured<R>,
    time: Time,
) -> Vec<Change<R>> {
    let mut updates: Vec<(R, Time, Diff)> = captured
        .borrow()
        .iter()
        .filter(|(_, t, _)| *t == time)
        .cloned()
        .collect();
    differential_dataflow::consolidation::consolidate_updates(&mut updates);
    updates
        .into_iter()
        .map(|(row, _, diff)| {
            assert!(
                diff == 1 || diff == -1,
                "a change with multiplicity {diff}: {row:?}"
            );
            Change {
                op: if diff > 0 { '+' } else { '-' },
                row,
            }
        })
        .collect()
}

/// Writes a table's final parts and, for each night, its change feed
/// (`changes/<night>/<table>/`), partitioned like the table.
fn write_with_changes<R: Row + Ord + Clone + std::fmt::Debug>(
    context: &Context,
    table: &str,
    parts: usize,
    (index, peers): (usize, usize),
    captured: &Captured<R>,
    part_of: impl Fn(&R) -> u64,
) -> std::result::Result<(String, u64), String> {
    let written = write_table(
        context,
        table,
        parts,
        index,
        peers,
        final_rows(captured),
        &part_of,
    )?;
    for (n, night) in context.nights.iter().enumerate() {
        let feed = format!("changes/{}/{table}", night.night.name);
        let changes = changes_at(captured, (n + 1) as Time);
        write_table(
            context,
            &feed,
            parts,
            index,
            peers,
            changes,
            |c: &Change<R>| part_of(&c.row),
        )?;
    }
    Ok((table.to_string(), written))
}

fn write_parts(
    context: &Context,
    index: usize,
    peers: usize,
    captures: &Captures,
) -> std::result::Result<Vec<(String, u64)>, String> {
    let parts = context.job.parts;
    let by_user = move |user| user_part(user, parts);
    let me = (index, peers);
    let mut written = vec![
        write_with_changes(context, "users", parts, me, &captures.users, |r| {
            by_user(r.user_id)
        })?,
        write_with_changes(
            context,
            "user_topics",
            parts,
            me,
            &captures.user_topics,
            |r| by_user(r.user_id),
        )?,
        write_with_changes(
            context,
            "topic_leaders",
            1,
            me,
            &captures.topic_leaders,
            |_| 0,
        )?,
        write_with_changes(
            context,
            "degree_distribution",
            1,
            me,
            &captures.degrees,
            |_| 0,
        )?,
        write_with_changes(context, "topics", 1, me, &captures.topics, |_| 0)?,
    ];
    if let Some(captured) = &captures.topic_significance {
        written.push(write_with_changes(
            context,
            "topic_significance",
            1,
            me,
            captured,
            |_| 0,
        )?);
    }
    Ok(written)
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
