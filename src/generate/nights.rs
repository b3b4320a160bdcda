//! Nights of changes for `--deltas` and `reach serve`: friendships removed
//! and added, adoptions added and removed, a few no-ops of each kind, in the
//! delta format of METRICS.md, one directory per night; with customers,
//! identity and purchase changes too (`crm_nights`).

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::crm_nights::CrmNights;
use super::random::{hash3, Rng};
use super::write::{push_adoption, push_topic, push_u64};
use super::{Adoption, Model, SPAN_DAYS, START_DAY};

/// Nights of changes written by [`write_nights`].
#[derive(Clone, Debug, Default)]
pub struct NightsWritten {
    /// The night directories, in order.
    pub nights: Vec<PathBuf>,
    /// Friendship change lines over all nights.
    pub friendship_changes: u64,
    /// Adoption change lines over all nights.
    pub adoption_changes: u64,
    /// Identity change lines over all nights (0 without customers).
    pub identity_changes: u64,
    /// Purchase change lines over all nights (0 without customers).
    pub purchase_changes: u64,
}

/// Parts per ten thousand of the base's friendship lines removed each night
/// (and as many friendships added): 0.3% of friendships change per night.
const NIGHT_REMOVE_PER_10K: u64 = 15;
const TAG_NIGHT: u64 = u64::from_be_bytes(*b"night\0\0\0");

/// Writes `nights` nights of changes under `dir/nights/<day>/`, named by
/// the days after the base year (`2026-01-01`, ...), in the delta format of
/// METRICS.md:
///
/// - `friendships.csv`: about 0.15% of the base's friendship lines removed
///   (`- a b`, chosen by a hash of the night and the pair), as many new
///   friendships added (`+ a b`, drawn like the base's), and a few no-ops
///   (re-adding a friendship just added, removing one that never existed);
/// - `adoptions.csv`: a day of new adoptions (`+ user topic day`, the base's
///   yearly rate divided by 365, on the night's day), about 0.03% of the
///   base's spontaneous adoptions removed (`- user topic`), and a few no-op
///   adds (an existing adoption again with a later day);
/// - with customers, `identities.csv` (`op,account,customer`) and
///   `purchases.csv` (`op,customer,day,amount,topic`): new mappings,
///   remaps, a day of purchases and refunds (see `crm_nights`).
///
/// Deterministic for the model's parameters and `nights`.
pub fn write_nights(model: &Model, dir: &Path, nights: usize) -> io::Result<NightsWritten> {
    let mut written = NightsWritten::default();
    let mut crm = CrmNights::default();
    let seed = model.params.seed;
    for night in 1..=nights as u64 {
        let day = START_DAY + SPAN_DAYS + night as i32 - 1;
        let night_dir = dir.join("nights").join(crate::date::days_to_iso(day));
        fs::create_dir_all(&night_dir)?;
        let mut rng = Rng::stream(seed, TAG_NIGHT, night);

        let mut f: Vec<u8> = b"op,src,dst\n".to_vec();
        let mut removed = 0u64;
        for chunk in 0..model.edge_chunks() {
            model.edge_chunk(
                chunk,
                |a, b| {
                    let pair = (a.min(b) << 32) ^ a.max(b);
                    if hash3(seed ^ TAG_NIGHT, night, pair) % 10_000 < NIGHT_REMOVE_PER_10K {
                        push_change(&mut f, b'-', a, b);
                        removed += 1;
                    }
                },
                |_| {},
            );
        }
        let mut added = Vec::new();
        for _ in 0..removed {
            let a = model.users_alias.sample(&mut rng);
            let b = model.users_alias.sample(&mut rng);
            if a != b {
                push_change(&mut f, b'+', a, b);
                added.push((a, b));
            }
        }
        for &(a, b) in added.iter().take(5) {
            push_change(&mut f, b'+', b, a); // present already: a no-op
        }
        let n = model.params.users;
        for _ in 0..5 {
            let a = rng.below(n);
            push_change(&mut f, b'-', a, (a + 1 + rng.below(n - 1)) % n); // almost surely absent
        }
        written.friendship_changes += f.iter().filter(|&&c| c == b'\n').count() as u64 - 1;
        write_atomically(&night_dir.join("friendships.csv"), &f)?;

        let mut a: Vec<u8> = b"op,user,topic,day\n".to_vec();
        let per_day = (model.params.users as f64 * model.params.adoptions_per_user / 365.0) as u64;
        for _ in 0..per_day {
            let user = rng.below(n);
            let topic = model.topics_alias.sample(&mut rng) as u32;
            a.extend_from_slice(b"+,");
            push_adoption(&mut a, model, Adoption { user, topic, day });
        }
        let mut noop_adds = 0;
        for chunk in 0..model.adoption_chunks() {
            model.adoption_chunk(chunk, |adoption| {
                let key = (adoption.user << 20) ^ u64::from(adoption.topic);
                let h = hash3(seed ^ TAG_NIGHT, night ^ (1 << 40), key) % 10_000;
                if h < 3 {
                    a.extend_from_slice(b"-,");
                    push_u64(&mut a, adoption.user);
                    a.push(b',');
                    push_topic(&mut a, model, adoption.topic);
                    a.push(b'\n');
                } else if h == 9_999 && noop_adds < 5 {
                    // The same adoption, a day later than it was: changes nothing.
                    a.extend_from_slice(b"+,");
                    push_adoption(
                        &mut a,
                        model,
                        Adoption {
                            day: adoption.day + 1,
                            ..adoption
                        },
                    );
                    noop_adds += 1;
                }
            });
        }
        written.adoption_changes += a.iter().filter(|&&c| c == b'\n').count() as u64 - 1;
        write_atomically(&night_dir.join("adoptions.csv"), &a)?;
        if model.params.customers {
            let (ids, buys) = crm.night(model, night, day, &night_dir)?;
            written.identity_changes += ids;
            written.purchase_changes += buys;
        }
        // The inbox marker of `reach serve` (docs/nightly.md): the night is complete.
        let marker = format!("{}.ready", crate::date::days_to_iso(day));
        write_atomically(&dir.join("nights").join(marker), b"")?;
        written.nights.push(night_dir);
    }
    Ok(written)
}

fn push_change(buf: &mut Vec<u8>, op: u8, a: u64, b: u64) {
    buf.push(op);
    buf.push(b',');
    push_u64(buf, a);
    buf.push(b',');
    push_u64(buf, b);
    buf.push(b'\n');
}

pub(super) fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temp = path.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
    fs::write(&temp, bytes)?;
    fs::rename(&temp, path)
}
