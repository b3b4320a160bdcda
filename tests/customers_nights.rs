//! The customer tables against the oracle of tests/common/customers.rs on
//! random small inputs with three nights of every input (friendships,
//! adoptions, identities, purchases): at 1, 2 and 4 workers and on two
//! processes, checked after every night through the change feeds; the
//! nightly tables equal a batch run over the final inputs; `reach serve`
//! gives the same files as `reach run --deltas`.
//!
//! Every test here runs the job with `--identities` / `--purchases`; the
//! oracle's own checks on these random inputs are in
//! `oracle_random_inputs_*`, which need no job.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use common::customers::*;

/// The oracle's expectations for a case: the base, then after each night.
fn expectations(case: &Case) -> Vec<Expected> {
    case.states()
        .iter()
        .map(|s| expected(s, &case.params))
        .collect()
}

/// The customer tables of a run over the base alone (none without customer inputs).
fn base_tables(case: &Case, has_customers: bool, expected: &Expected, dir: &Path) -> Tables {
    let out = dir.join("base-out");
    reach_run(&case.base_only(&dir.join("base-in")), &out, 2);
    if has_customers {
        assert_customers_match(&out, expected);
        read_customer_tables(&out)
    } else {
        for (table, _) in CUSTOMER_TABLES {
            assert!(!out.join(table).exists(), "{table} without customer inputs");
        }
        Tables::default()
    }
}

/// The customer table files of an output, without the change feeds.
fn table_files(output: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut files = customer_files(output);
    files.retain(|name, _| !name.starts_with("changes"));
    files
}

#[test]
fn random_nights_match_the_oracle_at_1_2_4_workers_and_equal_batch() {
    for seed in 0..6u64 {
        let with_base = seed % 3 != 0; // seeds 0 and 3: customers arrive in night 2
        let case = random_case(seed, with_base);
        let expected = expectations(&case);
        let dir = tempfile::tempdir().unwrap();
        let base = base_tables(&case, with_base, &expected[0], dir.path());
        let args = case.write(&dir.path().join("in"));
        let mut first: Option<BTreeMap<String, Vec<u8>>> = None;
        for workers in [1, 2, 4] {
            if seed % 2 == 1 && workers != 2 {
                continue; // odd seeds at 2 workers only
            }
            let out = dir.path().join(format!("out{workers}"));
            reach_run(&args, &out, workers);
            assert_nights_match(&out, &base, &case, &expected);
            assert_night_no_ops(&out, &case);
            let files = customer_files(&out);
            match &first {
                None => first = Some(files),
                Some(first) => assert_eq!(*first, files, "seed {seed}: bytes at {workers} workers"),
            }
        }
        // Incremental == batch: a run over the final inputs as base files.
        let last = case.states().pop().unwrap();
        let batch_case = Case {
            base: last.texts(),
            nights: Vec::new(),
            params: case.params,
        };
        let batch = dir.path().join("batch");
        reach_run(&batch_case.write(&dir.path().join("batch-in")), &batch, 2);
        assert_customers_match(&batch, expected.last().unwrap());
        assert_eq!(
            table_files(&batch),
            table_files(&dir.path().join("out2")),
            "seed {seed}: nightly tables equal the batch over the final inputs"
        );
    }
}

#[test]
fn two_processes_match_the_oracle_after_every_night() {
    for seed in [7u64, 9] {
        let case = random_case(seed, true);
        let expected = expectations(&case);
        let dir = tempfile::tempdir().unwrap();
        let base = base_tables(&case, true, &expected[0], dir.path());
        let mut args = case.write(&dir.path().join("in"));
        let out = dir.path().join("out");
        args.extend([
            "--output".into(),
            out.clone().into(),
            "-w".into(),
            "1".into(),
        ]);
        let (hostfile, _) = common::two_hosts(dir.path());
        let children: Vec<_> = (0..2)
            .map(|p| common::spawn(&args, p, &hostfile, false))
            .collect();
        for child in children {
            let (code, stderr) = common::wait_for(child, Duration::from_secs(120));
            assert_eq!(code, Some(0), "seed {seed}: {stderr}");
        }
        assert_nights_match(&out, &base, &case, &expected);
        let single = dir.path().join("single");
        reach_run(&case.write(&dir.path().join("in")), &single, 2);
        assert_eq!(customer_files(&out), customer_files(&single), "seed {seed}");
    }
}

