//! Records: splitting a line into fields and parsing the fields of each
//! input kind (friendships, adoptions and their nightly delta forms), with
//! the header rule of METRICS.md and messages that say what to fix.

use std::borrow::Cow;

use super::lines::{self, Sep, Sniff};
use super::{Share, Source};

pub use super::customer_records::{Identity, IdentityChange, Purchase, PurchaseChange};

/// A parsed input record kind.
pub trait Record: Sized {
    /// What the fields are, for messages: `"src dst"`.
    const FIELDS: &'static str;
    /// How many fields a record has (the most, if it varies).
    const ARITY: usize;
    /// The field counts accepted, for the message when a line has another.
    const ARITIES: &'static str = "";
    /// Whether the header line must open with a user id column name (text
    /// ids: METRICS.md's header rule for text ids).
    const NAMED_HEADER: bool = false;
    /// Whether its user ids are text (for the wording of field-count errors).
    const TEXT_IDS: bool = false;
    /// Whether a line with `n` fields can be this record.
    fn accepts(n: usize) -> bool {
        n == Self::ARITY
    }
    /// Parses the fields of one line (already split).
    fn parse(fields: &[Cow<'_, str>]) -> Result<Self, String>;
    /// A fast path for the common, clean line: `Some` only when the line is
    /// certainly this record (anything unusual returns `None` and takes the
    /// general path, which also words the errors).
    fn parse_clean(_line: &str, _sep: Sep) -> Option<Self> {
        None
    }
}

/// Parses an unsigned 64-bit user id, with a message naming what is wrong.
pub fn parse_id(field: &str) -> Result<u64, String> {
    if field.is_empty() || !field.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "invalid user id \"{field}\": expected an unsigned integer"
        ));
    }
    field.parse::<u64>().map_err(|_| {
        format!(
            "user id \"{field}\" is out of range: the largest is {}",
            u64::MAX
        )
    })
}

/// A user id field: an unsigned integer (`u64`, the default) or text
/// (`String`, with `ids = "text"`).
pub trait UserId: Sized {
    /// Whether a file of these ids needs a named header (`src`, `user`, ..):
    /// text ids, since every field is then a valid id.
    const NAMED_HEADER: bool = false;
    /// Parses a field (`quoted`: it was written in quotes).
    fn parse_user(field: &str, quoted: bool) -> Result<Self, String>;
    /// The fast path of a clean `src dst` line, if this id type has one.
    fn clean_pair(_line: &str, _sep: Sep) -> Option<(Self, Self)> {
        None
    }
}

impl UserId for u64 {
    fn parse_user(field: &str, _quoted: bool) -> Result<Self, String> {
        let id = parse_id(field)?;
        match crate::ids::wide_refusal(id) {
            Some(reason) => Err(reason),
            None => Ok(id),
        }
    }
    fn clean_pair(line: &str, sep: Sep) -> Option<(Self, Self)> {
        let bytes = line.as_bytes();
        let (src, i) = digits(bytes, 0)?;
        let separator = match sep {
            Sep::Comma => b',',
            Sep::Tab => b'\t',
            Sep::Spaces => b' ',
        };
        if bytes.get(i) != Some(&separator) {
            return None;
        }
        let (dst, j) = digits(bytes, i + 1)?;
        // A refused id takes the general path, which words the error.
        let refused = |id: u64| id >= crate::ids::DIRECT && crate::ids::wide_refusal(id).is_some();
        (j == bytes.len() && !refused(src) && !refused(dst)).then_some((src, dst))
    }
}

impl UserId for String {
    const NAMED_HEADER: bool = true;
    fn parse_user(field: &str, quoted: bool) -> Result<Self, String> {
        crate::ids::check_text_id(field, quoted)?;
        Ok(field.to_string())
    }
}

/// Parses a user id field of a split line (a quoted field is an owned one:
/// the `Cow` itself says whether the field was quoted).
#[allow(clippy::ptr_arg)]
fn user<I: UserId>(field: &Cow<'_, str>) -> Result<I, String> {
    I::parse_user(field, matches!(field, Cow::Owned(_)))
}

/// A friendship line `src dst`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Friendship<I = u64> {
    /// One end.
    pub src: I,
    /// The other end.
    pub dst: I,
}

/// Parses a run of ASCII digits as a `u64` without overflow, from `at`;
/// returns the value and the index after it.
fn digits(bytes: &[u8], at: usize) -> Option<(u64, usize)> {
    let mut i = at;
    let mut value: u64 = 0;
    while let Some(&b) = bytes.get(i) {
        if !b.is_ascii_digit() {
            break;
        }
        value = value.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
        i += 1;
    }
    (i > at).then_some((value, i))
}

