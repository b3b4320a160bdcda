//! Calendar days: the conversion between days since 1970-01-01 (how the job
//! stores a day) and ISO `YYYY-MM-DD` text (how inputs may spell it and how
//! CSV output writes it), in the proleptic Gregorian calendar.
//!
//! The arithmetic is Howard Hinnant's `days_from_civil` / `civil_from_days`
//! (<https://howardhinnant.github.io/date_algorithms.html>), exact for every
//! `i32` day. ISO text is only produced and accepted for years 0000 to 9999:
//! [`parse_day`] rejects days outside [`MIN_DAY`]`..=`[`MAX_DAY`], and the
//! writers refuse to write them.

/// Days since 1970-01-01 of 0000-01-01, the first day with a four-digit ISO year.
pub const MIN_DAY: i32 = -719_528;

/// Days since 1970-01-01 of 9999-12-31, the last day with a four-digit ISO year.
pub const MAX_DAY: i32 = 2_932_896;

/// Whether `days` falls in 0000-01-01 ..= 9999-12-31, the range that ISO
/// `YYYY-MM-DD` text can express.
pub fn in_iso_range(days: i32) -> bool {
    (MIN_DAY..=MAX_DAY).contains(&days)
}

/// Converts days since 1970-01-01 to a `(year, month, day)` civil date
/// (month 1..=12, day 1..=31). Exact for every `i32`.
pub fn civil_from_days(days: i32) -> (i64, u32, u32) {
    let z = i64::from(days) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097); // [0, 146096]
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365]
    let mp = (5 * doy + 2) / 153; // [0, 11]
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32; // [1, 31]
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32; // [1, 12]
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Converts a civil date to days since 1970-01-01. The month must be 1..=12
/// and the day 1..=31 (not checked against the month's length; see
/// [`days_in_month`]). The result is `i64` because far years overflow `i32`.
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let (month, day) = (i64::from(month), i64::from(day));
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400); // [0, 399]
    let doy = (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + day - 1; // [0, 365]
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy; // [0, 146096]
    era * 146_097 + doe - 719_468
}

/// Whether `year` is a leap year in the proleptic Gregorian calendar.
pub fn is_leap_year(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

/// The number of days in `month` (1..=12) of `year`; 0 for a month outside 1..=12.
pub fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap_year(year) => 29,
        2 => 28,
        _ => 0,
    }
}

/// Appends `days` (since 1970-01-01) as ISO `YYYY-MM-DD` to `out`, without
/// allocating beyond `out`'s own growth.
///
/// Days outside [`MIN_DAY`]`..=`[`MAX_DAY`] are written in the ISO 8601
/// expanded form with a sign and at least four year digits (`-0001-12-31`,
/// `+10000-01-01`), which [`parse_day`] does not accept; check
/// [`in_iso_range`] first where that matters.
pub fn write_iso(days: i32, out: &mut Vec<u8>) {
    let (year, month, day) = civil_from_days(days);
    if year < 0 {
        out.push(b'-');
    } else if year > 9999 {
        out.push(b'+');
    }
    let year = year.unsigned_abs();
    // At most 7 digits for an i32 day; at least 4.
    let mut digits = [b'0'; 20];
    let mut n = year;
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    let start = i.min(digits.len() - 4);
    out.extend_from_slice(&digits[start..]);
    out.extend_from_slice(&[
        b'-',
        b'0' + (month / 10) as u8,
        b'0' + (month % 10) as u8,
        b'-',
        b'0' + (day / 10) as u8,
        b'0' + (day % 10) as u8,
    ]);
}

/// Formats `days` (since 1970-01-01) as ISO `YYYY-MM-DD`; see [`write_iso`]
/// for days outside years 0000 to 9999.
pub fn days_to_iso(days: i32) -> String {
    let mut out = Vec::with_capacity(10);
    write_iso(days, &mut out);
    // write_iso only writes ASCII.
    String::from_utf8(out).expect("write_iso writes ASCII")
}

