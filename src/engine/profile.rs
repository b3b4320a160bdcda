//! `REACH_PROFILE_OPERATORS=1`: time spent in each dataflow operator, per
//! epoch, logged by every worker (timely's own schedule events). For finding
//! where a night's time goes; off by default (logging costs a little on
//! every operator call).

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::time::Duration;

use timely::logging::{StartStop, TimelyEvent, TimelyEventBuilder};
use timely::worker::Worker;

/// Per-operator busy time since the last report.
#[derive(Default)]
pub struct Profile {
    names: HashMap<usize, (Vec<usize>, String)>,
    started: HashMap<usize, Duration>,
    busy: HashMap<usize, Duration>,
}

/// Shared with the logger.
pub type Shared = Rc<RefCell<Profile>>;

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
                        profile
                            .names
                            .insert(op.id, (op.addr.clone(), op.name.clone()));
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

/// Logs the busiest operators since the last report, and resets.
pub fn report(profile: &Shared, worker: usize, what: &str) {
    let mut profile = profile.borrow_mut();
    let mut busy: Vec<(Duration, usize)> = profile.busy.drain().map(|(id, d)| (d, id)).collect();
    busy.sort_unstable_by(|a, b| b.cmp(a));
    for (duration, id) in busy.into_iter().take(25) {
        let (addr, name) = profile.names.get(&id).cloned().unwrap_or_default();
        tracing::info!(
            worker,
            what,
            seconds = duration.as_secs_f64(),
            ?addr,
            name,
            "operator"
        );
    }
}
