//! Moving latent codes along a boundary normal, and conditional boundaries.

use super::svm::dot;
use crate::error::{ModelError, Result};

/// The primal direction with the conditions' span projected out, normalised: editing along it
/// leaves the conditioning attributes' signed distances unchanged. Equals InterfaceGAN's
/// `project_boundary` (n − (n·c)c for one condition; the Gram-matrix solve for more).
pub fn project_out(primal: &[f64], conditions: &[Vec<f64>]) -> Result<Vec<f64>> {
    let mut basis: Vec<Vec<f64>> = Vec::new();
    for (k, c) in conditions.iter().enumerate() {
        if c.len() != primal.len() {
            return Err(ModelError::Invalid(format!(
                "condition {k} has {} values; the primal boundary has {}",
                c.len(),
                primal.len()
            )));
        }
        let mut v = c.clone();
        remove_span(&mut v, &basis);
        let norm = dot(&v, &v).sqrt();
        if norm < 1e-8 {
            return Err(ModelError::Invalid(format!(
                "condition {k} lies in the span of the earlier ones"
            )));
        }
        basis.push(v.iter().map(|x| x / norm).collect());
    }
    let mut n = primal.to_vec();
    remove_span(&mut n, &basis);
    let norm = dot(&n, &n).sqrt();
    if norm < 1e-8 {
        return Err(ModelError::Invalid(
            "the primal boundary lies in the conditions' span: nothing is left to edit".into(),
        ));
    }
    Ok(n.iter().map(|x| x / norm).collect())
}

/// Subtracts from `v` its projections on the orthonormal `basis`.
fn remove_span(v: &mut [f64], basis: &[Vec<f64>]) {
    for b in basis {
        let p = dot(v, b);
        v.iter_mut().zip(b).for_each(|(x, y)| *x -= p * y);
    }
}

/// `code` moved along `normal`. A normal shorter than the code (512 for an 18 × 512 W+ code)
/// is applied to every layer. `absolute`: InterfaceGAN's 2-D rule — the code's own signed
/// distance is removed first, so the result sits at `distance` from the hyperplane through the
/// origin; otherwise `distance` is an offset (the rule for W+ codes, and the authors' `4·f`).
pub fn edit_code(code: &[f32], normal: &[f32], distance: f64, absolute: bool) -> Result<Vec<f32>> {
    if normal.is_empty() || !code.len().is_multiple_of(normal.len()) {
        return Err(ModelError::Invalid(format!(
            "a code of {} values cannot be edited along a direction of {}",
            code.len(),
            normal.len()
        )));
    }
    let reps = code.len() / normal.len();
    let full: Vec<f64> = (0..reps)
        .flat_map(|_| normal.iter().map(|&v| f64::from(v)))
        .collect();
    let norm2 = dot(&full, &full);
    if norm2 <= 0.0 {
        return Err(ModelError::Invalid(
            "the edit direction is all zeros".into(),
        ));
    }
    let unit = norm2.sqrt();
    let c: Vec<f64> = code.iter().map(|&v| f64::from(v)).collect();
    // Absolute distances are measured along the unit direction; offsets use the normal as given.
    let (step, shift) = if absolute {
        let step: Vec<f64> = full.iter().map(|n| n / unit).collect();
        let shift = distance - dot(&c, &step);
        (step, shift)
    } else {
        (full, distance)
    };
    Ok(c.iter()
        .zip(&step)
        .map(|(x, n)| (x + shift * n) as f32)
        .collect())
}

/// The offsets the study's face editor applies: 4·f for f in −r..r (r = `factor_range`).
pub fn authors_offsets(factor_range: i32) -> Vec<f64> {
    (-factor_range..factor_range)
        .map(|f| 4.0 * f64::from(f))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn projecting_out_matches_the_one_condition_formula_and_is_orthogonal() {
        let s = 1.0 / 2f64.sqrt();
        let primal = vec![s, s, 0.0];
        let cond = vec![1.0, 0.0, 0.0];
        let n = project_out(&primal, std::slice::from_ref(&cond)).unwrap();
        // n − (n·c)c = (0, s, 0) → (0, 1, 0).
        assert!((n[0]).abs() < 1e-12 && (n[1] - 1.0).abs() < 1e-12);
        let two = project_out(&[0.5, 0.5, s], &[cond, vec![0.0, 1.0, 0.0]]).unwrap();
        assert!((two[2] - 1.0).abs() < 1e-12, "{two:?}");
        assert!(project_out(&primal, &[vec![1.0, 1.0, 0.0]]).is_err());
    }

    #[test]
    fn offsets_move_every_layer_and_absolute_distances_land_on_target() {
        // A unit 512-D layer normal repeated over 18 layers (as the study's boundaries are).
        let mut normal = vec![0.0f32; 4];
        normal[1] = 1.0;
        let code: Vec<f32> = (0..12).map(|i| i as f32).collect();
        let moved = edit_code(&code, &normal, 4.0, false).unwrap();
        for layer in 0..3 {
            assert_eq!(moved[layer * 4 + 1], code[layer * 4 + 1] + 4.0);
            assert_eq!(moved[layer * 4], code[layer * 4]);
        }
        // Absolute: the signed distance to the hyperplane through 0 becomes exactly 3.
        let n2 = vec![0.6f32, 0.8];
        let e = edit_code(&[5.0, -1.0], &n2, 3.0, true).unwrap();
        let dist = f64::from(e[0]) * 0.6 + f64::from(e[1]) * 0.8;
        assert!((dist - 3.0).abs() < 1e-6, "{dist}");
        assert_eq!(authors_offsets(3), vec![-12.0, -8.0, -4.0, 0.0, 4.0, 8.0]);
        assert!(edit_code(&[1.0; 5], &n2, 1.0, false).is_err());
    }
}
