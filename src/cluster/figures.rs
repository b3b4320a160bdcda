//! Per-worker and per-process figures of a run: what each worker read, when
//! each stage ended, and what each process exchanged with the others. They
//! travel to process 0 with the completion barrier and go to `run.json`
//! (never `summary.json`, which must not depend on how the run was split).

use serde::{Deserialize, Serialize};

use super::net::PeerFigures;

/// What one worker did.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct WorkerFigures {
    /// The worker's global index.
    pub worker: usize,
    /// Friendship records read (or generated) by this worker.
    pub friendship_records: u64,
    /// Adoption records read (or generated) by this worker.
    pub adoption_records: u64,
    /// Change records read from nights.
    pub change_records: u64,
    /// Input bytes read.
    pub bytes_read: u64,
    /// Seconds since the worker started at the end of each stage, in order.
    pub stages: Vec<(String, f64)>,
    /// The process's traffic with each peer at the barrier (first worker of a
    /// process only; empty in a single-process run).
    pub traffic: Vec<PeerFigures>,
}

/// One process's figures, as written to `run.json`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct ProcessFigures {
    /// The process index.
    pub process: usize,
    /// Its workers' global indices, first and last.
    pub workers: [usize; 2],
    /// Friendship records its workers read.
    pub friendship_records: u64,
    /// Adoption records its workers read.
    pub adoption_records: u64,
    /// Night change records its workers read.
    pub change_records: u64,
    /// Input bytes its workers read.
    pub bytes_read: u64,
    /// Per stage, the latest end among its workers (seconds since start), in order.
    pub stages: Vec<Stage>,
    /// Bytes sent to all other processes (timely's framed messages).
    pub bytes_sent: u64,
    /// Bytes received from all other processes.
    pub bytes_received: u64,
    /// Traffic with each other process.
    pub peers: Vec<PeerFigures>,
}

/// When a stage ended.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Stage {
    /// `read`, `computed`, `night <name>` or `written`.
    pub stage: String,
    /// Seconds since the workers started.
    pub seconds: f64,
}

/// Groups worker figures by process (`workers_per_process` consecutive workers each).
pub fn per_process(workers_per_process: usize, all: &[WorkerFigures]) -> Vec<ProcessFigures> {
    let mut processes: Vec<ProcessFigures> = Vec::new();
    let mut sorted: Vec<&WorkerFigures> = all.iter().collect();
    sorted.sort_by_key(|w| w.worker);
    for worker in sorted {
        let process = worker.worker / workers_per_process;
        if processes.last().is_none_or(|p| p.process != process) {
            processes.push(ProcessFigures {
                process,
                workers: [worker.worker, worker.worker],
                ..ProcessFigures::default()
            });
        }
        let entry = processes.last_mut().expect("pushed above");
        entry.workers[1] = worker.worker;
        entry.friendship_records += worker.friendship_records;
        entry.adoption_records += worker.adoption_records;
        entry.change_records += worker.change_records;
        entry.bytes_read += worker.bytes_read;
        for (stage, seconds) in &worker.stages {
            match entry.stages.iter_mut().find(|s| &s.stage == stage) {
                Some(existing) => existing.seconds = existing.seconds.max(*seconds),
                None => entry.stages.push(Stage {
                    stage: stage.clone(),
                    seconds: *seconds,
                }),
            }
        }
        for peer in &worker.traffic {
            entry.bytes_sent += peer.bytes_sent;
            entry.bytes_received += peer.bytes_received;
            entry.peers.push(peer.clone());
        }
    }
    processes
}

/// Logs one process's figures (one line, info level).
pub fn log(process: &ProcessFigures) {
    let stages: Vec<String> = process
        .stages
        .iter()
        .map(|s| format!("{} {:.2}s", s.stage, s.seconds))
        .collect();
    tracing::info!(
        process = process.process,
        workers = %format!("{}..={}", process.workers[0], process.workers[1]),
        friendship_records = process.friendship_records,
        adoption_records = process.adoption_records,
        change_records = process.change_records,
        bytes_read = process.bytes_read,
        bytes_sent = process.bytes_sent,
        bytes_received = process.bytes_received,
        stages = %stages.join(", "),
        "process figures"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workers_group_into_processes() {
        let worker = |worker: usize, records: u64, read: f64, sent: Option<u64>| WorkerFigures {
            worker,
            friendship_records: records,
            bytes_read: records * 10,
            stages: vec![
                ("read".to_string(), read),
                ("written".to_string(), read + 1.0),
            ],
            traffic: sent
                .map(|bytes_sent| {
                    vec![PeerFigures {
                        peer: 1 - worker / 2,
                        bytes_sent,
                        bytes_received: 7,
                        messages_received: 1,
                    }]
                })
                .unwrap_or_default(),
            ..WorkerFigures::default()
        };
        // Out of order on purpose: figures arrive in any order.
        let all = vec![
            worker(3, 4, 0.5, None),
            worker(0, 1, 2.0, Some(100)),
            worker(2, 3, 1.5, Some(200)),
            worker(1, 2, 1.0, None),
        ];
        let processes = per_process(2, &all);
        assert_eq!(processes.len(), 2);
        assert_eq!(processes[0].workers, [0, 1]);
        assert_eq!(processes[1].workers, [2, 3]);
        assert_eq!(processes[0].friendship_records, 3);
        assert_eq!(processes[1].friendship_records, 7);
        assert_eq!(processes[1].bytes_read, 70);
        let stage = |stage: &str, seconds| Stage {
            stage: stage.to_string(),
            seconds,
        };
        assert_eq!(
            processes[0].stages,
            vec![stage("read", 2.0), stage("written", 3.0)]
        );
        assert_eq!(processes[1].stages[0], stage("read", 1.5));
        assert_eq!(
            (processes[0].bytes_sent, processes[0].bytes_received),
            (100, 7)
        );
        assert_eq!(processes[1].peers[0].peer, 0);
    }
}
