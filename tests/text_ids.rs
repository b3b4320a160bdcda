//! Text user ids (`--ids text`): the independent oracle on random text ids
//! at 1, 2 and 4 workers and on two processes; a text run against an
//! integer run of the same ids; nights that bring and retire text ids
//! (incremental = batch, serve restarted at another worker count); the
//! header rule for text ids; the errors.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use reach::job::{IdMode, Job, Overrides};

/// A random text id: mixed case, quotes, commas, spaces, non-ASCII bytes,
/// digit strings (`7` and `07` are different ids).
fn random_id(rng: &mut Lcg) -> String {
    const PIECES: [&str; 14] = [
        "a", "B", "z", "Q", "\"", ",", " ", "é", "ß", "0", "7", "中", "_", "-",
    ];
    let len = 1 + rng.next(6);
    (0..len)
        .map(|_| PIECES[rng.next(PIECES.len() as u64) as usize])
        .collect()
}

/// A CSV field: quoted (RFC 4180) when it must be, or sometimes anyway.
fn field(id: &str, rng: &mut Lcg) -> String {
    if id.contains(['"', ',', ' ']) || rng.next(3) == 0 {
        format!("\"{}\"", id.replace('"', "\"\""))
    } else {
        id.to_string()
    }
}

/// Friendships and adoptions over random text ids, as CSV texts and as records.
struct Data {
    friendships: String,
    adoptions: String,
    edges: Vec<(String, String)>,
    observations: Vec<(String, String, i64)>,
}

fn data(seed: u64, users: usize, edges: usize, adoptions: usize) -> Data {
    let mut rng = Lcg(seed);
    let mut ids: BTreeSet<String> = BTreeSet::new();
    while ids.len() < users {
        let id = random_id(&mut rng);
        // A header-looking first line is a case of its own (below).
        if !reach::ids::opens_header(&id) {
            ids.insert(id);
        }
    }
    let ids: Vec<String> = ids.into_iter().collect();
    let pick = |rng: &mut Lcg| ids[rng.next(ids.len() as u64) as usize].clone();
    let mut out = Data {
        friendships: "src,dst\n".to_string(),
        adoptions: "user,topic,day\n".to_string(),
        edges: Vec::new(),
        observations: Vec::new(),
    };
    for _ in 0..edges {
        let (a, b) = (pick(&mut rng), pick(&mut rng));
        out.friendships += &format!("{},{}\n", field(&a, &mut rng), field(&b, &mut rng));
        out.edges.push((a, b));
    }
    for _ in 0..adoptions {
        let user = pick(&mut rng);
        let topic = ["rock", "jazz, live", "folk"][rng.next(3) as usize];
        let day = 18_000 + rng.next(12) as i64;
        out.adoptions += &format!("{},\"{topic}\",{day}\n", field(&user, &mut rng));
        out.observations.push((user, topic.to_string(), day));
    }
    out
}

fn write_data(dir: &Path, data: &Data) -> (PathBuf, PathBuf) {
    let (f, a) = (dir.join("f.csv"), dir.join("a.csv"));
    std::fs::write(&f, &data.friendships).unwrap();
    std::fs::write(&a, &data.adoptions).unwrap();
    (f, a)
}

fn text_job(f: &Path, a: Option<&Path>, out: &Path, workers: usize, sets: &[&str]) -> Job {
    Job::resolve(
        None,
        Overrides {
            friendships: Some(f.to_path_buf()),
            adoptions: a.map(Path::to_path_buf),
            output: Some(out.to_path_buf()),
            workers: Some(workers),
            ids: Some(IdMode::Text),
            sets: sets.iter().map(|s| s.to_string()).collect(),
            ..Overrides::default()
        },
    )
    .unwrap()
}

/// Every id's rank in byte order: an order-preserving renaming to integers
/// for the integer oracle.
fn byte_ranks(data: &Data) -> BTreeMap<String, u64> {
    let ids: BTreeSet<&String> = data
        .edges
        .iter()
        .flat_map(|(a, b)| [a, b])
        .chain(data.observations.iter().map(|(u, _, _)| u))
        .collect();
    ids.into_iter()
        .enumerate()
        .map(|(rank, id)| (id.clone(), rank as u64))
        .collect()
}

