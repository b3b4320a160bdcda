//! Publishing a night (or the base) in `reach serve`: the engine's one
//! publish step (`engine::epoch`) with serve's extras. Every worker writes
//! its parts, the night's feed and its checkpoint file (a snapshot of its
//! sets, or the night's log of differences to them); worker 0 adds the
//! checkpoint files still needed (hard links), `checkpoint.json`,
//! `manifest.json` and the feeds of earlier nights (hard links), then the
//! run files, and publishes. That rename is the commit (docs/nightly.md).

use std::path::Path;
use std::time::Instant;

use timely::worker::Worker;

use super::manifest::{self, Manifest};
use crate::dataflow::operators::set::ChangeCounts;
use crate::engine::checkpoint::{self, Meta};
use crate::engine::write::Feed;
use crate::engine::{agree, epoch, Context, Engine};
use crate::error::{Error, Result};
use crate::input::ReadStats;
use crate::output::layout;

/// What the set operators did at the epoch just closed, summed over workers.
pub struct EpochCounts {
    /// Friendship changes.
    pub friendships: ChangeCounts,
    /// Adoption changes.
    pub adoptions: ChangeCounts,
    /// Identity lines and purchase changes (with customer inputs).
    pub customers: Option<(ChangeCounts, ChangeCounts)>,
}

/// Writes the epoch just closed into staging and publishes it: every
/// worker writes its parts, feed and checkpoint file; worker 0 asks
/// `update` for the manifest (given the epoch's counts), writes the run
/// files and publishes. Returns worker 0's failure, if any, to be passed on
/// with the next decision (every worker learns of write failures here).
pub fn publish_epoch(
    worker: &mut Worker,
    context: &Context,
    (engine, plan): (&mut Engine, &mut checkpoint::Plan),
    feed: Option<Feed>,
    run: impl FnOnce(&Manifest) -> serde_json::Value,
    update: impl FnOnce(&EpochCounts) -> Result<Manifest>,
) -> Option<Error> {
    let job = &context.job;
    let (index, peers) = (worker.index(), worker.peers());
    let time = engine.time() - 1;
    let feeds: Vec<Feed> = feed.iter().cloned().collect();
    // A snapshot of the sets, or the night's log of differences to them.
    let journal = engine.take_journal();
    let night = feed.as_ref().map(|(name, _)| name.as_str());
    let log = night.filter(|_| !plan.snapshot_due());
    let clock = Instant::now();
    let mut tables_seconds = 0.0;
    let written = epoch::write_parts(worker, context, engine, &feeds).and_then(|written| {
        tables_seconds = clock.elapsed().as_secs_f64();
        match log {
            Some(night) => checkpoint::write_log(&context.staging, night, index, &journal),
            None => checkpoint::write_worker(
                &context.staging,
                index,
                &engine.friendship_state.borrow().set,
                &engine.adoption_state.borrow().set,
            ),
        }
        .and_then(|()| checkpoint::write_engine_ids(&context.staging, index, engine))
        .and_then(|()| checkpoint::write_customers(&context.staging, index, engine))
        .map_err(Error::Runtime)?;
        Ok(written)
    });
    let sizes = (
        engine.friendship_state.borrow().set.len() as u64,
        engine.adoption_state.borrow().set.len() as u64,
        (journal.0.len() + journal.1.len()) as u64,
    );
    drop(journal);
    let checkpoint_seconds = clock.elapsed().as_secs_f64() - tables_seconds;
    // Writing consolidated every table (only present rows are held now).
    let all = agree::gather(worker, (written, sizes));
    let gathered = clock.elapsed().as_secs_f64();
    if job.serve.as_ref().is_some_and(|serve| serve.return_memory) {
        crate::memory::give_back();
    }
    tracing::debug!(
        worker = index,
        tables_seconds,
        checkpoint_seconds,
        waited_seconds = gathered - tables_seconds - checkpoint_seconds,
        return_memory_seconds = clock.elapsed().as_secs_f64() - gathered,
        snapshot = log.is_none(),
        "epoch written"
    );
    let (results, sizes): (Vec<_>, Vec<_>) = all.into_iter().unzip();
    match log {
        Some(night) => plan.log_written(night, sizes.iter().map(|s| s.2).sum()),
        None => plan.snapshot_written(sizes.iter().map(|s| s.0 + s.1).sum()),
    }
    let merged = epoch::merge_written(results);
    if index != 0 {
        return None;
    }
    let finishing = Instant::now();
    let published = merged.and_then(|merged| {
        let (friendships, adoptions) = merged.at(time);
        let manifest = update(&EpochCounts {
            friendships,
            adoptions,
            customers: merged.customers_at(time),
        })?;
        let meta = Meta {
            format: checkpoint::FORMAT,
            workers: peers,
            friendships: sizes.iter().map(|s| s.0).sum(),
            adoptions: sizes.iter().map(|s| s.1).sum(),
            topics: engine.dictionary.borrow().names(),
            logs: plan.logs().to_vec(),
            ids: job.ids,
            customers: engine.crm.is_some(),
        };
        let read = ReadStats {
            headers: manifest.base.header_lines,
            bad_total: manifest.base.bad_lines_skipped,
            ..ReadStats::default()
        };
        let counts = manifest.base.counts.clone();
        let totals = epoch::totals(
            engine,
            read,
            counts,
            manifest.nights.clone(),
            (merged.rows, merged.customers),
        );
        let files = (
            manifest.base.friendship_files.clone(),
            manifest.base.adoption_files.clone(),
        );
        let run = run(&manifest);
        epoch::publish(context, &totals, files, run, |staging| {
            extras(context, staging, &manifest, &meta)
        })
    });
    tracing::debug!(
        seconds = finishing.elapsed().as_secs_f64(),
        "run files, links and publish"
    );
    published.err()
}

