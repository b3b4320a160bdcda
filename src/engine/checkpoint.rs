//! Checkpoints: the input sets as they stand after the last published
//! night, in the output's `_checkpoint/`, so that a restart loads them as
//! its base instead of replaying nights.
//!
//! - a **snapshot**: every worker writes the sets it owns (the friendships
//!   and the adoptions, compacted: one record per key) with bincode to
//!   `worker-NNNNN.bin`;
//! - then one **log** per night: every worker writes the differences the
//!   night made to its sets to `log-<night>-worker-NNNNN.bin` (a 0.3% night
//!   at 1M users: about 3 MB, where a snapshot is about 420 MB);
//! - every worker writes its part of the user-id dictionary (dictionary id,
//!   text; text ids and integer ids of 2^31 and above) to
//!   `ids-worker-NNNNN.bin` at every publish (new ids arrive with nights; at
//!   1M text ids the whole dictionary is about 20 MB; usually empty with
//!   integer ids);
//! - `checkpoint.json` (worker 0): format, worker count, record counts, the
//!   topic names by id, the kind of user ids, and the logs to apply to the
//!   snapshot, in order.
//!
//! A night writes a log unless the logs since the snapshot hold more than
//! a quarter of its records (or this process has not written a snapshot
//! yet: the first publish after a start is always one); earlier files are
//! carried into the new output as hard links. A restart reads the snapshot
//! and applies the logs. Any worker count can load any checkpoint: worker
//! `i` reads the files `j` with `j % workers == i` and the records flow to
//! their owners like any input.

use std::io::{BufReader, BufWriter};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::dataflow::customers::Purchase;
use crate::dataflow::graph::AdoptionRecord;
use crate::dataflow::{Day, Diff, Topic, User};
use crate::error::{Error, Result};
use crate::ids::IdMode;

/// The checkpoint's directory inside the output.
pub const DIR: &str = crate::output::layout::CHECKPOINT;

/// The checkpoint format version: 2 added the logs (a format 1 checkpoint
/// is a snapshot without logs, and is still read); 3 added text user ids
/// and their dictionary files (formats 1 and 2 hold integer ids only, and
/// are still read), and the customers' files; 4 holds the 32-bit internal
/// user ids (earlier formats: 64-bit, still read when every integer id is
/// below 2^31, see [`narrow`]) and a dictionary file with integer ids too.
pub const FORMAT: u32 = 4;

/// Whether the checkpoint has a dictionary file per worker.
pub fn has_ids(meta: &Meta) -> bool {
    meta.format >= 4 || meta.ids == IdMode::Text
}

/// A user id of a checkpoint of format 1-3 (`u64`) as this version's
/// internal id: text ids' dictionary ids are the internal ids; integer ids
/// below 2^31 are their own. An integer id of 2^31 and above has no
/// dictionary entry there to keep: such a checkpoint is refused.
fn narrow(id: u64, ids: IdMode, path: &Path) -> std::result::Result<User, String> {
    match ids {
        IdMode::Text => User::try_from(id).ok(),
        IdMode::Integer => (id < crate::ids::DIRECT).then_some(id as User),
    }
    .ok_or_else(|| {
        format!(
            "{}: a checkpoint of an older reach holding user id {id} (2^31 and above, which this \
             version keeps in a dictionary the older checkpoint lacks): move the output away \
             and start the service again from the inputs",
            path.display()
        )
    })
}

/// Sets of a checkpoint of format 1-3: user ids as `u64`.
type OldSets = (Vec<(u64, u64)>, Vec<((u64, Topic), Day)>);

/// Reads the sets of an old checkpoint file (after its format) and narrows its ids.
fn read_old_sets(
    reader: &mut impl std::io::Read,
    ids: IdMode,
    path: &Path,
) -> std::result::Result<WorkerSets, String> {
    let (friendships, adoptions): OldSets =
        bincode::deserialize_from(reader).map_err(|e| format!("{}: {e}", path.display()))?;
    let friendships = friendships
        .into_iter()
        .map(|(a, b)| Ok((narrow(a, ids, path)?, narrow(b, ids, path)?)))
        .collect::<std::result::Result<_, String>>()?;
    let adoptions = adoptions
        .into_iter()
        .map(|((user, topic), day)| Ok(((narrow(user, ids, path)?, topic), day)))
        .collect::<std::result::Result<_, String>>()?;
    Ok((friendships, adoptions))
}