impl<I: UserId> Record for Friendship<I> {
    const FIELDS: &'static str = "src dst";
    const ARITY: usize = 2;
    const NAMED_HEADER: bool = I::NAMED_HEADER;
    const TEXT_IDS: bool = I::NAMED_HEADER;
    fn parse_clean(line: &str, sep: Sep) -> Option<Self> {
        I::clean_pair(line, sep).map(|(src, dst)| Friendship { src, dst })
    }
    fn parse(fields: &[Cow<'_, str>]) -> Result<Self, String> {
        Ok(Friendship {
            src: user(&fields[0])?,
            dst: user(&fields[1])?,
        })
    }
}

/// An adoption line `user topic day`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Adoption<I = u64> {
    /// The user.
    pub user: I,
    /// The topic, non-empty.
    pub topic: String,
    /// Days since 1970-01-01.
    pub day: i32,
}

/// Checks a topic field.
pub fn parse_topic(field: &str) -> Result<String, String> {
    if field.is_empty() {
        Err("empty topic".to_string())
    } else {
        Ok(field.to_string())
    }
}

impl<I: UserId> Record for Adoption<I> {
    const FIELDS: &'static str = "user topic day";
    const ARITY: usize = 3;
    const NAMED_HEADER: bool = I::NAMED_HEADER;
    const TEXT_IDS: bool = I::NAMED_HEADER;
    fn parse(fields: &[Cow<'_, str>]) -> Result<Self, String> {
        Ok(Adoption {
            user: user(&fields[0])?,
            topic: parse_topic(&fields[1])?,
            day: crate::date::parse_day(&fields[2])?,
        })
    }
}

/// A nightly change: `+` adds, `-` removes.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub enum Op {
    /// `+`.
    Add,
    /// `-`.
    Remove,
}

/// Parses the operation field of a delta line.
pub fn parse_op(field: &str) -> Result<Op, String> {
    match field {
        "+" => Ok(Op::Add),
        "-" => Ok(Op::Remove),
        _ => Err(format!("unknown operation \"{field}\": expected + or -")),
    }
}

/// A friendship delta line `+ src dst` or `- src dst`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FriendshipChange<I = u64> {
    /// Add or remove.
    pub op: Op,
    /// The friendship.
    pub friendship: Friendship<I>,
}

impl<I: UserId> Record for FriendshipChange<I> {
    const FIELDS: &'static str = "op src dst";
    const TEXT_IDS: bool = I::NAMED_HEADER;
    const ARITY: usize = 3;
    fn parse(fields: &[Cow<'_, str>]) -> Result<Self, String> {
        Ok(FriendshipChange {
            op: parse_op(&fields[0])?,
            friendship: Friendship::parse(&fields[1..])?,
        })
    }
}

/// An adoption delta line `+ user topic day` or `- user topic [day]` (a
/// day after `-` is allowed and ignored).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AdoptionChange<I = u64> {
    /// Add or remove.
    pub op: Op,
    /// The user.
    pub user: I,
    /// The topic.
    pub topic: String,
    /// The day of an add (days since 1970-01-01); ignored for a remove.
    pub day: i32,
}

impl<I: UserId> Record for AdoptionChange<I> {
    const FIELDS: &'static str = "op user topic day";
    const TEXT_IDS: bool = I::NAMED_HEADER;
    const ARITY: usize = 4;
    const ARITIES: &'static str = "3 or 4";
    fn accepts(n: usize) -> bool {
        n == 3 || n == 4
    }
    fn parse(fields: &[Cow<'_, str>]) -> Result<Self, String> {
        let op = parse_op(&fields[0])?;
        let user = user(&fields[1])?;
        let topic = parse_topic(&fields[2])?;
        let day = match (op, fields.get(3)) {
            (Op::Add, Some(day)) => crate::date::parse_day(day)?,
            (Op::Add, None) => return Err("an add (+) needs a day: + user topic day".to_string()),
            (Op::Remove, _) => 0,
        };
        Ok(AdoptionChange {
            op,
            user,
            topic,
            day,
        })
    }
}

/// Splits a line into fields. Comma files honour RFC 4180 quotes; fields of
/// comma and tab files are trimmed of surrounding spaces.
pub fn split<'a>(line: &'a str, sep: Sep, out: &mut Vec<Cow<'a, str>>) -> Result<(), String> {
    out.clear();
    match sep {
        Sep::Spaces => out.extend(line.split_ascii_whitespace().map(Cow::Borrowed)),
        Sep::Tab => out.extend(line.split('\t').map(|f| Cow::Borrowed(f.trim()))),
        Sep::Comma if !line.contains('"') => {
            out.extend(line.split(',').map(|f| Cow::Borrowed(f.trim())))
        }
        Sep::Comma => split_quoted(line, out)?,
    }
    Ok(())
}