/// A copy of an output's user tables with every text id replaced by its
/// rank, after checking that each part holds its rows in byte order.
fn renamed(output: &Path, ranks: &BTreeMap<String, u64>, into: &Path) {
    let tables = [
        ("users", USERS_HEADER, 0),
        ("user_topics", USER_TOPICS_HEADER, 0),
        ("topic_leaders", LEADERS_HEADER, 2),
    ];
    for (table, header, column) in tables {
        let dir = into.join(table);
        std::fs::create_dir_all(&dir).unwrap();
        for entry in std::fs::read_dir(output.join(table)).unwrap() {
            let path = entry.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap();
            let mut lines = text.lines();
            assert_eq!(lines.next(), Some(header));
            let rows: Vec<Vec<String>> = lines.map(csv_fields).collect();
            if column == 0 {
                let keys: Vec<&[u8]> = rows.iter().map(|r| r[0].as_bytes()).collect();
                assert!(
                    keys.windows(2).all(|w| w[0] <= w[1]),
                    "{}: byte order",
                    path.display()
                );
            }
            let mut out = format!("{header}\n");
            for mut row in rows {
                row[column] = ranks[&row[column]].to_string();
                let cells: Vec<String> = row
                    .iter()
                    .map(|c| format!("\"{}\"", c.replace('"', "\"\"")))
                    .collect();
                out += &(cells.join(",") + "\n");
            }
            std::fs::write(dir.join(path.file_name().unwrap()), out).unwrap();
        }
    }
}

fn oracle_of(data: &Data, ranks: &BTreeMap<String, u64>, k: usize) -> Oracle {
    let edges: Vec<(u64, u64)> = data
        .edges
        .iter()
        .map(|(a, b)| (ranks[a], ranks[b]))
        .collect();
    let observations: Vec<(u64, String, i64)> = data
        .observations
        .iter()
        .map(|(u, t, d)| (ranks[u], t.clone(), *d))
        .collect();
    let mut oracle = Oracle::new(&edges, &observations, 60);
    oracle.k = k;
    oracle
}

#[test]
fn text_ids_match_the_oracle_at_any_worker_and_process_count() {
    let dir = tempfile::tempdir().unwrap();
    let data = data(11, 300, 450, 700);
    let (f, a) = write_data(dir.path(), &data);
    let ranks = byte_ranks(&data);
    // top_k = 25: ties on credit and persuaded are common (ranks and the cut), so which users lead
    // depends on the byte order of their ids.
    let oracle = oracle_of(&data, &ranks, 25);
    let mut first = None;
    for workers in [1, 2, 4] {
        let out = dir.path().join(format!("out-{workers}"));
        reach::run::run(&text_job(&f, Some(&a), &out, workers, &["top_k=25"]), true).unwrap();
        let check = dir.path().join(format!("renamed-{workers}"));
        renamed(&out, &ranks, &check);
        assert_topical_matches(&check, &oracle);
        let tables = snapshot(&out);
        match &first {
            None => first = Some(tables),
            Some(expected) => assert!(&tables == expected, "{workers} workers"),
        }
    }
    // Two processes of two workers each, on loopback.
    let hostfile = dir.path().join("hosts.txt");
    loopback_hostfile(&hostfile, 2);
    let out = dir.path().join("out-2x2");
    let children: Vec<_> = (0..2)
        .map(|p| {
            Command::new(env!("CARGO_BIN_EXE_reach"))
                .args(["run", "-q", "--ids", "text", "--set", "top_k=25", "-w", "2"])
                .arg("--friendships")
                .arg(&f)
                .arg("--adoptions")
                .arg(&a)
                .arg("--output")
                .arg(&out)
                .args(["--processes", "2", "--process", &p.to_string()])
                .arg("--hostfile")
                .arg(&hostfile)
                .spawn()
                .unwrap()
        })
        .collect();
    for mut child in children {
        assert!(child.wait().unwrap().success());
    }
    assert!(snapshot(&out) == first.unwrap(), "two processes");
}

/// The rows of a table, sorted (order aside).
fn rows(output: &Path, table: &str) -> Vec<String> {
    let mut rows: Vec<String> = Vec::new();
    for entry in std::fs::read_dir(output.join(table)).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        rows.extend(text.lines().skip(1).map(str::to_string));
    }
    rows.sort();
    rows
}

