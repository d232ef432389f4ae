//! The Tobii adapter through the real FFI path, against the fake SDK library in both gaze
//! layouts: counts and bit-exact values, connection loss and reconnection, unsubscribing while
//! callbacks run, every status code as a readable message, SDK calibration, and a recording
//! made with `et-suite run --tracker tobii`.

use std::ffi::{c_char, c_int};
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use et_drivers::tobii::status::{describe, ALL_CODES};
use et_drivers::tobii::{TobiiConfig, TobiiTracker};
use et_drivers::{sample_channel, EyeSample, GazeSample, SampleReceiver, Tracker, TrackerMessage};
use fake_tobii::FakeSentSample;

use crate::common::HANG;

/// A private copy of the fake library: its own globals, so tests can run in parallel.
struct Fake {
    _dir: tempfile::TempDir,
    path: PathBuf,
    lib: libloading::Library,
}

fn built_fake() -> PathBuf {
    // Test binaries live in target/<profile>/deps, beside the cdylib of the dev-dependency.
    let exe = std::env::current_exe().unwrap();
    let p = exe.parent().unwrap().join("libfake_tobii.so");
    assert!(
        p.exists(),
        "{} missing: fake-tobii is a dev-dependency and should be built",
        p.display()
    );
    p
}

impl Fake {
    fn new(major: i32) -> Fake {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("libtobii_research.so");
        std::fs::copy(built_fake(), &path).unwrap();
        // SAFETY: our own test library.
        let lib = unsafe { libloading::Library::new(&path) }.unwrap();
        let f = Fake {
            _dir: dir,
            path,
            lib,
        };
        unsafe { f.sym::<unsafe extern "C" fn(c_int, u64)>("fake_tobii_configure")(major, 11) };
        f
    }
    unsafe fn sym<T: Copy>(&self, name: &str) -> T {
        *self.lib.get::<T>(name.as_bytes()).unwrap()
    }
    fn disconnect(&self, ms: u32, drop_subscriptions: bool) {
        unsafe {
            self.sym::<unsafe extern "C" fn(u32, bool)>("fake_tobii_disconnect")(
                ms,
                drop_subscriptions,
            )
        }
    }
    fn set_delivery(&self, burst: u32, delay_us: u32) {
        unsafe {
            self.sym::<unsafe extern "C" fn(u32, u32)>("fake_tobii_set_delivery")(burst, delay_us)
        }
    }
    fn allow_any_frequency(&self) {
        unsafe { self.sym::<unsafe extern "C" fn(bool)>("fake_tobii_allow_any_frequency")(true) }
    }
    fn fail_next(&self, name: &str, status: i32, count: u32) {
        let c = std::ffi::CString::new(name).unwrap();
        unsafe {
            self.sym::<unsafe extern "C" fn(*const c_char, c_int, u32)>("fake_tobii_fail_next")(
                c.as_ptr(),
                status,
                count,
            )
        }
    }
    fn in_flight(&self) -> u32 {
        unsafe { self.sym::<unsafe extern "C" fn() -> u32>("fake_tobii_callbacks_in_flight")() }
    }
    fn sent(&self) -> Vec<FakeSentSample> {
        let n = unsafe { self.sym::<unsafe extern "C" fn() -> u64>("fake_tobii_sent_count")() }
            as usize;
        let mut v = vec![FakeSentSample::default(); n];
        let got = unsafe {
            self.sym::<unsafe extern "C" fn(u64, *mut FakeSentSample, usize) -> usize>(
                "fake_tobii_sent_samples",
            )(0, v.as_mut_ptr(), n)
        };
        v.truncate(got);
        v
    }
    fn config(&self) -> TobiiConfig {
        TobiiConfig {
            library: Some(self.path.clone()),
            ..TobiiConfig::default()
        }
    }
}

impl Drop for Fake {
    fn drop(&mut self) {
        unsafe { self.sym::<unsafe extern "C" fn()>("fake_tobii_reset")() };
    }
}

