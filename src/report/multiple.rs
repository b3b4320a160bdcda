//! Multiple testing: Benjamini-Hochberg q-values for the shuffle test's
//! p-values. With thousands of topics tested, about 5% of them reach
//! p <= 0.05 by chance alone; a topic with q <= 0.05 is a discovery with the
//! expected share of false discoveries among all discoveries at most 5%.

/// The Benjamini-Hochberg adjusted p-value (q-value) of each p-value, in
/// input order. With the m defined p-values sorted ascending, p_(i) gets
/// min over j >= i of p_(j) * m / j, capped at 1. An undefined p (NaN) is
/// not counted in m and gets an undefined q.
pub fn bh_q_values(p: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..p.len()).filter(|&i| !p[i].is_nan()).collect();
    order.sort_by(|&a, &b| p[a].total_cmp(&p[b]).then(a.cmp(&b)));
    let m = order.len() as f64;
    let mut q = vec![f64::NAN; p.len()];
    let mut running = 1.0_f64;
    for (rank, &i) in order.iter().enumerate().rev() {
        running = running.min(p[i] * m / (rank + 1) as f64);
        q[i] = running;
    }
    q
}

#[cfg(test)]
mod tests {
    use super::bh_q_values;

    fn close(a: &[f64], b: &[f64]) -> bool {
        a.len() == b.len()
            && a.iter()
                .zip(b)
                .all(|(x, y)| (x.is_nan() && y.is_nan()) || (x - y).abs() < 1e-12)
    }

    /// Worked by hand: sorted 0.005, 0.01, 0.03, 0.04 (m = 4) give
    /// 0.02, 0.02, 0.04, 0.04 before and after the running minimum.
    #[test]
    fn hand_worked() {
        let q = bh_q_values(&[0.01, 0.04, 0.03, 0.005]);
        assert!(close(&q, &[0.02, 0.04, 0.04, 0.02]), "{q:?}");
    }

    /// The running minimum from the largest p down: 0.04 * 2 / 1 = 0.08 is
    /// lowered to 0.041 * 2 / 2 = 0.041; a NaN is left out of m.
    #[test]
    fn monotone_and_nan_left_out() {
        let q = bh_q_values(&[0.04, f64::NAN, 0.041]);
        assert!(close(&q, &[0.041, f64::NAN, 0.041]), "{q:?}");
        let q = bh_q_values(&[0.9, 0.8]);
        assert!(close(&q, &[0.9, 0.9]), "{q:?}");
        assert!(bh_q_values(&[]).is_empty());
    }

    /// Never below p, never above 1, and in the same order as p.
    #[test]
    fn invariants() {
        let p: Vec<f64> = (0..200)
            .map(|i| ((i * 7919) % 1000) as f64 / 1000.0)
            .collect();
        let q = bh_q_values(&p);
        for i in 0..p.len() {
            assert!(q[i] >= p[i] && q[i] <= 1.0, "{} {}", p[i], q[i]);
            for j in 0..p.len() {
                if p[i] < p[j] {
                    assert!(q[i] <= q[j]);
                }
            }
        }
    }
}