fn split_quoted<'a>(line: &'a str, out: &mut Vec<Cow<'a, str>>) -> Result<(), String> {
    let mut rest = line;
    loop {
        let trimmed = rest.trim_start();
        if let Some(quoted) = trimmed.strip_prefix('"') {
            let mut field = String::new();
            let mut chars = quoted.char_indices();
            let after;
            loop {
                match chars.next() {
                    None => return Err("unterminated quoted field".to_string()),
                    Some((i, '"')) => {
                        if quoted[i + 1..].starts_with('"') {
                            field.push('"');
                            chars.next();
                        } else {
                            after = &quoted[i + 1..];
                            break;
                        }
                    }
                    Some((_, c)) => field.push(c),
                }
            }
            out.push(Cow::Owned(field));
            let after = after.trim_start();
            if after.is_empty() {
                return Ok(());
            }
            match after.strip_prefix(',') {
                Some(next) => rest = next,
                None => return Err("unexpected text after a closing quote".to_string()),
            }
        } else {
            match rest.find(',') {
                Some(i) => {
                    out.push(Cow::Borrowed(rest[..i].trim()));
                    rest = &rest[i + 1..];
                }
                None => {
                    out.push(Cow::Borrowed(rest.trim()));
                    return Ok(());
                }
            }
        }
    }
}

/// Whether a field is a plain column name (`src`, `node_1`, `userID`): the
/// fields a header line is made of.
pub fn is_plain_name(field: &str) -> bool {
    let mut chars = field.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.')
}

pub use crate::error::BadLine;

/// What reading one share produced besides its records.
#[derive(Clone, Debug, Default)]
pub struct ShareReport {
    /// Records parsed.
    pub records: u64,
    /// Whether this share skipped the file's header line.
    pub header: bool,
    /// Bad lines, with absolute line numbers, in file order.
    pub bad: Vec<BadLine>,
    /// Bytes read.
    pub bytes: u64,
}

/// Parses the records of one share, calling `emit(record, offset)` for each.
///
/// Stops after `stop_after_bad` bad lines: past the tolerated number nothing
/// more is needed, since the job will fail anyway.
pub fn parse_share<R: Record>(
    source: &Source,
    share: &Share,
    sniff: &Sniff,
    stop_after_bad: usize,
    mut emit: impl FnMut(R, u64),
) -> ShareReport {
    let mut report = ShareReport::default();
    // One field buffer for the whole share: emptied and re-typed to each
    // line's lifetime (an in-place `collect` that keeps the allocation).
    let mut storage: Vec<Cow<'static, str>> = Vec::with_capacity(R::ARITY + 1);
    let mut bad_at: Vec<(u64, String)> = Vec::new();
    let read = lines::read_share(source, share, |line| {
        // A text-id file's first line may be a header that parses as a record.
        let maybe_header = R::NAMED_HEADER && line.offset == sniff.first_record_offset;
        if let (Ok(text), false) = (&line.text, maybe_header) {
            if let Some(record) = R::parse_clean(text, sniff.sep) {
                report.records += 1;
                emit(record, line.offset);
                return bad_at.len() < stop_after_bad.max(1);
            }
        }
        let mut fields: Vec<Cow<'_, str>> = reuse(std::mem::take(&mut storage));
        let result = line.text.and_then(|text| {
            split(text, sniff.sep, &mut fields)?;
            if R::NAMED_HEADER
                && line.offset == sniff.first_record_offset
                && fields.iter().all(|f| is_plain_name(f))
                && fields.first().is_some_and(|f| crate::ids::opens_header(f))
            {
                return Ok(None);
            }
            if !R::accepts(fields.len()) {
                let found = fields.len();
                let expected = if R::ARITIES.is_empty() {
                    R::ARITY.to_string()
                } else {
                    R::ARITIES.to_string()
                };
                let hint = if R::TEXT_IDS && found > R::ARITY && sniff.sep != Sep::Spaces {
                    ": an id or topic that holds the separator must be quoted (\"a,b\")"
                } else {
                    ""
                };
                return Err(format!(
                    "expected {expected} fields ({}), found {found}{hint}",
                    R::FIELDS
                ));
            }
            R::parse(&fields).map(Some)
        });
        match result {
            Ok(None) => report.header = true,
            Ok(Some(record)) => {
                report.records += 1;
                emit(record, line.offset);
            }
            Err(_)
                if !R::NAMED_HEADER
                    && line.offset == sniff.first_record_offset
                    && !fields.is_empty()
                    && fields.iter().all(|f| is_plain_name(f)) =>
            {
                report.header = true;
            }
            Err(reason) => bad_at.push((line.line_in_share, reason)),
        }
        storage = reuse(fields);
        bad_at.len() < stop_after_bad.max(1)
    });
    let (first_line_offset, bytes) = match read {
        Ok(end) => (end.first_line_offset, end.bytes),
        Err(failure) => {
            bad_at.push((failure.line_in_share, failure.reason));
            (share.start, 0)
        }
    };
    report.bytes = bytes;
    if !bad_at.is_empty() {
        let base = if source.gz {
            Ok(0)
        } else {
            lines::lines_before(source, first_line_offset)
        };
        report.bad = bad_at
            .into_iter()
            .map(|(line_in_share, reason)| match &base {
                Ok(base) => BadLine {
                    file: source.display(),
                    line: base + line_in_share + 1,
                    reason,
                },
                Err(e) => BadLine {
                    file: source.display(),
                    line: 0,
                    reason: format!("{reason} (and the line number is unknown: {e})"),
                },
            })
            .collect();
    }
    report
}

