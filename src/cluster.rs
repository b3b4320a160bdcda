//! Starting the workers: one thread, several threads, or several processes
//! listed in a hostfile.
//!
//! For several processes `reach` makes the TCP connections itself (see
//! [`connect`]) instead of letting timely do it, so that it can authenticate
//! every peer with the cluster's shared secret and check it before anything
//! runs (same protocol, process count, worker threads and job), give up
//! after `--connect-timeout` naming the peer that never answered, listen on
//! a configurable address, and stop at once, naming the peer, when a peer
//! dies mid-run ([`net`]). Messages name the hostfile and its line.

pub mod connect;
pub mod figures;
pub mod handshake;
pub mod net;

use std::net::{SocketAddr, TcpListener, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use timely::communication::allocator::zero_copy::initialize::initialize_networking_from_sockets;
use timely::communication::allocator::{AllocatorBuilder, ProcessBuilder};
use timely::communication::{Hooks, WorkerGuards};
use timely::worker::Worker;

use crate::error::{Error, Result};
use crate::job::{Job, Secret};

/// One line of a hostfile: a process's address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Peer {
    /// The process index (the line's rank among address lines).
    pub index: usize,
    /// `host:port` as written.
    pub address: String,
    /// The line number in the hostfile, 1-based.
    pub line: usize,
}

/// A checked hostfile.
#[derive(Clone, Debug)]
pub struct Hostfile {
    /// The file.
    pub path: PathBuf,
    /// The first `processes` addresses.
    pub peers: Vec<Peer>,
}

impl Hostfile {
    /// `hosts.txt:2: process 1 (10.0.0.2:4000)`: how messages name a peer.
    pub fn describe(&self, index: usize) -> String {
        let peer = &self.peers[index];
        format!(
            "{}:{}: process {} ({})",
            self.path.display(),
            peer.line,
            peer.index,
            peer.address
        )
    }
}

/// Reads and checks a hostfile: at least `processes` lines of `host:port`
/// (blank lines and `#` comments skipped), no address twice among them;
/// keeps the first `processes`.
pub fn read_hostfile(path: &Path, processes: usize) -> Result<Hostfile> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::Config(format!("{}: cannot read the hostfile: {e}", path.display())))?;
    let mut peers = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let valid = line.rsplit_once(':').is_some_and(|(host, port)| {
            !host.is_empty() && port.parse::<u16>().is_ok_and(|p| p > 0)
        });
        if !valid {
            return Err(Error::Config(format!(
                "{}:{}: expected host:port with a port in 1..65535, found \"{line}\"",
                path.display(),
                number + 1
            )));
        }
        if let Some(first) = peers
            .iter()
            .find(|p: &&Peer| p.address.eq_ignore_ascii_case(line))
        {
            return Err(Error::Config(format!(
                "{path}:{}: {line} is already process {}'s address ({path}:{}); two processes \
                 cannot listen on one host:port: give each process its own line",
                number + 1,
                first.index,
                first.line,
                path = path.display(),
            )));
        }
        peers.push(Peer {
            index: peers.len(),
            address: line.to_string(),
            line: number + 1,
        });
        if peers.len() == processes {
            return Ok(Hostfile {
                path: path.to_path_buf(),
                peers,
            });
        }
    }
    Err(Error::Config(format!(
        "{}: lists {} address(es) but --processes is {processes}: give one host:port line per process",
        path.display(),
        peers.len()
    )))
}

/// How the workers of this process will be started.
pub enum Plan {
    /// One worker thread.
    Thread,
    /// Several worker threads in this process.
    Process(usize),
    /// Several processes: the hostfile is checked and this process's port is
    /// already bound (so a busy port fails before any input is read).
    Cluster(ClusterPlan),
}

/// A cluster run, ready to connect.
pub struct ClusterPlan {
    hostfile: Hostfile,
    process: usize,
    workers: usize,
    digest: u64,
    connect_timeout: Duration,
    listener: TcpListener,
    key: handshake::Key,
    /// Bytes exchanged with each peer, counted as they pass.
    pub traffic: Arc<net::Traffic>,
}

