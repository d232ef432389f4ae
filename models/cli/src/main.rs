//! `et-suite-prepare`: the stimulus networks and InterfaceGAN behind `et-suite prepare
//! --config`, `prepare classifier` and `prepare boundary` (libtorch is linked into this binary
//! only). `et-suite` runs it with the arguments that followed `prepare`.

use std::process::ExitCode;

use et_cli::prepare as prepare_cli;
use et_cli::{logging, output, progress};

use anyhow::{Context, Result};
use clap::Parser;
use et_models::interfacegan::{train_boundary, BoundaryOptions};
use et_models::npy;
use et_models::prepare::{PrepareConfig, Stage};
use prepare_cli::{BoundaryArgs, ClassifierArgs, Command};

/// The stimulus networks of et-suite (run as `et-suite prepare …`).
#[derive(Parser)]
#[command(name = "et-suite prepare", version)]
struct Cli {
    #[command(flatten)]
    args: prepare_cli::Args,
}

fn main() -> ExitCode {
    logging::init();
    let a = Cli::parse().args;
    let result = match (a.command, a.config) {
        (Some(Command::Classifier(c)), _) => classifier(c),
        (Some(Command::Boundary(b)), _) => boundary(b),
        (None, Some(config)) => pipeline(&config, &a.device),
        _ => Err(anyhow::anyhow!(
            "et-suite-prepare runs `prepare --config`, `prepare classifier` and `prepare boundary`; use et-suite for the others"
        )),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn pipeline(config: &std::path::Path, device: &str) -> Result<()> {
    let cfg = PrepareConfig::load(config)?;
    let choice: et_models::device::DeviceChoice = device.parse()?;
    let device = choice.resolve()?;
    tracing::info!(?device, "prepare");
    let bars: std::cell::RefCell<Option<(Stage, indicatif::ProgressBar)>> = Default::default();
    let progress = |stage: Stage, done: usize, total: usize| {
        let mut b = bars.borrow_mut();
        if b.as_ref().map(|(s, _)| *s) != Some(stage) {
            if let Some((_, old)) = b.take() {
                old.finish();
            }
            let what = match stage {
                Stage::Invert => "inverting",
                Stage::Edit => "editing",
                Stage::Classify => "classifying",
            };
            *b = Some((stage, progress::bar(total as u64, what)));
        }
        if let Some((_, bar)) = b.as_ref() {
            bar.set_position(done as u64);
        }
    };
    let out = et_models::prepare::run(&cfg, device, &progress)
        .with_context(|| format!("{}: prepare failed", config.display()))?;
    if let Some((_, bar)) = bars.borrow_mut().take() {
        bar.finish();
    }
    let manifest = et_models::prepare::write_manifest(&cfg, &out.images)?;
    let mut report = format!(
        "{}: {} images of {} faces ({} codes computed, {} from the cache)\n",
        manifest.display(),
        out.images.len(),
        out.images.len() / 2,
        out.inverted,
        out.cached
    );
    for b in &out.boundaries {
        report.push_str(&format!(
            "  {}: smile direction from {} images ({} smiling), accuracy train {:.3}, validation {}\n",
            b.condition,
            b.images,
            b.smiling,
            b.train_accuracy,
            b.val_accuracy.map_or("-".into(), |v| format!("{v:.3}"))
        ));
    }
    if let Some(scores) = et_models::prepare::true_condition_scores(&cfg, &out)? {
        let faces: Vec<et_analysis::classifier::VersionScore> = scores
            .into_iter()
            .map(|s| et_analysis::classifier::VersionScore {
                condition: s.condition,
                identity: s.identity,
                manipulated: s.manipulated,
                gt_probability: s.probability,
            })
            .collect();
        let (path, table) = et_analysis::classifier::write_table3(&cfg.out, &faces)?;
        report.push_str(&format!("  Table 3 ({}):\n", path.display()));
        for l in table.lines() {
            report.push_str(&format!("    {}\n", l.replace(',', "\t")));
        }
    }
    output::emit(&report)?;
    Ok(())
}

fn classifier(a: ClassifierArgs) -> Result<()> {
    use et_models::classifier::cv::{run, CvInput};
    use et_models::classifier::train::TrainOptions;
    use et_models::prepare::config::STUDY_CLASSES;
    let device = a
        .device
        .parse::<et_models::device::DeviceChoice>()?
        .resolve()?;
    let classes = a
        .classes
        .unwrap_or_else(|| STUDY_CLASSES.iter().map(|s| s.to_string()).collect());
    let input = CvInput {
        images: a.images,
        faces: a.faces,
        labels: a.labels,
        out: a.out.clone(),
        classes: classes.clone(),
        trunk: a.trunk,
        folds: a.folds,
        train: TrainOptions {
            epochs: a.epochs,
            batch: a.batch,
            lr: a.lr,
            seed: a.seed,
            ..TrainOptions::default()
        },
    };
    let bar = progress::bar((a.folds * a.epochs) as u64, "training");
    let out = run(&input, device, &|fold, epoch, epochs| {
        bar.set_position((fold * epochs + epoch) as u64)
    })
    .with_context(|| format!("{}: classifier training failed", a.out.display()))?;
    bar.finish();
    let r = &out.report;
    output::emit(&format!(
        "{}: {} images, {} folds (best epochs {:?}); out-of-fold top-1 {:.4}, macro precision {:.4}, recall {:.4}, F1 {:.4}\n",
        a.out.join("table1.csv").display(),
        out.n_images,
        a.folds,
        out.best_epochs.iter().map(|e| e + 1).collect::<Vec<_>>(),
        r.top1,
        r.macro_precision,
        r.macro_recall,
        r.macro_f1
    ))?;
    Ok(())
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
    output::emit(&format!(
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
