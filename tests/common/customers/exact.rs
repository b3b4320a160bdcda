//! Exact values for the customers oracle: fractions over `BigInt`, money
//! in units of 1/10_000, and the decimal and date texts the tables use,
//! written independently of the job's code.

use std::cmp::Ordering;

use num_bigint::BigInt;

use crate::common::iso_days;
/// An exact fraction, reduced, with a positive denominator.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frac {
    n: BigInt,
    d: BigInt,
}

impl Frac {
    pub fn new(n: impl Into<BigInt>, d: impl Into<BigInt>) -> Frac {
        let (mut n, mut d) = (n.into(), d.into());
        assert!(d != BigInt::from(0), "zero denominator");
        if d < BigInt::from(0) {
            n = -n;
            d = -d;
        }
        let g = num_integer::gcd(n.clone(), d.clone());
        Frac {
            n: n / &g,
            d: d / g,
        }
    }

    pub fn zero() -> Frac {
        Frac::new(0, 1)
    }

    pub fn is_zero(&self) -> bool {
        self.n == BigInt::from(0)
    }

    pub fn add(&self, other: &Frac) -> Frac {
        Frac::new(&self.n * &other.d + &other.n * &self.d, &self.d * &other.d)
    }

    pub fn div(&self, other: &Frac) -> Frac {
        Frac::new(&self.n * &other.d, &self.d * &other.n)
    }

    /// The nearest-enough `f64` (two correctly rounded conversions and a division).
    pub fn to_f64(&self) -> f64 {
        let n: f64 = self.n.to_string().parse().unwrap();
        let d: f64 = self.d.to_string().parse().unwrap();
        n / d
    }
}

impl PartialOrd for Frac {
    fn partial_cmp(&self, other: &Frac) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Frac {
    fn cmp(&self, other: &Frac) -> Ordering {
        (&self.n * &other.d).cmp(&(&other.n * &self.d))
    }
}

/// Money: units of 1/10_000 as a fraction of currency units.
pub fn money(units: &Frac) -> Frac {
    units.div(&Frac::new(10_000, 1))
}

/// An amount with at most 4 decimals, in units of 1/10_000 (exactly).
pub fn parse_units(text: &str) -> i64 {
    let (int, frac) = text.split_once('.').unwrap_or((text, ""));
    assert!(
        frac.len() <= 4,
        "oracle: amount {text:?} has more than 4 decimals"
    );
    let frac = format!("{frac:0<4}");
    int.parse::<i64>().unwrap() * 10_000 + frac.parse::<i64>().unwrap()
}

/// Units written as the shortest exact decimal (`12.5`, `3`, `0.0001`).
pub fn units_text(units: i128) -> String {
    assert!(units >= 0);
    let (int, frac) = (units / 10_000, units % 10_000);
    if frac == 0 {
        return int.to_string();
    }
    let frac = format!("{frac:04}");
    format!("{int}.{}", frac.trim_end_matches('0'))
}

/// A day written `YYYY-MM-DD` (civil from days, Howard Hinnant, written out here).
pub fn iso_text(days: i64) -> String {
    let z = days + 719468;
    let era = if z >= 0 { z } else { z - 146096 } / 146097;
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

/// A day field: ISO date or integer days.
pub fn parse_day(field: &str) -> i64 {
    if field.len() == 10 && field.as_bytes()[4] == b'-' {
        iso_days(field)
    } else {
        field.parse().unwrap()
    }
}