fn expected(s: &FakeSentSample) -> GazeSample {
    let eye = |e: &fake_tobii::FakeEye| EyeSample {
        gaze_x: e.gaze[0],
        gaze_y: e.gaze[1],
        gaze_valid: e.gaze_valid != 0,
        pupil_mm: e.pupil,
        pupil_valid: e.pupil_valid != 0,
        origin_mm: e.origin,
        origin_valid: e.origin_valid != 0,
        gaze3d_mm: e.gaze3d,
    };
    GazeSample {
        system_ts_us: s.system_ts_us,
        device_ts_us: s.device_ts_us,
        left: eye(&s.left),
        right: eye(&s.right),
    }
}

/// What a tracker delivered, taken from its channel while it streams.
#[derive(Default)]
struct Collected {
    samples: Vec<GazeSample>,
    events: Vec<(i64, String, String)>,
}

impl Collected {
    fn take(&mut self, m: TrackerMessage) {
        match m {
            TrackerMessage::Sample(s) => self.samples.push(s),
            TrackerMessage::Event(e) => self.events.push((e.ts_us, e.kind, e.text)),
        }
    }

    /// Takes messages until `done` holds of what was taken. How long the tracker takes is
    /// the machine's business (a busy one delivers late): only the samples' own time stamps
    /// decide, so the tests assert the same whatever the load.
    fn until(&mut self, rx: &SampleReceiver, done: impl Fn(&Collected) -> bool) {
        let t0 = std::time::Instant::now();
        while !done(self) {
            match rx.inner().recv_timeout(Duration::from_millis(50)) {
                Ok(m) => self.take(m),
                Err(crossbeam_channel::RecvTimeoutError::Timeout) => {}
                Err(e) => panic!("the tracker's channel closed: {e}"),
            }
            assert!(
                t0.elapsed() < HANG,
                "no progress in {HANG:?}: {} samples, events {:?}",
                self.samples.len(),
                self.events
            );
        }
    }

    /// Tracker time covered by the samples taken so far (µs).
    fn span_us(&self) -> i64 {
        match (self.samples.first(), self.samples.last()) {
            (Some(a), Some(b)) => b.system_ts_us - a.system_ts_us,
            _ => 0,
        }
    }

    /// Adds what is left in the channel (after the tracker stopped).
    fn rest(&mut self, rx: &SampleReceiver) {
        for m in rx.inner().try_iter() {
            self.take(m);
        }
    }
}

fn ten_seconds(major: i32, sdk: &str) {
    let fake = Fake::new(major);
    let mut t = TobiiTracker::open(fake.config()).unwrap();
    assert_eq!(t.info().model, "Tobii Pro X3-120");
    assert_eq!(t.info().sdk_version, sdk);
    assert_eq!(t.info().sampling_hz, 120.0);
    let (tx, rx) = sample_channel(4096);
    t.start(tx).unwrap();
    let mut c = Collected::default();
    c.until(&rx, |c| c.span_us() >= 10_000_000);
    t.stop().unwrap();
    c.rest(&rx);
    let got = c.samples;
    // Ten seconds of tracker time, one sample every 8333 µs, with nothing missing (the
    // bit-exact checks below look at each sample).
    let span = got.last().unwrap().system_ts_us - got.first().unwrap().system_ts_us;
    assert!(
        span >= 10_000_000 && (got.len() as f64 - (span as f64 / 1e6 * 120.0 + 1.0)).abs() <= 1.0,
        "{} samples over {span} µs at 120 Hz",
        got.len()
    );
    assert_eq!(rx.dropped(), 0);
    assert!(
        got.windows(2)
            .all(|w| w[1].system_ts_us > w[0].system_ts_us),
        "time stamps not monotonic"
    );
    let sent = fake.sent();
    assert_eq!(
        sent.len(),
        got.len(),
        "the fake delivered {} samples, the adapter passed on {}",
        sent.len(),
        got.len()
    );
    for (i, (g, s)) in got.iter().zip(&sent).enumerate() {
        assert!(
            g.bit_eq(&expected(s)),
            "sample {i} differs: got {g:?}, sent {:?}",
            expected(s)
        );
    }
    // Some samples have invalid eyes, so the NaN masking was exercised.
    assert!(got.iter().any(|g| !g.left.gaze_valid));
}

#[test]
fn sdk1_layout_ten_seconds_at_120_hz_bit_exact() {
    ten_seconds(1, "1.11.0.0");
}

#[test]
fn sdk2_layout_ten_seconds_at_120_hz_bit_exact() {
    ten_seconds(2, "2.1.0.0");
}

