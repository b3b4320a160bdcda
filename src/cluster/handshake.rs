//! The handshake on every link between two processes: a consistency check
//! (same protocol, process count, worker threads and job) and a mutual
//! challenge-response that proves both ends know the cluster's secret.
//!
//! Both ends first send a 64-byte greeting: the 32-byte hello (magic
//! `REACHNET`, protocol version, process index, process count, worker
//! threads, a digest of the job) and a fresh random 32-byte nonce. Then the
//! dialing process (the higher-numbered one) sends its proof,
//! `HMAC-SHA256(secret, "reach link proof" | 'D' | dialer's greeting |
//! acceptor's greeting)`; the accepting process checks it and only then
//! answers with its own proof (the same with `'A'`), which the dialer checks.
//!
//! So a proof covers both nonces (a recorded or echoed handshake never
//! verifies again), both hellos (a proof made for one process number is
//! worth nothing for another), and the role (an acceptor's proof cannot be
//! replayed as a dialer's); and an acceptor proves nothing to a connection
//! that has not proved itself first, so it is no oracle for strangers.
//! Without a secret the key is empty: the same exchange, but anyone can
//! compute it (a consistency check only, as before).

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The first bytes of every hello.
const MAGIC: [u8; 8] = *b"REACHNET";
/// Bumped whenever the handshake or the meaning of its fields changes
/// (2: nonces and proofs).
pub const PROTOCOL: u32 = 2;
/// Bytes in a hello.
pub const HELLO_BYTES: usize = 32;
/// Bytes in a nonce, and in a proof.
pub const NONCE_BYTES: usize = 32;
/// Bytes in a greeting: a hello and a nonce.
pub const GREETING_BYTES: usize = HELLO_BYTES + NONCE_BYTES;

/// What a process tells a peer about itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hello {
    /// [`PROTOCOL`].
    pub protocol: u32,
    /// The sender's process index.
    pub process: u32,
    /// The sender's process count.
    pub processes: u32,
    /// The sender's worker threads per process.
    pub workers: u32,
    /// A digest of the sender's job.
    pub digest: u64,
}

impl Hello {
    /// The hello's bytes.
    pub fn encode(&self) -> [u8; HELLO_BYTES] {
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
    pub fn decode(bytes: &[u8; HELLO_BYTES]) -> Option<Hello> {
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

/// The cluster's shared secret (empty when the job names none). Its bytes
/// are never printed.
#[derive(Clone, Default)]
pub struct Key(Vec<u8>);

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Key({} bytes)", self.0.len())
    }
}

impl Key {
    /// A key from the secret's bytes.
    pub fn new(secret: Vec<u8>) -> Key {
        Key(secret)
    }

    /// Whether the job gave a secret.
    pub fn is_set(&self) -> bool {
        !self.0.is_empty()
    }
}

/// Which end of a link: the process that dialled, or the one that accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// The higher-numbered process, which connects.
    Dial,
    /// The lower-numbered process, which listens.
    Accept,
}

fn mac(key: &Key, role: Role, dialer: &[u8], acceptor: &[u8]) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(&key.0).expect("HMAC takes any key length");
    mac.update(b"reach link proof");
    mac.update(match role {
        Role::Dial => b"D",
        Role::Accept => b"A",
    });
    mac.update(dialer);
    mac.update(acceptor);
    mac
}

/// The proof that the end in `role` knows `key`, over both greetings.
pub fn proof(key: &Key, role: Role, dialer: &[u8], acceptor: &[u8]) -> [u8; NONCE_BYTES] {
    mac(key, role, dialer, acceptor)
        .finalize()
        .into_bytes()
        .into()
}

/// Checks a received proof in constant time.
fn verify(key: &Key, role: Role, dialer: &[u8], acceptor: &[u8], received: &[u8]) -> bool {
    mac(key, role, dialer, acceptor)
        .verify_slice(received)
        .is_ok()
}

/// A fresh random nonce from the operating system.
pub fn nonce() -> io::Result<[u8; NONCE_BYTES]> {
    let mut bytes = [0u8; NONCE_BYTES];
    getrandom::fill(&mut bytes).map_err(|e| io::Error::other(format!("no random nonce: {e}")))?;
    Ok(bytes)
}

/// How a handshake ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Answer {
    /// The peer sent no reach hello.
    NotReach,
    /// The peer speaks another protocol version (nothing was proved).
    OtherProtocol(Hello),
    /// The peer proved it knows the secret.
    Proven(Hello),
    /// The peer did not prove it knows the secret (wrong proof, or, seen
    /// from the dialer, it closed the connection instead of proving).
    Unproven(Hello),
}