#[test]
fn a_text_run_equals_an_integer_run_of_the_same_decimal_ids() {
    let dir = tempfile::tempdir().unwrap();
    // Five-digit ids: byte order is number order, so leaders tie alike
    // (a sparse graph and top_k = 30: many ties on credit and persuaded).
    let mut rng = Lcg(5);
    let mut f = "src,dst\n".to_string();
    for _ in 0..500 {
        f += &format!("{},{}\n", 10_000 + rng.next(400), 10_000 + rng.next(400));
    }
    let mut a = "user,topic,day\n".to_string();
    for _ in 0..700 {
        let topic = ["rock", "jazz"][rng.next(2) as usize];
        a += &format!(
            "{},{topic},2020-01-{:02}\n",
            10_000 + rng.next(400),
            1 + rng.next(9)
        );
    }
    let (fp, ap) = (dir.path().join("f.csv"), dir.path().join("a.csv"));
    std::fs::write(&fp, f).unwrap();
    std::fs::write(&ap, a).unwrap();
    let text = dir.path().join("text");
    let integer = dir.path().join("integer");
    reach::run::run(&text_job(&fp, Some(&ap), &text, 2, &["top_k=30"]), true).unwrap();
    let mut job = text_job(&fp, Some(&ap), &integer, 2, &["top_k=30"]);
    job.ids = IdMode::Integer;
    reach::run::run(&job, true).unwrap();
    for table in TABLES {
        assert_eq!(rows(&text, table), rows(&integer, table), "{table}");
    }
    // Leaders are ordered by the contract (topic, rank): the same bytes.
    assert_eq!(
        std::fs::read(text.join("topic_leaders/part-00000.csv")).unwrap(),
        std::fs::read(integer.join("topic_leaders/part-00000.csv")).unwrap()
    );
    let summary = |out: &Path| std::fs::read(out.join("summary.json")).unwrap();
    assert_eq!(summary(&text), summary(&integer));
}

/// The tables and change feeds of an output, without run files and checkpoint.
fn tables(output: &Path) -> BTreeMap<String, Vec<u8>> {
    snapshot(output)
        .into_iter()
        .filter(|(path, _)| {
            !path.starts_with('_') && !path.ends_with(".json") && !path.starts_with("rejects")
        })
        .collect()
}

#[test]
fn nights_that_bring_and_retire_text_ids_equal_a_batch() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::write(
        root.join("f.csv"),
        "src,dst\nalice,bob\nbob,\"c,arl\"\nÉva,alice\nÉva,bob\nzed,alice\n",
    )
    .unwrap();
    std::fs::write(
        root.join("a.csv"),
        "user,topic,day\nalice,rock,2020-01-01\nbob,rock,2020-01-03\nzed,rock,2020-01-02\n\
         Éva,rock,2020-01-04\n",
    )
    .unwrap();
    // Night 1 brings new ids (one only through an adoption); night 2 retires
    // zed (its only friendship and adoption removed) and one new id.
    let n1 = root.join("nights/2020-02-01");
    std::fs::create_dir_all(&n1).unwrap();
    std::fs::write(
        n1.join("friendships.csv"),
        "op,src,dst\n+,Zoë,alice\n+,\"q\"\"uote\",bob\n+,Zoë,\"c,arl\"\n",
    )
    .unwrap();
    std::fs::write(
        n1.join("adoptions.csv"),
        "op,user,topic,day\n+,Zoë,rock,2020-01-05\n+,lonely,jazz,2020-01-06\n",
    )
    .unwrap();
    let n2 = root.join("nights/2020-02-02");
    std::fs::create_dir_all(&n2).unwrap();
    std::fs::write(
        n2.join("friendships.csv"),
        "op,src,dst\n-,alice,zed\n-,bob,\"q\"\"uote\"\n+,\"c,arl\",alice\n",
    )
    .unwrap();
    std::fs::write(n2.join("adoptions.csv"), "op,user,topic,day\n-,zed,rock\n").unwrap();
    // The inputs as they stand after night 2, for the batch.
    std::fs::write(
        root.join("f2.csv"),
        "src,dst\nalice,bob\nbob,\"c,arl\"\nÉva,alice\nÉva,bob\nZoë,alice\nZoë,\"c,arl\"\n\
         \"c,arl\",alice\n",
    )
    .unwrap();
    std::fs::write(
        root.join("a2.csv"),
        "user,topic,day\nalice,rock,2020-01-01\nbob,rock,2020-01-03\nÉva,rock,2020-01-04\n\
         Zoë,rock,2020-01-05\nlonely,jazz,2020-01-06\n",
    )
    .unwrap();
    let batch = root.join("batch");
    reach::run::run(
        &text_job(
            &root.join("f2.csv"),
            Some(&root.join("a2.csv")),
            &batch,
            1,
            &[],
        ),
        true,
    )
    .unwrap();
    let users = rows(&batch, "users");
    assert!(
        users.iter().all(|r| !r.starts_with("zed,")),
        "zed retired: {users:?}"
    );
    assert!(
        users.iter().any(|r| r.starts_with("lonely,0,")),
        "{users:?}"
    );
    for workers in [1, 3] {
        let out = root.join(format!("incremental-{workers}"));
        let mut job = text_job(
            &root.join("f.csv"),
            Some(&root.join("a.csv")),
            &out,
            workers,
            &[],
        );
        job.deltas = Some(root.join("nights"));
        reach::run::run(&job, true).unwrap();
        let mut got = tables(&out);
        got.retain(|path, _| !path.starts_with("changes"));
        assert!(
            got == tables(&batch),
            "{workers} workers: incremental != batch"
        );
    }
}

