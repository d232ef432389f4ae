//! Table 1 of the paper: per-class precision, recall, F1 and support of the out-of-fold
//! predictions, their macro averages, and top-1 accuracy (scikit-learn's definitions, with 0
//! where a class is never predicted or never present).

#[derive(Debug, Clone, PartialEq)]
pub struct ClassScores {
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    pub support: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub per_class: Vec<ClassScores>,
    pub macro_precision: f64,
    pub macro_recall: f64,
    pub macro_f1: f64,
    pub top1: f64,
}

pub fn report(truth: &[usize], predicted: &[usize], n_classes: usize) -> Report {
    let ratio = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    let per_class: Vec<ClassScores> = (0..n_classes)
        .map(|c| {
            let tp = truth
                .iter()
                .zip(predicted)
                .filter(|(t, p)| **t == c && **p == c)
                .count();
            let pred = predicted.iter().filter(|p| **p == c).count();
            let support = truth.iter().filter(|t| **t == c).count();
            let (precision, recall) = (ratio(tp, pred), ratio(tp, support));
            let f1 = if precision + recall > 0.0 {
                2.0 * precision * recall / (precision + recall)
            } else {
                0.0
            };
            ClassScores {
                precision,
                recall,
                f1,
                support,
            }
        })
        .collect();
    let mean =
        |f: fn(&ClassScores) -> f64| per_class.iter().map(f).sum::<f64>() / n_classes.max(1) as f64;
    Report {
        macro_precision: mean(|c| c.precision),
        macro_recall: mean(|c| c.recall),
        macro_f1: mean(|c| c.f1),
        top1: ratio(
            truth.iter().zip(predicted).filter(|(t, p)| t == p).count(),
            truth.len(),
        ),
        per_class,
    }
}

impl Report {
    /// The table as CSV: one row per class, then the macro average and top-1.
    pub fn to_csv(&self, classes: &[String]) -> String {
        let mut s = String::from("class,precision,recall,f1,support\n");
        for (name, c) in classes.iter().zip(&self.per_class) {
            s.push_str(&format!(
                "{name},{:.4},{:.4},{:.4},{}\n",
                c.precision, c.recall, c.f1, c.support
            ));
        }
        let n: usize = self.per_class.iter().map(|c| c.support).sum();
        s.push_str(&format!(
            "macro avg,{:.4},{:.4},{:.4},{n}\ntop-1 accuracy,,,{:.4},{n}\n",
            self.macro_precision, self.macro_recall, self.macro_f1, self.top1
        ));
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// scikit-learn 1.9.1 `precision_recall_fscore_support(t, p, labels=[0,1,2,3],
    /// zero_division=0)` and `average='macro'`, `accuracy_score`.
    #[test]
    fn matches_scikit_learn() {
        let t = [0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 0, 1, 3];
        let p = [0, 0, 0, 0, 1, 2, 1, 2, 2, 2, 1, 1, 0];
        let r = report(&t, &p, 4);
        let want = [
            (0.6, 0.75, 0.666666667, 4),
            (0.75, 0.6, 0.666666667, 5),
            (0.75, 1.0, 0.857142857, 3),
            (0.0, 0.0, 0.0, 1),
        ];
        for (c, w) in r.per_class.iter().zip(want) {
            assert!(
                (c.precision - w.0).abs() < 1e-9
                    && (c.recall - w.1).abs() < 1e-9
                    && (c.f1 - w.2).abs() < 1e-8
            );
            assert_eq!(c.support, w.3);
        }
        assert!((r.macro_precision - 0.525).abs() < 1e-12);
        assert!((r.macro_recall - 0.5875).abs() < 1e-12);
        assert!((r.macro_f1 - 0.5476190476190476).abs() < 1e-12);
        assert!((r.top1 - 0.6923076923076923).abs() < 1e-12);
    }
}