/// Checks the cluster settings of a job (hostfile, listen address) and
/// binds this process's listening port.
pub fn plan(job: &Job) -> Result<Plan> {
    let cluster = &job.cluster;
    if cluster.processes == 1 {
        return Ok(if job.workers > 1 {
            Plan::Process(job.workers)
        } else {
            Plan::Thread
        });
    }
    let path = cluster
        .hostfile
        .as_deref()
        .ok_or_else(|| Error::Config("--processes > 1 needs --hostfile".to_string()))?;
    let hostfile = read_hostfile(path, cluster.processes)?;
    let key = match &cluster.secret {
        Some(secret) => read_secret(secret)?,
        None => handshake::Key::default(),
    };
    let me = hostfile.describe(cluster.process);
    let own = &hostfile.peers[cluster.process].address;
    let addresses = listen_addresses(cluster.listen.as_deref(), own).map_err(|e| {
        Error::Config(match &cluster.listen {
            Some(listen) => format!("--listen {listen}: {e}"),
            None => format!("{me}: cannot resolve this process's own address to listen on: {e}"),
        })
    })?;
    let listener = TcpListener::bind(&addresses[..]).map_err(|e| {
        let shown: Vec<String> = addresses.iter().map(|a| a.to_string()).collect();
        Error::Config(format!(
            "{me}: cannot listen on {}: {e}. Is another process using the port, or is the host \
             not an address of this machine? (--listen ADDR picks another address)",
            shown.join(", ")
        ))
    })?;
    let local = listener.local_addr().map_err(|e| Error::io(path, e))?;
    tracing::info!(process = cluster.process, listen = %local, "listening for peers");
    if !key.is_set() && !local.ip().is_loopback() {
        tracing::warn!(
            "process {} listens on {local}, not a loopback address, without a cluster secret: \
             anyone who can reach this port before every peer has connected can join the run \
             as a peer (and read or alter the graph). Give every process --secret-file FILE or \
             --secret-env NAME, and firewall the port (docs/cluster.md)",
            cluster.process
        );
    }
    Ok(Plan::Cluster(ClusterPlan {
        traffic: Arc::new(net::Traffic::new(cluster.processes)),
        process: cluster.process,
        workers: job.workers,
        digest: job_digest(job),
        connect_timeout: Duration::from_secs(cluster.connect_timeout),
        listener,
        hostfile,
        key,
    }))
}

/// The shortest secret accepted, in bytes.
pub const MIN_SECRET_BYTES: usize = 16;

/// Reads the cluster secret from its file or environment variable (one
/// trailing newline dropped). Messages name the file or the variable.
fn read_secret(secret: &Secret) -> Result<handshake::Key> {
    let (mut bytes, named) = match secret {
        Secret::File(path) => {
            let bytes = std::fs::read(path).map_err(|e| {
                Error::Config(format!(
                    "--secret-file {}: cannot read it: {e}",
                    path.display()
                ))
            })?;
            warn_if_readable_by_others(path);
            (bytes, format!("--secret-file {}", path.display()))
        }
        Secret::Env(name) => match std::env::var_os(name) {
            Some(value) => (
                std::os::unix::ffi::OsStringExt::into_vec(value),
                format!("--secret-env {name}"),
            ),
            None => {
                return Err(Error::Config(format!(
                    "--secret-env {name}: the environment variable {name} is not set; export it \
                     (with the same secret) in every process's environment"
                )))
            }
        },
    };
    if bytes.ends_with(b"\n") {
        bytes.pop();
        if bytes.ends_with(b"\r") {
            bytes.pop();
        }
    }
    if bytes.len() < MIN_SECRET_BYTES {
        return Err(Error::Config(format!(
            "{named}: the secret has {} bytes; use at least {MIN_SECRET_BYTES} random ones, e.g. \
             `head -c 32 /dev/urandom | base64 > reach.secret`",
            bytes.len()
        )));
    }
    Ok(handshake::Key::new(bytes))
}

/// A secret file others can read is no secret: say so (as ssh does).
fn warn_if_readable_by_others(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = std::fs::metadata(path) {
        if meta.permissions().mode() & 0o077 != 0 {
            tracing::warn!(
                "--secret-file {}: other users may read it (mode {:o}); chmod 600 it",
                path.display(),
                meta.permissions().mode() & 0o777
            );
        }
    }
}

