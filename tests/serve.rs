//! `reach serve`: nights from an inbox give the same tables and feeds as a
//! batch run over the same nights, exactly once, across restarts, SIGKILLs
//! at random moments, refused nights and SIGTERM.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::Lcg;

const NIGHTS: [&str; 4] = ["2026-01-01", "2026-01-02", "2026-01-03", "2026-01-04"];

fn reach() -> Command {
    Command::new(env!("CARGO_BIN_EXE_reach"))
}

/// A generated base with four nights, and the batch output over them.
struct Fixture {
    _dir: tempfile::TempDir,
    root: PathBuf,
    data: PathBuf,
    expected: BTreeMap<String, Vec<u8>>,
}

fn fixture(users: u64) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    let data = root.join("data");
    let status = reach()
        .args(["generate", "-q", "--users", &users.to_string(), "--nights"])
        .arg(NIGHTS.len().to_string())
        .arg("--out")
        .arg(&data)
        .status()
        .unwrap();
    assert!(status.success());
    let batch = root.join("batch");
    let status = reach()
        .args(["run", "-q", "--deltas"])
        .arg(data.join("nights"))
        .args(base_args(&data))
        .arg("--output")
        .arg(&batch)
        .status()
        .unwrap();
    assert!(status.success());
    Fixture {
        expected: tables(&batch),
        _dir: dir,
        root,
        data,
    }
}

fn base_args(data: &Path) -> Vec<std::ffi::OsString> {
    vec![
        "--friendships".into(),
        data.join("friendships.csv").into(),
        "--adoptions".into(),
        data.join("adoptions.csv").into(),
    ]
}

/// The tables and change feeds of an output (what downstream reads),
/// without the run files, manifest and checkpoint.
fn tables(output: &Path) -> BTreeMap<String, Vec<u8>> {
    common::snapshot(output)
        .into_iter()
        .filter(|(path, _)| {
            !path.starts_with('_') && !path.ends_with(".json") && !path.starts_with("rejects")
        })
        .collect()
}

/// Copies a generated night into the inbox the way a writer should: build
/// under a hidden name, rename in, then (marker protocol) the marker.
fn deliver(f: &Fixture, inbox: &Path, night: &str) {
    std::fs::create_dir_all(inbox).unwrap();
    let hidden = inbox.join(format!(".{night}.partial"));
    std::fs::create_dir_all(&hidden).unwrap();
    for entry in std::fs::read_dir(f.data.join("nights").join(night)).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), hidden.join(entry.file_name())).unwrap();
    }
    std::fs::rename(&hidden, inbox.join(night)).unwrap();
    std::fs::write(inbox.join(format!("{night}.ready")), "").unwrap();
}

fn serve(f: &Fixture, out: &Path, inbox: &Path, workers: usize, extra: &[&str]) -> Command {
    let mut command = reach();
    command
        .args(["serve", "-q", "--drain", "-w", &workers.to_string()])
        .args(base_args(&f.data))
        .arg("--output")
        .arg(out)
        .arg("--inbox")
        .arg(inbox)
        .args(extra);
    command
}

fn manifest_nights(out: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(out.join("manifest.json")).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    json["nights"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["name"].as_str().unwrap().to_string())
        .collect()
}

