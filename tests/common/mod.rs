//! Shared test helpers: running jobs through the library, reading published
//! tables back, and a literal oracle of METRICS.md written independently of
//! the job's code.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use reach::job::{Format, Job, Overrides};

/// The tables every all-tables run writes (`topic_significance` aside).
pub const TABLES: [&str; 5] = [
    "users",
    "user_topics",
    "topic_leaders",
    "degree_distribution",
    "topics",
];

pub mod customers;
pub mod huge;
mod processes;
#[allow(unused_imports)] // not every test file starts processes
pub use processes::*;

/// A file of the public datasets: `../shared/data/REL` beside the checkout
/// (or `$REACH_SHARED_DATA/REL`). A missing file fails the test at once
/// with a message naming it and where the datasets come from, rather than
/// a raw `unwrap()` panic deep inside a run; the failure is counted in
/// `cargo test`'s output like any other.
pub fn shared_data(rel: &str) -> PathBuf {
    let root = match std::env::var_os("REACH_SHARED_DATA") {
        Some(root) => PathBuf::from(root),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data"),
    };
    let path = root.join(rel);
    if !path.is_file() {
        panic!("{}", missing_data_message(&path));
    }
    path
}

/// What a test says when a dataset file is missing.
pub fn missing_data_message(path: &Path) -> String {
    format!(
        "missing test data {}: this test reads the public datasets, expected in \
         ../shared/data beside the checkout (or in $REACH_SHARED_DATA); their \
         README there names the sources. Tests that need no data run without them.",
        path.display()
    )
}

/// Runs a batch job on a friendship input.
pub fn run(
    friendships: &Path,
    output: &Path,
    workers: usize,
    sets: &[&str],
    format: Format,
) -> reach::Result<reach::run::RunReport> {
    let job = Job::resolve(
        None,
        Overrides {
            friendships: Some(friendships.to_path_buf()),
            output: Some(output.to_path_buf()),
            workers: Some(workers),
            format: Some(format),
            sets: sets.iter().map(|s| s.to_string()).collect(),
            ..Overrides::default()
        },
    )?;
    reach::run::run(&job, true)
}

/// Splits one CSV line (RFC 4180 quotes).
pub fn csv_fields(line: &str) -> Vec<String> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            ('"', true) => quoted = false,
            ('"', false) if field.is_empty() => quoted = true,
            (',', false) => fields.push(std::mem::take(&mut field)),
            (c, _) => field.push(c),
        }
    }
    fields.push(field);
    fields
}

/// Every data row of a CSV table (all parts, in part order), header checked.
pub fn read_table(output: &Path, table: &str, header: &str) -> Vec<Vec<String>> {
    let mut parts: Vec<PathBuf> = std::fs::read_dir(output.join(table))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    parts.sort();
    let mut rows = Vec::new();
    for part in parts {
        let text = std::fs::read_to_string(&part).unwrap();
        let mut lines = text.lines();
        assert_eq!(lines.next(), Some(header), "{}", part.display());
        rows.extend(lines.map(csv_fields));
    }
    rows
}

/// All files of an output directory with their bytes, except `run.json`
/// (which records timings and worker counts by design).
pub fn snapshot(output: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut stack = vec![output.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.file_name().unwrap() != "run.json" {
                let rel = path.strip_prefix(output).unwrap().display().to_string();
                files.insert(rel, std::fs::read(&path).unwrap());
            }
        }
    }
    files
}

/// A literal reading of METRICS.md for friendships: the simple undirected graph.
#[derive(Debug, Default)]
pub struct GraphOracle {
    /// Each friendship once, smaller id first.
    pub edges: BTreeSet<(u64, u64)>,
    /// Records read (self-loops included).
    pub records: u64,
    /// Self-loops.
    pub self_loops: u64,
}