#[test]
fn serve_gives_the_customer_files_of_run_with_deltas() {
    let case = random_case(11, true);
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    reach_run(&case.write(&dir.path().join("in")), &run, 2);
    assert_nights_match(
        &run,
        &base_tables(&case, true, &expectations(&case)[0], dir.path()),
        &case,
        &expectations(&case),
    );
    let inbox = dir.path().join("inbox");
    for night in case.night_names() {
        deliver(&dir.path().join("in/nights"), &inbox, &night);
    }
    let served = dir.path().join("served");
    let base = case.base_only(&dir.path().join("serve-in"));
    serve_drain(&base, "2", &served, &inbox);
    assert_same_customer_files(&served, &run);
}

/// Copies a night from `nights` into the inbox and marks it ready.
fn deliver(nights: &std::path::Path, inbox: &std::path::Path, night: &str) {
    let to = inbox.join(night);
    std::fs::create_dir_all(&to).unwrap();
    for entry in std::fs::read_dir(nights.join(night)).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
    std::fs::write(inbox.join(format!("{night}.ready")), "").unwrap();
}

/// `reach serve --drain` over `base` (its input flags), which must succeed.
fn serve_drain(
    base: &[std::ffi::OsString],
    workers: &str,
    output: &std::path::Path,
    inbox: &std::path::Path,
) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_reach"))
        .args(["serve", "--drain", "-w", workers])
        .args(base)
        .arg("--output")
        .arg(output)
        .arg("--inbox")
        .arg(inbox)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// summary.json's nights count the identity and purchase lines that changed
/// nothing as the oracle's literal semantics do (a refund of a purchase not
/// held, a mapping already there, a removal of one that is not).
fn assert_night_no_ops(output: &std::path::Path, case: &Case) {
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(output.join("summary.json")).unwrap()).unwrap();
    let states = case.states();
    for (k, (name, files)) in case.nights.iter().enumerate() {
        let dir = tempfile::tempdir().unwrap();
        for (file, text) in files {
            std::fs::write(dir.path().join(file), text).unwrap();
        }
        let want = states[k].clone().apply_night(dir.path());
        let night = &summary["nights"][k];
        assert_eq!(night["name"], name.as_str());
        let got = |kind: &str| {
            let counts = &night[kind];
            counts["noop_adds"].as_u64().unwrap_or(0) + counts["noop_removes"].as_u64().unwrap_or(0)
        };
        for kind in ["identities", "purchases"] {
            if night[kind].is_null() {
                continue; // a run without customer inputs at all
            }
            let want = want.get(kind).copied().unwrap_or(0);
            assert_eq!(got(kind), want, "{name}: {kind} no-ops");
        }
    }
}

/// `reach serve` stopped after the first night and started again (at
/// another worker count) resumes its customers from the checkpoint: the
/// identity book, the purchases with their copies, the customer dictionary
/// and whether customer files appeared. Its customer tables then equal
/// `reach run --deltas` over every night.
#[test]
fn serve_resumes_its_customers_from_the_checkpoint() {
    // Customers in the base (the checkpoint holds them), and customers
    // first in the second night (the service builds them then).
    for (seed, customer_base) in [(6, true), (5, false)] {
        serve_resumes(seed, customer_base);
    }
}

fn serve_resumes(seed: u64, customer_base: bool) {
    let case = random_case(seed, customer_base);
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    reach_run(&case.write(&dir.path().join("in")), &run, 2);
    let inbox = dir.path().join("inbox");
    let served = dir.path().join("served");
    let base = case.base_only(&dir.path().join("serve-in"));
    for (i, night) in case.night_names().iter().enumerate() {
        deliver(&dir.path().join("in/nights"), &inbox, night);
        // The first night alone, then the rest after a restart.
        if i == 0 || i + 1 == case.night_names().len() {
            serve_drain(&base, if i == 0 { "2" } else { "3" }, &served, &inbox);
        }
    }
    // The service learnt of customers at the second night: its first
    // night's feed has no customer tables, where the batch, which saw every
    // night before starting, wrote them empty (a header alone).
    let (got, mut want) = (customer_files(&served), customer_files(&run));
    let first = &case.night_names()[0];
    want.retain(|name, bytes| {
        let earlier = !customer_base && name.starts_with(&format!("changes/{first}/"));
        if earlier {
            assert_eq!(
                bytes.iter().filter(|b| **b == b'\n').count(),
                1,
                "{name}: empty"
            );
        }
        !earlier
    });
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        want.keys().collect::<Vec<_>>()
    );
    for (name, bytes) in &want {
        assert!(
            got[name] == *bytes,
            "{name} differs:\n{}\n---\n{}",
            String::from_utf8_lossy(&got[name]),
            String::from_utf8_lossy(bytes)
        );
    }
}

