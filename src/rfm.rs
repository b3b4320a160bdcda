//! RFM scoring of customers (METRICS.md, "Metrics per customer"): the
//! quintile cut points of a measure over the customers with purchases, the
//! 1..5 score of a value against them, and the segment table.
//!
//! Used by the customers dataflow (`src/dataflow/customers*.rs`) for
//! `r_score`, `f_score`, `m_score` and `rfm_segment`, and by the
//! `value_matrix` table, whose rows follow [`SEGMENTS`]. Plain functions over
//! sorted counts so that the dataflow can recompute scores cheaply when the
//! cut points do not move.

/// The segment of customers without purchases.
pub const NO_PURCHASES: &str = "No purchases";

/// The segment of customers with purchases whom no row of the table holds.
const OTHERS: &str = "Others";

/// An inclusive range of scores, `(low, high)`.
type Range = (u8, u8);

/// The segment table of METRICS.md in order: name, then the ranges of r, f
/// and m. The first row that holds wins.
const TABLE: [(&str, Range, Range, Range); 10] = [
    ("Champions", (5, 5), (5, 5), (5, 5)),
    ("Potential Loyalist", (3, 5), (3, 5), (2, 5)),
    ("Loyal Customers", (2, 4), (2, 4), (2, 4)),
    ("Promising", (3, 4), (1, 3), (3, 5)),
    ("New Customers", (4, 5), (1, 3), (1, 5)),
    ("Can't Lose Them", (1, 2), (3, 4), (4, 5)),
    ("At Risk", (1, 2), (2, 5), (4, 5)),
    ("Need Attention", (1, 3), (3, 5), (3, 5)),
    ("About To Sleep", (2, 3), (1, 3), (1, 4)),
    ("Lost", (1, 1), (1, 5), (1, 5)),
];

/// Every segment name in table order, then `Others`, then `No purchases`:
/// the row order of `value_matrix`.
pub const SEGMENTS: [&str; 12] = [
    TABLE[0].0,
    TABLE[1].0,
    TABLE[2].0,
    TABLE[3].0,
    TABLE[4].0,
    TABLE[5].0,
    TABLE[6].0,
    TABLE[7].0,
    TABLE[8].0,
    TABLE[9].0,
    OTHERS,
    NO_PURCHASES,
];

/// The quintile cut points `q_1..q_4` of a measure: given its distinct
/// values in ascending order with their counts (n = the sum of counts),
/// `q_i` is the value at 1-based rank `ceil(i * n / 5)`. `None` when there
/// are no values (n = 0).
pub fn cut_points<T: Ord + Copy>(ascending: &[(T, u64)]) -> Option<[T; 4]> {
    debug_assert!(ascending.windows(2).all(|w| w[0].0 < w[1].0));
    let n: u64 = ascending.iter().map(|&(_, count)| count).sum();
    if n == 0 {
        return None;
    }
    let mut cuts = [ascending[0].0; 4];
    let mut values = ascending.iter().filter(|&&(_, count)| count > 0);
    let (mut value, mut seen) = values.next().map(|&(v, c)| (v, c))?;
    for (i, cut) in (1u64..=4).zip(cuts.iter_mut()) {
        let rank = (i * n).div_ceil(5);
        while seen < rank {
            let &(v, c) = values.next()?;
            value = v;
            seen += c;
        }
        *cut = value;
    }
    Some(cuts)
}

/// The score 1..5 of `x` against cut points: `1 + |{i : x > q_i}|`.
pub fn score<T: Ord>(x: &T, cuts: &[T; 4]) -> u8 {
    1 + cuts.iter().filter(|q| x > *q).count() as u8
}