/// Worker 0: serve's own files in staging: the checkpoint files still
/// needed and `checkpoint.json`, `manifest.json`, earlier nights' feeds.
fn extras(context: &Context, staging: &Path, manifest: &Manifest, meta: &Meta) -> Result<()> {
    let job = &context.job;
    let serve = job.serve.as_ref().expect("serve job");
    // The snapshot and earlier logs that the checkpoint still needs, carried
    // over as hard links (each worker wrote this night's file itself).
    if let Some(night) = meta.logs.last() {
        for file in meta.files(Some(night)) {
            let from = job.output.join(checkpoint::DIR).join(&file);
            link_file(&from, &staging.join(checkpoint::DIR).join(&file))?;
        }
    }
    meta.write(staging).map_err(Error::Runtime)?;
    let path = staging.join(manifest::FILE);
    std::fs::write(&path, manifest.to_json()).map_err(|e| Error::io(&path, e))?;
    // Earlier nights' feeds, up to `keep_feeds` in all, carried over as hard links.
    let keep = serve.keep_feeds.saturating_sub(1);
    let earlier = manifest.nights.len().saturating_sub(1);
    for night in &manifest.nights[earlier.saturating_sub(keep)..earlier] {
        let from = job.output.join(layout::CHANGES).join(&night.name);
        if from.is_dir() {
            link_tree(&from, &staging.join(layout::CHANGES).join(&night.name))?;
        }
    }
    Ok(())
}

/// Recreates a directory tree of hard links to the files under `from`.
fn link_tree(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to).map_err(|e| Error::io(to, e))?;
    for entry in std::fs::read_dir(from).map_err(|e| Error::io(from, e))? {
        let entry = entry.map_err(|e| Error::io(from, e))?;
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            link_tree(&entry.path(), &target)?;
        } else {
            link_file(&entry.path(), &target)?;
        }
    }
    Ok(())
}

/// A hard link to `from` at `to`, or a copy where links are refused.
fn link_file(from: &Path, to: &Path) -> Result<()> {
    if std::fs::hard_link(from, to).is_err() {
        std::fs::copy(from, to).map_err(|e| Error::io(to, e))?;
    }
    Ok(())
}
