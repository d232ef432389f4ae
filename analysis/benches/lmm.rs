//! The mixed model's speed and its calibration.
//!
//! `cargo bench -p et-analysis --bench lmm` prints:
//! 1. the time to fit `y ~ smile + (1 | participant) + (1 | identity)` (REML, with
//!    Satterthwaite's df, and with Kenward–Roger's as `analyze` does by default) to 200
//!    participants × 64 trials, median of 7 fits (target ≤ 50 ms);
//! 2. over 100 seeded simulations of the study's size (10 participants × 32 identities × both
//!    expressions, participants differing in their smile effect and identities in salience),
//!    how often the model's 95 % CI covers the planted effect, and with no effect planted how
//!    often p < 0.05 for the mixed model and for the pooled Welch test (trials as
//!    independent).

use std::time::Instant;

use et_analysis::mixed::{fit, fit_with, Ddf, Factor, Inference, MixedModel, RandomTerm};
use et_analysis::welch_t_test;
use nalgebra::DMatrix;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};
use statrs::distribution::{ContinuousCDF, StudentsT};

struct Sim {
    participants: usize,
    identities: usize,
    effect: f64,
    sd_participant: f64,
    sd_slope: f64,
    sd_identity: f64,
    sd_residual: f64,
}

/// One data set: (response, smile, participant label, identity label) rows.
fn simulate(s: &Sim, seed: u64) -> (Vec<f64>, Vec<f64>, Vec<String>, Vec<String>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let n01 = Normal::new(0.0, 1.0).unwrap();
    let a: Vec<f64> = (0..s.participants)
        .map(|_| s.sd_participant * n01.sample(&mut rng))
        .collect();
    let b: Vec<f64> = (0..s.participants)
        .map(|_| s.sd_slope * n01.sample(&mut rng))
        .collect();
    let c: Vec<f64> = (0..s.identities)
        .map(|_| s.sd_identity * n01.sample(&mut rng))
        .collect();
    let (mut y, mut x, mut p, mut i) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (pi, (ap, bp)) in a.iter().zip(&b).enumerate() {
        for (ii, ci) in c.iter().enumerate() {
            for smile in [0.0, 1.0] {
                y.push(
                    1500.0
                        + ap
                        + ci
                        + smile * (s.effect + bp)
                        + s.sd_residual * n01.sample(&mut rng),
                );
                x.push(smile);
                p.push(format!("P{pi}"));
                i.push(format!("I{ii}"));
            }
        }
    }
    (y, x, p, i)
}

fn model(y: Vec<f64>, x: &[f64], p: &[String], i: &[String]) -> MixedModel {
    let n = y.len();
    let pl: Vec<&str> = p.iter().map(String::as_str).collect();
    let il: Vec<&str> = i.iter().map(String::as_str).collect();
    MixedModel {
        y,
        x: DMatrix::from_fn(n, 2, |r, c| if c == 0 { 1.0 } else { x[r] }),
        x_names: vec!["(Intercept)".into(), "smile".into()],
        terms: vec![
            RandomTerm {
                factor: Factor::from_labels("participant", &pl),
                intercept: true,
                slope: None,
            },
            RandomTerm {
                factor: Factor::from_labels("identity", &il),
                intercept: true,
                slope: None,
            },
        ],
    }
}

fn main() {
    let big = Sim {
        participants: 200,
        identities: 32,
        effect: 80.0,
        sd_participant: 150.0,
        sd_slope: 0.0,
        sd_identity: 100.0,
        sd_residual: 300.0,
    };
    let (y, x, p, i) = simulate(&big, 7);
    let m = model(y, &x, &p, &i);
    for ddf in [Ddf::Satterthwaite, Ddf::KenwardRoger] {
        let mut times = Vec::new();
        for _ in 0..7 {
            let t = Instant::now();
            let f = fit_with(&m, true, ddf, Inference::Always).expect("the benchmark model fits");
            times.push(t.elapsed().as_secs_f64() * 1e3);
            assert!(f.ddf == ddf && f.coefficients[1].df.is_finite());
        }
        times.sort_by(f64::total_cmp);
        println!(
            "fit 200 participants x 64 trials (12 800 rows, REML + {}): median {:.1} ms (min {:.1}, max {:.1})",
            ddf.as_str(),
            times[3],
            times[0],
            times[6]
        );
    }

    let study = |effect: f64| Sim {
        participants: 10,
        identities: 32,
        effect,
        sd_participant: 200.0,
        sd_slope: 120.0,
        sd_identity: 120.0,
        sd_residual: 900.0,
    };
    for (label, s) in [
        ("planted effect 300 ms", study(300.0)),
        ("no effect", study(0.0)),
    ] {
        let (mut covered, mut lmm_sig, mut welch_sig, mut fitted) = (0, 0, 0, 0);
        for seed in 0..100u64 {
            let (y, x, p, i) = simulate(&s, 1000 + seed);
            let smile: Vec<f64> = y
                .iter()
                .zip(&x)
                .filter(|(_, s)| **s == 1.0)
                .map(|(v, _)| *v)
                .collect();
            let none: Vec<f64> = y
                .iter()
                .zip(&x)
                .filter(|(_, s)| **s == 0.0)
                .map(|(v, _)| *v)
                .collect();
            if welch_t_test(&smile, &none).is_some_and(|t| t.p < 0.05) {
                welch_sig += 1;
            }
            // The model with the by-participant slope the data were drawn with.
            let mut m = model(y, &x, &p, &i);
            m.terms[0].slope = Some(("smile".into(), x.clone()));
            let Ok(f) = fit(&m, true) else { continue };
            fitted += 1;
            let c = &f.coefficients[1];
            let q = StudentsT::new(0.0, 1.0, c.df).unwrap().inverse_cdf(0.975);
            if (c.estimate - s.effect).abs() <= q * c.se {
                covered += 1;
            }
            if c.p < 0.05 {
                lmm_sig += 1;
            }
        }
        println!(
            "{label}: {fitted}/100 fitted; 95 % CI covers the truth in {covered}/{fitted}; p < 0.05: mixed model {lmm_sig}/{fitted}, pooled Welch {welch_sig}/100"
        );
    }
}
