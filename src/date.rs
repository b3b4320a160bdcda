//! Calendar days (placeholder: being written).
