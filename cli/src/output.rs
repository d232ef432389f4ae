//! Writing results to stdout. A closed pipe (`et-suite inspect f.h5 | head`) ends the output
//! quietly instead of panicking; SIGPIPE stays ignored so it can never kill a recording.

use std::io::Write;

pub fn emit(text: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}
