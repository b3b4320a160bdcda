//! `REACH_PROFILE_OPERATORS=1`: per dataflow operator and per epoch, the
//! time spent in it, the records it received and sent, and how many of the
//! records it sent went to another worker (exchanged), logged by every
//! worker from timely's own schedule, channel and message events. For
//! finding where a night's time goes; off by default (logging costs a
//! little on every operator call and every message).
//!
//! A record "exchanged" crossed from this worker to another one: through
//! memory within a process, over a link between processes (whose bytes
//! `run.json` counts per process, `cluster::figures`).

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::time::Duration;

use timely::logging::{StartStop, TimelyEvent, TimelyEventBuilder};
use timely::worker::Worker;

/// Per-operator figures since the last report.
#[derive(Default)]
pub struct Profile {
    /// Operator id -> (address, name).
    names: HashMap<usize, (Vec<usize>, String)>,
    /// Operator address -> id.
    ids: HashMap<Vec<usize>, usize>,
    /// Channel id -> (source operator address, target operator address).
    channels: HashMap<usize, (Vec<usize>, Vec<usize>)>,
    started: HashMap<usize, Duration>,
    busy: HashMap<usize, Duration>,
    /// Operator id -> records in, records out, records out to other workers.
    records: HashMap<usize, [i64; 3]>,
}

/// Shared with the logger.
pub type Shared = Rc<RefCell<Profile>>;

impl Profile {
    /// Adds `n` to figure `which` of the operator at `addr`.
    fn count(&mut self, addr: &[usize], which: usize, n: i64) {
        if let Some(&id) = self.ids.get(addr) {
            self.records.entry(id).or_default()[which] += n;
        }
    }
}

/// Registers the logger if `REACH_PROFILE_OPERATORS` is set.
pub fn install(worker: &mut Worker) -> Option<Shared> {
    std::env::var_os("REACH_PROFILE_OPERATORS")?;
    let profile: Shared = Rc::default();
    let sink = Rc::clone(&profile);
    worker
        .log_register()?
        .insert::<TimelyEventBuilder, _>("timely", move |_time, data| {
            let Some(events) = data else { return };
            let mut profile = sink.borrow_mut();
            for (at, event) in events.iter() {
                match event {
                    TimelyEvent::Operates(op) => {
                        profile.ids.insert(op.addr.clone(), op.id);
                        profile
                            .names
                            .insert(op.id, (op.addr.clone(), op.name.clone()));
                    }
                    TimelyEvent::Channels(channel) => {
                        let at = |index: usize| {
                            let mut addr = channel.scope_addr.clone();
                            addr.push(index);
                            addr
                        };
                        let ends = (at(channel.source.0), at(channel.target.0));
                        profile.channels.insert(channel.id, ends);
                    }
                    TimelyEvent::Messages(message) => {
                        let Some((source, target)) =
                            profile.channels.get(&message.channel).cloned()
                        else {
                            continue;
                        };
                        let n = message.record_count;
                        if message.is_send {
                            profile.count(&source, 1, n);
                            if message.source != message.target {
                                profile.count(&source, 2, n);
                            }
                        } else {
                            profile.count(&target, 0, n);
                        }
                    }
                    TimelyEvent::Schedule(s) => match s.start_stop {
                        StartStop::Start => {
                            profile.started.insert(s.id, *at);
                        }
                        StartStop::Stop => {
                            if let Some(start) = profile.started.remove(&s.id) {
                                *profile.busy.entry(s.id).or_default() += *at - start;
                            }
                        }
                    },
                    _ => {}
                }
            }
        });
    Some(profile)
}

/// Logs the busiest operators since the last report (time, records in,
/// out and exchanged), and resets.
pub fn report(profile: &Shared, worker: usize, what: &str) {
    let mut profile = profile.borrow_mut();
    let mut busy: Vec<(Duration, usize)> = profile.busy.drain().map(|(id, d)| (d, id)).collect();
    busy.sort_unstable_by(|a, b| b.cmp(a));
    let mut records = std::mem::take(&mut profile.records);
    for (duration, id) in busy.into_iter().take(25) {
        let (addr, name) = profile.names.get(&id).cloned().unwrap_or_default();
        let [records_in, records_out, exchanged] = records.remove(&id).unwrap_or_default();
        tracing::info!(
            worker,
            what,
            seconds = duration.as_secs_f64(),
            records_in,
            records_out,
            exchanged,
            ?addr,
            name,
            "operator"
        );
    }
}
