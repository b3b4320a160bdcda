//! The connections between processes: made here rather than by timely, so
//! that each is checked by a handshake, bounded by a deadline, and watched
//! for the peer's death.
//!
//! As in timely, process `i` connects to every process below it and accepts
//! a connection from every process above it, on the port of its hostfile
//! line. Both ends of a new connection first send a 32-byte hello (magic
//! `REACHNET`, protocol version, process index, process count, worker
//! threads, a digest of the job) and then read the other's; either end
//! refuses a mismatch with a message naming the peer's hostfile line.
//!
//! After the handshake each stream is wrapped in a [`Link`] and handed to
//! timely's network threads. Timely ends a stream with a zero-length message
//! header; a [`Link`] follows the message framing, so a stream that ends
//! without that header, or fails to read or write, means the peer died. Timely
//! itself would panic its network thread and leave the workers waiting
//! forever; the link instead stops the process at once (exit code 1) with a
//! message naming the peer, after the cleanup that keeps the previous output.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use timely::communication::allocator::zero_copy::stream::Stream;

use super::ClusterPlan;
use crate::error::{Error, Result};

/// The first bytes of every hello.
const MAGIC: [u8; 8] = *b"REACHNET";
/// Bumped whenever the hello or the meaning of its fields changes.
const PROTOCOL: u32 = 1;
/// Bytes in a hello.
const HELLO_BYTES: usize = 32;

/// What a process tells a peer about itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Hello {
    protocol: u32,
    process: u32,
    processes: u32,
    workers: u32,
    digest: u64,
}

impl Hello {
    fn ours(plan: &ClusterPlan) -> Hello {
        Hello {
            protocol: PROTOCOL,
            process: plan.process as u32,
            processes: plan.hostfile.peers.len() as u32,
            workers: plan.workers as u32,
            digest: plan.digest,
        }
    }

    fn encode(&self) -> [u8; HELLO_BYTES] {
        let mut bytes = [0u8; HELLO_BYTES];
        bytes[..8].copy_from_slice(&MAGIC);
        bytes[8..12].copy_from_slice(&self.protocol.to_be_bytes());
        bytes[12..16].copy_from_slice(&self.process.to_be_bytes());
        bytes[16..20].copy_from_slice(&self.processes.to_be_bytes());
        bytes[20..24].copy_from_slice(&self.workers.to_be_bytes());
        bytes[24..32].copy_from_slice(&self.digest.to_be_bytes());
        bytes
    }

    /// `None` if the bytes do not start with the magic.
    fn decode(bytes: &[u8; HELLO_BYTES]) -> Option<Hello> {
        let u32_at = |at: usize| u32::from_be_bytes(bytes[at..at + 4].try_into().expect("4"));
        (bytes[..8] == MAGIC).then(|| Hello {
            protocol: u32_at(8),
            process: u32_at(12),
            processes: u32_at(16),
            workers: u32_at(20),
            digest: u64::from_be_bytes(bytes[24..32].try_into().expect("8")),
        })
    }
}

/// Bytes and messages exchanged with each peer.
#[derive(Debug, Default)]
pub struct Traffic {
    peers: Vec<PeerTraffic>,
}

/// Counters for one peer.
#[derive(Debug, Default)]
struct PeerTraffic {
    sent: AtomicU64,
    received: AtomicU64,
    messages_received: AtomicU64,
}

/// A snapshot of the traffic with one peer.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PeerFigures {
    /// The peer's process index.
    pub peer: usize,
    /// Bytes sent to it (timely's framed messages, headers included).
    pub bytes_sent: u64,
    /// Bytes received from it.
    pub bytes_received: u64,
    /// Timely messages received from it (each a batch of records or progress updates).
    pub messages_received: u64,
}

impl Traffic {
    /// Counters for `processes` processes (the own entry stays zero).
    pub fn new(processes: usize) -> Traffic {
        Traffic {
            peers: (0..processes).map(|_| PeerTraffic::default()).collect(),
        }
    }

    /// The traffic with every other process so far.
    pub fn snapshot(&self, me: usize) -> Vec<PeerFigures> {
        self.peers
            .iter()
            .enumerate()
            .filter(|(peer, _)| *peer != me)
            .map(|(peer, t)| PeerFigures {
                peer,
                bytes_sent: t.sent.load(Ordering::Relaxed),
                bytes_received: t.received.load(Ordering::Relaxed),
                messages_received: t.messages_received.load(Ordering::Relaxed),
            })
            .collect()
    }
}

