//! The stages of a worker's run (read, computed, each night, written), kept
//! three ways: in the worker's figures (for `run.json`), as tracing events
//! (for logs), and, on the first worker of a terminal run, on screen: once
//! the reading bar is full, a spinner names the stage under way and its
//! elapsed time, so a long computation never looks hung.

use std::time::{Duration, Instant};

use super::Context;
use crate::cluster::figures::{self, WorkerFigures};
use crate::input::ReadStats;

/// A worker's stages since it started.
pub struct Stages {
    started: Instant,
    /// What the worker did, stage by stage (goes to `run.json`).
    pub figures: WorkerFigures,
    /// The terminal's bar, on the first worker only.
    bar: Option<indicatif::ProgressBar>,
}

impl Stages {
    /// Starts the clock of worker `index`; `bar` is the reading bar, shown
    /// by the first worker only.
    pub fn start(index: usize, bar: Option<&indicatif::ProgressBar>) -> Stages {
        Stages {
            started: Instant::now(),
            figures: WorkerFigures {
                worker: index,
                ..WorkerFigures::default()
            },
            bar: bar.filter(|_| index == 0).cloned(),
        }
    }

    /// The base is read: its records go into the figures.
    pub fn read(&mut self, stats: &ReadStats, next: &str) {
        self.figures.friendship_records = stats.friendship_records;
        self.figures.adoption_records = stats.adoption_records;
        self.figures.bytes_read = stats.bytes;
        tracing::info!(
            worker = self.figures.worker,
            friendship_records = stats.friendship_records,
            adoption_records = stats.adoption_records,
            bytes = stats.bytes,
            seconds = self.seconds(),
            "read"
        );
        self.end("read", next);
    }

    /// A night's files were read: its change records go into the figures.
    pub fn night_read(&mut self, stats: &ReadStats) {
        self.figures.change_records += stats.friendship_changes + stats.adoption_changes;
        self.figures.bytes_read += stats.bytes;
    }

    /// Ends the stage `name` (a tracing event, a line in the figures) and
    /// shows `next` as the stage under way.
    pub fn end(&mut self, name: &str, next: &str) {
        let seconds = self.seconds();
        tracing::info!(worker = self.figures.worker, seconds, "{name}");
        self.figures.stages.push((name.to_string(), seconds));
        if let Some(bar) = &self.bar {
            if bar.length().is_some() {
                // The reading bar becomes a spinner for the stages after it.
                bar.unset_length();
                bar.set_style(
                    indicatif::ProgressStyle::with_template("{spinner} {msg} {elapsed}")
                        .expect("valid template"),
                );
                bar.enable_steady_tick(Duration::from_millis(200));
            }
            bar.println(format!("reach: {name} ({seconds:.1} s)"));
            bar.set_message(next.to_string());
        }
    }

    /// Seconds since the worker started.
    pub fn seconds(&self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }

    /// The worker's figures, with its process's traffic so far on the
    /// process's first worker.
    pub fn finish(self, context: &Context) -> WorkerFigures {
        let mut figures = self.figures;
        let job = &context.job;
        if figures.worker.is_multiple_of(job.workers) {
            if let Some(traffic) = &context.traffic {
                figures.traffic = traffic.snapshot(job.cluster.process);
            }
        }
        figures
    }
}

/// On a process's first worker: logs the process's figures from every
/// worker's.
pub fn log_process(context: &Context, worker: usize, all: &[WorkerFigures]) {
    let job = &context.job;
    if !worker.is_multiple_of(job.workers) {
        return;
    }
    let process = figures::per_process(job.workers, all)
        .into_iter()
        .find(|p| p.process == job.cluster.process);
    if let Some(process) = process {
        figures::log(&process);
    }
}
