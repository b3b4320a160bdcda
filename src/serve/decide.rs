//! Worker 0 decides what every worker does next: apply the next complete
//! night of the inbox, or stop (drained, a signal, a night awaiting an
//! operator in `rejected/`, or a failure). The decision reaches every
//! worker through `engine::agree::gather`.

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::manifest::Manifest;
use super::{inbox, signals, ServeReport};
use crate::error::{Error, Result};
use crate::job::{Job, Serve};
use crate::output::publish;

/// What worker 0 tells every worker to do next.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum Decision {
    /// Apply the night of this name (staging is ready).
    Night(String),
    /// Stop: cleanly (`None`), or failing.
    Stop(Option<Error>),
}

/// Worker 0: waits for the next thing to do (`drain`: stop when there is
/// nothing; `quiet`: say nothing on the terminal).
pub fn decide(
    job: &Job,
    serve: &Serve,
    (drain, quiet): (bool, bool),
    manifest: &Manifest,
    report: &mut ServeReport,
) -> Decision {
    let mut said_blocked = false;
    loop {
        if signals::stop_requested() {
            tracing::info!("stopping on a signal, between nights");
            return Decision::Stop(None);
        }
        match next_night(serve, manifest, report) {
            Err(e) => return Decision::Stop(Some(e)),
            Ok(Next::Night(name)) => {
                return match publish::prepare(&job.output) {
                    Ok(_) => Decision::Night(name),
                    Err(e) => Decision::Stop(Some(e)),
                }
            }
            Ok(Next::Blocked(rejected)) => {
                let message = format!(
                    "night {rejected} is in {} awaiting an operator's decision; no later night \
                     applies until it is resolved (see its .txt report and docs/nightly.md)",
                    serve.rejected.display()
                );
                if drain {
                    return Decision::Stop(Some(Error::Runtime(message)));
                }
                if !said_blocked {
                    tracing::warn!("{message}");
                    if !quiet {
                        eprintln!("reach serve: {message}");
                    }
                    said_blocked = true;
                }
            }
            Ok(Next::Nothing) => {
                if drain {
                    return Decision::Stop(None);
                }
            }
        }
        let until = Instant::now() + Duration::from_secs_f64(serve.poll_seconds);
        while Instant::now() < until && !signals::stop_requested() {
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// What the inbox holds next.
enum Next {
    Night(String),
    Blocked(String),
    Nothing,
}

/// Looks at `rejected/` and the inbox: nights the manifest lists are moved
/// to `applied/` (a crash came between publishing and moving them), nights
/// that sort before the last applied one are refused.
fn next_night(serve: &Serve, manifest: &Manifest, report: &mut ServeReport) -> Result<Next> {
    if let Some(rejected) = inbox::rejected_nights(serve)?.into_iter().next() {
        return Ok(Next::Blocked(rejected));
    }
    for name in inbox::ready_nights(serve)? {
        if manifest.has(&name) {
            tracing::info!(night = %name, "already applied (listed in the manifest): moved to applied/");
            inbox::move_applied(serve, &name)?;
            continue;
        }
        if let Some(last) = manifest.last().filter(|last| name.as_str() <= *last) {
            let reason = format!(
                "night {name} sorts before the last applied night {last}: nights apply in name \
                 order, and a night that arrives late cannot be applied before a later one"
            );
            refuse(serve, &name, &[reason], report);
            return Ok(Next::Blocked(name));
        }
        return Ok(Next::Night(name));
    }
    Ok(Next::Nothing)
}

/// Worker 0: moves a night to `rejected/` with its report; a failure to do
/// so stops the run.
pub fn refuse(
    serve: &Serve,
    name: &str,
    reasons: &[String],
    report: &mut ServeReport,
) -> Option<Error> {
    eprintln!(
        "reach serve: night {name} refused: {}",
        reasons.join("\n  ")
    );
    report.rejected.push(name.to_string());
    inbox::reject(serve, name, reasons).err()
}
