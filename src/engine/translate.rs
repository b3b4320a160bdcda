//! User ids of the dictionary on their way in and out (text ids, and
//! integer ids of 2^31 and above: [`crate::ids`]): every worker asks the
//! owners of the texts (or ids) it holds, through a small dataflow of its
//! own, and gets the answers back. No worker holds the whole dictionary:
//! each owns the buckets `b` with `b % peers == index`.
//!
//! - **in**: a worker reads its shares, numbers the distinct texts (or wide
//!   integers, [`Wide`]) it saw locally, and asks their owners for internal
//!   ids ([`to_internal`]); records then flow with internal ids;
//! - **out**: before writing, a worker asks the owners for the texts of the
//!   dictionary's ids in the rows it writes ([`to_text`]) and keeps them;
//! - **resume**: entries read back from a checkpoint go to their owners at
//!   the current worker count ([`redistribute`]).

use std::cell::RefCell;
use std::collections::HashMap;
use std::hash::BuildHasherDefault;
use std::rc::Rc;
use std::time::Duration;

use timely::dataflow::operators::vec::Map;
use timely::dataflow::operators::{Exchange, Input, Inspect, Probe as _};
use timely::worker::Worker;
use timely::ExchangeData;

use crate::dataflow::{Time, User};
use crate::ids::{self, Dictionary, IdMode, DIRECT};
use crate::input::lines::Sep;
use crate::input::records::UserId;

/// A worker's part of the dictionary, shared with the operators that need
/// texts (the leaders' tie-break).
pub type Shared = Rc<RefCell<Dictionary>>;

/// How a run's user ids are read, and this worker's part of their dictionary.
#[derive(Clone, Debug)]
pub struct UserIds {
    /// Integer or text.
    pub mode: IdMode,
    /// This worker's part of the dictionary (wide integer ids or text ids).
    pub dictionary: Shared,
}

impl UserIds {
    /// An empty dictionary for ids of `mode`.
    pub fn new(mode: IdMode) -> UserIds {
        UserIds {
            mode,
            dictionary: Shared::default(),
        }
    }

    /// The internal ids of user ids given as read (integer ids checked as
    /// such already), in order. Every worker calls it.
    pub fn to_internal(&self, worker: &mut Worker, given: Vec<String>) -> Vec<User> {
        match self.mode {
            IdMode::Text => to_internal(worker, &self.dictionary, given)
                .into_iter()
                .map(|id| ids::internal(id, IdMode::Text))
                .collect(),
            IdMode::Integer => {
                let integers: Vec<u64> = given
                    .iter()
                    .map(|id| id.parse().expect("an integer user id, checked when read"))
                    .collect();
                // A table of its own: the thread's may hold a read's stand-ins still.
                let mut local = Wide::default();
                let users: Vec<User> = integers.iter().map(|&id| local.number(id)).collect();
                let wide = local.translate(worker, &self.dictionary);
                users.into_iter().map(|u| wide_final(u, &wide)).collect()
            }
        }
    }

    /// The texts of `users` that have a dictionary entry (every text id;
    /// integer ids of 2^31 and above), from their owners. Every worker calls it.
    pub fn texts(&self, worker: &mut Worker, users: Vec<User>) -> Vec<(User, String)> {
        let mode = self.mode;
        let wanted = users
            .into_iter()
            .filter_map(|user| ids::dictionary_id(user, mode))
            .collect();
        to_text(worker, &self.dictionary, wanted)
            .into_iter()
            .map(|(id, text)| (ids::internal(id, mode), text))
            .collect()
    }
}

