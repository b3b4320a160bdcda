//! How long the friendship set's sort takes, radix against comparison:
//! 22.5M random `(lower, higher)` pairs of ids below 1M (one worker's share
//! of the 1M-user graph), sorted by `sort_unstable` and by the radix sort
//! that `graph.rs` uses (`radsort` on the pair as one `u64`).
//!
//!     cargo bench --bench sort_friendships [-- PAIRS]

use std::time::Instant;

use reach::hash::SplitMix64;

fn main() {
    let pairs: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(22_500_000);
    let mut random = SplitMix64(7);
    let records: Vec<(u32, u32)> = (0..pairs)
        .map(|_| {
            let (a, b) = (
                random.below(1_000_000) as u32,
                random.below(1_000_000) as u32,
            );
            (a.min(b), a.max(b))
        })
        .collect();
    for round in 1..=2 {
        let mut compared = records.clone();
        let start = Instant::now();
        compared.sort_unstable();
        let comparison = start.elapsed().as_secs_f64();
        let mut radix = records.clone();
        let start = Instant::now();
        radsort::sort_by_key(&mut radix, |&(a, b)| u64::from(a) << 32 | u64::from(b));
        let radix_seconds = start.elapsed().as_secs_f64();
        assert!(compared == radix, "the same order");
        println!(
            "round {round}: {pairs} pairs: sort_unstable {comparison:.3} s, radix {radix_seconds:.3} s ({:.2}x)",
            comparison / radix_seconds
        );
    }
}
