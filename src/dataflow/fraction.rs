//! Exact sums of fractions for `credit(u,t) = sum of 1 / k(v,t)`: the sum
//! of `n / k` over `(k, n)` as a fraction, then the nearest `f64`, so that
//! equal credits are equal bits whatever the order or grouping of terms.
//!
//! Three exact paths are tried in turn (common denominator in `u64`, in
//! `u128`, then a fold that reduces after every term), and a float sum in
//! ascending `k` is the last resort when no fraction fits in 128 bits.
//! Every exact path that succeeds gives the same reduced fraction.

use super::Diff;

/// `sum of n / k` over `(k, n)`, as the `f64` nearest the exact fraction,
/// so that equal credits are equal bits (`1/2 + 1/3 + 1/6` is exactly `1.0`,
/// which a float sum misses) and rankings by credit follow exact values.
/// Sums whose fraction outgrows 128 bits fall back to a float sum in
/// ascending `k` (a fixed order, so still deterministic).
///
/// The fraction is first tried as `(sum of n' * L / k') / L`, each term
/// `n / k` reduced to `n' / k'` and `L` the least common multiple of the
/// `k'`: a few divisions per term and no gcd of the running sum, in `u64`
/// while it fits (hardware division) and `u128` beyond. Where `L`
/// overflows, a fold that reduces the running sum after every term (its
/// denominator stays as small as the sum allows: partial sums often cancel,
/// `1/6 + 1/3 = 1/2`) has the last word before the floats. Every path that
/// succeeds gives the same reduced fraction, so the same bits.
pub fn credit_of(shares: impl Iterator<Item = (u32, Diff)> + Clone) -> f64 {
    if let Some((num, den)) = exact_sum_u64(shares.clone()) {
        return ratio(u128::from(num), u128::from(den));
    }
    if let Some((num, den)) = exact_sum_u128(shares.clone()) {
        return ratio(num, den);
    }
    match exact_sum_reducing(shares.clone()) {
        Some((num, den)) => ratio(num, den),
        None => shares.map(|(k, n)| n as f64 / f64::from(k)).sum(),
    }
}

/// `sum of n / k` over `(k, n)`, divided by `scale`, as the `f64` nearest
/// the exact fraction (money: `n` in units of `1 / scale`), so that equal
/// sums are equal bits whatever the order of the terms. The terms are put
/// over the least common multiple of the `k`; where that or the numerator
/// outgrows 128 bits, a float sum in the terms' order is the last resort.
pub fn money_of(terms: impl Iterator<Item = (u32, u128)> + Clone, scale: u128) -> f64 {
    let exact = || -> Option<f64> {
        let mut lcm: u128 = 1;
        for (k, _) in terms.clone() {
            let k = u128::from(k.max(1));
            lcm = lcm.checked_mul(k / gcd_u128(lcm % k, k))?;
        }
        let mut num: u128 = 0;
        for (k, n) in terms.clone() {
            num = num.checked_add(n.checked_mul(lcm / u128::from(k.max(1)))?)?;
        }
        Some(ratio(num, lcm.checked_mul(scale)?))
    };
    exact().unwrap_or_else(|| {
        terms
            .map(|(k, n)| n as f64 / f64::from(k.max(1)) / scale as f64)
            .sum()
    })
}

/// `sum of n / k` as a fraction in `u128`, reduced after every term.
fn exact_sum_reducing(shares: impl Iterator<Item = (u32, Diff)>) -> Option<(u128, u128)> {
    shares
        .into_iter()
        .try_fold((0u128, 1u128), |(num, den), (k, n)| {
            let (k, n) = (u128::from(k.max(1)), u128::try_from(n).ok()?);
            let lcm = den.checked_mul(k / gcd_u128(den, k))?;
            let num = num
                .checked_mul(lcm / den)?
                .checked_add(n.checked_mul(lcm / k)?)?;
            let g = gcd_u128(num, lcm).max(1);
            Some((num / g, lcm / g))
        })
}