impl GraphOracle {
    /// Parses text the way METRICS.md describes (no error handling: tests feed valid text).
    pub fn from_text(text: &str) -> GraphOracle {
        let mut oracle = GraphOracle::default();
        let mut first = true;
        for line in text.lines() {
            let line = line.trim_end_matches('\r');
            let t = line.trim();
            if t.is_empty() || t.starts_with('#') || t.starts_with('%') {
                continue;
            }
            let fields: Vec<&str> = if line.contains('\t') {
                line.split('\t').map(str::trim).collect()
            } else if line.contains(',') {
                line.split(',').map(str::trim).collect()
            } else {
                line.split_whitespace().collect()
            };
            let parsed: Option<Vec<u64>> = fields.iter().map(|f| f.parse().ok()).collect();
            let was_first = std::mem::replace(&mut first, false);
            let Some(ids) = parsed else {
                assert!(was_first, "oracle: bad line {line}");
                continue; // the header
            };
            oracle.records += 1;
            let (a, b) = (ids[0], ids[1]);
            if a == b {
                oracle.self_loops += 1;
            } else {
                oracle.edges.insert((a.min(b), a.max(b)));
            }
        }
        oracle
    }

    /// Reads a file (plain text).
    pub fn from_file(path: &Path) -> GraphOracle {
        GraphOracle::from_text(&std::fs::read_to_string(path).unwrap())
    }

    /// friend_count per user.
    pub fn degrees(&self) -> BTreeMap<u64, u64> {
        let mut degrees = BTreeMap::new();
        for &(a, b) in &self.edges {
            *degrees.entry(a).or_insert(0) += 1;
            *degrees.entry(b).or_insert(0) += 1;
        }
        degrees
    }

    /// The expected `users` rows (friendships only), as strings, sorted by user.
    pub fn users_rows(&self, super_min: u64, connector_min: u64) -> Vec<Vec<String>> {
        self.degrees()
            .into_iter()
            .map(|(user, d)| {
                let tier = if d >= super_min {
                    "super-connector"
                } else if d >= connector_min {
                    "connector"
                } else {
                    "standard"
                };
                vec![
                    user.to_string(),
                    d.to_string(),
                    (d >= super_min).to_string(),
                    "0.0".to_string(),
                    "0".to_string(),
                    String::new(),
                    tier.to_string(),
                ]
            })
            .collect()
    }

    /// The expected degree distribution rows.
    pub fn degree_rows(&self) -> Vec<Vec<String>> {
        let mut histogram: BTreeMap<u64, u64> = BTreeMap::new();
        for d in self.degrees().into_values() {
            *histogram.entry(d).or_insert(0) += 1;
        }
        histogram
            .into_iter()
            .map(|(d, n)| vec![d.to_string(), n.to_string()])
            .collect()
    }
}

pub const USERS_HEADER: &str =
    "user_id,friend_count,super_connector,influence,persuaded_total,top_topic,tier";
pub const DEGREES_HEADER: &str = "friend_count,users";

/// Reads the users table sorted by user id.
pub fn users_sorted(output: &Path) -> Vec<Vec<String>> {
    let mut rows = read_table(output, "users", USERS_HEADER);
    rows.sort_by_key(|r| r[0].parse::<u64>().unwrap());
    rows
}

/// Checks a published output against the oracle, with default parameters.
pub fn assert_matches_oracle(output: &Path, oracle: &GraphOracle) {
    assert_eq!(users_sorted(output), oracle.users_rows(1000, 101));
    assert_eq!(
        read_table(output, "degree_distribution", DEGREES_HEADER),
        oracle.degree_rows()
    );
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(output.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["counts"]["friendships"], oracle.edges.len() as u64);
    assert_eq!(summary["lines"]["friendship_records"], oracle.records);
    assert_eq!(summary["lines"]["self_loops_rejected"], oracle.self_loops);
    assert!(output.join("_SUCCESS").exists());
}

