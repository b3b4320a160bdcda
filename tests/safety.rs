//! Nothing lost: an output never replaces what reach does not own (user
//! directories, inputs, files), and every refusal leaves every byte and no
//! staging behind. Hostile inputs and flags fail cleanly, naming the way out.

mod common;

use common::*;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Runs the binary in `cwd`; its exit code and stderr.
fn reach_in(cwd: &Path, args: &[&str]) -> (Option<i32>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_reach"))
        .args(args)
        .current_dir(cwd)
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Every entry under `dir` (hidden ones included), directories as `name/`,
/// files with their bytes: any change, or any staging left, shows.
fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut all = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(at) = stack.pop() {
        for entry in std::fs::read_dir(&at).unwrap() {
            let path = entry.unwrap().path();
            let rel = path.strip_prefix(dir).unwrap().display().to_string();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            if meta.is_dir() {
                all.insert(format!("{rel}/"), Vec::new());
                stack.push(path);
            } else if meta.file_type().is_symlink() {
                let target = std::fs::read_link(&path).unwrap();
                all.insert(
                    format!("{rel} ->"),
                    target.display().to_string().into_bytes(),
                );
            } else {
                all.insert(rel, std::fs::read(&path).unwrap());
            }
        }
    }
    all
}

fn write(path: &Path, text: &str) -> PathBuf {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
    path.to_path_buf()
}

/// A work directory with `mydata/edges.csv`, a user's `out/` holding an
/// earlier reach output `out/quickstart/` and a note.
fn workspace() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(&d.join("mydata/edges.csv"), "src,dst\n1,2\n2,3\n");
    write(&d.join("mydata/notes.txt"), "keep me\n");
    let (code, stderr) = reach_in(
        d,
        &[
            "run",
            "-q",
            "--friendships",
            "mydata/edges.csv",
            "--output",
            "out/quickstart",
        ],
    );
    assert_eq!(code, Some(0), "{stderr}");
    write(&d.join("out/notes.txt"), "mine\n");
    dir
}

/// Runs `args` in a fresh workspace, expecting a refusal with `message`;
/// every file of the workspace is byte-identical afterwards.
fn refused(args: &[&str], message: &str) {
    let dir = workspace();
    let before = tree(dir.path());
    let (code, stderr) = reach_in(dir.path(), args);
    assert_eq!(code, Some(1), "{args:?}: {stderr}");
    assert_eq!(stderr.trim_end(), format!("error: {message}"), "{args:?}");
    assert_eq!(
        tree(dir.path()),
        before,
        "{args:?} changed the user's files"
    );
}

const FRIENDS: [&str; 4] = ["run", "-q", "--friendships", "mydata/edges.csv"];

