//! Several processes on loopback give the same bytes as one; hostfile
//! mistakes are caught before anything starts.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use reach::job::Format;

fn free_ports(n: usize) -> Vec<u16> {
    let listeners: Vec<_> = (0..n)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0").unwrap())
        .collect();
    listeners
        .iter()
        .map(|l| l.local_addr().unwrap().port())
        .collect()
}

/// Runs `processes` copies of the binary, waits (bounded) and returns their exit codes.
fn run_processes(
    input: &Path,
    out: &Path,
    hostfile: &Path,
    processes: usize,
    workers: usize,
) -> Vec<i32> {
    let children: Vec<_> = (0..processes)
        .map(|p| {
            Command::new(env!("CARGO_BIN_EXE_reach"))
                .args(["run", "--quiet", "--friendships"])
                .arg(input)
                .arg("--output")
                .arg(out)
                .args(["--workers", &workers.to_string()])
                .args(["--processes", &processes.to_string()])
                .args(["--process", &p.to_string()])
                .arg("--hostfile")
                .arg(hostfile)
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(120);
    children
        .into_iter()
        .map(|mut child| loop {
            if let Some(status) = child.try_wait().unwrap() {
                if !status.success() {
                    let mut err = String::new();
                    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err)
                        .unwrap();
                    eprintln!("{err}");
                }
                break status.code().unwrap_or(-1);
            }
            if Instant::now() > deadline {
                child.kill().unwrap();
                panic!("a process did not finish within 120 s");
            }
            std::thread::sleep(Duration::from_millis(20));
        })
        .collect()
}

#[test]
fn two_and_three_processes_match_one() {
    let input = shared_data("musae-github/git_edges.csv");
    let dir = tempfile::tempdir().unwrap();
    let single = dir.path().join("single");
    run(&input, &single, 1, &[], Format::Csv).unwrap();
    let expected = snapshot(&single);
    for (processes, workers) in [(2, 1), (2, 2), (3, 1)] {
        let ports = free_ports(processes);
        let hostfile = dir.path().join("hosts.txt");
        let lines: Vec<String> = ports.iter().map(|p| format!("127.0.0.1:{p}")).collect();
        std::fs::write(&hostfile, lines.join("\n") + "\n").unwrap();
        let out = dir.path().join(format!("out-{processes}x{workers}"));
        let codes = run_processes(&input, &out, &hostfile, processes, workers);
        assert!(codes.iter().all(|&c| c == 0), "exit codes {codes:?}");
        assert_eq!(
            snapshot(&out),
            expected,
            "{processes} processes x {workers} workers"
        );
    }
}

fn cluster_error(hostfile_text: Option<&str>, processes: usize) -> String {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("f.csv");
    std::fs::write(&input, "1,2\n").unwrap();
    let hostfile = dir.path().join("hosts.txt");
    if let Some(text) = hostfile_text {
        std::fs::write(&hostfile, text).unwrap();
    }
    let job = reach::job::Job::resolve(
        None,
        reach::job::Overrides {
            friendships: Some(input),
            output: Some(dir.path().join("out")),
            processes: Some(processes),
            process: Some(0),
            hostfile: Some(hostfile.clone()),
            ..Default::default()
        },
    )
    .unwrap();
    let error = reach::run::run(&job, true).unwrap_err().to_string();
    error.replace(&hostfile.display().to_string(), "HOSTS")
}

#[test]
fn hostfile_errors_name_file_and_line() {
    assert!(cluster_error(None, 2).starts_with("HOSTS: cannot read the hostfile: No such file"));
    assert_eq!(
        cluster_error(Some("127.0.0.1:2101\n"), 2),
        "HOSTS: lists 1 address(es) but --processes is 2: give one host:port line per process"
    );
    assert_eq!(
        cluster_error(Some("# hosts\n127.0.0.1:2101\nlocalhost:99999\n"), 2),
        "HOSTS:3: expected host:port with a port in 1..65535, found \"localhost:99999\""
    );
}

#[test]
fn a_missing_peer_fails_within_the_connect_timeout() {
    // Process 0 of 2 alone: timely would wait for process 1 forever.
    let dir = tempfile::tempdir().unwrap();
    let hostfile = dir.path().join("hosts.txt");
    let ports = free_ports(2);
    std::fs::write(
        &hostfile,
        format!("127.0.0.1:{}\n127.0.0.1:{}\n", ports[0], ports[1]),
    )
    .unwrap();
    let out = dir.path().join("out");
    let started = Instant::now();
    let result = Command::new(env!("CARGO_BIN_EXE_reach"))
        .args(["run", "--quiet", "--friendships"])
        .arg(shared_data("snap-ego-facebook/facebook_combined.txt"))
        .arg("--output")
        .arg(&out)
        .args([
            "--processes",
            "2",
            "--process",
            "0",
            "--connect-timeout",
            "2",
            "--hostfile",
        ])
        .arg(&hostfile)
        .output()
        .unwrap();
    assert!(started.elapsed() < Duration::from_secs(30));
    assert_eq!(result.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(
        stderr.contains("process 0 could not connect to all 2 processes")
            && stderr.contains("within 2 s"),
        "{stderr}"
    );
    assert!(!out.exists(), "nothing is published");
    assert!(
        !dir.path().join(".out.staging").exists(),
        "staging is cleaned up"
    );
}
