//! Pareto dominance, non-domination ranks, hypervolume and hypervolume subset selection, on
//! loss vectors (every objective minimised; flip maximised ones first).
//!
//! Ranks follow Optuna's `optuna/study/_multi_objective.py` (equal points share a rank, an
//! optional early stop once enough points are ranked); the subset selection is the greedy
//! one of `optuna/_hypervolume/hssp.py`.

/// Whether `a` dominates `b`: no worse in every objective, better in one.
pub fn dominates(a: &[f64], b: &[f64]) -> bool {
    let mut better = false;
    for (x, y) in a.iter().zip(b) {
        if x > y {
            return false;
        }
        if x < y {
            better = true;
        }
    }
    better
}

/// Non-domination rank of each point (0 = on the Pareto front). With `n_below`, ranking
/// stops once that many distinct points are ranked; the rest share the next rank.
pub fn non_domination_ranks(points: &[Vec<f64>], n_below: Option<usize>) -> Vec<usize> {
    let n = points.len();
    if n == 0 {
        return Vec::new();
    }
    // Distinct points in lexicographic order; equal points share a rank.
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| lex_cmp(&points[a], &points[b]));
    let mut uniq: Vec<usize> = Vec::new();
    let mut group = vec![0usize; n];
    for &i in &order {
        if uniq
            .last()
            .is_none_or(|&u| lex_cmp(&points[u], &points[i]).is_ne())
        {
            uniq.push(i);
        }
        group[i] = uniq.len() - 1;
    }
    let n_uniq = uniq.len();
    let n_below = n_below.unwrap_or(n_uniq).min(n_uniq);
    let mut rank_of_uniq = vec![usize::MAX; n_uniq];
    let mut remaining: Vec<usize> = (0..n_uniq).collect();
    let mut rank = 0;
    while n_uniq - remaining.len() < n_below {
        let front = front_of_sorted(points, &uniq, &remaining);
        let mut next = Vec::with_capacity(remaining.len());
        for (j, &u) in remaining.iter().enumerate() {
            if front[j] {
                rank_of_uniq[u] = rank;
            } else {
                next.push(u);
            }
        }
        remaining = next;
        rank += 1;
    }
    for u in remaining {
        rank_of_uniq[u] = rank;
    }
    (0..n).map(|i| rank_of_uniq[group[i]]).collect()
}

fn lex_cmp(a: &[f64], b: &[f64]) -> std::cmp::Ordering {
    for (x, y) in a.iter().zip(b) {
        match x.total_cmp(y) {
            std::cmp::Ordering::Equal => continue,
            o => return o,
        }
    }
    std::cmp::Ordering::Equal
}

/// Which of the distinct, lexicographically sorted points `remaining` are non-dominated.
fn front_of_sorted(points: &[Vec<f64>], uniq: &[usize], remaining: &[usize]) -> Vec<bool> {
    let p = |j: usize| &points[uniq[remaining[j]]];
    let m = remaining.len();
    let d = points[uniq[0]].len();
    if d == 1 {
        let mut f = vec![false; m];
        f[0] = true;
        return f;
    }
    if d == 2 {
        // Sorted by the first objective, a point is on the front iff it improves the best
        // second objective so far.
        let mut best = f64::INFINITY;
        return (0..m)
            .map(|j| {
                let y = p(j)[1];
                let on = y < best;
                if on {
                    best = y;
                }
                on
            })
            .collect();
    }
    // A point can only be dominated by one before it in lexicographic order.
    let mut on = vec![true; m];
    for j in 0..m {
        for i in 0..j {
            if on[i] && dominates(p(i), p(j)) {
                on[j] = false;
                break;
            }
        }
    }
    on
}

/// Indices of the points on the Pareto front (rank 0).
pub fn pareto_front(points: &[Vec<f64>]) -> Vec<usize> {
    let ranks = non_domination_ranks(points, Some(1));
    (0..points.len()).filter(|&i| ranks[i] == 0).collect()
}

/// Hypervolume dominated by `points` and bounded by `reference` (minimisation). Points that
/// do not strictly dominate the reference add nothing.
pub fn hypervolume(points: &[Vec<f64>], reference: &[f64]) -> f64 {
    let pts: Vec<Vec<f64>> = points
        .iter()
        .filter(|p| p.iter().zip(reference).all(|(x, r)| x < r))
        .cloned()
        .collect();
    hv_rec(pts, reference)
}

fn hv_rec(mut pts: Vec<Vec<f64>>, r: &[f64]) -> f64 {
    let d = r.len();
    if pts.is_empty() {
        return 0.0;
    }
    if d == 1 {
        let m = pts.iter().map(|p| p[0]).fold(f64::INFINITY, f64::min);
        return r[0] - m;
    }
    if d == 2 {
        return hypervolume_2d(
            &pts.iter().map(|p| (p[0], p[1])).collect::<Vec<_>>(),
            (r[0], r[1]),
        );
    }
    // Slice along the last objective: between consecutive values, the volume is the
    // (d-1)-dimensional hypervolume of the points at or below the slice.
    pts.sort_by(|a, b| a[d - 1].total_cmp(&b[d - 1]));
    let mut total = 0.0;
    for i in 0..pts.len() {
        let upper = if i + 1 < pts.len() {
            pts[i + 1][d - 1]
        } else {
            r[d - 1]
        };
        let height = upper - pts[i][d - 1];
        if height <= 0.0 {
            continue;
        }
        let slice: Vec<Vec<f64>> = pts[..=i].iter().map(|p| p[..d - 1].to_vec()).collect();
        total += height * hv_rec(slice, &r[..d - 1]);
    }
    total
}

