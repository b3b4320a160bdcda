//! Output sinks: table schemas, CSV and Parquet writers, atomic publishing.

pub mod csv;
pub mod parquet;
pub mod table;