/// `exact_sum_u64` and `exact_sum_u128`: `sum of n / k` as a fraction
/// `(num, den)` over the common denominator of the reduced terms (the sum
/// itself not reduced), in that integer type, if it fits; and the type's
/// binary gcd.
macro_rules! exact_sum {
    ($sum:ident, $gcd:ident, $int:ty) => {
        fn $sum(shares: impl Iterator<Item = (u32, Diff)>) -> Option<($int, $int)> {
            // One pass: the sum so far over the lcm so far, scaled up when a
            // term brings a new factor. The result, and whether it fits, are
            // those of summing over the final lcm (every partial sum scaled
            // is at most the final numerator), with half the divisions.
            let (mut num, mut lcm): ($int, $int) = (0, 1);
            for (k, n) in shares {
                let (k, n) = (<$int>::from(k.max(1)), <$int>::try_from(n).ok()?);
                // The term reduced: n / k = (n / g) / (k / g).
                let (k, n) = if n == 1 {
                    (k, n)
                } else {
                    let g = $gcd(n, k).max(1);
                    (k / g, n / g)
                };
                let rest = lcm % k;
                if rest != 0 {
                    let step = k / $gcd(rest, k);
                    lcm = lcm.checked_mul(step)?;
                    num = num.checked_mul(step)?;
                }
                num = num.checked_add(n.checked_mul(lcm / k)?)?;
            }
            Some((num, lcm))
        }

        /// Stein's binary gcd: shifts and subtractions, no division.
        fn $gcd(mut a: $int, mut b: $int) -> $int {
            if a == 0 || b == 0 {
                return a | b;
            }
            let shift = (a | b).trailing_zeros();
            a >>= a.trailing_zeros();
            loop {
                b >>= b.trailing_zeros();
                if a > b {
                    std::mem::swap(&mut a, &mut b);
                }
                b -= a;
                if b == 0 {
                    return a << shift;
                }
            }
        }
    };
}

exact_sum!(exact_sum_u64, gcd_u64, u64);
exact_sum!(exact_sum_u128, gcd_u128, u128);

