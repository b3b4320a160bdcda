//! Agreement between workers between epochs: every worker's value on every
//! worker, through a small broadcast dataflow of its own. Workers use it to
//! take the same decision everywhere (read statistics and bad lines, topic
//! names, "written", serve's next step) in every process.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use timely::dataflow::operators::vec::Broadcast;
use timely::dataflow::operators::{Input, Inspect, Probe as _};
use timely::worker::Worker;

use crate::dataflow::Time;

/// Every worker's `value`, in worker order, on every worker: a small
/// dataflow of its own, used to agree between epochs. Idle workers park
/// instead of spinning while they wait (e.g. for `reach serve`'s next night).
pub fn gather<T: timely::ExchangeData + Clone>(worker: &mut Worker, value: T) -> Vec<T> {
    let seen: Rc<RefCell<Vec<(usize, T)>>> = Rc::new(RefCell::new(Vec::new()));
    let (mut input, probe) = worker.dataflow::<Time, _, _>(|scope| {
        let (input, values) = scope.new_input::<Vec<(usize, T)>>();
        let sink = Rc::clone(&seen);
        let (probe, _) = values
            .broadcast()
            .inspect(move |value: &(usize, T)| sink.borrow_mut().push(value.clone()))
            .probe();
        (input, probe)
    });
    input.send((worker.index(), value));
    drop(input);
    while !probe.done() {
        worker.step_or_park(Some(Duration::from_millis(50)));
    }
    let mut values = std::mem::take(&mut *seen.borrow_mut());
    values.sort_by_key(|(index, _)| *index);
    values.into_iter().map(|(_, value)| value).collect()
}

/// Gathers every worker's topic names: the same sorted, deduplicated list on
/// every worker, from which every worker builds the same dictionary.
pub fn gather_names(worker: &mut Worker, names: Vec<String>) -> Vec<String> {
    let mut names: Vec<String> = gather(worker, names).into_iter().flatten().collect();
    names.sort_unstable();
    names.dedup();
    names
}
