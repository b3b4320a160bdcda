//! Portable `ln` and `exp`: IEEE-754 +, -, *, / only, so every platform
//! computes the same bits (std's ln/exp call the platform's libm). Accurate
//! to a few ulp, which is all the generator needs. Stable.

/// ln 2 rounded to 33 significant bits, so that `k * LN2_HI` is exact.
const LN2_HI: f64 = f64::from_bits(0x3FE6_2E42_FEE0_0000);
/// ln 2 - LN2_HI.
const LN2_LO: f64 = f64::from_bits(0x3DEA_39EF_3579_3C76);

/// Natural logarithm for finite `x > 0` (NaN for `x <= 0`): `x = 2^e m` with
/// `m` in `[sqrt(1/2), sqrt(2))`, `ln m = 2 atanh(t)`, `t = (m - 1) / (m + 1)`,
/// by its series to `t^25`.
pub(super) fn ln(x: f64) -> f64 {
    if x.is_nan() || x <= 0.0 {
        return f64::NAN;
    }
    if x.is_infinite() {
        return x;
    }
    let (mut x, mut e) = (x, 0i64);
    if x < f64::MIN_POSITIVE {
        x *= (1u64 << 54) as f64;
        e -= 54;
    }
    let bits = x.to_bits();
    e += ((bits >> 52) & 0x7FF) as i64 - 1023;
    let mut m = f64::from_bits((bits & 0x000F_FFFF_FFFF_FFFF) | 0x3FF0_0000_0000_0000);
    if m > std::f64::consts::SQRT_2 {
        m *= 0.5;
        e += 1;
    }
    let t = (m - 1.0) / (m + 1.0);
    let t2 = t * t;
    let mut series = 0.0;
    for k in (1..=12).rev() {
        series = series * t2 + 1.0 / (2 * k + 1) as f64;
    }
    let e = e as f64;
    e * LN2_HI + (e * LN2_LO + 2.0 * t * (1.0 + t2 * series))
}

/// `e^x`: `x = k ln 2 + r` with `|r| <= ln(2) / 2`, `e^r` by its Taylor
/// series to `r^17`, then scaled by `2^k`.
pub(super) fn exp(x: f64) -> f64 {
    if x.is_nan() {
        return x;
    }
    if x > 709.79 {
        return f64::INFINITY;
    }
    if x < -745.2 {
        return 0.0;
    }
    let k = (x * std::f64::consts::LOG2_E).round();
    let r = (x - k * LN2_HI) - k * LN2_LO;
    let mut sum = 1.0;
    for n in (1..=17).rev() {
        sum = 1.0 + sum * r / n as f64;
    }
    scale_by_pow2(sum, k as i32)
}

/// `y * 2^k` for `k` in -1100..=1100, in steps whose factors are normal.
fn scale_by_pow2(mut y: f64, mut k: i32) -> f64 {
    let pow2 = |k: i32| f64::from_bits(((k + 1023) as u64) << 52);
    while k > 1023 {
        y *= pow2(1023);
        k -= 1023;
    }
    while k < -1022 {
        y *= pow2(-1022);
        k += 1022;
    }
    y * pow2(k)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::random::Rng;

    fn ulps(a: f64, b: f64) -> u64 {
        (a.to_bits() as i64 - b.to_bits() as i64).unsigned_abs()
    }

    #[test]
    fn ln_and_exp_match_std_to_a_few_ulp() {
        let mut rng = Rng::stream(1, 2, 3);
        for _ in 0..100_000 {
            let x = exp(rng.unit() * 1400.0 - 700.0);
            let ours = ln(x);
            let std = x.ln();
            assert!(
                ulps(ours, std) <= 4 || (ours - std).abs() < 1e-15,
                "ln({x}) = {ours} vs {std}"
            );
            let y = rng.unit() * 1400.0 - 700.0;
            assert!(
                ulps(exp(y), y.exp()) <= 4,
                "exp({y}) = {} vs {}",
                exp(y),
                y.exp()
            );
        }
        for x in [1.0, 2.0, 0.5, 1e-310, f64::MIN_POSITIVE, f64::MAX, 90.0] {
            assert!(ulps(ln(x), x.ln()) <= 4, "ln({x})");
        }
        assert_eq!(ln(1.0), 0.0);
        assert_eq!(exp(0.0), 1.0);
        assert!(ulps(exp(-740.0), (-740.0f64).exp()) <= 4);
    }
}
