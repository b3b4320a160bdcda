//! Text handles for generated users (`reach generate --text-ids`): the
//! generator's integer ids rewritten, file by file, as text ids of the
//! kinds CRM exports hold, for demos and benches of `ids = "text"`.
//!
//! The handle of user `u` is a fixed bijection of `u` written in base 36,
//! in one of four styles chosen by `u % 4` (a handle, a CRM-like key, an
//! e-mail-like string, a Salesforce-like id), so handles are distinct,
//! deterministic and 13-25 bytes long. The same dataset with `--text-ids`
//! is the same graph with other names.

use std::fs::{self, File};
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::path::Path;

/// A fixed bijection of `u64` (the splitmix64 finaliser: invertible).
fn scramble(mut x: u64) -> u64 {
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

fn base36(mut x: u64, upper: bool) -> String {
    let digits: &[u8] = if upper {
        b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    } else {
        b"0123456789abcdefghijklmnopqrstuvwxyz"
    };
    let mut out = Vec::with_capacity(13);
    loop {
        out.push(digits[(x % 36) as usize]);
        x /= 36;
        if x == 0 {
            break;
        }
    }
    out.reverse();
    String::from_utf8(out).expect("ASCII")
}

/// The text handle of generated user `user`.
pub fn handle(user: u64) -> String {
    let key = scramble(user);
    match user % 4 {
        0 => format!("u_{}", base36(key, false)),
        1 => base36(key, true),
        2 => format!("{}@mail.example", base36(key, false)),
        _ => format!("0035e{}", base36(key, true)),
    }
}

/// Rewrites the fields `columns` (0-based, each a user id) of every data
/// line of the CSV file `path` as handles, in place (atomically). The id
/// fields come before any quoted field in the generator's files.
fn rewrite(path: &Path, columns: &[usize]) -> io::Result<()> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temp = path.with_file_name(format!(".{name}.ids-{}", std::process::id()));
    let mut reader = BufReader::with_capacity(1 << 20, File::open(path)?);
    let mut writer = BufWriter::with_capacity(1 << 20, File::create(&temp)?);
    let mut line = String::new();
    let mut first = true;
    while reader.read_line(&mut line)? > 0 {
        if first {
            first = false;
            writer.write_all(line.as_bytes())?;
        } else {
            let body = line.trim_end_matches('\n');
            for (i, field) in body.splitn(columns.len().max(1) + 2, ',').enumerate() {
                if i > 0 {
                    writer.write_all(b",")?;
                }
                match (columns.contains(&i), field.parse::<u64>()) {
                    (true, Ok(user)) => writer.write_all(handle(user).as_bytes())?,
                    _ => writer.write_all(field.as_bytes())?,
                }
            }
            writer.write_all(b"\n")?;
        }
        line.clear();
    }
    writer
        .into_inner()
        .map_err(|e| e.into_error())?
        .sync_all()?;
    fs::rename(&temp, path)
}

/// Rewrites a generated dataset in `dir` (and its nights, if any) with
/// text handles in place of integer user ids (the accounts of
/// `identities.csv` too when `customers`; customer ids are text already).
pub fn rewrite_dataset(dir: &Path, customers: bool) -> io::Result<()> {
    rewrite(&dir.join("friendships.csv"), &[0, 1])?;
    rewrite(&dir.join("adoptions.csv"), &[0])?;
    rewrite(&dir.join("planted.csv"), &[0])?;
    if customers {
        rewrite(&dir.join("identities.csv"), &[0])?;
    }
    let nights = dir.join("nights");
    if nights.is_dir() {
        let mut names: Vec<_> = fs::read_dir(&nights)?
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|p| p.is_dir())
            .collect();
        names.sort();
        for night in names {
            rewrite(&night.join("friendships.csv"), &[1, 2])?;
            rewrite(&night.join("adoptions.csv"), &[1])?;
            if customers {
                rewrite(&night.join("identities.csv"), &[1])?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_are_distinct_and_valid_text_ids() {
        let mut seen = std::collections::HashSet::new();
        for user in 0..50_000 {
            let h = handle(user);
            assert!(crate::ids::check_text_id(&h, false).is_ok(), "{h}");
            assert!(h.parse::<u64>().is_err(), "not an integer: {h}");
            assert!(seen.insert(h), "user {user}");
        }
        assert_eq!(handle(7), handle(7));
    }
}