/// Runs the handshake as `role` on a connected stream, waiting at most
/// until `deadline` and at most `patience`. Only a proven link is left
/// ready for use (timeouts cleared, keepalive on).
pub fn exchange(
    stream: &mut TcpStream,
    role: Role,
    ours: Hello,
    key: &Key,
    deadline: Instant,
    patience: Duration,
) -> io::Result<Answer> {
    stream.set_nodelay(true)?;
    let remaining = deadline.saturating_duration_since(Instant::now()).clamp(
        Duration::from_millis(100),
        patience.max(Duration::from_millis(100)),
    );
    stream.set_write_timeout(Some(remaining))?;
    stream.set_read_timeout(Some(remaining))?;
    let mut mine = [0u8; GREETING_BYTES];
    mine[..HELLO_BYTES].copy_from_slice(&ours.encode());
    mine[HELLO_BYTES..].copy_from_slice(&nonce()?);
    stream.write_all(&mine)?;
    let mut theirs = [0u8; GREETING_BYTES];
    stream.read_exact(&mut theirs[..HELLO_BYTES])?;
    let head: &[u8; HELLO_BYTES] = theirs[..HELLO_BYTES].try_into().expect("hello bytes");
    let Some(hello) = Hello::decode(head) else {
        return Ok(Answer::NotReach);
    };
    if hello.protocol != PROTOCOL {
        return Ok(Answer::OtherProtocol(hello));
    }
    stream.read_exact(&mut theirs[HELLO_BYTES..])?;
    let mut received = [0u8; NONCE_BYTES];
    match role {
        Role::Dial => {
            stream.write_all(&proof(key, Role::Dial, &mine, &theirs))?;
            match stream.read_exact(&mut received) {
                Ok(()) => {}
                // The acceptor closes a link whose proof it refused.
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                    return Ok(Answer::Unproven(hello))
                }
                Err(e) => return Err(e),
            }
            if !verify(key, Role::Accept, &mine, &theirs, &received) {
                return Ok(Answer::Unproven(hello));
            }
        }
        Role::Accept => {
            stream.read_exact(&mut received)?;
            if !verify(key, Role::Dial, &theirs, &mine, &received) {
                return Ok(Answer::Unproven(hello));
            }
            stream.write_all(&proof(key, Role::Accept, &theirs, &mine))?;
        }
    }
    stream.set_write_timeout(None)?;
    stream.set_read_timeout(None)?;
    Ok(Answer::Proven(hello))
}

/// Why a peer's hello does not match ours (same protocol, process count,
/// worker threads and job), if it does not; `who` names the peer.
pub fn mismatch(who: &str, ours: Hello, theirs: Hello) -> Option<String> {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn hello(process: u32) -> Hello {
        Hello {
            protocol: PROTOCOL,
            process,
            processes: 3,
            workers: 4,
            digest: 0x0123_4567_89ab_cdef,
        }
    }

    #[test]
    fn hello_round_trips_and_rejects_other_bytes() {
        let hello = hello(2);
        assert_eq!(Hello::decode(&hello.encode()), Some(hello));
        let mut other = hello.encode();
        other[0] = b'G';
        assert_eq!(Hello::decode(&other), None);
    }

    /// Both ends of a loopback link with the given keys; the dialer's and the acceptor's answers.
    fn link(dialer_key: Key, acceptor_key: Key) -> (Answer, Answer) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        let patience = Duration::from_secs(10);
        let acceptor = std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            exchange(
                &mut stream,
                Role::Accept,
                hello(0),
                &acceptor_key,
                deadline,
                patience,
            )
            .unwrap()
        });
        let mut stream = TcpStream::connect(address).unwrap();
        let dialer = exchange(
            &mut stream,
            Role::Dial,
            hello(1),
            &dialer_key,
            deadline,
            patience,
        )
        .unwrap();
        drop(stream);
        (dialer, acceptor.join().unwrap())
    }

    #[test]
    fn the_same_secret_proves_both_ends_and_another_proves_neither() {
        let key = || Key::new(b"0123456789abcdef-secret".to_vec());
        assert_eq!(
            link(key(), key()),
            (Answer::Proven(hello(0)), Answer::Proven(hello(1)))
        );
        assert_eq!(
            link(Key::new(b"another secret, 16+ bytes".to_vec()), key()),
            (Answer::Unproven(hello(0)), Answer::Unproven(hello(1)))
        );
        assert_eq!(
            link(Key::default(), Key::default()),
            (Answer::Proven(hello(0)), Answer::Proven(hello(1))),
            "no secret on either end: a consistency check only"
        );
    }

    #[test]
    fn a_proof_is_bound_to_role_hellos_and_nonces() {
        let key = Key::new(b"k".repeat(20));
        let (d, a) = ([1u8; GREETING_BYTES], [2u8; GREETING_BYTES]);
        let p = proof(&key, Role::Dial, &d, &a);
        assert!(verify(&key, Role::Dial, &d, &a, &p));
        assert!(!verify(&key, Role::Accept, &d, &a, &p), "role");
        assert!(!verify(&key, Role::Dial, &a, &d, &p), "order");
        let mut other = a;
        other[HELLO_BYTES] ^= 1;
        assert!(!verify(&key, Role::Dial, &d, &other, &p), "nonce");
        assert!(
            !verify(&Key::new(b"j".repeat(20)), Role::Dial, &d, &a, &p),
            "key"
        );
        assert_ne!(nonce().unwrap(), nonce().unwrap());
    }
}