/// Reads a snapshot or log file: its format, then its sets (narrowed from
/// an older format's). A log's sets are differences, read as sets of
/// `(record, diff)` the same way.
fn read_sets<F, A>(
    path: &Path,
    ids: IdMode,
    formats: std::ops::RangeInclusive<u32>,
    old: impl FnOnce(
        &mut BufReader<std::fs::File>,
        IdMode,
        &Path,
    ) -> std::result::Result<(F, A), String>,
) -> std::result::Result<(F, A), String>
where
    F: serde::de::DeserializeOwned,
    A: serde::de::DeserializeOwned,
{
    let fail = |e: &dyn std::fmt::Display| format!("{}: {e}", path.display());
    let file = std::fs::File::open(path).map_err(|e| fail(&e))?;
    let mut reader = BufReader::with_capacity(1 << 20, file);
    let format: u32 = bincode::deserialize_from(&mut reader).map_err(|e| fail(&e))?;
    if !formats.contains(&format) {
        return Err(format!("{}: checkpoint format {format}", path.display()));
    }
    match format {
        FORMAT => bincode::deserialize_from(&mut reader).map_err(|e| fail(&e)),
        _ => old(&mut reader, ids, path),
    }
}

/// Logs may hold up to this fraction of the snapshot's records before the
/// next night writes a snapshot instead.
pub const LOG_SHARE: u64 = 4;

/// `checkpoint.json`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Meta {
    /// Format version ([`FORMAT`]).
    pub format: u32,
    /// Workers that wrote it (files `worker-00000.bin` ..).
    pub workers: usize,
    /// Friendships in all files.
    pub friendships: u64,
    /// Adoptions in all files.
    pub adoptions: u64,
    /// Topic names; adoption records hold indices into this list.
    pub topics: Vec<String>,
    /// The nights whose logs apply to the snapshot, in order.
    #[serde(default)]
    pub logs: Vec<String>,
    /// The kind of user ids (format 3; earlier formats: integer).
    #[serde(default)]
    pub ids: IdMode,
    /// Whether the run has customer tables (format 4; earlier: none).
    #[serde(default)]
    pub customers: bool,
}

impl Meta {
    /// Reads `checkpoint.json` from an output directory, if it has one.
    pub fn read(output: &Path) -> Result<Option<Meta>> {
        let path = output.join(DIR).join("checkpoint.json");
        if !path.exists() {
            return Ok(None);
        }
        let bytes = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
        let meta: Meta = serde_json::from_slice(&bytes)
            .map_err(|e| Error::Input(format!("{}: not a checkpoint: {e}", path.display())))?;
        if !(1..=FORMAT).contains(&meta.format) {
            return Err(Error::Input(format!(
                "{}: checkpoint format {} (this reach reads {FORMAT})",
                path.display(),
                meta.format
            )));
        }
        Ok(Some(meta))
    }

    /// Writes `checkpoint.json` into a (staging) output directory.
    pub fn write(&self, output: &Path) -> std::result::Result<(), String> {
        let path = output.join(DIR).join("checkpoint.json");
        let mut bytes = serde_json::to_vec_pretty(self).expect("meta serializes");
        bytes.push(b'\n');
        std::fs::write(&path, bytes).map_err(|e| format!("{}: {e}", path.display()))
    }
}

/// Whether the next publish writes a snapshot or a log: every worker keeps
/// one and updates it from the same gathered totals, so all decide alike.
#[derive(Debug, Default)]
pub struct Plan {
    /// Records in the snapshot this process wrote last (`None`: none yet).
    snapshot: Option<u64>,
    /// Records in the logs written since.
    logged: u64,
    /// The nights of those logs, in order.
    logs: Vec<String>,
}

impl Plan {
    /// Whether the next publish must write a snapshot.
    pub fn snapshot_due(&self) -> bool {
        match self.snapshot {
            None => true,
            Some(records) => self.logged * LOG_SHARE > records,
        }
    }

    /// A snapshot of `records` records was written.
    pub fn snapshot_written(&mut self, records: u64) {
        *self = Plan {
            snapshot: Some(records),
            logged: 0,
            logs: Vec::new(),
        };
    }

    /// `night`'s log of `records` records was written.
    pub fn log_written(&mut self, night: &str, records: u64) {
        self.logged += records;
        self.logs.push(night.to_string());
    }

    /// The nights whose logs apply to the snapshot, in order.
    pub fn logs(&self) -> &[String] {
        &self.logs
    }
}

/// A worker's snapshot file.
fn worker_file(output: &Path, worker: usize) -> PathBuf {
    output.join(DIR).join(snapshot_name(worker))
}

