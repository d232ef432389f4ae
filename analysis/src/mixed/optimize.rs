//! Minimising the profiled deviance over θ with lower bounds (the variances' square roots may
//! not go below 0). Written here because the few parameters need both a robust start from far
//! away and a tight optimum: a bounded Nelder–Mead simplex, then projected Newton steps on
//! numerical derivatives until the step is below 1e-10, so that estimates match lme4 run
//! with tight tolerances to 1e-6 and not only to the optimiser's default tolerance.

use nalgebra::{DMatrix, DVector};

use super::deriv::{hessian, jacobian};

/// Where the minimisation ended.
#[derive(Debug, Clone)]
pub(crate) struct Minimum {
    pub x: Vec<f64>,
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
        if spread <= 1e-10 * (1.0 + vals[0].abs()) && size < 1e-7 {
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

/// Minimises `f` from `x0` subject to `x ≥ lower`.
pub(crate) fn minimise(f: &dyn Fn(&[f64]) -> f64, x0: &[f64], lower: &[f64]) -> Minimum {
    let mut x = simplex(f, x0, lower);
    let mut fx = f(&x);
    let mut decrement = f64::INFINITY;
    for _ in 0..100 {
        let g = jacobian(&|p: &[f64]| vec![f(p)], &x);
        let g: Vec<f64> = g.into_iter().map(|c| c[0]).collect();
        let h = hessian(f, &x);
        // Coordinates held at their bound: at it and the slope pushes further out.
        let free: Vec<usize> = (0..x.len())
            .filter(|&i| !(x[i] <= lower[i] && g[i] >= 0.0))
            .collect();
        if free.is_empty() {
            decrement = 0.0;
            break;
        }
        let gf = DVector::from_iterator(free.len(), free.iter().map(|&i| g[i]));
        let hf = DMatrix::from_fn(free.len(), free.len(), |a, b| h[free[a]][free[b]]);
        let dir = match hf.clone().cholesky() {
            Some(c) => {
                decrement = gf.dot(&c.solve(&gf));
                -c.solve(&gf)
            }
            None => {
                decrement = f64::INFINITY;
                -gf.clone()
            }
        };
        let mut t = 1.0;
        let mut moved = false;
        for _ in 0..40 {
            let mut y = x.clone();
            for (a, &i) in free.iter().enumerate() {
                y[i] += t * dir[a];
            }
            project(&mut y, lower);
            let fy = f(&y);
            if fy.is_finite() && fy <= fx {
                let stepped = y
                    .iter()
                    .zip(&x)
                    .map(|(a, b)| (a - b).abs())
                    .fold(0.0f64, f64::max);
                moved = stepped > 1e-10 * (1.0 + x.iter().map(|v| v.abs()).fold(0.0, f64::max));
                x = y;
                fx = fy;
                break;
            }
            t *= 0.5;
        }
        if !moved {
            break;
        }
    }
    Minimum { x, decrement }
}
