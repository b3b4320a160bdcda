//! Making the connections between processes: here rather than in timely, so
//! that each is authenticated and checked by a handshake ([`handshake`]) and
//! bounded by a deadline.
//!
//! As in timely, process `i` connects to every process below it and accepts
//! a connection from every process above it, on the port of its hostfile
//! line. The accepting side handles every incoming connection in a thread of
//! its own with a short timeout, so silent or garbage connections cannot
//! starve the real peers; a connection that does not prove it knows the
//! cluster secret (or speaks no reach, or another protocol version) is
//! refused and logged, and the process goes on waiting for the real peer
//! until its deadline. A peer that proves itself but was started with other
//! settings stops the run, naming the peer's hostfile line.

use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use super::handshake::{self, Answer, Hello, Key, Role};
use super::{ClusterPlan, Hostfile};
use crate::error::{Error, Result};

/// How long an accepted connection may take to complete its handshake: a
/// real peer sends its greeting as soon as it connects.
const ACCEPT_PATIENCE: Duration = Duration::from_secs(5);
/// Handshakes in progress at once on the accepting side; connections
/// beyond are closed at once (a flood cannot exhaust threads).
const MAX_PENDING: usize = 64;

/// This process's hello.
fn ours(plan: &ClusterPlan) -> Hello {
    Hello {
        protocol: handshake::PROTOCOL,
        process: plan.process as u32,
        processes: plan.hostfile.peers.len() as u32,
        workers: plan.workers as u32,
        digest: plan.digest,
    }
}

/// Connects to every peer (see the module docs) by `deadline`: the streams
/// in process order, `None` at this process's own index.
pub fn connect(plan: &ClusterPlan, deadline: Instant) -> Result<Vec<Option<TcpStream>>> {
    let started = Instant::now();
    let me = plan.process;
    let processes = plan.hostfile.peers.len();
    let ours = ours(plan);
    let give_up = Arc::new(AtomicBool::new(false));
    let listener = plan
        .listener
        .try_clone()
        .map_err(|e| Error::Runtime(format!("cannot use the listening socket: {e}")))?;
    let accepting = {
        let hostfile = plan.hostfile.clone();
        let give_up = Arc::clone(&give_up);
        let key = plan.key.clone();
        std::thread::spawn(move || {
            let accepted = accept_higher(listener, &hostfile, (me, ours, key), deadline, &give_up);
            if accepted.is_err() {
                // A refusal here ends the run: stop dialling lower processes too.
                give_up.store(true, Ordering::SeqCst);
            }
            accepted
        })
    };
    let lower = connect_lower(plan, ours, deadline, &give_up);
    if lower.is_err() {
        give_up.store(true, Ordering::SeqCst);
    }
    let higher = accepting
        .join()
        .map_err(|_| Error::Runtime("the thread accepting peers panicked".to_string()))?;
    let (mut streams, missing_lower) = lower?;
    let (higher, missing_higher) = higher?;
    let missing: Vec<String> = missing_lower.into_iter().chain(missing_higher).collect();
    if !missing.is_empty() {
        return Err(Error::Runtime(format!(
            "process {me} could not connect to all {processes} processes of {} within {} s: {}. \
             Check that every process was started with the same --processes and its own \
             --process, and that the hostfile's ports are reachable (raise --connect-timeout if \
             processes start slowly).",
            plan.hostfile.path.display(),
            plan.connect_timeout.as_secs(),
            missing.join("; ")
        )));
    }
    streams.push(None);
    streams.extend(higher);
    tracing::info!(
        process = me,
        processes,
        seconds = started.elapsed().as_secs_f64(),
        "connected to every process"
    );
    Ok(streams)
}

/// Streams to processes `0..me` and descriptions of those that never answered.
type Connected = (Vec<Option<TcpStream>>, Vec<String>);

