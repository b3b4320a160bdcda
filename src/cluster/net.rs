//! The links between processes once connected (see [`super::connect`]):
//! watched for the peer's death, and counted.
//!
//! After the handshake each stream is wrapped in a [`Link`] and handed to
//! timely's network threads. Timely ends a stream with a zero-length message
//! header; a [`Link`] follows the message framing, so a stream that ends
//! without that header, or fails to read or write, means the peer died. Timely
//! itself would panic its network thread and leave the workers waiting
//! forever; the link instead stops the process at once (exit code 1) with a
//! message naming the peer, after the cleanup that keeps the previous output.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use timely::communication::allocator::zero_copy::stream::Stream;

use super::ClusterPlan;

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
}