#[test]
fn serve_on_text_ids_resumes_at_another_worker_count() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let data = root.join("data");
    let reach = || Command::new(env!("CARGO_BIN_EXE_reach"));
    let ok = |command: &mut Command| assert!(command.status().unwrap().success());
    ok(reach()
        .args([
            "generate",
            "-q",
            "--users",
            "400",
            "--nights",
            "2",
            "--text-ids",
            "--out",
        ])
        .arg(&data));
    let base = |command: &mut Command| {
        command
            .args(["-q", "--ids", "text", "--friendships"])
            .arg(data.join("friendships.csv"))
            .arg("--adoptions")
            .arg(data.join("adoptions.csv"));
    };
    let batch = root.join("batch");
    let mut command = reach();
    command.arg("run");
    base(&mut command);
    ok(command
        .arg("--deltas")
        .arg(data.join("nights"))
        .arg("--output")
        .arg(&batch));
    // serve: the base and night 1 with one worker, night 2 after a restart with three.
    let (inbox, out) = (root.join("inbox"), root.join("served"));
    std::fs::create_dir_all(&inbox).unwrap();
    let mut nights: Vec<String> = std::fs::read_dir(data.join("nights"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.ends_with(".ready"))
        .collect();
    nights.sort();
    for (night, workers) in nights.iter().zip(["1", "3"]) {
        std::fs::rename(data.join("nights").join(night), inbox.join(night)).unwrap();
        std::fs::write(inbox.join(format!("{night}.ready")), "").unwrap();
        let mut command = reach();
        command.args(["serve", "--drain", "--create-inbox", "-w", workers]);
        base(&mut command);
        ok(command.arg("--inbox").arg(&inbox).arg("--output").arg(&out));
    }
    let meta = std::fs::read_to_string(out.join("_checkpoint/checkpoint.json")).unwrap();
    assert!(meta.contains("\"ids\": \"text\""), "{meta}");
    let served = tables(&out);
    let expected = tables(&batch);
    let present = |t: &BTreeMap<String, Vec<u8>>| -> BTreeMap<String, Vec<u8>> {
        t.iter()
            .filter(|(p, _)| !p.starts_with("changes"))
            .map(|(p, b)| (p.clone(), b.clone()))
            .collect()
    };
    assert!(present(&served) == present(&expected), "served != batch");
    // The last night's feed too (earlier feeds are carried over).
    let last = format!("changes/{}", nights[1]);
    let feed = |t: &BTreeMap<String, Vec<u8>>| -> Vec<(String, Vec<u8>)> {
        t.iter()
            .filter(|(p, _)| p.starts_with(&last))
            .map(|(p, b)| (p.clone(), b.clone()))
            .collect()
    };
    assert!(!feed(&expected).is_empty());
    assert!(feed(&served) == feed(&expected), "night 2's feed");
}

/// Runs on a friendship text with text ids; the users table's ids, sorted,
/// or the error.
fn users_of(friendships: &str, sep_file: &str) -> Result<Vec<String>, String> {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join(sep_file);
    std::fs::write(&f, friendships).unwrap();
    let out = dir.path().join("out");
    reach::run::run(&text_job(&f, None, &out, 1, &[]), true)
        .map_err(|e| e.to_string().replace(&f.display().to_string(), "F"))?;
    let mut users: Vec<String> = rows(&out, "users")
        .iter()
        .map(|r| csv_fields(r)[0].clone())
        .collect();
    users.sort();
    Ok(users)
}

