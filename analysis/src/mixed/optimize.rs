//! Minimising the profiled deviance over θ with lower bounds (the variances' square roots may
//! not go below 0). Written here because the few parameters need both a robust start from far
//! away and a tight optimum: a bounded Nelder–Mead simplex, then projected Newton steps on
//! numerical derivatives until the step is below 1e-10, so that estimates match lme4 run
//! with tight tolerances to 1e-6 and not only to the optimiser's default tolerance.

use nalgebra::{DMatrix, DVector};

use super::deriv::jacobian;

/// How the Hessian's off-diagonal is taken.
#[derive(Clone, Copy, PartialEq)]
enum Cross {
    /// Forward differences from the diagonal's evaluations plus one per pair (error of order
    /// h): enough to steer Newton towards the optimum, at 1 + 2k + k(k−1)/2 evaluations.
    Forward,
    /// Central differences, four per pair (error of order h²): for the last steps, whose
    /// Newton decrement decides convergence (near a flat direction the forward one can lose
    /// positive definiteness), at 1 + 2k + 2k(k−1).
    Central,
}

/// Gradient and Hessian of `f` at `x` with steps h = 1e-4 × max(1, |x|): the gradient and the
/// Hessian's diagonal by central differences (errors of order h²), its off-diagonal as `cross`
/// says. The Hessian only sets how fast Newton gets to the optimum, not where it is (the final
/// gradient and the derivatives for inference are `deriv`'s, extrapolated).
fn derivatives(f: &dyn Fn(&[f64]) -> f64, x: &[f64], cross: Cross) -> (Vec<f64>, Vec<Vec<f64>>) {
    let k = x.len();
    let h: Vec<f64> = x.iter().map(|v| 1e-4 * v.abs().max(1.0)).collect();
    let at = |d: &[(usize, f64)]| {
        let mut y = x.to_vec();
        for &(i, v) in d {
            y[i] += v;
        }
        f(&y)
    };
    let f0 = f(x);
    let mut g = vec![0.0; k];
    let mut hess = vec![vec![0.0; k]; k];
    let mut fplus = vec![0.0; k];
    for i in 0..k {
        let (fp, fm) = (at(&[(i, h[i])]), at(&[(i, -h[i])]));
        g[i] = (fp - fm) / (2.0 * h[i]);
        hess[i][i] = (fp - 2.0 * f0 + fm) / (h[i] * h[i]);
        fplus[i] = fp;
        for j in 0..i {
            let v = match cross {
                Cross::Forward => {
                    (at(&[(i, h[i]), (j, h[j])]) - fp - fplus[j] + f0) / (h[i] * h[j])
                }
                Cross::Central => {
                    (at(&[(i, h[i]), (j, h[j])])
                        - at(&[(i, h[i]), (j, -h[j])])
                        - at(&[(i, -h[i]), (j, h[j])])
                        + at(&[(i, -h[i]), (j, -h[j])]))
                        / (4.0 * h[i] * h[j])
                }
            };
            hess[i][j] = v;
            hess[j][i] = v;
        }
    }
    (g, hess)
}

/// Where the minimisation ended.
#[derive(Debug, Clone)]
pub(crate) struct Minimum {
    pub x: Vec<f64>,
    /// `f(x)`.
    pub value: f64,
    /// Newton decrement gᵀH⁻¹g on the free coordinates at the end (deviance units).
    pub decrement: f64,
}

fn project(x: &mut [f64], lower: &[f64]) {
    for (v, l) in x.iter_mut().zip(lower) {
        if *v < *l {
            *v = *l;
        }
    }
}

