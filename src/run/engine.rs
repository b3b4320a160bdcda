//! One worker's dataflow and what feeds it: the base (input files, the
//! generator, or a checkpoint) at time 0, then one epoch per night.
//!
//! The batch run and `reach serve` drive the same engine; they differ only
//! in where nights come from and when tables are written.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::time::Duration;

use timely::container::CapacityContainerBuilder;
use timely::dataflow::operators::probe::Handle as Probe;
use timely::dataflow::operators::vec::Broadcast;
use timely::dataflow::operators::{Input, Inspect, Probe as _};
use timely::dataflow::InputHandle;
use timely::worker::Worker;

use super::write::{capture, user_part, Captures};
use super::ReadStats;
use crate::dataflow::graph::{self, op_seq, AdoptionRecord, Counters, State};
use crate::dataflow::{self, Day, Time, Topic, User};
use crate::generate;
use crate::input::lines::Sniff;
use crate::input::nights::Night;
use crate::input::records::{
    self, Adoption, AdoptionChange, BadLine, Friendship, FriendshipChange, Op,
};
use crate::input::{self, Source};
use crate::params::Params;
use crate::topics::{Dictionary, Shared};

/// Records sent between two steps of a worker while it reads the base.
const STEP_EVERY: usize = 1 << 20;

/// An input of records of type `D`.
type In<D> = InputHandle<Time, CapacityContainerBuilder<Vec<D>>>;

/// The inputs of the main dataflow.
struct Inputs {
    friendships: In<(User, User)>,
    friendship_changes: In<graph::Change<(User, User)>>,
    adoptions: In<AdoptionRecord>,
    adoption_changes: In<graph::Change<AdoptionRecord>>,
}

impl Inputs {
    /// Closes the epoch: every input moves to `time` (forgetting one would stall the probe).
    fn advance_to(&mut self, time: Time) {
        self.friendships.advance_to(time);
        self.friendship_changes.advance_to(time);
        self.adoptions.advance_to(time);
        self.adoption_changes.advance_to(time);
        self.friendships.flush();
        self.friendship_changes.flush();
        self.adoptions.flush();
        self.adoption_changes.flush();
    }
}

/// One worker's main dataflow, its inputs and its captured tables.
pub struct Engine {
    inputs: Inputs,
    /// The tables, as captured at this worker.
    pub captures: Captures,
    probe: Probe<Time>,
    /// What the friendship set operator did, per time.
    pub friendship_counts: Counters,
    /// What the adoption set operator did, per time.
    pub adoption_counts: Counters,
    /// The current friendships owned by this worker (when state is kept).
    pub friendship_state: State<(User, User)>,
    /// The current adoptions owned by this worker (when state is kept).
    pub adoption_state: State<AdoptionRecord>,
    /// Topic names and ids, the same on every worker.
    pub dictionary: Shared,
    /// The open epoch.
    time: Time,
    /// Records sent since the worker last stepped.
    pending: usize,
    /// Operator timings (`REACH_PROFILE_OPERATORS`).
    profile: Option<super::profile::Shared>,
}

