//! `manifest.json`: what the published output was built from — the base
//! and every night applied since, in order, each exactly once. It is part
//! of the output directory, so it changes in the same rename as the tables.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::engine::summary::{Base, NightSummary};
use crate::error::{Error, Result};
use crate::input::FileInfo;

/// The manifest's format version.
pub const FORMAT: u32 = 1;

/// The manifest file's name in the output directory.
pub const FILE: &str = crate::output::layout::MANIFEST;

/// The base and the nights applied to it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Manifest {
    /// Format version ([`FORMAT`]).
    pub format: u32,
    /// The base the first run loaded.
    pub base: BaseRecord,
    /// Every night applied, in the order applied.
    pub nights: Vec<NightSummary>,
}

/// What the base was.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct BaseRecord {
    /// Records and distinct keys of the base.
    #[serde(flatten)]
    pub counts: Base,
    /// Header lines skipped in the base files.
    pub header_lines: u64,
    /// Bad lines skipped in the base files (within `max_bad_lines`).
    pub bad_lines_skipped: u64,
    /// The base's friendship files.
    pub friendship_files: Vec<FileInfo>,
    /// The base's adoption files.
    pub adoption_files: Vec<FileInfo>,
}

impl Manifest {
    /// Whether a night of this name was applied.
    pub fn has(&self, name: &str) -> bool {
        self.nights.iter().any(|n| n.name == name)
    }

    /// The last night applied.
    pub fn last(&self) -> Option<&str> {
        self.nights.last().map(|n| n.name.as_str())
    }

    /// Reads the manifest of a published output, if it has one.
    pub fn read(output: &Path) -> Result<Option<Manifest>> {
        let path = output.join(FILE);
        if !path.exists() {
            return Ok(None);
        }
        let bytes = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
        let manifest: Manifest = serde_json::from_slice(&bytes)
            .map_err(|e| Error::Input(format!("{}: not a manifest: {e}", path.display())))?;
        if manifest.format != FORMAT {
            return Err(Error::Input(format!(
                "{}: manifest format {} (this reach reads {FORMAT})",
                path.display(),
                manifest.format
            )));
        }
        Ok(Some(manifest))
    }

    /// The manifest as written: pretty JSON with a final newline.
    pub fn to_json(&self) -> Vec<u8> {
        let mut bytes = serde_json::to_vec_pretty(self).expect("manifest serializes");
        bytes.push(b'\n');
        bytes
    }
}
