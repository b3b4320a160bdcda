//! The generator's random draws over [`crate::hash`]'s generators: one
//! stream per (seed, purpose tag, chunk), uniforms, normals and alias
//! sampling. Stable: changing anything here changes every generated dataset.

use super::math::ln;
use crate::hash::{mix, SplitMix64, Xoshiro256StarStar};

/// `mix(mix(mix(a) ^ b) ^ c)`.
pub(super) fn hash3(a: u64, b: u64, c: u64) -> u64 {
    mix(mix(mix(a) ^ b) ^ c)
}

/// The top 53 bits of `x` as a uniform double in `[0, 1)`: `(x >> 11) * 2^-53`.
pub(super) fn unit(x: u64) -> f64 {
    (x >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// `floor(x * n / 2^64)`, uniform in `0..n` for uniform `x` (Lemire's
/// multiply-shift without rejection; the bias is below n / 2^64).
pub(super) fn below(x: u64, n: u64) -> u64 {
    ((u128::from(x) * u128::from(n)) >> 64) as u64
}

/// xoshiro256** ([`Xoshiro256StarStar`]), seeded with four successive
/// outputs of SplitMix64 started at `hash3(seed, tag, index)`.
pub(super) struct Rng(Xoshiro256StarStar);

impl Rng {
    pub(super) fn stream(seed: u64, tag: u64, index: u64) -> Rng {
        let mut seeder = SplitMix64(hash3(seed, tag, index));
        Rng(Xoshiro256StarStar::from_splitmix(&mut seeder))
    }

    pub(super) fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }

    /// Uniform in `[0, 1)`: [`unit()`] of the next output.
    pub(super) fn unit(&mut self) -> f64 {
        unit(self.next_u64())
    }

    /// Uniform in `0..n`: [`below`] of the next output.
    pub(super) fn below(&mut self, n: u64) -> u64 {
        below(self.next_u64(), n)
    }
}

/// Standard normal draws by Marsaglia's polar method, both values of each
/// pair used (the first, then the spare). Stable: with `u = 2 U1 - 1`,
/// `v = 2 U2 - 1` (U from [`Rng::unit`]) redrawn until `0 < s = u^2 + v^2 < 1`,
/// the pair is `u f`, `v f` with `f = sqrt(-2 ln(s) / s)` ([`ln`] below).
#[derive(Default)]
pub(super) struct Normals {
    spare: Option<f64>,
}

impl Normals {
    pub(super) fn next(&mut self, rng: &mut Rng) -> f64 {
        if let Some(z) = self.spare.take() {
            return z;
        }
        loop {
            let u = 2.0 * rng.unit() - 1.0;
            let v = 2.0 * rng.unit() - 1.0;
            let s = u * u + v * v;
            if s > 0.0 && s < 1.0 {
                let f = (-2.0 * ln(s) / s).sqrt();
                self.spare = Some(v * f);
                return u * f;
            }
        }
    }
}

/// Walker's alias table, built by Vose's method: sampling is one uniform
/// index `i` ([`Rng::below`]) and one 32-bit coin (the top 32 bits of the
/// next output): `i` if the coin is below `threshold[i]`, else `alias[i]`.
/// Thresholds are probabilities quantized to 2^-32.
pub(super) struct Alias {
    /// (threshold, alias) per slot.
    slots: Vec<(u32, u32)>,
}

impl Alias {
    /// Builds the table from `weights` (reused as the scaled probabilities).
    pub(super) fn new(mut p: Vec<f64>) -> Alias {
        let n = p.len();
        let total: f64 = p.iter().sum();
        let scale = n as f64 / total;
        for w in &mut p {
            *w *= scale;
        }
        let mut slots: Vec<(u32, u32)> = (0..n).map(|i| (u32::MAX, i as u32)).collect();
        let (mut small, mut large): (Vec<u32>, Vec<u32>) =
            (0..n as u32).partition(|&i| p[i as usize] < 1.0);
        while let (Some(&s), Some(&l)) = (small.last(), large.last()) {
            small.pop();
            // Saturating float-to-int cast: p < 1 so at most 2^32 - 1.
            slots[s as usize] = ((p[s as usize] * 4_294_967_296.0) as u32, l);
            p[l as usize] = (p[l as usize] + p[s as usize]) - 1.0;
            if p[l as usize] < 1.0 {
                large.pop();
                small.push(l);
            }
        }
        // Leftovers (in either list) keep probability 1 and alias themselves.
        Alias { slots }
    }

    pub(super) fn sample(&self, rng: &mut Rng) -> u64 {
        let i = rng.below(self.slots.len() as u64) as usize;
        let (threshold, alias) = self.slots[i];
        if ((rng.next_u64() >> 32) as u32) < threshold {
            i as u64
        } else {
            u64::from(alias)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alias_frequencies() {
        let weights = [1.0, 2.0, 3.0, 0.0, 4.0];
        let alias = Alias::new(weights.to_vec());
        let mut rng = Rng::stream(9, 9, 9);
        let mut counts = [0u64; 5];
        let n = 1_000_000;
        for _ in 0..n {
            counts[alias.sample(&mut rng) as usize] += 1;
        }
        assert_eq!(counts[3], 0);
        for (i, w) in weights.iter().enumerate() {
            let share = counts[i] as f64 / n as f64;
            assert!((share - w / 10.0).abs() < 0.003, "{i}: {share}");
        }
    }
}
