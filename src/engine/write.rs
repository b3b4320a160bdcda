//! After an epoch each worker writes the tables it captured
//! (`capture.rs`) as they stand, and each night's change feed, partitioned
//! like the table.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::path::Path;

use super::capture::{changes_at, compact, Captured, Captures};
use crate::dataflow::{Time, User};
use crate::ids::{self, IdMode};
use crate::output::layout::{self, tables as name};
use crate::output::table::{Cell, ColType, Column};
use crate::output::{self, table::Change, table::Row, Format};
use crate::tables::{CustomerRow, LeaderRow, UserRow, UserTopicRow};

/// Where and how one worker writes: the staging directory, the table
/// format, the part count of large tables, and (worker index, peers).
pub struct Out<'a> {
    /// The staging directory.
    pub dir: &'a Path,
    /// CSV or Parquet.
    pub format: Format,
    /// Part files of the large tables.
    pub parts: usize,
    /// (worker index, peers).
    pub me: (usize, usize),
    /// The user ids' kind, and the texts of the dictionary's users in this
    /// worker's rows.
    pub ids: (IdMode, &'a Texts),
}

/// Texts of internal user ids (those of the dictionary).
pub type Texts = HashMap<User, String>;

/// A row whose user id column holds a user's text.
struct Named<'a, R> {
    text: &'a str,
    row: R,
}

impl<R: Row> Row for Named<'_, R> {
    fn columns() -> Vec<Column> {
        // `U64` is the type of user ids, and of nothing else.
        let mut columns = R::columns();
        for column in &mut columns {
            if column.ty == ColType::U64 {
                column.ty = ColType::Str;
            }
        }
        columns
    }
    fn cells<'a>(&'a self, out: &mut Vec<Cell<'a>>) {
        let start = out.len();
        self.row.cells(out);
        for cell in &mut out[start..] {
            if let Cell::U64(_) = cell {
                *cell = Cell::Str(self.text);
            }
        }
    }
}

/// Rows that carry one user id.
pub trait UserOf: Ord {
    /// The row's user id (internal in the dataflow's rows).
    fn user_id(&self) -> u64;
    /// The row's user, internal.
    fn user_of(&self) -> User {
        self.user_id() as User
    }
    /// The row order with the user's text in place of its id (`text`,
    /// `other_text`: the users' texts). Default: the user first, as in
    /// `users` and `user_topics`.
    fn cmp_named(&self, text: &str, other: &Self, other_text: &str) -> Ordering {
        text.cmp(other_text).then_with(|| self.cmp(other))
    }
}

impl UserOf for UserRow {
    fn user_id(&self) -> u64 {
        self.user_id
    }
}
impl UserOf for UserTopicRow {
    fn user_id(&self) -> u64 {
        self.user_id
    }
}
impl UserOf for LeaderRow {
    fn user_id(&self) -> u64 {
        self.user_id
    }
    fn cmp_named(&self, text: &str, other: &Self, other_text: &str) -> Ordering {
        (&self.topic, self.rank, text)
            .cmp(&(&other.topic, other.rank, other_text))
            .then_with(|| self.cmp(other))
    }
}
impl<R: UserOf> UserOf for Change<R> {
    fn user_id(&self) -> u64 {
        self.row.user_id()
    }
    fn cmp_named(&self, text: &str, other: &Self, other_text: &str) -> Ordering {
        self.row
            .cmp_named(text, &other.row, other_text)
            .then(self.op.cmp(&other.op))
    }
}
impl<R: UserOf> UserOf for &R {
    fn user_id(&self) -> u64 {
        (**self).user_id()
    }
    fn cmp_named(&self, text: &str, other: &Self, other_text: &str) -> Ordering {
        (**self).cmp_named(text, other, other_text)
    }
}

/// Rows whose user id can be replaced (by the id as read, at write time).
pub trait WithUser {
    /// The row with `user` in its user column.
    fn with_user(self, user: u64) -> Self;
}

macro_rules! with_user {
    ($($row:ty),*) => {$(
        impl WithUser for $row {
            fn with_user(self, user: u64) -> Self {
                Self { user_id: user, ..self }
            }
        }
    )*};
}
with_user!(UserRow, UserTopicRow, LeaderRow);

impl<R: WithUser> WithUser for Change<R> {
    fn with_user(self, user: u64) -> Self {
        Change {
            op: self.op,
            row: self.row.with_user(user),
        }
    }
}