/// The oracle alone on the random inputs (no job): its self-checks hold
/// (money handed out per topic, value matrix sums), and the inputs reach
/// the cases the job tests above rely on.
#[test]
fn oracle_random_inputs_hold_the_invariants_and_cover_the_cases() {
    let mut seen: BTreeMap<&str, u64> = BTreeMap::new();
    let mut segments = std::collections::BTreeSet::new();
    for seed in 0..12u64 {
        let case = random_case(seed, seed % 3 != 0);
        let states = case.states();
        // An account that belongs to two customers over the nights.
        let owners = |a: &u64| -> std::collections::BTreeSet<&String> {
            states.iter().filter_map(|s| s.identities.get(a)).collect()
        };
        let remapped = states[3].identities.keys().any(|a| owners(a).len() > 1);
        *seen.entry("remapped accounts").or_insert(0) += u64::from(remapped);
        for (k, state) in states.iter().enumerate() {
            let e = expected(state, &case.params); // asserts its invariants
            let mut count = |what, yes: bool| *seen.entry(what).or_insert(0) += u64::from(yes);
            for row in &e.customers {
                count("several accounts", row[1].parse::<u64>().unwrap() >= 2);
                count("no account", row[1] == "0");
                count("influenced revenue", row[14] != "0.0");
                count("no purchases", row[13] == "No purchases");
                count(
                    "connector or more",
                    row[6] == "connector" || row[6] == "super-connector",
                );
                count("topical-influencer", row[6] == "topical-influencer");
                segments.insert(row[13].clone());
            }
            if k > 0 {
                let night = &case.nights[k - 1].1;
                let mut before = states[k - 1].clone();
                let dir = tempfile::tempdir().unwrap();
                for (file, text) in night {
                    std::fs::write(dir.path().join(file), text).unwrap();
                }
                let no_ops = before.apply_night(dir.path());
                count(
                    "identity no-ops",
                    no_ops.get("identities").copied().unwrap_or(0) > 0,
                );
                count(
                    "purchase no-ops",
                    no_ops.get("purchases").copied().unwrap_or(0) > 0,
                );
            }
        }
    }
    for what in ["several accounts", "no account", "remapped accounts"] {
        seen.entry(what).or_insert(0);
    }
    for (what, n) in &seen {
        assert!(*n > 0, "random inputs never give {what}: {seen:?}");
    }
    // "Others" needs a high frequency with a low monetary: rare here (it is
    // in rfm.rs's unit tests); the other eleven occur.
    assert!(segments.len() >= 11, "segments seen: {segments:?}");
}

/// Customer tables name no user, so the same data with text accounts
/// (`generate --text-ids`: each account a handle) gives the same bytes as
/// with integer accounts, once no leader is chosen by a tie on user ids
/// (`top_k` above the adopters: every user with credit leads). Sums over a
/// customer's accounts must not depend on the accounts' internal ids.
#[test]
fn text_accounts_give_the_customer_tables_of_integer_accounts() {
    let dir = tempfile::tempdir().unwrap();
    let path = |p: &str| dir.path().join(p).display().to_string();
    let mut outputs = Vec::new();
    for (ids, flag) in [("integer", None), ("text", Some("--text-ids"))] {
        let data = path(&format!("data-{ids}"));
        let mut args = vec![
            "generate",
            "--users",
            "12000",
            "--customers",
            "--out",
            &data,
            "-q",
        ];
        args.extend(flag);
        common::reach_ok(&args);
        let file = |name: &str| format!("{data}/{name}.csv");
        let out = path(&format!("out-{ids}"));
        common::reach_ok(&[
            "run",
            "--ids",
            ids,
            "--friendships",
            &file("friendships"),
            "--adoptions",
            &file("adoptions"),
            "--identities",
            &file("identities"),
            "--purchases",
            &file("purchases"),
            "--set",
            "top_k=1000000",
            "-w",
            "2",
            "-q",
            "--output",
            &out,
        ]);
        outputs.push(dir.path().join(format!("out-{ids}")));
    }
    let (integer, text) = (customer_files(&outputs[0]), customer_files(&outputs[1]));
    assert!(integer.keys().any(|k| k.starts_with("customers/")));
    for (name, bytes) in &integer {
        assert!(
            text.get(name) == Some(bytes),
            "{name} differs between integer and text accounts"
        );
    }
}
