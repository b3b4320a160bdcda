//! The engine: one worker's dataflow and everything around an epoch, under
//! the two drivers (`reach run`, `reach serve`).
//!
//! ```text
//!  open.rs      Context: the job's inputs listed and sniffed, staging, progress;
//!               Engine::load (base from files or the generator) or
//!               Engine::resume (a checkpoint), both as time 0
//!  read.rs      a worker's share of the base and of a night, as records
//!  mod.rs       Engine: the dataflow's inputs, captured tables, epochs
//!               (send, close, apply a night)
//!  agree.rs     gather: every worker's value on every worker, between epochs
//!  write.rs     tables leave the dataflow (capture), part files and feeds
//!  checkpoint.rs the input sets on disk (snapshot + nightly logs)
//!  summary.rs   summary.json
//!  epoch.rs     the one publish step: every worker writes, process 0
//!               writes the run files and renames staging into place
//!  workers.rs   starting the workers (threads or processes), clean-up
//! ```
//!
//! A driver is a short loop over these: open a [`Context`], start the
//! workers, and in each worker open the engine, apply epochs and publish.

pub mod agree;
pub mod capture;
pub mod checkpoint;
pub mod customers;
pub mod epoch;
pub mod open;
pub(crate) mod profile;
pub mod read;
pub mod stages;
pub mod summary;
pub mod translate;
pub mod workers;
pub mod write;

use std::rc::Rc;
use std::time::Duration;

use differential_dataflow::AsCollection;
use timely::container::CapacityContainerBuilder;
use timely::dataflow::operators::probe::Handle as Probe;
use timely::dataflow::operators::Input;
use timely::dataflow::InputHandle;
use timely::worker::Worker;

use crate::dataflow::customers::{Customer, Purchase};
use crate::dataflow::graph::{self, AdoptionRecord};
use crate::dataflow::operators::multiset::{multiset, Counts};
use crate::dataflow::operators::set::{op_seq, Change, ChangeCounts, Counters, State};
use crate::dataflow::{self, Day, Time, Topic, User};
use crate::input::records::Op;
use crate::params::Params;
use crate::topics::{Dictionary, Shared};
use capture::{capture, Captures};
pub use open::Context;
pub use read::{NightInput, NightRecords};

/// Records sent between two steps of a worker while it reads the base.
const STEP_EVERY: usize = 1 << 20;

/// What [`Engine::build`] is given besides the topics: the user ids' kind
/// and this worker's part of their dictionary, the customer dictionary (with customer
/// inputs, which the customer tables are built for), and the base's
/// candidate accounts of several-account customers (when known before the
/// base flows; see `dataflow::customers::accounts::friend_union`).
pub type Dictionaries = (
    translate::UserIds,
    Option<translate::Shared>,
    Option<dataflow::customers::accounts::Candidates>,
);

/// An input of records of type `D`.
type In<D> = InputHandle<Time, CapacityContainerBuilder<Vec<D>>>;

/// An input of differences to a collection of `D`, at the open epoch.
type Diffs<D> = In<(D, Time, dataflow::Diff)>;

/// The inputs of the customer tables.
struct CustomerHandles {
    identities: Diffs<(User, Customer)>,
    purchases: In<Purchase>,
    purchase_changes: In<Change<Purchase>>,
    present: Diffs<()>,
}

/// The customer side of an engine: its inputs, dictionary and state.
pub struct Crm {
    inputs: CustomerHandles,
    /// The customer dictionary (this worker's part).
    pub names: translate::Shared,
    /// Worker 0's current identity mappings.
    pub book: customers::Book,
    /// What the purchase operator did, per time.
    pub counters: Counters,
    /// The purchases this worker owns, with their copies (when state is kept).
    pub counts: Counts<Purchase>,
    /// Whether the `present` marker was sent.
    present: bool,
    /// Worker 0: what each night's identity lines did, by time.
    pub identity_counts: std::collections::BTreeMap<Time, ChangeCounts>,
}

/// The inputs of the main dataflow.
struct Handles {
    friendships: In<(User, User)>,
    friendship_changes: In<Change<(User, User)>>,
    adoptions: In<AdoptionRecord>,
    adoption_changes: In<Change<AdoptionRecord>>,
}