fn with(extra: &[&'static str]) -> Vec<&'static str> {
    FRIENDS.iter().chain(extra).copied().collect()
}

#[test]
fn a_directory_reach_did_not_write_is_refused_unless_overwrite() {
    refused(
        &with(&["--output", "out/", "-w", "2"]),
        "--output out/: the directory exists and is not an output of reach (no _SUCCESS and \
         summary.json written by reach); publishing replaces it whole, deleting what it holds \
         (notes.txt, quickstart/). Give a new or empty directory, or add --overwrite to replace it",
    );
    // Spark's _SUCCESS alone does not make a directory reach's.
    let dir = workspace();
    write(&dir.path().join("spark/_SUCCESS"), "");
    write(&dir.path().join("spark/part-00000"), "1 2\n");
    let before = tree(dir.path());
    let (code, stderr) = reach_in(dir.path(), &with(&["--output", "spark"]));
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("(_SUCCESS, part-00000)"), "{stderr}");
    assert_eq!(tree(dir.path()), before);
    // The way out the message names.
    let (code, stderr) = reach_in(dir.path(), &with(&["--output", "spark", "--overwrite"]));
    assert_eq!(code, Some(0), "{stderr}");
    assert!(!dir.path().join("spark/part-00000").exists());
    assert!(dir.path().join("spark/users").is_dir());
}

#[test]
fn an_earlier_output_an_empty_directory_or_nothing_is_replaced() {
    let dir = workspace();
    let d = dir.path();
    std::fs::create_dir(d.join("empty")).unwrap();
    for output in ["out/quickstart", "empty", "new/deeper"] {
        let (code, stderr) = reach_in(d, &with(&["--output", output]));
        assert_eq!(code, Some(0), "{output}: {stderr}");
        assert!(d.join(output).join("_SUCCESS").exists(), "{output}");
    }
    assert_eq!(
        std::fs::read_to_string(d.join("out/notes.txt")).unwrap(),
        "mine\n"
    );
}

#[test]
fn an_output_that_is_holds_or_lies_in_an_input_is_refused_even_with_overwrite() {
    refused(
        &with(&["--output", "mydata", "--overwrite"]),
        "--output mydata contains the input --friendships mydata/edges.csv: publishing would \
         replace it. Give an output directory apart from every input (this is refused even with \
         --overwrite)",
    );
    refused(
        &with(&["--output", "mydata/edges.csv", "--overwrite"]),
        "--output mydata/edges.csv is the input --friendships mydata/edges.csv: publishing would \
         replace it. Give an output directory apart from every input (this is refused even with \
         --overwrite)",
    );
    // The same directory under another spelling, and an output inside a part-file directory.
    refused(
        &[
            "run",
            "-q",
            "--friendships",
            "mydata",
            "--output",
            "./out/../mydata",
            "--overwrite",
        ],
        "--output ./out/../mydata is the input --friendships mydata: publishing would \
         replace it. Give an output directory apart from every input (this is refused even with \
         --overwrite)",
    );
    refused(
        &[
            "run",
            "-q",
            "--friendships",
            "mydata",
            "--output",
            "mydata/result",
        ],
        "--output mydata/result lies inside the input --friendships mydata: publishing would \
         replace it. Give an output directory apart from every input (this is refused even with \
         --overwrite)",
    );
}

#[test]
fn an_output_holding_the_job_file_is_refused() {
    let dir = workspace();
    let d = dir.path();
    write(
        &d.join("jobs/job.toml"),
        "[input]\nfriendships = \"mydata/edges.csv\"\n[output]\ndir = \"jobs\"\noverwrite = true\n",
    );
    let before = tree(d);
    let (code, stderr) = reach_in(d, &["run", "-q", "jobs/job.toml"]);
    assert_eq!(code, Some(1));
    assert_eq!(
        stderr.trim_end(),
        "error: --output jobs contains the input job file jobs/job.toml: publishing would \
         replace it. Give an output directory apart from every input (this is refused even with \
         --overwrite)"
    );
    assert_eq!(tree(d), before);
}

#[test]
fn a_file_at_the_output_path_is_left_alone() {
    refused(
        &with(&["--output", "mydata/notes.txt", "--overwrite"]),
        "--output mydata/notes.txt is a file, not a directory; it is left as it is. Give the \
         path of a directory for the output (reach writes a directory of tables)",
    );
}

#[test]
fn dot_dot_and_dot_are_refused_without_staging() {
    let dir = workspace();
    let d = dir.path();
    std::fs::create_dir(d.join("sub")).unwrap();
    let before = tree(d);
    for output in ["..", ".", "sub/.."] {
        let (code, stderr) = reach_in(
            &d.join("sub"),
            &[
                "run",
                "-q",
                "--friendships",
                "../mydata/edges.csv",
                "--output",
                output,
                "--overwrite",
            ],
        );
        assert_eq!(code, Some(1), "{output}: {stderr}");
        assert!(
            stderr.contains(&format!(
                "error: --output {output}: name the output directory itself"
            )),
            "{stderr}"
        );
        assert_eq!(tree(d), before, "{output}");
    }
}

#[test]
fn serve_refuses_an_output_it_does_not_own_and_an_inbox_inside_it() {
    let dir = workspace();
    let d = dir.path();
    std::fs::create_dir(d.join("inbox")).unwrap();
    let before = tree(d);
    let serve = |output: &str, inbox: &str| {
        reach_in(
            d,
            &[
                "serve",
                "-q",
                "--drain",
                "--friendships",
                "mydata/edges.csv",
                "--output",
                output,
                "--inbox",
                inbox,
            ],
        )
    };
    let (code, stderr) = serve("out", "inbox");
    assert_eq!(code, Some(1));
    assert!(
        stderr
            .starts_with("error: --output out: the directory exists and is not an output of reach"),
        "{stderr}"
    );
    let (code, stderr) = serve("state", "state/inbox");
    assert_eq!(code, Some(1));
    assert!(
        stderr.starts_with("error: --output state contains the input --inbox state/inbox"),
        "{stderr}"
    );
    assert_eq!(tree(d), before, "nothing created, nothing moved");
    // Its own earlier output resumes (manifest and checkpoint kept).
    let (code, stderr) = serve("served", "inbox");
    assert_eq!(code, Some(0), "{stderr}");
    let (code, stderr) = serve("served", "inbox");
    assert_eq!(code, Some(0), "{stderr}");
    assert!(d.join("served/manifest.json").exists());
}

const BOM: &str = "\u{feff}";

fn gzip(path: &Path, text: &str) {
    let file = std::fs::File::create(path).unwrap();
    let mut encoder = flate2::write::GzEncoder::new(file, flate2::Compression::default());
    std::io::Write::write_all(&mut encoder, text.as_bytes()).unwrap();
    encoder.finish().unwrap();
}

#[test]
fn a_byte_order_mark_is_skipped_in_every_kind_of_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // A file with a header, one without, part files (plain and .gz), each starting with a BOM.
    let with_header = "src,dst\n1,2\n2,3\n3,1\n";
    let without = "1 2\n2 3\n4 5\n";
    for (name, text) in [("header.csv", with_header), ("plain.txt", without)] {
        let input = write(&d.join(name), &format!("{BOM}{text}"));
        let out = d.join(format!("out-{name}"));
        run(&input, &out, 2, &[], reach::job::Format::Csv).unwrap();
        assert_matches_oracle(&out, &GraphOracle::from_text(text));
    }
    let parts = d.join("parts");
    write(&parts.join("part-0.csv"), &format!("{BOM}src,dst\n1,2\n"));
    gzip(&parts.join("part-1.csv.gz"), &format!("{BOM}2,3\n3,4\n"));
    write(
        &parts.join("part-2.csv"),
        &format!("{BOM}# a comment\n4,5\n"),
    );
    let out = d.join("out-parts");
    run(&parts, &out, 3, &[], reach::job::Format::Csv).unwrap();
    assert_matches_oracle(&out, &GraphOracle::from_text("1 2\n2 3\n3 4\n4 5\n"));

    // A night whose change file starts with a BOM gives the tables of the same night without it.
    let base = write(&d.join("base.csv"), "1,2\n2,3\n");
    let tables = |night_text: &str, name: &str| {
        let deltas = d.join(format!("deltas-{name}"));
        write(&deltas.join("2026-01-01/friendships.csv"), night_text);
        let out = d.join(format!("out-night-{name}"));
        let job = reach::job::Job::resolve(
            None,
            reach::job::Overrides {
                friendships: Some(base.clone()),
                deltas: Some(deltas),
                output: Some(out.clone()),
                ..Default::default()
            },
        )
        .unwrap();
        reach::run::run(&job, true).unwrap();
        users_sorted(&out)
    };
    let changes = "+ 3 4\n- 1 2\n";
    let expected = tables(changes, "plain");
    assert_eq!(expected.len(), 3, "users 2, 3, 4 are left with friends");
    assert_eq!(tables(&format!("{BOM}{changes}"), "bom"), expected);
}