/// Sends each request to worker `route(request) % peers`, where `answer`
/// turns it into a reply, and returns this worker's replies (in no order).
/// Every worker must call it at the same point (it builds a dataflow).
fn round_trip<Q, A>(
    worker: &mut Worker,
    requests: Vec<Q>,
    route: impl Fn(&Q) -> u64 + 'static,
    mut answer: impl FnMut(Q) -> A + 'static,
) -> Vec<A>
where
    Q: ExchangeData + Clone,
    A: ExchangeData + Clone,
{
    let replies: Rc<RefCell<Vec<A>>> = Rc::default();
    let sink = Rc::clone(&replies);
    let me = worker.index();
    let (mut input, probe) = worker.dataflow::<Time, _, _>(|scope| {
        let (input, requests) = scope.new_input::<Vec<(usize, Q)>>();
        let (probe, _) = requests
            .exchange(move |(_, request): &(usize, Q)| route(request))
            .map(move |(asker, request)| (asker, answer(request)))
            .exchange(|(asker, _): &(usize, A)| *asker as u64)
            .inspect(move |(_, reply): &(usize, A)| sink.borrow_mut().push(reply.clone()))
            .probe();
        (input, probe)
    });
    for request in requests {
        input.send((me, request));
    }
    drop(input);
    while !probe.done() {
        worker.step_or_park(Some(Duration::from_millis(20)));
    }
    let replies = std::mem::take(&mut *replies.borrow_mut());
    replies
}

/// Ids up to this many bytes are kept inline in [`LocalTexts`]' table, so
/// that a lookup that finds one touches only the table, never the heap.
const INLINE: usize = 31;

/// The distinct text ids a worker saw in its shares, numbered locally in
/// the order first seen; records hold these numbers until translated.
///
/// Short ids live in [`PARTS`] tables split by bits of their hash. The base's
/// friendships (90M ids per worker at 1M users, ~1M distinct) are numbered
/// in batches ([`LocalTexts::stage`]): an id waits in its table's buffer
/// with the place of its occurrence, and a full buffer is looked up at once
/// while that table (a `PARTS`-th of the ids) is in cache. Looked up one by
/// one, each id cost two cache misses in one table of ~1M 32-byte keys.
#[derive(Debug)]
pub struct LocalTexts {
    /// Ids of at most [`INLINE`] bytes, by part: length, then the bytes, zero-padded.
    short: Vec<HashMap<ShortKey, u32, BuildHasherDefault<ids::TextHasher>>>,
    long: ids::TextMap<u32>,
    texts: Vec<Rc<str>>,
    /// The two short ids numbered last: lines sorted by their first id
    /// repeat it, and a hit here saves a miss in the table.
    recent: [(ShortKey, u32); 2],
    /// Staged ids by part, each with its occurrence.
    staged: Vec<Vec<(ShortKey, u32)>>,
    /// Each staged occurrence's number, once its buffer has been looked up.
    resolved: Vec<u32>,
}

/// A short id as a table key: its length, then its bytes, zero-padded.
type ShortKey = [u8; INLINE + 1];

/// How many tables the short ids are split over.
const PARTS: usize = 256;

/// Staged ids a part's buffer holds before they are looked up together.
const STAGED: usize = 4096;

impl Default for LocalTexts {
    fn default() -> Self {
        LocalTexts {
            short: (0..PARTS).map(|_| HashMap::default()).collect(),
            long: Default::default(),
            texts: Vec::new(),
            recent: Default::default(),
            staged: (0..PARTS).map(|_| Vec::new()).collect(),
            resolved: Vec::new(),
        }
    }
}

impl LocalTexts {
    fn short_key(text: &str) -> ShortKey {
        let mut key = [0u8; INLINE + 1];
        key[0] = text.len() as u8;
        key[1..=text.len()].copy_from_slice(text.as_bytes());
        key
    }

    fn part(key: &ShortKey) -> usize {
        use std::hash::BuildHasher;
        // Bits the tables do not use: they place keys by the low bits and tag
        // them with the top seven.
        (BuildHasherDefault::<ids::TextHasher>::default().hash_one(key) >> 32) as usize % PARTS
    }

    fn number_short(&mut self, key: ShortKey, part: usize) -> u32 {
        let n = self.texts.len() as u32;
        let number = *self.short[part].entry(key).or_insert(n);
        if number == n {
            let len = usize::from(key[0]);
            let text = std::str::from_utf8(&key[1..=len]).expect("a key holds a whole str");
            self.texts.push(Rc::from(text));
        }
        number
    }

