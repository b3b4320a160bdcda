//! Checkpoints: after each night every worker writes the input sets it
//! owns (the friendships and the adoptions as they stand, compacted: one
//! record per key) with bincode to `_checkpoint/worker-NNNNN.bin` in the
//! output, and worker 0 writes `_checkpoint/checkpoint.json` (format, worker
//! count, topic names by id). A restart loads these as its base instead of
//! replaying nights. Any worker count can load any checkpoint: worker `i`
//! reads the files `j` with `j % workers == i` and the records flow to
//! their owners like any input.

use std::io::{BufReader, BufWriter};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::dataflow::graph::AdoptionRecord;
use crate::dataflow::User;
use crate::error::{Error, Result};

/// The checkpoint's directory inside the output (`_` so that readers of
/// the tables, e.g. Spark, skip it).
pub const DIR: &str = "_checkpoint";

/// The checkpoint format version.
pub const FORMAT: u32 = 1;

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
        if meta.format != FORMAT {
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

/// A worker's checkpoint file.
fn worker_file(output: &Path, worker: usize) -> PathBuf {
    output.join(DIR).join(format!("worker-{worker:05}.bin"))
}

/// Writes one worker's sets.
pub fn write_worker(
    output: &Path,
    worker: usize,
    friendships: &[(User, User)],
    adoptions: &[AdoptionRecord],
) -> std::result::Result<(), String> {
    let dir = output.join(DIR);
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let path = worker_file(output, worker);
    let fail = |e: &dyn std::fmt::Display| format!("{}: {e}", path.display());
    let file = std::fs::File::create(&path).map_err(|e| fail(&e))?;
    let mut writer = BufWriter::with_capacity(1 << 20, file);
    bincode::serialize_into(&mut writer, &(FORMAT, friendships, adoptions))
        .map_err(|e| fail(&e))?;
    let file = writer.into_inner().map_err(|e| fail(&e.into_error()))?;
    file.sync_all().map_err(|e| fail(&e))?;
    Ok(())
}

/// The sets one worker wrote: friendships and adoptions.
pub type WorkerSets = (Vec<(User, User)>, Vec<AdoptionRecord>);

/// Reads the file one worker wrote.
pub fn read_worker(output: &Path, worker: usize) -> std::result::Result<WorkerSets, String> {
    let path = worker_file(output, worker);
    let fail = |e: &dyn std::fmt::Display| format!("{}: {e}", path.display());
    let file = std::fs::File::open(&path).map_err(|e| fail(&e))?;
    let (format, friendships, adoptions): (u32, Vec<(User, User)>, Vec<AdoptionRecord>) =
        bincode::deserialize_from(BufReader::with_capacity(1 << 20, file)).map_err(|e| fail(&e))?;
    if format != FORMAT {
        return Err(fail(&format!("checkpoint format {format}")));
    }
    Ok((friendships, adoptions))
}
