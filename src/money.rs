//! Money: purchase amounts held exactly as whole units of 1/10,000
//! ([`Amount`]), parsed from text without passing through a float and written
//! back in the shortest exact decimal ([`format_units`]).
//!
//! An amount field is a non-negative decimal with a point and at most four
//! digits after it: `12`, `12.5`, `0.0001`, `.5` (= 0.5) and `12.` (= 12),
//! as PostgreSQL, DuckDB and Python's `Decimal` read them. Everything else is
//! refused with a message that names the amount and the way to write it:
//! signs, currency signs and codes, thousands separators, a comma as the
//! decimal mark, exponents, a fifth decimal (even a zero: the contract says
//! at most four digits). Sums of amounts are kept in `i128` units by callers;
//! [`format_units`] writes them.

use std::fmt;

/// An amount of money in units of 1/10,000 (`Amount(125_000)` is 12.5).
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    serde::Serialize,
    serde::Deserialize,
)]
pub struct Amount(pub i64);

/// Currency signs recognised in amount fields (for the message only).
const CURRENCY_SIGNS: &[char] = &[
    '$', '€', '£', '¥', '₹', '₽', '₩', '₺', '₪', '฿', '¢', '₫', '₴', '₦', '₱', '₣', '₿',
];

/// Characters people put between groups of thousands.
const GROUP_MARKS: &[char] = &[' ', '\'', '_', '\u{a0}', '\u{202f}', '’'];

impl Amount {
    /// Units per 1: amounts are exact to 1/SCALE = 0.0001.
    pub const SCALE: i64 = 10_000;
    /// Digits after the point that an amount may have.
    pub const DECIMALS: usize = 4;

    /// Parses an amount field exactly; the error names the field and the fix.
    pub fn parse(field: &str) -> Result<Amount, String> {
        let field = field.trim();
        if field.is_empty() {
            return Err(
                "empty amount: write a non-negative number such as 12.5 (0 for nothing)"
                    .to_string(),
            );
        }
        match plain(field) {
            Some(Ok(amount)) => Ok(amount),
            Some(Err(Plain::TooManyDecimals(n))) => Err(too_many_decimals(field, n)),
            Some(Err(Plain::OutOfRange)) => Err(format!(
                "amount \"{field}\" is out of range: the largest is {}",
                Amount(i64::MAX)
            )),
            None => Err(diagnose(field)),
        }
    }
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_units(i128::from(self.0)))
    }
}

/// Writes a number of 1/10,000 units as an exact decimal in its shortest
/// form: `125000` → `12.5`, `30000` → `3`, `1` → `0.0001`, `0` → `0`,
/// `-5000` → `-0.5`.
pub fn format_units(units: i128) -> String {
    let scale = Amount::SCALE.unsigned_abs() as u128;
    let magnitude = units.unsigned_abs();
    let (whole, fraction) = (magnitude / scale, magnitude % scale);
    let sign = if units < 0 { "-" } else { "" };
    if fraction == 0 {
        return format!("{sign}{whole}");
    }
    let digits = format!("{fraction:04}");
    format!("{sign}{whole}.{}", digits.trim_end_matches('0'))
}

/// Why a field of the plain grammar (`digits[.digits]`) is no amount.
enum Plain {
    TooManyDecimals(usize),
    OutOfRange,
}

