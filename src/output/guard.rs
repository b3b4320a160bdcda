//! Output ownership: what a run may replace, decided once before any work.
//!
//! Publishing replaces the output directory whole, so a run first checks
//! that the directory is its to replace ([`check`]):
//!
//! - nothing is there, or an empty directory; or
//! - a previous output of reach ([`is_reach_output`]): a `_SUCCESS` file and
//!   a `summary.json` whose JSON says `"program": {"name": "reach", ...}`
//!   (every `reach run` and every `reach serve` publication writes both); or
//! - any other directory, only with `--overwrite`.
//!
//! Whatever the flags, it refuses an output that is not a directory (a file
//! stays where it is), an output path without a name of its own (`.`, `..`,
//! `/`), and an output that is, contains or lies inside one of the job's
//! inputs (friendships, adoptions, nights, the inbox and its `applied/` and
//! `rejected/`, the job file). Paths are compared after resolving symbolic
//! links, so `data/../data` and a link to `data` are `data`.

use std::path::{Component, Path, PathBuf};

use super::layout::{SUCCESS, SUMMARY};
use crate::error::{Error, Result};
/// `summary.json`'s `program.name` in an output of this program.
pub const PROGRAM: &str = "reach";

/// Checks that `output` may be replaced by this run; `inputs` are the job's
/// input paths, each with the flag (or job-file key) that named it.
/// Nothing is created, moved or deleted.
pub fn check(output: &Path, inputs: &[(&str, &Path)], overwrite: bool) -> Result<()> {
    let shown = output.display();
    if output.file_name().is_none() {
        return Err(Error::Config(format!(
            "--output {shown}: name the output directory itself (e.g. {}): reach replaces the \
             directory it names, which cannot be `.`, `..` or `/`",
            Path::new(output).join("reach-out").display()
        )));
    }
    let resolved = resolve(output);
    for (flag, input) in inputs {
        let input_resolved = resolve(input);
        let relation = if input_resolved == resolved {
            "is"
        } else if input_resolved.starts_with(&resolved) {
            "contains"
        } else if resolved.starts_with(&input_resolved) {
            "lies inside"
        } else {
            continue;
        };
        return Err(Error::Config(format!(
            "--output {shown} {relation} the input {flag} {}: publishing would replace it. Give \
             an output directory apart from every input (this is refused even with --overwrite)",
            input.display(),
        )));
    }
    let meta = match std::fs::symlink_metadata(output) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Error::io(output, e)),
    };
    if meta.file_type().is_symlink() {
        return Err(Error::Config(format!(
            "--output {shown} is a symbolic link (to {}); reach replaces the output directory \
             whole and would replace the link, not what it points to. Give the directory itself \
             as --output",
            std::fs::read_link(output)
                .map(|t| t.display().to_string())
                .unwrap_or_else(|_| "?".to_string())
        )));
    }
    if !meta.is_dir() {
        return Err(Error::Config(format!(
            "--output {shown} is a file, not a directory; it is left as it is. Give the path of a \
             directory for the output (reach writes a directory of tables)"
        )));
    }
    if overwrite || is_reach_output(output) {
        return Ok(());
    }
    let mut names: Vec<String> = std::fs::read_dir(output)
        .map_err(|e| Error::io(output, e))?
        .filter_map(|entry| entry.ok())
        .map(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            match entry.file_type() {
                Ok(t) if t.is_dir() => format!("{name}/"),
                _ => name,
            }
        })
        .collect();
    if names.is_empty() {
        return Ok(());
    }
    names.sort();
    let count = names.len();
    names.truncate(3);
    let more = if count > 3 {
        format!(" and {} more", count - 3)
    } else {
        String::new()
    };
    Err(Error::Config(format!(
        "--output {shown}: the directory exists and is not an output of reach (no {SUCCESS} and \
         {SUMMARY} written by reach); publishing replaces it whole, deleting what it holds ({}{more}). \
         Give a new or empty directory, or add --overwrite to replace it",
        names.join(", ")
    )))
}

/// Whether `dir` is a previous output of this program: it holds a
/// `_SUCCESS` file and a `summary.json` whose `program.name` is `reach`.
pub fn is_reach_output(dir: &Path) -> bool {
    if !dir.join(SUCCESS).is_file() {
        return false;
    }
    let Ok(bytes) = std::fs::read(dir.join(SUMMARY)) else {
        return false;
    };
    serde_json::from_slice::<serde_json::Value>(&bytes)
        .is_ok_and(|summary| summary["program"]["name"] == PROGRAM)
}

/// `path` made absolute with symbolic links resolved: the longest existing
/// ancestor is canonicalized and the rest appended (`..` taken lexically).
pub fn resolve(path: &Path) -> PathBuf {
    let absolute = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir().unwrap_or_default().join(path)
    };
    let mut existing = absolute.as_path();
    let mut rest = Vec::new();
    loop {
        if let Ok(real) = existing.canonicalize() {
            let mut out = real;
            for component in rest.iter().rev() {
                match component {
                    Component::ParentDir => {
                        out.pop();
                    }
                    Component::Normal(name) => out.push(name),
                    _ => {}
                }
            }
            return out;
        }
        match (existing.parent(), existing.components().next_back()) {
            (Some(parent), Some(last)) => {
                rest.push(last);
                existing = parent;
            }
            _ => return absolute,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolve_follows_links_and_dots() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("data");
        std::fs::create_dir(&real).unwrap();
        std::os::unix::fs::symlink(&real, dir.path().join("link")).unwrap();
        let real = real.canonicalize().unwrap();
        assert_eq!(resolve(&dir.path().join("link")), real);
        assert_eq!(
            resolve(&dir.path().join("data/../data/new/x/..")),
            real.join("new")
        );
        assert_eq!(resolve(&dir.path().join("link/a/b")), real.join("a/b"));
    }

    #[test]
    fn a_reach_output_needs_both_markers_and_our_name() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        assert!(!is_reach_output(d));
        std::fs::write(d.join(SUCCESS), "").unwrap();
        assert!(!is_reach_output(d), "_SUCCESS alone is Spark's too");
        std::fs::write(d.join(SUMMARY), r#"{"program":{"name":"other"}}"#).unwrap();
        assert!(!is_reach_output(d));
        std::fs::write(
            d.join(SUMMARY),
            r#"{"program":{"name":"reach","version":"0"}}"#,
        )
        .unwrap();
        assert!(is_reach_output(d));
        std::fs::remove_file(d.join(SUCCESS)).unwrap();
        assert!(!is_reach_output(d));
    }
}