fn snapshot_name(worker: usize) -> String {
    format!("worker-{worker:05}.bin")
}

fn log_name(night: &str, worker: usize) -> String {
    format!("log-{night}-worker-{worker:05}.bin")
}

impl Meta {
    /// The names of the files in [`DIR`] that this checkpoint consists of,
    /// besides `checkpoint.json`, the current night's logs excepted.
    pub fn files(&self, current_night: Option<&str>) -> Vec<String> {
        let mut files: Vec<String> = (0..self.workers).map(snapshot_name).collect();
        for night in &self.logs {
            if Some(night.as_str()) != current_night {
                files.extend((0..self.workers).map(|worker| log_name(night, worker)));
            }
        }
        files
    }
}

/// Writes one worker's sets: its snapshot file.
pub fn write_worker(
    output: &Path,
    worker: usize,
    friendships: &[(User, User)],
    adoptions: &[AdoptionRecord],
) -> std::result::Result<(), String> {
    write_file(
        &worker_file(output, worker),
        &(FORMAT, friendships, adoptions),
    )
}

/// The differences one night made to a worker's sets.
pub type Journal = (FriendshipLog, AdoptionLog);

/// Friendships removed (`-1`) and added (`+1`).
pub type FriendshipLog = Vec<((User, User), Diff)>;

/// Adoption records removed (`-1`) and added (`+1`).
pub type AdoptionLog = Vec<(AdoptionRecord, Diff)>;

/// Writes the differences `night` made to one worker's sets: its log file.
pub fn write_log(
    output: &Path,
    night: &str,
    worker: usize,
    (friendships, adoptions): &Journal,
) -> std::result::Result<(), String> {
    let path = output.join(DIR).join(log_name(night, worker));
    write_file(&path, &(FORMAT, friendships, adoptions))
}

fn ids_name(worker: usize) -> String {
    format!("ids-worker-{worker:05}.bin")
}

/// Writes one worker's part of the text-id dictionary: its ids file.
pub fn write_ids(
    output: &Path,
    worker: usize,
    entries: &[(u64, String)],
) -> std::result::Result<(), String> {
    write_file(&output.join(DIR).join(ids_name(worker)), &(FORMAT, entries))
}

/// Writes an engine's part of the user-id dictionary (text ids; integer
/// ids of 2^31 and above).
pub fn write_engine_ids(
    output: &Path,
    worker: usize,
    engine: &super::Engine,
) -> std::result::Result<(), String> {
    write_ids(output, worker, &engine.ids.dictionary.borrow().entries())
}

fn customers_name(worker: usize) -> String {
    format!("customers-worker-{worker:05}.bin")
}

/// What one worker holds of the customer inputs: its purchases with their
/// copies, its part of the customer dictionary, and (worker 0) the identity
/// mappings by text and whether customer files appeared yet.
pub type CustomerState = (
    Vec<(Purchase, u32)>,
    Vec<(u64, String)>,
    Vec<(String, String)>,
    bool,
);

/// Writes an engine's customer state (nothing without customer inputs):
/// all of it at every epoch, a table of purchases being far smaller than
/// the friendship sets.
pub fn write_customers(
    output: &Path,
    worker: usize,
    engine: &super::Engine,
) -> std::result::Result<(), String> {
    let Some(crm) = &engine.crm else {
        return Ok(());
    };
    let mut purchases: Vec<(Purchase, u32)> =
        crm.counts.borrow().iter().map(|(p, n)| (*p, *n)).collect();
    purchases.sort_unstable();
    let state: CustomerState = (
        purchases,
        crm.names.borrow().entries(),
        crm.book.entries(),
        crm.is_present(),
    );
    let path = output.join(DIR).join(customers_name(worker));
    write_file(&path, &(FORMAT, state))
}

/// Reads the customer state one worker wrote.
pub fn read_customers(output: &Path, worker: usize) -> std::result::Result<CustomerState, String> {
    let path = output.join(DIR).join(customers_name(worker));
    let (format, state): (u32, CustomerState) = read_file(&path)?;
    if !(3..=FORMAT).contains(&format) {
        return Err(format!("{}: checkpoint format {format}", path.display()));
    }
    Ok(state)
}

/// Reads the dictionary entries one worker wrote.
pub fn read_ids(output: &Path, worker: usize) -> std::result::Result<Vec<(u64, String)>, String> {
    let path = output.join(DIR).join(ids_name(worker));
    let (format, entries): (u32, Vec<(u64, String)>) = read_file(&path)?;
    if !(3..=FORMAT).contains(&format) {
        return Err(format!("{}: checkpoint format {format}", path.display()));
    }
    Ok(entries)
}

