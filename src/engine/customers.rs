//! The customer inputs on their way into the dataflow (METRICS.md,
//! "Customers"): identities and purchases, base and nights.
//!
//! - **Identities** are a small table (one line per account) whose rules
//!   need order and state: an account given a second customer is a bad
//!   line, and a night's `+`/`-` depend on the mapping as it stands. Worker
//!   0 reads them whole, in file order, and keeps the current mappings (the
//!   [`Book`], by the account's and the customer's texts), so it can refuse
//!   a night's bad lines before anything changes; the mappings then flow to
//!   the dataflow as differences.
//! - **Purchases** can be many: every worker reads its shares, as for the
//!   other inputs, and the multiset operator (`operators::multiset`) at the
//!   purchase's owner applies a night's `+` and `-` (a refund removes one
//!   identical purchase, if there is one).
//!
//! Customer ids are text: each worker numbers the texts it read, and the
//! customer dictionary (partitioned like text user ids, see
//! [`crate::ids`]) turns them into dense internal ids, at every worker in
//! the same collective steps.

use std::collections::HashMap;

use timely::worker::Worker;

use super::read::read_shares;
use super::translate::{self, LocalTexts};
use crate::dataflow::customers::{Customer, Purchase as PurchaseRecord};
use crate::dataflow::operators::set::ChangeCounts;
use crate::dataflow::{Day, Diff, Topic, User};
use crate::error::{Error, Result};
use crate::ids::IdMode;
use crate::input::lines::{self, Sniff};
use crate::input::records::BadLine;
use crate::input::records::{Identity, IdentityChange, Op, Purchase, PurchaseChange};
use crate::input::{self, ReadStats, Source};
use crate::job::Job;

/// The customer input files of a job, sniffed.
#[derive(Clone, Debug, Default)]
pub struct CustomerSources {
    /// Identity files.
    pub identities: (Vec<Source>, Vec<Sniff>),
    /// Purchase files.
    pub purchases: (Vec<Source>, Vec<Sniff>),
}

impl CustomerSources {
    /// Lists and sniffs the job's customer files.
    pub fn open(job: &Job, tolerated: u64) -> Result<CustomerSources> {
        let list = |path: &Option<std::path::PathBuf>| -> Result<(Vec<Source>, Vec<Sniff>)> {
            let sources = match path {
                Some(path) => input::list_sources(path)?,
                None => Vec::new(),
            };
            let sniffs = super::read::sniff_all(&sources, tolerated)?;
            Ok((sources, sniffs))
        };
        Ok(CustomerSources {
            identities: list(&job.customers.identities)?,
            purchases: list(&job.customers.purchases)?,
        })
    }
}

/// Worker 0's current identity mappings: account text -> customer text
/// (integer accounts as their decimal text).
#[derive(Clone, Debug, Default)]
pub struct Book {
    map: HashMap<String, String>,
}

impl Book {
    /// Mappings held.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether none is held.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Every mapping, sorted (for the checkpoint).
    pub fn entries(&self) -> Vec<(String, String)> {
        let mut entries: Vec<(String, String)> = self
            .map
            .iter()
            .map(|(a, c)| (a.clone(), c.clone()))
            .collect();
        entries.sort_unstable();
        entries
    }

    /// Applies differences made by [`read_identities`] or a night.
    pub fn apply(&mut self, diffs: &[IdentityDiff]) {
        for (account, _, diff) in diffs {
            if *diff < 0 {
                self.map.remove(account);
            }
        }
        for (account, customer, diff) in diffs {
            if *diff > 0 {
                self.map.insert(account.clone(), customer.clone());
            }
        }
    }
}

/// An account's text: integer ids as their decimal text.
trait AccountText {
    fn text(&self) -> String;
}
impl AccountText for u64 {
    fn text(&self) -> String {
        self.to_string()
    }
}
impl AccountText for String {
    fn text(&self) -> String {
        self.clone()
    }
}

/// The 1-based line numbers of the lines at `offsets` of a whole file.
fn lines_at(source: &Source, offsets: &[u64]) -> Vec<u64> {
    let share = input::Share {
        source: 0,
        start: 0,
        end: source.bytes,
    };
    let mut found: HashMap<u64, u64> = HashMap::new();
    let _ = lines::read_share(source, &share, |line| {
        if offsets.contains(&line.offset) {
            found.insert(line.offset, line.line_in_share + 1);
        }
        found.len() < offsets.len()
    });
    offsets
        .iter()
        .map(|o| found.get(o).copied().unwrap_or(0))
        .collect()
}

/// Reads one file whole (every share of it), in file order.
fn read_whole<R: crate::input::records::Record>(
    (sources, sniffs): (&[Source], &[Sniff]),
    stats: &mut ReadStats,
    stop_after: usize,
    emit: impl FnMut(R, u64),
) -> u64 {
    read_shares::<R>(sources, sniffs, (0, 1), stats, stop_after, None, emit)
}

