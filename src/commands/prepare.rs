//! `et-suite prepare`: making stimuli. Only the InterfaceGAN boundary search is available; the
//! network pipeline (HyperStyle inversion, editing, classifier) needs the tch models that are
//! not built yet.

use std::path::PathBuf;

use anyhow::{Context, Result};
use et_models::interfacegan::{train_boundary, BoundaryOptions};
use et_models::npy;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Find the smile direction: a linear SVM on latent codes (InterfaceGAN's train_boundary).
    Boundary(BoundaryArgs),
}

#[derive(clap::Args)]
pub struct BoundaryArgs {
    /// Latent codes, N×D float32/float64 .npy (W+ codes flattened to 18·512).
    #[arg(long)]
    codes: PathBuf,
    /// Scores or labels, N×1 (or N) .npy; high = the attribute (1 = smile).
    #[arg(long)]
    scores: PathBuf,
    /// Where the unit normal goes: 1×D float32 .npy (never overwritten).
    #[arg(long)]
    out: PathBuf,
    /// Share (≤ 1) or number (> 1) of samples taken from each end of the score order.
    #[arg(long, default_value_t = 0.02)]
    ratio: f64,
    /// Share of each end used for training; the rest validates.
    #[arg(long, default_value_t = 0.7)]
    split: f64,
    /// Seed of the shuffles before the split.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Scores equal to this are left out.
    #[arg(long)]
    invalid_value: Option<f64>,
}

pub fn main(c: Command) -> Result<()> {
    match c {
        Command::Boundary(a) => boundary(a),
    }
}

fn boundary(a: BoundaryArgs) -> Result<()> {
    if a.out.exists() {
        anyhow::bail!(
            "{}: already exists; choose another output file",
            a.out.display()
        );
    }
    let codes = npy::read(&a.codes)?;
    let scores = npy::read(&a.scores)?;
    let opt = BoundaryOptions {
        ratio: a.ratio,
        split: a.split,
        seed: a.seed,
        invalid_value: a.invalid_value,
        ..BoundaryOptions::default()
    };
    let b = train_boundary(&codes, &scores, &opt).with_context(|| {
        format!(
            "{} with {}: cannot find a boundary",
            a.codes.display(),
            a.scores.display()
        )
    })?;
    npy::write_f32(&a.out, 1, b.normal.len(), &b.normal)?;
    let pct = |v: Option<f64>| v.map_or("-".into(), |v| format!("{:.4}", v));
    crate::output::emit(&format!(
        "{}: unit normal of {} values; {} samples per side ({} train, {} validation); \
         accuracy train {:.4}, validation {}, remaining {}; {} support vectors, {} SMO iterations\n",
        a.out.display(),
        b.normal.len(),
        b.chosen,
        b.train_per_side,
        b.val_per_side,
        b.train_accuracy,
        pct(b.val_accuracy),
        pct(b.remaining_accuracy),
        b.svm.support_vectors,
        b.svm.iterations
    ))?;
    Ok(())
}