/// Parses a day as the inputs spell it: an ISO date `YYYY-MM-DD` (exactly
/// four, two and two digits, a real calendar day) or an integer number of
/// days since 1970-01-01 (ASCII digits with an optional leading `-`). No
/// surrounding whitespace is allowed. The day must fall in years 0000 to
/// 9999 ([`MIN_DAY`]`..=`[`MAX_DAY`]).
///
/// The error is a one-line message that quotes the text, such as
/// `invalid date "2025-02-30": February 2025 has 28 days`.
pub fn parse_day(s: &str) -> Result<i32, String> {
    let bytes = s.as_bytes();
    let digits_after_sign = bytes.strip_prefix(b"-").unwrap_or(bytes);
    if !digits_after_sign.is_empty() && digits_after_sign.iter().all(u8::is_ascii_digit) {
        return parse_day_number(s);
    }
    // A '-' after the first character means the text tried to be a date.
    if bytes.iter().skip(1).any(|&b| b == b'-') {
        return parse_iso(s);
    }
    Err(format!(
        "invalid day {s:?}: expected YYYY-MM-DD or an integer number of days since 1970-01-01"
    ))
}

fn out_of_range(s: &str) -> String {
    format!(
        "day {s:?} is out of range: days since 1970-01-01 must be between {MIN_DAY} (0000-01-01) and {MAX_DAY} (9999-12-31)"
    )
}

/// `s` is an optional '-' followed by at least one ASCII digit.
fn parse_day_number(s: &str) -> Result<i32, String> {
    // Anything longer than 12 characters overflows the range anyway; the
    // i64 parse only fails on overflow here.
    match s.parse::<i64>() {
        Ok(n) if (i64::from(MIN_DAY)..=i64::from(MAX_DAY)).contains(&n) => Ok(n as i32),
        _ => Err(out_of_range(s)),
    }
}

const MONTH_NAMES: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

