//! The metric parameters of METRICS.md and the job's tolerance for bad
//! lines, settable from a job file's `[params]` table or `--set NAME=VALUE`.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Parameters of the metrics (defaults from METRICS.md).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Params {
    /// T: friend count at or above which a user is a super-connector.
    pub super_connector_min: u32,
    /// C: friend count at or above which a user is a connector.
    pub connector_min: u32,
    /// W: a friend's adoption counts as persuaded if it came 1..=W days after the user's.
    pub window_days: u32,
    /// K: leaders kept per topic.
    pub top_k: u32,
    /// How many malformed lines to skip (and list in `rejects.csv`) before failing.
    pub max_bad_lines: u64,
    /// R: rounds of the shuffle test (`topic_significance`); 0 turns it off.
    pub shuffle_rounds: u32,
    /// Seed of the shuffle test's permutations.
    pub shuffle_seed: u64,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            super_connector_min: 1000,
            connector_min: 101,
            window_days: 60,
            top_k: 100,
            max_bad_lines: 0,
            shuffle_rounds: 0,
            shuffle_seed: 1,
        }
    }
}

/// The names `--set` accepts, for messages and `--help`.
pub const NAMES: &[&str] = &[
    "super_connector_min",
    "connector_min",
    "window_days",
    "top_k",
    "max_bad_lines",
    "shuffle_rounds",
    "shuffle_seed",
];

/// Job-file fields outside `[params]` that have a flag of their own, for
/// pointing `--set workers=4` to `--workers 4`.
const FLAGS: &[(&str, &str)] = &[
    ("workers", "--workers"),
    ("parts", "--parts"),
    ("format", "--format"),
    ("output", "--output"),
    ("dir", "--output"),
    ("friendships", "--friendships"),
    ("adoptions", "--adoptions"),
    ("deltas", "--deltas"),
    ("processes", "--processes"),
    ("process", "--process"),
    ("hostfile", "--hostfile"),
    ("connect_timeout", "--connect-timeout"),
    ("listen", "--listen"),
    ("report", "--report"),
    ("inbox", "--inbox"),
    ("ready", "--ready"),
    ("create_inbox", "--create-inbox"),
];

impl Params {
    /// Applies one `NAME=VALUE` override.
    pub fn set(&mut self, assignment: &str) -> Result<()> {
        let Some((name, value)) = assignment.split_once('=') else {
            return Err(Error::Config(format!(
                "--set {assignment}: expected NAME=VALUE, e.g. --set super_connector_min=500"
            )));
        };
        let (name, value) = (name.trim(), value.trim());
        let bad = |what: &str| Error::Config(format!("--set {name}={value}: {what}"));
        let number = || {
            value
                .parse::<u64>()
                .map_err(|_| bad("expected a non-negative integer"))
        };
        let small = || {
            number()
                .and_then(|n| u32::try_from(n).map_err(|_| bad("too large (at most 4294967295)")))
        };
        match name {
            "super_connector_min" => self.super_connector_min = small()?,
            "connector_min" => self.connector_min = small()?,
            "window_days" => self.window_days = small()?,
            "top_k" => self.top_k = small()?,
            "max_bad_lines" => self.max_bad_lines = number()?,
            "shuffle_rounds" => self.shuffle_rounds = small()?,
            "shuffle_seed" => self.shuffle_seed = number()?,
            _ => {
                let flag = FLAGS.iter().find(|(key, _)| *key == name);
                return Err(Error::Config(match flag {
                    Some((_, flag)) => {
                        let switch = ["--report", "--create-inbox"].contains(flag);
                        let value = if switch {
                            String::new()
                        } else {
                            format!(" {value}")
                        };
                        format!(
                            "--set {name}: {name} is not a parameter; give {flag}{value} \
                             instead (--set is for {})",
                            NAMES.join(", ")
                        )
                    }
                    None => format!(
                        "--set {name}: unknown parameter; the parameters are {}",
                        NAMES.join(", ")
                    ),
                }));
            }
        }
        Ok(())
    }
}
