use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use et_drivers::replay::ReplaySpeed;
use et_sessions::StudyConfig;

use crate::progress;
use et_sessions::launch::{launch, Prepared, SessionRequest, TrackerChoice};

use crate::setup::announce_generation;

#[derive(clap::Args)]
pub struct Args {
    /// Output folder (stimuli/, recordings/, analysis/).
    #[arg(long, default_value = "et-demo")]
    out: PathBuf,
    /// Number of simulated participants (alternating counterbalance versions A/B).
    #[arg(long, default_value_t = 10)]
    participants: u32,
    /// Seed of the whole simulation.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Replace recordings an earlier demo left in the output folder.
    #[arg(long)]
    force: bool,
    /// A stimulus set's manifest (e.g. from `prepare --config`) instead of the default faces.
    #[arg(long)]
    stimuli: Option<PathBuf>,
}

pub fn main(a: Args) -> Result<()> {
    if a.participants == 0 || a.participants > 999 {
        bail!(
            "--participants must be between 1 and 999, got {}",
            a.participants
        );
    }
    let manifest = match &a.stimuli {
        Some(m) => m.clone(),
        None => et_stimuli::default_set::ensure(&a.out.join("stimuli"), announce_generation)?,
    };
    let rec_dir = a.out.join("recordings");
    let mut base = StudyConfig {
        stimulus_set: Some(manifest.clone()),
        ..StudyConfig::default()
    };
    // Each demo seed draws its own participants' and faces' effects.
    base.attention.seed = a.seed;
    let people: Vec<StudyConfig> = (0..a.participants)
        .map(|i| base.simulated_participant(a.seed, i))
        .collect();
    let ids: Vec<String> = people.iter().map(|c| c.participant.clone()).collect();
    let paths: Vec<PathBuf> = ids
        .iter()
        .map(|id| rec_dir.join(format!("{id}.h5")))
        .collect();
    let earlier: Vec<&PathBuf> = paths.iter().filter(|p| p.exists()).collect();
    if let (Some(p), false) = (earlier.first(), a.force) {
        bail!("{}: exists from an earlier demo; pass --force to replace the demo's recordings, or choose another --out", p.display());
    }
    let prepared = Prepared::load(&base, &a.out.join("stimuli"), announce_generation)?;
    // Only now, with the stimuli loaded, is anything on disk changed: a demo that cannot start
    // leaves no empty folder and removes no earlier recording.
    std::fs::create_dir_all(&rec_dir)
        .with_context(|| format!("{}: cannot create", rec_dir.display()))?;
    for p in earlier {
        std::fs::remove_file(p).with_context(|| format!("{}: cannot remove", p.display()))?;
    }
    let operator = Arc::new(et_sessions::session::Operator::default());
    let _signals = crate::setup::abort_on_signals(&operator)?;
    crate::setup::terminal_keys(&operator);
    let pb = progress::bar(u64::from(a.participants), "participants");
    for (person, path) in people.into_iter().zip(&paths) {
        let mut p = prepared.clone();
        p.cfg = person;
        let outcome = launch(SessionRequest {
            prepared: &p,
            tracker: &TrackerChoice::Synthetic,
            speed: ReplaySpeed::Max,
            out: path,
            tobii_lib: None,
            window: None,
            operator: Arc::clone(&operator),
            on_trial: &|_| {},
            prompt: &|p: &str| pb.suspend(|| eprintln!("▶ {p}")),
            lsl: Default::default(),
        })?
        .outcome;
        if !outcome.complete {
            bail!("{}: the simulated session did not complete", path.display());
        }
        pb.inc(1);
    }
    pb.finish_and_clear();

    let out_dir = a.out.join("analysis");
    let analysis = crate::commands::analyze::analyze(
        &paths,
        &out_dir,
        &et_analysis::AnalysisConfig::default(),
        Some(&manifest),
        None,
        a.force,
        &[],
    )?;
    let truth = base
        .attention
        .write_ground_truth(&ids, &prepared.set, &out_dir)?;
    crate::output::emit(&analysis.render())?;
    crate::output::emit(&format!(
        "\nPlanted: mouth gets {:.1}% of face-visit time when smiling, {:.1}% when not (averaged over the drawn participants and faces; effects in ground_truth_effects.csv).\n",
        100.0 * truth.smile_mouth_share,
        100.0 * truth.no_smile_mouth_share
    ))?;
    crate::output::emit(&format!(
        "Recordings: {}\nTables: {}\n",
        rec_dir.display(),
        out_dir.display()
    ))?;
    Ok(())
}
