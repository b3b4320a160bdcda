//! Starting a run's workers on this process (threads, or processes over
//! our own TCP links: `crate::cluster`) and collecting their results, with
//! the clean-up every failure needs: process 0 removes its staging
//! directory, so a failed run never publishes and never leaves staging.

use std::sync::Arc;

use timely::worker::Worker;

use super::Context;
use crate::cluster::Plan;
use crate::error::{Error, Result};
use crate::output::publish;

/// Starts this process's workers on `work` and waits for them; on any
/// failure process 0 removes the staging directory and the first error is
/// returned. Returns each local worker's result. If a peer process dies,
/// this process exits from its network thread (after the same clean-up), so
/// nothing is published (see `crate::cluster::execute`).
pub fn execute<T, F>(plan: Plan, context: &Arc<Context>, work: F) -> Result<Vec<T>>
where
    T: Send + 'static,
    F: Fn(&mut Worker, &Context) -> Result<T> + Send + Sync + 'static,
{
    let cleanup: Arc<dyn Fn() + Send + Sync> = {
        let output = context.job.output.clone();
        let first_process = context.job.cluster.process == 0;
        Arc::new(move || {
            if first_process {
                publish::abandon(&output);
            }
        })
    };
    let worker_context = Arc::clone(context);
    let guards = match crate::cluster::execute(plan, Arc::clone(&cleanup), move |worker| {
        work(worker, &worker_context)
    }) {
        Ok(guards) => guards,
        Err(error) => {
            cleanup();
            return Err(error);
        }
    };
    let mut results = Vec::new();
    let mut failure = None;
    for result in guards.join() {
        match result {
            Ok(Ok(value)) => results.push(value),
            Ok(Err(e)) => {
                failure.get_or_insert(e);
            }
            Err(panic) => {
                failure.get_or_insert(Error::Runtime(format!("a worker failed: {panic}")));
            }
        }
    }
    if let Some(bar) = &context.progress {
        bar.finish_and_clear();
    }
    if let Some(error) = failure {
        cleanup();
        return Err(error);
    }
    Ok(results)
}
