//! Table schemas and rows: the one description of every output table that
//! the CSV and Parquet writers both read.
//!
//! A table is a list of typed [`Column`]s; a row hands its cells to a writer
//! in column order through [`Row::cells`]. Writers never know which table
//! they write, so a new table (or a change feed with its leading `op`
//! column) needs no writer changes.

/// The type of one output column, as readers (DuckDB, Spark, pandas) see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColType {
    /// Unsigned 64-bit integer (user ids). Parquet: INT64 annotated UINT_64.
    U64,
    /// Signed 64-bit integer (counts, ranks).
    I64,
    /// `true` / `false`.
    Bool,
    /// Double-precision decimal (credit, influence).
    F64,
    /// UTF-8 text (topics, tiers, the change-feed `op`).
    Str,
    /// A calendar day, stored as days since 1970-01-01 and written as ISO `YYYY-MM-DD` in CSV.
    Date,
}

/// One named, typed column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Column {
    /// The header name.
    pub name: &'static str,
    /// The value type.
    pub ty: ColType,
    /// A column that may hold [`Cell::Null`] (none): an empty cell in CSV,
    /// which readers take as NULL, and an OPTIONAL column in Parquet. In a
    /// nullable text column an empty text is none too (`top_topic`).
    pub nullable: bool,
}

/// Shorthand for building column lists in `const` context.
pub const fn col(name: &'static str, ty: ColType) -> Column {
    Column {
        name,
        ty,
        nullable: false,
    }
}

/// A column of type `ty` that may hold [`Cell::Null`]: empty in CSV, NULL
/// in Parquet.
pub const fn optional(name: &'static str, ty: ColType) -> Column {
    Column {
        name,
        ty,
        nullable: true,
    }
}

/// A text column that may be empty (none): NULL in Parquet, empty in CSV.
/// Its rows may lend an empty [`Cell::Str`] or a [`Cell::Null`] for none.
pub const fn optional_text(name: &'static str) -> Column {
    optional(name, ColType::Str)
}

/// One cell of a row, borrowed from the row.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Cell<'a> {
    /// See [`ColType::U64`].
    U64(u64),
    /// See [`ColType::I64`].
    I64(i64),
    /// See [`ColType::Bool`].
    Bool(bool),
    /// See [`ColType::F64`].
    F64(f64),
    /// See [`ColType::Str`].
    Str(&'a str),
    /// See [`ColType::Date`]: days since 1970-01-01.
    Date(i32),
    /// No value, in a column of any type that is [`Column::nullable`].
    Null,
}

impl<'a> Cell<'a> {
    /// `Null` for `None`, else the cell `some` makes of the value.
    pub fn or_null<T>(value: Option<T>, some: impl FnOnce(T) -> Cell<'a>) -> Cell<'a> {
        value.map_or(Cell::Null, some)
    }
}

/// A row of an output table.
pub trait Row {
    /// The table's columns, in order.
    fn columns() -> Vec<Column>;
    /// Pushes this row's cells, one per column and in column order.
    fn cells<'a>(&'a self, out: &mut Vec<Cell<'a>>);
}

/// A row of a change feed: the table's row behind a leading `op` column
/// (`-` for a row that left, `+` for a row that arrived). Ordered by row,
/// then op, so a feed sorts like its table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change<R> {
    /// `'+'` or `'-'`.
    pub op: char,
    /// The table row.
    pub row: R,
}

impl<R: Row> Row for Change<R> {
    fn columns() -> Vec<Column> {
        let mut columns = vec![col("op", ColType::Str)];
        columns.extend(R::columns());
        columns
    }
    fn cells<'a>(&'a self, out: &mut Vec<Cell<'a>>) {
        out.push(Cell::Str(if self.op == '-' { "-" } else { "+" }));
        self.row.cells(out);
    }
}

impl<R: Row> Row for &R {
    fn columns() -> Vec<Column> {
        R::columns()
    }
    fn cells<'a>(&'a self, out: &mut Vec<Cell<'a>>) {
        (**self).cells(out)
    }
}

impl<R: Ord> PartialOrd for Change<R> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl<R: Ord> Ord for Change<R> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.row.cmp(&other.row).then(self.op.cmp(&other.op))
    }
}
