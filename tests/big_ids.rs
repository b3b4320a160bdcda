//! Huge integer user ids (2^31 and above, up to u64::MAX) beside small ones:
//! the independent oracle table by table at 1, 2 and 4 workers and on two
//! processes, with leader ties decided by the numeric user id; rows placed
//! in part files by the id's hash (below 2^31) or its decimal text's bucket
//! (2^31 and above: through the dictionary) and sorted numerically; nights that bring
//! and retire huge ids (incremental = batch = oracle, and `reach serve`
//! restarted at another worker count = `reach run --deltas`); customers
//! whose accounts are huge ids, against their oracle after every night and
//! through a serve restart; the shuffle test unchanged by an
//! order-preserving relabelling of the ids below 2^31, and refusing larger
//! ones with the file and line.

mod common;

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use common::customers::{self as crm, Case, Inputs, Kind, Params};
use common::huge::*;
use common::*;

const TOPICS_HEADER: &str = "topic,adopters,socially_explained";
const SIGNIFICANCE_HEADER: &str = "topic,adopters,observed,shuffled_mean,shuffled_std,z,p_value";

/// Leader ties on (credit, persuaded) among huge and small ids, whose
/// numeric order differs from their byte order and from their order once
/// truncated to u32: in `pairs` each leader persuades exactly one follower
/// of its own (credit 1), in `star` six leaders persuade one hub (1/6 each).
fn add_ties(g: &mut Graph) {
    let leaders = [
        18446744073709551615,
        18446744073709551614,
        9223372036854775808,
        4294967301,
        2147483648,
        5,
        999,
        2147483647,
    ];
    for (i, &leader) in leaders.iter().enumerate() {
        let follower = [3_000_000_000, 1_000_000][i % 2] + i as u64;
        g.edges.push((follower, leader));
        g.adoptions.push((leader, "pairs".into(), 18_100));
        g.adoptions.push((follower, "pairs".into(), 18_101));
    }
    let hub = 18446744073709551613;
    for &leader in &[4294967296, 1, 9007199254740993, 7, 2147483649, 65536] {
        g.edges.push((hub, leader));
        g.adoptions.push((leader, "star".into(), 18_200));
    }
    g.adoptions.push((hub, "star".into(), 18_230));
}

/// The part files of `users` and `user_topics` (4 each): every row in the
/// part of its user's hash, rows sorted by numeric user id (then topic);
/// returns whether some part holds ids whose byte order is not their
/// numeric order (so that sorting as text would have been caught).
fn assert_parts(output: &Path) -> bool {
    let mut text_order_differs = false;
    for (table, header) in [("users", USERS_HEADER), ("user_topics", USER_TOPICS_HEADER)] {
        let parts = crm::parts(&output.join(table));
        assert_eq!(parts.len(), 4, "{table}: four parts");
        for (i, part) in parts.iter().enumerate() {
            assert!(part.ends_with(format!("part-0000{i}.csv")));
            let text = std::fs::read_to_string(part).unwrap();
            let mut lines = text.lines();
            assert_eq!(lines.next(), Some(header));
            let keys: Vec<(u64, String)> = lines
                .map(|l| {
                    let f = csv_fields(l);
                    (f[0].parse().unwrap(), f[1].clone())
                })
                .collect();
            for (id, _) in &keys {
                assert_eq!(part_of(*id, 4), i as u64, "{}: user {id}", part.display());
            }
            assert!(
                keys.windows(2).all(|w| w[0] < w[1]),
                "{}: rows in numeric user order",
                part.display()
            );
            let texts: Vec<String> = keys.iter().map(|k| k.0.to_string()).collect();
            text_order_differs |= texts.windows(2).any(|w| w[0] > w[1]);
        }
    }
    text_order_differs
}

/// The oracle's degree_distribution and topics tables against the output's.
fn assert_degrees_and_topics(output: &Path, oracle: &Oracle) {
    let mut degrees: BTreeMap<usize, u64> = BTreeMap::new();
    for friends in oracle.friends.values() {
        *degrees.entry(friends.len()).or_insert(0) += 1;
    }
    let want: Vec<Vec<String>> = degrees
        .iter()
        .map(|(d, n)| vec![d.to_string(), n.to_string()])
        .collect();
    assert_eq!(
        read_table(output, "degree_distribution", DEGREES_HEADER),
        want
    );
    let mut topics: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for (u, t) in oracle.adopted.keys() {
        let row = topics.entry(t.clone()).or_default();
        row.0 += 1;
        row.1 += u64::from(oracle.k_of(*u, t) >= 1);
    }
    let want: Vec<Vec<String>> = topics
        .iter()
        .map(|(t, (n, s))| vec![t.clone(), n.to_string(), s.to_string()])
        .collect();
    assert_eq!(read_table(output, "topics", TOPICS_HEADER), want);
}

