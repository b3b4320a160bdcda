//! Job specs: a TOML file plus command-line overrides, resolved into one
//! [`Job`] that the runner executes.
//!
//! Every field of the file is optional; flags override the file, and
//! `--set NAME=VALUE` overrides `[params]`. Relative paths are taken from the
//! current working directory (so `reach run jobs/quickstart.toml` run from
//! the repository root writes `out/quickstart/` there). See `docs/jobs.md`.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::generate;
use crate::params::Params;

mod file;

pub use crate::ids::IdMode;
pub use crate::output::Format;
pub use file::*;

/// The resolved `[serve]` table.
#[derive(Clone, Debug, PartialEq)]
pub struct Serve {
    /// The inbox.
    pub inbox: PathBuf,
    /// Applied nights go here.
    pub applied: PathBuf,
    /// Refused nights (and their reports) go here.
    pub rejected: PathBuf,
    /// When a night is complete.
    pub ready: Ready,
    /// Seconds between looks at the inbox.
    pub poll_seconds: f64,
    /// Nights whose change feeds stay in the output.
    pub keep_feeds: usize,
    /// Give freed memory back to the system after each night.
    pub return_memory: bool,
    /// Create the inbox when it does not exist.
    pub create_inbox: bool,
}

impl Serve {
    /// Checks that the inbox is a directory (or creates it, when asked to)
    /// and creates `applied/` and `rejected/`. A missing inbox is refused
    /// before anything is created: `--inbox data/nosuch` is most often a
    /// typo, and serving it would wait forever for nights that land elsewhere.
    pub fn prepare_dirs(&self) -> Result<()> {
        let inbox = &self.inbox;
        match std::fs::metadata(inbox) {
            Ok(meta) if meta.is_dir() => {}
            Ok(_) => {
                return Err(Error::Config(format!(
                    "inbox {}: not a directory; give --inbox DIR (or [serve] inbox) naming the \
                     directory that nights land in",
                    inbox.display()
                )))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !self.create_inbox => {
                return Err(Error::Config(format!(
                    "inbox {}: no such directory (a typo?); check --inbox (or [serve] inbox), \
                     create it, or give --create-inbox (or [serve] create_inbox = true) to have \
                     reach serve create it",
                    inbox.display()
                )))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io(inbox, e)),
        }
        for dir in [&self.inbox, &self.applied, &self.rejected] {
            std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        }
        Ok(())
    }
}

/// Flags that override a job file.
#[derive(Clone, Debug, Default)]
pub struct Overrides {
    /// `--friendships`.
    pub friendships: Option<PathBuf>,
    /// `--adoptions`.
    pub adoptions: Option<PathBuf>,
    /// `--deltas`.
    pub deltas: Option<PathBuf>,
    /// `--identities`.
    pub identities: Option<PathBuf>,
    /// `--purchases`.
    pub purchases: Option<PathBuf>,
    /// `--output`.
    pub output: Option<PathBuf>,
    /// `--format`.
    pub format: Option<Format>,
    /// `--ids`.
    pub ids: Option<IdMode>,
    /// `--parts`.
    pub parts: Option<usize>,
    /// `--workers`.
    pub workers: Option<usize>,
    /// `--set NAME=VALUE`, in order.
    pub sets: Vec<String>,
    /// `--processes`.
    pub processes: Option<usize>,
    /// `--process`.
    pub process: Option<usize>,
    /// `--hostfile`.
    pub hostfile: Option<PathBuf>,
    /// `--connect-timeout`.
    pub connect_timeout: Option<u64>,
    /// `reach serve --inbox`.
    pub inbox: Option<PathBuf>,
    /// `reach serve --ready`.
    pub ready: Option<Ready>,
    /// `reach serve --create-inbox` (only ever turns it on).
    pub create_inbox: bool,
    /// `--report` (only ever turns the report on).
    pub report: bool,
    /// `--listen`.
    pub listen: Option<String>,
    /// `--overwrite` (only ever turns it on).
    pub overwrite: bool,
    /// `--force-workers` (only ever turns it on).
    pub force_workers: bool,
    /// `--secret-file`.
    pub secret_file: Option<PathBuf>,
    /// `--secret-env`.
    pub secret_env: Option<String>,
}

/// Where the records come from.
#[derive(Clone, Debug, PartialEq)]
pub enum Source {
    /// Files on disk.
    Files {
        /// Friendships, if any.
        friendships: Option<PathBuf>,
        /// Adoptions, if any.
        adoptions: Option<PathBuf>,
    },
    /// A synthetic graph generated in memory, each worker making its own share.
    Generated(generate::Params),
}

/// The customer inputs (METRICS.md, "Customers"), each optional: with
/// neither, no customer table is written. They join whatever the social
/// records come from, files or `[generate]`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Customers {
    /// Identities `account customer`: a file or a directory of part files.
    pub identities: Option<PathBuf>,
    /// Purchases `customer day amount [topic]`: a file or a directory of part files.
    pub purchases: Option<PathBuf>,
}

