//! The crate's hashing and random numbers, in one place: [`mix`] (key
//! placement: which worker owns a key, which part file a row goes to, and
//! the hasher of [`IdMap`]), [`SplitMix64`] (the shuffle test's generator,
//! and the seeder of the dataset generator's streams) and
//! [`Xoshiro256StarStar`] (the dataset generator's draws).
//!
//! **Stable, and hand-written on purpose.** Checkpoints store keys where
//! [`mix`] placed them (docs/upgrading.md), the shuffle test's permutations
//! and every generated dataset are defined by these exact sequences, so
//! they must never change with a dependency upgrade. The reference vectors
//! in the tests below pin them. `rand`'s generators of the same names give
//! the same raw words, but its range sampling (`gen_range`) is not the
//! Lemire draws used here and its value stability is a policy of a crate
//! we do not control; twenty lines of arithmetic are cheaper to keep than
//! that promise is to check on every upgrade.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// SplitMix64's increment: the golden ratio in 64-bit fixed point.
pub const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;

/// Mixes the bits of a 64-bit value: SplitMix64's output function applied
/// to `x + GOLDEN`, i.e. the first output of SplitMix64 seeded with `x`. A
/// bijection on `u64`. Routes keys to workers and rows to part files,
/// stable across versions and runs.
pub fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(GOLDEN);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// SplitMix64 (Steele, Lea, Flood 2014), its state in the open: output `n`
/// (from 0) of the generator seeded with `s` is `mix(s + n * GOLDEN)`.
#[derive(Clone, Debug)]
pub struct SplitMix64(pub u64);

impl SplitMix64 {
    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let out = mix(self.0);
        self.0 = self.0.wrapping_add(GOLDEN);
        out
    }

    /// A uniform number in `0..n` (`n >= 1`), without modulo bias (Lemire's
    /// multiply-and-reject).
    pub fn below(&mut self, n: u64) -> u64 {
        debug_assert!(n >= 1);
        let threshold = n.wrapping_neg() % n; // 2^64 mod n
        loop {
            let m = u128::from(self.next_u64()) * u128::from(n);
            if (m as u64) >= threshold {
                return (m >> 64) as u64;
            }
        }
    }
}

/// xoshiro256** (Blackman and Vigna 2018), from a given state.
#[derive(Clone, Debug)]
pub struct Xoshiro256StarStar {
    s: [u64; 4],
}

impl Xoshiro256StarStar {
    /// The generator in state `s` (not all zero).
    pub fn from_state(s: [u64; 4]) -> Self {
        Xoshiro256StarStar { s }
    }

    /// The generator whose state is the next four outputs of `seeder`.
    pub fn from_splitmix(seeder: &mut SplitMix64) -> Self {
        let mut s = [0; 4];
        for word in &mut s {
            *word = seeder.next_u64();
        }
        Xoshiro256StarStar { s }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let s = &mut self.s;
        let result = s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }
}

/// Hashes integers with [`mix`]: keys here are user ids and topic ids,
/// where SipHash's cost shows and its protection against chosen keys buys
/// nothing.
#[derive(Default)]
pub struct MixHasher(u64);

impl Hasher for MixHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = mix(self.0 ^ u64::from(b));
        }
    }
    fn write_u32(&mut self, n: u32) {
        self.0 = mix(self.0 ^ u64::from(n));
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = mix(self.0 ^ n);
    }
}

/// A hash map keyed by ids, hashed with [`MixHasher`].
pub type IdMap<K, V> = HashMap<K, V, BuildHasherDefault<MixHasher>>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix_reference_vector() {
        // The published first outputs of SplitMix64 seeded with 1234567.
        let mut rng = SplitMix64(1234567);
        assert_eq!(rng.next_u64(), 6457827717110365317);
        assert_eq!(rng.next_u64(), 3203168211198807973);
        assert_eq!(mix(1_234_567), 6_457_827_717_110_365_317);
        assert_eq!(
            mix(1_234_567u64.wrapping_add(GOLDEN)),
            3_203_168_211_198_807_973
        );
    }

    #[test]
    fn xoshiro_reference_vector() {
        // First outputs of xoshiro256** from state [1, 2, 3, 4] (reference C).
        let mut rng = Xoshiro256StarStar::from_state([1, 2, 3, 4]);
        let expected = [
            11_520u64,
            0,
            1_509_978_240,
            1_215_971_899_390_074_240,
            1_216_172_134_540_287_360,
            607_988_272_756_665_600,
            16_172_922_978_634_559_625,
        ];
        for e in expected {
            assert_eq!(rng.next_u64(), e);
        }
    }

    #[test]
    fn below_is_in_range_and_covers_it() {
        let mut rng = SplitMix64(3);
        let mut seen = [0u32; 7];
        for _ in 0..7000 {
            seen[rng.below(7) as usize] += 1;
        }
        assert!(seen.iter().all(|&c| (800..1200).contains(&c)), "{seen:?}");
    }
}