#[test]
fn the_header_rule_for_text_ids() {
    let users = |text: &str| users_of(text, "f.csv").unwrap();
    // A first line of plain names opening with a user column: a header, any case.
    assert_eq!(users("src,dst\na,b\n"), ["a", "b"]);
    assert_eq!(users("User_ID,friend\na,b\n"), ["a", "b"]);
    assert_eq!(users("# SNAP\n\nNODE,other\na,b\n"), ["a", "b"]);
    // Plain names that do not open with one: a friendship.
    assert_eq!(users("alice,bob\na,b\n"), ["a", "alice", "b", "bob"]);
    assert_eq!(users("dst,src\na,b\n"), ["a", "b", "dst", "src"]);
    // Opening with one, but not all plain names: a friendship.
    assert_eq!(
        users("id,2020-01-01\na,b\n"),
        ["2020-01-01", "a", "b", "id"]
    );
    // Only the first non-comment line can be a header.
    assert_eq!(users("a,b\nsrc,dst\n"), ["a", "b", "dst", "src"]);
    // Adoptions: `alice,rock,day` is no header, so its day is an error.
    let dir = tempfile::tempdir().unwrap();
    let (f, a) = (dir.path().join("f.csv"), dir.path().join("a.csv"));
    std::fs::write(&f, "a,b\n").unwrap();
    std::fs::write(&a, "alice,rock,day\n").unwrap();
    let error = reach::run::run(&text_job(&f, Some(&a), &dir.path().join("o"), 1, &[]), true)
        .unwrap_err()
        .to_string();
    assert!(error.contains("a.csv:1: "), "{error}");
    std::fs::write(&a, "USER,topic,day\nalice,rock,2020-01-01\n").unwrap();
    reach::run::run(&text_job(&f, Some(&a), &dir.path().join("o"), 1, &[]), true).unwrap();
}

#[test]
fn bad_text_ids_name_file_line_and_reason() {
    let error = |text: &str, file: &str| users_of(text, file).unwrap_err();
    let e = error("src,dst\na,b\n,b\n", "f.csv");
    assert!(e.contains("F:3: empty user id"), "{e}");
    let e = error("src,dst\n\"\",b\n", "f.csv");
    assert!(e.contains("F:2: empty user id"), "{e}");
    let e = error("a b,c\n", "f.csv");
    assert!(
        e.contains("F:1: user id \"a b\" holds a space unquoted"),
        "{e}"
    );
    let e = error("a,b\tc\n", "f.tsv");
    assert!(
        e.contains("F:1: user id \"a,b\" holds a comma unquoted"),
        "{e}"
    );
    let e = error("a,b,c\n", "f.csv");
    assert!(
        e.contains("F:1: expected 2 fields (src dst), found 3: an id or topic"),
        "{e}"
    );
    let long = "x".repeat(257);
    let e = error(&format!("a,b\n{long},b\n"), "f.csv");
    assert!(e.contains("F:2: user id \"xxxxxxxxxxxxxxxxxxxxxxxx...\" is 257 bytes long: text ids are at most 256 bytes"), "{e}");
    // Not yet with text ids, refused before anything runs: the shuffle test
    // and the report.
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("f.csv");
    std::fs::write(&f, "a,b\n").unwrap();
    let refused = |overrides: Overrides| Job::resolve(None, overrides).unwrap_err().to_string();
    let base = || Overrides {
        friendships: Some(f.clone()),
        output: Some(dir.path().join("o")),
        ids: Some(IdMode::Text),
        ..Overrides::default()
    };
    let e = refused(Overrides {
        sets: vec!["shuffle_rounds=5".to_string()],
        ..base()
    });
    assert!(e.contains("shuffle_rounds > 0"), "{e}");
    let e = refused(Overrides {
        report: true,
        ..base()
    });
    assert!(e.contains("--report"), "{e}");
    // What is allowed: quoted separators, 256 bytes, any UTF-8.
    let ok = users_of(
        &format!("\"a,b\",\"c d\"\n{},中\n", "y".repeat(256)),
        "f.csv",
    )
    .unwrap();
    assert_eq!(ok.len(), 4);
    assert!(ok.contains(&"a,b".to_string()) && ok.contains(&"c d".to_string()));
}
