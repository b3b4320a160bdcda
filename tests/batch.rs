//! The batch job against a literal oracle of METRICS.md, on hand-made graphs
//! and the real datasets in ../shared/data, at several worker counts.

mod common;

use common::*;
use reach::job::Format;

fn write(dir: &std::path::Path, name: &str, text: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn star_with_duplicates_self_loops_and_both_orientations() {
    let dir = tempfile::tempdir().unwrap();
    // Hub 1 with leaves 2..=6; duplicates in both orientations, a self-loop on
    // a user (7) who has no friendship and so is not a user at all.
    let text = "src,dst\n1,2\n2,1\n1,3\n1,3\n4,1\n1,5\n6,1\n7,7\n1,1\n5,6\n";
    let input = write(dir.path(), "star.csv", text);
    let out = dir.path().join("out");
    run(&input, &out, 1, &[], Format::Csv).unwrap();
    let oracle = GraphOracle::from_text(text);
    assert_eq!(oracle.edges.len(), 6);
    assert_matches_oracle(&out, &oracle);
    // Hand-worked: hub has 5 friends, 5 and 6 have 2, the others 1; 7 is absent.
    let users = users_sorted(&out);
    let counts: Vec<(&str, &str)> = users
        .iter()
        .map(|r| (r[0].as_str(), r[1].as_str()))
        .collect();
    assert_eq!(
        counts,
        vec![
            ("1", "5"),
            ("2", "1"),
            ("3", "1"),
            ("4", "1"),
            ("5", "2"),
            ("6", "2")
        ]
    );
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["lines"]["self_loops_rejected"], 2);
    assert_eq!(summary["lines"]["duplicate_friendships"], 2);
    assert_eq!(summary["lines"]["header_lines"], 1);
}

#[test]
fn thresholds_follow_parameters() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::new();
    for leaf in 2..=4 {
        text.push_str(&format!("1 {leaf}\n"));
    }
    text.push_str("2 3\n");
    let input = write(dir.path(), "g.txt", &text);
    let out = dir.path().join("out");
    run(
        &input,
        &out,
        2,
        &["super_connector_min=3", "connector_min=2"],
        Format::Csv,
    )
    .unwrap();
    let users = users_sorted(&out);
    let tiers: Vec<(&str, &str, &str)> = users
        .iter()
        .map(|r| (r[0].as_str(), r[2].as_str(), r[6].as_str()))
        .collect();
    assert_eq!(
        tiers,
        vec![
            ("1", "true", "super-connector"),
            ("2", "false", "connector"),
            ("3", "false", "connector"),
            ("4", "false", "standard"),
        ]
    );
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["counts"]["super_connectors"], 1);
    assert_eq!(summary["shares"]["share_connectors"], 0.75);
    assert_eq!(summary["shares"]["share_super"], 0.25);
}

#[test]
fn ego_facebook_matches_oracle() {
    let input = shared_data("snap-ego-facebook/facebook_combined.txt");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    run(&input, &out, 2, &[], Format::Csv).unwrap();
    let oracle = GraphOracle::from_file(&input);
    assert_matches_oracle(&out, &oracle);
    let users = users_sorted(&out);
    let u107 = users.iter().find(|r| r[0] == "107").unwrap();
    assert_eq!(u107[1], "1045");
    assert_eq!(u107[6], "super-connector");
}

#[test]
fn musae_github_super_connectors() {
    let input = shared_data("musae-github/git_edges.csv");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    run(&input, &out, 4, &[], Format::Csv).unwrap();
    let oracle = GraphOracle::from_file(&input);
    assert_matches_oracle(&out, &oracle);
    let users = users_sorted(&out);
    let supers: Vec<u64> = users
        .iter()
        .filter(|r| r[2] == "true")
        .map(|r| r[1].parse().unwrap())
        .collect();
    assert_eq!(supers.len(), 21);
    assert_eq!(supers.iter().max(), Some(&9458));
}