/// Writes `value` with bincode to `path` and syncs it to disk.
fn write_file(path: &Path, value: &impl Serialize) -> std::result::Result<(), String> {
    let dir = path.parent().expect("a file in the checkpoint directory");
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let fail = |e: &dyn std::fmt::Display| format!("{}: {e}", path.display());
    let file = std::fs::File::create(path).map_err(|e| fail(&e))?;
    let mut writer = BufWriter::with_capacity(1 << 20, file);
    bincode::serialize_into(&mut writer, value).map_err(|e| fail(&e))?;
    let file = writer.into_inner().map_err(|e| fail(&e.into_error()))?;
    file.sync_all().map_err(|e| fail(&e))?;
    Ok(())
}

/// Reads a bincode file written by [`write_file`] whose first field is the format.
fn read_file<T: serde::de::DeserializeOwned>(path: &Path) -> std::result::Result<T, String> {
    let fail = |e: &dyn std::fmt::Display| format!("{}: {e}", path.display());
    let file = std::fs::File::open(path).map_err(|e| fail(&e))?;
    bincode::deserialize_from(BufReader::with_capacity(1 << 20, file)).map_err(|e| fail(&e))
}

/// The sets one worker wrote: friendships and adoptions.
pub type WorkerSets = (Vec<(User, User)>, Vec<AdoptionRecord>);

/// Reads the sets one worker wrote: its snapshot with `meta`'s logs applied.
pub fn read_worker(
    output: &Path,
    meta: &Meta,
    worker: usize,
) -> std::result::Result<WorkerSets, String> {
    let path = worker_file(output, worker);
    let (mut friendships, mut adoptions): WorkerSets =
        read_sets(&path, meta.ids, 1..=FORMAT, read_old_sets)?;
    // Every log first, then one pass over the sets: a record added one night
    // and removed a later one cancels out before it touches them.
    let (mut friendship_log, mut adoption_log): Journal = Default::default();
    for night in &meta.logs {
        let path = output.join(DIR).join(log_name(night, worker));
        let (friendships, adoptions): Journal =
            read_sets(&path, meta.ids, 2..=FORMAT, read_old_log)?;
        friendship_log.extend(friendships);
        adoption_log.extend(adoptions);
    }
    if !meta.logs.is_empty() {
        friendships = apply(friendships, friendship_log);
        adoptions = apply(adoptions, adoption_log);
    }
    Ok((friendships, adoptions))
}

/// Logs of a checkpoint of format 2-3: user ids as `u64`.
type OldLogs = (Vec<((u64, u64), Diff)>, Vec<(((u64, Topic), Day), Diff)>);

/// Reads the logs of an old checkpoint file (after its format) and narrows its ids.
fn read_old_log(
    reader: &mut impl std::io::Read,
    ids: IdMode,
    path: &Path,
) -> std::result::Result<Journal, String> {
    let (friendships, adoptions): OldLogs =
        bincode::deserialize_from(reader).map_err(|e| format!("{}: {e}", path.display()))?;
    let friendships = friendships
        .into_iter()
        .map(|((a, b), diff)| Ok(((narrow(a, ids, path)?, narrow(b, ids, path)?), diff)))
        .collect::<std::result::Result<_, String>>()?;
    let adoptions = adoptions
        .into_iter()
        .map(|(((user, topic), day), diff)| Ok((((narrow(user, ids, path)?, topic), day), diff)))
        .collect::<std::result::Result<_, String>>()?;
    Ok((friendships, adoptions))
}