fn parse_iso(s: &str) -> Result<i32, String> {
    let b = s.as_bytes();
    let shape_ok = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    if !shape_ok {
        return Err(format!("invalid date {s:?}: expected YYYY-MM-DD"));
    }
    let num = |range: std::ops::Range<usize>| {
        b[range]
            .iter()
            .fold(0u32, |acc, &c| acc * 10 + u32::from(c - b'0'))
    };
    let (year, month, day) = (num(0..4), num(5..7), num(8..10));
    if !(1..=12).contains(&month) {
        return Err(format!(
            "invalid date {s:?}: month {month:02} is not between 01 and 12"
        ));
    }
    let year = i64::from(year);
    let last = days_in_month(year, month);
    if !(1..=last).contains(&day) {
        return Err(format!(
            "invalid date {s:?}: {} {year:04} has {last} days",
            MONTH_NAMES[month as usize - 1]
        ));
    }
    // Years 0000..=9999 always land in MIN_DAY..=MAX_DAY.
    Ok(days_from_civil(year, month, day) as i32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values() {
        assert_eq!(parse_day("1970-01-01"), Ok(0));
        assert_eq!(days_to_iso(0), "1970-01-01");
        assert_eq!(parse_day("2025-01-01"), Ok(20089));
        assert_eq!(days_to_iso(20089), "2025-01-01");
        assert_eq!(parse_day("1969-12-31"), Ok(-1));
        let d = parse_day("1956-03-01").unwrap();
        assert!(d < 0);
        assert_eq!(d, -5054);
        assert_eq!(days_to_iso(d), "1956-03-01");
        assert_eq!(days_to_iso(MIN_DAY), "0000-01-01");
        assert_eq!(days_to_iso(MAX_DAY), "9999-12-31");
        assert_eq!(parse_day("0000-01-01"), Ok(MIN_DAY));
        assert_eq!(parse_day("9999-12-31"), Ok(MAX_DAY));
        assert_eq!(days_to_iso(MIN_DAY - 1), "-0001-12-31");
        assert_eq!(days_to_iso(MAX_DAY + 1), "+10000-01-01");
    }

    #[test]
    fn integers() {
        assert_eq!(parse_day("0"), Ok(0));
        assert_eq!(parse_day("-0"), Ok(0));
        assert_eq!(parse_day("20089"), Ok(20089));
        assert_eq!(parse_day("007"), Ok(7));
        assert_eq!(parse_day("-5054"), Ok(-5054));
        assert_eq!(parse_day(&MIN_DAY.to_string()), Ok(MIN_DAY));
        assert_eq!(parse_day(&MAX_DAY.to_string()), Ok(MAX_DAY));
        for bad in [
            (MIN_DAY - 1).to_string(),
            (MAX_DAY + 1).to_string(),
            i32::MAX.to_string(),
            i64::MIN.to_string(),
            "99999999999999999999999999".to_string(),
        ] {
            let err = parse_day(&bad).unwrap_err();
            assert!(err.contains("out of range"), "{bad}: {err}");
        }
    }

    #[test]
    fn rejects_garbage() {
        for bad in ["", "-", "abc", "+5", " 5", "5 ", "1e3", "12.0", "٣"] {
            let err = parse_day(bad).unwrap_err();
            assert_eq!(
                err,
                format!("invalid day {bad:?}: expected YYYY-MM-DD or an integer number of days since 1970-01-01")
            );
        }
        assert_eq!(
            parse_day("abc").unwrap_err(),
            r#"invalid day "abc": expected YYYY-MM-DD or an integer number of days since 1970-01-01"#
        );
        for bad in [
            "2025-1-5",
            "25-01-01",
            "2025-01-011",
            "2025/01/01",
            "2025-0a-01",
            "12025-01-01",
            "-2025-01-01",
            "2025-01-01T00:00",
            " 2025-01-01",
            "--1",
        ] {
            let err = parse_day(bad).unwrap_err();
            assert!(
                err.starts_with("invalid ") && err.contains(&format!("{bad:?}")),
                "{bad}: {err}"
            );
        }
        assert_eq!(
            parse_day("2025-1-5").unwrap_err(),
            r#"invalid date "2025-1-5": expected YYYY-MM-DD"#
        );
    }

    #[test]
    fn calendar_validation() {
        let err = parse_day("2025-02-30").unwrap_err();
        assert!(err.starts_with(r#"invalid date "2025-02-30""#), "{err}");
        assert_eq!(
            err,
            r#"invalid date "2025-02-30": February 2025 has 28 days"#
        );
        assert!(parse_day("2025-02-29").is_err());
        assert!(parse_day("2025-13-01").is_err());
        assert!(parse_day("2025-00-10").is_err());
        assert!(parse_day("2025-04-31").is_err());
        assert!(parse_day("2025-04-00").is_err());
        assert!(parse_day("2025-12-31").is_ok());
        assert!(parse_day("2025-12-32").is_err());
    }

    #[test]
    fn leap_years() {
        // 1900: divisible by 100, not by 400: not leap.
        assert!(!is_leap_year(1900));
        assert!(parse_day("1900-02-29").is_err());
        assert_eq!(
            parse_day("1900-03-01").unwrap() - parse_day("1900-02-28").unwrap(),
            1
        );
        // 2000: divisible by 400: leap.
        assert!(is_leap_year(2000));
        assert_eq!(parse_day("2000-02-29"), Ok(11016));
        assert_eq!(days_to_iso(11016), "2000-02-29");
        assert_eq!(
            parse_day("2000-03-01").unwrap() - parse_day("2000-02-28").unwrap(),
            2
        );
        // 2024: ordinary leap year.
        assert!(is_leap_year(2024));
        let feb29 = parse_day("2024-02-29").unwrap();
        assert_eq!(days_to_iso(feb29), "2024-02-29");
        assert_eq!(days_to_iso(feb29 + 1), "2024-03-01");
        assert_eq!(
            parse_day("2025-01-01").unwrap() - parse_day("2024-01-01").unwrap(),
            366
        );
        assert!(is_leap_year(0));
        assert!(parse_day("0000-02-29").is_ok());
    }

    /// Every day of the ISO range, walked one by one against an independent
    /// calendar counter, and round-tripped through both spellings.
    #[test]
    fn round_trip_whole_iso_range() {
        let (mut y, mut m, mut d) = (0i64, 1u32, 1u32);
        let mut buf = Vec::new();
        for days in MIN_DAY..=MAX_DAY {
            assert_eq!(civil_from_days(days), (y, m, d), "day {days}");
            assert_eq!(days_from_civil(y, m, d), i64::from(days));
            buf.clear();
            write_iso(days, &mut buf);
            let text = std::str::from_utf8(&buf).unwrap();
            assert_eq!(text.len(), 10);
            assert_eq!(parse_day(text), Ok(days), "{text}");
            // advance the independent counter
            d += 1;
            if d > days_in_month(y, m) {
                d = 1;
                m += 1;
                if m > 12 {
                    m = 1;
                    y += 1;
                }
            }
        }
        assert_eq!((y, m, d), (10000, 1, 1));
    }

    #[test]
    fn total_over_i32() {
        for days in [i32::MIN, i32::MIN + 1, -1_000_000, 3_000_000, i32::MAX] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), i64::from(days));
            let text = days_to_iso(days);
            assert!(text.starts_with(['-', '+']), "{text}");
            assert!(parse_day(&text).is_err());
        }
        assert_eq!(days_to_iso(i32::MAX), "+5881580-07-11");
        assert_eq!(days_to_iso(i32::MIN), "-5877641-06-23");
    }
}
