//! Text user ids on their way in and out: every worker asks the owners of
//! the texts (or ids) it holds, through a small dataflow of its own, and
//! gets the answers back. No worker holds the whole dictionary: each owns
//! the buckets `b` with `b % peers == index` (see [`crate::ids`]).
//!
//! - **in**: a worker reads its shares with text ids, numbers the distinct
//!   texts it saw locally, and asks their owners for internal ids
//!   ([`to_internal`]); records then flow with internal ids like integers;
//! - **out**: before writing, a worker asks the owners for the texts of the
//!   ids in the rows it writes ([`to_text`]) and keeps them;
//! - **resume**: entries read back from a checkpoint go to their owners at
//!   the current worker count ([`redistribute`]).

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::time::Duration;

use timely::dataflow::operators::vec::Map;
use timely::dataflow::operators::{Exchange, Input, Inspect, Probe as _};
use timely::worker::Worker;
use timely::ExchangeData;

use crate::dataflow::Time;
use crate::ids::{self, Dictionary};

/// A worker's part of the dictionary, shared with the operators that need
/// texts (the leaders' tie-break).
pub type Shared = Rc<RefCell<Dictionary>>;

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

/// The distinct text ids a worker saw in its shares, numbered locally in
/// the order first seen; records hold these numbers until translated.
#[derive(Debug, Default)]
pub struct LocalTexts {
    index: HashMap<String, u32>,
    texts: Vec<String>,
}

impl LocalTexts {
    /// The local number of `text`.
    pub fn number(&mut self, text: String) -> u32 {
        let next = self.texts.len() as u32;
        *self.index.entry(text).or_insert_with_key(|text| {
            self.texts.push(text.clone());
            next
        })
    }

    /// The internal ids of the texts by local number, from their owners
    /// (who hand out new ones for texts they have not seen).
    pub fn translate(self, worker: &mut Worker, dictionary: &Shared) -> Vec<u64> {
        drop(self.index);
        to_internal(worker, dictionary, self.texts)
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
