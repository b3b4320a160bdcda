//! The command line: `reach run`, `reach generate`, `reach serve`, `reach report`.
//!
//! `-h` is help here; timely's own `-h` (hostfile) is `--hostfile`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::job::{Format, IdMode, Overrides, Ready};

/// Friend counts, super-connectors and topical influence over large
/// friendship graphs, with differential dataflow.
#[derive(Debug, Parser)]
#[command(name = "reach", version, about, long_about = None, after_help = "\
Examples:
  reach run jobs/quickstart.toml                      # a generated demo graph, no data needed
  reach run --friendships edges.csv --output out/edges -w 2
  reach generate --users 1000000 --seed 7 --out data/
  reach report out/quickstart                         # out/quickstart/report.html

Logs: set RUST_LOG=info (or debug) for per-stage logs on stderr.")]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
#[allow(clippy::large_enum_variant)] // parsed once; boxing would only add noise
pub enum Command {
    /// Run a job: read inputs, compute every table, publish the output directory.
    #[command(after_help = "\
Examples:
  reach run jobs/quickstart.toml
  reach run --friendships data/friendships.csv --output out/graph --workers 2
  reach run jobs/example.toml --set super_connector_min=500 --format parquet
  reach run job.toml --processes 2 --process 0 --hostfile cluster/hosts.txt   # on each machine, with its --process
  cluster/local.sh 2 --friendships f.csv --output out/f   # 2 processes on this machine

Inputs are CSV, tab- or space-separated text, optionally .gz, one file or a
directory of part files. The output directory is replaced atomically only when
the run succeeds; a failed run leaves the previous output untouched. An
existing output must be empty or an earlier reach output (else --overwrite);
an output that is or holds an input is always refused (docs/jobs.md).
Several processes or machines (launch kits, security, sizing): docs/cluster.md.")]
    Run(RunArgs),
    /// Write a deterministic synthetic graph (study-calibrated degrees) to files.
    #[command(after_help = "\
Examples:
  reach generate --users 100000 --out data/demo
  reach generate --users 1000000 --mean-degree 90 --seed 7 --out data/1m
  reach generate --users 100000 --nights 3 --out data/demo   # plus data/demo/nights/
  reach generate --users 100000 --customers --out data/crm   # plus identities.csv, purchases.csv

Writes friendships.csv (src,dst), adoptions.csv (user,topic,day) and
planted.csv (the planted cascade seeds); with --customers, identities.csv
(account,customer) and purchases.csv (customer,day,amount[,topic]); with
--nights, nights/<day>/ with friendships.csv and adoptions.csv of +/- changes
(and identities.csv, purchases.csv with --customers). The bytes depend only on
the options, never on the machine.")]
    Generate(GenerateArgs),
    /// Keep the tables current: load the base (or the last checkpoint), then
    /// apply each night that appears in the inbox, publishing after each one.
    #[command(after_help = "\
Examples:
  reach serve jobs/nightly.toml                 # watch the job's [serve] inbox until Ctrl-C
  reach serve jobs/nightly.toml --drain         # apply what is in the inbox, then exit
  reach serve job.toml --inbox /data/inbox --ready rename

A night is a directory NAME/ in the inbox with friendships*, adoptions*,
identities* and/or purchases* files of +/- changes (see docs/nightly.md).
With --ready marker (the default) it is applied once the file NAME.ready
appears beside it; with --ready rename, as soon as it is there (build it
elsewhere, then rename it in).
Nights apply in name order, each exactly once, even across crashes: after each
night the output (tables, the night's change feed, manifest.json, checkpoint)
is replaced in one atomic rename. A malformed night moves to rejected/ with a
report, and no later night applies until an operator decides (docs/nightly.md).
SIGTERM or Ctrl-C stops between nights.")]
    // Nights come from the inbox: --deltas is refused, so not listed.
    #[command(mut_arg("deltas", |arg| arg.hide(true)))]
    Serve(ServeArgs),
    /// Write a self-contained HTML report (figures, topics, tiers, provenance) of a published output.
    #[command(after_help = "\
Examples:
  reach report out/full                         # writes out/full/report.html
  reach report out/full --html ~/full.html
  reach run --friendships f.csv --adoptions a.csv --output out/full --report   # built by the run

The page has no scripts and fetches nothing: inline SVG figures (degree
distribution against the study's shares, influence against friend count),
the top topics with their leaders, the CRM tiers, the shuffle test when the
run had one, and the inputs' SHA-256 with the command that reproduces the run.
The same output gives the same bytes. docs/research.md explains every part.")]
    Report(ReportArgs),
}

/// `reach serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The job and its overrides, as for `reach run`.
    #[command(flatten)]
    pub run: RunArgs,
    /// The inbox directory to watch (overrides `[serve] inbox`).
    #[arg(long, value_name = "DIR")]
    pub inbox: Option<PathBuf>,
    /// When a night directory in the inbox is complete.
    #[arg(long, value_enum, value_name = "RULE")]
    pub ready: Option<Ready>,
    /// Apply every night ready in the inbox, then exit (instead of watching it).
    #[arg(long)]
    pub drain: bool,
    /// Create the inbox if it does not exist (without it, a missing inbox is
    /// refused: it is most often a typo). Also `[serve] create_inbox = true`.
    #[arg(long)]
    pub create_inbox: bool,
}

impl ServeArgs {
    /// The flags that override the job file.
    pub fn overrides(&self) -> Overrides {
        Overrides {
            inbox: self.inbox.clone(),
            ready: self.ready,
            create_inbox: self.create_inbox,
            ..self.run.overrides()
        }
    }
}

/// `reach report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// A published output directory (the --output of a finished `reach run`).
    pub output: PathBuf,
    /// Where to write the page (default OUTPUT/report.html); written atomically.
    #[arg(long, value_name = "PATH")]
    pub html: Option<PathBuf>,
    /// How many topics to list (the most adopters first).
    #[arg(long, value_name = "N", default_value_t = crate::report::DEFAULT_TOP_TOPICS)]
    pub topics: usize,
}