/// Applies logs' differences (a record removed, `-1`, or added, `+1`, in
/// any order: they are consolidated first) to a sorted set.
fn apply<R: Ord + Clone>(set: Vec<R>, mut log: Vec<(R, Diff)>) -> Vec<R> {
    differential_dataflow::consolidation::consolidate(&mut log);
    let mut merged = Vec::with_capacity(set.len() + log.len());
    let mut present = set.into_iter().peekable();
    for (record, diff) in log {
        while let Some(earlier) = present.next_if(|r| *r < record) {
            merged.push(earlier);
        }
        let held = present.next_if(|r| *r == record).is_some();
        // A log only removes held records and adds absent ones.
        debug_assert_eq!(held, diff < 0, "a log that does not fit its snapshot");
        if diff > 0 {
            merged.push(record);
        }
    }
    merged.extend(present);
    merged
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A format 3 checkpoint as the previous version wrote it (64-bit user
    /// ids): one worker's snapshot and one night's log.
    fn old_checkpoint(dir: &Path, ids: IdMode, users: [u64; 3]) -> Meta {
        let [a, b, c] = users;
        let friendships: Vec<(u64, u64)> = vec![(a, b), (a, c)];
        let adoptions: Vec<((u64, Topic), Day)> = vec![((a, 0), 10), ((c, 1), 12)];
        write_file(&worker_file(dir, 0), &(3u32, friendships, adoptions)).unwrap();
        let log: OldLogs = (vec![((a, c), -1), ((b, c), 1)], vec![(((b, 0), 11), 1)]);
        let path = dir.join(DIR).join(log_name("n1", 0));
        write_file(&path, &(3u32, log.0, log.1)).unwrap();
        Meta {
            format: 3,
            workers: 1,
            friendships: 2,
            adoptions: 2,
            topics: vec!["rock".into(), "jazz".into()],
            logs: vec!["n1".into()],
            ids,
            customers: false,
        }
    }

    #[test]
    fn older_checkpoints_are_read_with_their_ids_narrowed() {
        let dir = tempfile::tempdir().unwrap();
        for ids in [IdMode::Integer, IdMode::Text] {
            let meta = old_checkpoint(dir.path(), ids, [3, 7, (1 << 31) - 1]);
            let top = (1 << 31) - 1;
            let (friendships, adoptions) = read_worker(dir.path(), &meta, 0).unwrap();
            assert_eq!(friendships, vec![(3, 7), (7, top)]);
            assert_eq!(adoptions, vec![((3, 0), 10), ((7, 0), 11), ((top, 1), 12)]);
        }
        // Text ids' internal ids were dictionary ids: they stay as they are.
        let meta = old_checkpoint(dir.path(), IdMode::Text, [3, 7, 1 << 31]);
        let (friendships, _) = read_worker(dir.path(), &meta, 0).unwrap();
        assert_eq!(friendships, vec![(3, 7), (7, 1 << 31)]);
    }

    #[test]
    fn an_older_checkpoint_with_integer_ids_of_2_31_and_above_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let meta = old_checkpoint(dir.path(), IdMode::Integer, [3, 7, 1 << 31]);
        let error = read_worker(dir.path(), &meta, 0).unwrap_err();
        assert!(error.contains("worker-00000.bin"), "{error}");
        assert!(error.contains("user id 2147483648"), "{error}");
        assert!(
            error.contains("start the service again from the inputs"),
            "{error}"
        );
    }

    #[test]
    fn a_snapshot_comes_first_and_when_logs_outgrow_a_quarter_of_it() {
        let mut plan = Plan::default();
        assert!(plan.snapshot_due(), "nothing written yet");
        plan.snapshot_written(1000);
        assert!(!plan.snapshot_due());
        plan.log_written("n1", 200);
        plan.log_written("n2", 50);
        assert!(!plan.snapshot_due(), "250 of 1000: exactly a quarter");
        assert_eq!(plan.logs(), ["n1", "n2"]);
        plan.log_written("n3", 1);
        assert!(plan.snapshot_due());
        plan.snapshot_written(1100);
        assert!(plan.logs().is_empty() && !plan.snapshot_due());
    }

    #[test]
    fn logs_apply_to_sets() {
        let set = vec![(1, 2), (1, 3), (2, 5)];
        let log = vec![((2, 5), -1), ((1, 4), 1), ((0, 9), 1), ((1, 3), -1)];
        assert_eq!(apply(set, log), vec![(0, 9), (1, 2), (1, 4)]);
        // An adoption whose day moved: the old record out, the new one in.
        let adoptions = vec![((1, 7), 20), ((2, 7), 30)];
        let log = vec![(((1, 7), 20), -1), (((1, 7), 15), 1)];
        assert_eq!(
            apply(adoptions.clone(), log),
            vec![((1, 7), 15), ((2, 7), 30)]
        );
        // Two nights' logs at once: moved to day 15, then to day 10; and
        // (3, 7) added, then removed.
        let logs = vec![
            (((1, 7), 20), -1),
            (((1, 7), 15), 1),
            (((3, 7), 5), 1),
            (((1, 7), 15), -1),
            (((1, 7), 10), 1),
            (((3, 7), 5), -1),
        ];
        assert_eq!(apply(adoptions, logs), vec![((1, 7), 10), ((2, 7), 30)]);
    }
}
