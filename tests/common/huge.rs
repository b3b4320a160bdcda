//! Huge integer user ids (2^31 and above) beside small ones, for
//! tests/big_ids.rs: id pools on the edges of the range, graphs over them
//! with the oracle, and the part a user's rows go to.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use super::{Lcg, Oracle};

/// The first id that is not below 2^31.
pub const HUGE_MIN: u64 = 1 << 31;
/// Huge ids on every edge of the range: 2^31 and 2^32 with neighbours
/// (truncated to u32 they become 0, 1, 5, ...), 2^53 + 1 (no f64), 2^63,
/// u64::MAX - 1 and u64::MAX.
#[rustfmt::skip]
pub const HUGE: [u64; 12] = [
    2147483648, 2147483649, 4294967295, 4294967296,
    4294967297, 4294967301, 9007199254740992, 9007199254740993,
    9223372036854775807, 9223372036854775808, 18446744073709551614, 18446744073709551615,
];
/// Small ids kept as they are: what huge ones would truncate to, and 2^31 - 1.
pub const SMALL: [u64; 8] = [0, 1, 5, 7, 999, 65536, 2147483646, 2147483647];
/// `small` random ids below 2^31 and `huge` at or above, with SMALL and HUGE.
pub fn pool(rng: &mut Lcg, small: usize, huge: usize) -> Vec<u64> {
    let mut ids: std::collections::BTreeSet<u64> = SMALL.iter().chain(&HUGE).copied().collect();
    let want = ids.len() + small + huge;
    while ids.len() < want - huge {
        ids.insert(rng.next(HUGE_MIN));
    }
    while ids.len() < want {
        let id = (rng.next(HUGE_MIN) << 33) | rng.next(HUGE_MIN) | rng.next(2) << 32;
        if id >= HUGE_MIN {
            ids.insert(id);
        }
    }
    ids.into_iter().collect()
}

/// Friendships and adoptions as records.
#[derive(Clone, Default)]
pub struct Graph {
    pub edges: Vec<(u64, u64)>,
    pub adoptions: Vec<(u64, String, i64)>,
}

impl Graph {
    pub fn write(&self, dir: &Path) -> (PathBuf, PathBuf) {
        let (mut f, mut a) = ("src,dst\n".to_string(), "user,topic,day\n".to_string());
        for (x, y) in &self.edges {
            writeln!(f, "{x},{y}").unwrap();
        }
        for (u, t, d) in &self.adoptions {
            writeln!(a, "{u},{t},{d}").unwrap();
        }
        std::fs::create_dir_all(dir).unwrap();
        let (fp, ap) = (dir.join("f.csv"), dir.join("a.csv"));
        std::fs::write(&fp, f).unwrap();
        std::fs::write(&ap, a).unwrap();
        (fp, ap)
    }

    pub fn oracle(&self, k: usize) -> Oracle {
        let mut oracle = Oracle::new(&self.edges, &self.adoptions, 60);
        oracle.k = k;
        oracle
    }
}

pub fn random_graph(seed: u64, small: usize, huge: usize) -> Graph {
    let mut rng = Lcg(seed);
    let ids = pool(&mut rng, small, huge);
    let pick = |rng: &mut Lcg| ids[rng.next(ids.len() as u64) as usize];
    let mut g = Graph::default();
    for _ in 0..ids.len() * 3 / 2 {
        g.edges.push((pick(&mut rng), pick(&mut rng)));
    }
    for _ in 0..ids.len() * 2 {
        let topic = ["rock", "jazz", "folk"][rng.next(3) as usize];
        g.adoptions
            .push((pick(&mut rng), topic.into(), 18_000 + rng.next(12) as i64));
    }
    g
}

/// The part of a user's rows, written again from docs/jobs.md: an id below
/// 2^31 goes to part `mix(id) % parts` (SplitMix64's output function of the
/// id plus the golden ratio); an id of 2^31 and above, which goes through
/// the dictionary, to the part of its decimal text's bucket (FNV-1a with a
/// finaliser, mod 4096, mod parts), as a text id would; whatever the worker
/// count.
pub fn part_of(id: u64, parts: u64) -> u64 {
    if id < 1 << 31 {
        let mut z = id.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        return (z ^ (z >> 31)) % parts;
    }
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in id.to_string().bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    (h ^ (h >> 33)) % 4096 % parts
}