/// The 2-D hypervolume by the sweep of hpo-bench.md section 5: keep points strictly inside
/// the reference box, sort by f1, and add each point that lowers the running minimum of f2.
pub fn hypervolume_2d(points: &[(f64, f64)], reference: (f64, f64)) -> f64 {
    let (r1, r2) = reference;
    let mut pts: Vec<(f64, f64)> = points
        .iter()
        .copied()
        .filter(|&(a, b)| a < r1 && b < r2)
        .collect();
    pts.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
    let mut m = r2;
    let mut hv = 0.0;
    for (f1, f2) in pts {
        if f2 < m {
            hv += (r1 - f1) * (m - f2);
            m = f2;
        }
    }
    hv
}

/// Greedy hypervolume subset selection: picks `k` of `points` (given with their `indices`),
/// each time the one adding the most hypervolume; returns the chosen indices. Duplicated
/// points are only taken once there are too few distinct ones.
pub(crate) fn select_by_hypervolume(
    points: &[Vec<f64>],
    indices: &[usize],
    k: usize,
    reference: &[f64],
) -> Vec<usize> {
    if k >= indices.len() {
        return indices.to_vec();
    }
    let mut order: Vec<usize> = (0..points.len()).collect();
    order.sort_by(|&a, &b| lex_cmp(&points[a], &points[b]));
    let mut uniq: Vec<usize> = Vec::new();
    for &i in &order {
        if uniq
            .last()
            .is_none_or(|&u| lex_cmp(&points[u], &points[i]).is_ne())
        {
            uniq.push(i);
        }
    }
    if uniq.len() < k {
        let mut chosen = vec![false; points.len()];
        for &u in &uniq {
            chosen[u] = true;
        }
        let mut extra = k - uniq.len();
        for c in chosen.iter_mut() {
            if extra == 0 {
                break;
            }
            if !*c {
                *c = true;
                extra -= 1;
            }
        }
        return (0..points.len())
            .filter(|&i| chosen[i])
            .map(|i| indices[i])
            .collect();
    }
    if !reference.iter().all(|r| r.is_finite()) {
        return uniq[..k].iter().map(|&i| indices[i]).collect();
    }
    let mut selected: Vec<Vec<f64>> = Vec::with_capacity(k);
    let mut picked = Vec::with_capacity(k);
    let mut left = uniq;
    let mut hv_selected = 0.0;
    for _ in 0..k {
        let mut best = (f64::NEG_INFINITY, 0);
        for (j, &i) in left.iter().enumerate() {
            selected.push(points[i].clone());
            let gain = hypervolume(&selected, reference) - hv_selected;
            selected.pop();
            if gain > best.0 {
                best = (gain, j);
            }
        }
        let i = left.remove(best.1);
        selected.push(points[i].clone());
        hv_selected = hypervolume(&selected, reference);
        picked.push(indices[i]);
    }
    picked
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocol_hypervolume_checks() {
        let hv = hypervolume_2d(&[(0.0, 1.0), (0.25, 0.5), (1.0, 0.0)], (1.1, 11.0));
        assert!((hv - 11.475).abs() < 1e-12, "{hv}");
        let hv = hypervolume_2d(&[(0.5, 0.5), (0.6, 0.6), (2.0, 0.0)], (1.1, 11.0));
        assert!((hv - 6.3).abs() < 1e-12, "{hv}");
    }

    #[test]
    fn general_hypervolume_agrees_with_the_sweep_and_a_3d_box() {
        let pts = vec![vec![0.0, 1.0], vec![0.25, 0.5], vec![1.0, 0.0]];
        assert!((hypervolume(&pts, &[1.1, 11.0]) - 11.475).abs() < 1e-12);
        // Two boxes in 3-D: [0,2]^3 minus nothing from (1,1,1) plus (0,0,1)'s extra slab.
        let pts = vec![vec![1.0, 1.0, 1.0], vec![0.0, 0.0, 1.5]];
        // Union of [1,2]^3 (1) and [0,2]x[0,2]x[1.5,2] (2): overlap [1,2]x[1,2]x[1.5,2] (0.5).
        assert!((hypervolume(&pts, &[2.0, 2.0, 2.0]) - 2.5).abs() < 1e-12);
    }

    #[test]
    fn ranks_share_equal_points_and_stop_early() {
        let pts = vec![
            vec![1.0, 1.0],
            vec![0.0, 2.0],
            vec![2.0, 2.0],
            vec![1.0, 1.0],
            vec![3.0, 3.0],
        ];
        assert_eq!(non_domination_ranks(&pts, None), vec![0, 0, 1, 0, 2]);
        assert_eq!(non_domination_ranks(&pts, Some(1)), vec![0, 0, 1, 0, 1]);
        assert_eq!(pareto_front(&pts), vec![0, 1, 3]);
    }

    #[test]
    fn subset_selection_prefers_the_spread_out_points() {
        let pts = vec![
            vec![0.0, 1.0],
            vec![0.1, 0.9],
            vec![0.5, 0.5],
            vec![1.0, 0.0],
        ];
        let chosen = select_by_hypervolume(&pts, &[10, 11, 12, 13], 2, &[1.1, 1.1]);
        // (0.5, 0.5) adds the most alone (0.36); then (0.1, 0.9) adds 0.2 - 0.12 = 0.08,
        // more than the 0.05 of either end point.
        assert_eq!(chosen, vec![12, 11]);
    }
}
