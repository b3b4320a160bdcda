//! Reading a worker's share of the inputs: the base (files or the
//! generator) and the nights, as records for the [`Engine`].
//!
//! Every worker reads only its own share of every file (`input::shares`);
//! the adoptions are read before the dataflow exists so that their topics
//! can be interned first (the same ids on every worker).

use std::collections::HashMap;

use timely::worker::Worker;

use super::customers;
use super::translate::{self, wide_final, Numbered, Staged, Wide};
use super::{Engine, STEP_EVERY};
use crate::dataflow::operators::set::{op_seq, Change};
use crate::dataflow::{Day, Topic, User};
use crate::error::{Error, Result};
use crate::generate;
use crate::ids::{self, IdMode};
use crate::input::lines::{self, Sniff};
use crate::input::nights::Night;
use crate::input::records::{
    self, Adoption, AdoptionChange, BadLine, Friendship, FriendshipChange, Op, UserId,
};
use crate::input::{self, ReadStats, Source};

/// Reads the head of every source (separator, header position); a failure
/// is a bad line of the job (`tolerated` is its `max_bad_lines`).
pub fn sniff_all(sources: &[Source], tolerated: u64) -> Result<Vec<Sniff>> {
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
                tolerated,
            })
        })
        .collect()
}

/// A worker's share of `total` records plus 10%: what its set operator
/// reserves up front (an overestimate costs only address space).
pub fn per_worker_with_slack(total: usize, peers: usize) -> usize {
    total / peers + total / peers / 10
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
    /// The friendship files and their formats.
    pub friendships: (&'a [Source], &'a [Sniff]),
    /// The adoption files and their formats.
    pub adoptions: (&'a [Source], &'a [Sniff]),
    /// The generator, for a `[generate]` job.
    pub model: Option<&'a generate::Model>,
    /// Bad lines after which a worker stops reading.
    pub stop_after: usize,
    /// The reading bar.
    pub progress: Option<&'a indicatif::ProgressBar>,
}

/// What one worker read of the adoptions before the main dataflow exists:
/// records with topics as indices into `names`.
pub struct LocalAdoptions {
    records: Vec<(User, u32, Day)>,
    /// The distinct topic names this worker saw.
    pub names: Vec<String>,
}

/// Reads this worker's share of the adoption files (integer ids: those of
/// 2^31 and above as stand-ins until [`send_base`] translates them).
pub fn read_adoptions(
    files: (&[Source], &[Sniff]),
    me: (usize, usize),
    stats: &mut ReadStats,
    stop_after: usize,
    progress: Option<&indicatif::ProgressBar>,
) -> LocalAdoptions {
    drop(Wide::take());
    read_adoptions_of::<u64>(files, me, stats, stop_after, progress, Wide::user)
}

/// Reads this worker's share of adoption files whose user ids are `I`, each
/// made a `User` by `user` (itself, or a text's local number).
fn read_adoptions_of<I: UserId>(
    (sources, sniffs): (&[Source], &[Sniff]),
    me: (usize, usize),
    stats: &mut ReadStats,
    stop_after: usize,
    progress: Option<&indicatif::ProgressBar>,
    user: impl Fn(I) -> User,
) -> LocalAdoptions {
    let mut local = LocalAdoptions {
        records: Vec::new(),
        names: Vec::new(),
    };
    let mut ids: HashMap<String, u32> = HashMap::new();
    stats.adoption_records += read_shares::<Adoption<I>>(
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
            local.records.push((user(adoption.user), id, adoption.day));
        },
    );
    local
}

/// Reads this worker's share of the base with text ids (adoptions and
/// friendships, both before the main dataflow exists) and translates the
/// ids through their owners: the adoptions as [`read_adoptions`] gives them
/// and the friendships (self-loops counted and dropped), with internal ids.
pub fn read_text_base(
    worker: &mut Worker,
    base: &BaseInput,
    stats: &mut ReadStats,
    dictionary: &translate::Shared,
) -> (LocalAdoptions, Vec<(User, User)>) {
    let me = (worker.index(), worker.peers());
    drop(Numbered::take());
    let mut local = read_adoptions_of::<Numbered>(
        base.adoptions,
        me,
        stats,
        base.stop_after,
        base.progress,
        |n| User::from(n.0),
    );
    let (sources, sniffs) = base.friendships;
    let bytes: u64 = sources.iter().map(|s| s.bytes).sum();
    // About 12 bytes a line at least: this worker's share, plus 10%.
    let mut friendships: Vec<(User, User)> =
        Vec::with_capacity(per_worker_with_slack(bytes as usize / 12, me.1).min(1 << 28));
    // The ids are staged (numbered in batches, `LocalTexts::stage`): the
    // records hold occurrences until every share is read.
    stats.friendship_records += read_shares::<Friendship<Staged>>(
        sources,
        sniffs,
        me,
        stats,
        base.stop_after,
        base.progress,
        |f, _offset| friendships.push((f.src.0, f.dst.0)),
    );
    let numbers = Staged::numbers();
    for (a, b) in &mut friendships {
        (*a, *b) = (numbers[*a as usize], numbers[*b as usize]);
    }
    drop(numbers);
    let before = friendships.len();
    friendships.retain(|(a, b)| a != b);
    stats.self_loops += (before - friendships.len()) as u64;
    let ids = Numbered::take().users(worker, dictionary);
    for record in &mut local.records {
        record.0 = ids[record.0 as usize];
    }
    for (a, b) in &mut friendships {
        (*a, *b) = (ids[*a as usize], ids[*b as usize]);
    }
    (local, friendships)
}

