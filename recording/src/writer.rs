//! Writes a recording in SWMR mode: a live reader can follow it, and a killed process leaves a
//! file that `recover` makes readable with every flushed row in it.

use std::path::{Path, PathBuf};

use et_drivers::GazeSample;
use hdf5::types::VarLenUnicode;
use hdf5::{Dataset, File, H5Type, Location};

use crate::error::{RecordingError, Result};
use crate::format::*;

pub struct RecordingWriter {
    path: PathBuf,
    file: Option<File>,
    gaze: Dataset,
    events: Dataset,
    trials: Dataset,
    frames: Dataset,
    validation: Dataset,
    lsl_clock: Dataset,
    counts: Counts,
    /// Rows known to be in the file: counted at the last flush that succeeded. After a failed
    /// write the datasets are cut back to these, so no row claims data that never reached disk.
    durable: Counts,
    /// A write failed: nothing more is appended and the file can never be marked complete.
    failed: bool,
    /// A second descriptor of the same file, for fsync (HDF5's flush does not fsync).
    sync_fd: std::fs::File,
    /// Space held beside the recording so that it can always be closed: freed when a write
    /// fails or the file is finished (removed with the writer).
    reserve: RemoveOnDrop,
    /// The root attribute `tracker_silent_ms`, written at the end when known.
    tracker_silent_ms: Option<f64>,
}

/// Bytes held free on the recording's disk for closing it (HDF5 writes metadata at close).
const RESERVE_BYTES: usize = 1 << 20;