/// Connects to every peer (see the module docs) by `deadline`: the streams
/// in process order, `None` at this process's own index.
pub fn connect(plan: &ClusterPlan, deadline: Instant) -> Result<Vec<Option<TcpStream>>> {
    let started = Instant::now();
    let me = plan.process;
    let processes = plan.hostfile.peers.len();
    let ours = Hello::ours(plan);
    let give_up = Arc::new(AtomicBool::new(false));
    let listener = plan
        .listener
        .try_clone()
        .map_err(|e| Error::Runtime(format!("cannot use the listening socket: {e}")))?;
    let accepting = {
        let hostfile = plan.hostfile.clone();
        let give_up = Arc::clone(&give_up);
        std::thread::spawn(move || {
            let accepted = accept_higher(listener, &hostfile, me, ours, deadline, &give_up);
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
        match stream {
            Some(mut stream) => {
                // The peer answers once it reaches its own connect phase (it
                // may still be preparing, our connection waiting in its
                // backlog): wait for it until the deadline.
                let theirs = handshake(&mut stream, ours, deadline, plan.connect_timeout)
                    .map_err(|e| handshake_error(plan, peer, e))?;
                match theirs {
                    Some(theirs) if theirs.process as usize != peer => {
                        return Err(Error::Config(format!(
                            "{}: the process listening there is process {} of {}, not {peer}; \
                             every process must use the same hostfile and its own --process",
                            plan.hostfile.describe(peer),
                            theirs.process,
                            theirs.processes
                        )))
                    }
                    Some(theirs) => {
                        if let Some(why) = mismatch(&plan.hostfile.describe(peer), ours, theirs) {
                            return Err(Error::Config(why));
                        }
                    }
                    None => {
                        return Err(Error::Config(format!(
                            "{}: the program listening there is not a reach process of this \
                             version (no REACHNET hello); check the hostfile",
                            plan.hostfile.describe(peer)
                        )))
                    }
                }
                streams.push(Some(stream));
            }
            None => {
                missing.push(format!(
                    "{} never answered ({last_error})",
                    plan.hostfile.describe(peer)
                ));
                streams.push(None);
            }
        }
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

/// Sends our hello, then reads the peer's (`None` if it is not a reach
/// hello), waiting at most until `deadline` and at most `patience`.
fn handshake(
    stream: &mut TcpStream,
    ours: Hello,
    deadline: Instant,
    patience: Duration,
) -> io::Result<Option<Hello>> {
    stream.set_nodelay(true)?;
    let remaining = deadline.saturating_duration_since(Instant::now()).clamp(
        Duration::from_millis(100),
        patience.max(Duration::from_millis(100)),
    );
    stream.set_write_timeout(Some(remaining))?;
    stream.set_read_timeout(Some(remaining))?;
    stream.write_all(&ours.encode())?;
    let mut bytes = [0u8; HELLO_BYTES];
    stream.read_exact(&mut bytes)?;
    stream.set_write_timeout(None)?;
    stream.set_read_timeout(None)?;
    keep_alive(stream);
    Ok(Hello::decode(&bytes))
}

fn handshake_error(plan: &ClusterPlan, peer: usize, e: io::Error) -> Error {
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
    Error::Runtime(format!("{}: {what}", plan.hostfile.describe(peer)))
}

/// Why a peer's hello does not match ours (same protocol, process count,
/// worker threads and job), if it does not; `who` names the peer.
fn mismatch(who: &str, ours: Hello, theirs: Hello) -> Option<String> {
    if theirs.protocol != ours.protocol {
        Some(format!(
            "{who} speaks reach cluster protocol {} but this process speaks {}; run the same \
             reach build on every host",
            theirs.protocol, ours.protocol
        ))
    } else if theirs.processes != ours.processes {
        Some(format!(
            "{who} was started with --processes {} but this process with --processes {}; every \
             process must use the same --processes",
            theirs.processes, ours.processes
        ))
    } else if theirs.workers != ours.workers {
        Some(format!(
            "{who} runs {} worker threads but this process runs {}; every process must use the \
             same --workers",
            theirs.workers, ours.workers
        ))
    } else if theirs.digest != ours.digest {
        Some(format!(
            "{who} runs a different job (its inputs, output, format, parts or parameters differ \
             from this process's); start every process with the same job file and flags"
        ))
    } else {
        None
    }
}

/// Streams from processes `me+1..` (in order) and descriptions of those that never connected.
fn accept_higher(
    listener: std::net::TcpListener,
    hostfile: &super::Hostfile,
    me: usize,
    ours: Hello,
    deadline: Instant,
    give_up: &AtomicBool,
) -> Result<Connected> {
    let processes = hostfile.peers.len();
    let mut streams: Vec<Option<TcpStream>> = (me + 1..processes).map(|_| None).collect();
    listener
        .set_nonblocking(true)
        .map_err(|e| Error::Runtime(format!("cannot poll the listening socket: {e}")))?;
    while streams.iter().any(Option::is_none)
        && Instant::now() < deadline
        && !give_up.load(Ordering::SeqCst)
    {
        let (mut stream, from) = match listener.accept() {
            Ok(accepted) => accepted,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(50));
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
        let _ = stream.set_nonblocking(false);
        // A peer sends its hello as soon as it connects; something that stays
        // silent (a port scanner) must not hold up the others for long.
        let theirs = match handshake(&mut stream, ours, deadline, Duration::from_secs(10)) {
            Ok(Some(theirs)) => theirs,
            Ok(None) | Err(_) => {
                tracing::warn!(
                    from = %from,
                    "ignored a connection that sent no reach hello (not a reach process of this version)"
                );
                continue;
            }
        };
        let peer = theirs.process as usize;
        check_accepted(hostfile, me, ours, theirs, from, &streams)?;
        streams[peer - me - 1] = Some(stream);
    }
    let missing = streams
        .iter()
        .enumerate()
        .filter(|(_, s)| s.is_none())
        .map(|(k, _)| {
            format!(
                "{} never connected to this process",
                hostfile.describe(me + 1 + k)
            )
        })
        .collect();
    Ok((streams, missing))
}

/// Checks the hello of a process that connected to this one (from `from`).
fn check_accepted(
    hostfile: &super::Hostfile,
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
    if let Some(why) = mismatch(&who, ours, theirs) {
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

/// Stops the process when the run cannot go on: a peer lost or a local worker panicked.
#[derive(Clone)]
pub struct Failure {
    inner: Arc<FailureInner>,
}

struct FailureInner {
    process: usize,
    cleanup: Arc<dyn Fn() + Send + Sync>,
    peers: Vec<String>,
}

/// Held while the process is being stopped, so only one thread reports.
static STOPPING: Mutex<()> = Mutex::new(());

impl Failure {
    /// For process `process`; `cleanup` runs before the process exits.
    pub fn new(process: usize, cleanup: Arc<dyn Fn() + Send + Sync>) -> Failure {
        Failure {
            inner: Arc::new(FailureInner {
                process,
                cleanup,
                peers: Vec::new(),
            }),
        }
    }

    fn with_peers(&self, peers: Vec<String>) -> Failure {
        Failure {
            inner: Arc::new(FailureInner {
                process: self.inner.process,
                cleanup: Arc::clone(&self.inner.cleanup),
                peers,
            }),
        }
    }

    /// Reports `message`, runs the cleanup and exits with code 1.
    pub fn stop(&self, message: &str) -> ! {
        // A second thread reporting the same failure waits here until the exit.
        let _only_one = STOPPING.lock();
        eprintln!(
            "error: {message}. Process {} stops too, with nothing published (the previous \
             output, if any, is left as it was).",
            self.inner.process
        );
        (self.inner.cleanup)();
        std::process::exit(1);
    }

    fn lost(&self, peer: usize, what: &str) -> ! {
        let who = self
            .inner
            .peers
            .get(peer)
            .cloned()
            .unwrap_or_else(|| format!("process {peer}"));
        self.stop(&format!(
            "lost the connection to {who} during the run ({what}): that process stopped \
             (killed, out of memory, crashed, or itself stopping after losing a process: see its \
             log)"
        ))
    }
}

/// Dropped at the end of a worker's closure: if that is because the worker
/// panicked, stops the process (see [`Failure`]).
pub struct ExitOnPanic(pub Failure);

impl Drop for ExitOnPanic {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.stop(&format!(
                "a worker thread of process {} panicked (message above)",
                self.0.inner.process
            ));
        }
    }
}

/// Wraps connected streams for timely.
pub fn links(
    streams: Vec<Option<TcpStream>>,
    plan: &ClusterPlan,
    failure: &Failure,
) -> Vec<Option<Link>> {
    let failure = failure.with_peers(
        (0..plan.hostfile.peers.len())
            .map(|p| plan.hostfile.describe(p))
            .collect(),
    );
    streams
        .into_iter()
        .enumerate()
        .map(|(peer, stream)| {
            stream.map(|stream| Link {
                stream,
                peer,
                failure: failure.clone(),
                traffic: Arc::clone(&plan.traffic),
                frames: Frames::default(),
            })
        })
        .collect()
}

/// A connection to one peer as timely's network threads use it.
pub struct Link {
    stream: TcpStream,
    peer: usize,
    failure: Failure,
    traffic: Arc<Traffic>,
    frames: Frames,
}

/// Follows timely's framing on the received bytes: 48-byte headers (six
/// big-endian u64s, the fifth the payload length) each followed by its
/// payload; a zero-length header ends the stream.
#[derive(Debug)]
struct Frames {
    header: [u8; 48],
    filled: usize,
    payload_left: u64,
    messages: u64,
    ended: bool,
}

impl Default for Frames {
    fn default() -> Frames {
        Frames {
            header: [0; 48],
            filled: 0,
            payload_left: 0,
            messages: 0,
            ended: false,
        }
    }
}

impl Frames {
    fn feed(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            if self.payload_left > 0 {
                let skip = (self.payload_left.min(bytes.len() as u64)) as usize;
                self.payload_left -= skip as u64;
                bytes = &bytes[skip..];
                continue;
            }
            let take = (48 - self.filled).min(bytes.len());
            self.header[self.filled..self.filled + take].copy_from_slice(&bytes[..take]);
            self.filled += take;
            bytes = &bytes[take..];
            if self.filled == 48 {
                self.filled = 0;
                let length = u64::from_be_bytes(self.header[32..40].try_into().expect("8"));
                if length == 0 {
                    self.ended = true;
                } else {
                    self.payload_left = length;
                    self.messages += 1;
                }
            }
        }
    }
}

impl Read for Link {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            match self.stream.read(buf) {
                Ok(0) if self.frames.ended || buf.is_empty() => return Ok(0),
                Ok(0) => self.failure.lost(self.peer, "the connection was closed"),
                Ok(n) => {
                    let before = self.frames.messages;
                    self.frames.feed(&buf[..n]);
                    let counters = &self.traffic.peers[self.peer];
                    counters.received.fetch_add(n as u64, Ordering::Relaxed);
                    counters
                        .messages_received
                        .fetch_add(self.frames.messages - before, Ordering::Relaxed);
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => self.failure.lost(self.peer, &format!("reading: {e}")),
            }
        }
    }
}

impl Write for Link {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        loop {
            match self.stream.write(buf) {
                Ok(n) => {
                    self.traffic.peers[self.peer]
                        .sent
                        .fetch_add(n as u64, Ordering::Relaxed);
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => self.failure.lost(self.peer, &format!("writing: {e}")),
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self.stream.flush() {
            Ok(()) => Ok(()),
            Err(e) => self.failure.lost(self.peer, &format!("writing: {e}")),
        }
    }
}

impl Stream for Link {
    fn try_clone(&self) -> io::Result<Self> {
        Ok(Link {
            stream: self.stream.try_clone()?,
            peer: self.peer,
            failure: self.failure.clone(),
            traffic: Arc::clone(&self.traffic),
            frames: Frames::default(),
        })
    }

    fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        self.stream.set_nonblocking(nonblocking)
    }

    fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        // Called after the final header is flushed: the peer may already be
        // gone then, having read everything, which is not a failure.
        let _ = self.stream.shutdown(how);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(length: u64) -> Vec<u8> {
        let mut bytes = Vec::new();
        for field in [3u64, 1, 0, 1, length, 9] {
            bytes.extend_from_slice(&field.to_be_bytes());
        }
        bytes
    }

    #[test]
    fn frames_see_the_end_header_at_any_split() {
        let mut stream = Vec::new();
        stream.extend(header(5));
        stream.extend([1, 2, 3, 4, 5]);
        stream.extend(header(60));
        stream.extend([0u8; 60]);
        stream.extend(header(0));
        for chunk in [1, 7, 48, 53, 1000] {
            let mut frames = Frames::default();
            for (k, piece) in stream.chunks(chunk).enumerate() {
                assert!(!frames.ended, "ended early at piece {k} of size {chunk}");
                frames.feed(piece);
            }
            assert!(frames.ended, "chunk {chunk}");
            assert_eq!(frames.messages, 2);
        }
        // A stream cut inside a payload has not ended.
        let mut frames = Frames::default();
        frames.feed(&stream[..stream.len() - 49]);
        assert!(!frames.ended);
    }

    #[test]
    fn hello_round_trips_and_rejects_other_bytes() {
        let hello = Hello {
            protocol: PROTOCOL,
            process: 2,
            processes: 3,
            workers: 4,
            digest: 0x0123_4567_89ab_cdef,
        };
        assert_eq!(Hello::decode(&hello.encode()), Some(hello));
        let mut other = hello.encode();
        other[0] = b'G';
        assert_eq!(Hello::decode(&other), None);
    }
}
