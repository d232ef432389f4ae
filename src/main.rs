//! et-suite: the command line. Parses arguments, loads configs, wires crates together and
//! reports errors in one line; the work itself lives in the crates.

mod commands;
mod setup;

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use et_cli::prepare as prepare_cli;
use et_cli::{logging, output, progress};

#[derive(Parser)]
#[command(
    name = "et-suite",
    version,
    about = "Eye-tracking acquisition and analysis suite"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Simulate a whole study with the default stimuli and analyse it.
    Demo(commands::demo::Args),
    /// Run one participant's session.
    Run(commands::run::Args),
    /// Analyse recordings: fixations, AOI metrics, the smile vs no-smile comparison, report.
    Analyze(commands::analyze::Args),
    /// Export a recording's samples as a Parquet or CSV table.
    ExportSamples(commands::export_samples::Args),
    /// Export recordings as a BIDS eye-tracking dataset.
    ExportBids(commands::export_bids::Args),
    /// Import gaze exported by other tools (CSV, Tobii Pro Lab, Tobii Studio) as a recording.
    Import(commands::import::Args),
    /// Replay a recording into a new one (no hardware).
    Replay(commands::replay::Args),
    /// Show what a recording holds.
    Inspect(commands::inspect::Args),
    /// Make the file of a killed recording readable.
    Recover(commands::recover::Args),
    /// Clinician surveys (Qualtrics exports): the survey map and the results.
    #[command(subcommand)]
    Survey(commands::survey::Command),
    /// Stimulus preparation: HyperStyle inversion, smile editing, classifier scores
    /// (--config), or the InterfaceGAN boundary search alone (boundary).
    Prepare(commands::prepare::Args),
    /// Check the participant's display: frame intervals, refresh rate, missed refreshes, vsync.
    DisplayCheck(commands::display_check::Args),
    /// List the Tobii eye trackers the SDK finds.
    Trackers(commands::trackers::Args),
}

fn main() -> ExitCode {
    logging::init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Demo(a) => commands::demo::main(a),
        Command::Run(a) => commands::run::main(a),
        Command::Prepare(a) => commands::prepare::main(a),
        Command::Analyze(a) => commands::analyze::main(a),
        Command::ExportBids(a) => commands::export_bids::main(a),
        Command::ExportSamples(a) => commands::export_samples::main(a),
        Command::Import(a) => commands::import::main(a),
        Command::Replay(a) => commands::replay::main(a),
        Command::Inspect(a) => commands::inspect::main(a),
        Command::Recover(a) => commands::recover::main(a),
        Command::Trackers(a) => commands::trackers::main(a),
        Command::DisplayCheck(a) => commands::display_check::main(a),
        Command::Survey(c) => commands::survey::main(c),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => match e.downcast_ref::<et_cli::exit::ExitWith>() {
            Some(x) => {
                eprintln!("{}", x.message);
                ExitCode::from(x.status)
            }
            None => {
                eprintln!("error: {}", one_line(&e));
                ExitCode::from(et_cli::exit::ERROR)
            }
        },
    }
}

/// The error and its causes on one line, each cause once: library errors often name their
/// source in their own message, and the chain would repeat it. A full disk is said in those
/// words whichever command met it, so the operator knows what to fix.
fn one_line(e: &anyhow::Error) -> String {
    let disk_full = e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::StorageFull)
    });
    let mut msg = e.to_string();
    if disk_full && !msg.contains("disk full") {
        msg.insert_str(0, "disk full: ");
    }
    for cause in e.chain().skip(1) {
        let c = cause.to_string();
        if !msg.contains(&c) {
            msg.push_str(": ");
            msg.push_str(&c);
        }
    }
    msg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_disk_is_named_whatever_the_command() {
        let io = std::io::Error::from(std::io::ErrorKind::StorageFull);
        let e = anyhow::Error::new(io).context("out/heatmaps/x.npy: cannot write");
        assert!(
            one_line(&e).starts_with("disk full: out/heatmaps/x.npy: cannot write: "),
            "{}",
            one_line(&e)
        );
        let other = anyhow::anyhow!("x.h5: no such file");
        assert_eq!(one_line(&other), "x.h5: no such file");
    }
}