/// `num / den` as the nearest `f64` when both fit in an `f64` exactly (one
/// correctly rounded division: the same for every fraction of the same
/// value); else reduced first (so equal values take the same path) and as
/// close as two roundings get.
fn ratio(num: u128, den: u128) -> f64 {
    const EXACT: u128 = 1 << 53;
    if num < EXACT && den < EXACT {
        return num as f64 / den as f64;
    }
    let g = gcd_u128(num, den).max(1);
    let (num, den) = (num / g, den / g);
    if num < EXACT && den < EXACT {
        num as f64 / den as f64
    } else {
        let whole = num / den;
        whole as f64 + (num % den) as f64 / den as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::mix;

    #[test]
    fn money_is_the_exact_sum_scaled() {
        // 10.0000 / 3 + 5.0000 / 6 + 2.5000 = 3.3333.. + 0.8333.. + 2.5 = 6.6666..
        let terms = [(3, 100_000u128), (6, 50_000), (1, 25_000)];
        assert_eq!(money_of(terms.into_iter(), 10_000), 20.0 / 3.0);
        assert_eq!(money_of([(1, 125_000u128)].into_iter(), 10_000), 12.5);
        assert_eq!(money_of(std::iter::empty(), 10_000), 0.0);
        // The order of the terms does not move a bit.
        let reversed = [(1, 25_000u128), (6, 50_000), (3, 100_000)];
        assert_eq!(money_of(reversed.into_iter(), 10_000), 20.0 / 3.0);
    }

    #[test]
    fn credit_is_the_nearest_float_to_the_exact_sum() {
        assert_eq!(credit_of([(2, 1), (3, 1), (6, 1)].into_iter()), 1.0);
        let float: f64 = [2.0f64, 3.0, 6.0].iter().map(|k| 1.0 / k).sum();
        assert_ne!(float, 1.0, "the float sum misses, which is why this exists");
        assert_eq!(credit_of([(1, 3)].into_iter()), 3.0);
        assert_eq!(credit_of([(3, 2)].into_iter()), 2.0 / 3.0);
        assert_eq!(credit_of(std::iter::empty()), 0.0);
    }

    #[test]
    fn sums_past_u64_denominators_are_still_exact() {
        // The primes from 2 to 53 multiply to about 3.3e19, past 2^64 (1.8e19): the
        // u64 fraction overflows and the u128 one takes over.
        let primes = [
            2u32, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53,
        ];
        let shares = primes.iter().map(|&p| (p, 1));
        assert!(exact_sum_u64(shares.clone()).is_none());
        let (num, den) = exact_sum_u128(shares.clone()).expect("fits in u128");
        assert_eq!(credit_of(shares.clone()), ratio(num, den));
        assert_eq!(exact_sum_reducing(shares.clone()), Some((num, den)));
        let float: f64 = primes.iter().map(|&p| 1.0 / f64::from(p)).sum();
        assert!((credit_of(shares) - float).abs() < 1e-12);
        // Where both fit, both give the same fraction: 1/2 + 2/3 + 5/12 = 19/12.
        let small = [(2, 1), (3, 2), (12, 5)];
        assert_eq!(exact_sum_u64(small.into_iter()), Some((19, 12)));
        assert_eq!(exact_sum_u128(small.into_iter()), Some((19, 12)));
        // Equal values give equal bits whatever the terms: 1/2 + 1/2 = 1/1.
        assert_eq!(
            credit_of([(2, 2)].into_iter()),
            credit_of([(1, 1)].into_iter())
        );
        // Terms are reduced before the common denominator: 4/2 + 9/3 = 5/1,
        // and k/k for eleven k near 40,000 is 11/1, where the lcm of the
        // unreduced k would overflow u64.
        assert_eq!(exact_sum_u64([(2, 4), (3, 9)].into_iter()), Some((5, 1)));
        let ones = (40_000..=40_010u32).map(|k| (k, k as Diff));
        assert_eq!(exact_sum_u64(ones), Some((11, 1)));
    }

    #[test]
    fn cancelling_sums_stay_exact_past_u128_denominators() {
        // Where the common denominator outgrows u128 but partial sums cancel,
        // the reducing fold still finds the exact sum: for each prime p from 5
        // to 113, 1/(2p) + ((p-3)/2)/(3p) = 1/6.
        let cancelling: Vec<u32> = (5..114).filter(|&p| (2..p).all(|d| p % d != 0)).collect();
        let mut shares: Vec<(u32, Diff)> = cancelling
            .iter()
            .flat_map(|&p| [(2 * p, 1), (3 * p, ((p - 3) / 2) as Diff)])
            .collect();
        shares.sort_unstable();
        let shares = shares.into_iter();
        assert_eq!(exact_sum_u128(shares.clone()), None);
        let count = cancelling.len() as u128;
        let g = gcd_u128(count, 6);
        assert_eq!(exact_sum_reducing(shares.clone()), Some((count / g, 6 / g)));
        assert_eq!(credit_of(shares), count as f64 / 6.0);
    }

    #[test]
    fn binary_gcd_agrees_with_euclid() {
        fn euclid(mut a: u64, mut b: u64) -> u64 {
            while b != 0 {
                (a, b) = (b, a % b);
            }
            a
        }
        let mut x = 12345u64;
        for _ in 0..10_000 {
            x = mix(x);
            let (a, b) = (x % 1_000_000, (x >> 20) % 5_000);
            assert_eq!(gcd_u64(a, b), euclid(a, b), "gcd({a}, {b})");
            let wide = gcd_u128(u128::from(a) << 64, u128::from(b) << 64);
            assert_eq!(wide, u128::from(euclid(a, b)) << 64);
        }
        assert_eq!((gcd_u64(0, 0), gcd_u64(0, 7), gcd_u64(12, 0)), (0, 7, 12));
    }

    /// The reference: `sum of n / k` in big integers, reduced.
    fn reference(shares: &[(u32, Diff)]) -> (num_bigint::BigUint, num_bigint::BigUint) {
        use num_bigint::BigUint;
        use num_integer::Integer;
        let (mut num, mut den) = (BigUint::from(0u32), BigUint::from(1u32));
        for &(k, n) in shares {
            num = num * k + &den * n as u32;
            den *= k;
            let g = num.gcd(&den);
            num /= &g;
            den /= &g;
        }
        (num, den)
    }

    /// Random shares of four kinds: small `k` (the u64 path), a few `k`
    /// below 2^20 (often past u64), many `k` below 2^31 (past every exact
    /// path) and cancelling pairs `1/(2p) + ((p-3)/2)/(3p) = 1/6` over
    /// random primes (past u128 unless reduced as it goes; in ascending `k`
    /// not every such sum stays small enough, and those end in floats).
    fn shares(rng: &mut crate::hash::SplitMix64, kind: u64) -> Vec<(u32, Diff)> {
        let mut shares: Vec<(u32, Diff)> = match kind {
            0 => (0..1 + rng.below(12))
                .map(|_| (1 + rng.below(60) as u32, 1 + rng.below(5) as Diff))
                .collect(),
            1 => (0..3 + rng.below(4))
                .map(|_| (1 + rng.below(1 << 20) as u32, 1 + rng.below(5) as Diff))
                .collect(),
            2 => (0..12)
                .map(|_| (1 + rng.below(1 << 31) as u32, 1 + rng.below(5) as Diff))
                .collect(),
            _ => (5..150u32)
                .filter(|&p| (2..p).all(|d| p % d != 0) && rng.below(4) != 0)
                .flat_map(|p| [(2 * p, 1), (3 * p, ((p - 3) / 2) as Diff)])
                .collect(),
        };
        shares.sort_unstable();
        shares
    }

    #[test]
    fn exact_paths_agree_with_a_big_rational_reference() {
        use num_bigint::BigUint;
        let mut rng = crate::hash::SplitMix64(2024);
        // Cases that ended on each path: u64, u128, reducing, floats.
        let mut ended = [0u32; 4];
        for case in 0..2000u64 {
            let shares = shares(&mut rng, case % 4);
            let (num, den) = reference(&shares);
            let label = format!("case {case}: {shares:?}");
            let reduced = |(a, b): (u128, u128)| {
                let g = gcd_u128(a, b).max(1);
                (BigUint::from(a / g), BigUint::from(b / g))
            };
            let paths = [
                exact_sum_u64(shares.iter().copied()).map(|(a, b)| (u128::from(a), u128::from(b))),
                exact_sum_u128(shares.iter().copied()),
                exact_sum_reducing(shares.iter().copied()),
            ];
            for (path, fraction) in paths.iter().enumerate() {
                if let Some(fraction) = fraction {
                    assert_eq!(
                        reduced(*fraction),
                        (num.clone(), den.clone()),
                        "path {path}, {label}"
                    );
                }
            }
            let credit = credit_of(shares.iter().copied());
            match paths.iter().position(Option::is_some) {
                Some(path) => {
                    ended[path] += 1;
                    let exact = (u128::try_from(&num).unwrap(), u128::try_from(&den).unwrap());
                    assert_eq!(credit, ratio(exact.0, exact.1), "{label}");
                    // Both conversions and the division round once each.
                    let near = exact.0 as f64 / exact.1 as f64;
                    assert!(
                        (credit - near).abs() <= 4.0 * f64::EPSILON * near,
                        "{label}"
                    );
                    if exact.0 < 1 << 53 && exact.1 < 1 << 53 {
                        assert_eq!(credit, near, "{label}: not the nearest float");
                    }
                }
                None => {
                    ended[3] += 1;
                    let float: f64 = shares.iter().map(|&(k, n)| n as f64 / f64::from(k)).sum();
                    assert_eq!(credit, float, "{label}");
                }
            }
        }
        assert!(ended.iter().all(|&n| n > 0), "every path taken: {ended:?}");
    }
}
