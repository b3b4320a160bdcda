//! Nights: the directories of nightly changes, applied in name order.
//!
//! `DELTAS/<night>/` holds up to one file of each kind, `friendships*`,
//! `adoptions*`, `identities*` and `purchases*` (any extension, `.gz`
//! allowed, each optional) of `+`/`-` records.
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
    /// Identity changes (`+`/`- account customer`), if any.
    pub identities: Option<Source>,
    /// Purchase changes (`+`/`- customer day amount [topic]`), if any.
    pub purchases: Option<Source>,
}

/// The kinds of file a night may hold: the start of their names.
pub const NIGHT_FILES: [&str; 4] = ["friendships", "adoptions", "identities", "purchases"];

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

/// Reads one night directory: its `friendships*`, `adoptions*`,
/// `identities*` and `purchases*` files.
pub fn night(name: String, dir: PathBuf) -> Result<Night> {
    let mut night = Night {
        name,
        dir: dir.clone(),
        friendships: None,
        adoptions: None,
        identities: None,
        purchases: None,
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
        let Some(kind) = NIGHT_FILES
            .into_iter()
            .find(|kind| file_name.starts_with(kind))
        else {
            return Err(Error::Input(format!(
                "{}: unexpected file in a night: a night holds friendships*, adoptions*, \
                 identities* and/or purchases* files (rename it, or start its name with '_' or \
                 '.' to have it skipped)",
                path.display()
            )));
        };
        let slot = match kind {
            "friendships" => &mut night.friendships,
            "adoptions" => &mut night.adoptions,
            "identities" => &mut night.identities,
            _ => &mut night.purchases,
        };
        if let Some(other) = slot {
            return Err(Error::Input(format!(
                "{}: a second {kind} file in night {} (the first is {})",
                path.display(),
                night.name,
                other.path.display()
            )));
        }
        *slot = Some(Source::of_file(path)?);
    }
    Ok(night)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn touch(path: &Path) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, "").unwrap();
    }

    fn name(source: &Option<Source>) -> Option<String> {
        source
            .as_ref()
            .map(|s| s.path.file_name().unwrap().to_string_lossy().into_owned())
    }

    #[test]
    fn a_night_holds_one_file_of_each_kind() {
        let dir = tempfile::tempdir().unwrap();
        let deltas = dir.path();
        touch(&deltas.join("2026-11-22/friendships.csv"));
        touch(&deltas.join("2026-11-22/purchases.csv.gz"));
        touch(&deltas.join("2026-11-22/_SUCCESS"));
        touch(&deltas.join("2026-11-23/identities.tsv"));
        touch(&deltas.join("2026-11-23/adoptions"));
        touch(&deltas.join("2026-11-21/purchases"));
        let nights = list_nights(deltas).unwrap();
        let listed: Vec<_> = nights
            .iter()
            .map(|n| {
                (
                    n.name.as_str(),
                    [&n.friendships, &n.adoptions, &n.identities, &n.purchases].map(name),
                )
            })
            .collect();
        let some = |s: &str| Some(s.to_string());
        assert_eq!(
            listed,
            vec![
                ("2026-11-21", [None, None, None, some("purchases")]),
                (
                    "2026-11-22",
                    [
                        some("friendships.csv"),
                        None,
                        None,
                        some("purchases.csv.gz")
                    ]
                ),
                (
                    "2026-11-23",
                    [None, some("adoptions"), some("identities.tsv"), None]
                ),
            ]
        );
        assert!(nights[1].purchases.as_ref().unwrap().gz);
    }

    #[test]
    fn a_second_file_of_a_kind_or_a_stranger_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let night_dir = dir.path().join("n1");
        touch(&night_dir.join("identities.csv"));
        touch(&night_dir.join("identities.csv.gz"));
        let error = night("n1".to_string(), night_dir.clone())
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("identities.csv.gz: a second identities file in night n1"),
            "{error}"
        );
        std::fs::remove_file(night_dir.join("identities.csv.gz")).unwrap();
        touch(&night_dir.join("orders.csv"));
        let error = night("n1".to_string(), night_dir).unwrap_err().to_string();
        assert!(
            error.contains("orders.csv: unexpected file in a night")
                && error.contains("identities* and/or purchases*"),
            "{error}"
        );
    }
}