#[test]
fn lastfm_lists_both_directions() {
    let input = shared_data("hetrec2011-lastfm-2k/user_friends.dat");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    run(&input, &out, 3, &[], Format::Csv).unwrap();
    let oracle = GraphOracle::from_file(&input);
    assert_eq!(oracle.edges.len(), 12_717);
    assert_matches_oracle(&out, &oracle);
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["lines"]["duplicate_friendships"], 12_717);
}

#[test]
fn worker_counts_give_identical_bytes() {
    let input = shared_data("musae-github/git_edges.csv");
    let dir = tempfile::tempdir().unwrap();
    let mut snapshots = Vec::new();
    for workers in [1, 2, 4] {
        let out = dir.path().join(format!("out{workers}"));
        run(&input, &out, workers, &[], Format::Csv).unwrap();
        snapshots.push(snapshot(&out));
    }
    assert!(snapshots[0].contains_key("users/part-00003.csv"));
    assert_eq!(snapshots[0], snapshots[1]);
    assert_eq!(snapshots[0], snapshots[2]);
}

#[test]
fn part_files_gzip_and_large_splits_agree() {
    // The same graph as one plain file, as a directory of parts (one gzipped),
    // and large enough (> 1 MiB) that two workers split the plain file.
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("# generated\n");
    let mut x = 12345u64;
    for _ in 0..120_000 {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let a = (x >> 33) % 5000;
        let b = (x >> 13) % 5000;
        text.push_str(&format!("{a}\t{b}\n"));
    }
    assert!(text.len() > 1 << 20);
    let single = write(dir.path(), "all.tsv", &text);
    let parts = dir.path().join("parts");
    std::fs::create_dir(&parts).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let (first, second) = lines.split_at(lines.len() / 2);
    std::fs::write(parts.join("part-0.tsv"), first.join("\n") + "\n").unwrap();
    {
        use std::io::Write;
        let file = std::fs::File::create(parts.join("part-1.tsv.gz")).unwrap();
        let mut gz = flate2::write::GzEncoder::new(file, flate2::Compression::fast());
        gz.write_all((second.join("\n") + "\n").as_bytes()).unwrap();
        gz.finish().unwrap();
    }
    std::fs::write(parts.join("_SUCCESS"), "").unwrap();
    let oracle = GraphOracle::from_text(&text);
    let out1 = dir.path().join("out1");
    run(&single, &out1, 2, &[], Format::Csv).unwrap();
    assert_matches_oracle(&out1, &oracle);
    let out2 = dir.path().join("out2");
    run(&parts, &out2, 3, &[], Format::Csv).unwrap();
    assert_eq!(users_sorted(&out1), users_sorted(&out2));
}

#[test]
fn parquet_reads_back_as_csv() {
    let input = shared_data("snap-ego-facebook/facebook_combined.txt");
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("csv");
    let parquet = dir.path().join("parquet");
    run(&input, &csv, 2, &[], Format::Csv).unwrap();
    run(&input, &parquet, 2, &[], Format::Parquet).unwrap();
    for (table, header) in [
        ("users", USERS_HEADER),
        ("degree_distribution", DEGREES_HEADER),
    ] {
        let expected = read_table(&csv, table, header);
        let mut parts: Vec<_> = std::fs::read_dir(parquet.join(table))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        parts.sort();
        let mut got = Vec::new();
        for part in parts {
            assert_eq!(part.extension().unwrap(), "parquet");
            got.extend(reach::output::parquet::read_parquet_rows(&part).unwrap());
        }
        assert_eq!(got, expected, "{table}");
    }
}

/// Without the public datasets a test fails at once, naming the file it
/// needs and where the datasets belong (not a raw `unwrap()` panic).
#[test]
fn missing_shared_data_names_the_file() {
    let payload = std::panic::catch_unwind(|| shared_data("no-such-dataset/edges.csv"))
        .expect_err("a missing dataset file fails the test");
    let message = payload
        .downcast_ref::<String>()
        .expect("the panic carries a message");
    assert!(
        message.starts_with("missing test data ")
            && message.contains("no-such-dataset/edges.csv")
            && message.contains("../shared/data"),
        "{message}"
    );
}
