//! Reference tests of the crate's own operators (`src/dataflow/operators/`),
//! in the style of differential's `reduce` oracle tests: random keyed
//! updates over random epochs (seeded, small key spaces so that keys
//! collide, records are retracted and diffs cancel within and across
//! epochs), fed one epoch at a time and all at once, at 1 and 3 workers,
//! compared at every epoch with a plain-Rust model that follows each
//! operator's definition literally.

mod combine;
mod count;
mod current;
mod fields;
mod global;
mod harness;
mod lookup;
mod multiset;
mod set;