/// Sends this worker's share of the base (time 0): the adoptions read
/// before the dataflow existed, then the generator's share, then the
/// friendship files' share. With integer ids, records that hold ids of
/// 2^31 and above wait until the end, when their owners translate them
/// (every worker calls it).
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
    // Integer ids: records with stand-ins for wide ids, sent once translated.
    let integer = engine.ids.mode == IdMode::Integer;
    let stand_in = move |user: User| integer && u64::from(user) >= ids::DIRECT;
    let mut wide_adoptions = Vec::new();
    let mut wide_friendships = Vec::new();
    for (user, topic, day) in local.records {
        match stand_in(user) {
            true => wide_adoptions.push((user, to_global[topic as usize], day)),
            false => engine.send_adoption(user, to_global[topic as usize], day),
        }
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
                engine.send_adoption(generated(a.user), topic_ids[a.topic as usize], a.day);
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
                        friendships.send((generated(a.min(b)), generated(a.max(b))));
                        *pending += 1;
                        if *pending >= STEP_EVERY {
                            *pending = 0;
                            worker.step();
                        }
                    }
                },
                |a| {
                    adoption_records += 1;
                    adoptions.send(((generated(a.user), topic_ids[a.topic as usize]), a.day));
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
                return;
            }
            let (a, b) = (Wide::user(f.src), Wide::user(f.dst));
            match stand_in(a) || stand_in(b) {
                true => wide_friendships.push((a, b)),
                false => engine.send_friendship(worker, a, b),
            }
        },
    );
    stats.self_loops += self_loops;
    if integer {
        let wide = Wide::take().translate(worker, &engine.ids.dictionary);
        for (user, topic, day) in wide_adoptions {
            engine.send_adoption(wide_final(user, &wide), topic, day);
        }
        for (a, b) in wide_friendships {
            engine.send_friendship(worker, wide_final(a, &wide), wide_final(b, &wide));
        }
    }
}

/// A generated user's internal id: the generator numbers users from 0.
fn generated(user: u64) -> User {
    User::try_from(user)
        .ok()
        .filter(|&u| u64::from(u) < ids::DIRECT)
        .expect("generated user ids are below 2^31")
}

/// A night's files with their sniffed formats.
#[derive(Clone, Debug)]
pub struct NightInput {
    /// The night's name and files.
    pub night: Night,
    /// Its friendship changes, sniffed.
    pub friendships: Option<(Source, Sniff)>,
    /// Its adoption changes, sniffed.
    pub adoptions: Option<(Source, Sniff)>,
    /// Its identity changes, sniffed.
    pub identities: Option<(Source, Sniff)>,
    /// Its purchase changes, sniffed.
    pub purchases: Option<(Source, Sniff)>,
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
            identities: sniffed(&night.identities)?,
            purchases: sniffed(&night.purchases)?,
            night,
        })
    }

    /// Whether the night holds customer inputs.
    pub fn has_customers(&self) -> bool {
        self.identities.is_some() || self.purchases.is_some()
    }
}

/// This worker's share of a night's changes, parsed but not yet sent, so
/// that a night with bad lines can be refused before it touches the state.
pub struct NightRecords {
    pub(super) friendships: Vec<Change<(User, User)>>,
    pub(super) adoptions: Vec<(AdoptionChange<User>, u64)>,
    /// With text ids: the distinct texts, by the local numbers the records
    /// above hold until [`NightRecords::translate`].
    pub(super) texts: Option<translate::LocalTexts>,
    /// With integer ids: the ids of 2^31 and above, by the stand-ins the
    /// records above hold until [`NightRecords::translate`].
    pub(super) wide: Option<Wide>,
    /// The night's purchases (this worker's shares) and, at worker 0, its
    /// identity differences.
    pub(super) customers: Option<customers::NightCustomers>,
    /// What the shares held.
    pub stats: ReadStats,
}