fn loss_and_return(drop_subscriptions: bool) {
    let fake = Fake::new(1);
    let mut t = TobiiTracker::open(fake.config()).unwrap();
    let (tx, rx) = sample_channel(8192);
    t.start(tx).unwrap();
    let mut c = Collected::default();
    c.until(&rx, |c| c.span_us() >= 1_000_000);
    fake.disconnect(600, drop_subscriptions);
    // Streaming must come back: wait for the return and 100 samples after it (however long
    // a busy machine takes to notice the loss and reconnect).
    c.until(&rx, |c| {
        let back = c.events.iter().find(|e| is_resumed(e));
        back.is_some_and(|b| c.samples.iter().filter(|s| s.system_ts_us > b.0).count() > 100)
    });
    t.stop().unwrap();
    c.rest(&rx);
    let (got, events) = (c.samples, c.events);
    // The adapter notes its reconnection; the session's recorder writes the silence itself.
    let lost = events
        .iter()
        .find(|e| is_reconnecting(e))
        .unwrap_or_else(|| panic!("no reconnection note in {events:?}"));
    let back = events
        .iter()
        .find(|e| is_resumed(e))
        .unwrap_or_else(|| panic!("no resumption note in {events:?}"));
    // The gap: the last sample before the loss and the first after.
    let before = got
        .iter()
        .filter(|s| s.system_ts_us < lost.0)
        .map(|s| s.system_ts_us)
        .max()
        .unwrap();
    let after = got
        .iter()
        .find(|s| s.system_ts_us > lost.0)
        .expect("streaming resumed")
        .system_ts_us;
    // Noticed after the last sample and before the return; how soon is the watchdog's
    // latency, which a busy machine stretches, so it is not asserted here.
    assert!(lost.0 > before && lost.0 < back.0, "{events:?}");
    assert!(
        after - before >= 550_000,
        "gap of only {} ms",
        (after - before) / 1000
    );
    assert!(back.0 >= after);
    assert!(
        events
            .iter()
            .any(|e| e.1 == "note" && e.2.contains("connection_lost")),
        "{events:?}"
    );
    // Samples keep coming after the return, for the rest of the run.
    assert!(got.iter().filter(|s| s.system_ts_us > after).count() > 100);
    if drop_subscriptions {
        assert!(t.reconnects() >= 1);
    }
}

#[test]
fn connection_loss_with_lost_subscriptions_reconnects() {
    loss_and_return(true);
}

#[test]
fn connection_loss_the_sdk_recovers_from_is_recorded() {
    loss_and_return(false);
}

#[test]
fn unsubscribing_while_callbacks_are_in_flight_is_safe() {
    let fake = Fake::new(2);
    // The fake's delivery loop stays busy 5 ms of every 8.3 ms, holding its subscriber list,
    // so most stops land while a callback round is in flight.
    unsafe { fake.sym::<unsafe extern "C" fn(u32)>("fake_tobii_set_dispatch_gap")(5_000) };
    let mut t = TobiiTracker::open(fake.config()).unwrap();
    let mut rng_state = 12345u64;
    for _ in 0..25 {
        let (tx, rx) = sample_channel(100_000);
        t.start(tx).unwrap();
        rng_state = rng_state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        std::thread::sleep(Duration::from_micros(rng_state % 300_000));
        t.stop().unwrap();
        assert_eq!(
            fake.in_flight(),
            0,
            "a callback is still running after unsubscribe returned"
        );
        let n = rx.inner().len();
        std::thread::sleep(Duration::from_millis(30));
        assert_eq!(rx.inner().len(), n, "samples arrived after stop");
    }
}

