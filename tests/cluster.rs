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

/// Starts `reach run ARGS --processes 2 --process P --hostfile HOSTS`.
fn spawn<S: AsRef<std::ffi::OsStr>>(
    args: &[S],
    process: usize,
    hostfile: &Path,
    log: bool,
) -> std::process::Child {
    let mut command = Command::new(env!("CARGO_BIN_EXE_reach"));
    command
        .arg("run")
        .args(args)
        .args(["--processes", "2", "--process", &process.to_string()])
        .arg("--hostfile")
        .arg(hostfile)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    if log {
        command.env("RUST_LOG", "info");
    } else {
        command.env_remove("RUST_LOG");
    }
    command.spawn().unwrap()
}

/// Waits at most `limit` for a child; its exit code and stderr.
fn wait_for(mut child: std::process::Child, limit: Duration) -> (Option<i32>, String) {
    let deadline = Instant::now() + limit;
    let mut stderr = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut stderr, &mut text).unwrap();
        text
    });
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return (status.code(), reader.join().unwrap());
        }
        if Instant::now() > deadline {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!(
                "the process did not exit within {limit:?}; stderr:\n{}",
                reader.join().unwrap()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn two_hosts(dir: &Path) -> (std::path::PathBuf, Vec<String>) {
    let hostfile = dir.join("hosts.txt");
    let addresses: Vec<String> = free_ports(2)
        .iter()
        .map(|p| format!("127.0.0.1:{p}"))
        .collect();
    std::fs::write(
        &hostfile,
        format!("# two processes\n{}\n", addresses.join("\n")),
    )
    .unwrap();
    (hostfile, addresses)
}

/// The `error: ` lines of a process's stderr, with the hostfile's path replaced by HOSTS.
fn errors(stderr: &str, hostfile: &Path) -> Vec<String> {
    stderr
        .lines()
        .filter(|l| l.starts_with("error: "))
        .map(|l| l.replace(&hostfile.display().to_string(), "HOSTS"))
        .collect()
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

fn repo(rel: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

#[test]
fn launch_scripts_are_valid_bash() {
    for script in [
        "cluster/local.sh",
        "cluster/slurm/reach.sbatch",
        "benches/scaling.sh",
    ] {
        let check = Command::new("bash")
            .arg("-n")
            .arg(repo(script))
            .output()
            .unwrap();
        assert!(
            check.status.success(),
            "bash -n {script}: {}",
            String::from_utf8_lossy(&check.stderr)
        );
    }
    let sbatch = std::fs::read_to_string(repo("cluster/slurm/reach.sbatch")).unwrap();
    for needed in [
        "--process \"$SLURM_PROCID\"",
        "scontrol show hostnames \"$SLURM_JOB_NODELIST\"",
        "--kill-on-bad-exit=1",
        "exit \"$status\"",
    ] {
        assert!(sbatch.contains(needed), "reach.sbatch lacks {needed}");
    }
}

#[test]
fn the_kubernetes_manifest_parses_and_its_parts_agree() {
    use yaml_rust2::{Yaml, YamlLoader};
    let text = std::fs::read_to_string(repo("cluster/k8s/reach.yaml")).unwrap();
    let docs = YamlLoader::load_from_str(&text).expect("valid YAML");
    let kind = |k: &str| -> &Yaml {
        docs.iter()
            .find(|d| d["kind"].as_str() == Some(k))
            .unwrap_or_else(|| panic!("no {k} in the manifest"))
    };
    let (service, job, hosts, policy) = (
        kind("Service"),
        kind("Job"),
        kind("ConfigMap"),
        kind("NetworkPolicy"),
    );
    let service_name = service["metadata"]["name"].as_str().unwrap();
    let job_name = job["metadata"]["name"].as_str().unwrap();
    assert_eq!(
        service["spec"]["clusterIP"].as_str(),
        Some("None"),
        "headless"
    );
    let port = service["spec"]["ports"][0]["port"].as_i64().unwrap();
    assert_eq!(
        policy["spec"]["ingress"][0]["ports"][0]["port"].as_i64(),
        Some(port)
    );
    let job_label = Yaml::String("batch.kubernetes.io/job-name".to_string());
    assert_eq!(
        service["spec"]["selector"].as_hash().unwrap()[&job_label].as_str(),
        Some(job_name)
    );

    let spec = &job["spec"];
    assert_eq!(spec["completionMode"].as_str(), Some("Indexed"));
    let processes = spec["completions"].as_i64().unwrap();
    assert_eq!(spec["parallelism"].as_i64(), Some(processes));
    assert_eq!(spec["backoffLimit"].as_i64(), Some(0));
    let pod = &spec["template"]["spec"];
    assert_eq!(pod["subdomain"].as_str(), Some(service_name));
    let container = &pod["containers"][0];
    let args: Vec<&str> = container["args"]
        .as_vec()
        .unwrap()
        .iter()
        .map(|a| a.as_str().expect("string args"))
        .collect();
    let after = |flag: &str| -> &str {
        let at = args
            .iter()
            .position(|a| *a == flag)
            .unwrap_or_else(|| panic!("no {flag}"));
        args[at + 1]
    };
    assert_eq!(after("--processes"), processes.to_string());
    assert_eq!(after("--process"), "$(PROCESS)");
    let env = container["env"].as_vec().unwrap();
    let process_env = env
        .iter()
        .find(|e| e["name"].as_str() == Some("PROCESS"))
        .expect("a PROCESS variable");
    assert_eq!(
        process_env["valueFrom"]["fieldRef"]["fieldPath"].as_str(),
        Some("metadata.annotations['batch.kubernetes.io/job-completion-index']")
    );

    // The hostfile is mounted where --hostfile points, and reach accepts it.
    let hostfile = after("--hostfile");
    let (dir, file) = hostfile.rsplit_once('/').unwrap();
    let mount = container["volumeMounts"]
        .as_vec()
        .unwrap()
        .iter()
        .find(|m| m["mountPath"].as_str() == Some(dir))
        .expect("the hostfile's directory is mounted");
    let volume = pod["volumes"]
        .as_vec()
        .unwrap()
        .iter()
        .find(|v| v["name"] == mount["name"])
        .unwrap();
    assert_eq!(
        volume["configMap"]["name"].as_str(),
        hosts["metadata"]["name"].as_str()
    );
    let hosts_text = hosts["data"][file].as_str().unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(file), hosts_text).unwrap();
    let parsed = reach::cluster::read_hostfile(&dir.path().join(file), processes as usize).unwrap();
    let expected: Vec<String> = (0..processes)
        .map(|i| format!("{job_name}-{i}.{service_name}:{port}"))
        .collect();
    let listed: Vec<String> = parsed.peers.iter().map(|p| p.address.clone()).collect();
    assert_eq!(listed, expected, "pod DNS names in process order");
    assert_eq!(
        hosts_text
            .lines()
            .filter(|l| !l.trim().starts_with('#'))
            .count(),
        processes as usize,
        "exactly one line per process"
    );
}

/// A port `p` such that `p` and `p + 1` are both free now.
fn two_consecutive_ports() -> u16 {
    for _ in 0..100 {
        let port = free_ports(1)[0];
        if port < u16::MAX && std::net::TcpListener::bind(("127.0.0.1", port + 1)).is_ok() {
            return port;
        }
    }
    panic!("no two consecutive free ports");
}

#[test]
fn local_sh_exits_with_the_failure_of_a_process() {
    let dir = tempfile::tempdir().unwrap();
    let local = |friendships: &Path| {
        Command::new("bash")
            .arg(repo("cluster/local.sh"))
            .args(["2", "--quiet", "--friendships"])
            .arg(friendships)
            .arg("--output")
            .arg(dir.path().join("out"))
            .env("REACH", env!("CARGO_BIN_EXE_reach"))
            .env("BASE_PORT", two_consecutive_ports().to_string())
            .output()
            .unwrap()
    };
    let ok = local(&shared_data("snap-ego-facebook/facebook_combined.txt"));
    assert_eq!(
        ok.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert!(dir.path().join("out/_SUCCESS").exists());
    let failed = local(&dir.path().join("missing.csv"));
    assert_eq!(
        failed.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&failed.stderr)
    );
}

/// Stand-ins for Slurm's `scontrol` and `srun`, enough to run reach.sbatch on
/// this machine: two "nodes" 127.0.0.1 and 127.0.0.2 (both loopback), one
/// task each with SLURM_PROCID, SLURM_NTASKS and SLURMD_NODENAME set as srun
/// sets them; srun exits with the first failing task's code.
fn fake_slurm(dir: &Path) {
    let write = |name: &str, text: &str| {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        let executable = std::os::unix::fs::PermissionsExt::from_mode(0o755);
        std::fs::set_permissions(&path, executable).unwrap();
    };
    write(
        "scontrol",
        "#!/usr/bin/env bash\n\
         [[ \"$1 $2\" == 'show hostnames' ]] || exit 1\n\
         printf '127.0.0.1\\n127.0.0.2\\n'\n",
    );
    write(
        "srun",
        r#"#!/usr/bin/env bash
ntasks=
while [[ "$1" == --* ]]; do
    case "$1" in --ntasks=*) ntasks=${1#--ntasks=} ;; esac
    shift
done
mapfile -t nodes < <(scontrol show hostnames x)
pids=()
for ((i = 0; i < ntasks; i++)); do
    SLURM_PROCID=$i SLURM_NTASKS=$ntasks SLURMD_NODENAME=${nodes[$i]} "$@" &
    pids+=($!)
done
status=0
for pid in "${pids[@]}"; do
    code=0; wait "$pid" || code=$?
    if [[ $code -ne 0 && $status -eq 0 ]]; then status=$code; kill "${pids[@]}" 2>/dev/null || true; fi
done
exit $status
"#,
    );
}

#[test]
fn the_slurm_script_runs_with_stand_in_srun() {
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    fake_slurm(&bin);
    let input = shared_data("snap-ego-facebook/facebook_combined.txt");
    let single = dir.path().join("single");
    run(&input, &single, 1, &[], Format::Csv).unwrap();
    let sbatch = |friendships: &Path, out: &Path| {
        Command::new("bash")
            .arg(repo("cluster/slurm/reach.sbatch"))
            .arg("--friendships")
            .arg(friendships)
            .arg("--output")
            .arg(out)
            .arg("--quiet")
            .env(
                "PATH",
                format!("{}:{}", bin.display(), std::env::var("PATH").unwrap()),
            )
            .env("REACH", env!("CARGO_BIN_EXE_reach"))
            .env("REACH_PORT", free_ports(1)[0].to_string())
            .env("SLURM_JOB_ID", "4242")
            .env("SLURM_JOB_NODELIST", "node[1-2]")
            .env("SLURM_SUBMIT_DIR", dir.path())
            .env("SLURM_CPUS_PER_TASK", "1")
            .output()
            .unwrap()
    };
    let out = dir.path().join("out");
    let ok = sbatch(&input, &out);
    let stderr = String::from_utf8_lossy(&ok.stderr);
    assert_eq!(ok.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("reach: 2 processes x 1 workers"),
        "{stderr}"
    );
    assert_eq!(snapshot(&out), snapshot(&single));
    assert!(
        !dir.path().join("reach-hosts-4242.txt").exists(),
        "the hostfile is removed"
    );
    let failed = sbatch(&dir.path().join("missing.csv"), &dir.path().join("out2"));
    assert_eq!(
        failed.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&failed.stderr)
    );
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

/// A small friendship file, and the output one process makes of it.
fn small_graph(
    dir: &Path,
) -> (
    std::path::PathBuf,
    std::collections::BTreeMap<String, Vec<u8>>,
) {
    let input = dir.join("f.csv");
    let mut rng = Lcg(5);
    let text: String = (0..400)
        .map(|_| format!("{},{}\n", rng.next(150), rng.next(150)))
        .collect();
    std::fs::write(&input, text).unwrap();
    let single = dir.join("single");
    run(&input, &single, 1, &[], Format::Csv).unwrap();
    (input, snapshot(&single))
}

/// Connects to `address` once something listens there (bounded).
fn connect_when_listening(address: &str) -> std::net::TcpStream {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match std::net::TcpStream::connect(address) {
            Ok(stream) => {
                stream
                    .set_read_timeout(Some(Duration::from_secs(30)))
                    .unwrap();
                return stream;
            }
            Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => panic!("nothing listens at {address}: {e}"),
        }
    }
}

/// Whether the other end closed the connection (rather than answering).
fn closed(stream: &mut std::net::TcpStream) -> bool {
    let mut byte = [0u8; 1];
    matches!(std::io::Read::read(stream, &mut byte), Ok(0) | Err(_))
}

#[test]
fn strangers_are_refused_while_the_real_peers_connect() {
    use reach::cluster::handshake::{proof, Key, Role, GREETING_BYTES};
    use std::io::{Read, Write};
    let dir = tempfile::tempdir().unwrap();
    let (input, expected) = small_graph(dir.path());
    let secret = dir.path().join("reach.secret");
    std::fs::write(&secret, "2c1d0f8e6a7b4c3d9e8f7a6b5c4d3e2f\n").unwrap();
    std::fs::set_permissions(&secret, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let (hostfile, addresses) = two_hosts(dir.path());
    let out = dir.path().join("out");
    let args: Vec<String> = [
        "--quiet".as_ref(),
        "--friendships".as_ref(),
        input.as_os_str(),
        "--output".as_ref(),
        out.as_os_str(),
        "--secret-file".as_ref(),
        secret.as_os_str(),
        "--connect-timeout".as_ref(),
        "15".as_ref(),
    ]
    .iter()
    .map(|s: &&std::ffi::OsStr| s.to_string_lossy().into_owned())
    .collect();
    let first = spawn(&args, 0, &hostfile, false);

    // Three connections that never say anything, held open throughout.
    let silent: Vec<_> = (0..3)
        .map(|_| connect_when_listening(&addresses[0]))
        .collect();
    // Process 0 greets first: echo its greeting back as process 1, with a
    // proof made without the secret.
    let mut replay = connect_when_listening(&addresses[0]);
    let mut greeting = [0u8; GREETING_BYTES];
    replay.read_exact(&mut greeting).unwrap();
    let theirs = greeting;
    greeting[12..16].copy_from_slice(&1u32.to_be_bytes());
    replay.write_all(&greeting).unwrap();
    replay
        .write_all(&proof(&Key::default(), Role::Dial, &greeting, &theirs))
        .unwrap();
    // A peer that speaks the protocol, as process 1, with another secret.
    let mut impostor = connect_when_listening(&addresses[0]);
    let mut theirs = [0u8; GREETING_BYTES];
    impostor.read_exact(&mut theirs).unwrap();
    let mut mine = theirs;
    mine[12..16].copy_from_slice(&1u32.to_be_bytes());
    mine[32..].copy_from_slice(&[7u8; 32]);
    impostor.write_all(&mine).unwrap();
    let wrong = Key::new(b"not-the-secret-but-long-enough".to_vec());
    impostor
        .write_all(&proof(&wrong, Role::Dial, &mine, &theirs))
        .unwrap();
    assert!(closed(&mut replay), "the replay is refused");
    assert!(closed(&mut impostor), "the wrong secret is refused");

    // The real process 1 still gets in, and the run gives the right bytes.
    let second = spawn(&args, 1, &hostfile, false);
    let (code0, stderr0) = wait_for(first, Duration::from_secs(90));
    let (code1, stderr1) = wait_for(second, Duration::from_secs(90));
    assert_eq!((code0, code1), (Some(0), Some(0)), "{stderr0}\n{stderr1}");
    assert_eq!(snapshot(&out), expected);
    let refusals = stderr0
        .lines()
        .filter(|l| {
            l.contains("calling itself process 1 did not prove it knows the cluster secret")
        })
        .count();
    assert_eq!(refusals, 2, "both logged:\n{stderr0}");
    drop(silent);
}

#[test]
fn processes_with_different_secrets_refuse_each_other() {
    let dir = tempfile::tempdir().unwrap();
    let (input, _) = small_graph(dir.path());
    let (hostfile, addresses) = two_hosts(dir.path());
    let out = dir.path().join("out");
    let args = |variable: &str| -> Vec<String> {
        let input = input.display().to_string();
        let out = out.display().to_string();
        [
            "--friendships",
            &input,
            "--output",
            &out,
            "--connect-timeout",
            "4",
            "--secret-env",
            variable,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    };
    // A variable that is not set is named.
    let (code, stderr) = wait_for(
        spawn(&args("REACH_TEST_SECRET_UNSET"), 0, &hostfile, false),
        Duration::from_secs(60),
    );
    assert_eq!(code, Some(1));
    assert_eq!(
        errors(&stderr, &hostfile),
        vec![
            "error: --secret-env REACH_TEST_SECRET_UNSET: the environment variable \
              REACH_TEST_SECRET_UNSET is not set; export it (with the same secret) in every \
              process's environment"
                .to_string()
        ]
    );
    // Both with a secret, different ones: process 1 is refused, process 0 waits out its deadline.
    let run_with = |variable: &str, value: &str, process: usize| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_reach"));
        command
            .arg("run")
            .args(args(variable))
            .args([
                "--processes",
                "2",
                "--process",
                &process.to_string(),
                "--hostfile",
            ])
            .arg(&hostfile)
            .env(variable, value)
            .env_remove("RUST_LOG")
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        command.spawn().unwrap()
    };
    let first = run_with("REACH_TEST_SECRET_A", "aaaaaaaaaaaaaaaaaaaaaaaa", 0);
    let second = run_with("REACH_TEST_SECRET_B", "bbbbbbbbbbbbbbbbbbbbbbbb", 1);
    let (code1, stderr1) = wait_for(second, Duration::from_secs(60));
    let (code0, stderr0) = wait_for(first, Duration::from_secs(60));
    assert_eq!((code0, code1), (Some(1), Some(1)));
    assert_eq!(
        errors(&stderr1, &hostfile),
        vec![format!(
            "error: HOSTS:2: process 0 ({}): the process listening there and this one do not \
             share the cluster secret (one refused the other's proof); start every process with \
             the same --secret-file or --secret-env content, or none",
            addresses[0]
        )]
    );
    let errors0 = errors(&stderr0, &hostfile);
    assert_eq!(errors0.len(), 1, "{stderr0}");
    assert!(
        errors0[0].contains(&format!(
            "HOSTS:3: process 1 ({}) never connected to this process (1 connection(s) refused \
             meanwhile; the last: a connection from 127.0.0.1:",
            addresses[1]
        )) && errors0[0]
            .contains("calling itself process 1 did not prove it knows the cluster secret)"),
        "{stderr0}"
    );
    assert!(!out.exists() && !dir.path().join(".out.staging").exists());
}

#[test]
fn listening_beyond_loopback_without_a_secret_warns() {
    let dir = tempfile::tempdir().unwrap();
    let (input, _) = small_graph(dir.path());
    let (hostfile, addresses) = two_hosts(dir.path());
    let port = addresses[0].rsplit_once(':').unwrap().1;
    let alone = |extra: &[&str]| {
        let mut args: Vec<String> = ["--quiet", "--friendships"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        args.push(input.display().to_string());
        args.push("--output".to_string());
        args.push(dir.path().join("out").display().to_string());
        args.extend(
            ["--connect-timeout", "1"]
                .iter()
                .chain(extra)
                .map(|s| s.to_string()),
        );
        wait_for(spawn(&args, 0, &hostfile, false), Duration::from_secs(60)).1
    };
    let warning = format!(
        "process 0 listens on 0.0.0.0:{port}, not a loopback address, without a cluster secret: \
         anyone who can reach this port before every peer has connected can join the run as a \
         peer (and read or alter the graph). Give every process --secret-file FILE or \
         --secret-env NAME, and firewall the port (docs/cluster.md)"
    );
    assert!(alone(&["--listen", "0.0.0.0"]).contains(&warning));
    assert!(
        !alone(&[]).contains("without a cluster secret"),
        "loopback: no warning"
    );
    let secret = dir.path().join("s");
    std::fs::write(&secret, "0123456789abcdef0123").unwrap();
    std::fs::set_permissions(&secret, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let with_secret = alone(&[
        "--listen",
        "0.0.0.0",
        "--secret-file",
        secret.to_str().unwrap(),
    ]);
    assert!(!with_secret.contains("WARN"), "{with_secret}");
    std::fs::write(&secret, "short\n").unwrap();
    let short = alone(&["--secret-file", secret.to_str().unwrap()]);
    assert!(
        short.contains(&format!(
            "error: --secret-file {}: the secret has 5 bytes; use at least 16 random ones",
            secret.display()
        )),
        "{short}"
    );
}