/// Nelder–Mead with every vertex projected onto the bounds.
fn simplex(f: &dyn Fn(&[f64]) -> f64, x0: &[f64], lower: &[f64]) -> Vec<f64> {
    let k = x0.len();
    let mut pts: Vec<Vec<f64>> = vec![x0.to_vec()];
    for i in 0..k {
        let mut p = x0.to_vec();
        p[i] += if x0[i].abs() > 0.0 {
            0.5 * x0[i].abs()
        } else {
            0.5
        };
        pts.push(p);
    }
    let eval = |p: &[f64]| {
        let v = f(p);
        if v.is_finite() {
            v
        } else {
            f64::INFINITY
        }
    };
    let mut vals: Vec<f64> = pts.iter().map(|p| eval(p)).collect();
    for _ in 0..2000 * k.max(1) {
        let mut order: Vec<usize> = (0..=k).collect();
        order.sort_by(|&a, &b| vals[a].total_cmp(&vals[b]));
        pts = order.iter().map(|&i| pts[i].clone()).collect();
        vals = order.iter().map(|&i| vals[i]).collect();
        let spread = (vals[k] - vals[0]).abs();
        let size = pts[1..]
            .iter()
            .flat_map(|p| p.iter().zip(&pts[0]).map(|(a, b)| (a - b).abs()))
            .fold(0.0f64, f64::max);
        // Newton finishes from here: the simplex only has to find the basin.
        if spread <= 1e-5 * (1.0 + vals[0].abs()) && size < 1e-2 {
            break;
        }
        let centroid: Vec<f64> = (0..k)
            .map(|j| pts[..k].iter().map(|p| p[j]).sum::<f64>() / k as f64)
            .collect();
        let towards = |t: f64| {
            let mut p: Vec<f64> = (0..k)
                .map(|j| centroid[j] + t * (pts[k][j] - centroid[j]))
                .collect();
            project(&mut p, lower);
            p
        };
        let r = towards(-1.0);
        let fr = eval(&r);
        if fr < vals[0] {
            let e = towards(-2.0);
            let fe = eval(&e);
            (pts[k], vals[k]) = if fe < fr { (e, fe) } else { (r, fr) };
        } else if fr < vals[k - 1] {
            (pts[k], vals[k]) = (r, fr);
        } else {
            let c = if fr < vals[k] {
                towards(-0.5)
            } else {
                towards(0.5)
            };
            let fc = eval(&c);
            if fc < vals[k].min(fr) {
                (pts[k], vals[k]) = (c, fc);
            } else {
                for i in 1..=k {
                    let mut p: Vec<f64> = (0..k)
                        .map(|j| pts[0][j] + 0.5 * (pts[i][j] - pts[0][j]))
                        .collect();
                    project(&mut p, lower);
                    vals[i] = eval(&p);
                    pts[i] = p;
                }
            }
        }
    }
    let best = (0..=k)
        .min_by(|&a, &b| vals[a].total_cmp(&vals[b]))
        .unwrap_or(0);
    pts.swap_remove(best)
}

/// The Newton direction on the coordinates not held at their bound, and the decrement gᵀH⁻¹g
/// (infinite where H is not positive definite, which then falls back to steepest descent).
fn newton(g: &[f64], h: &[Vec<f64>], x: &[f64], lower: &[f64]) -> (Vec<f64>, f64) {
    // Coordinates held at their bound: at it and the slope pushes further out.
    let free: Vec<usize> = (0..x.len())
        .filter(|&i| !(x[i] <= lower[i] && g[i] >= 0.0))
        .collect();
    let mut dir = vec![0.0; x.len()];
    if free.is_empty() {
        return (dir, 0.0);
    }
    let gf = DVector::from_iterator(free.len(), free.iter().map(|&i| g[i]));
    let hf = DMatrix::from_fn(free.len(), free.len(), |a, b| h[free[a]][free[b]]);
    let (d, decrement) = match hf.cholesky() {
        Some(c) => {
            let d = c.solve(&gf);
            (-d.clone(), gf.dot(&d))
        }
        None => (-gf, f64::INFINITY),
    };
    for (a, &i) in free.iter().enumerate() {
        dir[i] = d[a];
    }
    (dir, decrement)
}

fn largest_step(a: &[f64], b: &[f64]) -> f64 {
    let scale = 1.0 + b.iter().map(|v| v.abs()).fold(0.0, f64::max);
    a.iter()
        .zip(b)
        .map(|(p, q)| (p - q).abs())
        .fold(0.0f64, f64::max)
        / scale
}

/// Distances from a bound at which `off_the_bound` looks for a lower value (θ is a standard
/// deviation relative to the residual's: from a thousandth of it to three times it).
const OFF_BOUND_STEPS: [f64; 8] = [1e-3, 1e-2, 0.03, 0.1, 0.3, 0.6, 1.0, 3.0];

/// A point below `fx` along a coordinate that `x` holds at its bound, if there is one (the
/// lowest found). Newton cannot see it: the profiled deviance of a term with one effect per
/// level is even in its θ, so at θ = 0 the central gradient is exactly 0 whatever the
/// curvature, and a coordinate at a local maximum along θ looks converged.
fn off_the_bound(f: &dyn Fn(&[f64]) -> f64, x: &[f64], lower: &[f64], fx: f64) -> Option<Vec<f64>> {
    let below = fx - 1e-10 * (1.0 + fx.abs());
    let mut best: Option<(f64, Vec<f64>)> = None;
    for i in (0..x.len()).filter(|&i| x[i] <= lower[i]) {
        for step in OFF_BOUND_STEPS {
            let mut y = x.to_vec();
            y[i] = lower[i] + step;
            let fy = f(&y);
            if fy.is_finite() && fy < below && best.as_ref().is_none_or(|(b, _)| fy < *b) {
                best = Some((fy, y));
            }
        }
    }
    best.map(|(_, y)| y)
}