#[test]
fn every_status_code_reaches_the_user_as_a_readable_message() {
    let fake = Fake::new(1);
    for &code in ALL_CODES.iter().filter(|c| **c != 0) {
        fake.fail_next("get_eyetracker", code, 1);
        let err = TobiiTracker::open(fake.config())
            .err()
            .expect("open fails")
            .to_string();
        let (name, meaning) = describe(code);
        assert!(
            err.starts_with("no Tobii eye tracker answered at ")
                && err.contains(&format!("the SDK says {name} ({code}): {meaning}")),
            "{err}"
        );
    }
    fake.fail_next("set_gaze_output_frequency", 209, 1);
    let err = TobiiTracker::open(fake.config()).err().unwrap().to_string();
    assert!(err.contains("SE_INVALID_PARAMETER (209)"), "{err}");
    let err = TobiiTracker::open(TobiiConfig {
        frequency_hz: Some(600.0),
        ..fake.config()
    })
    .err()
    .unwrap()
    .to_string();
    assert_eq!(
        err,
        "gaze output frequency 600 Hz is not offered by this tracker (it offers 40, 60, 120)"
    );
    let err = TobiiTracker::open(TobiiConfig {
        select: Some("NOPE".into()),
        ..fake.config()
    })
    .err()
    .unwrap()
    .to_string();
    assert!(
        err.contains("no Tobii eye tracker matches \"NOPE\"; found: X3120-FAKE-0001"),
        "{err}"
    );
    let err = TobiiTracker::open(TobiiConfig {
        library: Some(PathBuf::from("/nonexistent/libtobii_research.so")),
        ..fake.config()
    })
    .err()
    .unwrap()
    .to_string();
    assert!(
        err.starts_with("/nonexistent/libtobii_research.so: cannot load the Tobii Pro SDK library"),
        "{err}"
    );
    // Selecting by serial and by address both work.
    assert!(TobiiTracker::open(TobiiConfig {
        select: Some("X3120-FAKE-0001".into()),
        ..fake.config()
    })
    .is_ok());
    assert!(TobiiTracker::open(TobiiConfig {
        select: Some("tet-tcp://169.254.10.20".into()),
        ..fake.config()
    })
    .is_ok());
}

#[test]
fn calibration_through_the_sdk_can_be_saved_and_reapplied() {
    use et_drivers::CalibrationPoint as P;
    let fake = Fake::new(1);
    let mut t = TobiiTracker::open(fake.config()).unwrap();
    // A calibration mode left over from a crash is left and entered again.
    t.calibration_enter().unwrap();
    t.calibration_enter().unwrap();
    for (x, y) in [(0.1, 0.1), (0.9, 0.1), (0.5, 0.5), (0.1, 0.9), (0.9, 0.9)] {
        t.calibration_collect(P { x, y }).unwrap();
    }
    t.calibration_discard(P { x: 0.9, y: 0.9 }).unwrap();
    let r = t.calibration_compute_apply().unwrap();
    assert!(r.applied);
    assert_eq!(r.points.len(), 4);
    let (p, l, rt) = &r.points[2];
    assert_eq!((p.x, p.y), (0.5, 0.5));
    let (l, rt) = (l.unwrap(), rt.unwrap());
    assert!((l.0 - 0.51).abs() < 1e-6 && (rt.0 - 0.49).abs() < 1e-6);
    t.calibration_leave().unwrap();
    let blob = t.save_calibration().unwrap();
    assert!(blob.starts_with(b"FAKECAL1") && blob.len() == 8 + 4 * 8);
    t.apply_calibration(&blob).unwrap();
    let err = t.apply_calibration(b"garbage").unwrap_err().to_string();
    assert!(
        err.contains("apply_calibration_data failed: INVALID_PARAMETER (10)"),
        "{err}"
    );
    let err = t.calibration_leave().unwrap_err().to_string();
    assert!(err.contains("SE_CALIBRATION_NOT_STARTED (211)"), "{err}");
}