impl Engine {
    /// Builds the dataflow. With `keep_state`, the input sets and the
    /// arrangements that nights need are kept after the base.
    pub fn build(
        worker: &mut Worker,
        params: &Params,
        dictionary: Dictionary,
        keep_state: bool,
        parts: usize,
        expected_friendships: usize,
    ) -> Engine {
        let dictionary = dictionary.shared();
        let profile = super::profile::install(worker);
        let probe = Probe::new();
        let friendship_counts: Counters = Rc::default();
        let adoption_counts: Counters = Rc::default();
        let friendship_state: State<(User, User)> = Rc::default();
        let adoption_state: State<AdoptionRecord> = Rc::default();
        let (inputs, captures) = worker.dataflow::<Time, _, _>(|scope| {
            let (friendships_in, friendship_records) = scope.new_input::<Vec<(User, User)>>();
            let (friendship_changes_in, friendship_changes) = scope.new_input();
            let (adoptions_in, adoption_records) = scope.new_input::<Vec<AdoptionRecord>>();
            let (adoption_changes_in, adoption_changes) = scope.new_input();
            let friendships = graph::simple_graph(
                friendship_records,
                friendship_changes,
                keep_state,
                (Rc::clone(&friendship_counts), Rc::clone(&friendship_state)),
                expected_friendships,
            );
            let adoptions = graph::adoptions(
                adoption_records,
                adoption_changes,
                keep_state,
                (Rc::clone(&adoption_counts), Rc::clone(&adoption_state)),
            );
            let tables = dataflow::build(
                friendships,
                adoptions,
                params,
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
            let inputs = Inputs {
                friendships: friendships_in,
                friendship_changes: friendship_changes_in,
                adoptions: adoptions_in,
                adoption_changes: adoption_changes_in,
            };
            (inputs, captures)
        });
        Engine {
            inputs,
            captures,
            probe,
            friendship_counts,
            adoption_counts,
            friendship_state,
            adoption_state,
            dictionary,
            time: 0,
            pending: 0,
            profile,
        }
    }

    /// The open epoch: 0 for the base, then one per night.
    pub fn time(&self) -> Time {
        self.time
    }

    /// Sends a friendship (not a self-loop) of the open epoch; steps the
    /// worker now and then so that a large base flows while it is read.
    pub fn send_friendship(&mut self, worker: &mut Worker, a: User, b: User) {
        self.inputs.friendships.send((a.min(b), a.max(b)));
        self.pending += 1;
        if self.pending >= STEP_EVERY {
            self.pending = 0;
            worker.step();
        }
    }

    /// From now on, records every difference nights make to the input sets,
    /// for [`Engine::take_journal`].
    pub fn keep_journal(&mut self) {
        self.friendship_state.borrow_mut().journal = Some(Vec::new());
        self.adoption_state.borrow_mut().journal = Some(Vec::new());
    }

    /// The differences nights made to this worker's input sets since the
    /// last call (nothing unless [`Engine::keep_journal`] was called).
    pub fn take_journal(&mut self) -> crate::serve::checkpoint::Journal {
        fn take<R>(journal: &mut Option<Vec<R>>) -> Vec<R> {
            journal.as_mut().map(std::mem::take).unwrap_or_default()
        }
        (
            take(&mut self.friendship_state.borrow_mut().journal),
            take(&mut self.adoption_state.borrow_mut().journal),
        )
    }

    /// Sends an adoption of the open epoch.
    pub fn send_adoption(&mut self, user: User, topic: Topic, day: Day) {
        self.inputs.adoptions.send(((user, topic), day));
    }

    /// Closes the open epoch and runs the dataflow until every table is
    /// complete for it.
    pub fn close(&mut self, worker: &mut Worker) {
        self.time += 1;
        self.inputs.advance_to(self.time);
        let (probe, time) = (&self.probe, self.time);
        worker.step_or_park_while(Some(Duration::from_millis(10)), || probe.less_than(&time));
        if let Some(profile) = &self.profile {
            super::profile::report(profile, worker.index(), &format!("epoch {}", time - 1));
        }
    }

    /// Sends a night's changes as the open epoch: new topics are interned
    /// first (the same ids on every worker), then every change is sent.
    pub fn send_night(&mut self, worker: &mut Worker, night: NightRecords) {
        for (friendship, seq) in night.friendships {
            self.inputs.friendship_changes.send((friendship, seq));
        }
        let new_names: Vec<String> = {
            let known = self.dictionary.borrow();
            let mut names: Vec<String> = night
                .adoptions
                .iter()
                .filter(|(c, _)| known.id(&c.topic).is_none())
                .map(|(c, _)| c.topic.clone())
                .collect();
            names.sort_unstable();
            names.dedup();
            names
        };
        let new_names = gather_names(worker, new_names);
        self.dictionary.borrow_mut().extend(new_names);
        let known = self.dictionary.borrow();
        for (change, offset) in night.adoptions {
            let topic = known.id(&change.topic).expect("interned above");
            let remove = change.op == Op::Remove;
            self.inputs
                .adoption_changes
                .send((((change.user, topic), change.day), op_seq(offset, remove)));
        }
    }
}

/// Parses this worker's shares of `sources` (with their sniffed formats),
/// calling `emit(record, offset)` for each record, and adds what the shares
/// held besides records (headers, bytes, bad lines) to `stats`. Stops once
/// the worker has found `stop_after` bad lines: the job fails then anyway.
/// Returns the number of records parsed.
pub fn read_shares<R: records::Record>(
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

/// The base: input files with their sniffed formats, or a generator.
pub struct BaseInput<'a> {
    pub friendships: (&'a [Source], &'a [Sniff]),
    pub adoptions: (&'a [Source], &'a [Sniff]),
    pub model: Option<&'a generate::Model>,
    /// Bad lines after which a worker stops reading.
    pub stop_after: usize,
    pub progress: Option<&'a indicatif::ProgressBar>,
}

/// What one worker read of the adoptions before the main dataflow exists:
/// records with topics as indices into `names`.
pub struct LocalAdoptions {
    records: Vec<(User, u32, Day)>,
    /// The distinct topic names this worker saw.
    pub names: Vec<String>,
}

/// Reads this worker's share of the adoption files.
pub fn read_adoptions(
    (sources, sniffs): (&[Source], &[Sniff]),
    me: (usize, usize),
    stats: &mut ReadStats,
    stop_after: usize,
    progress: Option<&indicatif::ProgressBar>,
) -> LocalAdoptions {
    let mut local = LocalAdoptions {
        records: Vec::new(),
        names: Vec::new(),
    };
    let mut ids: HashMap<String, u32> = HashMap::new();
    stats.adoption_records += read_shares::<Adoption>(
        sources,
        sniffs,
        me,
        stats,
        stop_after,
        progress,
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

/// Sends this worker's share of the base (time 0): the adoptions read
/// before the dataflow existed, then the generator's share, then the
/// friendship files' share.
pub fn send_base(
    worker: &mut Worker,
    engine: &mut Engine,
    local: LocalAdoptions,
    base: &BaseInput,
    stats: &mut ReadStats,
) {
    let (model, stop_after, progress) = (base.model, base.stop_after, base.progress);
    let (index, peers) = (worker.index(), worker.peers());
    let to_global: Vec<Topic> = {
        let dictionary = engine.dictionary.borrow();
        local
            .names
            .iter()
            .map(|name| dictionary.id(name).expect("every local topic is interned"))
            .collect()
    };
    for (user, topic, day) in local.records {
        engine.send_adoption(user, to_global[topic as usize], day);
    }
    if let Some(model) = model {
        let topic_ids: Vec<Topic> = {
            let dictionary = engine.dictionary.borrow();
            (0..model.params().topics)
                .map(|t| dictionary.id(&model.topic_name(t)).expect("interned"))
                .collect()
        };
        for chunk in (index..model.adoption_chunks()).step_by(peers) {
            model.adoption_chunk(chunk, |a| {
                stats.adoption_records += 1;
                engine.send_adoption(a.user, topic_ids[a.topic as usize], a.day);
            });
        }
        let (mut friendship_records, mut self_loops, mut adoption_records) = (0, 0, 0);
        for chunk in (index..model.edge_chunks()).step_by(peers) {
            // Two closures, two inputs: each borrows only its own field.
            let pending = &mut engine.pending;
            let friendships = &mut engine.inputs.friendships;
            let adoptions = &mut engine.inputs.adoptions;
            model.edge_chunk(
                chunk,
                |a, b| {
                    friendship_records += 1;
                    if a == b {
                        self_loops += 1;
                    } else {
                        friendships.send((a.min(b), a.max(b)));
                        *pending += 1;
                        if *pending >= STEP_EVERY {
                            *pending = 0;
                            worker.step();
                        }
                    }
                },
                |a| {
                    adoption_records += 1;
                    adoptions.send(((a.user, topic_ids[a.topic as usize]), a.day));
                },
            );
        }
        stats.friendship_records += friendship_records;
        stats.self_loops += self_loops;
        stats.adoption_records += adoption_records;
    }
    let mut self_loops = 0;
    let (sources, sniffs) = base.friendships;
    stats.friendship_records += read_shares::<Friendship>(
        sources,
        sniffs,
        (index, peers),
        stats,
        stop_after,
        progress,
        |f, _offset| {
            if f.src == f.dst {
                self_loops += 1;
            } else {
                engine.send_friendship(worker, f.src, f.dst);
            }
        },
    );
    stats.self_loops += self_loops;
}

/// A night's files with their sniffed formats.
#[derive(Clone, Debug)]
pub struct NightInput {
    pub night: Night,
    pub friendships: Option<(Source, Sniff)>,
    pub adoptions: Option<(Source, Sniff)>,
}

impl NightInput {
    /// Sniffs a night's files; a failure names the file and line.
    pub fn open(night: Night) -> Result<NightInput, BadLine> {
        let sniffed = |source: &Option<Source>| -> Result<Option<(Source, Sniff)>, BadLine> {
            match source {
                Some(source) => match crate::input::lines::sniff(source) {
                    Ok(sniff) => Ok(Some((source.clone(), sniff))),
                    Err(failure) => Err(BadLine {
                        file: source.display(),
                        line: failure.line_in_share + 1,
                        reason: failure.reason,
                    }),
                },
                None => Ok(None),
            }
        };
        Ok(NightInput {
            friendships: sniffed(&night.friendships)?,
            adoptions: sniffed(&night.adoptions)?,
            night,
        })
    }
}

/// This worker's share of a night's changes, parsed but not yet sent, so
/// that a night with bad lines can be refused before it touches the state.
pub struct NightRecords {
    friendships: Vec<graph::Change<(User, User)>>,
    adoptions: Vec<(AdoptionChange, u64)>,
    /// What the shares held.
    pub stats: ReadStats,
}

/// Reads this worker's share of a night.
pub fn read_night(night: &NightInput, me: (usize, usize), stop_after: usize) -> NightRecords {
    let mut stats = ReadStats::default();
    let mut friendships = Vec::new();
    let (sources, sniffs): (Vec<Source>, Vec<Sniff>) = night.friendships.iter().cloned().unzip();
    let mut self_loops = 0;
    stats.friendship_changes += read_shares::<FriendshipChange>(
        &sources,
        &sniffs,
        me,
        &mut stats,
        stop_after,
        None,
        |change, offset| {
            let Friendship { src, dst } = change.friendship;
            if src == dst {
                self_loops += 1;
            } else {
                let remove = change.op == Op::Remove;
                friendships.push(((src.min(dst), src.max(dst)), op_seq(offset, remove)));
            }
        },
    );
    stats.self_loops += self_loops;
    let (sources, sniffs): (Vec<Source>, Vec<Sniff>) = night.adoptions.iter().cloned().unzip();
    let mut adoptions = Vec::new();
    stats.adoption_changes += read_shares::<AdoptionChange>(
        &sources,
        &sniffs,
        me,
        &mut stats,
        stop_after,
        None,
        |change, offset| adoptions.push((change, offset)),
    );
    NightRecords {
        friendships,
        adoptions,
        stats,
    }
}

/// Every worker's `value`, in worker order, on every worker: a small
/// dataflow of its own, used to agree between epochs. Idle workers park
/// instead of spinning while they wait (e.g. for `reach serve`'s next night).
pub fn gather<T: timely::ExchangeData + Clone>(worker: &mut Worker, value: T) -> Vec<T> {
    let seen: Rc<RefCell<Vec<(usize, T)>>> = Rc::new(RefCell::new(Vec::new()));
    let (mut input, probe) = worker.dataflow::<Time, _, _>(|scope| {
        let (input, values) = scope.new_input::<Vec<(usize, T)>>();
        let sink = Rc::clone(&seen);
        let (probe, _) = values
            .broadcast()
            .inspect(move |value: &(usize, T)| sink.borrow_mut().push(value.clone()))
            .probe();
        (input, probe)
    });
    input.send((worker.index(), value));
    drop(input);
    while !probe.done() {
        worker.step_or_park(Some(Duration::from_millis(50)));
    }
    let mut values = std::mem::take(&mut *seen.borrow_mut());
    values.sort_by_key(|(index, _)| *index);
    values.into_iter().map(|(_, value)| value).collect()
}

/// Gathers every worker's topic names: the same sorted, deduplicated list on
/// every worker, from which every worker builds the same dictionary.
pub fn gather_names(worker: &mut Worker, names: Vec<String>) -> Vec<String> {
    let mut names: Vec<String> = gather(worker, names).into_iter().flatten().collect();
    names.sort_unstable();
    names.dedup();
    names
}
