//! The dataset's files: `friendships.csv`, `adoptions.csv` and
//! `planted.csv`, plus `identities.csv` and `purchases.csv` with customers;
//! chunks generated on every core and written in chunk order, each file
//! under a temporary name until all of them are complete.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use super::parallel::parallel_ordered;
use super::{Adoption, Model, EDGE_CHUNK, USER_CHUNK};
use crate::output::csv::{write_u64, write_u64_padded};

/// What [`write_dataset`] wrote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Written {
    /// Lines of `friendships.csv` without the header (duplicates included).
    pub friendships: u64,
    /// Lines of `adoptions.csv` without the header.
    pub adoptions: u64,
    /// Lines of `planted.csv` without the header (the number of seeds).
    pub planted: u64,
    /// Lines of `identities.csv` without the header (0 without customers).
    pub identities: u64,
    /// Lines of `purchases.csv` without the header (0 without customers).
    pub purchases: u64,
    /// The files written: friendships, adoptions, planted (then
    /// identities and purchases with customers).
    pub files: Vec<PathBuf>,
}

/// Writes the dataset of `model` into `dir` (created if needed):
///
/// - `friendships.csv`, header `src,dst`: the edges of every edge chunk in
///   chunk order;
/// - `adoptions.csv`, header `user,topic,day` (topic names, ISO days): the
///   adoption chunks in order, then the cascade adoptions in edge-chunk order;
/// - `planted.csv`, header `user,topic,day,friends,followers`: each seed with
///   its number of distinct friends and of distinct friends that follow it;
/// - with [`Params::customers`](super::Params::customers): `identities.csv`,
///   header `account,customer`, the lines of [`Model::identities`], and
///   `purchases.csv`, header `customer,day,amount,topic`, the purchase
///   chunks in order (ISO days, amounts with two decimals, a purchase
///   without topic written as the 3 fields `customer,day,amount`).
///
/// The bytes depend only on the model's [`Params`](super::Params). Each file is written to
/// a temporary name in `dir`, synced, and renamed into place once all of them
/// are complete, so readers never see a half-written file. Chunks are
/// generated on all available cores. `progress(done, total)` is called as
/// work completes, in units of edges plus users (`total = edges + users`,
/// plus `users` again with customers).
pub fn write_dataset(
    model: &Model,
    dir: &Path,
    progress: &mut dyn FnMut(u64, u64),
) -> io::Result<Written> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    write_dataset_threads(model, dir, threads, progress)
}

/// [`write_dataset`] on `threads` threads (at least 1): the same bytes for
/// any number.
pub fn write_dataset_threads(
    model: &Model,
    dir: &Path,
    threads: usize,
    progress: &mut dyn FnMut(u64, u64),
) -> io::Result<Written> {
    fs::create_dir_all(dir)?;
    let mut names = vec!["friendships.csv", "adoptions.csv", "planted.csv"];
    if model.params.customers {
        names.extend(["identities.csv", "purchases.csv"]);
    }
    let finals: Vec<PathBuf> = names.iter().map(|n| dir.join(n)).collect();
    let temps: Vec<PathBuf> = names
        .iter()
        .map(|n| dir.join(format!(".{n}.tmp-{}", std::process::id())))
        .collect();
    let result = write_temps(model, &temps, threads.max(1), progress).and_then(|written| {
        for (t, f) in temps.iter().zip(&finals) {
            fs::rename(t, f)?;
        }
        Ok(written)
    });
    let mut written = match result {
        Ok(written) => written,
        Err(e) => {
            for t in &temps {
                let _ = fs::remove_file(t);
            }
            return Err(e);
        }
    };
    // Make the renames durable too (best effort: not every platform can
    // open a directory).
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    written.files = finals;
    Ok(written)
}

/// One edge chunk's output, formatted on a worker thread.
#[derive(Default)]
struct EdgeOut {
    edges: Vec<u8>,
    adoptions: Vec<u8>,
    adoption_lines: u64,
    /// (seed index, friend, follows)
    contacts: Vec<(u32, u64, bool)>,
}