/// Reads `int[.frac]` (ASCII digits, either side may be empty but not both):
/// `None` when the field is not of that form.
fn plain(field: &str) -> Option<Result<Amount, Plain>> {
    let (whole, fraction) = match field.split_once('.') {
        Some((whole, fraction)) => (whole, fraction),
        None => (field, ""),
    };
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if (whole.is_empty() && fraction.is_empty()) || !digits(whole) || !digits(fraction) {
        return None;
    }
    if fraction.len() > Amount::DECIMALS {
        return Some(Err(Plain::TooManyDecimals(fraction.len())));
    }
    let mut units: i64 = 0;
    for b in whole.bytes() {
        units = match units
            .checked_mul(10)
            .and_then(|u| u.checked_add(i64::from(b - b'0')))
        {
            Some(u) => u,
            None => return Some(Err(Plain::OutOfRange)),
        };
    }
    let mut fraction_units: i64 = 0;
    for i in 0..Amount::DECIMALS {
        let digit = fraction
            .as_bytes()
            .get(i)
            .map_or(0, |b| i64::from(b - b'0'));
        fraction_units = fraction_units * 10 + digit;
    }
    Some(
        units
            .checked_mul(Amount::SCALE)
            .and_then(|u| u.checked_add(fraction_units))
            .map(Amount)
            .ok_or(Plain::OutOfRange),
    )
}

/// The message for a fifth (or later) decimal.
fn too_many_decimals(field: &str, n: usize) -> String {
    let (_, fraction) = field.split_once('.').unwrap_or((field, ""));
    let fix = if fraction[Amount::DECIMALS..].bytes().all(|b| b == b'0') {
        "drop the trailing zeros".to_string()
    } else {
        "round it to 4 decimals".to_string()
    };
    format!(
        "amount \"{field}\" has {n} digits after the point: amounts are exact to 0.0001, \
         at most 4 digits after the point; {fix}"
    )
}

/// The message for a field outside the plain grammar: what it looks like
/// (a sign, a currency, an exponent, separators) and how to write it.
fn diagnose(field: &str) -> String {
    let valid = |s: &str| matches!(plain(s), Some(Ok(_)));
    if field.starts_with('-') {
        return format!(
            "amount \"{field}\" is negative: amounts are non-negative (take a purchase back \
             with a `- customer day amount` line in a night's purchases file)"
        );
    }
    if let Some(rest) = field.strip_prefix('+') {
        if valid(rest.trim()) {
            return format!("amount \"{field}\" has a sign: write {}", rest.trim());
        }
    }
    if let Some(bare) = without_currency(field) {
        let fix = if valid(&bare) {
            format!("write {bare}")
        } else {
            "write the bare number".to_string()
        };
        return format!(
            "amount \"{field}\" holds a currency sign or code: {fix} (amounts carry no currency)"
        );
    }
    if let Some(fix) = exponent(field) {
        return format!("amount \"{field}\" is in exponent notation: {fix}");
    }
    if field.contains(',') {
        if let Some(message) = commas(field) {
            return message;
        }
    }
    if field.contains(GROUP_MARKS) {
        let bare: String = field.chars().filter(|c| !GROUP_MARKS.contains(c)).collect();
        if valid(&bare) && field.starts_with(|c: char| c.is_ascii_digit()) {
            return format!(
                "amount \"{field}\" has thousands separators: write {bare} (digits only, a point \
                 before the decimals)"
            );
        }
    }
    format!(
        "amount \"{field}\" is not a number: write a non-negative decimal with a point and at \
         most 4 digits after it (12, 12.5, 0.0001)"
    )
}

/// The field without its currency sign or three-letter code (`$12`, `12€`,
/// `EUR 12`, `12 usd`), if it has one.
fn without_currency(field: &str) -> Option<String> {
    if field.contains(CURRENCY_SIGNS) {
        let bare: String = field
            .chars()
            .filter(|c| !CURRENCY_SIGNS.contains(c))
            .collect();
        return Some(bare.trim().to_string());
    }
    let code = |s: &str| s.len() == 3 && s.bytes().all(|b| b.is_ascii_alphabetic());
    let starts_numeric = |s: &str| s.starts_with(|c: char| c.is_ascii_digit() || c == '.');
    let ends_numeric = |s: &str| s.ends_with(|c: char| c.is_ascii_digit() || c == '.');
    let head = field.get(..3).filter(|h| code(h));
    if let Some(rest) = head.and_then(|_| field.get(3..)).map(str::trim) {
        if starts_numeric(rest) {
            return Some(rest.to_string());
        }
    }
    let split = field.len().checked_sub(3)?;
    let (rest, tail) = (field.get(..split)?.trim(), field.get(split..)?);
    (code(tail) && ends_numeric(rest)).then(|| rest.to_string())
}