/// Every check of an output against the oracle; whether the part check saw
/// byte order differ from numeric order.
fn assert_all(output: &Path, oracle: &Oracle) -> bool {
    assert_topical_matches(output, oracle);
    assert_degrees_and_topics(output, oracle);
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(output.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["counts"]["users"], oracle.users().len() as u64);
    assert_parts(output)
}

#[test]
fn huge_ids_match_the_oracle_at_any_worker_and_process_count() {
    let dir = tempfile::tempdir().unwrap();
    let mut graph = random_graph(3, 50, 70);
    add_ties(&mut graph);
    let (f, a) = graph.write(dir.path());
    // top_k = 5: `pairs` (eight leaders tied on 1 and 1) and `star` (six on
    // 1/6 and 1) are cut by the numeric user id, as are random ties.
    let oracle = graph.oracle(5);
    let leaders = oracle.leaders();
    let pairs: Vec<u64> = leaders["pairs"].iter().map(|l| l.0).collect();
    assert_eq!(pairs, [5, 999, 2147483647, 2147483648, 4294967301]);
    let star: Vec<u64> = leaders["star"].iter().map(|l| l.0).collect();
    assert_eq!(star, [1, 7, 65536, 2147483649, 4294967296]);
    let mut first = None;
    for workers in [1, 2, 4] {
        let out = dir.path().join(format!("out-{workers}"));
        run_full(Some(&f), Some(&a), &out, workers, &["top_k=5"]).unwrap();
        assert!(assert_all(&out, &oracle), "some part mixes digit counts");
        let files = snapshot(&out);
        match &first {
            None => first = Some(files),
            Some(first) => assert!(*first == files, "{workers} workers: other bytes"),
        }
    }
    let (hostfile, _) = two_hosts(dir.path());
    let out = dir.path().join("out-2x2");
    let mut args: Vec<OsString> = vec!["-q".into(), "--friendships".into(), f.into()];
    args.extend(["--adoptions".into(), a.into(), "--set".into()]);
    args.extend(["top_k=5".into(), "-w".into(), "2".into()]);
    args.extend(["--output".into(), out.clone().into()]);
    let children: Vec<_> = (0..2).map(|p| spawn(&args, p, &hostfile, false)).collect();
    for child in children {
        let (code, stderr) = wait_for(child, Duration::from_secs(120));
        assert_eq!(code, Some(0), "{stderr}");
    }
    assert!(
        snapshot(&out) == first.unwrap(),
        "two processes: other bytes"
    );
}

/// The tables and change feeds of an output, without json, run files and checkpoint.
fn tables(output: &Path) -> BTreeMap<String, Vec<u8>> {
    snapshot(output)
        .into_iter()
        .filter(|(path, _)| !path.starts_with('_') && !path.ends_with(".json"))
        .collect()
}

/// The rows of a night's feed of `users` for `user`, as (op, friend_count).
fn feed_rows(output: &Path, night: &str, user: u64) -> Vec<(String, String)> {
    let dir = output.join("changes").join(night).join("users");
    let mut rows = Vec::new();
    for part in crm::parts(&dir) {
        let text = std::fs::read_to_string(part).unwrap();
        for line in text.lines().skip(1) {
            let f = csv_fields(line);
            if f[1] == user.to_string() {
                rows.push((f[0].clone(), f[2].clone()));
            }
        }
    }
    rows
}

/// `reach serve --drain -w WORKERS` over the base `args`, which must succeed.
fn serve_drain(args: &[OsString], workers: &str, output: &Path, inbox: &Path) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_reach"))
        .args(["serve", "--drain", "--create-inbox", "-w", workers])
        .args(args)
        .arg("--output")
        .arg(output)
        .arg("--inbox")
        .arg(inbox)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
}

