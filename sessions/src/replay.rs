//! Replays a recording into a new one through the replay tracker: the same samples, bit for
//! bit, paced at 1×, N× or as fast as the writer takes them, with the session's events,
//! trials, frames and validation carried over.

use std::path::Path;
use std::sync::Arc;

use et_drivers::replay::{ReplaySpeed, ReplayTracker};
use et_drivers::{sample_channel, GazeSample, Tracker, TrackerInfo};

use crate::error::Result;
use crate::lsl::{LslOptions, Prepared, Source};
use crate::recorder::{spawn_session_recorder, FlushPolicy, Record, RecorderStats};
use et_recording::format::{kind, EventRecord, RecordingHeader};
use et_recording::reader::Recording;
use et_recording::writer::RecordingWriter;

/// The tracker identity a recording's header describes.
pub fn tracker_info(h: &RecordingHeader) -> TrackerInfo {
    TrackerInfo {
        model: h.tracker_model.clone(),
        serial: h.tracker_serial.clone(),
        address: "replay://".into(),
        firmware: String::new(),
        sdk_version: h.sdk_version.clone(),
        sampling_hz: h.sampling_hz,
    }
}

/// Writes `src` again to `out` through a [`ReplayTracker`] at `speed`.
pub fn replay_to_file(src: &Recording, out: &Path, speed: ReplaySpeed) -> Result<RecorderStats> {
    replay_streaming(src, out, speed, &LslOptions::default(), &|_| {})
}

/// `replay_to_file`, streaming the samples and events over LSL as `lsl` asks (`replay --lsl`:
/// a recording streamed again, for testing a set-up without a participant). `prompt` tells
/// the operator what the replay waits for.
pub fn replay_streaming(
    src: &Recording,
    out: &Path,
    speed: ReplaySpeed,
    lsl: &LslOptions,
    prompt: &dyn Fn(&str),
) -> Result<RecorderStats> {
    if lsl.markers.is_some() {
        return Err(crate::error::SessionError::Invalid(
            "--lsl-markers records an outside stream into a session: `run` takes it, `replay` does not".into(),
        ));
    }
    let mut header = src.header.clone();
    let fresh = RecordingHeader::new(&header.participant, &header.session);
    header.created_utc = fresh.created_utc;
    header.software_version = fresh.software_version;
    header.tracker_kind = "replay".into();
    let manifest = (!src.manifest.is_empty()).then_some(src.manifest.as_str());
    let samples: Arc<[GazeSample]> = src.gaze.clone().into();
    let mut tracker = ReplayTracker::new(samples, tracker_info(&header), speed);
    let streams = Prepared::new(
        lsl,
        speed,
        &Source {
            info: &tracker_info(&header),
            participant: &header.participant,
            screen: &header.screen,
            clock: tracker.clock(),
        },
        prompt,
        &|| false,
    )?;
    let writer = RecordingWriter::create(out, &header, manifest)?;
    let (tx, rx) = sample_channel(65_536);
    let rec = spawn_session_recorder(
        writer,
        rx,
        FlushPolicy::for_clock(tracker.clock().as_ref()),
        None,
        streams.as_ref().and_then(Prepared::take_outlets),
    )?;
    let first = src.gaze.first().map_or(0, |s| s.system_ts_us);
    rec.event(EventRecord::new(
        first,
        kind::NOTE,
        -1,
        format!("replay of {} at speed {speed:?}", src.path.display()),
    ))?;
    for e in &src.events {
        rec.send(Record::Event(e.clone()))?;
    }
    for f in &src.frames {
        rec.send(Record::Frame(*f))?;
    }
    for t in &src.trials {
        rec.send(Record::Trial(t.clone()))?;
    }
    for v in &src.validation {
        rec.send(Record::Validation(v.clone()))?;
    }
    let started = tracker.start(tx);
    let done = started.and_then(|()| tracker.wait_done());
    // A replay that could not finish is closed as incomplete, whatever the source said.
    let stats = rec.finish(done.is_ok() && src.header.complete)?;
    done?;
    Ok(stats)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replay_copies_every_sample_and_record() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.h5");
        let b = dir.path().join("b.h5");
        let mut h = RecordingHeader::new("P03", "2");
        h.sampling_hz = 120.0;
        let mut w = RecordingWriter::create(&a, &h, None).unwrap();
        let mut g = et_drivers::synthetic::GazeGenerator::new(Default::default());
        let scene = et_drivers::synthetic::Scene::Target { x: 0.5, y: 0.5 };
        let samples: Vec<GazeSample> = (0..5000)
            .map(|k| g.sample(1_000_000 + k * 8333, 1, &scene))
            .collect();
        w.append_gaze(&samples).unwrap();
        w.append_events(&[EventRecord::new(1_000_000, kind::NOTE, -1, "hello ✓")])
            .unwrap();
        w.finish(true).unwrap();
        let src = Recording::open(&a).unwrap();
        let stats = replay_to_file(&src, &b, ReplaySpeed::Max).unwrap();
        assert_eq!(stats.counts.gaze, 5000);
        let copy = Recording::open(&b).unwrap();
        assert!(copy.header.complete);
        assert_eq!(copy.header.participant, "P03");
        assert_eq!(copy.gaze.len(), src.gaze.len());
        assert!(copy.gaze.iter().zip(&src.gaze).all(|(x, y)| x.bit_eq(y)));
        assert!(copy.events.iter().any(|e| e.text == "hello ✓"));
    }
}