/// Runs a job on friendship and adoption files (either may be absent).
pub fn run_full(
    friendships: Option<&Path>,
    adoptions: Option<&Path>,
    output: &Path,
    workers: usize,
    sets: &[&str],
) -> reach::Result<reach::run::RunReport> {
    let job = Job::resolve(
        None,
        Overrides {
            friendships: friendships.map(Path::to_path_buf),
            adoptions: adoptions.map(Path::to_path_buf),
            output: Some(output.to_path_buf()),
            workers: Some(workers),
            sets: sets.iter().map(|s| s.to_string()).collect(),
            ..Overrides::default()
        },
    )?;
    reach::run::run(&job, true)
}

/// A literal, slow implementation of every metric of METRICS.md over maps,
/// written from the definitions and sharing no code with the job.
#[derive(Debug, Default)]
pub struct Oracle {
    /// N(u).
    pub friends: BTreeMap<u64, BTreeSet<u64>>,
    /// a(u,t): the earliest day of each (user, topic).
    pub adopted: BTreeMap<(u64, String), i64>,
    /// Parameters.
    pub t: u64,
    pub c: u64,
    pub w: i64,
    pub k: usize,
}

/// One expected `user_topics` row.
#[derive(Clone, Debug, PartialEq)]
pub struct ExpectedUserTopic {
    pub reach: u64,
    pub persuaded: u64,
    pub k: u64,
    /// credit as an exact fraction (numerator, denominator) and as f64.
    pub credit: f64,
    pub credit_exact: (u128, u128),
}

fn gcd(a: u128, b: u128) -> u128 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

fn add_fraction((n1, d1): (u128, u128), (n2, d2): (u128, u128)) -> (u128, u128) {
    let n = n1 * d2 + n2 * d1;
    let d = d1 * d2;
    let g = gcd(n, d).max(1);
    (n / g, d / g)
}

impl Oracle {
    /// Builds the oracle from friendship pairs and (user, topic, day) observations.
    pub fn new(edges: &[(u64, u64)], adoptions: &[(u64, String, i64)], w: i64) -> Oracle {
        let mut oracle = Oracle {
            t: 1000,
            c: 101,
            w,
            k: 100,
            ..Oracle::default()
        };
        for &(a, b) in edges {
            if a != b {
                oracle.friends.entry(a).or_default().insert(b);
                oracle.friends.entry(b).or_default().insert(a);
            }
        }
        for (u, topic, day) in adoptions {
            let entry = oracle.adopted.entry((*u, topic.clone())).or_insert(*day);
            *entry = (*entry).min(*day);
        }
        oracle
    }

    fn day(&self, u: u64, t: &str) -> Option<i64> {
        self.adopted.get(&(u, t.to_string())).copied()
    }