/// The error a run on `input` stops with.
fn run_error(input: &Path) -> String {
    let out = input.parent().unwrap().join("out");
    let error = run(input, &out, 1, &[], reach::job::Format::Csv).unwrap_err();
    assert!(!out.exists() && !input.parent().unwrap().join(".out.staging").exists());
    error.to_string()
}

#[test]
fn a_broken_entry_among_part_files_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let parts = dir.path().join("parts");
    write(&parts.join("part-0.csv"), "1,2\n");
    write(&parts.join("_SUCCESS"), "");
    // A link to a file is read like the file.
    write(&dir.path().join("elsewhere.csv"), "2,3\n");
    std::os::unix::fs::symlink(dir.path().join("elsewhere.csv"), parts.join("part-1.csv")).unwrap();
    let out = dir.path().join("ok");
    run(&parts, &out, 1, &[], reach::job::Format::Csv).unwrap();
    assert_matches_oracle(&out, &GraphOracle::from_text("1,2\n2,3\n"));

    let p = parts.display();
    std::os::unix::fs::symlink(parts.join("gone.csv"), parts.join("part-2.csv")).unwrap();
    assert_eq!(
        run_error(&parts),
        format!(
            "{p}/part-2.csv: a symbolic link to {p}/gone.csv that points to nothing (a dangling \
             link); fix it, move it away, or rename it to start with '_' or '.' to have it skipped"
        )
    );
    std::fs::remove_file(parts.join("part-2.csv")).unwrap();
    std::os::unix::fs::symlink("part-3.csv", parts.join("part-3.csv")).unwrap();
    assert_eq!(
        run_error(&parts),
        format!(
            "{p}/part-3.csv: a symbolic link to part-3.csv that is a loop of symbolic links; fix \
             it, move it away, or rename it to start with '_' or '.' to have it skipped"
        )
    );
    std::fs::rename(parts.join("part-3.csv"), parts.join("_part-3.csv")).unwrap();
    std::fs::create_dir(parts.join("year=2024")).unwrap();
    assert_eq!(
        run_error(&parts),
        format!(
            "{p}/year=2024: a directory among the part files; parts are read from one level \
             only, so fix it, move it away, or rename it to start with '_' or '.' to have it \
             skipped"
        )
    );
}

