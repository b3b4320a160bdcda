//! Publishing an epoch, the one step both drivers end an epoch with:
//!
//! 1. every worker writes its parts of every table as it stands (and the
//!    feeds asked for) into staging ([`write_parts`]), then the workers
//!    agree on what was written ([`merge_written`] over `agree::gather`);
//! 2. process 0 writes the run files ([`publish`]): the driver's extras
//!    (serve: checkpoint, manifest, earlier feeds), `summary.json`,
//!    `run.json`, `_SUCCESS`, the report if asked, and renames staging into
//!    place atomically (`output::publish`). A failure removes staging.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use timely::worker::Worker;

use super::capture;
use super::summary::{self, Summary, Totals};
use super::write::{self, Feed, Out};
use super::{Context, Engine};
use crate::cluster::figures::WorkerFigures;
use crate::dataflow::operators::set::{ChangeCounts, Counters};
use crate::dataflow::Time;
use crate::error::{Error, Result};
use crate::input::{FileInfo, ReadStats};
use crate::job;
use crate::output::{layout, publish};
use crate::tables::{DegreeRow, TopicRow};

/// What a worker reports once its parts are written.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Written {
    /// Rows written per table (final tables only).
    pub rows: Vec<(String, u64)>,
    /// What each time's friendship changes did at this worker's keys.
    pub friendship_counts: Vec<(Time, ChangeCounts)>,
    /// What each time's adoption changes did at this worker's keys.
    pub adoption_counts: Vec<(Time, ChangeCounts)>,
    /// What the worker read, stage timings, its process's traffic (for `run.json`).
    pub figures: WorkerFigures,
    /// Sums over this worker's rows of `customers` (with customer inputs).
    pub customers: Option<summary::CustomerSums>,
    /// What each time's identity lines (worker 0) and purchase changes (at
    /// this worker's purchases) did (with customer inputs).
    pub customer_counts: Vec<(Time, ChangeCounts, ChangeCounts)>,
}

/// Every worker's [`Written`], summed.
#[derive(Clone, Debug, Default)]
pub struct Merged {
    /// Rows per table, in the order the tables were written.
    pub rows: Vec<(String, u64)>,
    /// What the friendship changes did, per time.
    pub friendships: BTreeMap<Time, ChangeCounts>,
    /// What the adoption changes did, per time.
    pub adoptions: BTreeMap<Time, ChangeCounts>,
    /// Sums over the rows of `customers` (with customer inputs).
    pub customers: Option<summary::CustomerSums>,
    /// What the identity lines and the purchase changes did, per time.
    pub customer_counts: BTreeMap<Time, (ChangeCounts, ChangeCounts)>,
}

impl Merged {
    /// What the identity lines and the purchase changes of one time did
    /// (`None` without customer inputs).
    pub fn customers_at(&self, time: Time) -> Option<(ChangeCounts, ChangeCounts)> {
        self.customers
            .map(|_| self.customer_counts.get(&time).copied().unwrap_or_default())
    }

    /// The friendship and adoption counts of one time.
    pub fn at(&self, time: Time) -> (ChangeCounts, ChangeCounts) {
        (
            self.friendships.get(&time).copied().unwrap_or_default(),
            self.adoptions.get(&time).copied().unwrap_or_default(),
        )
    }
}

/// Writes this worker's parts of every table as it stands, and of each
/// feed, into staging.
pub fn write_parts(
    worker: &mut Worker,
    context: &Context,
    engine: &Engine,
    feeds: &[Feed],
) -> Result<Written> {
    let job = &context.job;
    // The texts of the dictionary's users in this worker's rows, from their
    // owners (every worker asks, if only for nothing).
    let wanted = write::unknown_users(&engine.captures, &engine.texts.borrow(), engine.ids.mode);
    let texts = engine.ids.texts(worker, wanted);
    engine.texts.borrow_mut().extend(texts);
    let texts = engine.texts.borrow();
    let out = Out {
        dir: &context.staging,
        format: job.format,
        parts: job.parts,
        me: (worker.index(), worker.peers()),
        ids: (engine.ids.mode, &texts),
    };
    let rows = write::write_parts(&out, &engine.captures, feeds).map_err(Error::Runtime)?;
    let customers = engine.captures.customers.as_ref().map(|c| {
        let mut sums = summary::CustomerSums::default();
        for row in c.customers.borrow().rows() {
            sums.add(&summary::CustomerSums {
                customers: 1,
                accounts: u64::from(row.accounts),
                buyers: u64::from(row.frequency > 0),
                purchases: row.frequency,
                units: row.monetary_units,
            });
        }
        sums
    });
    let customer_counts = match &engine.crm {
        None => Vec::new(),
        Some(crm) => {
            let purchases = crm.counters.borrow();
            let times: std::collections::BTreeSet<Time> = purchases
                .keys()
                .chain(crm.identity_counts.keys())
                .copied()
                .collect();
            let at =
                |map: &BTreeMap<Time, ChangeCounts>, t| map.get(&t).copied().unwrap_or_default();
            times
                .into_iter()
                .map(|t| (t, at(&crm.identity_counts, t), at(&purchases, t)))
                .collect()
        }
    };
    Ok(Written {
        rows,
        friendship_counts: counts(&engine.friendship_counts),
        adoption_counts: counts(&engine.adoption_counts),
        figures: WorkerFigures::default(),
        customers,
        customer_counts,
    })
}

