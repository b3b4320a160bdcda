//! Synthetic graphs (placeholder: being written).
