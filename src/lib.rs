//! `reach`: friend counts, super-connectors and topical influence over large
//! friendship graphs, computed with timely and differential dataflow and kept
//! current night after night.
//!
//! The contract (inputs, metrics, output columns) is `METRICS.md` in the
//! shared folder; `docs/architecture.md` draws the dataflow. A run goes
//! [`job`] (spec + flags) → [`run`] (workers read [`input`] shares, build
//! [`dataflow`], write [`output`] parts) → published directory.
#![deny(missing_docs)]

pub mod cli;
pub mod cluster;
pub mod commands;
pub mod dataflow;
pub mod date;
pub mod engine;
pub mod error;
pub mod generate;
pub mod handles;
pub mod hash;
pub mod ids;
pub mod input;
pub mod job;
pub mod memory;
pub mod output;
pub mod params;
pub mod report;
pub mod rfm;
pub mod run;
pub mod serve;
pub mod tables;
pub mod topics;

pub use error::{Error, Result};