/// Reads identity files whole (worker 0), in file order, against `book`:
/// the base's lines (`changes` false: every line maps) or a night's
/// (`+`/`-`). Returns the differences to the mappings; conflicting lines
/// are bad lines in `stats`. `book` is not changed.
pub fn read_identities(
    (sources, sniffs): (&[Source], &[Sniff]),
    ids: IdMode,
    changes: bool,
    book: &Book,
    stats: &mut ReadStats,
    stop_after: usize,
) -> (Vec<IdentityDiff>, ChangeCounts) {
    // The mapping of each account this read touched: None = unmapped.
    let mut staged: HashMap<String, Option<String>> = HashMap::new();
    let mut counts = ChangeCounts::default();
    for (source, sniff) in sources.iter().zip(sniffs) {
        let mut conflicts: Vec<(u64, String)> = Vec::new();
        let mut line = |op: Op, account: String, customer: String, offset: u64| {
            let current = match staged.get(&account) {
                Some(current) => current.clone(),
                None => book.map.get(&account).cloned(),
            };
            match (op, current) {
                (Op::Add, None) => {
                    counts.applied_adds += 1;
                    staged.insert(account, Some(customer));
                }
                (Op::Add, Some(present)) if present == customer => counts.noop_adds += 1,
                (Op::Add, Some(present)) => conflicts.push((
                    offset,
                    format!(
                        "account \"{account}\" is mapped to customer \"{present}\" already: an \
                         account belongs to one customer (remove the mapping first: \
                         `- {account} {present}` in a night)"
                    ),
                )),
                (Op::Remove, Some(present)) if present == customer => {
                    counts.applied_removes += 1;
                    staged.insert(account, None);
                }
                (Op::Remove, _) => counts.noop_removes += 1,
            }
        };
        let one = (std::slice::from_ref(source), std::slice::from_ref(sniff));
        let mut whole = |f: &mut dyn FnMut(Op, String, String, u64)| -> u64 {
            match (ids, changes) {
                (IdMode::Integer, false) => {
                    read_whole::<Identity<u64>>(one, stats, stop_after, |r, o| {
                        f(Op::Add, r.account.text(), r.customer, o)
                    })
                }
                (IdMode::Text, false) => {
                    read_whole::<Identity<String>>(one, stats, stop_after, |r, o| {
                        f(Op::Add, r.account.text(), r.customer, o)
                    })
                }
                (IdMode::Integer, true) => {
                    read_whole::<IdentityChange<u64>>(one, stats, stop_after, |r, o| {
                        f(r.op, r.identity.account.text(), r.identity.customer, o)
                    })
                }
                (IdMode::Text, true) => {
                    read_whole::<IdentityChange<String>>(one, stats, stop_after, |r, o| {
                        f(r.op, r.identity.account.text(), r.identity.customer, o)
                    })
                }
            }
        };
        let records = whole(&mut line);
        stats.identity_records += records;
        if !conflicts.is_empty() {
            let offsets: Vec<u64> = conflicts.iter().map(|(o, _)| *o).collect();
            for ((_, reason), line) in conflicts.into_iter().zip(lines_at(source, &offsets)) {
                stats.bad_total += 1;
                stats.bad.push(BadLine {
                    file: source.display(),
                    line,
                    reason,
                });
            }
        }
    }
    let mut diffs = Vec::new();
    let mut staged: Vec<(String, Option<String>)> = staged.into_iter().collect();
    staged.sort_unstable();
    for (account, now) in staged {
        let before = book.map.get(&account);
        if before == now.as_ref() {
            continue;
        }
        if let Some(before) = before {
            diffs.push((account.clone(), before.clone(), -1));
        }
        if let Some(now) = now {
            diffs.push((account, now, 1));
        }
    }
    (diffs, counts)
}

/// A purchase as read: local customer number, day, units, local topic number.
pub type LocalPurchase = (u32, Day, i64, Option<u32>);

/// A difference to the identity mappings: account text, customer text, +1/-1.
pub type IdentityDiff = (String, String, Diff);

/// Purchases a worker read, with customers and topics as local numbers
/// until [`translate`].
#[derive(Default)]
pub struct Local {
    /// Base purchases.
    pub purchases: Vec<LocalPurchase>,
    /// Night changes, with their position and operation (`op_seq`).
    pub changes: Vec<(LocalPurchase, u64)>,
    /// Topic names, by local number.
    pub names: Vec<String>,
    /// Customer texts, by local number.
    pub customers: LocalTexts,
    topics: HashMap<String, u32>,
}

impl Local {
    fn topic(&mut self, name: Option<String>) -> Option<u32> {
        let name = name?;
        let next = self.topics.len() as u32;
        Some(*self.topics.entry(name).or_insert_with_key(|name| {
            self.names.push(name.clone());
            next
        }))
    }

