//! `et-suite prepare`: making stimuli. `--config prepare.toml` runs the study's pipeline
//! (HyperStyle inversion, a smile direction per condition, reconstructed and manipulated faces,
//! the classifier's Table 3) and writes a stimulus set `run` and `demo` accept;
//! `prepare boundary` is the InterfaceGAN boundary search on its own.

use std::path::PathBuf;

use anyhow::{Context, Result};
use et_models::interfacegan::{train_boundary, BoundaryOptions};
use et_models::npy;
use et_models::prepare::{PrepareConfig, Stage};

#[derive(clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct Args {
    #[command(subcommand)]
    command: Option<Command>,
    /// The pipeline's config (images, labels, weights, output folder).
    #[arg(long)]
    config: Option<PathBuf>,
    /// auto (a GPU when there is one), cpu, or cuda:N.
    #[arg(long, default_value = "auto")]
    device: String,
}

#[derive(clap::Subcommand)]
pub enum Command {
    /// Find the smile direction: a linear SVM on latent codes (InterfaceGAN's train_boundary).
    Boundary(BoundaryArgs),
    /// Train the syndrome classifier with stratified grouped cross-validation: one model per
    /// fold, out-of-fold predictions, Table 1.
    Classifier(ClassifierArgs),
    /// The paper's Table 2 (by smile label) and Figure 3 (top-1 by AU6 + AU12) from the
    /// out-of-fold predictions.
    ClassifierTables(TablesArgs),
}

#[derive(clap::Args)]
pub struct TablesArgs {
    /// out_of_fold.csv from `prepare classifier`.
    #[arg(long)]
    predictions: PathBuf,
    /// image_name, smile (1/0): the manual smile labels.
    #[arg(long)]
    smile: PathBuf,
    /// Folder of OpenFace per-image CSVs (<image stem>.csv with AU06_r, AU12_r), for Figure 3.
    #[arg(long)]
    openface: Option<PathBuf>,
    /// Output folder.
    #[arg(long)]
    out: PathBuf,
}