/// `reach run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Job file (TOML); flags below override it. See docs/jobs.md.
    pub job: Option<PathBuf>,
    /// Friendships: a file or a directory of part files, lines `src dst`.
    #[arg(long, value_name = "PATH")]
    pub friendships: Option<PathBuf>,
    /// Adoptions: a file or a directory of part files, lines `user topic day`.
    #[arg(long, value_name = "PATH")]
    pub adoptions: Option<PathBuf>,
    /// Nightly deltas: a directory with one sub-directory per night.
    #[arg(long, value_name = "DIR")]
    pub deltas: Option<PathBuf>,
    /// Customer identities, lines `account customer`, e.g. `7,C-007`
    ///
    /// A file or a directory of part files. Each line says that the social
    /// account (a user id of the friendship and adoption inputs) belongs to
    /// the CRM customer (a text id, compared byte for byte). Adds the
    /// customer tables; see docs/jobs.md, "Customer inputs".
    #[arg(long, value_name = "PATH")]
    pub identities: Option<PathBuf>,
    /// Customer purchases, lines `customer day amount [topic]`, e.g. `C-007,2026-11-22,12.5,rock`
    ///
    /// A file or a directory of part files. One line is one purchase; the
    /// amount is a plain decimal with a point and at most 4 digits after it
    /// (no currency sign, no thousands separators); the topic is optional.
    /// Adds the customer tables; see docs/jobs.md, "Customer inputs".
    #[arg(long, value_name = "PATH")]
    pub purchases: Option<PathBuf>,
    /// Output directory (replaced atomically), e.g. `out/run1`.
    #[arg(long, short = 'o', value_name = "DIR")]
    pub output: Option<PathBuf>,
    /// Table file format.
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub format: Option<Format>,
    /// User ids: `integer` (default, unsigned 64-bit) or `text` (any bytes,
    /// compared byte for byte, through a dictionary; see docs/jobs.md).
    #[arg(long, value_enum, value_name = "KIND")]
    pub ids: Option<IdMode>,
    /// Part files per large table (default 4); fixed so that output bytes do not depend on --workers.
    #[arg(long, value_name = "N")]
    pub parts: Option<usize>,
    /// Worker threads per process, e.g. `-w 2` (default 1).
    #[arg(long, short = 'w', value_name = "N")]
    pub workers: Option<usize>,
    /// Override a parameter, e.g. `--set super_connector_min=500`. Names:
    /// super_connector_min, connector_min, window_days, top_k, max_bad_lines,
    /// shuffle_rounds (R > 0 adds the `topic_significance` shuffle test), shuffle_seed.
    #[arg(long = "set", value_name = "NAME=VALUE")]
    pub sets: Vec<String>,
    /// Number of processes in a cluster run (each started with its own --process).
    #[arg(long, short = 'n', value_name = "N")]
    pub processes: Option<usize>,
    /// This process's index, 0..N-1 (process 0 publishes the output).
    #[arg(long, short = 'p', value_name = "I")]
    pub process: Option<usize>,
    /// Hostfile: one `host:port` per process, in process order.
    #[arg(long, value_name = "FILE")]
    pub hostfile: Option<PathBuf>,
    /// Fail if not every process has connected within this many seconds (default 60).
    #[arg(long, value_name = "SECS")]
    pub connect_timeout: Option<u64>,
    /// Also write report.html (see `reach report --help`) into the output before it is published.
    #[arg(long)]
    pub report: bool,
    /// Address to listen on for peers: `HOST` (the hostfile's port) or
    /// `HOST:PORT`; default: this process's own hostfile line. `0.0.0.0`
    /// listens on every interface: see docs/cluster.md before using it.
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<String>,
    /// Replace the output directory even if it is not an earlier output of
    /// reach (its contents are deleted). Never replaces an input or a file.
    #[arg(long)]
    pub overwrite: bool,
    /// Run more worker threads than 4 per available core (refused without it).
    #[arg(long)]
    pub force_workers: bool,
    /// Cluster runs: a file holding the shared secret every process must
    /// prove it knows (the same file content on every host; see docs/cluster.md).
    #[arg(long, value_name = "FILE")]
    pub secret_file: Option<PathBuf>,
    /// Cluster runs: the NAME of an environment variable holding the shared
    /// secret (never the secret itself on the command line).
    #[arg(long, value_name = "NAME")]
    pub secret_env: Option<String>,
    /// No progress bar and no final summary line.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

