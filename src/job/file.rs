//! The job file as written: its TOML tables (`[input]`, `[generate]`,
//! `[output]`, `[params]`, `[run]`, `[cluster]`, `[serve]`), every field
//! optional, and parse errors in the words of the file. [`super::Job`]
//! resolves them with the flags.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{Format, IdMode};
use crate::error::{Error, Result};
use crate::generate;
use crate::params::Params;

/// `[input]`: where the records come from.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct InputSpec {
    /// Friendship file or directory of part files.
    pub friendships: Option<PathBuf>,
    /// Adoption file or directory of part files.
    pub adoptions: Option<PathBuf>,
    /// Directory of nights (one sub-directory per night).
    pub deltas: Option<PathBuf>,
    /// User ids: `"integer"` (default) or `"text"`.
    pub ids: Option<IdMode>,
    /// Identities (`account customer`): file or directory of part files.
    pub identities: Option<PathBuf>,
    /// Purchases (`customer day amount [topic]`): file or directory of part files.
    pub purchases: Option<PathBuf>,
}

/// `[generate]`: make a synthetic graph in memory instead of reading files.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GenerateSpec {
    /// Number of users.
    pub users: u64,
    /// Mean expected friend count.
    pub mean_degree: f64,
    /// Random seed.
    pub seed: u64,
    /// Also make up customers: identities and purchases (`reach generate --customers`).
    pub customers: bool,
}

impl Default for GenerateSpec {
    fn default() -> Self {
        let defaults = generate::Params::default();
        GenerateSpec {
            users: defaults.users,
            mean_degree: defaults.mean_degree,
            seed: defaults.seed,
            customers: defaults.customers,
        }
    }
}

impl GenerateSpec {
    /// The generator parameters.
    pub fn params(&self) -> generate::Params {
        generate::Params {
            users: self.users,
            mean_degree: self.mean_degree,
            seed: self.seed,
            customers: self.customers,
            ..generate::Params::default()
        }
    }
}

/// `[output]`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OutputSpec {
    /// The directory to publish.
    pub dir: Option<PathBuf>,
    /// `csv` or `parquet`.
    pub format: Option<Format>,
    /// Part files per large table (fixed, so the bytes do not depend on the worker count).
    pub parts: Option<usize>,
    /// Also write `report.html` into the output before publishing it.
    pub report: Option<bool>,
    /// Replace `dir` even when it is not an earlier output of reach (see docs/jobs.md).
    pub overwrite: Option<bool>,
}

/// `[run]`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RunSpec {
    /// Worker threads per process.
    pub workers: Option<usize>,
    /// Run more worker threads than [`max_workers`] allows.
    pub force_workers: Option<bool>,
}

/// `[cluster]`: several processes, possibly on several machines.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClusterSpec {
    /// Number of processes.
    pub processes: Option<usize>,
    /// This process's index, 0-based.
    pub process: Option<usize>,
    /// File with one `host:port` per process, in process order.
    pub hostfile: Option<PathBuf>,
    /// Seconds to wait for every process to connect before failing (default 60).
    pub connect_timeout: Option<u64>,
    /// Address this process listens on (`HOST` or `HOST:PORT`; default: its hostfile line).
    pub listen: Option<String>,
    /// A file holding the shared secret that every process proves it knows.
    pub secret_file: Option<PathBuf>,
    /// The name of an environment variable holding the shared secret.
    pub secret_env: Option<String>,
}

/// `[serve]`: where `reach serve` finds nights and puts them afterwards.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServeSpec {
    /// The inbox: night directories appear here.
    pub inbox: Option<PathBuf>,
    /// Where applied nights are moved (default: `applied/` beside the inbox).
    pub applied: Option<PathBuf>,
    /// Where refused nights are moved (default: `rejected/` beside the inbox).
    pub rejected: Option<PathBuf>,
    /// When a night in the inbox is complete.
    pub ready: Option<Ready>,
    /// Seconds between looks at the inbox (default 2).
    pub poll_seconds: Option<f64>,
    /// Nights whose change feeds stay in the output (default 30).
    pub keep_feeds: Option<usize>,
    /// Give freed memory back to the system after each night (default true).
    pub return_memory: Option<bool>,
    /// Create the inbox when it does not exist (default false: a missing
    /// inbox is refused, since it is most often a typo).
    pub create_inbox: Option<bool>,
}

/// When a night directory in the inbox is complete.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Ready {
    /// `NAME/` is complete once a file `NAME.ready` exists beside it (the default).
    #[default]
    Marker,
    /// Every directory in the inbox is complete: writers build a night
    /// elsewhere (or under a name starting with `.`) and rename it in.
    Rename,
}

/// A job file as written.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct JobFile {
    /// `[input]`.
    pub input: InputSpec,
    /// `[generate]`.
    pub generate: Option<GenerateSpec>,
    /// `[output]`.
    pub output: OutputSpec,
    /// `[params]`.
    pub params: Params,
    /// `[run]`.
    pub run: RunSpec,
    /// `[cluster]`.
    pub cluster: ClusterSpec,
    /// `[serve]`: the inbox of `reach serve`.
    pub serve: ServeSpec,
}

impl JobFile {
    /// Reads and parses a job file.
    pub fn load(path: &Path) -> Result<JobFile> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let file: JobFile = toml::from_str(&text).map_err(|e| {
            Error::Config(format!(
                "{}: {}",
                path.display(),
                plain_types(e.to_string().trim_end())
            ))
        })?;
        if let (
            Some(_),
            InputSpec {
                friendships,
                adoptions,
                ..
            },
        ) = (&file.generate, &file.input)
        {
            if friendships.is_some() || adoptions.is_some() {
                return Err(Error::Config(format!(
                    "{}: both [input] (friendships/adoptions) and [generate]: a job reads files or \
                     generates a graph, not both; remove one of the two tables",
                    path.display()
                )));
            }
        }
        Ok(file)
    }
}

/// The types serde names in a parse error (`expected usize`, `expected
/// struct OutputSpec`), in the words of the job file: a whole number, the
/// table `[output]`.
pub fn plain_types(message: &str) -> String {
    const WORDS: &[(&str, &str)] = &[
        ("expected usize", "expected a whole number (0 or more)"),
        ("expected u64", "expected a whole number (0 or more)"),
        (
            "expected u32",
            "expected a whole number from 0 to 4294967295",
        ),
        ("expected u16", "expected a whole number from 0 to 65535"),
        ("expected i64", "expected a whole number"),
        ("expected f64", "expected a number"),
        ("expected path string", "expected a path (a quoted string)"),
        (
            "expected struct JobFile",
            "expected tables such as [input] and [output]",
        ),
        ("expected struct InputSpec", "expected the table [input]"),
        (
            "expected struct GenerateSpec",
            "expected the table [generate]",
        ),
        ("expected struct OutputSpec", "expected the table [output]"),
        ("expected struct Params", "expected the table [params]"),
        ("expected struct RunSpec", "expected the table [run]"),
        (
            "expected struct ClusterSpec",
            "expected the table [cluster]",
        ),
        ("expected struct ServeSpec", "expected the table [serve]"),
        ("expected enum Format", "expected \"csv\" or \"parquet\""),
        ("expected enum Ready", "expected \"marker\" or \"rename\""),
        (
            "wanted string or table",
            "expected a quoted value (the choices are in jobs/example.toml and docs/jobs.md)",
        ),
    ];
    let mut out = message.to_string();
    for (rust, plain) in WORDS {
        out = out.replace(rust, plain);
    }
    out
}