/// Copies night `name` of `nights` into the inbox and marks it ready.
fn deliver(nights: &Path, inbox: &Path, name: &str) {
    let to = inbox.join(name);
    std::fs::create_dir_all(&to).unwrap();
    for entry in std::fs::read_dir(nights.join(name)).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
    std::fs::write(inbox.join(format!("{name}.ready")), "").unwrap();
}

#[test]
fn nights_that_bring_and_retire_huge_ids_equal_a_batch_and_the_oracle() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let mut rng = Lcg(17);
    let (max, new, only_adopts) = (u64::MAX, 9007199254740993, 4294967296);
    let mut base = random_graph(8, 20, 25);
    let fresh = |u: &u64| ![max, new, only_adopts].contains(u);
    base.edges.retain(|(x, y)| fresh(x) && fresh(y));
    base.adoptions.retain(|(u, _, _)| fresh(u));
    let mut f = "src,dst\n".to_string();
    for (x, y) in &base.edges {
        writeln!(f, "{x},{y}").unwrap();
    }
    let mut a = "user,topic,day\n".to_string();
    for (u, t, d) in &base.adoptions {
        writeln!(a, "{u},{t},{d}").unwrap();
    }
    // u64::MAX: two friendships and an adoption in the base, retired in
    // night 2, back with another friend in night 3.
    let (x, y, z) = (base.edges[0].0, base.edges[1].1, base.edges[2].0);
    writeln!(f, "{max},{x}\n{y},{max}").unwrap();
    writeln!(a, "{max},rock,18000").unwrap();
    let random_lines = |rng: &mut Lcg| -> (String, String) {
        let pick = |rng: &mut Lcg| base.edges[rng.next(base.edges.len() as u64) as usize];
        let (mut f, mut a) = (String::new(), String::new());
        for _ in 0..6 {
            let (p, q) = (pick(rng), pick(rng));
            match rng.next(3) {
                0 => writeln!(f, "- {} {}", p.0, p.1).unwrap(),
                _ => writeln!(f, "+ {} {}", p.0, q.1).unwrap(),
            }
            let t = ["rock", "jazz", "folk"][rng.next(3) as usize];
            match rng.next(3) {
                0 => writeln!(a, "- {} {t}", p.1).unwrap(),
                _ => writeln!(a, "+ {} {t} {}", q.0, 18_000 + rng.next(14)).unwrap(),
            }
        }
        (f, a)
    };
    let mut nights = Vec::new();
    for (night, (extra_f, extra_a)) in [
        (
            "2026-03-01",
            (
                format!("+ {new} {x}\n+ {y} {new}\n"),
                format!("+ {new} rock 18003\n+ {only_adopts} jazz 18004\n"),
            ),
        ),
        (
            "2026-03-02",
            (
                format!("- {x} {max}\n- {max} {y}\n"),
                format!("- {max} rock\n- {only_adopts} jazz\n+ {new} jazz 18001\n"),
            ),
        ),
        (
            "2026-03-03",
            (format!("+ {max} {z}\n"), format!("+ {max} folk 18005\n")),
        ),
    ] {
        let (rf, ra) = random_lines(&mut rng);
        nights.push((
            night.to_string(),
            vec![
                ("friendships.txt".to_string(), rf + &extra_f),
                ("adoptions.txt".to_string(), ra + &extra_a),
            ],
        ));
    }
    let params = Params {
        k: 4,
        ..Params::default()
    };
    let case = Case {
        base: vec![(Kind::Friendships, f), (Kind::Adoptions, a)],
        nights,
        params,
    };
    let deltas = root.join("deltas");
    crm::reach_run(&case.write(&root.join("in")), &deltas, 2);
    // u64::MAX left in night 2, came back in night 3; 2^32 came and went.
    let names = case.night_names();
    assert_eq!(
        feed_rows(&deltas, &names[1], max),
        [("-".into(), "2".into())]
    );
    assert_eq!(
        feed_rows(&deltas, &names[2], max),
        [("+".into(), "1".into())]
    );
    assert_eq!(feed_rows(&deltas, &names[0], only_adopts)[0].0, "+");
    assert_eq!(feed_rows(&deltas, &names[1], only_adopts)[0].0, "-");
    // The batch over the inputs as they stand after night 3.
    let last: Inputs = case.states().pop().unwrap();
    let batch_case = Case {
        base: last.texts().into_iter().take(2).collect(),
        nights: Vec::new(),
        params,
    };
    let batch = root.join("batch");
    crm::reach_run(&batch_case.write(&root.join("batch-in")), &batch, 3);
    let mut got = tables(&deltas);
    got.retain(|path, _| !path.starts_with("changes"));
    assert!(got == tables(&batch), "run --deltas != batch");
    let edges: Vec<(u64, u64)> = last.friendships.iter().copied().collect();
    let adoptions: Vec<(u64, String, i64)> = last
        .adoptions
        .iter()
        .map(|((u, t), d)| (*u, t.clone(), *d))
        .collect();
    let mut oracle = Oracle::new(&edges, &adoptions, params.w);
    oracle.k = params.k;
    assert!(oracle.users().contains_key(&new) && !oracle.users().contains_key(&only_adopts));
    assert_all(&batch, &oracle);
    // serve: the base and nights 1-2 at one worker, night 3 after a
    // restart from the checkpoint at three.
    let (inbox, served) = (root.join("inbox"), root.join("served"));
    let serve_args = case.base_only(&root.join("serve-in"));
    for (i, night) in names.iter().enumerate() {
        deliver(&root.join("in/nights"), &inbox, night);
        if i == 1 {
            serve_drain(&serve_args, "1", &served, &inbox);
        }
    }
    serve_drain(&serve_args, "3", &served, &inbox);
    let (got, want) = (tables(&served), tables(&deltas));
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        want.keys().collect::<Vec<_>>()
    );
    for (name, bytes) in &want {
        assert!(got[name] == *bytes, "serve: {name} differs");
    }
}

