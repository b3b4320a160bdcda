//! The worked example of docs/metrics.md, run through the library, with
//! every number the doc works out by hand asserted as a literal. If this
//! test fails, the doc (or the program) is wrong: fix them together.

mod common;

use std::path::Path;

use common::*;

/// `friendships.csv` of the example, byte for byte as printed in the doc.
const FRIENDSHIPS: &str = "\
src,dst
1,2
1,4
2,3
2,4
2,5
3,4
3,5
";

/// `adoptions.csv` of the example, byte for byte as printed in the doc.
const ADOPTIONS: &str = "\
user,topic,day
1,rock,2024-01-01
2,rock,2024-03-01
3,rock,2024-03-01
4,rock,2024-03-02
5,rock,2024-03-02
1,jazz,2024-06-01
3,jazz,2024-06-01
2,jazz,2024-06-11
5,jazz,2024-08-30
5,jazz,2024-06-21
";

/// The parameter overrides of the example.
const SETS: &[&str] = &["super_connector_min=4", "connector_min=3"];

/// Writes the two inputs and runs the job; returns the output directory.
fn run_example(dir: &Path, name: &str, workers: usize) -> std::path::PathBuf {
    let friendships = dir.join("friendships.csv");
    let adoptions = dir.join("adoptions.csv");
    std::fs::write(&friendships, FRIENDSHIPS).unwrap();
    std::fs::write(&adoptions, ADOPTIONS).unwrap();
    let output = dir.join("out").join(name);
    run_full(Some(&friendships), Some(&adoptions), &output, workers, SETS).unwrap();
    output
}

/// Rows as vectors of strings, from string literals.
fn rows(literal: &[&[&str]]) -> Vec<Vec<String>> {
    literal
        .iter()
        .map(|row| row.iter().map(|s| s.to_string()).collect())
        .collect()
}

#[test]
fn worked_example_matches_the_hand_computation() {
    let dir = tempfile::tempdir().unwrap();
    let output = run_example(dir.path(), "example", 2);

    // user_topics: one row per adoption, with reach, persuaded and credit
    // exactly as worked out in the doc (tables "rock" and "jazz").
    let mut user_topics = read_table(&output, "user_topics", USER_TOPICS_HEADER);
    user_topics.sort_by_key(|r| (r[0].parse::<u64>().unwrap(), r[1].clone()));
    assert_eq!(
        user_topics,
        rows(&[
            // user, topic, adopted, reach, persuaded, credit
            &["1", "jazz", "2024-06-01", "1", "1", "0.5"], // 1/k(2,jazz) = 1/2
            &["1", "rock", "2024-01-01", "2", "1", "1.0"], // 1/k(2,rock) = 1/1
            &["2", "jazz", "2024-06-11", "3", "1", "0.5"], // 1/k(5,jazz) = 1/2
            &["2", "rock", "2024-03-01", "4", "2", "1.0"], // 1/k(4) + 1/k(5) = 1/2 + 1/2
            &["3", "jazz", "2024-06-01", "2", "2", "1.0"], // 1/k(2) + 1/k(5) = 1/2 + 1/2
            &["3", "rock", "2024-03-01", "3", "2", "1.0"], // 1/k(4) + 1/k(5) = 1/2 + 1/2
            &["4", "rock", "2024-03-02", "3", "0", "0.0"],
            &["5", "jazz", "2024-06-21", "2", "0", "0.0"], // the earlier of two days
            &["5", "rock", "2024-03-02", "2", "0", "0.0"],
        ])
    );

    // users: friend_count, influence, persuaded_total, top_topic and tier.
    assert_eq!(
        users_sorted(&output),
        rows(&[
            &["1", "2", "false", "1.5", "2", "rock", "topical-influencer"],
            &["2", "4", "true", "1.5", "3", "rock", "super-connector"],
            &["3", "3", "false", "2.0", "4", "jazz", "topical-influencer"],
            &["4", "3", "false", "0.0", "0", "", "connector"],
            &["5", "2", "false", "0.0", "0", "", "standard"],
        ])
    );

    // topic_leaders: the tie-breaks (credit desc, persuaded desc, user asc).
    assert_eq!(
        read_table(&output, "topic_leaders", LEADERS_HEADER),
        rows(&[
            &["jazz", "1", "3", "1.0", "2", "2"],
            &["jazz", "2", "1", "0.5", "1", "1"],
            &["jazz", "3", "2", "0.5", "1", "3"],
            &["rock", "1", "2", "1.0", "2", "4"],
            &["rock", "2", "3", "1.0", "2", "3"],
            &["rock", "3", "1", "1.0", "1", "2"],
        ])
    );

    // degree_distribution and the extra topics table.
    assert_eq!(
        read_table(&output, "degree_distribution", DEGREES_HEADER),
        rows(&[&["2", "2"], &["3", "2"], &["4", "1"]])
    );
    assert_eq!(
        read_table(&output, "topics", "topic,adopters,socially_explained"),
        rows(&[&["jazz", "4", "2"], &["rock", "5", "3"]])
    );

    // summary.json: the study shares 3/5 and 1/5, and the counts.
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(output.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["shares"]["share_connectors"], 0.6);
    assert_eq!(summary["shares"]["share_super"], 0.2);
    assert_eq!(summary["parameters"]["super_connector_min"], 4);
    assert_eq!(summary["parameters"]["connector_min"], 3);
    assert_eq!(summary["parameters"]["window_days"], 60);
    assert_eq!(summary["counts"]["users"], 5);
    assert_eq!(summary["counts"]["friendships"], 7);
    assert_eq!(summary["counts"]["adoptions"], 9);
    assert_eq!(summary["counts"]["topics"], 2);
    assert_eq!(summary["counts"]["socially_explained_adoptions"], 5);
    assert_eq!(summary["lines"]["adoption_records"], 10);
    assert_eq!(summary["lines"]["repeated_adoptions"], 1);
    assert_eq!(summary["lines"]["header_lines"], 2);
    assert!(output.join("_SUCCESS").exists());
}

#[test]
fn worked_example_agrees_with_the_oracle() {
    // The literal oracle of tests/common, on the same inputs: the hand
    // computation and the independent implementation agree.
    let dir = tempfile::tempdir().unwrap();
    let output = run_example(dir.path(), "example", 1);
    let edges = [(1, 2), (1, 4), (2, 3), (2, 4), (2, 5), (3, 4), (3, 5)];
    let adoptions = observations(ADOPTIONS);
    let mut oracle = Oracle::new(&edges, &adoptions, 60);
    oracle.t = 4;
    oracle.c = 3;
    assert_topical_matches(&output, &oracle);
    // The k values the doc's tables list (0 where there is no adoption:
    // user 4 did not adopt jazz).
    let ks = |t: &str| -> Vec<u64> { (1..=5).map(|u| oracle.k_of(u, t)).collect() };
    assert_eq!(ks("rock"), [0, 1, 0, 2, 2]);
    assert_eq!(ks("jazz"), [0, 2, 0, 0, 2]);
}

#[test]
fn worked_example_bytes_do_not_depend_on_workers() {
    let dir = tempfile::tempdir().unwrap();
    let one = run_example(dir.path(), "one", 1);
    let three = run_example(dir.path(), "three", 3);
    assert_eq!(snapshot(&one), snapshot(&three));
}
