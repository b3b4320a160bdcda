//! `reach report`: the page is well-formed, labels every chart's axes,
//! shows exactly the numbers of the tables it was built from (computed here
//! straight from the table files), and has the same bytes at any worker
//! count. The shuffle-test section is checked on a hand-made table.

mod common;
mod page;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::*;
use page::*;
use reach::job::{Format, Job, Overrides};

// ---------------------------------------------------------------- running

fn lastfm_job(output: &Path, workers: usize, format: Format) -> Job {
    Job::resolve(
        None,
        Overrides {
            friendships: Some(shared_data("hetrec2011-lastfm-2k/user_friends.dat")),
            adoptions: Some(shared_data("hetrec2011-lastfm-2k/adoptions.csv")),
            output: Some(output.to_path_buf()),
            workers: Some(workers),
            format: Some(format),
            report: true,
            ..Overrides::default()
        },
    )
    .unwrap()
}

/// Runs the lastfm job with the report built inside the run; returns the page.
fn lastfm(output: &Path, workers: usize, format: Format) -> String {
    reach::run::run(&lastfm_job(output, workers, format), true).unwrap();
    std::fs::read_to_string(output.join("report.html")).unwrap()
}

/// Expected numbers, straight from the CSV tables.
struct Expected {
    users: u64,
    tiers: BTreeMap<String, u64>,
    with_friends: u64,
    over_100: u64,
    at_least_1000: u64,
    /// (topic, adopters, socially_explained), most adopters first, then name.
    topics: Vec<(String, u64, u64)>,
}

fn expected(output: &Path) -> Expected {
    let users = read_table(output, "users", USERS_HEADER);
    let mut tiers = BTreeMap::new();
    for row in &users {
        *tiers.entry(row[6].clone()).or_insert(0) += 1;
    }
    // From friend counts in `users` (not from degree_distribution).
    let degrees: Vec<u64> = users.iter().map(|r| r[1].parse().unwrap()).collect();
    let mut topics: Vec<(String, u64, u64)> =
        read_table(output, "topics", "topic,adopters,socially_explained")
            .into_iter()
            .map(|r| (r[0].clone(), r[1].parse().unwrap(), r[2].parse().unwrap()))
            .collect();
    topics.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    Expected {
        users: users.len() as u64,
        tiers,
        with_friends: degrees.iter().filter(|&&d| d >= 1).count() as u64,
        over_100: degrees.iter().filter(|&&d| d > 100).count() as u64,
        at_least_1000: degrees.iter().filter(|&&d| d >= 1000).count() as u64,
        topics,
    }
}

// ---------------------------------------------------------------- tests

#[test]
fn lastfm_report_shows_the_numbers_of_its_tables() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let page = lastfm(&out, 1, Format::Csv);
    assert_self_contained(&page);
    let document = parse(&page);
    assert_eq!(assert_axes_labelled(&document), 2, "two figures");
    let keys = keyed(&document);
    let want = expected(&out);
    let get = |key: &str| number(&keys[key].0);

    assert_eq!(get("users"), want.users);
    assert_eq!(want.users, 1892); // the dataset README: 1,892 users
    assert_eq!(get("users_with_friends"), want.with_friends);
    for tier in [
        "super-connector",
        "topical-influencer",
        "connector",
        "standard",
    ] {
        let shown = get(&format!("tier:{tier}"));
        assert_eq!(shown, want.tiers.get(tier).copied().unwrap_or(0), "{tier}");
    }
    assert_eq!(want.tiers.values().sum::<u64>(), want.users);

    // The study shares: exact values in data-value, rounded text beside.
    for (key, count) in [
        ("share_over_100", want.over_100),
        ("share_at_least_1000", want.at_least_1000),
    ] {
        let share = count as f64 / want.with_friends as f64;
        let (text, value) = &keys[key];
        let value: f64 = value.as_deref().unwrap().parse().unwrap();
        assert_eq!(value, share, "{key}");
        assert_eq!(text, &format!("{:.2}%", share * 100.0), "{key}");
    }
    assert_eq!(get("users_over_100"), want.over_100);
    assert!(want.over_100 > 0); // lastfm: a few users above 100, none at 1000
    assert_eq!(get("users_at_least_1000"), 0);

    // Topics: the first 25 by adopters, with their adopters; the rest counted.
    let rows: Vec<(String, u64, u64)> = document
        .elements()
        .into_iter()
        .filter_map(|n| {
            let topic = n.attr("data-topic")?;
            let cell = |key: &str| {
                let cell = n
                    .elements()
                    .into_iter()
                    .find(|c| c.attr("data-col") == Some(key))
                    .unwrap();
                number(cell.text().trim())
            };
            Some((
                topic.to_string(),
                cell("adopters"),
                cell("socially_explained"),
            ))
        })
        .collect();
    assert_eq!(rows.len(), 25);
    assert_eq!(rows, want.topics[..25].to_vec());
    assert_eq!(get("topics_total"), want.topics.len() as u64);
    assert_eq!(get("topics_not_shown"), want.topics.len() as u64 - 25);
    // Leaders: at most 5 of each of the first 10 topics, credit to three decimals.
    let leaders: Vec<&Node> = document
        .elements()
        .into_iter()
        .filter(|n| n.attr("data-leader").is_some())
        .collect();
    assert!(
        !leaders.is_empty() && leaders.len() <= 50,
        "{}",
        leaders.len()
    );
    let first_ten: Vec<&str> = rows[..10].iter().map(|r| r.0.as_str()).collect();
    for leader in leaders {
        assert!(first_ten.contains(&leader.attr("data-leader").unwrap()));
        let credit = leader
            .elements()
            .into_iter()
            .find(|c| c.attr("data-col") == Some("credit"))
            .unwrap()
            .text();
        let decimals = credit.trim().split('.').nth(1).map_or(0, str::len);
        assert_eq!(decimals, 3, "{credit}");
    }
    assert_eq!(
        get("adoptions"),
        want.topics.iter().map(|t| t.1).sum::<u64>()
    );

    // Provenance: the inputs' SHA-256 from summary.json, and the command.
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    let sha = summary["inputs"]["friendships"][0]["sha256"]
        .as_str()
        .unwrap();
    assert!(page.contains(sha));
    let command = document
        .elements()
        .into_iter()
        .find(|n| n.attr("id") == Some("command"))
        .unwrap()
        .text();
    assert!(command.starts_with("reach run --friendships "), "{command}");
    assert!(
        command.contains("user_friends.dat --adoptions "),
        "{command}"
    );
    assert!(command.contains("--set window_days=60"), "{command}");
    assert!(
        !page.contains(dir.path().to_str().unwrap()),
        "the output path is in the page"
    );
}