fn connect_lower(
    plan: &ClusterPlan,
    ours: Hello,
    deadline: Instant,
    give_up: &AtomicBool,
) -> Result<Connected> {
    let mut streams = Vec::new();
    let mut missing = Vec::new();
    for peer in 0..plan.process {
        let address = &plan.hostfile.peers[peer].address;
        let mut last_error = String::from("no answer");
        let stream = loop {
            let now = Instant::now();
            if now >= deadline || give_up.load(Ordering::SeqCst) {
                break None;
            }
            match dial(address, deadline - now) {
                Ok(stream) => break Some(stream),
                Err(e) => last_error = e.to_string(),
            }
            std::thread::sleep(
                Duration::from_millis(250).min(deadline.saturating_duration_since(Instant::now())),
            );
        };
        let Some(mut stream) = stream else {
            missing.push(format!(
                "{} never answered ({last_error})",
                plan.hostfile.describe(peer)
            ));
            streams.push(None);
            continue;
        };
        // The peer answers once it reaches its own connect phase (it may
        // still be preparing, our connection waiting in its backlog): wait
        // for it until the deadline.
        let who = plan.hostfile.describe(peer);
        let answer = handshake::exchange(
            &mut stream,
            Role::Dial,
            ours,
            &plan.key,
            deadline,
            plan.connect_timeout,
        )
        .map_err(|e| handshake_error(&who, e))?;
        let theirs = match answer {
            Answer::NotReach => {
                return Err(Error::Config(format!(
                    "{who}: the program listening there is not a reach process of this version \
                     (no REACHNET hello); check the hostfile"
                )))
            }
            Answer::Unproven(_) => {
                return Err(Error::Config(format!(
                    "{who}: the process listening there and this one do not share the cluster \
                     secret (one refused the other's proof); start every process with the same \
                     --secret-file or --secret-env content, or none"
                )))
            }
            Answer::OtherProtocol(theirs) | Answer::Proven(theirs) => theirs,
        };
        if theirs.process as usize != peer && theirs.protocol == ours.protocol {
            return Err(Error::Config(format!(
                "{who}: the process listening there is process {} of {}, not {peer}; every \
                 process must use the same hostfile and its own --process",
                theirs.process, theirs.processes
            )));
        }
        if let Some(why) = handshake::mismatch(&who, ours, theirs) {
            return Err(Error::Config(why));
        }
        keep_alive(&stream);
        streams.push(Some(stream));
    }
    Ok((streams, missing))
}

/// One attempt to open a TCP connection to `address` within `timeout`.
fn dial(address: &str, timeout: Duration) -> io::Result<TcpStream> {
    let mut last = io::Error::other("the host name resolves to no address");
    for target in address.to_socket_addrs()? {
        match TcpStream::connect_timeout(&target, timeout.min(Duration::from_secs(5))) {
            Ok(stream) => return Ok(stream),
            Err(e) => last = e,
        }
    }
    Err(last)
}

fn handshake_error(who: &str, e: io::Error) -> Error {
    let what = match e.kind() {
        io::ErrorKind::UnexpectedEof => {
            "closed the connection during the handshake (it may have refused this process: see \
             its log)"
                .to_string()
        }
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => {
            "accepted the connection but sent no hello before the connect timeout".to_string()
        }
        _ => format!("failed during the handshake: {e}"),
    };
    Error::Runtime(format!("{who}: {what}"))
}

/// A handshake finished by one of the accepting side's threads.
type Finished = (SocketAddr, io::Result<Answer>, TcpStream);