impl Handles {
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

impl Engine {
    /// Sends purchases held in a checkpoint (with their copies) as base records.
    pub fn send_purchases(&mut self, purchases: Vec<(Purchase, u32)>) {
        let crm = self
            .crm
            .as_mut()
            .expect("purchases come with customer tables");
        for (purchase, copies) in purchases {
            for _ in 0..copies {
                crm.inputs.purchases.send(purchase);
            }
        }
    }
}

impl Crm {
    /// Whether customer files appeared in the run yet.
    pub fn is_present(&self) -> bool {
        self.present
    }
}

impl CustomerHandles {
    /// Closes the epoch for the customer inputs.
    fn advance_to(&mut self, time: Time) {
        self.identities.advance_to(time);
        self.purchases.advance_to(time);
        self.purchase_changes.advance_to(time);
        self.present.advance_to(time);
        self.identities.flush();
        self.purchases.flush();
        self.purchase_changes.flush();
        self.present.flush();
    }
}

/// One worker's main dataflow, its inputs and its captured tables.
pub struct Engine {
    inputs: Handles,
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
    /// The user ids' kind and this worker's part of their dictionary.
    pub ids: translate::UserIds,
    /// The texts of the dictionary's users whose rows this worker writes
    /// (asked of their owners before each write, then kept).
    pub texts: std::cell::RefCell<std::collections::HashMap<User, String>>,
    /// The open epoch.
    time: Time,
    /// Records sent since the worker last stepped.
    pending: usize,
    /// Operator timings (`REACH_PROFILE_OPERATORS`).
    profile: Option<profile::Shared>,
    /// The customer tables' inputs and state, when the run has customer inputs.
    pub crm: Option<Crm>,
}

impl Engine {
    /// Builds the dataflow. With `keep_state`, the input sets and the
    /// arrangements that nights need are kept after the base. The
    /// dictionaries: of user ids (text ids, and integer ids of 2^31 and
    /// above) and of customer ids (with customer inputs, which the customer
    /// tables are built for).
    pub fn build(
        worker: &mut Worker,
        params: &Params,
        dictionary: Dictionary,
        (ids, customer_names, candidates): Dictionaries,
        keep_state: bool,
        parts: usize,
        expected_friendships: usize,
    ) -> Engine {
        let mode = ids.mode;
        let part = move |user: User| crate::ids::user_part(user, mode, parts);
        let dictionary = dictionary.shared();
        let profile = profile::install(worker);
        let probe = Probe::new();
        let friendship_counts: Counters = Rc::default();
        let adoption_counts: Counters = Rc::default();
        let friendship_state: State<(User, User)> = Rc::default();
        let adoption_state: State<AdoptionRecord> = Rc::default();
        let purchase_counters: Counters = Rc::default();
        let purchase_counts: Counts<Purchase> = Rc::default();
        let (inputs, captures, crm_inputs) = worker.dataflow::<Time, _, _>(|scope| {
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
            let (crm_inputs, customer_inputs) = match &customer_names {
                None => (None, None),
                Some(names) => {
                    let (identities_in, identities) = scope.new_input();
                    let (purchases_in, purchase_records) = scope.new_input::<Vec<Purchase>>();
                    let (purchase_changes_in, purchase_changes) = scope.new_input();
                    let (present_in, present) = scope.new_input();
                    let purchases = multiset(
                        purchase_records,
                        purchase_changes,
                        "Purchases",
                        keep_state,
                        (Rc::clone(&purchase_counters), Rc::clone(&purchase_counts)),
                        |(c, day, units, topic): &Purchase| {
                            crate::hash::mix(
                                c ^ crate::hash::mix(*day as u64 ^ (*units as u64) << 20),
                            ) ^ u64::from(topic.unwrap_or(u32::MAX))
                        },
                    );
                    let handles = CustomerHandles {
                        identities: identities_in,
                        purchases: purchases_in,
                        purchase_changes: purchase_changes_in,
                        present: present_in,
                    };
                    let inputs = dataflow::customers::Inputs {
                        identities: identities.as_collection(),
                        purchases,
                        present: present.as_collection(),
                    };
                    (
                        Some(handles),
                        Some((inputs, Rc::clone(names), candidates.clone())),
                    )
                }
            };
            let tables = dataflow::build(
                friendships,
                adoptions,
                params,
                Rc::clone(&dictionary),
                (ids.mode, Rc::clone(&ids.dictionary)),
                keep_state,
                customer_inputs,
            );
            let customer_part = move |text: &str| match parts {
                1 => 0,
                _ => crate::ids::bucket_of_text(text.as_bytes()) % parts as u64,
            };
            let captures = Captures {
                users: capture(tables.users, move |row| part(row.user_id as User), &probe),
                user_topics: capture(
                    tables.user_topics,
                    move |row| part(row.user_id as User),
                    &probe,
                ),
                topic_leaders: capture(tables.topic_leaders, |_| 0, &probe),
                degrees: capture(tables.degree_distribution, |_| 0, &probe),
                topics: capture(tables.topics, |_| 0, &probe),
                topic_significance: tables
                    .topic_significance
                    .map(|table| capture(table, |_| 0, &probe)),
                customers: tables.customers.map(|t| capture::CustomerCaptures {
                    customers: capture(
                        t.customers,
                        move |row| customer_part(&row.customer_id),
                        &probe,
                    ),
                    value_matrix: capture(t.value_matrix, |_| 0, &probe),
                    benchmark: capture(t.benchmark, |_| 0, &probe),
                }),
            };
            let inputs = Handles {
                friendships: friendships_in,
                friendship_changes: friendship_changes_in,
                adoptions: adoptions_in,
                adoption_changes: adoption_changes_in,
            };
            (inputs, captures, crm_inputs)
        });
        let crm = crm_inputs.map(|inputs| Crm {
            inputs,
            names: customer_names.expect("customer inputs come with their dictionary"),
            book: customers::Book::default(),
            counters: purchase_counters,
            counts: purchase_counts,
            present: false,
            identity_counts: Default::default(),
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
            ids,
            texts: Default::default(),
            time: 0,
            pending: 0,
            profile,
            crm,
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
    pub fn take_journal(&mut self) -> checkpoint::Journal {
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
        if let Some(crm) = &mut self.crm {
            crm.inputs.advance_to(self.time);
        }
        let (probe, time) = (&self.probe, self.time);
        // An idle worker parks (woken early by any message) instead of
        // spinning, so workers beyond the cores do not starve the busy ones.
        worker.step_or_park_while(Some(Duration::from_millis(10)), || probe.less_than(&time));
        if let Some(profile) = &self.profile {
            profile::report(profile, worker.index(), &format!("epoch {}", time - 1));
        }
    }

    /// Applies a night as the next epoch: sends its records, closes the
    /// epoch and runs the dataflow through it. Returns the night's time.
    pub fn apply(&mut self, worker: &mut Worker, night: NightRecords) -> Time {
        self.send_night(worker, night);
        let time = self.time;
        self.close(worker);
        time
    }

    /// Sends a night's changes as the open epoch: new topics are interned
    /// first (the same ids on every worker), then every change is sent.
    pub fn send_night(&mut self, worker: &mut Worker, mut night: NightRecords) {
        night.translate(worker, &self.ids.dictionary);
        for (friendship, seq) in night.friendships {
            self.inputs.friendship_changes.send((friendship, seq));
        }
        let new_names: Vec<String> = {
            let known = self.dictionary.borrow();
            let purchase_topics = night.customers.iter().flat_map(|c| &c.local.names);
            let mut names: Vec<String> = night
                .adoptions
                .iter()
                .map(|(c, _)| &c.topic)
                .chain(purchase_topics)
                .filter(|name| known.id(name).is_none())
                .cloned()
                .collect();
            names.sort_unstable();
            names.dedup();
            names
        };
        let new_names = agree::gather_names(worker, new_names);
        self.dictionary.borrow_mut().extend(new_names);
        {
            let known = self.dictionary.borrow();
            for (change, offset) in night.adoptions {
                let topic = known.id(&change.topic).expect("interned above");
                let remove = change.op == Op::Remove;
                self.inputs
                    .adoption_changes
                    .send((((change.user, topic), change.day), op_seq(offset, remove)));
            }
        }
        if let Some(night) = night.customers {
            if let Some(crm) = &mut self.crm {
                crm.identity_counts.insert(self.time, night.counts);
            }
            self.send_customers(worker, night.local, night.diffs, night.appeared);
        }
    }

    /// Translates and sends customer records of the open epoch (every
    /// worker calls it, in step); worker 0's identity differences also
    /// move its book. `appeared`: the epoch reads customer files (the
    /// customer tables hold rows from the first such epoch on).
    pub fn send_customers(
        &mut self,
        worker: &mut Worker,
        local: customers::Local,
        diffs: Vec<customers::IdentityDiff>,
        appeared: bool,
    ) {
        let crm = self
            .crm
            .as_mut()
            .expect("customer records come with customer tables");
        let translated = {
            let known = self.dictionary.borrow();
            customers::translate(worker, local, &diffs, &crm.names, &self.ids, |name| {
                known.id(name).expect("purchase topics are interned first")
            })
        };
        crm.book.apply(&diffs);
        let time = self.time;
        for purchase in translated.purchases {
            crm.inputs.purchases.send(purchase);
        }
        for change in translated.changes {
            crm.inputs.purchase_changes.send(change);
        }
        for (identity, diff) in translated.identities {
            crm.inputs.identities.send((identity, time, diff));
        }
        if appeared && !crm.present && worker.index() == 0 {
            crm.inputs.present.send(((), time, 1));
        }
        crm.present |= appeared;
    }
}
