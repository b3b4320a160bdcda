//! Nights: the directories of nightly changes, applied in name order.
//!
//! `DELTAS/<night>/` holds an optional `friendships*` file and an optional
//! `adoptions*` file (any extension, `.gz` allowed) of `+`/`-` records.
//! Names starting with `.` or `_` are skipped, and so are `NAME.ready` files
//! (the markers of `reach serve`'s inbox, so that one directory can be both);
//! any other file is an error, so a misnamed file is never silently ignored.

use std::path::{Path, PathBuf};

use super::Source;
use crate::error::{Error, Result};

/// One night's files.
#[derive(Clone, Debug)]
pub struct Night {
    /// The directory name: the night's name in outputs (`changes/<name>/`).
    pub name: String,
    /// The directory.
    pub dir: PathBuf,
    /// Friendship changes, if any.
    pub friendships: Option<Source>,
    /// Adoption changes, if any.
    pub adoptions: Option<Source>,
}

/// Lists the nights under `deltas`, in name order.
pub fn list_nights(deltas: &Path) -> Result<Vec<Night>> {
    let entries = std::fs::read_dir(deltas).map_err(|e| Error::io(deltas, e))?;
    let mut dirs = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(deltas, e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if super::is_hidden(&name) {
            continue;
        }
        if name.ends_with(".ready") && !entry.path().is_dir() {
            // `reach serve`'s marker: a nights directory may also be an inbox.
            continue;
        }
        if entry.path().is_dir() {
            dirs.push((name, entry.path()));
        } else {
            return Err(Error::Input(format!(
                "{}: not a night directory: nights are sub-directories of {} (e.g. 2026-11-22/)",
                entry.path().display(),
                deltas.display()
            )));
        }
    }
    dirs.sort();
    dirs.into_iter()
        .map(|(name, dir)| night(name, dir))
        .collect()
}

/// Reads one night directory: its `friendships*` and `adoptions*` files.
pub fn night(name: String, dir: PathBuf) -> Result<Night> {
    let mut night = Night {
        name,
        dir: dir.clone(),
        friendships: None,
        adoptions: None,
    };
    let entries = std::fs::read_dir(&dir).map_err(|e| Error::io(&dir, e))?;
    let mut files: Vec<PathBuf> = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(&dir, e))?;
        files.push(entry.path());
    }
    files.sort();
    for path in files {
        let file_name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if super::is_hidden(&file_name) {
            continue;
        }
        let slot = if file_name.starts_with("friendships") {
            &mut night.friendships
        } else if file_name.starts_with("adoptions") {
            &mut night.adoptions
        } else {
            return Err(Error::Input(format!(
                "{}: unexpected file in a night: a night holds a friendships* and/or an adoptions* file",
                path.display()
            )));
        };
        if let Some(other) = slot {
            return Err(Error::Input(format!(
                "{}: a second {} file in night {} (the first is {})",
                path.display(),
                if file_name.starts_with('f') {
                    "friendships"
                } else {
                    "adoptions"
                },
                night.name,
                other.path.display()
            )));
        }
        *slot = Some(Source::of_file(path)?);
    }
    Ok(night)
}