/// Streams from processes `me+1..` (in order) and descriptions of those
/// that never connected. Every accepted connection is handshaken in a
/// thread of its own; the loop takes the results as they come.
fn accept_higher(
    listener: TcpListener,
    hostfile: &Hostfile,
    (me, ours, key): (usize, Hello, Key),
    deadline: Instant,
    give_up: &AtomicBool,
) -> Result<Connected> {
    let processes = hostfile.peers.len();
    let mut streams: Vec<Option<TcpStream>> = (me + 1..processes).map(|_| None).collect();
    listener
        .set_nonblocking(true)
        .map_err(|e| Error::Runtime(format!("cannot poll the listening socket: {e}")))?;
    let key = Arc::new(key);
    let pending = Arc::new(AtomicUsize::new(0));
    let (done, finished) = mpsc::channel::<Finished>();
    let mut refused: Vec<String> = Vec::new();
    while streams.iter().any(Option::is_none)
        && Instant::now() < deadline
        && !give_up.load(Ordering::SeqCst)
    {
        while let Ok((from, answer, stream)) = finished.try_recv() {
            let refusal = match answer {
                Ok(Answer::Proven(theirs)) => {
                    check_accepted(hostfile, me, ours, theirs, from, &streams)?;
                    keep_alive(&stream);
                    streams[theirs.process as usize - me - 1] = Some(stream);
                    continue;
                }
                Ok(Answer::Unproven(theirs)) => format!(
                    "a connection from {from} calling itself process {} did not prove it knows \
                     the cluster secret",
                    theirs.process
                ),
                Ok(Answer::OtherProtocol(theirs)) => format!(
                    "a connection from {from} speaks reach cluster protocol {} (this process \
                     speaks {})",
                    theirs.protocol,
                    handshake::PROTOCOL
                ),
                Ok(Answer::NotReach) => format!("a connection from {from} sent no reach hello"),
                Err(e) => format!("a connection from {from} did not complete the handshake: {e}"),
            };
            tracing::warn!(process = me, "refused {refusal}");
            refused.push(refusal);
        }
        let (stream, from) = match listener.accept() {
            Ok(accepted) => accepted,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(20));
                continue;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                return Err(Error::Runtime(format!(
                    "{}: accepting a connection failed: {e}",
                    hostfile.describe(me)
                )))
            }
        };
        if pending.load(Ordering::SeqCst) >= MAX_PENDING {
            tracing::warn!(process = me, from = %from, "refused a connection: {MAX_PENDING} handshakes already in progress");
            continue;
        }
        pending.fetch_add(1, Ordering::SeqCst);
        let (key, pending, done) = (Arc::clone(&key), Arc::clone(&pending), done.clone());
        std::thread::spawn(move || {
            let mut stream = stream;
            let answer = stream.set_nonblocking(false).and_then(|()| {
                handshake::exchange(
                    &mut stream,
                    Role::Accept,
                    ours,
                    &key,
                    deadline,
                    ACCEPT_PATIENCE,
                )
            });
            pending.fetch_sub(1, Ordering::SeqCst);
            // The loop may have ended meanwhile: then the stream is just closed.
            let _ = done.send((from, answer, stream));
        });
    }
    let refusals = match refused.last() {
        None => String::new(),
        Some(last) => format!(
            " ({} connection(s) refused meanwhile; the last: {last})",
            refused.len()
        ),
    };
    let missing = streams
        .iter()
        .enumerate()
        .filter(|(_, s)| s.is_none())
        .map(|(k, _)| {
            format!(
                "{} never connected to this process{refusals}",
                hostfile.describe(me + 1 + k)
            )
        })
        .collect();
    Ok((streams, missing))
}

/// Checks the hello of a process that connected to this one (from `from`)
/// and proved it knows the secret.
fn check_accepted(
    hostfile: &Hostfile,
    me: usize,
    ours: Hello,
    theirs: Hello,
    from: SocketAddr,
    streams: &[Option<TcpStream>],
) -> Result<()> {
    let peer = theirs.process as usize;
    let who = if peer < hostfile.peers.len() {
        hostfile.describe(peer)
    } else {
        format!("a process at {from} (calling itself process {peer})")
    };
    if let Some(why) = handshake::mismatch(&who, ours, theirs) {
        return Err(Error::Config(why));
    }
    if peer <= me || peer >= hostfile.peers.len() {
        return Err(Error::Config(format!(
            "{who} connected to this process (process {me}) from {from}, but only \
             higher-numbered processes connect here; every process must use the same hostfile \
             and its own --process"
        )));
    }
    if streams[peer - me - 1].is_some() {
        return Err(Error::Config(format!(
            "{who}: two processes connected as process {peer} (the second from {from}); give \
             each process its own --process"
        )));
    }
    Ok(())
}

/// TCP keepalive on an established link, so that a peer whose host vanishes
/// (no FIN or RST ever arrives) is noticed within about a minute when the link is idle.
fn keep_alive(stream: &TcpStream) {
    use std::os::fd::AsRawFd;
    let fd = stream.as_raw_fd();
    let set = |level: libc::c_int, name: libc::c_int, value: libc::c_int| {
        // SAFETY: a valid socket and a pointer to an int that outlives the call.
        unsafe {
            libc::setsockopt(
                fd,
                level,
                name,
                (&value as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        }
    };
    set(libc::SOL_SOCKET, libc::SO_KEEPALIVE, 1);
    #[cfg(target_os = "linux")]
    {
        set(libc::IPPROTO_TCP, libc::TCP_KEEPIDLE, 20);
        set(libc::IPPROTO_TCP, libc::TCP_KEEPINTVL, 5);
        set(libc::IPPROTO_TCP, libc::TCP_KEEPCNT, 6);
    }
}