#[derive(clap::Args)]
pub struct ClassifierArgs {
    /// Folder of face photos.
    #[arg(long)]
    images: PathBuf,
    /// Landmarks CSV (InsightFace's facedet.csv: image_name, x1,y1 … x5,y5).
    #[arg(long)]
    faces: PathBuf,
    /// image_name, label (class name) and optionally group (related images).
    #[arg(long)]
    labels: PathBuf,
    /// Output folder (fold models, out-of-fold predictions, table1.csv).
    #[arg(long)]
    out: PathBuf,
    /// Class names in the head's order, comma-separated (default: the study's 12).
    #[arg(long, value_delimiter = ',')]
    classes: Option<Vec<String>>,
    /// VGGFace2 ResNet-50 weights to start from (models/scripts/convert_vggface2.py).
    #[arg(long)]
    trunk: Option<PathBuf>,
    #[arg(long, default_value_t = 5)]
    folds: usize,
    #[arg(long, default_value_t = 35)]
    epochs: usize,
    #[arg(long, default_value_t = 32)]
    batch: usize,
    #[arg(long, default_value_t = 1e-3)]
    lr: f64,
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// auto, cpu or cuda:N.
    #[arg(long, default_value = "auto")]
    device: String,
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

pub fn main(a: Args) -> Result<()> {
    match (a.command, a.config) {
        (Some(Command::Boundary(b)), _) => boundary(b),
        (Some(Command::Classifier(c)), _) => classifier(c),
        (Some(Command::ClassifierTables(t)), _) => classifier_tables(t),
        (None, Some(config)) => pipeline(&config, &a.device),
        (None, None) => anyhow::bail!(
            "prepare: give --config prepare.toml (the stimulus pipeline) or the boundary subcommand"
        ),
    }
}

fn pipeline(config: &std::path::Path, device: &str) -> Result<()> {
    let cfg = PrepareConfig::load(config)?;
    let manifest = cfg.out.join("manifest.toml");
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
            *b = Some((stage, crate::progress::bar(total as u64, what)));
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
    let set = et_models::prepare::stimulus_set(&cfg, &out.images);
    // Checked as `run` will read it before it is written.
    et_stimuli::StimulusSet::from_toml_str(&set.to_toml(), &manifest.display().to_string())?;
    std::fs::write(&manifest, set.to_toml())
        .with_context(|| format!("{}: cannot write", manifest.display()))?;
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
    if let (Some(probs), Some(c)) = (&out.probabilities, &cfg.classifier) {
        let faces: Vec<et_analysis::classifier::VersionScore> = out
            .images
            .iter()
            .zip(probs)
            .map(|(im, p)| {
                let class = c
                    .classes
                    .iter()
                    .position(|k| *k == im.condition)
                    .with_context(|| {
                        format!(
                            "condition {} is not one of classifier.classes ({})",
                            im.condition,
                            c.classes.join(", ")
                        )
                    })?;
                Ok(et_analysis::classifier::VersionScore {
                    condition: im.condition.clone(),
                    identity: im.identity.clone(),
                    manipulated: im.variant == et_stimuli::Variant::Manipulated,
                    gt_probability: p[class],
                })
            })
            .collect::<Result<_>>()?;
        let table = et_analysis::classifier::table3_csv(&faces);
        let path = cfg.out.join("table3.csv");
        std::fs::write(&path, &table)
            .with_context(|| format!("{}: cannot write", path.display()))?;
        report.push_str(&format!("  Table 3 ({}):\n", path.display()));
        for l in table.lines() {
            report.push_str(&format!("    {}\n", l.replace(',', "\t")));
        }
    }
    crate::output::emit(&report)?;
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
    let bar = crate::progress::bar((a.folds * a.epochs) as u64, "training");
    let out = run(&input, device, &|fold, epoch, epochs| {
        bar.set_position((fold * epochs + epoch) as u64)
    })
    .with_context(|| format!("{}: classifier training failed", a.out.display()))?;
    bar.finish();
    let r = &out.report;
    crate::output::emit(&format!(
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

fn classifier_tables(a: TablesArgs) -> Result<()> {
    use et_analysis::classifier as c;
    std::fs::create_dir_all(&a.out)
        .with_context(|| format!("{}: cannot create", a.out.display()))?;
    let scored = c::read_predictions(&a.predictions)?;
    let smile = c::read_smile(&a.smile)?;
    let unlabelled = scored
        .iter()
        .filter(|s| !smile.contains_key(&s.image))
        .count();
    let t2 = c::table2(&scored, &smile);
    let path = a.out.join("table2.csv");
    std::fs::write(&path, c::table2_csv(&t2))
        .with_context(|| format!("{}: cannot write", path.display()))?;
    let mut report = format!(
        "{}: {} images ({unlabelled} without a smile label, left out)\n",
        path.display(),
        scored.len()
    );
    if let Some(dir) = &a.openface {
        let names: Vec<String> = scored.iter().map(|s| s.image.clone()).collect();
        let au = c::read_openface(dir, &names)?;
        let bins = c::figure3(&scored, &au);
        let mut csv = String::from("au6_plus_au12,n,correct,top1\n");
        for (level, (n, k)) in &bins {
            csv.push_str(&format!(
                "{level},{n},{k},{:.4}\n",
                *k as f64 / (*n).max(1) as f64
            ));
        }
        let p = a.out.join("figure3.csv");
        std::fs::write(&p, csv).with_context(|| format!("{}: cannot write", p.display()))?;
        let font = et_stimuli::present::text::Font::find().ok();
        let png = a.out.join("figure3.png");
        et_analysis::heatmap::save_png(&c::figure3_png(&bins, font.as_ref()), &png)?;
        report.push_str(&format!(
            "{}: {} images with OpenFace intensities in {} levels\n",
            png.display(),
            au.len(),
            bins.len()
        ));
    }
    crate::output::emit(&report)?;
    Ok(())
}
