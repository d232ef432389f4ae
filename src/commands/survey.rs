use std::path::PathBuf;

use anyhow::{bail, Result};
use et_analysis::survey::{analyse_survey, Export, SurveyConfig, SurveyMap};

#[derive(clap::Subcommand)]
pub enum Command {
    /// Write the survey map (questions → stimuli) from a stimulus set's counterbalancing.
    Map {
        /// The stimulus set's manifest.
        #[arg(long)]
        stimuli: PathBuf,
        /// Map file to write (TOML).
        #[arg(long)]
        out: PathBuf,
    },
    /// Turn Qualtrics exports into Table 4, per-version results and confusion matrices.
    Analyze {
        /// Qualtrics CSV exports as VERSION=FILE (or FILE: versions in the map's order).
        #[arg(required = true)]
        exports: Vec<String>,
        #[arg(long)]
        map: PathBuf,
        #[arg(long)]
        out: PathBuf,
        /// Survey config (TOML): completion = "finished_and_all_answered" | "finished" | "all",
        /// test = "two_proportion" | "paired_wilcoxon".
        #[arg(long)]
        config: Option<PathBuf>,
    },
}

pub fn main(c: Command) -> Result<()> {
    match c {
        Command::Map { stimuli, out } => {
            let set = et_stimuli::StimulusSet::load(&stimuli)?;
            let map = SurveyMap::from_stimuli(&set)?;
            if out.exists() {
                bail!("{}: already exists; choose another --out", out.display());
            }
            std::fs::write(&out, map.to_toml())
                .map_err(|e| anyhow::anyhow!("{}: cannot write: {e}", out.display()))?;
            crate::output::emit(&format!(
                "{}: {} questions in versions {}\n",
                out.display(),
                map.questions.len(),
                map.versions().join(", ")
            ))
        }
        Command::Analyze {
            exports,
            map,
            out,
            config,
        } => {
            let map = SurveyMap::load(&map)?;
            let cfg = match config {
                Some(p) => SurveyConfig::load(&p)?,
                None => SurveyConfig::default(),
            };
            let versions = map.versions();
            let mut loaded = Vec::new();
            for (i, arg) in exports.iter().enumerate() {
                let (version, path) = match arg.split_once('=') {
                    Some((v, p)) => (v.to_string(), PathBuf::from(p)),
                    None => match versions.get(i) {
                        Some(v) => (v.clone(), PathBuf::from(arg)),
                        None => bail!(
                            "{arg}: more exports than survey versions in the map ({})",
                            versions.join(", ")
                        ),
                    },
                };
                loaded.push((version, path.display().to_string(), Export::load(&path)?));
            }
            let results = analyse_survey(&loaded, &map, &cfg)?;
            results.write(&out)?;
            results.write_parquet(&out)?;
            crate::output::emit(&results.render())?;
            crate::output::emit(&format!(
                "Tables, figure4.png and survey_report.html: {}\n",
                out.display()
            ))
        }
    }
}