/// Takes `RESERVE_BYTES` of real disk space beside `path` (written, not a sparse file); a disk
/// without that much room is full before the session starts.
fn reserve_space(path: &Path) -> Result<RemoveOnDrop> {
    let reserve = own_name(path, "reserve");
    let guard = RemoveOnDrop(Some(reserve.clone()));
    let written = std::fs::File::create_new(&reserve).and_then(|mut f| {
        std::io::Write::write_all(&mut f, &vec![0u8; RESERVE_BYTES])?;
        f.sync_all()
    });
    match written {
        Ok(()) => Ok(guard),
        Err(e) if e.raw_os_error() == Some(libc::ENOSPC) => Err(RecordingError::DiskFull {
            path: path.to_path_buf(),
            what: "reserving 1 MiB to close the recording with".into(),
        }),
        // Named by the recording the user asked for, not the internal reserve file.
        Err(source) => Err(RecordingError::Io {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// Rows written so far per dataset.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub gaze: usize,
    pub events: usize,
    pub trials: usize,
    pub frames: usize,
    pub validation: usize,
    pub lsl_clock: usize,
}

fn h5err(path: &Path, what: impl Into<String>) -> impl FnOnce(hdf5::Error) -> RecordingError {
    let path = path.to_path_buf();
    let what = what.into();
    move |e| {
        let message = e.to_string();
        // HDF5 reports the failed write's errno in its message; ENOSPC is said plainly.
        if message.contains("errno = 28") || message.contains("No space left on device") {
            RecordingError::DiskFull { path, what }
        } else {
            RecordingError::Hdf5 {
                path,
                what,
                message,
            }
        }
    }
}

pub(crate) fn str_attr(loc: &Location, name: &str, value: &str) -> hdf5::Result<()> {
    let v: VarLenUnicode = value
        .parse()
        .map_err(|e| hdf5::Error::from(format!("{e}")))?;
    loc.new_attr::<VarLenUnicode>()
        .shape(())
        .create(name)?
        .write_scalar(&v)
}

fn num_attr<T: H5Type>(loc: &Location, name: &str, value: T) -> hdf5::Result<()> {
    loc.new_attr::<T>()
        .shape(())
        .create(name)?
        .write_scalar(&value)
}

fn write_header(loc: &Location, h: &RecordingHeader) -> hdf5::Result<()> {
    str_attr(loc, "format", FORMAT_NAME)?;
    num_attr(loc, "format_version", FORMAT_VERSION)?;
    str_attr(loc, "software_version", &h.software_version)?;
    str_attr(loc, "participant", &h.participant)?;
    str_attr(loc, "session", &h.session)?;
    str_attr(loc, "created_utc", &h.created_utc)?;
    str_attr(loc, "tracker_model", &h.tracker_model)?;
    str_attr(loc, "tracker_serial", &h.tracker_serial)?;
    str_attr(loc, "sdk_version", &h.sdk_version)?;
    num_attr(loc, "sampling_hz", h.sampling_hz)?;
    num_attr(loc, "screen_width_px", h.screen.width_px)?;
    num_attr(loc, "screen_height_px", h.screen.height_px)?;
    num_attr(loc, "screen_width_mm", h.screen.width_mm)?;
    num_attr(loc, "screen_height_mm", h.screen.height_mm)?;
    num_attr(loc, "viewing_distance_mm", h.screen.viewing_distance_mm)?;
    str_attr(loc, "stimulus_set", &h.stimulus_set)?;
    str_attr(loc, "stimulus_set_sha256", &h.stimulus_set_sha256)?;
    num_attr(loc, "complete", false)?;
    str_attr(loc, "counterbalance_version", &h.counterbalance_version)?;
    num_attr(loc, "trial_order_seed", h.trial_order_seed)?;
    str_attr(loc, "source_software", &h.source_software)?;
    str_attr(loc, "source_fixation_filter", &h.source_fixation_filter)?;
    str_attr(loc, "tracker_kind", &h.tracker_kind)?;
    // Written at the end; created now because SWMR forbids new attributes while writing.
    str_attr(loc, "ended_utc", "")?;
    Ok(())
}

fn dataset<T: H5Type>(file: &File, name: &str, chunk: usize) -> hdf5::Result<Dataset> {
    // Fletcher-32 on every chunk: a flipped bit in stored rows is a read error, never data.
    file.new_dataset::<T>()
        .chunk(chunk)
        .fletcher32()
        .shape(0..)
        .create(name)
}

fn append<T: H5Type>(ds: &Dataset, at: &mut usize, rows: &[T]) -> hdf5::Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let end = *at + rows.len();
    ds.resize(end)?;
    ds.write_slice(rows, *at..end)?;
    *at = end;
    Ok(())
}

/// `OUT.<pid>-<n>.<suffix>` beside `path`: unique to this process and call.
fn own_name(path: &Path, suffix: &str) -> std::path::PathBuf {
    static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let mut name = path
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(format!(".{}-{n}.{suffix}", std::process::id()));
    path.with_file_name(name)
}

/// Removes the space reserves (`OUT.<pid>-<n>.reserve`) a killed writer of `path` left beside
/// it: those whose process no longer runs. Returns how many.
pub(crate) fn remove_stale_reserves(path: &Path) -> usize {
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return 0;
    };
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let prefix = format!("{}.", name.to_string_lossy());
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let mut removed = 0;
    for e in entries.flatten() {
        let file = e.file_name().to_string_lossy().into_owned();
        let Some(tag) = file
            .strip_prefix(&prefix)
            .and_then(|t| t.strip_suffix(".reserve"))
        else {
            continue;
        };
        let Some(pid) = tag.split_once('-').and_then(|(p, _)| p.parse::<u32>().ok()) else {
            continue;
        };
        let alive = Path::new("/proc").join(pid.to_string()).exists();
        if !alive && std::fs::remove_file(e.path()).is_ok() {
            removed += 1;
        }
    }
    removed
}

/// Removes a half-made file when creation stops early.
struct RemoveOnDrop(Option<std::path::PathBuf>);

impl RemoveOnDrop {
    fn remove_now(&mut self) {
        if let Some(p) = self.0.take() {
            let _ = std::fs::remove_file(p);
        }
    }
}

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            let _ = std::fs::remove_file(p);
        }
    }
}

