//! Building timely's configuration from a job: one thread, several threads,
//! or several processes listed in a hostfile (checked here, with messages
//! that name the file and line, because timely's own errors do not).

use std::path::Path;

use crate::error::{Error, Result};
use crate::job::Job;

/// Reads and checks a hostfile: at least `processes` lines of `host:port`
/// (blank lines and `#` comments skipped); returns the first `processes` addresses.
pub fn read_hostfile(path: &Path, processes: usize) -> Result<Vec<String>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::Config(format!("{}: cannot read the hostfile: {e}", path.display())))?;
    let mut addresses = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let valid = line.rsplit_once(':').is_some_and(|(host, port)| {
            !host.is_empty() && port.parse::<u16>().is_ok_and(|p| p > 0)
        });
        if !valid {
            return Err(Error::Config(format!(
                "{}:{}: expected host:port with a port in 1..65535, found \"{line}\"",
                path.display(),
                number + 1
            )));
        }
        addresses.push(line.to_string());
        if addresses.len() == processes {
            return Ok(addresses);
        }
    }
    Err(Error::Config(format!(
        "{}: lists {} address(es) but --processes is {processes}: give one host:port line per process",
        path.display(),
        addresses.len()
    )))
}

/// The timely configuration for a job.
pub fn timely_config(job: &Job) -> Result<timely::Config> {
    let cluster = &job.cluster;
    let communication = if cluster.processes > 1 {
        let hostfile = cluster
            .hostfile
            .as_deref()
            .ok_or_else(|| Error::Config("--processes > 1 needs --hostfile".to_string()))?;
        timely::CommunicationConfig::Cluster {
            threads: job.workers,
            process: cluster.process,
            addresses: read_hostfile(hostfile, cluster.processes)?,
            report: false,
            zerocopy: false,
        }
    } else if job.workers > 1 {
        timely::CommunicationConfig::Process(job.workers)
    } else {
        timely::CommunicationConfig::Thread
    };
    Ok(timely::Config {
        communication,
        worker: timely::WorkerConfig::default(),
    })
}
