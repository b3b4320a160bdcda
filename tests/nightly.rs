//! Nights applied incrementally equal a fresh batch run over the inputs as
//! they stand after each night, and the change feeds compose to it.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::Path;

use common::*;

/// The inputs as METRICS.md defines their state: friendships as a set,
/// adoptions as (user, topic) -> earliest day.
#[derive(Clone, Default)]
struct State {
    friendships: BTreeSet<(u64, u64)>,
    adoptions: BTreeMap<(u64, String), i64>,
}

impl State {
    fn write(&self, dir: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
        std::fs::create_dir_all(dir).unwrap();
        let mut f = String::from("src,dst\n");
        for (a, b) in &self.friendships {
            writeln!(f, "{a},{b}").unwrap();
        }
        let mut a = String::from("user,topic,day\n");
        for ((u, t), d) in &self.adoptions {
            writeln!(a, "{u},{t},{d}").unwrap();
        }
        let (fp, ap) = (dir.join("f.csv"), dir.join("a.csv"));
        std::fs::write(&fp, f).unwrap();
        std::fs::write(&ap, a).unwrap();
        (fp, ap)
    }
}

const TOPICS: [&str; 5] = ["rock", "jazz", "pop", "folk", "new-in-a-night"];

/// A random base, and random nights written as delta files, applied to the
/// state literally (in file order) as the test's own reading of METRICS.md.
fn scenario(seed: u64, dir: &Path) -> (State, Vec<State>) {
    let mut rng = Lcg(seed);
    let users = 15 + rng.next(20);
    let mut base = State::default();
    for _ in 0..users * 2 {
        let (a, b) = (rng.next(users), rng.next(users));
        if a != b {
            base.friendships.insert((a.min(b), a.max(b)));
        }
    }
    for _ in 0..users * 2 {
        let key = (rng.next(users), TOPICS[rng.next(4) as usize].to_string());
        let day = 100 + rng.next(80) as i64;
        let entry = base.adoptions.entry(key).or_insert(day);
        *entry = (*entry).min(day);
    }
    let mut states = Vec::new();
    let mut state = base.clone();
    let deltas = dir.join("deltas");
    for night in 0..3 {
        let night_dir = deltas.join(format!("2026-11-0{}", night + 1));
        std::fs::create_dir_all(&night_dir).unwrap();
        let mut f = String::from(if night == 0 { "op src dst\n" } else { "" });
        for _ in 0..8 {
            let (a, b) = (rng.next(users + 3), rng.next(users + 3));
            let add = rng.next(2) == 0;
            writeln!(f, "{} {a} {b}", if add { '+' } else { '-' }).unwrap();
            if a != b {
                let key = (a.min(b), a.max(b));
                if add {
                    state.friendships.insert(key);
                } else {
                    state.friendships.remove(&key);
                }
            }
        }
        // Removing an existing friendship and re-adding it in the same night.
        if let Some(&(a, b)) = state.friendships.iter().next() {
            writeln!(f, "- {b} {a}\n+ {a} {b}").unwrap();
        }
        std::fs::write(night_dir.join("friendships.txt"), f).unwrap();
        let mut a = String::new();
        for _ in 0..8 {
            let user = rng.next(users + 3);
            let topic = TOPICS[rng.next(5) as usize].to_string();
            let day = 90 + rng.next(100) as i64;
            match rng.next(3) {
                0 => {
                    writeln!(a, "-\t{user}\t{topic}").unwrap();
                    state.adoptions.remove(&(user, topic));
                }
                1 => {
                    writeln!(a, "-\t{user}\t{topic}\t{day}").unwrap();
                    state.adoptions.remove(&(user, topic));
                }
                _ => {
                    writeln!(a, "+\t{user}\t{topic}\t{day}").unwrap();
                    let entry = state.adoptions.entry((user, topic)).or_insert(day);
                    *entry = (*entry).min(day);
                }
            }
        }
        std::fs::write(night_dir.join("adoptions.tsv"), a).unwrap();
        states.push(state.clone());
    }
    (base, states)
}