/// The users of a worker's captured rows whose texts (in the dictionary) it
/// does not hold yet.
pub fn unknown_users(captures: &Captures, known: &Texts, mode: IdMode) -> Vec<User> {
    // Integer ids: only those of 2^31 and above, usually none (filtered as
    // they are read: every row of the tables passes here at every publish).
    let unknown =
        |user: &User| ids::dictionary_id(*user, mode).is_some() && !known.contains_key(user);
    let mut wanted: Vec<User> = Vec::new();
    let users = captures.users.borrow();
    let user_topics = captures.user_topics.borrow();
    let leaders = captures.topic_leaders.borrow();
    // Rows of the tables as they stood, and of the updates since.
    let users = users
        .rows()
        .iter()
        .chain(users.updates().iter().map(|u| &u.0));
    let topics = user_topics.rows().iter().map(UserOf::user_of);
    let topic_updates = user_topics.updates().iter().map(|u| u.0.user_of());
    let leaders = leaders
        .rows()
        .iter()
        .chain(leaders.updates().iter().map(|u| &u.0));
    wanted.extend(users.map(UserOf::user_of).filter(unknown));
    wanted.extend(topics.chain(topic_updates).filter(unknown));
    wanted.extend(leaders.map(UserOf::user_of).filter(unknown));
    wanted.sort_unstable();
    wanted.dedup();
    wanted
}

/// Rows with their users' texts, in the contract's order: as the rows'
/// own order, with each user's text compared (bytes) in place of its id.
fn named<'a, X: UserOf>(rows: &'a [X], texts: &'a Texts) -> Vec<Named<'a, &'a X>> {
    let mut named: Vec<Named<&X>> = rows
        .iter()
        .map(|row| Named {
            text: texts
                .get(&row.user_of())
                .map(String::as_str)
                .expect("the texts of every row's user were fetched"),
            row,
        })
        .collect();
    named.sort_by(|a, b| a.row.cmp_named(a.text, b.row, b.text));
    named
}

/// Writes a table of user rows and its feeds with texts in place of ids:
/// parts by the text's bucket, rows in the order of [`named`] within a part.
fn write_named<R: Row + UserOf + Ord + Clone + std::fmt::Debug>(
    out: &Out,
    texts: &Texts,
    (table, parts): (&str, usize),
    captured: &Captured<R>,
    feeds: &[Feed],
) -> Result<(String, u64), String> {
    let part_of = |user: User| match parts {
        1 => 0,
        _ => ids::text_part(u64::from(user), parts),
    };
    for (night, time) in feeds {
        let changes = changes_at(captured, *time);
        let rows = named(&changes, texts);
        let feed = layout::feed(night, table);
        write_table(out, &feed, parts, &rows, |n| part_of(n.row.user_of()))?;
    }
    compact(captured);
    let captured = captured.borrow();
    let rows: Vec<&R> = captured.rows().iter().collect();
    let rows = named(&rows, texts);
    let written = write_table(out, table, parts, &rows, |n| part_of(n.row.user_of()))?;
    Ok((table.to_string(), written))
}

/// The rows with the integer ids of their users as read, sorted: an id of
/// the dictionary (2^31 and above) from its text, any other as it is.
fn as_read<X: UserOf + WithUser>(rows: Vec<X>, texts: &Texts) -> Vec<X> {
    let mut renamed: Vec<X> = rows
        .into_iter()
        .map(|row| match texts.get(&row.user_of()) {
            Some(text) => row.with_user(text.parse().expect("an integer id's text")),
            None => row,
        })
        .collect();
    renamed.sort();
    renamed
}

/// Writes a table of user rows and its feeds with integer ids, when this
/// worker's rows hold ids of 2^31 and above: rows with the ids as read
/// ([`as_read`]), parts by [`ids::integer_part`] (the parts the rows were
/// captured for).
fn write_as_read<R: Row + UserOf + WithUser + Ord + Clone + std::fmt::Debug>(
    out: &Out,
    texts: &Texts,
    (table, parts): (&str, usize),
    captured: &Captured<R>,
    feeds: &[Feed],
) -> Result<(String, u64), String> {
    let part_of = |user: u64| match parts {
        1 => 0,
        _ => ids::integer_part(user, parts),
    };
    for (night, time) in feeds {
        let changes = as_read(changes_at(captured, *time), texts);
        let feed = layout::feed(night, table);
        write_table(out, &feed, parts, &changes, |c| part_of(c.user_id()))?;
    }
    compact(captured);
    // Compacted: each present row once; copied, as the captured rows keep
    // their internal ids for the next night.
    let rows: Vec<R> = captured.borrow().rows().to_vec();
    let rows = as_read(rows, texts);
    let written = write_table(out, table, parts, &rows, |r| part_of(r.user_id()))?;
    Ok((table.to_string(), written))
}

/// A night's change feed to write: the night's name and its time.
pub type Feed = (String, Time);

