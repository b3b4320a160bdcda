//! RFM scoring (METRICS.md, "Customers"): quintile cut points, scores and
//! segments. Placeholder of the lead; helper C's module replaces it.

/// The segments in the table's order, then `Others`, then `No purchases`.
pub const SEGMENTS: [&str; 12] = [
    "Champions",
    "Potential Loyalist",
    "Loyal Customers",
    "Promising",
    "New Customers",
    "Can't Lose Them",
    "At Risk",
    "Need Attention",
    "About To Sleep",
    "Lost",
    "Others",
    "No purchases",
];

/// The segment of a customer without purchases.
pub const NO_PURCHASES: &str = "No purchases";

/// Inclusive (r, f, m) ranges of the table's rows, in order.
const RANGES: [[(u8, u8); 3]; 10] = [
    [(5, 5), (5, 5), (5, 5)],
    [(3, 5), (3, 5), (2, 5)],
    [(2, 4), (2, 4), (2, 4)],
    [(3, 4), (1, 3), (3, 5)],
    [(4, 5), (1, 3), (1, 5)],
    [(1, 2), (3, 4), (4, 5)],
    [(1, 2), (2, 5), (4, 5)],
    [(1, 3), (3, 5), (3, 5)],
    [(2, 3), (1, 3), (1, 4)],
    [(1, 1), (1, 5), (1, 5)],
];

/// The cut points q_1..q_4 of values given ascending with multiplicities.
pub fn cut_points<T: Ord + Copy>(ascending: &[(T, u64)]) -> Option<[T; 4]> {
    let n: u64 = ascending.iter().map(|(_, c)| c).sum();
    if n == 0 {
        return None;
    }
    let mut cuts = [ascending[0].0; 4];
    for (i, cut) in cuts.iter_mut().enumerate() {
        let rank = ((i as u64 + 1) * n).div_ceil(5);
        let mut seen = 0;
        for (value, count) in ascending {
            seen += count;
            if seen >= rank {
                *cut = *value;
                break;
            }
        }
    }
    Some(cuts)
}

/// 1 + the number of cut points below `x`.
pub fn score<T: Ord>(x: &T, cuts: &[T; 4]) -> u8 {
    1 + cuts.iter().filter(|q| x > *q).count() as u8
}

/// The first row of the table whose ranges hold (r, f, m), else `Others`.
pub fn segment(r: u8, f: u8, m: u8) -> &'static str {
    for (row, ranges) in RANGES.iter().enumerate() {
        if [r, f, m]
            .iter()
            .zip(ranges)
            .all(|(x, (lo, hi))| (lo..=hi).contains(&x))
        {
            return SEGMENTS[row];
        }
    }
    SEGMENTS[10]
}
