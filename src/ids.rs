//! User ids: integers (the default) or text (`ids = "text"`), both made
//! the dataflow's `u32` internal ids ([`crate::dataflow::User`]).
//!
//! An integer id below [`DIRECT`] (2^31) is its own internal id, so the
//! common case costs no translation; an integer id at or above it goes
//! through the partitioned dictionary below, keyed by its decimal text, and
//! its internal id is `DIRECT` plus the dictionary's id. Every text id goes
//! through the dictionary (internal id = the dictionary's id). Narrowing
//! the dataflow's ids from `u64` to `u32` took a quarter of the resident
//! memory of a night and of the batch's peak (docs/architecture.md).
//!
//! A text id's *bucket* is a fixed hash of its bytes ([`text_hash`]) modulo
//! [`BUCKETS`], the same at any worker count. Bucket `b` is owned by worker
//! `b % peers`: that worker alone holds the texts of the bucket and hands out
//! their internal ids, `counter * BUCKETS + b` (a counter per bucket), so an
//! internal id names its bucket, hence its owner and its output part, without
//! any lookup. Ids stay below about `BUCKETS * (users / BUCKETS + a few
//! standard deviations)`: dense enough for `u32` up to ~3.5G users.
//!
//! The dataflow sees only internal ids; rows leave it through the owners
//! (see `engine::translate`), and every order by user id is then byte order.

use std::collections::HashMap;
use std::rc::Rc;

use serde::{Deserialize, Serialize};

/// Buckets of text ids: fixed, so that owners and parts follow from an id.
pub const BUCKETS: u64 = 4096;

/// Integer user ids below this are their own internal id; ids at or above
/// it are numbered by the dictionary from here up (to `u32::MAX`).
pub const DIRECT: u64 = 1 << 31;

/// The internal id of a dictionary id: `DIRECT` up for wide integer ids,
/// as it is for text ids. Panics past `u32`: four billion distinct ids.
pub fn internal(dictionary_id: u64, mode: IdMode) -> u32 {
    let id = match mode {
        IdMode::Integer => DIRECT + dictionary_id,
        IdMode::Text => dictionary_id,
    };
    u32::try_from(id).expect("more distinct user ids than 32-bit internal ids hold")
}

/// The dictionary id of an internal id that has one (`None`: an integer id
/// used as it is).
pub fn dictionary_id(internal: u32, mode: IdMode) -> Option<u64> {
    match mode {
        IdMode::Text => Some(u64::from(internal)),
        IdMode::Integer => u64::from(internal).checked_sub(DIRECT),
    }
}

/// The output part of a user's rows, from its internal id: integer ids
/// used as they are by the hash of the id (as always), ids of the
/// dictionary by their bucket, never by the worker count.
pub fn user_part(internal: u32, mode: IdMode, parts: usize) -> u64 {
    match dictionary_id(internal, mode) {
        None => crate::hash::mix(u64::from(internal)) % parts as u64,
        Some(id) => text_part(id, parts),
    }
}

thread_local! {
    /// Whether this worker (thread) refuses integer ids of [`DIRECT`] and above.
    static WIDE_REFUSED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Makes this worker (thread) refuse integer ids of 2^31 and above as bad
/// lines (`on`), or accept them. The shuffle test orders each topic's
/// adopters by internal id, which is the id's order only below 2^31.
pub fn refuse_wide(on: bool) {
    WIDE_REFUSED.with(|refused| refused.set(on));
}

/// Why integer id `id` is refused on this worker, if it is.
pub fn wide_refusal(id: u64) -> Option<String> {
    (id >= DIRECT && WIDE_REFUSED.with(|refused| refused.get())).then(|| {
        format!(
            "user id {id} is 2^31 or above: the shuffle test (shuffle_rounds > 0) takes \
             integer ids below {DIRECT} only (set shuffle_rounds = 0 to run without it)"
        )
    })
}

/// The output part of an integer user id's rows, from the id as read: the
/// same part [`user_part`] gives its internal id.
pub fn integer_part(id: u64, parts: usize) -> u64 {
    match id < DIRECT {
        true => crate::hash::mix(id) % parts as u64,
        false => bucket_of_text(id.to_string().as_bytes()) % parts as u64,
    }
}

/// The longest text id, in bytes.
pub const MAX_TEXT_ID: usize = 256;

/// How the inputs' user ids are read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum IdMode {
    /// Unsigned 64-bit integers, used as the internal ids.
    #[default]
    Integer,
    /// Text compared byte for byte, through the dictionary.
    Text,
}

