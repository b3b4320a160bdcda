//! `reach`: friend counts, super-connectors and topical influence over large
//! friendship graphs, computed with timely and differential dataflow and kept
//! current night after night.
//!
//! The contract (inputs, metrics, output columns) is `METRICS.md` in the
//! shared folder; `docs/architecture.md` draws the dataflow.
#![deny(missing_docs)]

pub mod date;
pub mod generate;
pub mod output;