    fn neighbours(&self, u: u64) -> impl Iterator<Item = u64> + '_ {
        self.friends.get(&u).into_iter().flatten().copied()
    }

    /// k(v,t).
    pub fn k_of(&self, v: u64, t: &str) -> u64 {
        let Some(av) = self.day(v, t) else { return 0 };
        self.neighbours(v)
            .filter(|&w| {
                self.day(w, t)
                    .is_some_and(|aw| (1..=self.w).contains(&(av - aw)))
            })
            .count() as u64
    }

    /// The metrics of adoption (u,t).
    pub fn user_topic(&self, u: u64, t: &str) -> ExpectedUserTopic {
        let au = self.day(u, t).unwrap();
        let mut reach = 0;
        let mut persuaded = 0;
        let mut credit = 0.0;
        let mut exact = (0u128, 1u128);
        for v in self.neighbours(u) {
            let Some(av) = self.day(v, t) else { continue };
            reach += 1;
            if (1..=self.w).contains(&(av - au)) {
                persuaded += 1;
                let k = self.k_of(v, t);
                credit += 1.0 / k as f64;
                exact = add_fraction(exact, (1, u128::from(k)));
            }
        }
        ExpectedUserTopic {
            reach,
            persuaded,
            k: self.k_of(u, t),
            credit,
            credit_exact: exact,
        }
    }

    /// Topic leaders: topic -> [(user, credit, persuaded, reach)] in rank order.
    pub fn leaders(&self) -> BTreeMap<String, Vec<(u64, f64, u64, u64)>> {
        type Entry = (u64, (u128, u128), f64, u64, u64);
        let mut by_topic: BTreeMap<String, Vec<Entry>> = BTreeMap::new();
        for (u, t) in self.adopted.keys() {
            let m = self.user_topic(*u, t);
            if m.persuaded > 0 {
                by_topic.entry(t.clone()).or_default().push((
                    *u,
                    m.credit_exact,
                    m.credit,
                    m.persuaded,
                    m.reach,
                ));
            }
        }
        by_topic
            .into_iter()
            .map(|(t, mut list)| {
                // credit desc (exactly, as fractions), persuaded desc, user asc.
                list.sort_by(|a, b| {
                    let (an, ad) = a.1;
                    let (bn, bd) = b.1;
                    (bn * ad)
                        .cmp(&(an * bd))
                        .then(b.3.cmp(&a.3))
                        .then(a.0.cmp(&b.0))
                });
                list.truncate(self.k);
                (
                    t,
                    list.into_iter()
                        .map(|(u, _, c, p, r)| (u, c, p, r))
                        .collect(),
                )
            })
            .collect()
    }

    /// The users table: user -> (friend_count, influence, persuaded_total, top_topic, tier).
    pub fn users(&self) -> BTreeMap<u64, (u64, f64, u64, String, String)> {
        let leaders: BTreeSet<u64> = self
            .leaders()
            .values()
            .flat_map(|list| list.iter().map(|l| l.0))
            .collect();
        let mut users: BTreeSet<u64> = self.friends.keys().copied().collect();
        users.extend(self.adopted.keys().map(|(u, _)| *u));
        users
            .into_iter()
            .map(|u| {
                let friend_count = self.neighbours(u).count() as u64;
                let mut influence = 0.0;
                let mut persuaded_total = 0;
                let mut top: Option<((u128, u128), String)> = None;
                let mine = self
                    .adopted
                    .range((u, String::new())..)
                    .take_while(|((v, _), _)| *v == u);
                for ((_, t), _) in mine {
                    let m = self.user_topic(u, t);
                    influence += m.credit;
                    persuaded_total += m.persuaded;
                    if m.credit_exact.0 > 0 {
                        let better = match &top {
                            None => true,
                            Some(((bn, bd), name)) => {
                                let (n, d) = m.credit_exact;
                                n * bd > bn * d || (n * bd == bn * d && t < name)
                            }
                        };
                        if better {
                            top = Some((m.credit_exact, t.clone()));
                        }
                    }
                }
                let tier = if friend_count >= self.t {
                    "super-connector"
                } else if leaders.contains(&u) {
                    "topical-influencer"
                } else if friend_count >= self.c {
                    "connector"
                } else {
                    "standard"
                };
                (
                    u,
                    (
                        friend_count,
                        influence,
                        persuaded_total,
                        top.map(|(_, t)| t).unwrap_or_default(),
                        tier.to_string(),
                    ),
                )
            })
            .collect()
    }
}

/// Whether two decimals agree to 1e-9 relative.
pub fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

pub const USER_TOPICS_HEADER: &str = "user_id,topic,adopted,reach,persuaded,credit";
pub const LEADERS_HEADER: &str = "topic,rank,user_id,credit,persuaded,reach";