impl IdMode {
    /// The name in job files and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            IdMode::Integer => "integer",
            IdMode::Text => "text",
        }
    }
}

/// A fixed 64-bit hash of a text id's bytes (FNV-1a, then a finaliser that
/// spreads the low bits): the same on every machine, version and worker count.
pub fn text_hash(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

/// The bucket of a text id.
pub fn bucket_of_text(bytes: &[u8]) -> u64 {
    text_hash(bytes) % BUCKETS
}

/// The bucket of an internal id handed out for a text.
pub fn bucket_of_id(id: u64) -> u64 {
    id % BUCKETS
}

/// The worker that owns a bucket.
pub fn owner(bucket: u64, peers: usize) -> usize {
    (bucket % peers as u64) as usize
}

/// The output part of a text user's rows: from its bucket, so from the hash
/// of its bytes, never from the worker count.
pub fn text_part(id: u64, parts: usize) -> u64 {
    bucket_of_id(id) % parts as u64
}

/// Checks a text id field: non-empty, at most [`MAX_TEXT_ID`] bytes, and
/// (when it was not quoted) free of separators.
pub fn check_text_id(field: &str, quoted: bool) -> Result<(), String> {
    check_text_field(field, quoted, "user id", "text id")
}

/// Checks a text field by the rules of text ids ([`check_text_id`]), naming
/// it `what` in messages (`"customer id"`) and its kind `kind` (`"text id"`).
pub fn check_text_field(field: &str, quoted: bool, what: &str, kind: &str) -> Result<(), String> {
    if field.is_empty() {
        return Err(format!("empty {what}: a {kind} needs at least one byte"));
    }
    if field.len() > MAX_TEXT_ID {
        let head: String = field.chars().take(24).collect();
        return Err(format!(
            "{what} \"{head}...\" is {} bytes long: {kind}s are at most {MAX_TEXT_ID} bytes",
            field.len()
        ));
    }
    if !quoted {
        if let Some(c) = field.chars().find(|c| matches!(c, ',' | '\t' | ' ')) {
            let name = match c {
                ',' => "a comma",
                '\t' => "a tab",
                _ => "a space",
            };
            return Err(format!(
                "{what} \"{field}\" holds {name} unquoted: quote it (\"...\") in a comma-separated file"
            ));
        }
    }
    Ok(())
}

/// The names a text-id file's header may start with (any case).
pub const HEADER_FIRST: [&str; 9] = [
    "src",
    "source",
    "from",
    "user",
    "user_id",
    "account",
    "account_id",
    "node",
    "id",
];

/// Whether a first field opens a header line of a text-id file.
pub fn opens_header(first: &str) -> bool {
    HEADER_FIRST
        .iter()
        .any(|name| name.eq_ignore_ascii_case(first))
}

/// A fast hasher for text keys in a worker's own maps (8 bytes a step;
/// not the fixed [`text_hash`], which decides owners and parts).
#[derive(Clone, Copy, Debug, Default)]
pub struct TextHasher(u64);

impl std::hash::Hasher for TextHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let word = u64::from_le_bytes(chunk.try_into().expect("8 bytes"));
            self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x517c_c1b7_2722_0a95);
        }
        let mut tail = [0u8; 8];
        let rest = chunks.remainder();
        tail[..rest.len()].copy_from_slice(rest);
        let word = u64::from_le_bytes(tail) ^ (rest.len() as u64) << 59;
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
    fn write_u8(&mut self, byte: u8) {
        self.0 = (self.0.rotate_left(5) ^ u64::from(byte)).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
    fn finish(&self) -> u64 {
        let x = self.0;
        (x ^ (x >> 29)).wrapping_mul(0xbf58_476d_1ce4_e5b9) ^ (x >> 32)
    }
}

/// A hash map keyed by text, with [`TextHasher`].
pub type TextMap<V> = HashMap<Rc<str>, V, std::hash::BuildHasherDefault<TextHasher>>;

