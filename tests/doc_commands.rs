//! The commands the docs tell a user to type run as written: every command
//! of README.md's ```sh blocks, in order, then every block of docs/*.md
//! marked `<!-- runs as written: tests/doc_commands.rs -->`, each file in a
//! fresh directory holding a copy of `jobs/` and `docs/recipes/`, with the
//! built `reach` first on PATH (in place of `cargo install`).
//!
//! Only the sizes change, so that CI can afford it: `--users N` and the
//! quickstart job's `users = N` become 1,500 users. Any other command
//! (not `reach`, `python3`, or the two `cargo` lines this suite stands in
//! for) fails the test, so a new command is never silently left out.

use std::path::{Path, PathBuf};
use std::process::Command;

const REACH: &str = env!("CARGO_BIN_EXE_reach");
const MARK: &str = "<!-- runs as written: tests/doc_commands.rs -->";
const SMALL: &str = "1500";

fn repo(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// A command as written: its file and first line, and its text with
/// continuation lines joined and the trailing comment removed.
#[derive(Debug, PartialEq)]
struct Written {
    place: String,
    text: String,
}

/// The commands of the ```sh blocks of `markdown` (only the marked ones
/// when `marked_only`).
fn commands(name: &str, markdown: &str, marked_only: bool) -> Vec<Written> {
    let mut out = Vec::new();
    let (mut in_block, mut marked, mut pending): (bool, bool, Option<(usize, String)>) =
        (false, false, None);
    for (i, line) in markdown.lines().enumerate() {
        let trimmed = line.trim();
        if !in_block {
            if trimmed.starts_with("```sh") {
                in_block = !marked_only || marked;
            }
            if !trimmed.is_empty() {
                marked = trimmed == MARK;
            }
            continue;
        }
        if trimmed.starts_with("```") {
            in_block = false;
            marked = false;
            assert!(pending.is_none(), "{name}:{i}: a command ends in \\");
            continue;
        }
        let code = match line.find(" #") {
            Some(at) => &line[..at],
            None if trimmed.starts_with('#') => "",
            None => line,
        };
        let code = code.trim();
        let (first, text) = match pending.take() {
            Some((first, so_far)) => (first, format!("{so_far} {code}")),
            None if code.is_empty() => continue,
            None => (i + 1, code.to_string()),
        };
        match text.strip_suffix('\\') {
            Some(more) => pending = Some((first, more.trim_end().to_string())),
            None => out.push(Written {
                place: format!("{name}:{first}"),
                text: text.split_whitespace().collect::<Vec<_>>().join(" "),
            }),
        }
    }
    out
}

/// The command with the sizes made small.
fn small(text: &str) -> String {
    let mut words: Vec<String> = text.split(' ').map(str::to_string).collect();
    for i in 1..words.len() {
        if words[i - 1] == "--users" {
            words[i] = SMALL.to_string();
        }
    }
    words.join(" ")
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// A fresh directory with `jobs/` (the generated sizes made small),
/// `docs/recipes/`, and `bin/reach`.
fn fresh() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&repo("jobs"), &dir.path().join("jobs"));
    copy_dir(&repo("docs/recipes"), &dir.path().join("docs/recipes"));
    for entry in std::fs::read_dir(dir.path().join("jobs")).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<String> = text
            .lines()
            .map(|l| match l.split_once('=') {
                Some((key, _)) if key.trim() == "users" => format!("users = {SMALL}"),
                _ => l.to_string(),
            })
            .collect();
        std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    }
    std::fs::create_dir(dir.path().join("bin")).unwrap();
    std::os::unix::fs::symlink(REACH, dir.path().join("bin/reach")).unwrap();
    dir
}

fn duckdb_missing() -> Option<String> {
    let ok = Command::new("python3")
        .args(["-c", "import duckdb"])
        .output()
        .is_ok_and(|o| o.status.success());
    (!ok).then(|| "python3 cannot import duckdb (`pip install duckdb`)".to_string())
}

/// Runs the commands in order in a fresh directory; returns it.
fn run_all(commands: &[Written]) -> tempfile::TempDir {
    let dir = fresh();
    let path = format!(
        "{}:{}",
        dir.path().join("bin").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    for command in commands {
        let text = small(&command.text);
        let program = text.split(' ').next().unwrap();
        match program {
            "cargo" if text == "cargo install --path ." || text == "cargo test" => continue,
            "reach" => {}
            "python3" => {
                if let Some(reason) = duckdb_missing() {
                    use std::io::Write;
                    let _ = writeln!(
                        std::io::stderr(),
                        "SKIP {}: `{text}`: {reason}",
                        command.place
                    );
                    continue;
                }
            }
            _ => panic!(
                "{}: `{}`: not a command this test knows how to run; add it here",
                command.place, command.text
            ),
        }
        let out = Command::new("sh")
            .args(["-c", &text])
            .current_dir(dir.path())
            .env("PATH", &path)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}: `{text}` failed ({}):\n{}{}",
            command.place,
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    dir
}

#[test]
fn commands_are_read_whole() {
    let text = "```sh\nreach a   # note\n# comment\nreach b \\\n      --c d\n```\n\n\
                ```text\nreach no\n```\n<!-- runs as written: tests/doc_commands.rs -->\n\
                ```sh\nreach marked --users 100000\n```\n";
    let all: Vec<String> = commands("t.md", text, false)
        .into_iter()
        .map(|c| format!("{} {}", c.place, c.text))
        .collect();
    assert_eq!(
        all,
        [
            "t.md:2 reach a",
            "t.md:4 reach b --c d",
            "t.md:13 reach marked --users 100000"
        ]
    );
    let marked = commands("t.md", text, true);
    assert_eq!(marked.len(), 1);
    assert_eq!(small(&marked[0].text), "reach marked --users 1500");
}

#[test]
fn readme_commands_run_as_written() {
    let readme = std::fs::read_to_string(repo("README.md")).unwrap();
    let commands = commands("README.md", &readme, false);
    assert!(commands.len() >= 8, "{commands:#?}");
    let dir = run_all(&commands);
    // What the README says these commands leave behind.
    for path in [
        "out/quickstart/_SUCCESS",
        "out/graph/users",
        "out/full/report.html",
        "out/crm/changes",
        "out/nightly/manifest.json",
        "data/demo/applied",
        "out/example/users/part-00000.parquet",
    ] {
        assert!(dir.path().join(path).exists(), "README.md: no {path}");
    }
}

#[test]
fn marked_doc_commands_run_as_written() {
    let mut marked = 0;
    for entry in std::fs::read_dir(repo("docs")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "md") {
            continue;
        }
        let name = format!("docs/{}", path.file_name().unwrap().to_string_lossy());
        let text = std::fs::read_to_string(&path).unwrap();
        let commands = commands(&name, &text, true);
        marked += text.matches(MARK).count();
        if !commands.is_empty() {
            run_all(&commands);
        }
    }
    assert!(
        marked >= 1,
        "no marked block in docs/ (the feed recipe is one)"
    );
}