/// Days since 1970-01-01 of an ISO date, independently of the job's code.
pub fn iso_days(iso: &str) -> i64 {
    let y: i64 = iso[0..4].parse().unwrap();
    let m: i64 = iso[5..7].parse().unwrap();
    let d: i64 = iso[8..10].parse().unwrap();
    // Days from civil (Howard Hinnant), written out again here.
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

/// Compares every topical table of an output with the oracle.
pub fn assert_topical_matches(output: &Path, oracle: &Oracle) {
    // user_topics
    let rows = read_table(output, "user_topics", USER_TOPICS_HEADER);
    assert_eq!(rows.len(), oracle.adopted.len(), "one row per adoption");
    for row in &rows {
        let u: u64 = row[0].parse().unwrap();
        let t = &row[1];
        assert_eq!(
            Some(iso_days(&row[2])),
            oracle.day(u, t),
            "adopted of {u} {t}"
        );
        let m = oracle.user_topic(u, t);
        assert_eq!(row[3].parse::<u64>().unwrap(), m.reach, "reach of {u} {t}");
        assert_eq!(
            row[4].parse::<u64>().unwrap(),
            m.persuaded,
            "persuaded of {u} {t}"
        );
        let credit: f64 = row[5].parse().unwrap();
        assert!(
            close(credit, m.credit),
            "credit of {u} {t}: {credit} vs {}",
            m.credit
        );
    }
    // topic_leaders
    let rows = read_table(output, "topic_leaders", LEADERS_HEADER);
    let mut got: BTreeMap<String, Vec<(u64, f64, u64, u64)>> = BTreeMap::new();
    for row in &rows {
        let list = got.entry(row[0].clone()).or_default();
        assert_eq!(
            row[1].parse::<usize>().unwrap(),
            list.len() + 1,
            "ranks are 1..K in order"
        );
        list.push((
            row[2].parse().unwrap(),
            row[3].parse().unwrap(),
            row[4].parse().unwrap(),
            row[5].parse().unwrap(),
        ));
    }
    let expected = oracle.leaders();
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        expected.keys().collect::<Vec<_>>()
    );
    for (topic, list) in &expected {
        let mine = &got[topic];
        assert_eq!(mine.len(), list.len(), "leaders of {topic}");
        for (a, b) in mine.iter().zip(list) {
            assert_eq!((a.0, a.2, a.3), (b.0, b.2, b.3), "leader of {topic}");
            assert!(close(a.1, b.1));
        }
    }
    // users
    let rows = users_sorted(output);
    let expected = oracle.users();
    assert_eq!(
        rows.len(),
        expected.len(),
        "one row per user with a friendship or adoption"
    );
    for row in &rows {
        let u: u64 = row[0].parse().unwrap();
        let (friend_count, influence, persuaded_total, top_topic, tier) = &expected[&u];
        assert_eq!(
            row[1].parse::<u64>().unwrap(),
            *friend_count,
            "friend_count of {u}"
        );
        assert_eq!(row[2], (*friend_count >= oracle.t).to_string());
        assert!(
            close(row[3].parse().unwrap(), *influence),
            "influence of {u}"
        );
        assert_eq!(
            row[4].parse::<u64>().unwrap(),
            *persuaded_total,
            "persuaded_total of {u}"
        );
        assert_eq!(&row[5], top_topic, "top_topic of {u}");
        assert_eq!(&row[6], tier, "tier of {u}");
    }
}

/// A tiny deterministic generator for test inputs (independent of the job's).
pub struct Lcg(pub u64);

impl Lcg {
    /// A number in `0..n`.
    pub fn next(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

/// The `(user, topic, day)` observations of an adoptions CSV text with a
/// header line (topics may be quoted; days ISO).
pub fn observations(text: &str) -> Vec<(u64, String, i64)> {
    text.lines()
        .skip(1)
        .map(|line| {
            let f = csv_fields(line);
            (f[0].parse().unwrap(), f[1].clone(), iso_days(&f[2]))
        })
        .collect()
}

/// `n` ports free on loopback right now (bound once, then released).
pub fn free_ports(n: usize) -> Vec<u16> {
    let listeners: Vec<_> = (0..n)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0").unwrap())
        .collect();
    listeners
        .iter()
        .map(|l| l.local_addr().unwrap().port())
        .collect()
}

/// Writes a hostfile of `processes` free loopback ports to `path`.
pub fn loopback_hostfile(path: &Path, processes: usize) {
    let lines: String = free_ports(processes)
        .iter()
        .map(|p| format!("127.0.0.1:{p}\n"))
        .collect();
    std::fs::write(path, lines).unwrap();
}
