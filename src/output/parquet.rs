//! Parquet writer (placeholder: being written).
