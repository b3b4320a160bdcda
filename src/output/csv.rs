//! CSV writer (placeholder: being written).