    /// The local number of `text` (copied only the first time it is seen).
    pub fn number(&mut self, text: &str) -> u32 {
        if text.len() <= INLINE {
            let key = Self::short_key(text);
            if let Some((_, number)) = self.recent.iter().find(|(k, _)| *k == key) {
                return *number;
            }
            let number = self.number_short(key, Self::part(&key));
            self.recent = [self.recent[1], (key, number)];
            return number;
        }
        let n = self.texts.len() as u32;
        if let Some(&number) = self.long.get(text) {
            return number;
        }
        let text: Rc<str> = Rc::from(text);
        self.texts.push(Rc::clone(&text));
        self.long.insert(text, n);
        n
    }

    /// Stages `text` for numbering with its table's other staged ids, and
    /// returns its occurrence: [`LocalTexts::resolved`] gives its number
    /// after [`LocalTexts::settle`].
    pub fn stage(&mut self, text: &str) -> u32 {
        let occurrence = u32::try_from(self.resolved.len())
            .expect("a worker's share of the base holds under 2^32 user ids");
        if text.len() > INLINE {
            let number = self.number(text);
            self.resolved.push(number);
            return occurrence;
        }
        self.resolved.push(u32::MAX);
        let key = Self::short_key(text);
        let part = Self::part(&key);
        self.staged[part].push((key, occurrence));
        if self.staged[part].len() >= STAGED {
            self.look_up(part);
        }
        occurrence
    }

    /// Numbers one part's staged ids, in the order they were staged.
    fn look_up(&mut self, part: usize) {
        let staged = std::mem::take(&mut self.staged[part]);
        for &(key, occurrence) in &staged {
            self.resolved[occurrence as usize] = self.number_short(key, part);
        }
        // The buffer's allocation is reused.
        self.staged[part] = staged;
        self.staged[part].clear();
    }

    /// Numbers every staged id, and frees the buffers.
    pub fn settle(&mut self) {
        for part in 0..PARTS {
            self.look_up(part);
            self.staged[part] = Vec::new();
        }
    }

    /// The numbers of the staged occurrences, by occurrence (after
    /// [`LocalTexts::settle`]); the occurrences are forgotten.
    pub fn take_resolved(&mut self) -> Vec<u32> {
        std::mem::take(&mut self.resolved)
    }

    /// The internal ids of the texts by local number, from their owners
    /// (who hand out new ones for texts they have not seen).
    pub fn translate(self, worker: &mut Worker, dictionary: &Shared) -> Vec<u64> {
        drop((self.short, self.long));
        let texts = self.texts.iter().map(|t| t.to_string()).collect();
        drop(self.texts);
        to_internal(worker, dictionary, texts)
    }

    /// [`LocalTexts::translate`] for user ids: their internal ids.
    pub fn users(self, worker: &mut Worker, dictionary: &Shared) -> Vec<User> {
        self.translate(worker, dictionary)
            .into_iter()
            .map(|id| ids::internal(id, IdMode::Text))
            .collect()
    }
}

thread_local! {
    /// The texts numbered by [`Numbered`] ids as this worker (thread) parses.
    static NUMBERED: RefCell<LocalTexts> = RefCell::default();
}

/// A text user id, checked and numbered as it is parsed (in this worker's
/// [`LocalTexts`]), so that records carry a `u32` and no string.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Numbered(pub u32);

impl Numbered {
    /// The texts numbered on this thread since the last call.
    pub fn take() -> LocalTexts {
        NUMBERED.with(|local| std::mem::take(&mut *local.borrow_mut()))
    }

    fn of(text: &str) -> Numbered {
        Numbered(NUMBERED.with(|local| local.borrow_mut().number(text)))
    }
}

impl UserId for Numbered {
    const NAMED_HEADER: bool = true;
    fn parse_user(field: &str, quoted: bool) -> Result<Self, String> {
        ids::check_text_id(field, quoted)?;
        Ok(Numbered::of(field))
    }
    fn clean_pair(line: &str, sep: Sep) -> Option<(Self, Self)> {
        clean_text_pair(line, sep).map(|(a, b)| (Numbered::of(a), Numbered::of(b)))
    }
}

