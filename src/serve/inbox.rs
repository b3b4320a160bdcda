//! The inbox protocol: which night directories are complete, and where a
//! night goes once it is applied or refused.
//!
//! A night is a directory `NAME/` in the inbox. With [`Ready::Marker`] (the
//! default) it is complete once a file `NAME.ready` exists beside it; with
//! [`Ready::Rename`] every directory is complete, so writers build it
//! elsewhere (or under a name starting with `.`) and rename it in. Names
//! starting with `.` or `_` are never nights.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::job::{Ready, Serve};

/// The names of the complete nights in the inbox, in name order.
pub fn ready_nights(serve: &Serve) -> Result<Vec<String>> {
    let mut names = Vec::new();
    for (name, path) in entries(&serve.inbox)? {
        if !path.is_dir() {
            continue;
        }
        let complete = match serve.ready {
            Ready::Rename => true,
            Ready::Marker => marker(serve, &name).exists(),
        };
        if complete {
            names.push(name);
        }
    }
    names.sort();
    Ok(names)
}

/// The nights waiting in `rejected/` for an operator's decision.
pub fn rejected_nights(serve: &Serve) -> Result<Vec<String>> {
    let mut names: Vec<String> = entries(&serve.rejected)?
        .into_iter()
        .filter(|(_, path)| path.is_dir())
        .map(|(name, _)| name)
        .collect();
    names.sort();
    Ok(names)
}

/// The `.ready` marker of a night.
fn marker(serve: &Serve, name: &str) -> PathBuf {
    serve.inbox.join(format!("{name}.ready"))
}

/// Visible entries of a directory (created if missing).
fn entries(dir: &Path) -> Result<Vec<(String, PathBuf)>> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if crate::input::is_hidden(&name) {
            continue;
        }
        found.push((name, entry.path()));
    }
    Ok(found)
}

/// Moves a night out of the inbox into `to` (under a free name if a night
/// of that name is there already), then removes its marker.
fn move_night(serve: &Serve, name: &str, to: &Path) -> Result<PathBuf> {
    std::fs::create_dir_all(to).map_err(|e| Error::io(to, e))?;
    let mut target = to.join(name);
    let mut n = 2;
    while target.exists() {
        target = to.join(format!("{name}~{n}"));
        n += 1;
    }
    let from = serve.inbox.join(name);
    std::fs::rename(&from, &target).map_err(|e| Error::io(&from, e))?;
    let marker = marker(serve, name);
    if marker.exists() {
        std::fs::remove_file(&marker).map_err(|e| Error::io(&marker, e))?;
    }
    Ok(target)
}

/// Moves an applied night to `applied/`.
pub fn move_applied(serve: &Serve, name: &str) -> Result<PathBuf> {
    move_night(serve, name, &serve.applied)
}

/// Moves a refused night to `rejected/` and writes `rejected/NAME.txt`,
/// which says why and what the operator can do.
pub fn reject(serve: &Serve, name: &str, reasons: &[String]) -> Result<PathBuf> {
    let target = move_night(serve, name, &serve.rejected)?;
    let moved = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| name.to_string());
    let mut report = format!(
        "night {name} was refused and moved to {}; nothing of it was applied.\n\n",
        target.display()
    );
    for reason in reasons {
        report.push_str(reason);
        report.push('\n');
    }
    report.push_str(&format!(
        "\nNo later night is applied while {} holds a night. Decide, then:\n\
         - to apply a corrected night: fix it, move it back into {} (with {moved}.ready \
         beside it if the inbox uses markers), and delete this report;\n\
         - to skip it for good: delete {} and this report.\n",
        serve.rejected.display(),
        serve.inbox.display(),
        target.display(),
    ));
    let path = serve.rejected.join(format!("{moved}.txt"));
    std::fs::write(&path, report).map_err(|e| Error::io(&path, e))?;
    Ok(target)
}