/// The nights whose logs the published checkpoint applies to its snapshot.
fn checkpoint_logs(out: &Path) -> Vec<String> {
    let bytes = std::fs::read(out.join("_checkpoint/checkpoint.json")).unwrap();
    let meta: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    meta["logs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|night| night.as_str().unwrap().to_string())
        .collect()
}

fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

#[test]
fn serve_equals_batch_across_restarts_and_worker_counts() {
    let f = fixture(600);
    let (out, inbox) = (f.root.join("out"), f.root.join("inbox"));
    // Base only, 2 workers; then two nights with 1 worker; then the rest with 4.
    assert!(serve(&f, &out, &inbox, 2, &["--create-inbox"])
        .status()
        .unwrap()
        .success());
    assert_eq!(manifest_nights(&out), Vec::<String>::new());
    // Once the base is in a checkpoint, the service no longer reads its files.
    for file in ["friendships.csv", "adoptions.csv"] {
        std::fs::rename(f.data.join(file), f.data.join(format!("{file}.away"))).unwrap();
    }
    deliver(&f, &inbox, NIGHTS[0]);
    deliver(&f, &inbox, NIGHTS[1]);
    assert!(serve(&f, &out, &inbox, 1, &[]).status().unwrap().success());
    assert_eq!(manifest_nights(&out), &NIGHTS[..2]);
    // The first night after a start writes a snapshot (of one worker now),
    // the next only its log; the restart below applies it on 4 workers.
    assert_eq!(checkpoint_logs(&out), &NIGHTS[1..2]);
    let checkpoint = names(&out.join("_checkpoint"));
    let log = format!("log-{}-worker-00000.bin", NIGHTS[1]);
    let ids = "ids-worker-00000.bin"; // the user-id dictionary's part (empty here)
    assert_eq!(
        checkpoint,
        ["checkpoint.json", ids, &log, "worker-00000.bin"]
    );
    deliver(&f, &inbox, NIGHTS[2]);
    deliver(&f, &inbox, NIGHTS[3]);
    assert!(serve(&f, &out, &inbox, 4, &[]).status().unwrap().success());
    assert_eq!(manifest_nights(&out), NIGHTS);
    assert_eq!(
        tables(&out),
        f.expected,
        "tables and feeds equal the batch run"
    );
    assert_eq!(names(&inbox), Vec::<String>::new());
    assert_eq!(names(&f.root.join("applied")), NIGHTS);
    // Nothing left to do: a restart changes nothing.
    assert!(serve(&f, &out, &inbox, 2, &[]).status().unwrap().success());
    assert_eq!(tables(&out), f.expected);
    assert_eq!(manifest_nights(&out), NIGHTS);
}

#[test]
fn the_rename_protocol_takes_every_visible_directory() {
    let f = fixture(300);
    let (out, inbox) = (f.root.join("out"), f.root.join("inbox"));
    for night in NIGHTS {
        deliver(&f, &inbox, night);
        std::fs::remove_file(inbox.join(format!("{night}.ready"))).unwrap();
    }
    // Marker protocol (the default): no markers, nothing applied.
    assert!(serve(&f, &out, &inbox, 2, &[]).status().unwrap().success());
    assert_eq!(manifest_nights(&out), Vec::<String>::new());
    let rename = ["--ready", "rename"];
    assert!(serve(&f, &out, &inbox, 2, &rename)
        .status()
        .unwrap()
        .success());
    assert_eq!(manifest_nights(&out), NIGHTS);
    assert_eq!(tables(&out), f.expected);
}

/// SIGKILLs `child` after `after`; whether it was still running then (a
/// child that ended by itself must have succeeded).
fn kill_at(mut child: Child, after: Duration) -> bool {
    let deadline = Instant::now() + after;
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(
                status.success(),
                "an interrupted run's restart failed: {status:?}"
            );
            return false;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    true
}

/// SIGKILL at random moments (seeded), twice per trial, then a restart that
/// runs to the end: the result is the batch output, every night listed once.
#[test]
fn crash_at_random_moments_never_loses_or_repeats_a_night() {
    let f = fixture(400);
    // How long an undisturbed run takes here (debug build, loaded machine):
    // kill moments are spread over it. The shorter of two runs, so that a
    // burst of load elsewhere (other tests) does not stretch the windows
    // past the end of the runs they are meant to hit.
    let mut span = u64::MAX;
    for timing in ["timing1", "timing2"] {
        let out = f.root.join(timing);
        let inbox = f.root.join(format!("{timing}-inbox"));
        for night in NIGHTS {
            deliver(&f, &inbox, night);
        }
        let started = Instant::now();
        assert!(serve(&f, &out, &inbox, 2, &[]).status().unwrap().success());
        span = span.min(started.elapsed().as_millis() as u64);
        assert_eq!(tables(&out), f.expected);
    }

    let mut rng = Lcg(2026);
    let mut killed = 0;
    for trial in 0..20 {
        let root = f.root.join(format!("trial{trial}"));
        let (out, inbox) = (root.join("out"), root.join("inbox"));
        for night in NIGHTS {
            deliver(&f, &inbox, night);
        }
        // The first kill within the first three quarters of a whole run (so
        // that it hits); the second one early in the restart (which has
        // less left to do, and may finish first).
        for window in [span * 3 / 4, span / 2] {
            let child = serve(&f, &out, &inbox, 2, &[])
                .stdout(Stdio::null())
                .spawn()
                .unwrap();
            if kill_at(child, Duration::from_millis(rng.next(window + 1))) {
                killed += 1;
            }
        }
        let output = serve(&f, &out, &inbox, 2, &[]).output().unwrap();
        assert!(
            output.status.success(),
            "trial {trial}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert_eq!(
            manifest_nights(&out),
            NIGHTS,
            "trial {trial}: each night once"
        );
        assert_eq!(tables(&out), f.expected, "trial {trial}: tables and feeds");
        assert_eq!(names(&inbox), Vec::<String>::new(), "trial {trial}");
        assert_eq!(names(&root.join("applied")), NIGHTS, "trial {trial}");
        assert!(
            !root.join(".out.staging").exists(),
            "trial {trial}: staging left"
        );
    }
    // At least one kill per trial must have hit a running process, or the
    // test tests nothing.
    eprintln!("{killed} of 40 kills hit a running serve");
    assert!(
        killed >= 20,
        "only {killed} of 40 kills hit a running serve"
    );
}

#[test]
fn a_malformed_night_is_refused_and_blocks_later_nights_until_resolved() {
    let f = fixture(300);
    let (out, inbox) = (f.root.join("out"), f.root.join("inbox"));
    deliver(&f, &inbox, NIGHTS[0]);
    deliver(&f, &inbox, NIGHTS[1]);
    deliver(&f, &inbox, NIGHTS[2]);
    // Break night 2: a line with a bad user id.
    let broken = inbox.join(NIGHTS[1]).join("friendships.csv");
    let mut text = std::fs::read_to_string(&broken).unwrap();
    text.push_str("+,12x,5\n");
    let line = text.lines().count();
    std::fs::write(&broken, text).unwrap();

    let output = serve(&f, &out, &inbox, 2, &[]).output().unwrap();
    assert!(!output.status.success(), "blocked --drain exits non-zero");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!(
            "night {} is in {} awaiting an operator's decision",
            NIGHTS[1],
            f.root.join("rejected").display()
        )),
        "{stderr}"
    );
    assert_eq!(manifest_nights(&out), &NIGHTS[..1]);
    let report =
        std::fs::read_to_string(f.root.join("rejected").join(format!("{}.txt", NIGHTS[1])))
            .unwrap();
    let expected_line = format!(
        "{}:{line}: invalid user id \"12x\": expected an unsigned integer",
        broken.display()
    );
    assert!(
        report.contains(&expected_line),
        "{report}\nwanted {expected_line}"
    );
    assert_eq!(names(&inbox), [NIGHTS[2], &format!("{}.ready", NIGHTS[2])]);

    // The operator skips it: later nights apply; the state never saw night 2.
    std::fs::remove_dir_all(f.root.join("rejected").join(NIGHTS[1])).unwrap();
    assert!(serve(&f, &out, &inbox, 2, &[]).status().unwrap().success());
    assert_eq!(manifest_nights(&out), [NIGHTS[0], NIGHTS[2]]);

    // The batch run over nights 1 and 3 only.
    let deltas = f.root.join("deltas13");
    for night in [NIGHTS[0], NIGHTS[2]] {
        let to = deltas.join(night);
        std::fs::create_dir_all(&to).unwrap();
        for entry in std::fs::read_dir(f.data.join("nights").join(night)).unwrap() {
            let entry = entry.unwrap();
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
    let batch = f.root.join("batch13");
    let status = reach()
        .args(["run", "-q", "--deltas"])
        .arg(&deltas)
        .args(base_args(&f.data))
        .arg("--output")
        .arg(&batch)
        .status()
        .unwrap();
    assert!(status.success());
    assert_eq!(tables(&out), tables(&batch));

    // The same night, corrected, arriving after a later one was applied, is
    // refused for its order: nights apply in name order.
    deliver(&f, &inbox, NIGHTS[1]);
    let output = serve(&f, &out, &inbox, 2, &[]).output().unwrap();
    assert!(!output.status.success());
    let report =
        std::fs::read_to_string(f.root.join("rejected").join(format!("{}.txt", NIGHTS[1])))
            .unwrap();
    assert!(
        report.contains(&format!(
            "night {} sorts before the last applied night {}",
            NIGHTS[1], NIGHTS[2]
        )),
        "{report}"
    );
    assert_eq!(manifest_nights(&out), [NIGHTS[0], NIGHTS[2]]);
    assert_eq!(tables(&out), tables(&batch));
}

#[test]
fn sigterm_stops_between_nights_and_keeps_the_output() {
    let f = fixture(300);
    let (out, inbox) = (f.root.join("out"), f.root.join("inbox"));
    deliver(&f, &inbox, NIGHTS[0]);
    let mut child = reach()
        .args(["serve", "-q", "-w", "2"])
        .args(base_args(&f.data))
        .arg("--output")
        .arg(&out)
        .arg("--inbox")
        .arg(&inbox)
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    while !(out.join("manifest.json").exists() && manifest_nights(&out) == [NIGHTS[0]]) {
        assert!(Instant::now() < deadline, "night 1 not applied in time");
        std::thread::sleep(Duration::from_millis(50));
    }
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "serve did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status:?}");
    assert_eq!(manifest_nights(&out), [NIGHTS[0]]);
    assert!(out.join("_SUCCESS").exists());
}

