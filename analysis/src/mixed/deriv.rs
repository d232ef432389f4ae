//! Numerical derivatives by central differences with Richardson extrapolation (four step sizes
//! halving from 10 % of the coordinate, 1e-4 at zero: the defaults of R's numDeriv, which
//! lmerTest uses for the Satterthwaite degrees of freedom). Accurate to about 1e-9 relative on
//! the smooth deviance surfaces here, well within what a comparison with lmerTest needs.

const STEPS: usize = 4;
const RELATIVE: f64 = 0.1;
const AT_ZERO: f64 = 1e-4;
/// numDeriv's zero.tol: sqrt(machine epsilon / 7e-7).
const ZERO_TOL: f64 = 1.781_029_6e-5;

fn step(x: f64) -> f64 {
    RELATIVE * x.abs() + if x.abs() < ZERO_TOL { AT_ZERO } else { 0.0 }
}

/// Richardson extrapolation of central-difference estimates at steps h, h/2, h/4, h/8
/// (errors in even powers of h), entry by entry.
fn extrapolate(mut a: Vec<Vec<f64>>) -> Vec<f64> {
    for k in 1..a.len() {
        let f = 4f64.powi(k as i32);
        for m in 0..a.len() - k {
            let next = a[m + 1].clone();
            for (v, w) in a[m].iter_mut().zip(next) {
                *v = (f * w - *v) / (f - 1.0);
            }
        }
    }
    a.swap_remove(0)
}

/// The Jacobian of a vector-valued `f` at `x`: one column (a vector of f's length) per
/// coordinate of x.
pub(crate) fn jacobian(f: &dyn Fn(&[f64]) -> Vec<f64>, x: &[f64]) -> Vec<Vec<f64>> {
    (0..x.len())
        .map(|i| {
            let h0 = step(x[i]);
            let est = (0..STEPS)
                .map(|m| {
                    let h = h0 / 2f64.powi(m as i32);
                    let mut xp = x.to_vec();
                    let mut xm = x.to_vec();
                    xp[i] += h;
                    xm[i] -= h;
                    f(&xp)
                        .iter()
                        .zip(f(&xm))
                        .map(|(a, b)| (a - b) / (2.0 * h))
                        .collect()
                })
                .collect();
            extrapolate(est)
        })
        .collect()
}

/// The Hessians of every output of a vector-valued `f` at `x`, from one set of evaluations.
pub(crate) fn hessians(f: &dyn Fn(&[f64]) -> Vec<f64>, x: &[f64]) -> Vec<Vec<Vec<f64>>> {
    let k = x.len();
    let f0 = f(x);
    let m = f0.len();
    let mut h = vec![vec![vec![0.0; k]; k]; m];
    let at = |d: &[(usize, f64)]| {
        let mut y = x.to_vec();
        for &(i, v) in d {
            y[i] += v;
        }
        f(&y)
    };
    for i in 0..k {
        let hi0 = step(x[i]);
        for j in 0..=i {
            let hj0 = step(x[j]);
            let est = (0..STEPS)
                .map(|s| {
                    let sc = 2f64.powi(s as i32);
                    let (hi, hj) = (hi0 / sc, hj0 / sc);
                    if i == j {
                        let (p, q) = (at(&[(i, hi)]), at(&[(i, -hi)]));
                        (0..m)
                            .map(|o| (p[o] - 2.0 * f0[o] + q[o]) / (hi * hi))
                            .collect()
                    } else {
                        let pp = at(&[(i, hi), (j, hj)]);
                        let pm = at(&[(i, hi), (j, -hj)]);
                        let mp = at(&[(i, -hi), (j, hj)]);
                        let mm = at(&[(i, -hi), (j, -hj)]);
                        (0..m)
                            .map(|o| (pp[o] - pm[o] - mp[o] + mm[o]) / (4.0 * hi * hj))
                            .collect()
                    }
                })
                .collect();
            let v = extrapolate(est);
            for o in 0..m {
                h[o][i][j] = v[o];
                h[o][j][i] = v[o];
            }
        }
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derivatives_of_known_functions() {
        let f = |x: &[f64]| x[0].exp() * x[1].sin() + x[0] * x[0] * x[1];
        let x = [0.7, 1.3];
        let h = hessians(&|p: &[f64]| vec![f(p)], &x).swap_remove(0);
        let (e, s, c) = (0.7f64.exp(), 1.3f64.sin(), 1.3f64.cos());
        let want = [
            [e * s + 2.0 * 1.3, e * c + 2.0 * 0.7],
            [e * c + 2.0 * 0.7, -e * s],
        ];
        for i in 0..2 {
            for j in 0..2 {
                assert!((h[i][j] - want[i][j]).abs() < 1e-8, "{i}{j}: {}", h[i][j]);
            }
        }
        let g = jacobian(&|x: &[f64]| vec![f(x)], &x);
        assert!((g[0][0] - (e * s + 2.0 * 0.7 * 1.3)).abs() < 1e-10);
        assert!((g[1][0] - (e * c + 0.49)).abs() < 1e-10);
        // At zero the step is absolute.
        let z = jacobian(&|x: &[f64]| vec![x[0].powi(3) + x[0]], &[0.0]);
        assert!((z[0][0] - 1.0).abs() < 1e-12);
    }
}