/// For `1e3`, `2.5E-2`: the fix (the digits written out, when exact).
fn exponent(field: &str) -> Option<String> {
    let (mantissa, power) = field.split_once(['e', 'E'])?;
    let Some(Ok(Amount(units))) = plain(mantissa) else {
        return None;
    };
    let digits = power.strip_prefix(['+', '-']).unwrap_or(power);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let power: i32 = power.parse().ok()?;
    let mut units = i128::from(units);
    let written = if power >= 0 {
        (0..power)
            .try_for_each(|_| {
                units = units
                    .checked_mul(10)
                    .filter(|u| *u <= i128::from(i64::MAX))?;
                Some(())
            })
            .map(|()| units)
    } else {
        (0..power.unsigned_abs())
            .try_for_each(|_| {
                (units % 10 == 0).then(|| units /= 10)?;
                Some(())
            })
            .map(|()| units)
    };
    Some(match written {
        Some(units) => format!("write the digits out ({})", format_units(units)),
        None => "write the digits out, with at most 4 after the point".to_string(),
    })
}

/// For fields with commas: a thousands separator or a decimal comma.
fn commas(field: &str) -> Option<String> {
    let groups_of_three = |s: &str| {
        let mut parts = s.split(',');
        let first = parts.next().unwrap_or("");
        (1..=3).contains(&first.len())
            && first.bytes().all(|b| b.is_ascii_digit())
            && parts.all(|p| p.len() == 3 && p.bytes().all(|b| b.is_ascii_digit()))
    };
    let (before_point, after_point) = match field.split_once('.') {
        Some((a, b)) => (a, Some(b)),
        None => (field, None),
    };
    let point_is_decimal = after_point.is_none_or(|b| b.bytes().all(|c| c.is_ascii_digit()));
    if groups_of_three(before_point) && point_is_decimal {
        let bare = field.replace(',', "");
        // `1,500`: a thousands separator, or `1.5` with a decimal comma.
        if after_point.is_none() && field.matches(',').count() == 1 {
            let decimal = match plain(&field.replace(',', ".")) {
                Some(Ok(amount)) => amount.to_string(),
                _ => field.replace(',', "."),
            };
            return Some(format!(
                "amount \"{field}\" holds a comma: write {bare} if it separates thousands, or \
                 {decimal} if it is the decimal mark (amounts use a point and no separators)"
            ));
        }
        return Some(format!(
            "amount \"{field}\" has thousands separators: write {bare} (digits only, a point \
             before the decimals)"
        ));
    }
    // `1,5`, `1.234,56`, `1 234,56`: a comma as the decimal mark.
    let (whole, fraction) = field.rsplit_once(',')?;
    let whole: String = whole
        .chars()
        .filter(|c| *c != '.' && !GROUP_MARKS.contains(c))
        .collect();
    let written = format!("{whole}.{fraction}");
    if fraction.bytes().all(|b| b.is_ascii_digit()) && matches!(plain(&written), Some(Ok(_))) {
        return Some(format!(
            "amount \"{field}\" uses a comma as the decimal mark: write {written} (a point \
             before the decimals, no thousands separators)"
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn units(field: &str) -> i64 {
        Amount::parse(field)
            .unwrap_or_else(|e| panic!("{field}: {e}"))
            .0
    }

    fn error(field: &str) -> String {
        Amount::parse(field).expect_err(field)
    }

    #[test]
    fn parses_exactly() {
        assert_eq!(units("12"), 120_000);
        assert_eq!(units("12.5"), 125_000);
        assert_eq!(units("12.50"), 125_000);
        assert_eq!(units("0.0001"), 1);
        assert_eq!(units("0"), 0);
        assert_eq!(units("0.1"), 1_000);
        assert_eq!(units("1234.5678"), 12_345_678);
        assert_eq!(units("007.25"), 72_500);
        // The decisions: a missing side of the point is a zero.
        assert_eq!(units(".5"), 5_000);
        assert_eq!(units("12."), 120_000);
        // 0.1 + 0.2 is 0.3 here (it is not in binary floating point).
        assert_eq!(units("0.1") + units("0.2"), units("0.3"));
        // The largest: i64::MAX units.
        assert_eq!(units("922337203685477.5807"), i64::MAX);
    }

    #[test]
    fn refusals_name_the_amount_and_the_fix() {
        let cases: &[(&str, &[&str])] = &[
            ("", &["empty amount", "12.5"]),
            (".", &["\".\" is not a number", "12.5"]),
            (
                "-12",
                &[
                    "\"-12\" is negative",
                    "non-negative",
                    "- customer day amount",
                ],
            ),
            ("-0", &["is negative"]),
            ("+12", &["\"+12\" has a sign", "write 12"]),
            (
                "12.34567",
                &["5 digits after the point", "round it to 4 decimals"],
            ),
            (
                "12.50000",
                &["5 digits after the point", "drop the trailing zeros"],
            ),
            (
                "1,5",
                &["\"1,5\" uses a comma as the decimal mark", "write 1.5"],
            ),
            ("1.234,56", &["decimal mark", "write 1234.56"]),
            (
                "$12",
                &["\"$12\" holds a currency sign or code", "write 12"],
            ),
            ("12€", &["currency", "write 12"]),
            ("EUR 12", &["currency", "write 12"]),
            ("12.5 usd", &["currency", "write 12.5"]),
            ("1,234,567.5", &["thousands separators", "write 1234567.5"]),
            (
                "1,500",
                &[
                    "write 1500 if it separates thousands",
                    "1.5 if it is the decimal mark",
                ],
            ),
            ("1 000", &["thousands separators", "write 1000"]),
            ("1'000.25", &["thousands separators", "write 1000.25"]),
            ("1e3", &["\"1e3\" is in exponent notation", "(1000)"]),
            ("2.5E-2", &["exponent", "(0.025)"]),
            ("1e-5", &["exponent", "at most 4 after the point"]),
            ("abc", &["\"abc\" is not a number", "0.0001"]),
            ("1.2.3", &["not a number"]),
            (
                "922337203685477.5808",
                &["out of range", "922337203685477.5807"],
            ),
            ("99999999999999999999", &["out of range"]),
        ];
        for (field, words) in cases {
            let message = error(field);
            for word in *words {
                assert!(
                    message.contains(word),
                    "{field:?}: {message:?} lacks {word:?}"
                );
            }
        }
    }

    #[test]
    fn formats_the_shortest_exact_decimal() {
        assert_eq!(format_units(125_000), "12.5");
        assert_eq!(format_units(30_000), "3");
        assert_eq!(format_units(1), "0.0001");
        assert_eq!(format_units(0), "0");
        assert_eq!(format_units(-5_000), "-0.5");
        assert_eq!(format_units(-125_001), "-12.5001");
        assert_eq!(format_units(10_010), "1.001");
        // i128::MIN is -170141183460469231731687303715884105728: no overflow
        // taking its magnitude, and its last four digits are the decimals.
        assert_eq!(
            format_units(i128::MIN),
            "-17014118346046923173168730371588410.5728"
        );
        assert_eq!(Amount(120_000).to_string(), "12");
    }

    /// Writing then reading gives the same units back, and reading then
    /// writing gives the shortest form of the same number.
    #[test]
    fn format_and_parse_are_inverse() {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for i in 0..20_000i64 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let value = match i % 4 {
                0 => i,
                1 => (x % 1_000_000) as i64,
                2 => (x >> 1) as i64,
                _ => ((x % 100) * 100) as i64,
            };
            assert_eq!(units(&format_units(i128::from(value))), value);
        }
        assert_eq!(format_units(i128::from(units("0012.5000"))), "12.5");
    }
}
