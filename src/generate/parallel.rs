//! Chunks produced on several threads and consumed in order on the calling
//! thread, with a bounded window and errors and panics that stop everyone.

use std::collections::BTreeMap;
use std::io;
use std::sync::{mpsc, Condvar, Mutex};

/// Runs `produce(c)` for every chunk `c` in `0..chunks` on `threads` worker
/// threads and hands the results to `consume` in chunk order on the calling
/// thread, so that writing overlaps generating. At most `2 * threads` chunks
/// are claimed ahead of the one being consumed, which bounds the memory.
/// The first error of `consume` stops the workers and is returned.
pub(super) fn parallel_ordered<T: Send>(
    chunks: usize,
    threads: usize,
    produce: impl Fn(usize) -> T + Sync,
    mut consume: impl FnMut(usize, T) -> io::Result<()>,
) -> io::Result<()> {
    if threads <= 1 || chunks <= 1 {
        for c in 0..chunks {
            consume(c, produce(c))?;
        }
        return Ok(());
    }
    struct Claims {
        next: usize,
        consumed: usize,
        stop: bool,
    }
    /// Stops everyone if a thread unwinds, so that nobody waits for it.
    struct StopOnPanic<'a>(&'a Mutex<Claims>, &'a Condvar);
    impl Drop for StopOnPanic<'_> {
        fn drop(&mut self) {
            if std::thread::panicking() {
                if let Ok(mut claims) = self.0.lock() {
                    claims.stop = true;
                }
                self.1.notify_all();
            }
        }
    }
    let window = 2 * threads;
    let claims = Mutex::new(Claims {
        next: 0,
        consumed: 0,
        stop: false,
    });
    let wake = Condvar::new();
    let lock = || claims.lock().unwrap_or_else(|e| e.into_inner());
    let (tx, rx) = mpsc::channel::<(usize, T)>();
    std::thread::scope(|s| {
        for _ in 0..threads {
            let tx = tx.clone();
            let (claims, wake, produce) = (&claims, &wake, &produce);
            s.spawn(move || {
                let _guard = StopOnPanic(claims, wake);
                loop {
                    let c = {
                        let mut st = claims.lock().unwrap_or_else(|e| e.into_inner());
                        loop {
                            if st.stop || st.next >= chunks {
                                return;
                            }
                            if st.next < st.consumed + window {
                                st.next += 1;
                                break st.next - 1;
                            }
                            st = wake.wait(st).unwrap_or_else(|e| e.into_inner());
                        }
                    };
                    if tx.send((c, produce(c))).is_err() {
                        return;
                    }
                }
            });
        }
        drop(tx);
        // `consume` calls the caller's progress callback, which may panic.
        let _guard = StopOnPanic(&claims, &wake);
        let mut pending = BTreeMap::new();
        let mut next = 0;
        let mut result = Ok(());
        'receive: for (c, t) in rx.iter() {
            pending.insert(c, t);
            while let Some(t) = pending.remove(&next) {
                result = consume(next, t);
                next += 1;
                let mut st = lock();
                st.consumed = next;
                st.stop |= result.is_err();
                drop(st);
                wake.notify_all();
                if result.is_err() {
                    break 'receive;
                }
            }
        }
        // Dropping the receiver makes the workers' sends fail, so they stop.
        drop(rx);
        result
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parallel_ordered_keeps_order_and_stops_on_error() {
        for threads in [1, 2, 5] {
            let mut seen = Vec::new();
            parallel_ordered(
                100,
                threads,
                |c| c * 3,
                |c, v| {
                    assert_eq!(v, c * 3);
                    seen.push(c);
                    Ok(())
                },
            )
            .unwrap();
            assert_eq!(seen, (0..100).collect::<Vec<_>>());

            let mut consumed = 0;
            let err = parallel_ordered(
                1000,
                threads,
                |c| c,
                |c, _| {
                    consumed += 1;
                    if c == 7 {
                        Err(io::Error::other("disk full"))
                    } else {
                        Ok(())
                    }
                },
            )
            .unwrap_err();
            assert_eq!(err.to_string(), "disk full");
            assert_eq!(consumed, 8);
        }
    }

    #[test]
    fn parallel_ordered_propagates_panics_without_hanging() {
        let result = std::panic::catch_unwind(|| {
            parallel_ordered(
                100,
                3,
                |c| {
                    assert_ne!(c, 10, "worker fails");
                    c
                },
                |_, _| Ok(()),
            )
        });
        assert!(result.is_err());
        let result = std::panic::catch_unwind(|| {
            parallel_ordered(
                100,
                3,
                |c| c,
                |c, _| {
                    assert_ne!(c, 10, "progress callback fails");
                    Ok(())
                },
            )
        });
        assert!(result.is_err());
    }
}
