//! Tables leave the dataflow here: each table's updates are sent to the
//! worker that writes the row's part file and captured there, as the rows
//! that stood at the last compaction plus the updates since; `write.rs`
//! writes them out.

use std::cell::RefCell;
use std::rc::Rc;

use timely::container::CapacityContainerBuilder;
use timely::dataflow::channels::pact::Exchange;
use timely::dataflow::operators::probe::Handle as Probe;
use timely::dataflow::operators::{Operator, Probe as _};

use crate::dataflow::{Coll, Diff, Time};
use crate::output::table::Change;
use crate::tables::{
    BenchmarkRow, CustomerRow, DegreeRow, LeaderRow, TopicRow, TopicSignificanceRow, UserRow,
    UserTopicRow, ValueMatrixRow,
};

/// A table as captured at one worker: its rows as they stood at the last
/// [`compact`] (sorted, each once, without times or diffs, in a vector of
/// exactly their number), and the updates that arrived since.
pub struct Table<R> {
    rows: Vec<R>,
    updates: Vec<(R, Time, Diff)>,
}

impl<R> Table<R> {
    /// The rows as of the last compaction (after a write: the table written).
    pub fn rows(&self) -> &[R] {
        &self.rows
    }
    /// The updates captured since the last compaction.
    pub fn updates(&self) -> &[(R, Time, Diff)] {
        &self.updates
    }
}

/// A table captured at one worker.
pub type Captured<R> = Rc<RefCell<Table<R>>>;

/// Sends a table's updates to the worker that writes each row's part, and
/// captures them there.
pub fn capture<'s, R>(
    table: Coll<'s, R>,
    part_of: impl Fn(&R) -> u64 + 'static,
    probe: &Probe<Time>,
) -> Captured<R>
where
    R: differential_dataflow::ExchangeData,
{
    let captured: Captured<R> = Rc::new(RefCell::new(Table {
        rows: Vec::new(),
        updates: Vec::new(),
    }));
    let sink = Rc::clone(&captured);
    // Updates are moved into `sink` as they arrive; the operator's output
    // carries no data, only progress, so the probe behind it passes a time
    // once every update of that time is in `sink`.
    table
        .inner
        .unary::<CapacityContainerBuilder<Vec<(R, Time, Diff)>>, _, _, _>(
            Exchange::new(move |(row, _, _): &(R, Time, Diff)| part_of(row)),
            "ToWriter",
            |_, _| {
                move |input, _output| {
                    input.for_each_stamp(|_capability, data| {
                        let mut sink = sink.borrow_mut();
                        for batch in data {
                            sink.updates.append(batch);
                        }
                    });
                }
            },
        )
        .probe_with(probe);
    captured
}

/// The captured tables of one worker.
pub struct Captures {
    /// `users`.
    pub users: Captured<UserRow>,
    /// `user_topics`.
    pub user_topics: Captured<UserTopicRow>,
    /// `topic_leaders`.
    pub topic_leaders: Captured<LeaderRow>,
    /// `degree_distribution`.
    pub degrees: Captured<DegreeRow>,
    /// `topics`.
    pub topics: Captured<TopicRow>,
    /// Only with `shuffle_rounds > 0`.
    pub topic_significance: Option<Captured<TopicSignificanceRow>>,
    /// Only with customer inputs.
    pub customers: Option<CustomerCaptures>,
}

/// The captured customer tables of one worker.
pub struct CustomerCaptures {
    /// `customers`, partitioned by the customer id's text.
    pub customers: Captured<CustomerRow>,
    /// `value_matrix`.
    pub value_matrix: Captured<ValueMatrixRow>,
    /// `benchmark`.
    pub benchmark: Captured<BenchmarkRow>,
}

/// Brings a table's rows up to date with the updates captured since the
/// last call, and forgets those updates (their feeds are written first).
pub(super) fn compact<R: Ord + Clone + std::fmt::Debug>(captured: &Captured<R>) {
    let mut table = captured.borrow_mut();
    if table.updates.is_empty() {
        return;
    }
    let mut updates = std::mem::take(&mut table.updates);
    for update in updates.iter_mut() {
        update.1 = 0;
    }
    differential_dataflow::consolidation::consolidate_updates(&mut updates);
    let count = table.rows.len() as i64 + updates.iter().map(|u| i64::from(u.2)).sum::<i64>();
    let mut rows = Vec::with_capacity(usize::try_from(count).unwrap_or(0));
    let mut present = std::mem::take(&mut table.rows).into_iter().peekable();
    for (row, _, diff) in updates {
        while let Some(earlier) = present.next_if(|r| *r < row) {
            rows.push(earlier);
        }
        let before = i64::from(present.next_if(|r| *r == row).is_some());
        match before + i64::from(diff) {
            0 => {}
            1 => rows.push(row),
            n => panic!("a table row with multiplicity {n}: {row:?}"),
        }
    }
    rows.extend(present);
    table.rows = rows;
}

/// The rows of a table now (the captured state is left as it is).
pub fn final_rows<R: Ord + Clone + std::fmt::Debug>(captured: &Captured<R>) -> Vec<R> {
    let table = captured.borrow();
    let mut updates: Vec<(R, Time, Diff)> = table
        .rows
        .iter()
        .map(|row| (row.clone(), 0, 1))
        .chain(
            table
                .updates
                .iter()
                .map(|(row, _, diff)| (row.clone(), 0, *diff)),
        )
        .collect();
    differential_dataflow::consolidation::consolidate_updates(&mut updates);
    updates
        .into_iter()
        .map(|(row, _time, diff)| {
            assert_eq!(diff, 1, "a table row with multiplicity {diff}: {row:?}");
            row
        })
        .collect()
}

/// A table's change feed at `time`: rows that left (`-`) and arrived (`+`).
pub(super) fn changes_at<R: Ord + Clone + std::fmt::Debug>(
    captured: &Captured<R>,
    time: Time,
) -> Vec<Change<R>> {
    let mut updates: Vec<(R, Time, Diff)> = captured
        .borrow()
        .updates
        .iter()
        .filter(|(_, t, _)| *t == time)
        .cloned()
        .collect();
    differential_dataflow::consolidation::consolidate_updates(&mut updates);
    updates
        .into_iter()
        .map(|(row, _, diff)| {
            assert!(
                diff == 1 || diff == -1,
                "a change with multiplicity {diff}: {row:?}"
            );
            Change {
                op: if diff > 0 { '+' } else { '-' },
                row,
            }
        })
        .collect()
}
