//! Several processes on loopback give the same bytes as one; hostfile
//! mistakes are caught before anything starts.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use reach::job::Format;

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
        let hostfile = dir.path().join("hosts.txt");
        loopback_hostfile(&hostfile, processes);
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
    cluster_error_listening(hostfile_text, processes, None)
}

fn cluster_error_listening(
    hostfile_text: Option<&str>,
    processes: usize,
    listen: Option<&str>,
) -> String {
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
            listen: listen.map(str::to_string),
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
fn a_port_that_cannot_be_bound_names_the_line() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let hosts = format!("127.0.0.1:{port}\n127.0.0.1:{}\n", free_ports(1)[0]);
    assert_eq!(
        cluster_error(Some(&hosts), 2),
        format!(
            "HOSTS:1: process 0 (127.0.0.1:{port}): cannot listen on 127.0.0.1:{port}: Address \
             already in use (os error 98). Is another process using the port, or is the host not \
             an address of this machine? (--listen ADDR picks another address)"
        )
    );
    // --listen HOST keeps the hostfile's port; 192.0.2.1 (TEST-NET-1) is no address of this machine.
    let free = free_ports(2);
    let hosts = format!("127.0.0.1:{}\n127.0.0.1:{}\n", free[0], free[1]);
    assert_eq!(
        cluster_error_listening(Some(&hosts), 2, Some("192.0.2.1")),
        format!(
            "HOSTS:1: process 0 (127.0.0.1:{}): cannot listen on 192.0.2.1:{}: Cannot assign \
             requested address (os error 99). Is another process using the port, or is the host \
             not an address of this machine? (--listen ADDR picks another address)",
            free[0], free[0]
        )
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
    let stderr = stderr.replace(&hostfile.display().to_string(), "HOSTS");
    assert!(
        stderr.contains(&format!(
            "error: process 0 could not connect to all 2 processes of HOSTS within 2 s: HOSTS:2: \
             process 1 (127.0.0.1:{}) never connected to this process. Check that",
            ports[1]
        )),
        "{stderr}"
    );
    assert!(!out.exists(), "nothing is published");
    assert!(
        !dir.path().join(".out.staging").exists(),
        "staging is cleaned up"
    );
}

#[test]
fn killing_one_process_stops_the_other_and_keeps_the_previous_output() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    // A previous, complete output.
    run(
        &shared_data("snap-ego-facebook/facebook_combined.txt"),
        &out,
        1,
        &[],
        Format::Csv,
    )
    .unwrap();
    let previous = snapshot(&out);
    assert!(previous.contains_key("summary.json"));

    // A generated graph big enough that the run takes tens of seconds in a
    // debug build, far longer than reaching the point where process 1 is killed.
    let job = dir.path().join("job.toml");
    std::fs::write(
        &job,
        format!(
            "[generate]\nusers = 30000\nmean_degree = 90\nseed = 3\n\n[output]\ndir = \"{}\"\n",
            out.display()
        ),
    )
    .unwrap();
    let (hostfile, addresses) = two_hosts(dir.path());
    let job_arg = job.to_str().unwrap();
    // Process 0 also exercises --listen HOST (the hostfile's port).
    let first = spawn(&[job_arg, "--listen", "127.0.0.1"], 0, &hostfile, false);
    let mut second = spawn(&[job_arg], 1, &hostfile, true);

    // Kill process 1 once it has read its share: the dataflow is running then.
    let mut log = std::io::BufReader::new(second.stderr.take().unwrap());
    let mut seen = String::new();
    loop {
        let mut line = String::new();
        let n = std::io::BufRead::read_line(&mut log, &mut line).unwrap();
        assert!(n > 0, "process 1 ended before reading its share:\n{seen}");
        seen.push_str(&line);
        if line.contains(" read ") && line.contains("worker=1") {
            break;
        }
    }
    assert!(seen.contains("connected to every process"), "{seen}");
    second.kill().unwrap(); // SIGKILL
    let killed = Instant::now();
    second.wait().unwrap();

    let (code, stderr) = wait_for(first, Duration::from_secs(60));
    assert!(
        killed.elapsed() < Duration::from_secs(60),
        "process 0 took {:?} to stop",
        killed.elapsed()
    );
    assert_eq!(code, Some(1), "{stderr}");
    let errors = errors(&stderr, &hostfile);
    assert_eq!(errors.len(), 1, "{stderr}");
    assert!(
        errors[0].starts_with(&format!(
            "error: lost the connection to HOSTS:3: process 1 ({}) during the run (",
            addresses[1]
        )) && errors[0].ends_with(
            "Process 0 stops too, with nothing published (the previous output, if any, is left \
             as it was)."
        ),
        "{stderr}"
    );
    assert_eq!(snapshot(&out), previous, "the previous output is intact");
    assert!(
        !dir.path().join(".out.staging").exists(),
        "no staging directory is left behind"
    );
}

