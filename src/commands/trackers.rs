use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::Result;
use et_cli::exit::{self, ExitWith};
use et_drivers::tobii::{discover, TobiiLibrary};

#[derive(clap::Args)]
pub struct Args {
    /// The Tobii Pro SDK library (else ET_TOBII_LIB, then the usual install locations).
    #[arg(long)]
    tobii_lib: Option<PathBuf>,
}

pub fn main(a: Args) -> Result<()> {
    let lib = TobiiLibrary::find(a.tobii_lib.as_deref())
        .map_err(|e| ExitWith::new(exit::LIBRARY_NOT_LOADABLE, format!("error: {e}")))?;
    let found = discover(lib)?;
    let mut o = String::new();
    writeln!(
        o,
        "Tobii Pro SDK {} ({})",
        lib.version_string(),
        lib.path.display()
    )?;
    if found.is_empty() {
        crate::output::emit(&o)?;
        let why = format!("no eye trackers found ({})", lib.no_tracker_hint());
        return Err(ExitWith::new(exit::NO_TRACKER, why).into());
    }
    for d in &found {
        let freqs: Vec<String> = d.frequencies.iter().map(|f| format!("{f}")).collect();
        writeln!(o, "{}\n  model      {}\n  serial     {}\n  name       {}\n  firmware   {}\n  frequency  {} Hz (offers {} Hz)", d.address, d.model, d.serial, d.name, d.firmware, d.frequency, freqs.join(", "))?;
    }
    crate::output::emit(&o)
}