/// random_case's ids (0..26) as huge and small ids, in no monotone order.
#[rustfmt::skip]
const ACCOUNTS: [u64; 26] = [
    18446744073709551615, 7, 2147483648, 4294967301,
    1, 9223372036854775808, 2147483647, 4294967296,
    5, 18446744073709551614, 9007199254740993, 999,
    2147483649, 0, 4294967295, 65536,
    9007199254740992, 2147483646, 9223372036854775807, 4294967297,
    12, 3000000000, 13, 10000000000000000000,
    14, 2147483650,
];

/// A text of `kind` with its user id fields (after the op of a change line)
/// mapped through ACCOUNTS; headers and customers untouched.
fn relabel(kind: Kind, text: &str, nightly: bool) -> String {
    let ids = match kind {
        Kind::Friendships => 2,
        Kind::Adoptions | Kind::Identities => 1,
        Kind::Purchases => 0,
    };
    let op = usize::from(nightly);
    let mut out = String::new();
    for line in text.lines() {
        let sep = if line.contains(',') { "," } else { " " };
        let mut fields: Vec<String> = line.splitn(op + ids + 1, sep).map(String::from).collect();
        for field in fields.iter_mut().skip(op).take(ids) {
            if let Ok(id) = field.parse::<usize>() {
                *field = ACCOUNTS[id].to_string();
            }
        }
        out += &(fields.join(sep) + "\n");
    }
    out
}

/// random_case with huge accounts, and a last night that moves a huge
/// account from its customer to another.
fn huge_case(seed: u64) -> Case {
    let mut case = crm::random_case(seed, true);
    for (kind, text) in &mut case.base {
        *text = relabel(*kind, text, false);
    }
    for (_, files) in &mut case.nights {
        for (file, text) in files {
            *text = relabel(Kind::of_file(file).unwrap(), text, true);
        }
    }
    let last = case.states().pop().unwrap();
    let (account, own) = last
        .identities
        .iter()
        .find(|(a, _)| **a >= HUGE_MIN)
        .expect("a huge account with a customer");
    let other = if own == "C-6" { "C-5" } else { "C-6" };
    let text = format!("-,{account},\"{own}\"\n+,{account},\"{other}\"\n");
    case.nights
        .push(("2026-02-09".into(), vec![("identities.csv".into(), text)]));
    case
}