/// Empties a vector and hands back its allocation with another lifetime.
fn reuse<'a, 'b>(mut fields: Vec<Cow<'a, str>>) -> Vec<Cow<'b, str>> {
    fields.clear();
    fields.into_iter().map(|_| unreachable!()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(line: &str, sep: Sep) -> Vec<String> {
        let mut out = Vec::new();
        split(line, sep, &mut out).unwrap();
        out.into_iter().map(|c| c.into_owned()).collect()
    }

    #[test]
    fn splits_each_separator() {
        assert_eq!(fields("1,  2", Sep::Comma), vec!["1", "2"]);
        assert_eq!(fields("1\t2", Sep::Tab), vec!["1", "2"]);
        assert_eq!(fields("  1   2 ", Sep::Spaces), vec!["1", "2"]);
        assert_eq!(
            fields("7,\"Rock, \"\"Pop\"\" & more\",2020-01-01", Sep::Comma),
            vec!["7", "Rock, \"Pop\" & more", "2020-01-01"]
        );
        let mut out = Vec::new();
        assert!(split("1,\"open", Sep::Comma, &mut out).is_err());
    }

    #[test]
    fn ids_say_what_is_wrong() {
        assert_eq!(parse_id("42"), Ok(42));
        assert_eq!(parse_id("18446744073709551615"), Ok(u64::MAX));
        assert!(parse_id("18446744073709551616")
            .unwrap_err()
            .contains("out of range"));
        assert!(parse_id("-1").unwrap_err().contains("unsigned integer"));
        assert!(parse_id("").is_err());
    }

    #[test]
    fn header_names() {
        assert!(is_plain_name("src"));
        assert!(is_plain_name("node_1"));
        assert!(is_plain_name("userID"));
        assert!(!is_plain_name("1"));
        assert!(!is_plain_name("2020-01-01"));
        assert!(!is_plain_name(""));
    }
}

#[cfg(test)]
mod fast_path {
    use super::*;

    /// The fast path agrees with the general one wherever it answers.
    #[test]
    fn clean_lines_parse_like_the_general_path() {
        let cases = [
            ("1,2", Sep::Comma),
            ("18446744073709551615,0", Sep::Comma),
            ("18446744073709551616,0", Sep::Comma),
            ("7\t8", Sep::Tab),
            ("7 8", Sep::Spaces),
            ("7  8", Sep::Spaces),
            (" 7,8", Sep::Comma),
            ("7,8,9", Sep::Comma),
            ("7,", Sep::Comma),
            ("a,b", Sep::Comma),
        ];
        for (line, sep) in cases {
            let mut fields = Vec::new();
            split(line, sep, &mut fields).unwrap();
            let general: Option<Friendship> = (fields.len() == 2)
                .then(|| Friendship::parse(&fields).ok())
                .flatten();
            if let Some(fast) = Friendship::<u64>::parse_clean(line, sep) {
                assert_eq!(Some(fast), general, "{line:?}");
            }
        }
        assert!(Friendship::<u64>::parse_clean("1,2", Sep::Comma).is_some());
        assert!(Friendship::<u64>::parse_clean("18446744073709551616,0", Sep::Comma).is_none());
    }
}