#[test]
fn processes_that_disagree_refuse_each_other_naming_the_peer() {
    let input = shared_data("snap-ego-facebook/facebook_combined.txt");
    let input = input.to_str().unwrap();
    let cases: [(&[&str], &[&str], [&str; 2]); 2] = [
        (
            &["--workers", "1"],
            &["--workers", "2"],
            [
                "error: HOSTS:3: process 1 (B) runs 2 worker threads but this process runs 1; \
                 every process must use the same --workers",
                "error: HOSTS:2: process 0 (A) runs 1 worker threads but this process runs 2; \
                 every process must use the same --workers",
            ],
        ),
        (
            &["--set", "top_k=5"],
            &["--set", "top_k=6"],
            [
                "error: HOSTS:3: process 1 (B) runs a different job (its inputs, output, format, \
                 parts or parameters differ from this process's); start every process with the \
                 same job file and flags",
                "error: HOSTS:2: process 0 (A) runs a different job (its inputs, output, format, \
                 parts or parameters differ from this process's); start every process with the \
                 same job file and flags",
            ],
        ),
    ];
    for (flags0, flags1, expected) in cases {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let (hostfile, addresses) = two_hosts(dir.path());
        let common = ["--friendships", input, "--output", out.to_str().unwrap()];
        let args = |flags: &[&str]| -> Vec<String> {
            common
                .iter()
                .chain(flags)
                .chain(&["--connect-timeout", "20"])
                .map(|s| s.to_string())
                .collect()
        };
        let (args0, args1) = (args(flags0), args(flags1));
        let first = spawn(&args0, 0, &hostfile, false);
        let second = spawn(&args1, 1, &hostfile, false);
        let results = [
            wait_for(first, Duration::from_secs(60)),
            wait_for(second, Duration::from_secs(60)),
        ];
        for (process, (code, stderr)) in results.iter().enumerate() {
            assert_eq!(*code, Some(1), "process {process}: {stderr}");
            let shown: Vec<String> = errors(stderr, &hostfile)
                .iter()
                .map(|l| l.replace(&addresses[0], "A").replace(&addresses[1], "B"))
                .collect();
            assert_eq!(
                shown,
                vec![expected[process].to_string()],
                "process {process}"
            );
        }
        assert!(!out.exists(), "nothing is published");
        assert!(!dir.path().join(".out.staging").exists());
    }
}

#[test]
fn a_peer_address_that_is_not_reach_is_named() {
    let input = shared_data("snap-ego-facebook/facebook_combined.txt");
    // What listens at process 0's address: a server that greets with its own
    // banner, and one that accepts and stays silent.
    let banner = b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n".to_vec();
    let cases: [(Option<Vec<u8>>, &str); 2] = [
        (
            Some(banner),
            "the program listening there is not a reach process of this version (no REACHNET \
             hello); check the hostfile",
        ),
        (
            None,
            "accepted the connection but sent no hello before the connect timeout",
        ),
    ];
    for (greeting, expected) in cases {
        let dir = tempfile::tempdir().unwrap();
        let impostor = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let address = impostor.local_addr().unwrap().to_string();
        let hostfile = dir.path().join("hosts.txt");
        std::fs::write(
            &hostfile,
            format!("{address}\n127.0.0.1:{}\n", free_ports(1)[0]),
        )
        .unwrap();
        let server = std::thread::spawn(move || {
            let (mut stream, _) = impostor.accept().unwrap();
            if let Some(greeting) = greeting {
                std::io::Write::write_all(&mut stream, &greeting).unwrap();
            }
            // Hold the connection until the client gives up.
            let mut sink = Vec::new();
            let _ = std::io::Read::read_to_end(&mut stream, &mut sink);
        });
        let args = [
            "--friendships".to_string(),
            input.display().to_string(),
            "--output".to_string(),
            dir.path().join("out").display().to_string(),
            "--connect-timeout".to_string(),
            "3".to_string(),
        ];
        let (code, stderr) = wait_for(spawn(&args, 1, &hostfile, false), Duration::from_secs(60));
        server.join().unwrap();
        assert_eq!(code, Some(1), "{stderr}");
        assert_eq!(
            errors(&stderr, &hostfile),
            vec![format!("error: HOSTS:1: process 0 ({address}): {expected}")]
        );
    }
}

#[test]
fn a_hostfile_naming_one_address_twice_is_refused_naming_both_lines() {
    let port = free_ports(1)[0];
    let other = free_ports(1)[0];
    assert_eq!(
        cluster_error(
            Some(&format!(
                "# hosts\n127.0.0.1:{port}\n127.0.0.1:{other}\n\n127.0.0.1:{port}\n"
            )),
            3
        ),
        format!(
            "HOSTS:5: 127.0.0.1:{port} is already process 0's address (HOSTS:2); two processes \
             cannot listen on one host:port: give each process its own line"
        )
    );
    // Only the first --processes lines count: a spare line may repeat one.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hosts.txt");
    std::fs::write(
        &path,
        format!("127.0.0.1:{port}\n127.0.0.1:{other}\n127.0.0.1:{port}\n"),
    )
    .unwrap();
    assert_eq!(
        reach::cluster::read_hostfile(&path, 2).unwrap().peers.len(),
        2
    );
}