impl RunArgs {
    /// The flags that override the job file.
    pub fn overrides(&self) -> Overrides {
        Overrides {
            friendships: self.friendships.clone(),
            adoptions: self.adoptions.clone(),
            deltas: self.deltas.clone(),
            identities: self.identities.clone(),
            purchases: self.purchases.clone(),
            output: self.output.clone(),
            format: self.format,
            ids: self.ids,
            parts: self.parts,
            workers: self.workers,
            sets: self.sets.clone(),
            processes: self.processes,
            process: self.process,
            hostfile: self.hostfile.clone(),
            connect_timeout: self.connect_timeout,
            inbox: None,
            ready: None,
            create_inbox: false,
            report: self.report,
            listen: self.listen.clone(),
            overwrite: self.overwrite,
            force_workers: self.force_workers,
            secret_file: self.secret_file.clone(),
            secret_env: self.secret_env.clone(),
        }
    }
}

/// `reach generate`.
#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Number of users (ids 0..N-1).
    #[arg(long, value_name = "N", default_value_t = 100_000)]
    pub users: u64,
    /// Mean expected friend count.
    #[arg(long, value_name = "D", default_value_t = 90.0)]
    pub mean_degree: f64,
    /// Random seed: the same seed gives the same bytes.
    #[arg(long, value_name = "S", default_value_t = 7)]
    pub seed: u64,
    /// Directory to write into (created if missing).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Also write N nights of changes under DIR/nights/ (for --deltas).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub nights: usize,
    /// Also write customers: identities.csv (about 81% of accounts matched,
    /// some customers with 2-3 accounts) and purchases.csv (customers with
    /// and without accounts; cascade followers' customers tend to buy the
    /// cascade's topic soon after). See docs/jobs.md.
    #[arg(long)]
    pub customers: bool,
    /// Write text user ids (handles like `u_3f9k2`, `jsmith@mail.example`)
    /// instead of integers: run the data with `--ids text`.
    #[arg(long)]
    pub text_ids: bool,
    /// No progress bar.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}
