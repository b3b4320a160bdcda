//! The links between processes admit only peers that prove they know the
//! cluster secret: strangers, replays and silent connections are refused
//! while the real run completes; a missing secret on an open address warns.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use reach::job::Format;

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
