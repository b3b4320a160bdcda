//! Read statistics: what the input shares held besides records (headers,
//! bytes, bad lines) and how many records of each kind, per worker; workers
//! broadcast them so that every worker takes the same decision.

use serde::{Deserialize, Serialize};

use super::records::{self, BadLine};

/// Per-worker read statistics, broadcast to every worker.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct ReadStats {
    /// Friendship records parsed (self-loops included).
    pub friendship_records: u64,
    /// Adoption records parsed (repeated observations included).
    pub adoption_records: u64,
    /// Friendship change records (`+`/`-`) parsed in nights.
    pub friendship_changes: u64,
    /// Adoption change records parsed in nights.
    pub adoption_changes: u64,
    /// Identity records (and changes) parsed.
    #[serde(default)]
    pub identity_records: u64,
    /// Purchase records (and changes) parsed.
    #[serde(default)]
    pub purchase_records: u64,
    /// Self-loops rejected.
    pub self_loops: u64,
    /// Header lines skipped.
    pub headers: u64,
    /// Bytes read.
    pub bytes: u64,
    /// Bad lines found (the first few are in `bad`).
    pub bad_total: u64,
    /// Bad lines, at most `max_bad_lines + 1` per worker.
    pub bad: Vec<BadLine>,
}

impl ReadStats {
    /// Adds what one share held besides its records.
    pub fn absorb(&mut self, report: records::ShareReport) {
        self.headers += u64::from(report.header);
        self.bytes += report.bytes;
        self.bad_total += report.bad.len() as u64;
        self.bad.extend(report.bad);
    }

    /// The bad lines kept, in file and line order.
    pub fn sorted_bad(&self) -> Vec<BadLine> {
        let mut bad = self.bad.clone();
        bad.sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
        bad
    }

    /// Adds another worker's (or night's) statistics to these.
    pub fn add(&mut self, other: &ReadStats) {
        self.friendship_records += other.friendship_records;
        self.adoption_records += other.adoption_records;
        self.friendship_changes += other.friendship_changes;
        self.adoption_changes += other.adoption_changes;
        self.identity_records += other.identity_records;
        self.purchase_records += other.purchase_records;
        self.self_loops += other.self_loops;
        self.headers += other.headers;
        self.bytes += other.bytes;
        self.bad_total += other.bad_total;
        self.bad.extend(other.bad.iter().cloned());
    }
}