#[test]
fn customers_with_huge_accounts_match_the_oracle_after_every_night() {
    for (seed, workers) in [(1u64, [2, 4]), (4, [2, 3])] {
        let case = huge_case(seed);
        let expected: Vec<crm::Expected> = case
            .states()
            .iter()
            .map(|s| crm::expected(s, &case.params))
            .collect();
        let dir = tempfile::tempdir().unwrap();
        let base_out = dir.path().join("base-out");
        crm::reach_run(&case.base_only(&dir.path().join("base-in")), &base_out, 2);
        crm::assert_customers_match(&base_out, &expected[0]);
        let base = crm::read_customer_tables(&base_out);
        let args = case.write(&dir.path().join("in"));
        let mut first = None;
        for w in workers {
            let out = dir.path().join(format!("out{w}"));
            crm::reach_run(&args, &out, w);
            crm::assert_nights_match(&out, &base, &case, &expected);
            let files = crm::customer_files(&out);
            match &first {
                None => first = Some(files),
                Some(first) => assert!(*first == files, "seed {seed}: bytes at {w} workers"),
            }
        }
        // serve: night 1 at two workers, the rest after a restart from the
        // checkpoint (identities of huge accounts) at three: the files of run.
        let (inbox, served) = (dir.path().join("inbox"), dir.path().join("served"));
        let serve_args = case.base_only(&dir.path().join("serve-in"));
        let names = case.night_names();
        for (i, night) in names.iter().enumerate() {
            deliver(&dir.path().join("in/nights"), &inbox, night);
            if i == 0 || i + 1 == names.len() {
                serve_drain(&serve_args, ["2", "3"][usize::from(i > 0)], &served, &inbox);
            }
        }
        let (got, want) = (tables(&served), tables(&dir.path().join("out2")));
        assert_eq!(
            got.keys().collect::<Vec<_>>(),
            want.keys().collect::<Vec<_>>()
        );
        for (name, bytes) in &want {
            assert!(got[name] == *bytes, "seed {seed}: serve: {name} differs");
        }
    }
}

/// One run with the shuffle test on; its topic_significance file.
fn significance(graph: &Graph, dir: &Path) -> String {
    let (f, a) = graph.write(dir);
    let out = dir.join("out");
    let sets = ["shuffle_rounds=40", "shuffle_seed=9", "window_days=6"];
    run_full(Some(&f), Some(&a), &out, 2, &sets).unwrap();
    let rows = read_table(&out, "topic_significance", SIGNIFICANCE_HEADER);
    assert!(rows.len() >= 3, "{rows:?}");
    std::fs::read_to_string(out.join("topic_significance/part-00000.csv")).unwrap()
}

#[test]
fn the_shuffle_test_is_unchanged_by_an_order_preserving_relabelling() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Lcg(23);
    // Spread over the ids below 2^31 (the shuffle test's range), sorted.
    let spread: Vec<u64> = (0..80u64).map(|i| i * 27_000_000 + 7).collect();
    let n = spread.len() as u64;
    let mut small = Graph::default();
    for _ in 0..n * 2 {
        small.edges.push((rng.next(n), rng.next(n)));
    }
    for _ in 0..n * 2 {
        let topic = ["rock", "jazz", "folk", "pop"][rng.next(4) as usize];
        small
            .adoptions
            .push((rng.next(n), topic.into(), 18_000 + rng.next(30) as i64));
    }
    let relabelled = |map: &dyn Fn(u64) -> u64| Graph {
        edges: small.edges.iter().map(|&(x, y)| (map(x), map(y))).collect(),
        adoptions: small
            .adoptions
            .iter()
            .map(|(u, t, d)| (map(*u), t.clone(), *d))
            .collect(),
    };
    let want = significance(&small, &dir.path().join("small"));
    let monotone = relabelled(&|i| spread[i as usize]);
    assert_eq!(significance(&monotone, &dir.path().join("spread")), want);
    // The test can see the order: reversed ids deal other days.
    let reversed = relabelled(&|i| spread[(n - 1 - i) as usize]);
    assert_ne!(significance(&reversed, &dir.path().join("reversed")), want);

    // Ids of 2^31 and above are refused with the shuffle test on (it deals
    // days in internal id order, which is the ids' order only below 2^31),
    // naming the file and line, and the way out.
    let huge = pool(&mut rng, 30, 50);
    let wide = relabelled(&|i| huge[i as usize]);
    let (f, a) = wide.write(&dir.path().join("wide"));
    let out = dir.path().join("wide/out");
    let sets = ["shuffle_rounds=40", "shuffle_seed=9"];
    let error = run_full(Some(&f), Some(&a), &out, 2, &sets)
        .unwrap_err()
        .to_string();
    assert!(error.contains("is 2^31 or above"), "{error}");
    assert!(error.contains("shuffle_rounds = 0"), "{error}");
    assert!(
        error.contains("f.csv:") || error.contains("a.csv:"),
        "{error}"
    );
    assert!(!out.join("topic_significance").exists());
}
