//! Opening the engine: the [`Context`] every worker shares (the job's inputs
//! listed and sniffed, the nights of a batch, staging, progress), and the
//! two ways a worker's [`Engine`] starts: [`Engine::load`] sends the base
//! (files or the generator), [`Engine::resume`] a checkpoint, both as time 0.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use timely::worker::Worker;

use super::customers::{self, CustomerSources};
use super::read::{self, BaseInput, NightInput};
use super::{agree, checkpoint, translate, Engine};
use crate::cluster::Plan;
use crate::dataflow::customers::accounts::{AccountSet, Candidates};
use crate::error::{Error, Result};
use crate::generate;
use crate::ids::IdMode;
use crate::input::lines::Sniff;
use crate::input::{self, nights, FileInfo, ReadStats, Source};
use crate::job::{self, Job};
use crate::output::publish;
use crate::topics::Dictionary;

/// The base's friendship and adoption files, fingerprinted (SHA-256) in the background.
type Fingerprints = std::thread::JoinHandle<Result<(Vec<FileInfo>, Vec<FileInfo>)>>;

/// Where time 0 comes from.
#[derive(Clone, Debug)]
pub enum Start {
    /// The job's base: input files or the generator.
    Base,
    /// A checkpoint in the output (its base files are never read: they may be gone).
    Checkpoint(checkpoint::Meta),
}

/// Everything workers share, read-only.
pub struct Context {
    /// The resolved job.
    pub job: Job,
    /// Where time 0 comes from.
    pub start: Start,
    friendship_sources: Vec<Source>,
    friendship_sniffs: Vec<Sniff>,
    adoption_sources: Vec<Source>,
    adoption_sniffs: Vec<Sniff>,
    model: Option<generate::Model>,
    /// A batch's nights (`--deltas`), sniffed.
    pub nights: Vec<NightInput>,
    /// The customer inputs, when the run has customer tables: the job
    /// names customer files, a batch's night holds some, or the checkpoint
    /// has customer tables.
    pub customers: Option<CustomerSources>,
    /// The staging directory every worker writes its parts into.
    pub staging: PathBuf,
    /// The reading progress bar (a terminal, not `--quiet`).
    pub progress: Option<indicatif::ProgressBar>,
    /// Bytes exchanged with each peer process (cluster runs).
    pub traffic: Option<Arc<crate::cluster::net::Traffic>>,
    fingerprints: Mutex<Option<Fingerprints>>,
}

