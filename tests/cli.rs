//! The binary as a user meets it: the final line of `reach run`, what
//! `reach serve` refuses, what `--help` lists and what errors point to.
//! Inputs are small and hand-worked, so every expected number is counted
//! here, not taken from the program.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn reach(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_reach"))
        .args(args)
        .output()
        .expect("the reach binary starts")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn write(path: &Path, text: &str) -> PathBuf {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
    path.to_path_buf()
}

fn arg(path: &Path) -> &str {
    path.to_str().expect("temporary paths are UTF-8")
}

/// A star of 1,500 friendships around user 0 (one super-connector at the
/// default 1000) and `1 2`: 1,501 users, 1,501
/// friendships; 3 adoptions of 2 topics; one bad line, tolerated. One night
/// adds friendship `2000 2001` (2 more users) and adoption `1 jazz`.
#[test]
fn the_final_line_says_what_was_computed() {
    let dir = tempfile::tempdir().unwrap();
    let mut edges: String = (1..=1500).map(|f| format!("0,{f}\n")).collect();
    edges.push_str("1,2\nnot,a line\n");
    let friendships = write(&dir.path().join("f.csv"), &edges);
    let adoptions = write(
        &dir.path().join("a.csv"),
        "1 rock 2020-01-01\n2 rock 2020-01-02\n3 jazz 2020-01-01\n",
    );
    let nights = dir.path().join("nights");
    write(&nights.join("2020-02-01/friendships.csv"), "+ 2000 2001\n");
    write(
        &nights.join("2020-02-01/adoptions.csv"),
        "+ 1 jazz 2020-02-01\n",
    );
    let out = dir.path().join("out");
    let args = [
        "run",
        "--friendships",
        arg(&friendships),
        "--adoptions",
        arg(&adoptions),
        "--deltas",
        arg(&nights),
        "--output",
        arg(&out),
        "--set",
        "max_bad_lines=1",
    ];
    let output = reach(&args);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let stdout = text(&output.stdout);
    let expected = "reach: 1,503 users, 1,502 friendships, 1 super-connector, \
        4 adoptions of 2 topics, 1 night applied, 1 bad line skipped (rejects.csv) in ";
    assert!(stdout.starts_with(expected), "{stdout}");
    assert!(
        stdout
            .trim_end()
            .ends_with(&format!(" s -> {}", out.display())),
        "{stdout}"
    );

    // Friendships only: no word on adoptions, nights or bad lines.
    let only = write(&dir.path().join("g.csv"), "1,2\n2,3\n");
    let out = dir.path().join("only");
    let output = reach(&["run", "--friendships", arg(&only), "-o", arg(&out)]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let stdout = text(&output.stdout);
    assert!(
        stdout.starts_with("reach: 3 users, 2 friendships, 0 super-connectors in "),
        "{stdout}"
    );
}

/// `reach serve --inbox data/nosuch` (a typo) is refused, naming the inbox
/// and the way out, and creates nothing; with `--create-inbox` the inbox
/// and `applied/`, `rejected/` beside it are made.
#[test]
fn serve_refuses_a_missing_inbox_unless_asked_to_create_it() {
    let dir = tempfile::tempdir().unwrap();
    let friendships = write(&dir.path().join("f.csv"), "1,2\n2,3\n");
    let out = dir.path().join("out");
    let spool = dir.path().join("spool");
    std::fs::create_dir(&spool).unwrap();
    let inbox = spool.join("nosuch");
    let serve = |extra: &[&str]| {
        let mut args = vec![
            "serve",
            "--friendships",
            arg(&friendships),
            "--output",
            arg(&out),
            "--inbox",
            arg(&inbox),
            "--drain",
            "--quiet",
        ];
        args.extend_from_slice(extra);
        reach(&args)
    };
    let refused = serve(&[]);
    assert!(!refused.status.success());
    let stderr = text(&refused.stderr);
    assert!(
        stderr.contains(&format!("inbox {}: no such directory", inbox.display())),
        "{stderr}"
    );
    assert!(stderr.contains("--create-inbox"), "{stderr}");
    let left: Vec<_> = std::fs::read_dir(&spool).unwrap().collect();
    assert!(
        left.is_empty(),
        "nothing is created beside the inbox: {left:?}"
    );
    assert!(!out.exists(), "nothing is published");

    let created = serve(&["--create-inbox"]);
    assert!(created.status.success(), "{}", text(&created.stderr));
    for name in ["nosuch", "applied", "rejected"] {
        assert!(spool.join(name).is_dir(), "{name}/ is created");
    }
    assert!(out.join("_SUCCESS").exists(), "the base is published");
}

/// `reach serve` refuses `--deltas` (nights come from the inbox), so its
/// help does not list it; `reach run --help` does.
#[test]
fn serve_help_lists_only_what_serve_takes() {
    let serve = text(&reach(&["serve", "--help"]).stdout);
    assert!(
        serve.contains("--inbox") && serve.contains("--create-inbox"),
        "{serve}"
    );
    assert!(!serve.contains("--deltas"), "{serve}");
    let run = text(&reach(&["run", "--help"]).stdout);
    assert!(run.contains("--deltas"), "{run}");

    let refused = reach(&[
        "serve",
        "--friendships",
        "f.csv",
        "-o",
        "o",
        "--inbox",
        "i",
        "--deltas",
        "d",
    ]);
    assert!(!refused.status.success());
    let stderr = text(&refused.stderr);
    assert!(
        stderr.contains("--deltas (or [input] deltas) is for reach run"),
        "{stderr}"
    );
}

/// `--identities` and `--purchases` are flags of `reach run` and of
/// `reach serve`; the short help shows each with an example line, and the
/// long help says what the file holds.
#[test]
fn help_teaches_the_customer_inputs() {
    for command in ["run", "serve"] {
        let short = text(&reach(&[command, "-h"]).stdout);
        assert!(
            short.contains("--identities <PATH>") && short.contains("`7,C-007`"),
            "{command}: {short}"
        );
        assert!(
            short.contains("--purchases <PATH>") && short.contains("`C-007,2026-11-22,12.5,rock`"),
            "{command}: {short}"
        );
        let long = text(&reach(&[command, "--help"]).stdout);
        assert!(
            long.contains("belongs to the CRM customer") && long.contains("at most 4 digits"),
            "{command}: {long}"
        );
    }
}