/// Two processes on loopback (one worker each) serve the same nights as
/// one: the same tables and feeds as the batch run, each night once.
#[test]
fn two_processes_serve_like_one() {
    let f = fixture(400);
    let (out, inbox) = (f.root.join("out"), f.root.join("inbox"));
    for night in NIGHTS {
        deliver(&f, &inbox, night);
    }
    let hosts = f.root.join("hosts.txt");
    common::loopback_hostfile(&hosts, 2);
    let children: Vec<Child> = (0..2)
        .map(|process| {
            serve(&f, &out, &inbox, 1, &[])
                .args(["--processes", "2", "--process", &process.to_string()])
                .arg("--hostfile")
                .arg(&hosts)
                .spawn()
                .unwrap()
        })
        .collect();
    for mut child in children {
        assert!(child.wait().unwrap().success());
    }
    assert_eq!(manifest_nights(&out), NIGHTS);
    assert_eq!(tables(&out), f.expected);
}

/// The nights of `run.json` (`nights`: what each night applied by this
/// process cost), as (name, computed, published, seconds, resident bytes).
fn run_nights(out: &Path) -> Vec<(String, f64, f64, f64, u64)> {
    let text = std::fs::read_to_string(out.join("run.json")).unwrap();
    let run: serde_json::Value = serde_json::from_str(&text).unwrap();
    let number = |night: &serde_json::Value, key: &str| {
        night[key]
            .as_f64()
            .unwrap_or_else(|| panic!("{key} is a number in {night}"))
    };
    run["nights"]
        .as_array()
        .expect("run.json has a nights list")
        .iter()
        .map(|night| {
            (
                night["night"].as_str().expect("a night name").to_string(),
                number(night, "computed_seconds"),
                number(night, "published_seconds"),
                number(night, "seconds"),
                night["resident_bytes"].as_u64().expect("resident bytes"),
            )
        })
        .collect()
}