impl Context {
    /// Lists and sniffs the job's inputs (not the base's when resuming from
    /// a checkpoint) and prepares the staging directory (process 0 empties
    /// it; the others write into the same path). Process 0 starts
    /// fingerprinting the base files in the background.
    pub fn open(job: &Job, start: Start, quiet: bool, plan: &Plan) -> Result<Context> {
        let (friendship_sources, adoption_sources, model) = match (&start, &job.source) {
            (Start::Checkpoint(_), _) => (Vec::new(), Vec::new(), None),
            (
                Start::Base,
                job::Source::Files {
                    friendships,
                    adoptions,
                },
            ) => {
                let list = |path: &Option<PathBuf>| match path {
                    Some(path) => input::list_sources(path),
                    None => Ok(Vec::new()),
                };
                (list(friendships)?, list(adoptions)?, None)
            }
            (Start::Base, job::Source::Generated(params)) => {
                let model = generate::Model::new(params)
                    .map_err(|e| Error::Config(format!("[generate]: {e}")))?;
                (Vec::new(), Vec::new(), Some(model))
            }
        };
        let tolerated = job.params.max_bad_lines;
        let friendship_sniffs = read::sniff_all(&friendship_sources, tolerated)?;
        let adoption_sniffs = read::sniff_all(&adoption_sources, tolerated)?;
        let nights = match &job.deltas {
            Some(deltas) => nights::list_nights(deltas)?
                .into_iter()
                .map(|night| {
                    NightInput::open(night).map_err(|bad| Error::BadLines {
                        bad: vec![bad],
                        total: 1,
                        tolerated,
                    })
                })
                .collect::<Result<Vec<_>>>()?,
            None => Vec::new(),
        };
        let customers = match &start {
            Start::Checkpoint(meta) => meta.customers.then(CustomerSources::default),
            Start::Base => (job.customers.any()
                || model.as_ref().is_some_and(|m| m.params().customers)
                || nights.iter().any(NightInput::has_customers))
            .then(|| CustomerSources::open(job, tolerated))
            .transpose()?,
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
        let progress =
            (!quiet && std::io::IsTerminal::is_terminal(&std::io::stderr())).then(|| {
                if total_bytes == 0 {
                    // Nothing to read (a generator or a checkpoint): stages only.
                    let bar = indicatif::ProgressBar::no_length();
                    bar.set_style(
                        indicatif::ProgressStyle::with_template("{spinner} {msg} {elapsed}")
                            .expect("valid template"),
                    );
                    bar.set_message("reading");
                    bar.enable_steady_tick(std::time::Duration::from_millis(200));
                    return bar;
                }
                let bar = indicatif::ProgressBar::new(total_bytes / job.cluster.processes as u64);
                bar.set_style(
                    indicatif::ProgressStyle::with_template(
                        "reading {bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
                    )
                    .expect("valid template"),
                );
                bar
            });
        let fingerprints = (job.cluster.process == 0 && matches!(start, Start::Base)).then(|| {
            let friendships = friendship_sources.clone();
            let adoptions = adoption_sources.clone();
            std::thread::spawn(move || {
                Ok((
                    input::fingerprint(&friendships)?,
                    input::fingerprint(&adoptions)?,
                ))
            })
        });
        Ok(Context {
            job: job.clone(),
            start,
            friendship_sources,
            friendship_sniffs,
            adoption_sources,
            adoption_sniffs,
            model,
            nights,
            customers,
            staging,
            progress,
            traffic: match plan {
                Plan::Cluster(cluster) => Some(Arc::clone(&cluster.traffic)),
                _ => None,
            },
            fingerprints: Mutex::new(fingerprints),
        })
    }

    /// The base's friendship and adoption files with their SHA-256 (process
    /// 0, once; empty when resuming or when already taken).
    pub fn base_files(&self) -> Result<(Vec<FileInfo>, Vec<FileInfo>)> {
        match self.fingerprints.lock().expect("lock").take() {
            Some(handle) => handle
                .join()
                .map_err(|_| Error::Runtime("fingerprinting the inputs failed".to_string()))?,
            None => Ok(Default::default()),
        }
    }

    /// The bad lines after which a worker stops reading (the job fails then anyway).
    pub fn stop_after(&self) -> usize {
        (self.job.params.max_bad_lines as usize).saturating_add(1)
    }

    /// The base's input files (for the "no records" check).
    pub(crate) fn base_sources(&self) -> (&[Source], &[Source]) {
        (&self.friendship_sources, &self.adoption_sources)
    }

    /// An estimate (on the high side) of the base friendship records a
    /// worker receives: at least 12 bytes a line in files, or the
    /// generator's count.
    fn expected_friendships(&self, peers: usize) -> usize {
        let total = match &self.model {
            Some(model) => model.edges() as usize,
            None => self
                .friendship_sources
                .iter()
                .map(|s| s.bytes as usize / 12)
                .sum(),
        };
        read::per_worker_with_slack(total, peers)
    }
}

/// The accounts of customers that the base maps two or more accounts to
/// (worker 0 holds the mappings; every worker gets the set): the only
/// accounts whose base friendships the customers' friend counts look up.
/// Every worker calls it (text ids are translated by their owners).
fn candidates(
    worker: &mut Worker,
    identities: &[customers::IdentityDiff],
    ids: &translate::UserIds,
) -> Candidates {
    let mut by_customer: std::collections::HashMap<&str, Vec<&str>> = Default::default();
    for (account, customer, _) in identities {
        by_customer.entry(customer).or_default().push(account);
    }
    let texts: Vec<String> = by_customer
        .into_values()
        .filter(|accounts| accounts.len() >= 2)
        .flatten()
        .map(str::to_string)
        .collect();
    let accounts = ids.to_internal(worker, texts);
    let all = agree::gather(worker, accounts).into_iter().flatten();
    std::rc::Rc::new(AccountSet::new(all))
}

impl Engine {
    /// Reads this worker's share of the base's adoptions and interns every
    /// topic (a broadcast of names), builds the dataflow and sends the rest
    /// of the base as time 0 (the epoch stays open: [`Engine::close`] runs
    /// it). With `keep_state`, what nights need is kept after the base.
    pub fn load(
        worker: &mut Worker,
        context: &Context,
        keep_state: bool,
        stats: &mut ReadStats,
    ) -> Engine {
        let job = &context.job;
        crate::ids::refuse_wide(job.params.shuffle_rounds > 0);
        let me = (worker.index(), worker.peers());
        let base = BaseInput {
            friendships: (&context.friendship_sources, &context.friendship_sniffs),
            adoptions: (&context.adoption_sources, &context.adoption_sniffs),
            model: context.model.as_ref(),
            stop_after: context.stop_after(),
            progress: context.progress.as_ref(),
        };
        // Before the main dataflow: adoptions are read and their topics
        // interned, so every worker knows every topic id before any adoption flows.
        // With text ids, the friendships too, so that every id is translated
        // (by its owner) before the dataflow exists.
        let ids = translate::UserIds::new(job.ids);
        let (local, text_friendships) = match job.ids {
            IdMode::Integer => {
                let local =
                    read::read_adoptions(base.adoptions, me, stats, base.stop_after, base.progress);
                (local, Vec::new())
            }
            IdMode::Text => read::read_text_base(worker, &base, stats, &ids.dictionary),
        };
        // Customer inputs, also before the dataflow: purchases name topics.
        let generated = context.model.as_ref().filter(|m| m.params().customers);
        let customer_input = context.customers.as_ref().map(|sources| {
            if let Some(model) = generated {
                return customers::generated(model, me, stats);
            }
            let local = customers::read_purchases(
                (&sources.purchases.0, &sources.purchases.1),
                me,
                false,
                stats,
                base.stop_after,
            );
            let identities = match me.0 {
                0 => {
                    customers::read_identities(
                        (&sources.identities.0, &sources.identities.1),
                        job.ids,
                        false,
                        &customers::Book::default(),
                        stats,
                        base.stop_after,
                    )
                    .0
                }
                _ => Vec::new(),
            };
            (local, identities)
        });
        let mut seen = local.names.clone();
        if let Some((purchases, _)) = &customer_input {
            seen.extend(purchases.names.iter().cloned());
        }
        let mut names = agree::gather_names(worker, seen);
        if let Some(model) = &context.model {
            names.extend((0..model.params().topics).map(|t| model.topic_name(t)));
        }
        let candidates = customer_input
            .as_ref()
            .map(|(_, identities)| candidates(worker, identities, &ids));
        let mut engine = Engine::build(
            worker,
            &job.params,
            Dictionary::from_names(names),
            (
                ids,
                context
                    .customers
                    .as_ref()
                    .map(|_| translate::Shared::default()),
                candidates,
            ),
            keep_state,
            job.parts,
            context.expected_friendships(me.1),
        );
        if let Some((purchases, identities)) = customer_input {
            let appeared = job.customers.any() || generated.is_some();
            engine.send_customers(worker, purchases, identities, appeared);
        }
        let base = match job.ids {
            IdMode::Integer => base,
            IdMode::Text => BaseInput {
                friendships: (&[], &[]),
                ..base
            },
        };
        read::send_base(worker, &mut engine, local, &base, stats);
        for (a, b) in text_friendships {
            engine.send_friendship(worker, a, b);
        }
        engine
    }