/// A line without quotes that splits into two valid text ids, split as the
/// general path splits it (anything else takes that path).
fn clean_text_pair(line: &str, sep: Sep) -> Option<(&str, &str)> {
    let (a, b) = match sep {
        Sep::Spaces => {
            let mut fields = line.split_ascii_whitespace();
            let pair = (fields.next()?, fields.next()?);
            fields.next().is_none().then_some(pair)?
        }
        Sep::Comma | Sep::Tab => {
            let c = if sep == Sep::Comma { b',' } else { b'\t' };
            if line.contains('"') && sep == Sep::Comma {
                return None;
            }
            let i = memchr::memchr(c, line.as_bytes())?;
            let (a, b) = (&line[..i], &line[i + 1..]);
            if memchr::memchr(c, b.as_bytes()).is_some() {
                return None;
            }
            (a.trim(), b.trim())
        }
    };
    (ids::check_text_id(a, false).is_ok() && ids::check_text_id(b, false).is_ok()).then_some((a, b))
}

/// A text user id, checked and staged as it is parsed (in this worker's
/// [`LocalTexts`], with [`Numbered`]'s numbers): records carry its
/// occurrence until [`Staged::numbers`] says the numbers of all of them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Staged(pub u32);

impl Staged {
    fn of(text: &str) -> Staged {
        Staged(NUMBERED.with(|local| local.borrow_mut().stage(text)))
    }

    /// The numbers of the occurrences staged on this thread since the last
    /// call, by occurrence.
    pub fn numbers() -> Vec<u32> {
        NUMBERED.with(|local| {
            let mut local = local.borrow_mut();
            local.settle();
            local.take_resolved()
        })
    }
}

impl UserId for Staged {
    const NAMED_HEADER: bool = true;
    fn parse_user(field: &str, quoted: bool) -> Result<Self, String> {
        ids::check_text_id(field, quoted)?;
        Ok(Staged::of(field))
    }
    fn clean_pair(line: &str, sep: Sep) -> Option<(Self, Self)> {
        clean_text_pair(line, sep).map(|(a, b)| (Staged::of(a), Staged::of(b)))
    }
}

thread_local! {
    /// The wide integer ids numbered by [`Wide::user`] on this worker (thread).
    static WIDE: RefCell<Wide> = RefCell::default();
}

/// The integer ids of [`DIRECT`] and above a worker saw while parsing,
/// numbered locally: until [`Wide::translate`], a record holds `DIRECT +`
/// that number in their place (an id below `DIRECT` is final at once).
#[derive(Debug, Default)]
pub struct Wide {
    numbers: HashMap<u64, u32>,
    values: Vec<u64>,
}

impl Wide {
    /// The internal id of integer id `id`, or a stand-in for it (numbered
    /// on this thread) when it goes through the dictionary.
    pub fn user(id: u64) -> User {
        if id < DIRECT {
            return id as User;
        }
        WIDE.with(|wide| wide.borrow_mut().number(id))
    }

    /// [`Wide::user`] in this table rather than the thread's.
    fn number(&mut self, id: u64) -> User {
        if id < DIRECT {
            return id as User;
        }
        let next = self.values.len() as u32;
        let number = *self.numbers.entry(id).or_insert(next);
        if number == next {
            self.values.push(id);
        }
        // `DIRECT + number` fits: a worker's share holds under 2^31 distinct ids.
        DIRECT as User + number
    }

    /// The wide ids numbered on this thread since the last call.
    pub fn take() -> Wide {
        WIDE.with(|wide| std::mem::take(&mut *wide.borrow_mut()))
    }

    /// The internal ids of the numbered ids, by number, from their owners.
    /// Every worker calls it (with or without wide ids of its own).
    pub fn translate(self, worker: &mut Worker, dictionary: &Shared) -> Vec<User> {
        let texts = self.values.iter().map(u64::to_string).collect();
        to_internal(worker, dictionary, texts)
            .into_iter()
            .map(|id| ids::internal(id, IdMode::Integer))
            .collect()
    }
}

