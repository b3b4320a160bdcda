//! The feed recipe of docs/nightly.md works as written: every SQL block of
//! the doc is in `docs/recipes/apply_feeds.py` verbatim (always checked),
//! and, where Python has DuckDB, the script runs end to end on a small
//! generated dataset: a base from `reach run` without `--deltas`, each
//! night's feed applied in night order from a `reach run --deltas` output
//! and from a `reach serve` output, then compared with their final tables.
//! A base computed with other parameters must make it fail.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{reach_ok as reach, TABLES};

fn repo(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// The contents of the ```sql blocks of a Markdown text.
fn sql_blocks(markdown: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in markdown.lines() {
        match &mut current {
            None if line.trim_start().starts_with("```sql") => current = Some(String::new()),
            None => {}
            Some(_) if line.trim_start().starts_with("```") => {
                blocks.push(current.take().unwrap());
            }
            Some(block) => {
                block.push_str(line);
                block.push('\n');
            }
        }
    }
    assert!(current.is_none(), "an unclosed ```sql block");
    blocks
}

#[test]
fn the_docs_sql_is_the_scripts_sql() {
    let doc = std::fs::read_to_string(repo("docs/nightly.md")).unwrap();
    let script = std::fs::read_to_string(repo("docs/recipes/apply_feeds.py")).unwrap();
    let blocks = sql_blocks(&doc);
    // The table and base, staging, delete+insert, MERGE, all nights at once.
    assert_eq!(blocks.len(), 5, "{blocks:#?}");
    for block in &blocks {
        assert!(
            script.contains(block.as_str()),
            "docs/nightly.md has SQL that docs/recipes/apply_feeds.py does not run as \
             written (edit both together):\n{block}"
        );
    }
    // The doc names the script the way it is run.
    assert!(doc.contains("python3 docs/recipes/apply_feeds.py out/base out/crm"));
}

#[test]
fn sql_blocks_are_found_whole() {
    let text = "a\n```sql\nSELECT 1;\n  FROM x;\n```\n```sh\nls\n```\n```sql\nB;\n```\n";
    assert_eq!(sql_blocks(text), ["SELECT 1;\n  FROM x;\n", "B;\n"]);
}

fn duckdb_missing() -> Option<String> {
    match Command::new("python3")
        .args(["-c", "import duckdb"])
        .output()
    {
        Ok(out) if out.status.success() => None,
        Ok(out) => Some(format!(
            "python3 cannot import duckdb ({}); `pip install duckdb`",
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .last()
                .unwrap_or("")
        )),
        Err(e) => Some(format!("no python3 ({e})")),
    }
}

fn apply_feeds(base: &Path, nightly: &Path) -> Output {
    Command::new("python3")
        .arg(repo("docs/recipes/apply_feeds.py"))
        .arg(base)
        .arg(nightly)
        .output()
        .unwrap()
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn the_feed_recipe_runs_end_to_end() {
    if let Some(reason) = duckdb_missing() {
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "SKIP the_feed_recipe_runs_end_to_end: {reason}; the recipe was not run"
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let p = |rel: &str| dir.path().join(rel).to_str().unwrap().to_string();
    reach(&[
        "generate",
        "-q",
        "--users",
        "1500",
        "--nights",
        "3",
        "--out",
        &p("data"),
    ]);
    let (f, a) = (p("data/friendships.csv"), p("data/adoptions.csv"));
    let inputs = ["--friendships", &f, "--adoptions", &a];
    let run = |extra: &[&str]| {
        let mut args = vec!["run", "-q", "-w", "2"];
        args.extend(inputs);
        args.extend(extra);
        reach(&args);
    };
    run(&["--output", &p("base")]);
    run(&["--deltas", &p("data/nights"), "--output", &p("crm")]);
    let mut serve = vec!["serve", "-q", "--drain", "-w", "2"];
    serve.extend(inputs);
    let (inbox, served) = (p("data/nights"), p("served"));
    serve.extend(["--inbox", &inbox, "--output", &served]);
    reach(&serve);

    for nightly in ["crm", "served"] {
        let out = apply_feeds(&dir.path().join("base"), &dir.path().join(nightly));
        let said = text(&out);
        assert!(out.status.success(), "{nightly}: {said}");
        assert!(
            said.contains(
                "base + 3 nights (2026-01-01, 2026-01-02, 2026-01-03) = the final tables"
            ),
            "{said}"
        );
        for table in TABLES {
            assert!(
                said.contains(&format!("{table} (delete+insert): ")),
                "{said}"
            );
        }
        assert!(said.contains("users (MERGE): "), "{said}");
    }

    // A base from other parameters: the feeds do not lead to the final tables.
    run(&["--output", &p("other"), "--set", "window_days=20"]);
    let out = apply_feeds(&dir.path().join("other"), &dir.path().join("crm"));
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("rows differ"), "{}", text(&out));
    // A --deltas output is refused as a base.
    let out = apply_feeds(&dir.path().join("crm"), &dir.path().join("crm"));
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("not a base"), "{}", text(&out));
}