/// Writes a table's present parts and, for each feed, its change feed
/// (`changes/<night>/<table>/`), partitioned like the table.
fn write_with_changes<R: Row + Ord + Clone + std::fmt::Debug>(
    out: &Out,
    table: &str,
    parts: usize,
    captured: &Captured<R>,
    feeds: &[Feed],
    part_of: impl Fn(&R) -> u64,
) -> Result<(String, u64), String> {
    // The feeds first (they need the times), then the table as it stands,
    // written from the consolidated updates themselves: sorted in place
    // once, never copied.
    for (night, time) in feeds {
        let feed = layout::feed(night, table);
        // Consolidated, so in row order and one change per row.
        let changes = changes_at(captured, *time);
        let changes: Vec<&Change<R>> = changes.iter().collect();
        write_table(out, &feed, parts, &changes, |c: &&Change<R>| {
            part_of(&c.row)
        })?;
    }
    compact(captured);
    let captured = captured.borrow();
    let written = write_table(out, table, parts, captured.rows(), part_of)?;
    Ok((table.to_string(), written))
}

/// Writes this worker's parts of every table and feed; returns rows written per table.
pub fn write_parts(
    out: &Out,
    captures: &Captures,
    feeds: &[Feed],
) -> Result<Vec<(String, u64)>, String> {
    let parts = out.parts;
    let by_user = move |user: u64| ids::integer_part(user, parts);
    let mut written = match out.ids {
        (IdMode::Integer, texts) if texts.is_empty() => vec![
            write_with_changes(out, name::USERS, parts, &captures.users, feeds, |r| {
                by_user(r.user_id)
            })?,
            write_with_changes(
                out,
                name::USER_TOPICS,
                parts,
                &captures.user_topics,
                feeds,
                |r| by_user(r.user_id),
            )?,
            write_with_changes(
                out,
                name::TOPIC_LEADERS,
                1,
                &captures.topic_leaders,
                feeds,
                |_| 0,
            )?,
        ],
        (IdMode::Integer, texts) => vec![
            write_as_read(out, texts, (name::USERS, parts), &captures.users, feeds)?,
            write_as_read(
                out,
                texts,
                (name::USER_TOPICS, parts),
                &captures.user_topics,
                feeds,
            )?,
            write_as_read(
                out,
                texts,
                (name::TOPIC_LEADERS, 1),
                &captures.topic_leaders,
                feeds,
            )?,
        ],
        (IdMode::Text, texts) => vec![
            write_named(out, texts, (name::USERS, parts), &captures.users, feeds)?,
            write_named(
                out,
                texts,
                (name::USER_TOPICS, parts),
                &captures.user_topics,
                feeds,
            )?,
            write_named(
                out,
                texts,
                (name::TOPIC_LEADERS, 1),
                &captures.topic_leaders,
                feeds,
            )?,
        ],
    };
    written.extend([
        write_with_changes(
            out,
            name::DEGREE_DISTRIBUTION,
            1,
            &captures.degrees,
            feeds,
            |_| 0,
        )?,
        write_with_changes(out, name::TOPICS, 1, &captures.topics, feeds, |_| 0)?,
    ]);
    if let Some(captured) = &captures.topic_significance {
        written.push(write_with_changes(
            out,
            name::TOPIC_SIGNIFICANCE,
            1,
            captured,
            feeds,
            |_| 0,
        )?);
    }
    if let Some(c) = &captures.customers {
        let part = |row: &CustomerRow| match parts {
            1 => 0,
            _ => crate::ids::bucket_of_text(row.customer_id.as_bytes()) % parts as u64,
        };
        written.extend([
            write_with_changes(out, name::CUSTOMERS, parts, &c.customers, feeds, part)?,
            write_with_changes(out, name::VALUE_MATRIX, 1, &c.value_matrix, feeds, |_| 0)?,
            write_with_changes(out, name::BENCHMARK, 1, &c.benchmark, feeds, |_| 0)?,
        ]);
    }
    Ok(written)
}

/// Writes the parts `p` of a table with `p % peers == index`, from rows in
/// sorted order.
fn write_table<X: Row>(
    out: &Out,
    table: &str,
    parts: usize,
    rows: &[X],
    part_of: impl Fn(&X) -> u64,
) -> Result<u64, String> {
    let (index, peers) = out.me;
    let dir = out.dir.join(table);
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    // One pass puts the rows into their parts (in order, as they come).
    let mut by_part: Vec<Vec<&X>> = (0..parts).map(|_| Vec::new()).collect();
    for row in rows {
        by_part[part_of(row) as usize].push(row);
    }
    let mut written = 0;
    for part in (index..parts).step_by(peers) {
        let mine = &by_part[part];
        let path = dir.join(layout::part_file(part, out.format.extension()));
        output::write_table(&path, out.format, mine)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        written += mine.len() as u64;
    }
    Ok(written)
}
