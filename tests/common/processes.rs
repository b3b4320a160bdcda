//! Starting cluster processes of the binary and reading what they said.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::free_ports;

/// Starts `reach run ARGS --processes 2 --process P --hostfile HOSTS`.
pub fn spawn<S: AsRef<std::ffi::OsStr>>(
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
pub fn wait_for(mut child: std::process::Child, limit: Duration) -> (Option<i32>, String) {
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

pub fn two_hosts(dir: &Path) -> (std::path::PathBuf, Vec<String>) {
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
pub fn errors(stderr: &str, hostfile: &Path) -> Vec<String> {
    stderr
        .lines()
        .filter(|l| l.starts_with("error: "))
        .map(|l| l.replace(&hostfile.display().to_string(), "HOSTS"))
        .collect()
}

/// Runs `reach ARGS` to completion and asserts it succeeded (its stderr in
/// the message otherwise).
pub fn reach_ok(args: &[&str]) {
    let out = Command::new(env!("CARGO_BIN_EXE_reach"))
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "reach {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