impl Customers {
    /// Whether the job names any customer input.
    pub fn any(&self) -> bool {
        self.identities.is_some() || self.purchases.is_some()
    }
}

/// Processes and their addresses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cluster {
    /// Number of processes (1 for a single-machine run).
    pub processes: usize,
    /// This process's index.
    pub process: usize,
    /// The hostfile, required when `processes > 1`.
    pub hostfile: Option<PathBuf>,
    /// Seconds to wait for every process to connect.
    pub connect_timeout: u64,
    /// Address to listen on instead of this process's hostfile line.
    pub listen: Option<String>,
    /// Where the shared secret of the links comes from, if anywhere.
    pub secret: Option<Secret>,
}

/// Where a cluster's shared secret is kept (never the secret itself).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Secret {
    /// A file (`--secret-file`, `[cluster] secret_file`).
    File(PathBuf),
    /// An environment variable (`--secret-env`, `[cluster] secret_env`).
    Env(String),
}

/// A fully resolved job.
#[derive(Clone, Debug)]
pub struct Job {
    /// The inputs.
    pub source: Source,
    /// Nightly deltas, if any.
    pub deltas: Option<PathBuf>,
    /// The customer inputs, if any.
    pub customers: Customers,
    /// The output directory.
    pub output: PathBuf,
    /// The output format.
    pub format: Format,
    /// Part files per large table.
    pub parts: usize,
    /// How user ids are read.
    pub ids: IdMode,
    /// Metric parameters.
    pub params: Params,
    /// Worker threads per process.
    pub workers: usize,
    /// Processes.
    pub cluster: Cluster,
    /// `reach serve`'s inbox, if the job file or flags name one.
    pub serve: Option<Serve>,
    /// Write `report.html` into the output before publishing.
    pub report: bool,
    /// Replace the output even when it is not an earlier output of reach.
    pub overwrite: bool,
    /// The job file, if the job came from one.
    pub job_file: Option<PathBuf>,
}

/// Default part files per large table.
pub const DEFAULT_PARTS: usize = 4;