/// Reads this worker's share of a night. With `book` (a run with customer
/// inputs; worker 0's identity mappings), its customer inputs too.
pub fn read_night(
    night: &NightInput,
    me: (usize, usize),
    stop_after: usize,
    ids: IdMode,
    book: Option<&customers::Book>,
) -> NightRecords {
    let mut records = read_night_ids(night, me, stop_after, ids);
    match book {
        Some(book) => {
            let mut stats = ReadStats::default();
            let purchases: (Vec<Source>, Vec<Sniff>) = night.purchases.iter().cloned().unzip();
            let local = customers::read_purchases(
                (&purchases.0, &purchases.1),
                me,
                true,
                &mut stats,
                stop_after,
            );
            let identities: (Vec<Source>, Vec<Sniff>) = match me.0 {
                0 => night.identities.iter().cloned().unzip(),
                _ => Default::default(),
            };
            let (diffs, counts) = customers::read_identities(
                (&identities.0, &identities.1),
                ids,
                true,
                book,
                &mut stats,
                stop_after,
            );
            records.stats.add(&stats);
            records.customers = Some(customers::NightCustomers {
                local,
                diffs,
                counts,
                appeared: night.has_customers(),
            });
        }
        None if night.has_customers() && me.0 == 0 => {
            let (source, _) = night
                .identities
                .as_ref()
                .or(night.purchases.as_ref())
                .expect("one");
            records.stats.bad_total += 1;
            records.stats.bad.push(BadLine {
                file: source.display(),
                line: 1,
                reason: customers::not_enabled(&night.night.name).to_string(),
            });
        }
        None => {}
    }
    records
}

/// Reads this worker's share of a night's friendships and adoptions.
fn read_night_ids(
    night: &NightInput,
    me: (usize, usize),
    stop_after: usize,
    ids: IdMode,
) -> NightRecords {
    match ids {
        IdMode::Integer => {
            // Ids of 2^31 and above are stand-ins until [`NightRecords::translate`].
            drop(Wide::take());
            let mut records = read_night_of::<u64>(night, me, stop_after, Wide::user);
            records.wide = Some(Wide::take());
            records
        }
        IdMode::Text => {
            // Records hold local numbers of their texts until
            // [`NightRecords::translate`] (which orients friendships again).
            drop(Numbered::take());
            let mut records = read_night_of::<Numbered>(night, me, stop_after, |n| User::from(n.0));
            records.texts = Some(Numbered::take());
            records
        }
    }
}

/// Reads this worker's share of a night whose user ids are `I`, each made a
/// `User` by `user` (itself for integer ids, a local number for text ids).
fn read_night_of<I: UserId>(
    night: &NightInput,
    me: (usize, usize),
    stop_after: usize,
    user: impl Fn(I) -> User,
) -> NightRecords {
    let mut stats = ReadStats::default();
    let mut friendships = Vec::new();
    let (sources, sniffs): (Vec<Source>, Vec<Sniff>) = night.friendships.iter().cloned().unzip();
    let mut self_loops = 0;
    stats.friendship_changes += read_shares::<FriendshipChange<I>>(
        &sources,
        &sniffs,
        me,
        &mut stats,
        stop_after,
        None,
        |change, offset| {
            let Friendship { src, dst } = change.friendship;
            let (src, dst) = (user(src), user(dst));
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
    stats.adoption_changes += read_shares::<AdoptionChange<I>>(
        &sources,
        &sniffs,
        me,
        &mut stats,
        stop_after,
        None,
        |change, offset| {
            let change = AdoptionChange {
                op: change.op,
                user: user(change.user),
                topic: change.topic,
                day: change.day,
            };
            adoptions.push((change, offset))
        },
    );
    NightRecords {
        friendships,
        adoptions,
        texts: None,
        wide: None,
        customers: None,
        stats,
    }
}

impl NightRecords {
    /// Turns the records' local numbers (text ids) or stand-ins (integer
    /// ids of 2^31 and above) into internal ids; new ids get new ones at
    /// their owners. Every worker calls it.
    pub(super) fn translate(&mut self, worker: &mut Worker, dictionary: &translate::Shared) {
        let user: Box<dyn Fn(User) -> User> = match (self.texts.take(), self.wide.take()) {
            (Some(texts), _) => {
                let ids = texts.users(worker, dictionary);
                Box::new(move |n| ids[n as usize])
            }
            (None, Some(wide)) => {
                let ids = wide.translate(worker, dictionary);
                Box::new(move |u| wide_final(u, &ids))
            }
            (None, None) => return,
        };
        for ((a, b), _) in &mut self.friendships {
            let (x, y) = (user(*a), user(*b));
            (*a, *b) = (x.min(y), x.max(y));
        }
        for (change, _) in &mut self.adoptions {
            change.user = user(change.user);
        }
    }
}