#[test]
fn run_headless_with_the_fake_tobii_writes_a_valid_recording() {
    let dir = tempfile::tempdir().unwrap();
    let fake = Fake::new(1);
    let cfg = crate::common::small_study(
        dir.path(),
        "[timing]\nstimulus_ms = 100\nfixation_ms = 50\niti_ms = 50\n",
    );
    let out = dir.path().join("tobii.h5");
    let o = crate::common::run(&[
        "run",
        "--config",
        cfg.to_str().unwrap(),
        "--headless",
        "--tracker",
        "tobii:X3120-FAKE-0001",
        "--tobii-lib",
        fake.path.to_str().unwrap(),
        // The fake's gaze follows its own targets, not the validation's: every attempt fails.
        "--accept-failed-validation",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let rec = et_recording::Recording::open(&out).unwrap();
    assert!(rec.header.complete);
    assert_eq!(rec.header.tracker_model, "Tobii Pro X3-120");
    assert_eq!(rec.header.tracker_serial, "X3120-FAKE-0001");
    assert_eq!(rec.header.sdk_version, "1.11.0.0");
    assert_eq!(rec.trials.len(), 32);
    // 32 × 200 ms at 120 Hz, samples on the SDK clock covering every trial.
    let span = rec.gaze.last().unwrap().system_ts_us - rec.gaze.first().unwrap().system_ts_us;
    assert!(
        (rec.gaze.len() as f64 - span as f64 * 120e-6).abs() < 3.0,
        "{} samples over {span} µs",
        rec.gaze.len()
    );
    // Every trial is covered by samples on the SDK clock: as many as its recorded duration
    // holds at 120 Hz (a loaded machine can stretch a headless trial by a frame; its own stamps
    // say so, and the samples must agree with them).
    for t in &rec.trials {
        let n = rec
            .gaze
            .iter()
            .filter(|s| s.system_ts_us >= t.onset_us && s.system_ts_us < t.offset_us)
            .count();
        let expected = (t.offset_us - t.onset_us) as f64 * 120e-6;
        assert!(
            (n as f64 - expected).abs() <= 1.5 && t.offset_us - t.onset_us >= 90_000,
            "trial {}: {n} samples in {} µs",
            t.trial,
            t.offset_us - t.onset_us
        );
    }
}

#[test]
fn late_and_bursty_callbacks_lose_nothing_and_raise_no_false_alarm() {
    let fake = Fake::new(1);
    // Six samples (50 ms) per callback round, each round 10 ms late.
    fake.set_delivery(6, 10_000);
    // Callbacks 60 ms apart against a silence threshold far above them: a busy machine may
    // delay a round by tens of ms, and the point here is that bursts within the threshold are
    // not silence, not how much margin the default 80 ms leaves on a loaded machine.
    let mut t = TobiiTracker::open(TobiiConfig {
        lost_after: Duration::from_millis(500),
        ..fake.config()
    })
    .unwrap();
    let (tx, rx) = sample_channel(4096);
    t.start(tx).unwrap();
    let mut c = Collected::default();
    c.until(&rx, |c| c.span_us() >= 3_000_000);
    t.stop().unwrap();
    c.rest(&rx);
    let (got, events) = (c.samples, c.events);
    let sent = fake.sent();
    assert_eq!(got.len(), sent.len());
    assert!(got.len() >= 350, "{}", got.len());
    assert!(got.iter().zip(&sent).all(|(g, s)| g.bit_eq(&expected(s))));
    assert!(!events.iter().any(is_reconnecting), "{events:?}");
}

/// The adapter's note that gaze stopped and it reconnects.
fn is_reconnecting(e: &(i64, String, String)) -> bool {
    e.1 == "note" && e.2.starts_with("tobii: no gaze")
}

/// The adapter's note that gaze came back.
fn is_resumed(e: &(i64, String, String)) -> bool {
    e.1 == "note" && e.2.starts_with("tobii: gaze resumed")
}

#[test]
fn any_frequency_the_tracker_offers_can_be_set() {
    let fake = Fake::new(2);
    fake.allow_any_frequency();
    let mut t = TobiiTracker::open(TobiiConfig {
        frequency_hz: Some(600.0),
        ..fake.config()
    })
    .unwrap();
    assert_eq!(t.info().sampling_hz, 600.0);
    let (tx, rx) = sample_channel(4096);
    t.start(tx).unwrap();
    let mut c = Collected::default();
    c.until(&rx, |c| c.span_us() >= 1_000_000);
    t.stop().unwrap();
    // The rate is the samples' own: one every 1666.7 µs of tracker time, none missing.
    let periods: Vec<i64> = c
        .samples
        .windows(2)
        .map(|w| w[1].system_ts_us - w[0].system_ts_us)
        .collect();
    assert!(
        periods.iter().all(|p| (1_666..=1_667).contains(p)),
        "periods at 600 Hz: {periods:?}"
    );
    assert!(c.samples.len() >= 600, "{}", c.samples.len());
}

/// `et-suite run --headless` on the fake SDK with the small study (32 short trials), the fake
/// cut off by `FAKE_TOBII_DISCONNECT` (`AT_MS:FOR_MS[:drop]`) and `extra` added to the config.
fn fake_session(dir: &Path, fake: &Fake, disconnect: &str, extra: &str) -> (Output, PathBuf) {
    let cfg = crate::common::small_study(
        dir,
        &format!("[timing]\nstimulus_ms = 300\nfixation_ms = 50\niti_ms = 50\n{extra}"),
    );
    let out = dir.join("s.h5");
    let o = crate::common::bin()
        .env("FAKE_TOBII_DISCONNECT", disconnect)
        .args([
            "run",
            "--config",
            cfg.to_str().unwrap(),
            "--headless",
            "--tracker",
            "tobii",
            "--tobii-lib",
            fake.path.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    (o, out)
}

/// The largest gap between consecutive samples: its length and the stamps around it (µs).
fn largest_gap(rec: &et_recording::Recording) -> (i64, i64, i64) {
    rec.gaze
        .windows(2)
        .map(|w| {
            (
                w[1].system_ts_us - w[0].system_ts_us,
                w[0].system_ts_us,
                w[1].system_ts_us,
            )
        })
        .max()
        .expect("at least two samples")
}

const NO_CALIBRATION: &str = "[calibration]\nenabled = false\n";

#[test]
fn a_session_survives_losing_the_tracker_and_records_the_gap() {
    let dir = tempfile::tempdir().unwrap();
    let fake = Fake::new(1);
    let (o, out) = fake_session(dir.path(), &fake, "2000:700:drop", "");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr),
    );
    // Headless sessions go on through silence, record it, say so and exit with the status
    // for data with a problem nobody accepted.
    assert_eq!(o.status.code(), Some(3), "{stderr}");
    assert!(stdout.contains("tracker SILENT 1 time(s)"), "{stdout}");
    let rec = et_recording::Recording::open(&out).unwrap();
    assert!(rec.header.complete, "complete means it ran to its end");
    assert_eq!(rec.header.tracker_kind, "tobii");
    assert_eq!(
        rec.trials.len(),
        32,
        "presentation went on through the loss"
    );
    assert!(rec
        .events
        .iter()
        .any(|e| e.kind == "note" && e.text.starts_with("tobii display area 531.0 x 299.0 mm")));
    // The events are the stamps of the samples around the largest gap.
    let (gap, before, after) = largest_gap(&rec);
    assert_eq!(rec.silences(), [(before, Some(after))], "{:?}", rec.events);
    let silent = rec.header.tracker_silent_ms.expect("tracker_silent_ms");
    assert!(
        (silent - gap as f64 / 1000.0).abs() < 1e-6,
        "{silent} vs {gap}"
    );
    // The 700 ms outage, ended by a reconnection on the back-off schedule (at most 2 s apart;
    // a busy machine may delay an attempt, so the bound is a broken reconnection's, not a
    // latency).
    assert!((650_000..4_700_000).contains(&gap), "largest gap {gap} µs");
    assert!(
        rec.gaze.last().unwrap().system_ts_us > after + 1_000_000,
        "samples after the return"
    );
    // Each trial counts its samples: those the gap fell in (if any: it may fall in the
    // calibration) have fewer than expected, the others all of them.
    for t in &rec.trials {
        let in_gap = t.offset_us > before && t.onset_us < after;
        let full = t.samples.received + 1 >= t.samples.expected;
        assert_eq!(full, !in_gap, "{t:?} and the gap {before}..{after}");
    }
    // Expected at 120 Hz over each trial's own span (a late frame on a busy machine makes it
    // longer than the planned 300 ms).
    assert!(rec.trials.iter().all(|t| {
        let want = ((t.offset_us - t.onset_us) as f64 * 120.0 / 1e6).round() as u32;
        t.samples.expected == want
    }));
}

#[test]
fn a_tracker_silent_from_the_start_is_recorded_reported_and_fails_the_session() {
    let dir = tempfile::tempdir().unwrap();
    let fake = Fake::new(2);
    // Cut off before streaming starts, for longer than the session lasts (no calibration: its
    // positioning guide would wait 30 s for eyes).
    let (o, out) = fake_session(dir.path(), &fake, "0:600000", NO_CALIBRATION);
    let (stdout, stderr) = (
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr),
    );
    assert_eq!(o.status.code(), Some(3), "{stderr}");
    assert!(
        stdout.contains("32 trial(s) without any gaze sample"),
        "{stdout}"
    );
    let rec = et_recording::Recording::open(&out).unwrap();
    assert!(rec.gaze.is_empty());
    assert!(!rec.events.iter().any(|e| e.kind == "tracker_back"));
    // One silence, from the start of streaming (before the first trial) to the end.
    let silent = rec.silences();
    assert!(
        matches!(silent.as_slice(), [(lost, None)] if *lost < rec.trials[0].onset_us),
        "{:?}",
        rec.events
    );
    assert!(rec.header.tracker_silent_ms.unwrap() > 32.0 * 400.0);
    assert!(rec.trials.iter().all(|t| t.samples.without_gaze()));
}

/// The tracker stops sending in the middle of a trial without any error or notification, for
/// 1.5 s: the silence is found from the samples' stamps and counted in the trials it hit.
#[test]
fn a_tracker_that_stops_sending_mid_trial_without_an_error_is_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let fake = Fake::new(1);
    // Trials of 400 ms from the start of streaming (no calibration): 2.15 s falls in one.
    let (o, out) = fake_session(dir.path(), &fake, "2150:1500:quiet", NO_CALIBRATION);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert_eq!(
        o.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(stdout.contains("tracker SILENT 1 time(s)"), "{stdout}");
    let rec = et_recording::Recording::open(&out).unwrap();
    assert!(!rec
        .events
        .iter()
        .any(|e| e.text.contains("connection_lost")));
    let (gap, before, after) = largest_gap(&rec);
    assert!(gap >= 1_400_000, "{gap}");
    assert_eq!(rec.silences(), [(before, Some(after))], "{:?}", rec.events);
    let hit: Vec<_> = rec
        .trials
        .iter()
        .filter(|t| t.offset_us > before && t.onset_us < after)
        .collect();
    assert!(!hit.is_empty());
    assert!(hit.iter().all(|t| t.samples.received < t.samples.expected));
    // A trial wholly inside the gap got nothing, and analyze would leave it out.
    assert!(hit
        .iter()
        .filter(|t| t.onset_us > before && t.offset_us < after)
        .all(|t| t.samples.without_gaze()));
}

#[test]
fn on_silence_abort_ends_a_session_whose_tracker_is_silent() {
    let dir = tempfile::tempdir().unwrap();
    let fake = Fake::new(2);
    let (o, out) = fake_session(
        dir.path(),
        &fake,
        "0:600000",
        &format!("[tracker]\non_silence = \"abort\"\n{NO_CALIBRATION}"),
    );
    assert_eq!(
        o.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let rec = et_recording::Recording::open(&out).unwrap();
    assert!(!rec.header.complete);
    assert!(rec.trials.len() < 32);
    assert!(rec
        .events
        .iter()
        .any(|e| e.text.contains("the tracker fell silent")));
}

#[test]
fn trackers_exits_with_its_own_status_when_the_library_cannot_load() {
    let dir = tempfile::tempdir().unwrap();
    let o = crate::common::bin()
        .args(["trackers", "--tobii-lib"])
        .arg(dir.path().join("missing.so"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(5), "{err}");
    assert!(err.contains("missing.so"), "{err}");
    let fake = Fake::new(2);
    let o = crate::common::bin()
        .args(["trackers", "--tobii-lib"])
        .arg(&fake.path)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

/// A study config that names a Tobii records from it without `--tracker`; the recording says
/// where its gaze came from and nothing calls it simulated.
#[test]
fn a_config_that_names_a_tobii_records_from_it() {
    let dir = tempfile::tempdir().unwrap();
    let fake = Fake::new(2);
    let cfg = crate::common::small_study(
        dir.path(),
        &format!(
            "[timing]\nstimulus_ms = 100\nfixation_ms = 50\niti_ms = 50\n{NO_CALIBRATION}[tracker]\nkind = \"tobii\"\ntobii_lib = \"{}\"\n",
            fake.path.display()
        ),
    );
    let out = dir.path().join("t.h5");
    let o = crate::common::bin()
        .args(["run", "--config", cfg.to_str().unwrap(), "--headless"])
        .args(["--out", out.to_str().unwrap()])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    assert!(!stderr.contains("SIMULATED"), "{stderr}");
    let rec = et_recording::Recording::open(&out).unwrap();
    assert_eq!(rec.header.tracker_kind, "tobii");
    assert!(
        rec.header.tracker_model.contains("X3-120"),
        "{}",
        rec.header.tracker_model
    );
}