fn write_temps(
    model: &Model,
    temps: &[PathBuf],
    threads: usize,
    progress: &mut dyn FnMut(u64, u64),
) -> io::Result<Written> {
    let users = model.params.users;
    let customers = model.params.customers;
    let total = model.edges + users * (1 + u64::from(customers));
    let mut done = 0;
    progress(done, total);
    let mut friendships = Out::create(&temps[0])?;
    let mut adoptions = Out::create(&temps[1])?;
    friendships.buf.extend_from_slice(b"src,dst\n");
    adoptions.buf.extend_from_slice(b"user,topic,day\n");
    let mut adoption_lines = 0;

    let chunks = model.adoption_chunks();
    parallel_ordered(
        chunks,
        threads,
        |c| {
            // Lines are at most 7 + 1 + 16 + 1 + 10 + 1 bytes for ids below
            // 10^7 and topic counts below 10^10: 36 per adoption.
            let expected = (model.params.adoptions_per_user + 1.0) * USER_CHUNK as f64 * 36.0;
            let mut buf = Vec::with_capacity(expected.min(1e9) as usize);
            let mut lines = 0u64;
            model.adoption_chunk(c, |a| {
                push_adoption(&mut buf, model, a);
                lines += 1;
            });
            (buf, lines)
        },
        |c, (buf, lines)| {
            adoption_lines += lines;
            adoptions.write(&buf)?;
            done += USER_CHUNK.min(users - c as u64 * USER_CHUNK);
            progress(done, total);
            Ok(())
        },
    )?;

    // (seed index, friend, follows) for every edge line touching a seed:
    // 16 bytes each, a small share of the edges unless most users are seeds.
    let mut contacts = Vec::new();
    let line = 2 * (users - 1).to_string().len() + 2;
    parallel_ordered(
        model.edge_chunks(),
        threads,
        |c| {
            let mut out = EdgeOut {
                edges: Vec::with_capacity(EDGE_CHUNK as usize * line),
                ..EdgeOut::default()
            };
            model.edge_chunk_with(
                c,
                |a, b| {
                    push_u64(&mut out.edges, a);
                    out.edges.push(b',');
                    push_u64(&mut out.edges, b);
                    out.edges.push(b'\n');
                },
                |i, friend, followed| {
                    out.contacts.push((i, friend, followed.is_some()));
                    if let Some(a) = followed {
                        push_adoption(&mut out.adoptions, model, a);
                        out.adoption_lines += 1;
                    }
                },
            );
            out
        },
        |c, out| {
            friendships.write(&out.edges)?;
            adoptions.write(&out.adoptions)?;
            adoption_lines += out.adoption_lines;
            contacts.extend(out.contacts);
            done += EDGE_CHUNK.min(model.edges - c as u64 * EDGE_CHUNK);
            progress(done, total);
            Ok(())
        },
    )?;
    friendships.finish()?;
    adoptions.finish()?;

    // Distinct friends and followers per seed.
    contacts.sort_unstable();
    contacts.dedup();
    let mut friends = vec![0u64; model.planted.len()];
    let mut followers = vec![0u64; model.planted.len()];
    for &(i, _, follows) in &contacts {
        friends[i as usize] += 1;
        followers[i as usize] += u64::from(follows);
    }
    let mut planted = Out::create(&temps[2])?;
    planted
        .buf
        .extend_from_slice(b"user,topic,day,friends,followers\n");
    for (i, s) in model.planted.iter().enumerate() {
        push_u64(&mut planted.buf, s.user);
        planted.buf.push(b',');
        push_topic(&mut planted.buf, model, s.topic);
        planted.buf.push(b',');
        push_iso_day(&mut planted.buf, s.day);
        for v in [friends[i], followers[i]] {
            planted.buf.push(b',');
            push_u64(&mut planted.buf, v);
        }
        planted.buf.push(b'\n');
    }
    planted.finish()?;
    let mut written = Written {
        friendships: model.edges,
        adoptions: adoption_lines,
        planted: model.planted.len() as u64,
        identities: 0,
        purchases: 0,
        files: Vec::new(),
    };
    if customers {
        model.set_followers(
            contacts
                .iter()
                .filter(|c| c.2)
                .map(|&(i, friend, _)| (i, friend)),
        );
        drop(contacts);
        let (identities, purchases) =
            super::customer_files::write(model, &temps[3..5], threads, &mut |step| {
                done += step;
                progress(done, total);
            })?;
        written.identities = identities;
        written.purchases = purchases;
    }
    Ok(written)
}

/// A file being written through a 1 MiB buffer.
pub(super) struct Out {
    file: File,
    pub(super) buf: Vec<u8>,
}

const OUT_BUFFER: usize = 1 << 20;

impl Out {
    pub(super) fn create(path: &Path) -> io::Result<Out> {
        Ok(Out {
            file: File::create(path)?,
            buf: Vec::with_capacity(OUT_BUFFER),
        })
    }

    pub(super) fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        if self.buf.len() + bytes.len() > OUT_BUFFER {
            self.file.write_all(&self.buf)?;
            self.buf.clear();
        }
        if bytes.len() >= OUT_BUFFER {
            self.file.write_all(bytes)
        } else {
            self.buf.extend_from_slice(bytes);
            Ok(())
        }
    }

    pub(super) fn finish(mut self) -> io::Result<()> {
        self.file.write_all(&self.buf)?;
        self.file.sync_all()
    }
}

/// Appends `user,topic-name,YYYY-MM-DD\n`.
pub(super) fn push_adoption(buf: &mut Vec<u8>, model: &Model, a: Adoption) {
    push_u64(buf, a.user);
    buf.push(b',');
    push_topic(buf, model, a.topic);
    buf.push(b',');
    push_iso_day(buf, a.day);
    buf.push(b'\n');
}

pub(super) fn push_topic(buf: &mut Vec<u8>, model: &Model, topic: u32) {
    buf.extend_from_slice(b"topic-");
    write_u64_padded(u64::from(topic) + 1, model.topic_width, buf);
}

/// Appends the decimal digits of `v`.
pub(super) fn push_u64(buf: &mut Vec<u8>, v: u64) {
    write_u64(v, buf);
}

/// Appends the ISO date `YYYY-MM-DD` of `days` since 1970-01-01.
pub(super) fn push_iso_day(buf: &mut Vec<u8>, days: i32) {
    crate::date::write_iso(days, buf);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padded_integers() {
        let mut b = Vec::new();
        push_u64(&mut b, 0);
        push_u64(&mut b, u64::MAX);
        write_u64_padded(7, 4, &mut b);
        write_u64_padded(12345, 4, &mut b);
        assert_eq!(b, b"018446744073709551615000712345");
    }
}