/// The segment of scores (r, f, m): the first row of the table whose
/// inclusive ranges hold all three, `Others` when none does.
pub fn segment(r: u8, f: u8, m: u8) -> &'static str {
    let within = |x: u8, (low, high): Range| low <= x && x <= high;
    TABLE
        .iter()
        .find(|(_, rr, fr, mr)| within(r, *rr) && within(f, *fr) && within(m, *mr))
        .map_or(OTHERS, |row| row.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Cut points of a plain list of values (sorted and counted here).
    fn cuts_of(values: &[i64]) -> Option<[i64; 4]> {
        let mut counts: Vec<(i64, u64)> = Vec::new();
        let mut sorted = values.to_vec();
        sorted.sort();
        for v in sorted {
            match counts.last_mut() {
                Some((last, c)) if *last == v => *c += 1,
                _ => counts.push((v, 1)),
            }
        }
        cut_points(&counts)
    }

    fn scores(values: &[i64]) -> Vec<u8> {
        let cuts = cuts_of(values).unwrap();
        values.iter().map(|v| score(v, &cuts)).collect()
    }

    #[test]
    fn no_values_have_no_cut_points() {
        assert_eq!(cut_points::<i64>(&[]), None);
        assert_eq!(cut_points(&[(3i64, 0)]), None);
    }

    #[test]
    fn all_equal_values_score_1() {
        // n = 7, one value: every rank holds 4.
        assert_eq!(cuts_of(&[4; 7]), Some([4, 4, 4, 4]));
        assert_eq!(scores(&[4; 7]), vec![1; 7]);
    }

    #[test]
    fn fewer_than_five_values() {
        // n = 1: ranks ceil(i/5) = 1, 1, 1, 1.
        assert_eq!(cuts_of(&[9]), Some([9, 9, 9, 9]));
        assert_eq!(scores(&[9]), vec![1]);
        // n = 2: ranks ceil(2/5), ceil(4/5), ceil(6/5), ceil(8/5) = 1, 1, 2, 2.
        assert_eq!(cuts_of(&[20, 10]), Some([10, 10, 20, 20]));
        // 20 > 10, 10 (not > 20, 20): 3.
        assert_eq!(scores(&[20, 10]), vec![3, 1]);
        // n = 3: ranks 1, 2, 2, 3 (ceil 3/5, 6/5, 9/5, 12/5).
        assert_eq!(cuts_of(&[3, 1, 2]), Some([1, 2, 2, 3]));
        // 3 > 1, 2, 2: 4; 2 > 1: 2; 1: 1.
        assert_eq!(scores(&[3, 1, 2]), vec![4, 1, 2]);
        // n = 4: ranks 1, 2, 3, 4.
        assert_eq!(cuts_of(&[4, 3, 2, 1]), Some([1, 2, 3, 4]));
        assert_eq!(scores(&[4, 3, 2, 1]), vec![4, 3, 2, 1]);
    }

    #[test]
    fn five_and_six_values() {
        // n = 5: ranks 1, 2, 3, 4: every value its own score.
        assert_eq!(cuts_of(&[50, 10, 40, 20, 30]), Some([10, 20, 30, 40]));
        assert_eq!(scores(&[50, 10, 40, 20, 30]), vec![5, 1, 4, 2, 3]);
        // n = 6: ranks ceil(6/5), ceil(12/5), ceil(18/5), ceil(24/5) = 2, 3, 4, 5.
        assert_eq!(cuts_of(&[1, 2, 3, 4, 5, 6]), Some([2, 3, 4, 5]));
        // 1 and 2 share score 1 (neither exceeds q_1 = 2).
        assert_eq!(scores(&[1, 2, 3, 4, 5, 6]), vec![1, 1, 2, 3, 4, 5]);
    }

    #[test]
    fn ties_across_a_cut_score_equally() {
        // n = 5, sorted 1, 2, 2, 2, 3: ranks 1..4 hold 1, 2, 2, 2.
        assert_eq!(cuts_of(&[2, 3, 2, 1, 2]), Some([1, 2, 2, 2]));
        // Every 2 scores 2; 3 exceeds all four cuts.
        assert_eq!(scores(&[2, 3, 2, 1, 2]), vec![2, 5, 2, 1, 2]);
        // n = 10, four 1s then six 2s: ranks 2, 4, 6, 8 hold 1, 1, 2, 2.
        let values = [1, 1, 1, 1, 2, 2, 2, 2, 2, 2];
        assert_eq!(cuts_of(&values), Some([1, 1, 2, 2]));
        assert_eq!(scores(&values), vec![1, 1, 1, 1, 3, 3, 3, 3, 3, 3]);
        // Counts given directly: (5, 3), (7, 2) is n = 5, sorted 5 5 5 7 7.
        assert_eq!(cut_points(&[(5u32, 3), (7, 2)]), Some([5, 5, 5, 7]));
    }

    #[test]
    fn scores_of_values_outside_the_data() {
        let cuts = [10, 20, 30, 40];
        assert_eq!(score(&0, &cuts), 1);
        assert_eq!(score(&10, &cuts), 1); // equal to q_1 is not above it
        assert_eq!(score(&11, &cuts), 2);
        assert_eq!(score(&40, &cuts), 4);
        assert_eq!(score(&99, &cuts), 5);
    }

    /// For every row: points on each inclusive bound that the row takes
    /// (when an earlier row does not already hold them), and points one step
    /// outside each bound, with where they go instead (worked by hand from
    /// the table in METRICS.md).
    #[test]
    fn every_segment_row_at_its_bounds() {
        let cases: [((u8, u8, u8), &str); 68] = [
            // Champions 5/5/5: its one point; each coordinate one lower is a Potential Loyalist.
            ((5, 5, 5), "Champions"),
            ((4, 5, 5), "Potential Loyalist"),
            ((5, 4, 5), "Potential Loyalist"),
            ((5, 5, 4), "Potential Loyalist"),
            // Potential Loyalist r3-5 f3-5 m2-5.
            ((3, 4, 4), "Potential Loyalist"),
            ((5, 4, 4), "Potential Loyalist"),
            ((4, 3, 4), "Potential Loyalist"),
            ((4, 5, 4), "Potential Loyalist"),
            ((4, 4, 2), "Potential Loyalist"),
            ((4, 4, 5), "Potential Loyalist"),
            ((2, 4, 4), "Loyal Customers"), // r below
            ((4, 2, 4), "Loyal Customers"), // f below
            ((4, 4, 1), "Others"),          // m below: f 4 is outside every later row with r 4
            // Loyal Customers r2-4 f2-4 m2-4 (r >= 3 and f >= 3 is a Potential Loyalist).
            ((2, 3, 3), "Loyal Customers"),
            ((4, 2, 3), "Loyal Customers"),
            ((3, 2, 3), "Loyal Customers"),
            ((2, 4, 3), "Loyal Customers"),
            ((2, 3, 2), "Loyal Customers"),
            ((3, 2, 4), "Loyal Customers"),
            ((1, 3, 3), "Need Attention"), // r below
            ((5, 2, 3), "New Customers"),  // r above
            ((3, 1, 3), "Promising"),      // f below
            ((2, 5, 3), "Need Attention"), // f above
            ((2, 3, 1), "About To Sleep"), // m below
            ((3, 2, 5), "Promising"),      // m above
            // Promising r3-4 f1-3 m3-5. Its f = 3 edge is all Potential Loyalist.
            ((3, 1, 3), "Promising"),
            ((4, 1, 4), "Promising"),
            ((3, 1, 4), "Promising"),
            ((3, 3, 3), "Potential Loyalist"), // f = 3: shadowed
            ((4, 1, 3), "Promising"),
            ((3, 2, 5), "Promising"),
            ((2, 1, 3), "About To Sleep"),     // r below
            ((5, 1, 4), "New Customers"),      // r above
            ((3, 4, 5), "Potential Loyalist"), // f above
            ((4, 1, 2), "New Customers"),      // m below
            // New Customers r4-5 f1-3 m1-5.
            ((4, 1, 1), "New Customers"),
            ((5, 2, 3), "New Customers"),
            ((5, 1, 5), "New Customers"),
            ((5, 3, 1), "New Customers"),
            ((4, 2, 1), "New Customers"),
            ((5, 2, 5), "New Customers"),
            ((3, 1, 1), "About To Sleep"), // r below
            ((5, 4, 1), "Others"),         // f above
            // Can't Lose Them r1-2 f3-4 m4-5 (r 2, m 4 is Loyal Customers).
            ((1, 3, 4), "Can't Lose Them"),
            ((2, 3, 5), "Can't Lose Them"),
            ((1, 4, 4), "Can't Lose Them"),
            ((2, 4, 5), "Can't Lose Them"),
            ((3, 3, 5), "Potential Loyalist"), // r above
            ((1, 2, 4), "At Risk"),            // f below
            ((1, 5, 4), "At Risk"),            // f above
            ((1, 3, 3), "Need Attention"),     // m below
            // At Risk r1-2 f2-5 m4-5 (f 3-4 is Can't Lose Them).
            ((2, 5, 4), "At Risk"),
            ((1, 2, 5), "At Risk"),
            ((1, 5, 5), "At Risk"),
            ((2, 2, 5), "At Risk"),
            ((3, 5, 4), "Potential Loyalist"), // r above
            ((1, 1, 4), "Lost"),               // f below
            ((1, 5, 3), "Need Attention"),     // m below
            // Need Attention r1-3 f3-5 m3-5: only m = 3 with r 1-2 is left to it.
            ((1, 4, 3), "Need Attention"),
            ((3, 4, 3), "Potential Loyalist"), // r = 3: shadowed
            ((1, 3, 5), "Can't Lose Them"),    // m = 5: shadowed
            ((1, 2, 3), "Lost"),               // f below
            ((1, 4, 2), "Lost"),               // m below
            // About To Sleep r2-3 f1-3 m1-4.
            ((2, 1, 4), "About To Sleep"),
            ((3, 1, 2), "About To Sleep"),
            ((3, 3, 1), "About To Sleep"),
            ((2, 2, 1), "About To Sleep"),
            ((3, 4, 1), "Others"), // f above
        ];
        let more: [((u8, u8, u8), &str); 9] = [
            ((2, 1, 1), "About To Sleep"),
            ((1, 1, 4), "Lost"),          // About To Sleep's r below
            ((4, 1, 2), "New Customers"), // About To Sleep's r above
            ((2, 1, 5), "Others"),        // About To Sleep's m above
            // Lost r1 f1-5 m1-5 (m >= 3 with f >= 3 or m >= 4 with f >= 2 is taken above).
            ((1, 1, 1), "Lost"),
            ((1, 1, 5), "Lost"),
            ((1, 5, 2), "Lost"),
            ((1, 5, 1), "Lost"),
            ((2, 5, 1), "Others"), // Lost's r above, from (1, 5, 1)
        ];
        for ((r, f, m), name) in cases.iter().chain(&more) {
            assert_eq!(segment(*r, *f, *m), *name, "segment({r}, {f}, {m})");
        }
    }

    #[test]
    fn segments_list_the_table_then_others_then_no_purchases() {
        assert_eq!(SEGMENTS[0], "Champions");
        assert_eq!(SEGMENTS[9], "Lost");
        assert_eq!(SEGMENTS[10], "Others");
        assert_eq!(SEGMENTS[11], NO_PURCHASES);
        assert_eq!(NO_PURCHASES, "No purchases");
        // Every name the function can give is listed, in table order.
        let mut seen = Vec::new();
        for r in 1..=5 {
            for f in 1..=5 {
                for m in 1..=5 {
                    let name = segment(r, f, m);
                    assert!(SEGMENTS[..11].contains(&name), "{name}");
                    if !seen.contains(&name) {
                        seen.push(name);
                    }
                }
            }
        }
        assert_eq!(seen.len(), 11, "every row and Others is reachable");
    }
}