/// A record's user after [`Wide::translate`] (`ids`): a stand-in replaced,
/// an id below `DIRECT` kept.
pub fn wide_final(user: User, ids: &[User]) -> User {
    match u64::from(user).checked_sub(DIRECT) {
        Some(number) => ids[number as usize],
        None => user,
    }
}

/// The internal ids of `texts`, in order, from their owners.
pub fn to_internal(worker: &mut Worker, dictionary: &Shared, texts: Vec<String>) -> Vec<u64> {
    let owned = Rc::clone(dictionary);
    let requests: Vec<(u32, String)> = texts
        .into_iter()
        .enumerate()
        .map(|(i, text)| (i as u32, text))
        .collect();
    let n = requests.len();
    let replies = round_trip(
        worker,
        requests,
        |(_, text): &(u32, String)| ids::bucket_of_text(text.as_bytes()),
        move |(i, text): (u32, String)| (i, owned.borrow_mut().intern(&text)),
    );
    let mut out = vec![0; n];
    for (i, id) in replies {
        out[i as usize] = id;
    }
    out
}

/// The texts of `wanted` internal ids, from their owners.
pub fn to_text(worker: &mut Worker, dictionary: &Shared, wanted: Vec<u64>) -> Vec<(u64, String)> {
    let owned = Rc::clone(dictionary);
    round_trip(
        worker,
        wanted,
        |id: &u64| ids::bucket_of_id(*id),
        move |id: u64| {
            let text = owned
                .borrow()
                .text(id)
                .expect("every internal id has its text at its owner")
                .to_string();
            (id, text)
        },
    )
}

/// Sends checkpoint entries to their owners at this worker count.
pub fn redistribute(worker: &mut Worker, dictionary: &Shared, entries: Vec<(u64, String)>) {
    let owned = Rc::clone(dictionary);
    round_trip(
        worker,
        entries,
        |(id, _): &(u64, String)| ids::bucket_of_id(*id),
        move |(id, text): (u64, String)| owned.borrow_mut().restore(id, &text),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::SplitMix64;

    /// Staged ids get the numbers that numbering them one by one would mean:
    /// one number per distinct text, naming that text, shared with ids
    /// numbered directly; over enough ids that buffers fill many times, and
    /// with long ids (past the inline bound) among them.
    #[test]
    fn staged_ids_are_numbered_as_texts() {
        let mut random = SplitMix64(5);
        let mut local = LocalTexts::default();
        let direct = local.number("alice");
        // Ids of part 0, which fill its buffer three times over.
        let first_part: Vec<String> = (0..20_000)
            .map(|i| format!("user-{i}"))
            .filter(|t| LocalTexts::part(&LocalTexts::short_key(t)) == 0)
            .collect();
        assert!(first_part.len() > 10);
        let mut given = Vec::new();
        for i in 0..3 * STAGED + 100 {
            let text = match random.below(50) {
                0 => "alice".to_string(),
                1 => format!("a long id that does not fit inline {}", random.below(9)),
                _ => format!("user-{}", random.below(20_000)),
            };
            for text in [text, first_part[i % first_part.len()].clone()] {
                let occurrence = local.stage(&text);
                given.push((occurrence, text));
            }
        }
        local.settle();
        let numbers = local.take_resolved();
        assert_eq!(numbers.len(), given.len());
        let mut seen: HashMap<u32, &str> = HashMap::new();
        for (occurrence, text) in &given {
            let number = numbers[*occurrence as usize];
            assert_eq!(&*local.texts[number as usize], text.as_str());
            assert_eq!(*seen.entry(number).or_insert(text), text.as_str());
        }
        assert_eq!(
            numbers[given.iter().position(|(_, t)| t == "alice").unwrap()],
            direct
        );
        let distinct: std::collections::HashSet<&String> = given.iter().map(|(_, t)| t).collect();
        assert_eq!(
            local.texts.len(),
            distinct.len() + usize::from(!distinct.contains(&"alice".to_string()))
        );
    }
}