#[test]
fn run_json_records_what_each_night_of_this_process_cost() {
    let f = fixture(300);
    let (out, inbox) = (f.root.join("out"), f.root.join("inbox"));
    let first = serve(&f, &out, &inbox, 2, &["--create-inbox"]).status();
    assert!(first.unwrap().success());
    assert_eq!(run_nights(&out), Vec::new(), "the base is not a night");
    deliver(&f, &inbox, NIGHTS[0]);
    deliver(&f, &inbox, NIGHTS[1]);
    assert!(serve(&f, &out, &inbox, 2, &[]).status().unwrap().success());
    let nights = run_nights(&out);
    let names: Vec<&str> = nights.iter().map(|n| n.0.as_str()).collect();
    assert_eq!(names, &NIGHTS[..2]);
    for (name, computed, published, seconds, resident) in &nights {
        assert!(*computed >= 0.0 && *published >= 0.0, "{name}: {nights:?}");
        assert!(
            (computed + published - seconds).abs() < 1e-6,
            "{name}: {nights:?}"
        );
        assert!(*resident > 0, "{name}: resident bytes");
    }
    // A restart lists only the nights applied by its own process.
    deliver(&f, &inbox, NIGHTS[2]);
    assert!(serve(&f, &out, &inbox, 1, &[]).status().unwrap().success());
    let names: Vec<String> = run_nights(&out).into_iter().map(|n| n.0).collect();
    assert_eq!(names, &NIGHTS[2..3]);
}