impl Job {
    /// Resolves a job file (if any) and flags into a job, checking that it can run.
    pub fn resolve(file: Option<&Path>, overrides: Overrides) -> Result<Job> {
        let spec = match file {
            Some(path) => JobFile::load(path)?,
            None => JobFile::default(),
        };
        let mut params = spec.params.clone();
        for assignment in &overrides.sets {
            params.set(assignment)?;
        }
        let friendships = overrides.friendships.or(spec.input.friendships);
        let adoptions = overrides.adoptions.or(spec.input.adoptions);
        let customers = Customers {
            identities: overrides.identities.or(spec.input.identities),
            purchases: overrides.purchases.or(spec.input.purchases),
        };
        let source = match (&spec.generate, &friendships, &adoptions) {
            (Some(generate), None, None) => Source::Generated(generate.params()),
            (_, None, None) => {
                return Err(Error::Config(format!(
                    "no input: give --friendships PATH (and/or --adoptions PATH), or a job file \
                     with an [input] or [generate] table, e.g. `reach run jobs/quickstart.toml`{}",
                    if customers.any() {
                        " (--identities and --purchases join a social graph: they come with one)"
                    } else {
                        ""
                    }
                )))
            }
            _ => Source::Files {
                friendships,
                adoptions,
            },
        };
        let ids = overrides.ids.or(spec.input.ids).unwrap_or_default();
        if ids == IdMode::Text && matches!(source, Source::Generated(_)) {
            return Err(Error::Config(
                "ids = \"text\" reads text ids from files, and [generate] makes integer ids: \
                 write files with `reach generate --text-ids --out DIR` and name them in [input]"
                    .to_string(),
            ));
        }
        if ids == IdMode::Text && params.shuffle_rounds > 0 {
            // Its rounds deal days to adopters in user-id order, which the
            // dictionary's ids do not follow.
            return Err(Error::Config(
                "shuffle_rounds > 0 (the shuffle test) is not available with ids = \"text\" yet: \
                 drop --set shuffle_rounds, or run on integer ids"
                    .to_string(),
            ));
        }
        if ids == IdMode::Text && (overrides.report || spec.output.report.unwrap_or(false)) {
            return Err(Error::Config(
                "--report (report.html) reads integer user ids and is not available with \
                 ids = \"text\" yet: drop --report (or [output] report)"
                    .to_string(),
            ));
        }
        let Some(output) = overrides.output.or(spec.output.dir) else {
            return Err(Error::Config(
                "no output directory: give --output DIR or set [output] dir in the job file"
                    .to_string(),
            ));
        };
        let workers = overrides.workers.or(spec.run.workers).unwrap_or(1);
        if workers == 0 {
            return Err(Error::Config("--workers must be at least 1".to_string()));
        }
        let force_workers = overrides.force_workers || spec.run.force_workers.unwrap_or(false);
        let cores = available_cores();
        if workers > max_workers(cores) && !force_workers {
            return Err(Error::Config(format!(
                "--workers {workers}: this process may use {cores} core(s), and more than {} \
                 worker threads cannot run at once on them: the extra threads only take turns, \
                 each adding memory and start-up time. Use --workers {cores} (one per core), or \
                 add --force-workers (or [run] force_workers = true) to run {workers} anyway",
                max_workers(cores)
            )));
        }
        let parts = overrides
            .parts
            .or(spec.output.parts)
            .unwrap_or(DEFAULT_PARTS);
        if parts == 0 {
            return Err(Error::Config("--parts must be at least 1".to_string()));
        }
        let processes = overrides.processes.or(spec.cluster.processes).unwrap_or(1);
        let process = overrides.process.or(spec.cluster.process).unwrap_or(0);
        if processes == 0 || process >= processes {
            return Err(Error::Config(format!(
                "--process {process} is not below --processes {processes}: processes are numbered 0..N-1"
            )));
        }
        let hostfile = overrides.hostfile.or(spec.cluster.hostfile);
        let secret = match (
            overrides.secret_file.or(spec.cluster.secret_file),
            overrides.secret_env.or(spec.cluster.secret_env),
        ) {
            (Some(_), Some(_)) => {
                return Err(Error::Config(
                    "--secret-file and --secret-env both name the cluster secret: give one"
                        .to_string(),
                ))
            }
            (Some(file), None) => Some(Secret::File(file)),
            (None, Some(name)) => Some(Secret::Env(name)),
            (None, None) => None,
        };
        if processes > 1 && hostfile.is_none() {
            return Err(Error::Config(format!(
                "--processes {processes} needs --hostfile FILE: one host:port line per process"
            )));
        }
        let serve = match overrides.inbox.or(spec.serve.inbox) {
            None => None,
            Some(inbox) => {
                let beside = |name: &str| match inbox.parent() {
                    Some(parent) => parent.join(name),
                    None => PathBuf::from(name),
                };
                let poll_seconds = spec.serve.poll_seconds.unwrap_or(2.0);
                if !(poll_seconds > 0.0 && poll_seconds.is_finite()) {
                    return Err(Error::Config(format!(
                        "[serve] poll_seconds = {poll_seconds}: give a positive number of seconds"
                    )));
                }
                Some(Serve {
                    applied: spec.serve.applied.unwrap_or_else(|| beside("applied")),
                    rejected: spec.serve.rejected.unwrap_or_else(|| beside("rejected")),
                    ready: overrides.ready.or(spec.serve.ready).unwrap_or_default(),
                    poll_seconds,
                    keep_feeds: spec.serve.keep_feeds.unwrap_or(30),
                    return_memory: spec.serve.return_memory.unwrap_or(true),
                    create_inbox: overrides.create_inbox
                        || spec.serve.create_inbox.unwrap_or(false),
                    inbox,
                })
            }
        };
        Ok(Job {
            serve,
            source,
            deltas: overrides.deltas.or(spec.input.deltas),
            customers,
            output,
            format: overrides.format.or(spec.output.format).unwrap_or_default(),
            parts,
            ids,
            params,
            workers,
            cluster: Cluster {
                processes,
                process,
                hostfile,
                connect_timeout: overrides
                    .connect_timeout
                    .or(spec.cluster.connect_timeout)
                    .unwrap_or(60),
                listen: overrides.listen.or(spec.cluster.listen),
                secret,
            },
            report: overrides.report || spec.output.report.unwrap_or(false),
            overwrite: overrides.overwrite || spec.output.overwrite.unwrap_or(false),
            job_file: file.map(Path::to_path_buf),
        })
    }
}

impl Job {
    /// Every path the job reads or keeps for the user, each with the flag
    /// (or job-file key) that names it: what the output must stay apart from.
    pub fn input_paths(&self) -> Vec<(&'static str, &Path)> {
        let mut paths = Vec::new();
        if let Source::Files {
            friendships,
            adoptions,
        } = &self.source
        {
            paths.extend(friendships.as_deref().map(|p| ("--friendships", p)));
            paths.extend(adoptions.as_deref().map(|p| ("--adoptions", p)));
        }
        paths.extend(self.deltas.as_deref().map(|p| ("--deltas", p)));
        let customers = &self.customers;
        paths.extend(customers.identities.as_deref().map(|p| ("--identities", p)));
        paths.extend(customers.purchases.as_deref().map(|p| ("--purchases", p)));
        if let Some(serve) = &self.serve {
            paths.push(("--inbox", serve.inbox.as_path()));
            paths.push(("[serve] applied", serve.applied.as_path()));
            paths.push(("[serve] rejected", serve.rejected.as_path()));
        }
        if let Some(Secret::File(file)) = &self.cluster.secret {
            paths.push(("--secret-file", file.as_path()));
        }
        paths.extend(self.job_file.as_deref().map(|p| ("job file", p)));
        paths
    }
}

/// The cores this process may use (its CPU affinity and cgroup quota), at least 1.
pub fn available_cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// The most worker threads per process that `cores` cores can run at
/// once with room to spare: 4 per core. More only take turns.
pub fn max_workers(cores: usize) -> usize {
    4 * cores.max(1)
}