/// A worker's set-operator counts, by time.
fn counts(counters: &Counters) -> Vec<(Time, ChangeCounts)> {
    counters.borrow().iter().map(|(t, c)| (*t, *c)).collect()
}

/// Per-table row counts and per-time change counts, summed over workers;
/// fails if any worker failed to write.
pub fn merge_written(all: Vec<Result<Written>>) -> Result<Merged> {
    let mut merged = Merged::default();
    for result in all {
        let written =
            result.map_err(|e| Error::Runtime(format!("writing the output failed: {e}")))?;
        for (table, n) in &written.rows {
            match merged.rows.iter_mut().find(|(t, _)| t == table) {
                Some(entry) => entry.1 += n,
                None => merged.rows.push((table.clone(), *n)),
            }
        }
        for (time, counts) in &written.friendship_counts {
            merged.friendships.entry(*time).or_default().add(counts);
        }
        for (time, counts) in &written.adoption_counts {
            merged.adoptions.entry(*time).or_default().add(counts);
        }
        if let Some(sums) = &written.customers {
            merged
                .customers
                .get_or_insert_with(Default::default)
                .add(sums);
        }
        for (time, identities, purchases) in &written.customer_counts {
            let entry = merged.customer_counts.entry(*time).or_default();
            entry.0.add(identities);
            entry.1.add(purchases);
        }
    }
    Ok(merged)
}

/// The totals `summary.json` is built from (worker 0 holds the small tables).
pub fn totals(
    engine: &Engine,
    read: ReadStats,
    base: summary::Base,
    nights: Vec<summary::NightSummary>,
    (rows, customers): (Vec<(String, u64)>, Option<summary::CustomerSums>),
) -> Totals {
    let mut degree_distribution: Vec<DegreeRow> = capture::final_rows(&engine.captures.degrees);
    degree_distribution.sort();
    let mut topics: Vec<TopicRow> = capture::final_rows(&engine.captures.topics);
    topics.sort();
    Totals {
        read,
        base,
        nights,
        degree_distribution,
        topics,
        rows,
        customers,
    }
}

/// Fails the job if the inputs had more bad lines than tolerated, or an
/// input named in the job held no records.
pub fn check_read(context: &Context, read: &ReadStats) -> Result<()> {
    let job = &context.job;
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
        let (friendship_sources, adoption_sources) = context.base_sources();
        let inputs = [
            (
                "friendship",
                "--friendships",
                friendships,
                friendship_sources,
                read.friendship_records,
            ),
            (
                "adoption",
                "--adoptions",
                adoptions,
                adoption_sources,
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

/// Process 0, once every worker has written its parts: `extras` (the
/// driver's own files) into staging, then `summary.json`, `run.json`,
/// `_SUCCESS` and the report if the job asks for one, then the atomic
/// publish. On failure staging is removed and the previous output stays.
pub fn publish(
    context: &Context,
    totals: &Totals,
    files: (Vec<FileInfo>, Vec<FileInfo>),
    run: serde_json::Value,
    extras: impl FnOnce(&Path) -> Result<()>,
) -> Result<Summary> {
    let job = &context.job;
    let staging = &context.staging;
    let written = (|| {
        extras(staging)?;
        let write = |name: &str, bytes: Vec<u8>| {
            let path = staging.join(name);
            std::fs::write(&path, bytes).map_err(|e| Error::io(&path, e))
        };
        let customer_files = match (&context.customers, &context.start) {
            (Some(sources), super::open::Start::Base) => Some((
                crate::input::fingerprint(&sources.identities.0)?,
                crate::input::fingerprint(&sources.purchases.0)?,
            )),
            _ => None,
        };
        let summary = summary::build(job, totals, files, customer_files);
        write(layout::SUMMARY, summary::to_json(&summary))?;
        write(layout::RUN, serde_json::to_vec_pretty(&run).expect("json"))?;
        write(layout::SUCCESS, Vec::new())?;
        if job.report {
            crate::report::write(staging, None, crate::report::DEFAULT_TOP_TOPICS)?;
        }
        Ok(summary)
    })();
    match written {
        Ok(summary) => {
            publish::publish(&job.output)?;
            Ok(summary)
        }
        Err(e) => {
            publish::abandon(&job.output);
            Err(e)
        }
    }
}