#[test]
fn report_bytes_do_not_depend_on_workers_and_parquet_shows_the_same_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let one = lastfm(&dir.path().join("w1"), 1, Format::Csv);
    let two = lastfm(&dir.path().join("w2"), 2, Format::Csv);
    assert!(one == two, "report bytes differ between 1 and 2 workers");
    // `reach report` on the published output rebuilds the same bytes.
    let html = dir.path().join("again.html");
    reach::report::write(&dir.path().join("w2"), Some(&html), 25).unwrap();
    assert!(std::fs::read_to_string(&html).unwrap() == one);

    // From Parquet parts: every checkable number is the same.
    let parquet = lastfm(&dir.path().join("pq"), 2, Format::Parquet);
    let (csv_keys, parquet_keys) = (keyed(&parse(&one)), keyed(&parse(&parquet)));
    assert_eq!(csv_keys, parquet_keys);
    assert!(parquet.contains("--format parquet"));
}

#[test]
fn shuffle_test_section_from_a_hand_made_table() {
    let dir = tempfile::tempdir().unwrap();
    // z: 2.5, empty (std 0), inf, NaN, -1, 2.5 (tie: name order). p <= 0.05: a, c, f.
    let table = "topic,adopters,observed,shuffled_mean,shuffled_std,z,p_value\n\
                 a,10,5,2.5,1.0,2.5,0.01\n\
                 b,4,0,0.0,0.0,,1.0\n\
                 c,7,3,0.5,0.0,inf,0.05\n\
                 d,3,1,1.0,0.0,NaN,\n\
                 e,9,1,2.0,1.0,-1.0,0.8\n\
                 \"f, g\",12,6,3.5,1.0,2.5,0.0476\n";
    let out = hand_made(dir.path(), Some(table));
    let page = reach::report::build(&out, 25).unwrap();
    assert_self_contained(&page);
    let document = parse(&page);
    assert_axes_labelled(&document);
    let keys = keyed(&document);
    assert_eq!(keys["significant"].0, "3");
    assert_eq!(keys["tested"].0, "6");
    // Benjamini-Hochberg over the 5 defined p (d's is empty), by hand:
    // sorted a .01, f .0476, c .05, e .8, b 1.0 give .05, .119, .0833, 1, 1,
    // then the running minimum from the top: a .05, f .0833, c .0833, e 1, b 1.
    assert_eq!(keys["discoveries"].0, "1");
    let order: Vec<&str> = document
        .elements()
        .into_iter()
        .filter_map(|n| n.attr("data-significance"))
        .collect();
    // By q, then z (c's inf before f's 2.5); b (4 adopters) and d (3) are
    // below the 5 adopters a topic needs to be listed.
    assert_eq!(order, vec!["a", "c", "f, g", "e"]);
    assert!(
        page.contains("<td class=\"n\">0.0833</td>"),
        "f's and c's q"
    );
    let section = page.find("id=\"shuffle\"").unwrap();
    assert!(section < page.find("id=\"provenance\"").unwrap());

    // With top 2: two rows shown, counts over all rows.
    let page = reach::report::build(&out, 2).unwrap();
    let keys = keyed(&parse(&page));
    assert_eq!(
        (keys["significant"].0.as_str(), keys["tested"].0.as_str()),
        ("3", "6")
    );

    // Hand-worked numbers of the rest of the page.
    assert_eq!(keys["users"].0, "5");
    assert_eq!(keys["users_with_friends"].0, "4");
    assert_eq!(keys["tier:standard"].0, "2");
    assert_eq!(keys["tier:super-connector"].0, "1");
    assert_eq!(keys["topics_not_shown"].0, "1");
    assert_eq!(keys["zero_influence"].0, "2"); // users 3 and 4 (5 has no friend)
    assert_eq!(keys["param:shuffle_rounds"].0, "20");
    assert!(page.contains("data-topic=\"R&amp;B, soul\""));
    // Credit on the page with three decimals; the table keeps 17 digits.
    assert!(
        page.contains("data-col=\"credit\">0.500<"),
        "x's leader's credit"
    );
    assert!(!page.contains("0.49999999999999994"));
    // Part files of one directory: the command names the directory, quoted.
    assert!(page
        .contains("reach run --friendships &#39;f dir&#39; --output OUT --format csv --parts 2"));
}