    /// Loads the checkpoint as the base (time 0) and runs the dataflow over
    /// it. Any worker count reads any checkpoint: worker `i` reads the files
    /// `j` with `j % workers == i`, and the records flow to their owners.
    /// With `customers`, the customer tables are built even if the
    /// checkpoint has none (a service whose first customer files arrive in
    /// a night resumes itself so).
    pub fn resume(
        worker: &mut Worker,
        context: &Context,
        meta: &checkpoint::Meta,
        customers: bool,
    ) -> Result<Engine> {
        let job = &context.job;
        crate::ids::refuse_wide(job.params.shuffle_rounds > 0);
        let (index, peers) = (worker.index(), worker.peers());
        if meta.ids != job.ids {
            return Err(Error::Config(format!(
                "{}: the checkpoint holds {} user ids and the job reads {} ids: give --ids {} \
                 (or [input] ids = \"{}\"), or move the output away to start from the base",
                job.output.display(),
                meta.ids.name(),
                job.ids.name(),
                meta.ids.name(),
                meta.ids.name()
            )));
        }
        let mut sets = Vec::new();
        let mut entries = Vec::new();
        let mut customer_states = Vec::new();
        let mut failed = None;
        for file in (index..meta.workers).step_by(peers) {
            let read = checkpoint::read_worker(&job.output, meta, file).and_then(|set| {
                if checkpoint::has_ids(meta) {
                    entries.extend(checkpoint::read_ids(&job.output, file)?);
                }
                if meta.customers {
                    customer_states.push(checkpoint::read_customers(&job.output, file)?);
                }
                Ok(set)
            });
            match read {
                Ok(set) => sets.push(set),
                Err(e) => {
                    failed.get_or_insert(Error::Input(format!("cannot load the checkpoint: {e}")));
                }
            }
        }
        if let Some(error) = agree::gather(worker, failed).into_iter().flatten().next() {
            return Err(error);
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
        // The user ids' dictionary: every entry to its owner at this worker count.
        let texts = translate::UserIds::new(meta.ids);
        translate::redistribute(worker, &texts.dictionary, entries);
        // Customer ids: likewise; the purchases and the identity book follow.
        let mut purchases = Vec::new();
        let mut book = Vec::new();
        let mut present = false;
        let customer_names = (meta.customers || customers).then(|| {
            let mut names = Vec::new();
            for (held, entries, mappings, appeared) in customer_states {
                purchases.extend(held);
                names.extend(entries);
                book.extend(mappings);
                present |= appeared;
            }
            let shared = translate::Shared::default();
            translate::redistribute(worker, &shared, names);
            shared
        });
        let present = agree::gather(worker, present).into_iter().any(|p| p);
        let expected = read::per_worker_with_slack(meta.friendships as usize, peers);
        let mut engine = Engine::build(
            worker,
            &job.params,
            dictionary,
            (texts, customer_names, None),
            true,
            job.parts,
            expected,
        );
        if engine.crm.is_some() {
            // Worker 0 wrote the book into file 0, which worker 0 reads.
            let diffs = book.into_iter().map(|(a, c)| (a, c, 1)).collect();
            engine.send_customers(worker, customers::Local::default(), diffs, present);
            engine.send_purchases(purchases);
        }
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
}