impl RecordingWriter {
    /// Creates `path` (never overwriting an existing file), writes the header and the stimulus
    /// manifest, and switches to SWMR. The file appears under its name only once it is valid.
    pub fn create(
        path: &Path,
        header: &RecordingHeader,
        manifest_toml: Option<&str>,
    ) -> Result<Self> {
        if path.exists() {
            return Err(RecordingError::AlreadyExists {
                path: path.to_path_buf(),
            });
        }
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| RecordingError::Io {
                path: dir.to_path_buf(),
                source,
            })?;
        }
        let reserve = reserve_space(path)?;
        // A name of this process's own: nothing another writer made is ever removed or renamed.
        let tmp = own_name(path, "creating");
        let err = |what: &str| h5err(path, what.to_string());
        let guard = RemoveOnDrop(Some(tmp.clone()));
        let file = File::with_options()
            .with_fapl(|p| p.libver_latest())
            .create_excl(&tmp)
            .map_err(err("create"))?;
        crate::cloexec::close_on_exec(&file);
        write_header(&file, header).map_err(err("write root attributes"))?;
        let g = file
            .create_group(STIMULI_GROUP)
            .map_err(err("create /stimuli"))?;
        str_attr(&g, "manifest", manifest_toml.unwrap_or(""))
            .map_err(err("write /stimuli manifest"))?;
        let aois = manifest_toml
            .and_then(|m| et_stimuli::StimulusSet::from_toml_str(m, "manifest").ok())
            .map(|s| aois_toml(&s))
            .unwrap_or_default();
        str_attr(&g, "aois", &aois).map_err(err("write /stimuli aois"))?;
        let gaze = dataset::<GazeRow>(&file, GAZE, 1024).map_err(err("create /gaze"))?;
        let events = dataset::<EventRow>(&file, EVENTS, 64).map_err(err("create /events"))?;
        let trials = dataset::<TrialRow>(&file, TRIALS, 32).map_err(err("create /trials"))?;
        let frames = dataset::<FrameRow>(&file, FRAMES, 1024).map_err(err("create /frames"))?;
        let validation =
            dataset::<ValidationRow>(&file, VALIDATION, 32).map_err(err("create /validation"))?;
        let lsl_clock =
            dataset::<LslClockRow>(&file, LSL_CLOCK, 64).map_err(err("create /lsl_clock"))?;
        file.flush().map_err(err("flush"))?;
        // Only if no file has that name: of two writers racing for one name exactly one wins,
        // and the other's half-made file is removed with its guard.
        crate::output_dir::rename_no_replace(&tmp, path)?;
        drop(guard);
        // The new name must survive a power loss too.
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            if let Ok(d) = std::fs::File::open(dir) {
                let _ = d.sync_all();
            }
        }
        file.start_swmr().map_err(err("start SWMR"))?;
        let sync_fd = std::fs::File::open(path).map_err(|source| RecordingError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let w = RecordingWriter {
            path: path.to_path_buf(),
            file: Some(file),
            gaze,
            events,
            trials,
            frames,
            validation,
            lsl_clock,
            counts: Counts::default(),
            durable: Counts::default(),
            failed: false,
            tracker_silent_ms: None,
            sync_fd,
            reserve,
        };
        Ok(w)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn counts(&self) -> Counts {
        self.counts
    }

    pub fn append_gaze(&mut self, samples: &[GazeSample]) -> Result<()> {
        let rows: Vec<GazeRow> = samples.iter().map(GazeRow::from).collect();
        self.check_not_failed()?;
        let r = append(&self.gaze, &mut self.counts.gaze, &rows);
        r.map_err(|e| self.fail(h5err(&self.path, "append /gaze")(e)))
    }

    pub fn append_events(&mut self, events: &[EventRecord]) -> Result<()> {
        let rows: Vec<EventRow> = events.iter().map(EventRecord::row).collect();
        self.check_not_failed()?;
        let r = append(&self.events, &mut self.counts.events, &rows);
        r.map_err(|e| self.fail(h5err(&self.path, "append /events")(e)))
    }

    pub fn append_trials(&mut self, trials: &[TrialRecord]) -> Result<()> {
        let rows: Vec<TrialRow> = trials.iter().map(TrialRecord::row).collect();
        self.check_not_failed()?;
        let r = append(&self.trials, &mut self.counts.trials, &rows);
        r.map_err(|e| self.fail(h5err(&self.path, "append /trials")(e)))
    }

    pub fn append_frames(&mut self, frames: &[FrameRecord]) -> Result<()> {
        let rows: Vec<FrameRow> = frames
            .iter()
            .map(|f| FrameRow {
                ts_us: f.ts_us,
                trial: f.trial,
            })
            .collect();
        self.check_not_failed()?;
        let r = append(&self.frames, &mut self.counts.frames, &rows);
        r.map_err(|e| self.fail(h5err(&self.path, "append /frames")(e)))
    }

    pub fn append_validation(&mut self, rows: &[ValidationRecord]) -> Result<()> {
        let rows: Vec<ValidationRow> = rows.iter().map(ValidationRecord::row).collect();
        self.check_not_failed()?;
        let r = append(&self.validation, &mut self.counts.validation, &rows);
        r.map_err(|e| self.fail(h5err(&self.path, "append /validation")(e)))
    }

    pub fn append_lsl_clock(&mut self, rows: &[LslClockRecord]) -> Result<()> {
        let rows: Vec<LslClockRow> = rows.iter().map(LslClockRecord::row).collect();
        self.check_not_failed()?;
        let r = append(&self.lsl_clock, &mut self.counts.lsl_clock, &rows);
        r.map_err(|e| self.fail(h5err(&self.path, "append /lsl_clock")(e)))
    }

    /// Makes everything appended so far visible to readers and to `recover` after a kill.
    pub fn flush(&mut self) -> Result<()> {
        self.check_not_failed()?;
        let r = match &self.file {
            Some(f) => f.flush(),
            None => Ok(()),
        };
        match r {
            Ok(()) => {
                self.durable = self.counts;
                Ok(())
            }
            Err(e) => Err(self.fail(h5err(&self.path, "flush")(e))),
        }
    }

    fn check_not_failed(&self) -> Result<()> {
        if self.failed {
            return Err(RecordingError::Recorder(format!(
                "{}: an earlier write failed; nothing more is written to it",
                self.path.display()
            )));
        }
        Ok(())
    }

    /// After a failed write: cut every dataset back to the rows known to be in the file and
    /// stop writing. Returns `e` for the caller to report.
    fn fail(&mut self, e: RecordingError) -> RecordingError {
        self.failed = true;
        // Room to close the file in.
        self.reserve.remove_now();
        let d = self.durable;
        for (ds, n) in [
            (&self.gaze, d.gaze),
            (&self.events, d.events),
            (&self.trials, d.trials),
            (&self.frames, d.frames),
            (&self.validation, d.validation),
            (&self.lsl_clock, d.lsl_clock),
        ] {
            let _ = ds.resize(n);
        }
        self.counts = d;
        e
    }

    /// Flushes, then asks the kernel to put the file on disk (power-loss safety).
    pub fn sync(&mut self) -> Result<()> {
        self.flush()?;
        self.sync_fd
            .sync_data()
            .map_err(|source| RecordingError::Io {
                path: self.path.clone(),
                source,
            })
    }

    /// The session's total tracker silence (ms), written as a root attribute when it ends.
    pub fn set_tracker_silent_ms(&mut self, ms: f64) {
        self.tracker_silent_ms = Some(ms);
    }

    /// Closes the file. `complete` is true only for a session that ended normally; an aborted
    /// session is closed just as cleanly but says so.
    pub fn finish(mut self, complete: bool) -> Result<Counts> {
        self.reserve.remove_now();
        // A writer whose writes failed still closes what it holds, never as complete.
        let synced = if self.failed { Ok(()) } else { self.sync() };
        let complete = complete && !self.failed && synced.is_ok();
        let counts = self.counts;
        let path = self.path.clone();
        let RecordingWriter {
            file,
            gaze,
            events,
            trials,
            frames,
            validation,
            lsl_clock,
            sync_fd,
            tracker_silent_ms,
            ..
        } = self;
        drop((gaze, events, trials, frames, validation, lsl_clock));
        if let Some(f) = file {
            f.close().map_err(h5err(&path, "close"))?;
        }
        // SWMR writing cannot add or grow attributes; set the end state in a normal open.
        let f = File::open_rw(&path).map_err(h5err(&path, "reopen to mark the end"))?;
        crate::cloexec::close_on_exec(&f);
        f.attr("complete")
            .and_then(|a| a.write_scalar(&complete))
            .map_err(h5err(&path, "write 'complete'"))?;
        let ended = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let v: VarLenUnicode = ended.parse().unwrap_or_default();
        f.attr("ended_utc")
            .and_then(|a| a.write_scalar(&v))
            .map_err(h5err(&path, "write 'ended_utc'"))?;
        if let Some(ms) = tracker_silent_ms {
            num_attr(&f, "tracker_silent_ms", ms)
                .map_err(h5err(&path, "write 'tracker_silent_ms'"))?;
        }
        f.close().map_err(h5err(&path, "close"))?;
        sync_fd.sync_all().map_err(|source| RecordingError::Io {
            path: path.clone(),
            source,
        })?;
        synced.map(|()| counts)
    }
}