#[test]
fn no_shuffle_section_without_its_table() {
    let dir = tempfile::tempdir().unwrap();
    let out = hand_made(dir.path(), None);
    // Degrees at the study's edges: 100 and 101, 999 and 1000.
    write(
        &out.join("degree_distribution/part-00000.csv"),
        "friend_count,users\n1,6\n100,1\n101,1\n999,1\n1000,1\n",
    );
    let page = reach::report::build(&out, 25).unwrap();
    assert!(!page.contains("id=\"shuffle\""));
    let keys = keyed(&parse(&page));
    // Hand-worked: 10 users with a friend; 101, 999, 1000 have more than 100; 1000 has 1000+.
    assert_eq!(keys["users_with_friends"].0, "10");
    assert_eq!(keys["users_over_100"].0, "3");
    assert_eq!(
        keys["share_over_100"],
        ("30.00%".to_string(), Some("0.3".to_string()))
    );
    assert_eq!(keys["users_at_least_1000"].0, "1");
    assert_eq!(
        keys["share_at_least_1000"],
        ("10.00%".to_string(), Some("0.1".to_string()))
    );
}

#[test]
fn report_refuses_a_directory_that_is_not_a_published_output() {
    let dir = tempfile::tempdir().unwrap();
    let out = hand_made(dir.path(), None);
    std::fs::remove_file(out.join("_SUCCESS")).unwrap();
    let binary = env!("CARGO_BIN_EXE_reach");
    let result = std::process::Command::new(binary)
        .args(["report", out.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!result.status.success());
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(
        stderr.contains("not a published reach output (no _SUCCESS)"),
        "{stderr}"
    );
    assert!(!out.join("report.html").exists());

    // A bad cell names its file and line.
    write(&out.join("_SUCCESS"), "");
    write(
        &out.join("degree_distribution/part-00000.csv"),
        "friend_count,users\n1,1\n2,two\n",
    );
    let err = reach::report::build(&out, 25).unwrap_err().to_string();
    assert!(
        err.contains("degree_distribution/part-00000.csv:3: users"),
        "{err}"
    );

    // The CLI writes OUTPUT/report.html by default.
    write(
        &out.join("degree_distribution/part-00000.csv"),
        "friend_count,users\n1,1\n2,2\n3,1\n",
    );
    let result = std::process::Command::new(binary)
        .args(["report", out.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        result.status.success(),
        "{}",
        String::from_utf8_lossy(&result.stderr)
    );
    assert!(out.join("report.html").exists());
}

#[test]
fn job_files_and_flags_turn_the_report_on() {
    let dir = tempfile::tempdir().unwrap();
    let job = dir.path().join("job.toml");
    let flags = || Overrides {
        friendships: Some(PathBuf::from("f.csv")),
        output: Some(PathBuf::from("out")),
        ..Overrides::default()
    };
    std::fs::write(&job, "[output]\nreport = true\n").unwrap();
    assert!(Job::resolve(Some(&job), flags()).unwrap().report);
    std::fs::write(&job, "[output]\nreport = false\n").unwrap();
    assert!(!Job::resolve(Some(&job), flags()).unwrap().report);
    let on = Overrides {
        report: true,
        ..flags()
    };
    assert!(Job::resolve(Some(&job), on).unwrap().report);
    assert!(!Job::resolve(None, flags()).unwrap().report);
}

/// A friendships-only output: the topics section says there were no
/// adoptions instead of "The 0 topics ... of 0; 0 are not shown".
#[test]
fn friendships_only_report_says_there_are_no_topics() {
    let dir = tempfile::tempdir().unwrap();
    let friendships = dir.path().join("f.csv");
    write(&friendships, "1,2\n2,3\n3,1\n3,4\n");
    let out = dir.path().join("out");
    run(&friendships, &out, 1, &[], Format::Csv).unwrap();
    let page = reach::report::build(&out, 25).unwrap();
    assert_self_contained(&page);
    let keys = keyed(&parse(&page));
    assert!(keys.contains_key("no_topics"), "says there are no topics");
    assert!(!keys.contains_key("topics_total"));
    assert!(!page.contains("The 0 topics"), "no empty topics table");
    assert!(!page.contains("Leaders of these topics"));
}
