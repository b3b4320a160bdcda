//! Atomic publishing: every run writes into a staging directory beside the
//! output, and only a complete run replaces the output, in one rename.
//!
//! On Linux the swap is `renameat2(RENAME_EXCHANGE)`: readers see the old
//! directory or the new one, never neither and never a mix. Elsewhere (or on
//! file systems without it) the old output is renamed aside and the new one
//! renamed in, which leaves a moment with no directory at all but still never
//! a half-written one. A failed run deletes its staging directory and leaves
//! the previous output untouched.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The staging directory for an output: a hidden sibling, so the final
/// rename stays on one file system. Every process of a run computes the same name.
pub fn staging_dir(output: &Path) -> PathBuf {
    sibling(output, "staging")
}

fn sibling(output: &Path, what: &str) -> PathBuf {
    let name = output
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "output".to_string());
    let parent = match output.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    parent.join(format!(".{name}.{what}"))
}

/// Creates an empty staging directory (removing a stale one left by a crash).
pub fn prepare(output: &Path) -> Result<PathBuf> {
    let staging = staging_dir(output);
    if staging.exists() {
        std::fs::remove_dir_all(&staging).map_err(|e| Error::io(&staging, e))?;
    }
    std::fs::create_dir_all(&staging).map_err(|e| Error::io(&staging, e))?;
    Ok(staging)
}

/// Removes a staging directory after a failed run (best effort).
pub fn abandon(output: &Path) {
    let _ = std::fs::remove_dir_all(staging_dir(output));
}

/// Replaces `output` with the staging directory. If that fails, the
/// staging directory is removed and the previous output is left in place.
pub fn publish(output: &Path) -> Result<()> {
    let result = swap(output);
    if result.is_err() {
        abandon(output);
    }
    result
}

fn swap(output: &Path) -> Result<()> {
    let staging = staging_dir(output);
    sync_dir(&staging);
    if !output.exists() {
        std::fs::rename(&staging, output).map_err(|e| Error::io(output, e))?;
    } else if exchange(&staging, output).is_ok() {
        // `staging` now holds the previous output.
        std::fs::remove_dir_all(&staging).map_err(|e| Error::io(&staging, e))?;
    } else {
        let old = sibling(output, "previous");
        if old.exists() {
            std::fs::remove_dir_all(&old).map_err(|e| Error::io(&old, e))?;
        }
        std::fs::rename(output, &old).map_err(|e| Error::io(output, e))?;
        if let Err(e) = std::fs::rename(&staging, output) {
            // Put the previous output back rather than leave none.
            let _ = std::fs::rename(&old, output);
            return Err(Error::io(output, e));
        }
        std::fs::remove_dir_all(&old).map_err(|e| Error::io(&old, e))?;
    }
    if let Some(parent) = output.parent() {
        sync_dir(parent);
    }
    Ok(())
}

fn sync_dir(dir: &Path) {
    if let Ok(handle) = std::fs::File::open(dir) {
        let _ = handle.sync_all();
    }
}

#[cfg(target_os = "linux")]
fn exchange(a: &Path, b: &Path) -> std::io::Result<()> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    let a = CString::new(a.as_os_str().as_bytes())?;
    let b = CString::new(b.as_os_str().as_bytes())?;
    // SAFETY: both arguments are valid NUL-terminated paths that outlive the call.
    let rc = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            a.as_ptr(),
            libc::AT_FDCWD,
            b.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

#[cfg(not(target_os = "linux"))]
fn exchange(_a: &Path, _b: &Path) -> std::io::Result<()> {
    Err(std::io::Error::other("no atomic exchange on this platform"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn publish_replaces_and_abandon_keeps_the_old() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        for round in 0..3 {
            let staging = prepare(&out).unwrap();
            std::fs::write(staging.join("x"), format!("{round}")).unwrap();
            publish(&out).unwrap();
            assert_eq!(
                std::fs::read_to_string(out.join("x")).unwrap(),
                format!("{round}")
            );
        }
        let staging = prepare(&out).unwrap();
        std::fs::write(staging.join("x"), "failed").unwrap();
        abandon(&out);
        assert_eq!(std::fs::read_to_string(out.join("x")).unwrap(), "2");
        assert!(!staging_dir(&out).exists());
    }
}