/// Every run also computes the shuffle test, so its table is checked through nights too.
const SETS: [&str; 1] = ["shuffle_rounds=12"];

const TABLES: [(&str, &str); 6] = [
    ("users", USERS_HEADER),
    ("user_topics", USER_TOPICS_HEADER),
    ("topic_leaders", LEADERS_HEADER),
    ("degree_distribution", DEGREES_HEADER),
    ("topics", "topic,adopters,socially_explained"),
    (
        "topic_significance",
        "topic,adopters,observed,shuffled_mean,shuffled_std,z,p_value",
    ),
];

/// Every table's rows as CSV lines (a multiset: rows are unique anyway).
fn table_lines(out: &Path) -> BTreeMap<&'static str, BTreeSet<String>> {
    TABLES
        .iter()
        .map(|(table, header)| {
            let rows = read_table(out, table, header);
            let lines = rows.into_iter().map(|r| r.join("\u{1}")).collect();
            (*table, lines)
        })
        .collect()
}

fn batch(state: &State, dir: &Path, workers: usize) -> std::path::PathBuf {
    let (fp, ap) = state.write(&dir.join("inputs"));
    let out = dir.join("out");
    run_full(Some(&fp), Some(&ap), &out, workers, &SETS).unwrap();
    out
}

fn run_nightly(base: &State, dir: &Path, workers: usize) -> std::path::PathBuf {
    let (fp, ap) = base.write(&dir.join("base"));
    let out = dir.join(format!("nightly{workers}"));
    let job = reach::job::Job::resolve(
        None,
        reach::job::Overrides {
            friendships: Some(fp),
            adoptions: Some(ap),
            deltas: Some(dir.join("deltas")),
            output: Some(out.clone()),
            workers: Some(workers),
            sets: SETS.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        },
    )
    .unwrap();
    reach::run::run(&job, true).unwrap();
    out
}

#[test]
fn nights_equal_batch_and_feeds_compose() {
    for seed in 0..6u64 {
        let dir = tempfile::tempdir().unwrap();
        let (base, states) = scenario(seed, dir.path());
        let expected: Vec<_> = std::iter::once(&base)
            .chain(&states)
            .enumerate()
            .map(|(k, state)| table_lines(&batch(state, &dir.path().join(format!("batch{k}")), 2)))
            .collect();
        for workers in [1, 2, 4] {
            if seed % 2 == 1 && workers != 2 {
                continue;
            }
            let out = run_nightly(&base, dir.path(), workers);
            // The final tables equal a batch run over the final inputs.
            assert_eq!(
                table_lines(&out),
                expected[3],
                "seed {seed}, {workers} workers: final tables"
            );
            // Base output + the feeds of nights 1..=k equal the batch after night k.
            let mut current = expected[0].clone();
            for (k, night) in ["2026-11-01", "2026-11-02", "2026-11-03"]
                .iter()
                .enumerate()
            {
                for (table, header) in TABLES {
                    let feed = out.join("changes").join(night);
                    let rows = read_table(&feed, table, &format!("op,{header}"));
                    let lines = current.get_mut(table).unwrap();
                    for row in rows {
                        let line = row[1..].join("\u{1}");
                        match row[0].as_str() {
                            "-" => assert!(
                                lines.remove(&line),
                                "seed {seed}: {table} feed removes a missing row {line:?}"
                            ),
                            "+" => assert!(
                                lines.insert(line),
                                "seed {seed}: {table} feed adds a present row"
                            ),
                            op => panic!("bad op {op}"),
                        }
                    }
                }
                assert_eq!(
                    current,
                    expected[k + 1],
                    "seed {seed}, {workers} workers: after night {}",
                    k + 1
                );
            }
            let summary: serde_json::Value =
                serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
            assert_eq!(summary["nights"].as_array().unwrap().len(), 3);
        }
    }
}