#[test]
fn worker_counts_beyond_four_per_core_are_refused_unless_forced() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(&d.join("tiny.csv"), "1,2\n2,3\n3,1\n");
    let cores = reach::job::available_cores();
    let max = reach::job::max_workers(cores);
    let (code, stderr) = reach_in(
        d,
        &[
            "run",
            "-q",
            "--friendships",
            "tiny.csv",
            "--output",
            "out",
            "--workers",
            "1000",
        ],
    );
    assert_eq!(code, Some(1));
    assert_eq!(
        stderr.trim_end(),
        format!(
            "error: --workers 1000: this process may use {cores} core(s), and more than {max} \
             worker threads cannot run at once on them: the extra threads only take turns, each \
             adding memory and start-up time. Use --workers {cores} (one per core), or add \
             --force-workers (or [run] force_workers = true) to run 1000 anyway"
        )
    );
    assert_eq!(tree(d).len(), 1, "nothing but the input");
    // The limit itself runs; one more runs when forced, with the same bytes as one worker.
    let one = d.join("one");
    let (code, _) = reach_in(
        d,
        &["run", "-q", "--friendships", "tiny.csv", "--output", "one"],
    );
    assert_eq!(code, Some(0));
    let limit = max.to_string();
    let over = (max + 1).to_string();
    for (output, workers, force) in [("limit", &limit, false), ("over", &over, true)] {
        let mut args = vec![
            "run",
            "-q",
            "--friendships",
            "tiny.csv",
            "--output",
            output,
            "-w",
            workers,
        ];
        if force {
            args.push("--force-workers");
        }
        let (code, stderr) = reach_in(d, &args);
        assert_eq!(code, Some(0), "{stderr}");
        assert_eq!(snapshot(&d.join(output)), snapshot(&one));
    }
}
