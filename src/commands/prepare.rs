//! `et-suite prepare`: making stimuli. The classifier's Table 2 and Figure 3
//! (`prepare classifier-tables`) run here; everything of `et-models` (`prepare --config`,
//! `prepare classifier`, `prepare boundary`) runs in the companion binary `et-suite-prepare`,
//! so `et-suite` itself never links libtorch.

use anyhow::{Context, Result};

pub use crate::prepare_cli::{Args, Command, TablesArgs};

pub fn main(a: Args) -> Result<()> {
    match a.command {
        Some(Command::ClassifierTables(t)) => classifier_tables(t),
        Some(_) => delegate(),
        None if a.config.is_some() => delegate(),
        None => anyhow::bail!(
            "prepare: give --config prepare.toml (the stimulus pipeline) or a subcommand (boundary, classifier, classifier-tables)"
        ),
    }
}

/// The networks run in `et-suite-prepare` beside this binary, so that recording and analysis
/// never load libtorch (500 MB, and a start-up cost on every command). Its exit status is ours;
/// it has reported its own errors.
fn delegate() -> Result<()> {
    let exe = std::env::current_exe().context("cannot find this program's path")?;
    let companion = exe.with_file_name("et-suite-prepare");
    if !companion.is_file() {
        anyhow::bail!(
            "{}: not found; the stimulus networks live in et-suite-prepare (models/cli), built beside et-suite by `./scripts/setup_libtorch.sh && cargo build --workspace --bins`",
            companion.display()
        );
    }
    let args: Vec<std::ffi::OsString> = std::env::args_os()
        .skip_while(|a| a != "prepare")
        .skip(1)
        .collect();
    let status =
        et_recording::cloexec::inherit_only_stdio(&mut std::process::Command::new(&companion))
            .args(&args)
            .status()
            .with_context(|| format!("{}: cannot start", companion.display()))?;
    std::process::exit(status.code().unwrap_or(1));
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
        let png = a.out.join("figure3.png");
        et_analysis::figures::write_figure3(&bins, &a.out)?;
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