    fn record(&mut self, p: Purchase) -> LocalPurchase {
        let customer = self.customers.number(&p.customer);
        let topic = self.topic(p.topic);
        (customer, p.day, p.amount.0, topic)
    }
}

/// The generator's customers (`[generate] customers = true`): this
/// worker's purchase chunks, and at worker 0 every identity mapping.
pub fn generated(
    model: &crate::generate::Model,
    (index, peers): (usize, usize),
    stats: &mut ReadStats,
) -> (Local, Vec<IdentityDiff>) {
    let mut local = Local::default();
    let names: Vec<String> = (0..model.params().topics)
        .map(|t| model.topic_name(t))
        .collect();
    for chunk in (index..model.purchase_chunks()).step_by(peers) {
        model.purchase_chunk(chunk, |customer, day, units, topic| {
            let customer = local.customers.number(customer);
            let topic = topic.map(|t| names[t as usize].clone());
            let topic = local.topic(topic);
            local.purchases.push((customer, day, units, topic));
            stats.purchase_records += 1;
        });
    }
    let mut identities = Vec::new();
    if index == 0 {
        model.identities(|account, customer| {
            identities.push((account.to_string(), customer.to_string(), 1));
            stats.identity_records += 1;
        });
    }
    (local, identities)
}

/// Reads this worker's shares of purchase files: base records, or a
/// night's changes.
pub fn read_purchases(
    (sources, sniffs): (&[Source], &[Sniff]),
    me: (usize, usize),
    changes: bool,
    stats: &mut ReadStats,
    stop_after: usize,
) -> Local {
    let mut local = Local::default();
    let records = if changes {
        read_shares::<PurchaseChange>(sources, sniffs, me, stats, stop_after, None, |c, offset| {
            let record = local.record(c.purchase);
            let remove = c.op == Op::Remove;
            local.changes.push((
                record,
                crate::dataflow::operators::set::op_seq(offset, remove),
            ));
        })
    } else {
        read_shares::<Purchase>(sources, sniffs, me, stats, stop_after, None, |p, _| {
            let record = local.record(p);
            local.purchases.push(record);
        })
    };
    stats.purchase_records += records;
    local
}

/// A night's customer inputs as one worker read them: its purchases, and at
/// worker 0 the identity differences and what the identity lines did.
pub struct NightCustomers {
    /// This worker's share of the night's purchase changes.
    pub local: Local,
    /// Worker 0: the differences to the identity mappings.
    pub diffs: Vec<IdentityDiff>,
    /// Worker 0: the identity lines applied and no-op.
    pub counts: ChangeCounts,
    /// Whether the night holds customer files.
    pub appeared: bool,
}

/// The customer records of an epoch, with internal ids, ready to send.
#[derive(Default)]
pub struct Translated {
    /// Base purchases.
    pub purchases: Vec<PurchaseRecord>,
    /// Night changes of purchases.
    pub changes: Vec<(PurchaseRecord, u64)>,
    /// Identity differences (worker 0).
    pub identities: Vec<((User, Customer), Diff)>,
}

/// Translates what a worker read (every worker calls it, in step): customer
/// texts through the customer dictionary, topics through `topic_of`, and
/// (worker 0) the identity differences' accounts, integers parsed back or
/// text through the user dictionary.
pub fn translate(
    worker: &mut Worker,
    mut local: Local,
    identities: &[IdentityDiff],
    customers: &translate::Shared,
    users: &translate::UserIds,
    topic_of: impl Fn(&str) -> Topic,
) -> Translated {
    let first_identity = identities.len();
    let mut numbers = Vec::with_capacity(first_identity);
    for (_, customer, _) in identities {
        numbers.push(local.customers.number(customer));
    }
    let ids = std::mem::take(&mut local.customers).translate(worker, customers);
    let topics: Vec<Topic> = local.names.iter().map(|name| topic_of(name)).collect();
    let record = |(c, day, units, topic): LocalPurchase| -> PurchaseRecord {
        (
            ids[c as usize],
            day,
            units,
            topic.map(|t| topics[t as usize]),
        )
    };
    let accounts: Vec<User> = users.to_internal(
        worker,
        identities.iter().map(|(a, _, _)| a.clone()).collect(),
    );
    Translated {
        purchases: local.purchases.into_iter().map(record).collect(),
        changes: local
            .changes
            .into_iter()
            .map(|(r, seq)| (record(r), seq))
            .collect(),
        identities: identities
            .iter()
            .zip(numbers)
            .zip(accounts)
            .map(|(((_, _, diff), number), account)| ((account, ids[number as usize]), *diff))
            .collect(),
    }
}

/// The error for a night that brings customer inputs to a service started
/// without them.
pub fn not_enabled(night: &str) -> Error {
    Error::Config(format!(
        "night {night} holds identities or purchases, and this run was started without customer \
         inputs: start it with --identities PATH and/or --purchases PATH (empty files will do) so \
         that the customer tables are kept"
    ))
}