/// One worker's part of the dictionary: the texts of the buckets it owns,
/// with their internal ids both ways.
#[derive(Debug, Default)]
pub struct Dictionary {
    ids: TextMap<u64>,
    texts: HashMap<u64, Rc<str>>,
    /// The next counter of each bucket that holds texts here.
    next: HashMap<u64, u64>,
}

impl Dictionary {
    /// The internal id of `text`, handing out the next one of its bucket if
    /// it has none. The caller owns `text`'s bucket.
    pub fn intern(&mut self, text: &str) -> u64 {
        if let Some(&id) = self.ids.get(text) {
            return id;
        }
        let bucket = bucket_of_text(text.as_bytes());
        let counter = self.next.entry(bucket).or_insert(0);
        let id = *counter * BUCKETS + bucket;
        *counter += 1;
        let text: Rc<str> = Rc::from(text);
        self.ids.insert(Rc::clone(&text), id);
        self.texts.insert(id, text);
        id
    }

    /// Adds an entry read back from a checkpoint.
    pub fn restore(&mut self, id: u64, text: &str) {
        let counter = self.next.entry(bucket_of_id(id)).or_insert(0);
        *counter = (*counter).max(id / BUCKETS + 1);
        let text: Rc<str> = Rc::from(text);
        self.ids.insert(Rc::clone(&text), id);
        self.texts.insert(id, text);
    }

    /// The text of an internal id this worker owns.
    pub fn text(&self, id: u64) -> Option<&str> {
        self.texts.get(&id).map(|t| &**t)
    }

    /// Texts held here.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether nothing is held here.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Every entry, by id (for the checkpoint).
    pub fn entries(&self) -> Vec<(u64, String)> {
        let mut entries: Vec<(u64, String)> = self
            .texts
            .iter()
            .map(|(id, text)| (*id, text.to_string()))
            .collect();
        entries.sort_unstable();
        entries
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hash_is_fixed() {
        // Pinned: a changed hash would move rows between parts.
        assert_eq!(text_hash(b""), text_hash(b""));
        assert_ne!(text_hash(b"a"), text_hash(b"b"));
        assert_eq!(bucket_of_text(b"alice"), text_hash(b"alice") % BUCKETS);
        assert_eq!(text_hash(b"alice"), 0x3507_d047_a67c_08f4);
    }

    #[test]
    fn ids_name_their_bucket_and_are_dense() {
        let mut dictionary = Dictionary::default();
        let texts: Vec<String> = (0..20_000).map(|i| format!("u{i}")).collect();
        let ids: Vec<u64> = texts.iter().map(|t| dictionary.intern(t)).collect();
        for (text, &id) in texts.iter().zip(&ids) {
            assert_eq!(bucket_of_id(id), bucket_of_text(text.as_bytes()));
            assert_eq!(dictionary.intern(text), id, "interned once");
            assert_eq!(dictionary.text(id), Some(text.as_str()));
        }
        let mut sorted = ids.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), ids.len(), "distinct");
        // 20,000 texts in 4096 buckets: about 5 a bucket.
        assert!(*sorted.last().unwrap() < 20 * BUCKETS, "dense: {sorted:?}");
    }

    #[test]
    fn restored_entries_continue_their_buckets() {
        let mut first = Dictionary::default();
        let a = first.intern("a");
        let mut second = Dictionary::default();
        for (id, text) in first.entries() {
            second.restore(id, &text);
        }
        assert_eq!(second.intern("a"), a);
        let b = second.intern("b");
        assert_ne!(a, b);
        assert_eq!(first.intern("b"), b, "the same next id either way");
    }

    #[test]
    fn text_ids_are_checked() {
        assert!(check_text_id("alice", false).is_ok());
        assert!(check_text_id("a,b", true).is_ok());
        assert!(check_text_id("", true).unwrap_err().contains("empty"));
        assert!(check_text_id("a b", false).unwrap_err().contains("a space"));
        assert!(check_text_id("a,b", false).unwrap_err().contains("a comma"));
        let long = "x".repeat(MAX_TEXT_ID + 1);
        assert!(check_text_id(&long, true)
            .unwrap_err()
            .contains("257 bytes"));
        assert!(check_text_id(&"x".repeat(MAX_TEXT_ID), false).is_ok());
        assert!(opens_header("User_ID") && opens_header("SRC") && !opens_header("dst"));
    }
}