/// The set's global AOIs as TOML (`[[aoi]]` tables), for the `/stimuli` `aois` attribute.
fn aois_toml(set: &et_stimuli::StimulusSet) -> String {
    #[derive(serde::Serialize)]
    struct Aois<'a> {
        aoi: &'a [et_stimuli::Aoi],
    }
    toml::to_string_pretty(&Aois { aoi: &set.aois }).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reader::Recording;

    #[test]
    fn of_two_writers_racing_for_one_name_exactly_one_wins_and_keeps_its_file() {
        for round in 0..20 {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("s.h5");
            let barrier = std::sync::Barrier::new(2);
            let results: Vec<(String, bool)> = std::thread::scope(|sc| {
                let handles: Vec<_> = ["P10", "P11"]
                    .into_iter()
                    .map(|p| {
                        let (path, barrier) = (&path, &barrier);
                        sc.spawn(move || {
                            let mut h = RecordingHeader::new(p, "1");
                            h.sampling_hz = 120.0;
                            barrier.wait();
                            let r = RecordingWriter::create(path, &h, None)
                                .and_then(|w| w.finish(true));
                            match r {
                                Ok(_) => (p.to_string(), true),
                                Err(RecordingError::AlreadyExists { .. }) => (p.to_string(), false),
                                Err(e) => panic!("round {round}: {e}"),
                            }
                        })
                    })
                    .collect();
                handles.into_iter().map(|h| h.join().unwrap()).collect()
            });
            let winners: Vec<&String> = results.iter().filter(|r| r.1).map(|r| &r.0).collect();
            assert_eq!(winners.len(), 1, "round {round}: {results:?}");
            let rec = Recording::open(&path).unwrap();
            assert_eq!(&rec.header.participant, winners[0], "round {round}");
            assert!(rec.header.complete);
            // Nothing half-made is left beside it.
            let left: Vec<_> = std::fs::read_dir(dir.path())
                .unwrap()
                .map(|e| e.unwrap().file_name())
                .collect();
            assert_eq!(left.len(), 1, "round {round}: {left:?}");
        }
    }
}
