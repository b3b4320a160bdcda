//! Every malformed-input class stops the job with `file:line: reason` and
//! leaves the previous output untouched; `max_bad_lines` skips and lists.

mod common;

use std::path::{Path, PathBuf};

use common::*;
use reach::job::Format;

/// Publishes a good output, then runs `input` into the same directory and
/// returns the first line of the error; checks the old output survived.
fn fails_with(input: &Path, workers: usize) -> String {
    let dir = input.parent().unwrap();
    let out = dir.join("out");
    let good = write(dir, "good.csv", "1,2\n2,3\n");
    run(&good, &out, 1, &[], Format::Csv).unwrap();
    let before = snapshot(&out);
    let error = run(input, &out, workers, &[], Format::Csv).unwrap_err();
    assert_eq!(snapshot(&out), before, "the previous output must survive");
    assert!(!dir.join(".out.staging").exists(), "staging is cleaned up");
    error.to_string().lines().next().unwrap().to_string()
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn write_bytes(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn wrong_field_count() {
    let dir = tempfile::tempdir().unwrap();
    let input = write(dir.path(), "f.csv", "src,dst\n1,2\n3,4,5\n");
    let path = input.display();
    assert_eq!(
        fails_with(&input, 1),
        format!("{path}:3: expected 2 fields (src dst), found 3")
    );
}

#[test]
fn non_numeric_id() {
    let dir = tempfile::tempdir().unwrap();
    let input = write(dir.path(), "f.txt", "1 2\n7 abc\n");
    assert_eq!(
        fails_with(&input, 2),
        format!(
            "{}:2: invalid user id \"abc\": expected an unsigned integer",
            input.display()
        )
    );
}

#[test]
fn id_out_of_range() {
    let dir = tempfile::tempdir().unwrap();
    let input = write(
        dir.path(),
        "f.txt",
        "18446744073709551615 1\n18446744073709551616 1\n",
    );
    assert_eq!(
        fails_with(&input, 1),
        format!(
            "{}:2: user id \"18446744073709551616\" is out of range: the largest is 18446744073709551615",
            input.display()
        )
    );
}

#[test]
fn header_in_the_middle_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let input = write(dir.path(), "f.csv", "1,2\nsrc,dst\n");
    assert_eq!(
        fails_with(&input, 1),
        format!(
            "{}:2: invalid user id \"src\": expected an unsigned integer",
            input.display()
        )
    );
}

#[test]
fn empty_file() {
    let dir = tempfile::tempdir().unwrap();
    let input = write(dir.path(), "f.csv", "");
    assert_eq!(
        fails_with(&input, 2),
        format!(
            "{}:1: no friendship records: the file is empty (only comments or a header). Check the path, or drop --friendships.",
            input.display()
        )
    );
    let header_only = write(dir.path(), "h.csv", "# c\nsrc,dst\n");
    assert!(fails_with(&header_only, 1).contains("h.csv:1: no friendship records"));
}

#[test]
fn crlf_lines_are_read() {
    let dir = tempfile::tempdir().unwrap();
    let text = "src,dst\r\n1,2\r\n2,3\r\n";
    let input = write(dir.path(), "f.csv", text);
    let out = dir.path().join("out");
    run(&input, &out, 2, &[], Format::Csv).unwrap();
    assert_matches_oracle(&out, &GraphOracle::from_text(text));
}

#[test]
fn missing_file() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("nope.csv");
    assert_eq!(
        fails_with(&input, 1),
        format!(
            "{}: No such file or directory (os error 2)",
            input.display()
        )
    );
}

#[test]
fn unreadable_gzip() {
    let dir = tempfile::tempdir().unwrap();
    let input = write(dir.path(), "f.csv.gz", "1,2\nnot gzip at all\n");
    assert_eq!(
        fails_with(&input, 1),
        format!(
            "{}:1: cannot decompress gzip data: invalid gzip header",
            input.display()
        )
    );
}

#[test]
fn invalid_utf8() {
    let dir = tempfile::tempdir().unwrap();
    let input = write_bytes(dir.path(), "f.csv", b"1,2\n3,\xff4\n");
    assert_eq!(
        fails_with(&input, 1),
        format!("{}:2: invalid UTF-8 at byte 3 of the line", input.display())
    );
}

#[test]
fn overlong_line_is_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("1,2\n");
    text.push_str(&"9".repeat(3 << 20));
    text.push_str(",1\n5,6\n");
    let input = write(dir.path(), "f.csv", &text);
    assert_eq!(
        fails_with(&input, 1),
        format!("{}:2: line is longer than 1048576 bytes", input.display())
    );
}

#[test]
fn line_numbers_are_absolute_in_split_files() {
    // Over 2 MiB, so two workers each read a byte range; the bad line is in
    // the second range and must still carry its line number in the file.
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::new();
    for i in 0..300_000u64 {
        text.push_str(&format!("{} {}\n", i, i + 1));
    }
    text.push_str("1 2 3\n");
    let input = write(dir.path(), "big.txt", &text);
    assert!(text.len() > 2 << 20);
    assert_eq!(
        fails_with(&input, 2),
        format!(
            "{}:300001: expected 2 fields (src dst), found 3",
            input.display()
        )
    );
}

#[test]
fn tolerated_bad_lines_go_to_rejects() {
    let dir = tempfile::tempdir().unwrap();
    let text = "src,dst\n1,2\nx,3\n2,3\n4,5,6\n";
    let input = write(dir.path(), "f.csv", text);
    let out = dir.path().join("out");
    let error = run(&input, &out, 1, &["max_bad_lines=1"], Format::Csv).unwrap_err();
    assert!(
        error
            .to_string()
            .contains("and 1 more bad lines, more than max_bad_lines = 1"),
        "{error}"
    );
    run(&input, &out, 2, &["max_bad_lines=2"], Format::Csv).unwrap();
    let rejects = std::fs::read_to_string(out.join("rejects.csv")).unwrap();
    let file = input.display();
    assert_eq!(
        rejects,
        format!(
            "file,line,reason\n{file},3,\"invalid user id \"\"x\"\": expected an unsigned integer\"\n{file},5,\"expected 2 fields (src dst), found 3\"\n"
        )
    );
    let users = users_sorted(&out);
    assert_eq!(users.len(), 3);
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["lines"]["bad_lines_skipped"], 2);
}

#[test]
fn bad_flags_name_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let input = write(dir.path(), "f.csv", "1,2\n");
    let out = dir.path().join("out");
    let error = run(&input, &out, 1, &["top_kk=3"], Format::Csv).unwrap_err();
    assert_eq!(
        error.to_string(),
        "--set top_kk: unknown parameter; the parameters are super_connector_min, connector_min, window_days, top_k, max_bad_lines, shuffle_rounds, shuffle_seed"
    );
    let error = run(&input, &out, 1, &["top_k=-1"], Format::Csv).unwrap_err();
    assert_eq!(
        error.to_string(),
        "--set top_k=-1: expected a non-negative integer"
    );
}