/// Minimises `f` from `x0` subject to `x ≥ lower`: the simplex to the basin, Newton with a
/// line search on cheap derivatives, then full Newton steps on extrapolated derivatives (the
/// deviance is flat to rounding near its optimum, so the last steps follow the gradient, not
/// comparisons of function values). A coordinate that ends at its bound is looked along
/// (`off_the_bound`): where the function is lower off the bound, the minimisation starts again
/// from there, so a local maximum on the bound is never reported as the optimum.
pub(crate) fn minimise(f: &dyn Fn(&[f64]) -> f64, x0: &[f64], lower: &[f64]) -> Minimum {
    let mut m = descend(f, x0, lower);
    // Each restart ends lower than the last; one per coordinate is a generous limit.
    for _ in 0..x0.len() {
        match off_the_bound(f, &m.x, lower, m.value) {
            Some(y) => m = descend(f, &y, lower),
            None => break,
        }
    }
    m
}

/// One descent from `x0` (`minimise` without the look off the bounds).
fn descend(f: &dyn Fn(&[f64]) -> f64, x0: &[f64], lower: &[f64]) -> Minimum {
    let mut x = simplex(f, x0, lower);
    let mut fx = f(&x);
    for _ in 0..100 {
        let (g, h) = derivatives(f, &x, Cross::Forward);
        let (dir, _) = newton(&g, &h, &x, lower);
        let mut t = 1.0;
        let mut stepped = 0.0;
        for _ in 0..40 {
            let mut y: Vec<f64> = x.iter().zip(&dir).map(|(a, d)| a + t * d).collect();
            project(&mut y, lower);
            let fy = f(&y);
            if fy.is_finite() && fy <= fx {
                stepped = largest_step(&y, &x);
                x = y;
                fx = fy;
                break;
            }
            t *= 0.5;
        }
        if stepped < 1e-6 {
            break;
        }
    }
    let mut decrement = f64::INFINITY;
    for _ in 0..8 {
        // Where the step lands depends on the gradient's accuracy; the Hessian only sets how
        // fast it gets there, so the cheap one does.
        let g: Vec<f64> = jacobian(&|p: &[f64]| vec![f(p)], &x)
            .into_iter()
            .map(|c| c[0])
            .collect();
        let (_, h) = derivatives(f, &x, Cross::Central);
        let (dir, dec) = newton(&g, &h, &x, lower);
        decrement = dec;
        let mut y: Vec<f64> = x.iter().zip(&dir).map(|(a, d)| a + d).collect();
        project(&mut y, lower);
        let stepped = largest_step(&y, &x);
        let fy = f(&y);
        // A full step only while it is small: far away the line search above is in charge.
        if !fy.is_finite() || stepped > 1e-3 {
            break;
        }
        x = y;
        fx = fy;
        // Quadratic convergence: from a decrement this small the step just taken leaves θ
        // within about 1e-10 of the optimum.
        if dec < 1e-10 {
            break;
        }
    }
    Minimum {
        x,
        value: fx,
        decrement,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Even in x[0] with a local maximum at 0 and minima at x[0] = ±0.5: at the bound the
    /// central gradient along x[0] is exactly 0, as for a one-effect term's θ.
    fn even_with_a_maximum_at_zero(x: &[f64]) -> f64 {
        let a = x[0] * x[0];
        (a - 0.25) * (a - 0.25) + (x[1] - 1.0) * (x[1] - 1.0)
    }

    #[test]
    fn a_local_maximum_on_the_bound_is_left_for_the_minimum() {
        let f = even_with_a_maximum_at_zero;
        let lower = [0.0, f64::NEG_INFINITY];
        // At the bound Newton is held there (no slope, so it looks converged); the look along
        // the coordinate finds the lower values off it.
        let (g, h) = derivatives(&f, &[0.0, 1.0], Cross::Central);
        assert_eq!(g[0], 0.0);
        assert_eq!(newton(&g, &h, &[0.0, 1.0], &lower).0, vec![0.0, 0.0]);
        let off = off_the_bound(&f, &[0.0, 1.0], &lower, f(&[0.0, 1.0])).unwrap();
        assert!(f(&off) < f(&[0.0, 1.0]));
        let m = minimise(&f, &[0.0, 1.0], &lower);
        assert!(
            (m.x[0] - 0.5).abs() < 1e-6 && (m.x[1] - 1.0).abs() < 1e-6,
            "{:?}",
            m.x
        );
        assert!(m.value < 1e-10);
    }

    #[test]
    fn a_true_minimum_on_the_bound_stays_there() {
        let f = |x: &[f64]| (x[0] + 1.0) * (x[0] + 1.0);
        let m = minimise(&f, &[0.5], &[0.0]);
        assert_eq!(m.x, vec![0.0]);
        assert!(off_the_bound(&f, &m.x, &[0.0], m.value).is_none());
    }
}