/// The socket addresses to listen on: `listen` (`HOST` or `HOST:PORT`), or
/// the process's own hostfile address.
fn listen_addresses(listen: Option<&str>, own: &str) -> std::io::Result<Vec<SocketAddr>> {
    let own_port = own
        .rsplit_once(':')
        .and_then(|(_, p)| p.parse::<u16>().ok())
        .unwrap_or(0);
    let resolved: Vec<SocketAddr> = match listen {
        None => own.to_socket_addrs()?.collect(),
        Some(listen) => {
            let listen = listen.trim();
            if let Ok(address) = listen.parse::<SocketAddr>() {
                vec![address]
            } else if let Ok(ip) = listen.trim_matches(['[', ']']).parse::<std::net::IpAddr>() {
                vec![SocketAddr::new(ip, own_port)]
            } else if let Some((host, port)) = listen
                .rsplit_once(':')
                .filter(|(_, p)| p.parse::<u16>().is_ok())
            {
                (host, port.parse::<u16>().unwrap_or(0))
                    .to_socket_addrs()?
                    .collect()
            } else {
                (listen, own_port).to_socket_addrs()?.collect()
            }
        }
    };
    if resolved.is_empty() {
        return Err(std::io::Error::other("no address"));
    }
    Ok(resolved)
}

/// What every process of a run must agree on besides the process and worker
/// counts: the inputs, output and parameters (a digest, compared in the handshake).
fn job_digest(job: &Job) -> u64 {
    use sha2::Digest;
    let text = format!(
        "{:?}|{:?}|{:?}|{:?}|{}|{:?}",
        job.source, job.deltas, job.output, job.format, job.parts, job.params
    );
    let hash = sha2::Sha256::digest(text.as_bytes());
    u64::from_be_bytes(hash[..8].try_into().expect("8 bytes"))
}

/// Starts the workers of this process, running `func` on each. In a cluster
/// run this first connects to every peer (failing after the connect timeout)
/// and, from then on, ends this process with exit code 1 if a peer is lost
/// or a local worker panics (timely would hang): `cleanup` runs first (process
/// 0 removes its staging directory), so nothing is published.
pub fn execute<T, F>(
    plan: Plan,
    cleanup: Arc<dyn Fn() + Send + Sync>,
    func: F,
) -> Result<WorkerGuards<T>>
where
    T: Send + 'static,
    F: Fn(&mut Worker) -> T + Send + Sync + 'static,
{
    let (builders, others, failure) = match plan {
        Plan::Thread => {
            let (builders, others) = timely::CommunicationConfig::Thread
                .try_build()
                .map_err(Error::Runtime)?;
            (builders, others, None)
        }
        Plan::Process(workers) => {
            let (builders, others) = timely::CommunicationConfig::Process(workers)
                .try_build()
                .map_err(Error::Runtime)?;
            (builders, others, None)
        }
        Plan::Cluster(plan) => {
            let deadline = Instant::now() + plan.connect_timeout;
            let streams = connect::connect(&plan, deadline)?;
            let failure = net::Failure::new(plan.process, cleanup);
            let sockets = net::links(streams, &plan, &failure);
            let hooks = Hooks::default();
            let locals = ProcessBuilder::new_typed_vector(plan.workers, hooks.refill.clone(), None);
            let (builders, guard) = initialize_networking_from_sockets(
                locals,
                sockets,
                plan.process,
                plan.workers,
                hooks,
            )
            .map_err(|e| Error::Runtime(format!("cannot start the network threads: {e}")))?;
            let builders = builders.into_iter().map(AllocatorBuilder::Tcp).collect();
            let others: Box<dyn std::any::Any + Send> = Box::new(guard);
            (builders, others, Some(failure))
        }
    };
    timely::execute::execute_from(
        builders,
        others,
        timely::WorkerConfig::default(),
        move |worker| {
            // Dropped while unwinding a worker's panic: the process ends
            // before the worker's channels close cleanly, so peers see the
            // loss instead of waiting forever (and so do local workers).
            let _exit_on_panic = failure.clone().map(net::ExitOnPanic);
            func(worker)
        },
    )
    .map_err(|e| Error::Runtime(format!("cannot start the workers: {e}")))
}
