//! The arguments of `et-suite prepare`, shared by `et-suite` (boundary search, classifier
//! tables) and its companion `et-suite-prepare` (the networks: the stimulus pipeline and
//! classifier training), so both parse and document them the same way. Each binary reads the
//! arguments of its own commands only.

use std::path::PathBuf;

#[derive(clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct Args {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// The pipeline's config (images, labels, weights, output folder).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// auto (a GPU when there is one), cpu, or cuda:N.
    #[arg(long, default_value = "auto")]
    pub device: String,
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
    pub predictions: PathBuf,
    /// image_name, smile (1/0): the manual smile labels.
    #[arg(long)]
    pub smile: PathBuf,
    /// Folder of OpenFace per-image CSVs (<image stem>.csv with AU06_r, AU12_r), for Figure 3.
    #[arg(long)]
    pub openface: Option<PathBuf>,
    /// Output folder.
    #[arg(long)]
    pub out: PathBuf,
}

#[derive(clap::Args)]
pub struct ClassifierArgs {
    /// Folder of face photos.
    #[arg(long)]
    pub images: PathBuf,
    /// Landmarks CSV (InsightFace's facedet.csv: image_name, x1,y1 … x5,y5).
    #[arg(long)]
    pub faces: PathBuf,
    /// image_name, label (class name) and optionally group (related images).
    #[arg(long)]
    pub labels: PathBuf,
    /// Output folder (fold models, out-of-fold predictions, table1.csv).
    #[arg(long)]
    pub out: PathBuf,
    /// Class names in the head's order, comma-separated (default: the study's 12).
    #[arg(long, value_delimiter = ',')]
    pub classes: Option<Vec<String>>,
    /// VGGFace2 ResNet-50 weights to start from (models/scripts/convert_vggface2.py).
    #[arg(long)]
    pub trunk: Option<PathBuf>,
    #[arg(long, default_value_t = 5)]
    pub folds: usize,
    #[arg(long, default_value_t = 35)]
    pub epochs: usize,
    #[arg(long, default_value_t = 32)]
    pub batch: usize,
    #[arg(long, default_value_t = 1e-3)]
    pub lr: f64,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// auto, cpu or cuda:N.
    #[arg(long, default_value = "auto")]
    pub device: String,
}

#[derive(clap::Args)]
pub struct BoundaryArgs {
    /// Latent codes, N×D float32/float64 .npy (W+ codes flattened to 18·512).
    #[arg(long)]
    pub codes: PathBuf,
    /// Scores or labels, N×1 (or N) .npy; high = the attribute (1 = smile).
    #[arg(long)]
    pub scores: PathBuf,
    /// Where the unit normal goes: 1×D float32 .npy (never overwritten).
    #[arg(long)]
    pub out: PathBuf,
    /// Share (≤ 1) or number (> 1) of samples taken from each end of the score order.
    #[arg(long, default_value_t = 0.02)]
    pub ratio: f64,
    /// Share of each end used for training; the rest validates.
    #[arg(long, default_value_t = 0.7)]
    pub split: f64,
    /// Seed of the shuffles before the split.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Scores equal to this are left out.
    #[arg(long)]
    pub invalid_value: Option<f64>,
}
