//! The command line end to end: a session at full speed, replay, inspect, signals, a full disk,
//! calibration and import (bad input, one row per case, is in `errors`).

use crate::common::{
    assert_clean_error, record_at_full_speed, run, run_at_full_speed, s, small_study,
};
use et_recording::Recording;

#[test]
fn run_replay_inspect_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = small_study(
        dir.path(),
        "[timing]\nstimulus_ms = 1000\nfixation_ms = 200\niti_ms = 100\n",
    );
    let record = |out: &std::path::Path| {
        run(&[
            "run",
            "--config",
            s(&cfg),
            "--headless",
            "--speed",
            "max",
            "--out",
            s(out),
        ])
    };
    let a = dir.path().join("a.h5");
    let out = record(&a);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rec = Recording::open(&a).unwrap();
    assert!(rec.header.complete);
    assert_eq!(rec.trials.len(), 32);
    assert_eq!(rec.header.counterbalance_version, "A");
    // The validation plot beside the recording, drawn from the samples of each target's
    // collection window (which /validation now names).
    let plot = std::fs::read(dir.path().join("a.validation.png")).unwrap();
    assert!(plot.starts_with(b"\x89PNG"));
    let v = et_analysis::study::ParticipantValidation::of(&rec).unwrap();
    assert!(rec
        .validation
        .iter()
        .all(|r| r.window_end_us - r.window_start_us == 500_000));
    let in_windows = v
        .samples
        .iter()
        .filter(|p| p.attempt == 1 && p.left)
        .count();
    // 4 targets × 0.5 s at 120 Hz, nearly all valid.
    assert!((200..=244).contains(&in_windows), "{in_windows}");
    assert!(rec
        .trials
        .iter()
        .all(|t| t.offset_us - t.onset_us == 1_000_000 && t.frames == 60));

    // The same simulated session again, positioning and calibration included, records the
    // same gaze relative to its start: a virtual clock makes the threads' timing irrelevant
    // (the positioning guide and the calibration correction used to depend on it).
    let again = dir.path().join("again.h5");
    let out = record(&again);
    assert!(out.status.success());
    let rerun = Recording::open(&again).unwrap();
    assert!(rec.events.iter().any(|e| e.text == "positioning guide"));
    let relative = |r: &Recording| -> Vec<et_drivers::GazeSample> {
        let t0 = r.gaze[0].system_ts_us;
        r.gaze
            .iter()
            .map(|g| et_drivers::GazeSample {
                system_ts_us: g.system_ts_us - t0,
                ..*g
            })
            .collect()
    };
    let (x, y) = (relative(&rec), relative(&rerun));
    assert_eq!(x.len(), y.len());
    let first_difference = x.iter().zip(&y).position(|(p, q)| !p.bit_eq(q));
    assert_eq!(
        first_difference, None,
        "the rerun's gaze differs from sample"
    );

    let b = dir.path().join("b.h5");
    let out = run(&["replay", s(&a), "--speed", "max", "--out", s(&b)]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let copy = Recording::open(&b).unwrap();
    assert_eq!(copy.gaze.len(), rec.gaze.len());
    assert!(copy.gaze.iter().zip(&rec.gaze).all(|(x, y)| x.bit_eq(y)));
    assert_eq!(copy.trials, rec.trials);

    // Samples as tables.
    let pq = dir.path().join("samples.parquet");
    let csvp = dir.path().join("samples.csv");
    assert_clean_error(
        &run(&[
            "export-samples",
            s(&b),
            "--out",
            s(&dir.path().join("x.txt")),
        ]),
        "x.txt: the format is told by the extension",
    );
    assert!(!dir.path().join("x.txt").exists());
    assert!(run(&["export-samples", s(&b), "--out", s(&pq)])
        .status
        .success());
    assert!(run(&["export-samples", s(&b), "--out", s(&csvp)])
        .status
        .success());
    assert!(std::fs::read(&pq).unwrap().starts_with(b"PAR1"));
    let text = std::fs::read_to_string(&csvp).unwrap();
    assert_eq!(text.lines().count(), rec.gaze.len() + 1);
    assert!(text.starts_with("system_ts_us,device_ts_us,left_gaze_x,left_gaze_y,left_gaze_valid,"));
    assert_clean_error(
        &run(&["export-samples", s(&b), "--out", s(&csvp)]),
        "already exists",
    );
    // BrainVision for EEG tools: header, markers and data, one float per channel and slot.
    let vhdr = dir.path().join("gaze.vhdr");
    let o = run(&["export-samples", s(&b), "--out", s(&vhdr)]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let said = String::from_utf8_lossy(&o.stdout);
    assert!(
        said.contains(&format!("{} samples on a regular grid", rec.gaze.len())),
        "{said}"
    );
    let slots = std::fs::metadata(dir.path().join("gaze.eeg"))
        .unwrap()
        .len()
        / (8 * 4);
    assert!(slots >= rec.gaze.len() as u64);
    let marks = std::fs::read_to_string(dir.path().join("gaze.vmrk")).unwrap();
    assert!(
        marks.contains("=Stimulus,stimulus_onset; trial 0; "),
        "{marks}"
    );

    let out = run(&["inspect", s(&b)]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(
        text.contains(&format!("samples              {}", rec.gaze.len())),
        "{text}"
    );
    assert!(text.contains("trials               32"), "{text}");

    // A replayed session through the runner (replay tracker in place of the synthetic one).
    let c = dir.path().join("c.h5");
    let out = run(&[
        "run",
        "--config",
        s(&cfg),
        "--headless",
        "--speed",
        "max",
        "--tracker",
        &format!("replay:{}", s(&a)),
        "--out",
        s(&c),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rc = Recording::open(&c).unwrap();
    assert_eq!(rc.trials.len(), 32);
    let by_ts: std::collections::HashMap<i64, &et_drivers::GazeSample> =
        rec.gaze.iter().map(|g| (g.system_ts_us, g)).collect();
    assert!(
        rc.gaze.len() > rec.gaze.len() * 9 / 10,
        "{} of {}",
        rc.gaze.len(),
        rec.gaze.len()
    );
    assert!(rc
        .gaze
        .iter()
        .all(|g| by_ts.get(&g.system_ts_us).is_some_and(|x| x.bit_eq(g))));
}

#[test]
fn demo_recovers_the_planted_effect_and_never_silently_replaces_recordings() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("demo");
    let out = run(&[
        "demo",
        "--out",
        s(&out_dir),
        "--participants",
        "4",
        "--seed",
        "3",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("response ~ smile + (1 + smile | participant) + (1 + smile | identity)"),
        "{stdout}"
    );
    // The headline names the test each condition got: a condition whose mixed model lost
    // every random effect was fitted by least squares (lm_t), and the headline says so.
    let headline = stdout
        .lines()
        .find(|l| l.starts_with("Smile vs no smile, model lmm: "))
        .unwrap_or_else(|| panic!("no headline: {stdout}"));
    for line in stdout.lines().filter(|l| l.starts_with("model (")) {
        let condition = &line["model (".len()..line.find(')').unwrap()];
        let test = if line.contains("least squares") {
            "lm_t"
        } else {
            "lmm_t"
        };
        let named = headline.contains(&format!(": {test} (two-sided)"))
            || headline
                .split("; ")
                .any(|part| part.contains(&format!("{test} (")) && part.contains(condition));
        assert!(named, "{headline} does not say {condition} got {test}");
    }
    let tests = headline["Smile vs no smile, model lmm: ".len()..]
        .split(" (two-sided)")
        .next()
        .unwrap_or_default();

    let summary = std::fs::read_to_string(out_dir.join("analysis/summary.csv")).unwrap();
    let report = std::fs::read_to_string(out_dir.join("analysis/report.html")).unwrap();
    assert!(
        report.contains(&format!("model: <b>lmm</b>, test: <b>{tests}</b>"))
            && report.contains("welch_trials")
            && report.contains("P01.h5"),
        "report lacks the test or the inputs"
    );
    for t in [
        "dwell",
        "summary",
        "comparisons",
        "models",
        "aoi_metrics",
        "fixations",
        "events",
    ] {
        let p = out_dir.join(format!("analysis/{t}.parquet"));
        assert!(
            std::fs::read(&p).unwrap().starts_with(b"PAR1"),
            "{} is not Parquet",
            p.display()
        );
    }
    // Figure 2 carries its labels (column titles, identities, a colour bar and a scale bar)
    // and fits an A4 page at 300 dpi (PNG size from the IHDR chunk).
    let fig2 = std::fs::read(out_dir.join("analysis/figure2.png")).unwrap();
    let width = u32::from_be_bytes([fig2[16], fig2[17], fig2[18], fig2[19]]);
    let height = u32::from_be_bytes([fig2[20], fig2[21], fig2[22], fig2[23]]);
    assert!(width > 600, "Figure 2 is {width} px wide: unlabelled?");
    assert!(
        width <= 2480 && height <= 3508,
        "Figure 2 is {width}x{height} px"
    );
    // And for print: the overlays embedded, the labels as text.
    let fig2_svg = std::fs::read_to_string(out_dir.join("analysis/figure2.svg")).unwrap();
    assert!(
        fig2_svg.contains("<image")
            && fig2_svg.contains("reconstructed")
            && fig2_svg.contains("1 (max)")
            && fig2_svg.contains("° of visual angle"),
        "{fig2_svg:.1000}"
    );
    assert!(report.contains("figure2.svg"));
    // Simulated participants are said to be simulated before any number.
    let notes = report.find("<h2>Notes</h2>").expect("notes in the report");
    assert!(
        report[notes..].contains("SIMULATED GAZE in "),
        "report notes"
    );
    assert!(notes < report.find("Smile vs no smile").unwrap());
    // The dwell figure, PNG for the report and SVG for print, with its title and axes.
    let svg = std::fs::read_to_string(out_dir.join("analysis/dwell_figure.svg")).unwrap();
    for text in [
        "Dwell on the mouth AOI per participant",
        "mean dwell per participant (ms)",
        "Smile − no smile (lmm, 95 % CI)",
        "22q no smile",
    ] {
        assert!(svg.contains(text), "the SVG lacks {text:?}");
    }
    assert!(std::fs::read(out_dir.join("analysis/dwell_figure.png"))
        .unwrap()
        .starts_with(b"\x89PNG"));
    assert!(report.contains("dwell_figure.svg"));
    let quality_svg = std::fs::read_to_string(out_dir.join("analysis/quality_figure.svg")).unwrap();
    assert!(quality_svg.contains("Data quality per participant") && quality_svg.contains("P04"));
    // The demo calibrates (the default): every participant's validation is drawn, targets and
    // each eye's mean gaze, and the report shows it.
    let validation_svg =
        std::fs::read_to_string(out_dir.join("analysis/validation_figure.svg")).unwrap();
    assert!(
        validation_svg.contains("P04, attempt 1: left 0.") && validation_svg.contains("mean gaze"),
        "{validation_svg:.2000}"
    );
    assert!(report.contains("validation_figure.svg"));
    assert!(out_dir
        .join("analysis/heatmaps/WS-01-manipulated.npy")
        .exists());
    let metrics = std::fs::read_to_string(out_dir.join("analysis/aoi_metrics.csv")).unwrap();
    // 4 participants × 32 trials × 3 AOIs.
    assert_eq!(metrics.lines().count(), 1 + 4 * 32 * 3);
    assert_eq!(summary.lines().count(), 1 + 8, "{summary}");
    let comparisons = std::fs::read_to_string(out_dir.join("analysis/comparisons.csv")).unwrap();
    let all: Vec<&str> = comparisons
        .lines()
        .find(|l| l.starts_with("all,"))
        .unwrap()
        .split(',')
        .collect();
    let (smile, no_smile): (f64, f64) = (all[4].parse().unwrap(), all[5].parse().unwrap());
    assert!(smile > no_smile, "{comparisons}");
    // Every model over every condition and "all", side by side.
    let models = std::fs::read_to_string(out_dir.join("analysis/models.csv")).unwrap();
    for m in ["lmm", "by_participant", "by_item", "welch_trials"] {
        assert!(models.contains(&format!("all,{m},")), "{models}");
    }
    // The expression × condition test has a table and a place in the report of its own.
    let interaction = std::fs::read_to_string(out_dir.join("analysis/interaction.csv")).unwrap();
    assert!(
        interaction.lines().nth(1).is_some_and(
            |l| l.starts_with("expression × condition,\"likelihood ratio, ML fits\",")
        ),
        "{interaction}"
    );
    assert!(report.contains("<h3>Expression × condition</h3>"));
    // The accepted validation as ETDQualitizer reports it: each participant, each eye and both.
    let vq = std::fs::read_to_string(out_dir.join("analysis/quality_validation.csv")).unwrap();
    assert_eq!(vq.lines().count(), 1 + 4 * 3, "{vq}");
    assert!(
        vq.lines().any(|l| l.starts_with("P01,1,binocular,")),
        "{vq}"
    );
    // And each trial's, per eye and both.
    let tq = std::fs::read_to_string(out_dir.join("analysis/quality_trials_eyes.csv")).unwrap();
    assert_eq!(tq.lines().count(), 1 + 4 * 32 * 3, "{tq:.500}");
    // The methods paragraph, from this analysis's numbers.
    let methods = std::fs::read_to_string(out_dir.join("analysis/methods.md")).unwrap();
    for text in [
        "4 recording(s) of 4 participant(s)",
        "SIMULATED",
        "-point calibration",
        "Accuracy of the accepted validation",
        "Tobii I-VT (Fixation) filter",
        "threshold 30 °/s",
        "dwell time on 'mouth'",
        "Kenward–Roger",
        "expression × condition (likelihood-ratio test",
        "et-suite 0.1.0",
    ] {
        assert!(
            methods.contains(text),
            "methods.md lacks {text:?}: {methods}"
        );
    }
    assert!(report.contains("<h2>Methods</h2>"));

    // Mean share of stimulus time on the mouth, per expression over all conditions (64
    // participant x image observations each), is close to the planted share of visit time;
    // saccades and blinks take a few percent off.
    let truth = std::fs::read_to_string(out_dir.join("analysis/ground_truth.csv")).unwrap();
    let planted = |e: &str| -> f64 {
        truth
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{e},")))
            .unwrap()
            .parse()
            .unwrap()
    };
    let effects =
        std::fs::read_to_string(out_dir.join("analysis/ground_truth_effects.csv")).unwrap();
    assert_eq!(
        effects
            .lines()
            .filter(|l| l.starts_with("participant,"))
            .count(),
        4
    );
    for (expr, expected) in [
        ("smile", planted("smile")),
        ("no_smile", planted("no_smile")),
    ] {
        let shares: Vec<f64> = summary
            .lines()
            .skip(1)
            .map(|l| l.split(',').collect::<Vec<_>>())
            .filter(|f| f[1] == expr)
            .map(|f| f[5].parse().unwrap())
            .collect();
        let share = shares.iter().sum::<f64>() / shares.len() as f64;
        assert!(
            (share - expected).abs() < 0.06,
            "{expr}: measured {share:.3}, planted {expected:.3}"
        );
    }
    assert_eq!(
        std::fs::read_dir(out_dir.join("recordings"))
            .unwrap()
            .count(),
        4
    );

    // Exclusion rules: trials below the valid share and a participant below the share of
    // trials left are listed with their rule, and left out of the dwell table.
    let quality = std::fs::read_to_string(out_dir.join("analysis/quality_trials.csv")).unwrap();
    assert_eq!(quality.lines().count(), 1 + 4 * 32, "{quality}");
    let shares: Vec<f64> = quality
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(6).unwrap().parse().unwrap())
        .collect();
    let mut sorted = shares.clone();
    sorted.sort_by(f64::total_cmp);
    let cut = sorted[sorted.len() / 4];
    let cfg = dir.path().join("exclude.toml");
    std::fs::write(
        &cfg,
        format!("[exclusion]\nmin_valid_share = {cut}\nmin_trials_share = 0.9\n"),
    )
    .unwrap();
    let excluded_dir = dir.path().join("excluded");
    let recs: Vec<String> = (1..=4)
        .map(|i| s(&out_dir.join(format!("recordings/P0{i}.h5"))).to_string())
        .collect();
    let mut args = vec!["analyze"];
    args.extend(recs.iter().map(String::as_str));
    args.extend(["--config", s(&cfg), "--out", s(&excluded_dir)]);
    let analysed = run(&args);
    assert!(
        analysed.status.success(),
        "{}",
        String::from_utf8_lossy(&analysed.stderr)
    );
    let ex = std::fs::read_to_string(excluded_dir.join("exclusions.csv")).unwrap();
    let below = shares.iter().filter(|v| **v < cut).count();
    assert_eq!(ex.matches(",min_valid_share,").count(), below, "{ex}");
    // Each participant: out when more than 10 % of their trials are; else their trials less
    // the excluded ones are in the dwell table (one row per trial for the study AOI).
    let dwell = std::fs::read_to_string(excluded_dir.join("dwell.csv")).unwrap();
    let mut expected_rows = 0;
    for i in 1..=4 {
        let p = format!("P0{i}");
        let n = ex
            .lines()
            .filter(|l| l.starts_with(&format!("{p},")) && !l.contains(",-1,"))
            .count();
        let out = ex.contains(&format!("{p},-1,min_trials_share,"));
        assert_eq!(out, n > 3, "{p}: {n} trials excluded\n{ex}");
        if !out {
            expected_rows += 32 - n;
        }
    }
    assert_eq!(dwell.lines().count() - 1, expected_rows, "{ex}");
    assert!(String::from_utf8_lossy(&analysed.stdout).contains("excluded before the statistics"));

    // A scanpath on request: one of P01's stimuli; a bad request names what exists.
    let dwell_all = std::fs::read_to_string(out_dir.join("analysis/dwell.csv")).unwrap();
    let stimulus = dwell_all
        .lines()
        .find(|l| l.starts_with("P01,"))
        .and_then(|l| l.split(',').nth(2))
        .unwrap()
        .to_string();
    let scan_dir = dir.path().join("scan");
    let spec = format!("P01:{stimulus}");
    let mut args = vec!["analyze"];
    args.extend(recs.iter().map(String::as_str));
    let manifest = out_dir.join("stimuli/manifest.toml");
    args.extend(["--out", s(&scan_dir), "--scanpath", spec.as_str()]);
    args.extend(["--stimuli", s(&manifest)]);
    let o = run(&args);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let svg =
        std::fs::read_to_string(scan_dir.join(format!("scanpaths/P01_{stimulus}.svg"))).unwrap();
    // Drawn over the stimulus itself (embedded in the SVG as an image).
    assert!(
        svg.contains(&format!("Scanpath of P01 on {stimulus}"))
            && svg.contains("image x (px)")
            && svg.contains("<image"),
        "{svg:.1500}"
    );
    let scan2 = dir.path().join("scan2");
    let mut bad = vec!["analyze"];
    bad.extend(recs.iter().map(String::as_str));
    bad.extend(["--out", s(&scan2), "--scanpath", "P99:nothing"]);
    assert_clean_error(
        &run(&bad),
        "--scanpath P99:nothing: no stimulus \"nothing\" in the analysis (it has: ",
    );
    assert!(!scan2.exists());

    let again = run(&["demo", "--out", s(&out_dir), "--participants", "4"]);
    assert_clean_error(&again, "P01.h5: exists from an earlier demo; pass --force");
    let forced = run(&[
        "demo",
        "--out",
        s(&out_dir),
        "--participants",
        "4",
        "--force",
    ]);
    assert!(
        forced.status.success(),
        "{}",
        String::from_utf8_lossy(&forced.stderr)
    );
}

#[test]
fn serial_markers_reach_the_port_and_the_recording() {
    use serialport::SerialPort;
    use std::io::Read;
    let (mut master, slave) = serialport::TTYPort::pair().expect("a pseudo-terminal pair");
    let dir = tempfile::tempdir().unwrap();
    let extra = format!(
        "[timing]\nstimulus_ms = 100\nfixation_ms = 50\niti_ms = 50\n[markers]\nport = \"{}\"\ncodes = {{ stimulus_onset = 10, stimulus_offset = 20 }}\n",
        slave.name().unwrap()
    );
    let cfg = small_study(dir.path(), &extra);
    let out = dir.path().join("m.h5");
    record_at_full_speed(&cfg, &out);
    let mut got = vec![0u8; 64];
    master
        .set_timeout(std::time::Duration::from_secs(2))
        .unwrap();
    master.read_exact(&mut got).unwrap();
    assert!(got.chunks(2).all(|c| c == [10, 20]), "{got:?}");
    let rec = Recording::open(&out).unwrap();
    let markers: Vec<_> = rec.events.iter().filter(|e| e.kind == "marker").collect();
    assert_eq!(markers.len(), 64);
    assert!(
        markers[0].text.starts_with("code 10 for stimulus_onset"),
        "{}",
        markers[0].text
    );
    drop(slave);
}

#[test]
fn calibration_removes_the_simulated_error_and_every_attempt_is_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let base = "[timing]\nstimulus_ms = 100\nfixation_ms = 50\niti_ms = 50\n[synthetic_calibration_error]\noffset_deg = [1.5, -1.0]\ngain = [1.05, 0.95]\n";
    let cfg = small_study(dir.path(), &format!("{base}[calibration]\npoints = 9\n"));
    let out = dir.path().join("cal.h5");
    record_at_full_speed(&cfg, &out);
    let rec = Recording::open(&out).unwrap();
    let targets = rec
        .events
        .iter()
        .filter(|e| e.kind == "calibration" && e.text.contains("target"))
        .count();
    assert_eq!(targets, 9);
    let verdict = rec
        .events
        .iter()
        .find(|e| e.kind == "validation" && e.text.contains("PASS"))
        .expect("validation passed");
    assert!(verdict.text.starts_with("attempt 1:"), "{}", verdict.text);
    // Four validation targets × two eyes, all well under the 1.5° error calibration removed.
    assert_eq!(rec.validation.len(), 8);
    assert!(
        rec.validation
            .iter()
            .all(|v| v.attempt == 1 && v.accuracy_deg < 1.0),
        "{:?}",
        rec.validation
    );

    // Thresholds nobody meets: three attempts, all recorded, and the session still runs.
    let cfg = small_study(
        dir.path(),
        &format!("{base}[calibration]\nmax_accuracy_deg = 0.01\n"),
    );
    let out = dir.path().join("strict.h5");
    let o = run_at_full_speed(&cfg, &out, &[]);
    // ... and exits with the status for data with a problem: nobody accepted a validation.
    assert_eq!(
        o.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let rec = Recording::open(&out).unwrap();
    assert_eq!(
        rec.events
            .iter()
            .filter(|e| e.kind == "validation" && e.text.contains("FAIL"))
            .count(),
        3
    );
    assert_eq!(rec.validation.iter().map(|v| v.attempt).max(), Some(3));
    assert!(rec
        .events
        .iter()
        .any(|e| e.text.contains("validation failed after 3 attempts")));
    assert!(rec.header.complete && rec.trials.len() == 32);

    let bad = small_study(dir.path(), "[calibration]\npoints = 7\n");
    assert_clean_error(
        &run(&[
            "run",
            "--config",
            s(&bad),
            "--headless",
            "--out",
            s(&dir.path().join("x.h5")),
        ]),
        "calibration.points must be 5 or 9",
    );
}

#[test]
fn the_operator_redoes_one_point_then_recalibrates_then_accepts() {
    let dir = tempfile::tempdir().unwrap();
    // A threshold nobody meets, so each attempt fails and the operator chooses.
    let cfg = small_study(
        dir.path(),
        "[timing]\nstimulus_ms = 100\nfixation_ms = 50\niti_ms = 50\n\
         [synthetic_calibration_error]\noffset_deg = [1.5, -1.0]\ngain = [1.05, 0.95]\n\
         [calibration]\npoints = 5\ndecision = \"operator\"\nmax_accuracy_deg = 0.01\nmax_attempts = 1\n",
    );
    let out = dir.path().join("op.h5");
    let mut cmd = crate::common::bin();
    cmd.args([
        "run",
        "--config",
        s(&cfg),
        "--headless",
        "--speed",
        "max",
        "--out",
        s(&out),
    ]);
    let o = crate::common::run_answering(
        cmd,
        &[
            ("positioning guide on screen", "c"),
            ("validation attempt 1 FAIL", "4"),
            ("validation attempt 2 FAIL", "r"),
            // The operator's recalibration starts with the positioning guide.
            ("positioning guide on screen", "c"),
            ("validation attempt 3 FAIL", "c"),
        ],
    );
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    assert!(
        stderr.contains("4 bottom-left"),
        "the prompt names the points: {stderr}"
    );
    // Each target over the limit named where it is on the screen, with the key of the
    // calibration point nearest to it (the centre, 3, for the four targets around it).
    assert!(
        stderr.contains("over 0.01°: ")
            && stderr.contains("top centre (50 %, 20 %) 0.")
            && stderr.contains("° → key 3")
            && stderr.contains("worst target "),
        "{stderr}"
    );
    assert!(
        !stderr.contains("(0.50, 0.20)"),
        "normalised units: {stderr}"
    );
    let rec = Recording::open(&out).unwrap();
    assert!(rec.header.complete && rec.trials.len() == 32);
    let cal: Vec<&str> = rec
        .events
        .iter()
        .filter(|e| e.kind == "calibration")
        .map(|e| e.text.as_str())
        .collect();
    let targets = |a: i32| {
        cal.iter()
            .filter(|t| t.starts_with(&format!("attempt {a}:")) && t.contains("target"))
            .count()
    };
    // All five, then point 4 (bottom-left) alone, then all five again.
    assert_eq!((targets(1), targets(2), targets(3)), (5, 1, 5), "{cal:#?}");
    assert!(
        cal.contains(&"attempt 2: point 4 target (0.10, 0.90)"),
        "{cal:#?}"
    );
    assert!(
        cal.contains(&"attempt 2: applied (5 points, point 4 redone)"),
        "{cal:#?}"
    );
    assert!(cal.contains(&"attempt 1: redo point 4 (by the operator)"));
    assert!(cal.contains(&"attempt 2: recalibrate every point (by the operator)"));
    // The thresholds are out of reach: accepting says the validation failed.
    assert!(cal.contains(&"attempt 3: accepted although it FAILED (by the operator)"));
    // Each attempt validated (4 targets × 2 eyes), and max_attempts does not bind the operator.
    for a in 1..=3 {
        assert_eq!(rec.validation.iter().filter(|v| v.attempt == a).count(), 8);
    }
    assert!(!rec
        .events
        .iter()
        .any(|e| e.text.contains("validation failed after")));
}

/// Recording and analysis never load libtorch: only `et-suite-prepare` (the networks, built
/// beside et-suite by `cargo build --workspace --bins`) links it, and `et-suite prepare …` runs
/// that binary.
#[test]
fn the_main_binary_does_not_link_libtorch() {
    let main = std::path::Path::new(env!("CARGO_BIN_EXE_et-suite"));
    let o = crate::common::command("ldd")
        .arg(main)
        .output()
        .expect("ldd runs");
    let libs = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{libs}");
    assert!(!libs.contains("torch"), "{libs}");
    let companion = main.with_file_name("et-suite-prepare");
    let o = crate::common::command("ldd")
        .arg(&companion)
        .output()
        .expect("ldd runs");
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("libtorch_cpu"),
        "{}: build it with cargo build --workspace --bins",
        companion.display()
    );
}

/// At a scaled speed the simulated display misses the vsyncs that pass while the runner waits
/// for validation samples, instead of showing the next target "in the past" (the simulated eye
/// then arrived late and validation failed by several degrees). The config names no
/// `[calibration]`: a session calibrates by default, as the study did, and the operator's live
/// line (printed when stderr is not a terminal) follows it once a second.
#[test]
fn calibration_at_ten_times_real_time_validates_on_the_first_attempt() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = small_study(
        dir.path(),
        "[timing]\nstimulus_ms = 100\nfixation_ms = 50\niti_ms = 50\n",
    );
    let out = dir.path().join("x10.h5");
    let o = run(&[
        "run",
        "--config",
        s(&cfg),
        "--headless",
        "--speed",
        "10",
        "--out",
        s(&out),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let rec = Recording::open(&out).unwrap();
    let verdict = rec
        .events
        .iter()
        .find(|e| e.kind == "validation" && (e.text.contains("PASS") || e.text.contains("FAIL")))
        .unwrap();
    assert!(
        verdict.text.starts_with("attempt 1:") && verdict.text.ends_with("PASS"),
        "{}",
        verdict.text
    );
    assert!(
        rec.validation.iter().all(|v| v.accuracy_deg < 1.0),
        "{:?}",
        rec.validation
    );
    // The positioning guide came first and found the simulated eyes inside the head box.
    let positioned = rec
        .events
        .iter()
        .find(|e| e.kind == "note" && e.text.starts_with("positioning: "))
        .expect("a positioning note");
    assert!(
        positioned.text.contains("both eyes at 6")
            && positioned.text.ends_with("inside the head box"),
        "{}",
        positioned.text
    );
    // The guide, calibration, validation and trials at 10×: at least one live line, none
    // wrong. A line falls in whichever phase the session is in at that wall-clock second (on a
    // busy machine that can be any of them, from start-up before the first sample to shutting
    // down after streaming stopped), so each phase a session passes through is allowed and
    // nothing else: no pause, no silence.
    let stderr = String::from_utf8_lossy(&o.stderr);
    let live: Vec<&str> = stderr.lines().filter(|l| l.starts_with("live: ")).collect();
    assert!(!live.is_empty(), "{stderr}");
    let phases = [
        "starting",
        "positioning (",
        "calibration",
        "validation",
        "trial ",
        "session end",
    ];
    let well_formed = |l: &str| {
        l.strip_prefix("live: SIMULATED GAZE | ")
            .is_some_and(|rest| phases.iter().any(|p| rest.starts_with(p)))
            && (l.contains(" | tracker streaming")
                || l.contains(" | tracker searching (no sample yet)")
                || l.contains(" | tracker stopped"))
            && l.contains(" | dropped frames ")
    };
    assert!(live.iter().all(|l| well_formed(l)), "{live:?}");

    // Turned off: no validation, and the recording says the tracker's own calibration was used.
    let off = small_study(
        dir.path(),
        "[timing]\nstimulus_ms = 100\nfixation_ms = 50\niti_ms = 50\n[calibration]\nenabled = false\n",
    );
    let out = dir.path().join("off.h5");
    record_at_full_speed(&off, &out);
    let rec = Recording::open(&out).unwrap();
    assert!(rec.validation.is_empty());
    assert!(rec
        .events
        .iter()
        .any(|e| e.kind == "note" && e.text.starts_with("no calibration before the trials")));
}

/// The BIDS export of a session and of an import passes the current BIDS validator
/// (`bids-validator-deno`, which scripts/setup.sh installs) without an error.
#[test]
fn bids_exports_of_a_session_and_an_import_pass_the_bids_validator() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = small_study(
        dir.path(),
        "[timing]\nstimulus_ms = 200\nfixation_ms = 50\niti_ms = 50\n",
    );
    let session = dir.path().join("session.h5");
    record_at_full_speed(&cfg, &session);
    let export = dir.path().join("export.tsv");
    std::fs::write(
        &export,
        include_str!("../../recording/src/import/testdata/studio.tsv"),
    )
    .unwrap();
    let recs = dir.path().join("imported/");
    let o = run(&[
        "import",
        s(&export),
        "--out",
        s(&recs),
        "--screen-width-mm",
        "376",
        "--screen-height-mm",
        "301",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    for (name, inputs) in [
        ("session", vec![session.clone()]),
        ("import", vec![recs.join("P01.h5"), recs.join("P02.h5")]),
    ] {
        let bids = dir.path().join(format!("bids-{name}"));
        let mut args = vec!["export-bids"];
        args.extend(inputs.iter().map(|p| s(p)));
        args.extend(["--out", s(&bids)]);
        let o = run(&args);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let v = std::process::Command::new("bids-validator-deno")
            .arg(&bids)
            .env("NO_COLOR", "1")
            .output()
            .expect("bids-validator-deno (scripts/setup.sh installs it)");
        let report = String::from_utf8_lossy(&v.stdout);
        assert!(
            v.status.success() && !report.contains("[ERROR]"),
            "{name}: {report}{}",
            String::from_utf8_lossy(&v.stderr)
        );
    }
}

/// Gaze alone (a plain CSV without media): the data quality is judged over the whole
/// recording, never "valid NaN" or "lost_ms -0".
#[test]
fn a_recording_without_media_has_a_data_quality_of_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let export = dir.path().join("gaze.csv");
    // 2 s at 120 Hz; every 10th sample lost.
    let mut text = String::from("time [ms],x,y\n");
    for k in 0..240 {
        let t = k as f64 * 1000.0 / 120.0;
        if k % 10 == 3 {
            text.push_str(&format!("{t:.3},NaN,NaN\n"));
        } else {
            text.push_str(&format!("{t:.3},{},500\n", 900 + k % 7));
        }
    }
    std::fs::write(&export, text).unwrap();
    let rec = dir.path().join("gaze.h5");
    let o = run(&[
        "import",
        s(&export),
        "--out",
        s(&rec),
        "--screen-width-px",
        "1920",
        "--screen-height-px",
        "1080",
        "--screen-width-mm",
        "530",
        "--screen-height-mm",
        "300",
        "--viewing-distance-mm",
        "650",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = dir.path().join("analysis");
    let o = run(&["analyze", s(&rec), "--out", s(&out)]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let stdout = String::from_utf8_lossy(&o.stdout);
    let row = stdout
        .lines()
        .skip_while(|l| !l.starts_with("Data quality per participant"))
        .find(|l| l.starts_with("gaze "))
        .unwrap_or_else(|| panic!("{stdout}"));
    let cells: Vec<&str> = row.split_whitespace().collect();
    // participant, trials, valid, lost_ms: 216 of 240 samples with gaze, nothing lost.
    assert_eq!(&cells[..4], ["gaze", "0", "0.900", "0"], "{stdout}");
    let quality = std::fs::read_to_string(out.join("quality_participants.csv")).unwrap();
    assert!(
        !quality.contains("NaN") && !quality.contains(",-0"),
        "{quality}"
    );
}

/// Data from another tool: a Tobii Studio export of two participants becomes two recordings,
/// and `analyze` judges per-media AOIs on them (no stimulus manifest); without AOIs it still
/// writes fixations and says why the AOI tables are missing.
#[test]
fn a_tobii_studio_export_is_imported_and_analysed_with_media_aois() {
    let dir = tempfile::tempdir().unwrap();
    let export = dir.path().join("export.tsv");
    std::fs::write(
        &export,
        include_str!("../../recording/src/import/testdata/studio.tsv"),
    )
    .unwrap();
    let recs = dir.path().join("recordings");
    let o = run(&[
        "import",
        s(&export),
        "--out",
        s(&recs),
        "--screen-width-mm",
        "376",
        "--screen-height-mm",
        "301",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("participant P01: 360 samples"), "{stdout}");
    assert!(stdout.contains("at 300 Hz (estimated)"), "{stdout}");
    let (p1, p2) = (recs.join("P01.h5"), recs.join("P02.h5"));
    assert_eq!(Recording::open(&p1).unwrap().trials.len(), 2);

    // face1.png: gaze at x = 400 then 800 (screen px); the media is drawn from x = 240, so an
    // AOI over media px 100..300 holds the first half.
    let aois = dir.path().join("aois.toml");
    std::fs::write(
        &aois,
        "[[stimulus.\"face1.png\"]]\nname = \"mouth\"\nshape = \"rectangle\"\nx = 100.0\ny = 0.0\nwidth = 200.0\nheight = 800.0\n\
         [[stimulus.\"face2.png\"]]\nname = \"mouth\"\nshape = \"rectangle\"\nx = 600.0\ny = 0.0\nwidth = 200.0\nheight = 800.0\n",
    )
    .unwrap();
    let out = dir.path().join("analysis");
    let o = run(&[
        "analyze",
        s(&p1),
        s(&p2),
        "--out",
        s(&out),
        "--aois",
        s(&aois),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let dwell = std::fs::read_to_string(out.join("dwell.csv")).unwrap();
    let face1: Vec<&str> = dwell.lines().filter(|l| l.contains("face1.png")).collect();
    assert_eq!(face1.len(), 2, "{dwell}");
    // 90 of 180 samples at 300 Hz in the AOI: 300 ms.
    for row in &face1 {
        let dwell_ms: f64 = row.split(',').nth(8).unwrap().parse().unwrap();
        assert!((dwell_ms - 300.0).abs() < 4.0, "{row}");
    }
    // The user's own study: the AOI metrics per stimulus lead; no smile models are fitted
    // for recordings without smile and no-smile faces.
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        stdout.starts_with("AOI metrics per stimulus") && !stdout.contains("Smile vs no smile"),
        "{stdout}"
    );
    let per_stimulus = std::fs::read_to_string(out.join("aoi_stimuli.csv")).unwrap();
    assert!(
        per_stimulus
            .lines()
            .nth(1)
            .unwrap()
            .starts_with("face1.png,mouth,2,"),
        "{per_stimulus}"
    );
    let report = std::fs::read_to_string(out.join("report.html")).unwrap();
    let lead = report
        .find("<h2>AOI metrics per stimulus</h2>")
        .expect("AOI section");
    assert!(lead < report.find("<h2>Data quality</h2>").unwrap());
    assert!(report.contains("<h2>Fixations</h2>") && !report.contains("Smile vs no smile"));
    assert!(!report.contains("NaN") && !report.contains(">-0<"));
    assert!(out.join("aoi_figure.png").exists() && !out.join("dwell_figure.png").exists());
    let methods = std::fs::read_to_string(out.join("methods.md")).unwrap();
    assert!(
        methods.contains("2 recording(s) were imported from exports of")
            && methods.contains("et-suite neither presented nor calibrated them")
            && methods.contains("No inferential model was fitted"),
        "{methods}"
    );
    for t in ["fixations", "events", "dwell", "aoi_metrics", "aoi_stimuli"] {
        assert!(out.join(format!("{t}.csv")).exists(), "{t}.csv");
        assert!(out.join(format!("{t}.parquet")).exists(), "{t}.parquet");
    }
    // An earlier analysis is never mixed with a new one.
    assert_clean_error(
        &run(&["analyze", s(&p1), "--out", s(&out), "--aois", s(&aois)]),
        "already exists",
    );
    // Keys without the image extension reach the media too; a key that names no stimulus of
    // the recordings is an error naming it and what they show.
    let stems = dir.path().join("stems.toml");
    std::fs::write(
        &stems,
        std::fs::read_to_string(&aois)
            .unwrap()
            .replace("face1.png", "face1")
            .replace("face2.png", "face9"),
    )
    .unwrap();
    let o = run(&[
        "analyze",
        s(&p1),
        "--out",
        s(&dir.path().join("a2")),
        "--aois",
        s(&stems),
    ]);
    assert_clean_error(&o, "AOI key(s) 'face9' match no stimulus");
    assert!(String::from_utf8_lossy(&o.stderr).contains("they show: face1.png, face2.png"));
    assert!(!dir.path().join("a2").exists());
    let o = run(&["analyze", s(&p1), "--out", s(&out), "--force"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("AOI tables skipped"), "{stdout}");
    assert!(
        std::fs::read_to_string(out.join("fixations.csv"))
            .unwrap()
            .lines()
            .count()
            > 1
    );
    assert_eq!(
        std::fs::read_to_string(out.join("dwell.csv"))
            .unwrap()
            .lines()
            .count(),
        1
    );
    // Without the screen's size in mm, nothing is written and the missing values are named.
    let o = run(&["import", s(&export), "--out", s(&dir.path().join("x"))]);
    assert_clean_error(&o, "screen width in mm");
    assert!(!dir.path().join("x").exists());
}

/// SIGINT, SIGTERM and SIGHUP at `--speed max` and at every moment of start-up: the process
/// never dies with a half-made or unreadable file. Either nothing was created yet, or the file
/// opens without `recover` and says whether the session completed (exit 130 when not).
/// A Tobii Pro Lab 1.x export (as pandas re-saves it) through `import` and `analyze`: the
/// recording names the software, `auto` picks Pro Lab 1.x's rules for it (`ivt_settings.csv`
/// says so), and `classes.csv` holds every sample in Tobii's words: the X3-120's "valid, valid,
/// lost" stretch as Pro Lab labels it (the pairs `Unclassified`, each lost sample
/// `EyesNotFound`), the still gaze around it a fixation.
#[test]
fn a_pro_lab_1_export_is_classified_as_pro_lab_1_classifies() {
    let dir = tempfile::tempdir().unwrap();
    let export = dir.path().join("eyet.csv");
    let mut t = String::from(",Recording timestamp,Sensor,Participant name,Recording name,Recording Fixation filter name,Recording software version,Recording resolution width,Recording resolution height,Gaze point left X,Gaze point left Y,Gaze point right X,Gaze point right Y,Validity left,Validity right,Eye movement type\n");
    let lost = |k: i64| (40..60).contains(&k) && k % 3 == 1;
    for k in 0..100i64 {
        let (gaze, validity, label) = if lost(k) {
            (",,,", "Invalid,Invalid", "EyesNotFound")
        } else {
            ("\"960,5\",540,\"960,5\",540", "Valid,Valid", "Fixation")
        };
        t.push_str(&format!(
            "{k},{},Eye Tracker,P01,Recording1,Tobii I-VT (Fixation),1.145.28180,1920,1080,{gaze},{validity},{label}\n",
            k * 8333
        ));
    }
    std::fs::write(&export, t).unwrap();
    let recs = dir.path().join("recs/");
    let o = run(&[
        "import",
        s(&export),
        "--out",
        s(&recs),
        "--screen-width-mm",
        "526.2",
        "--screen-height-mm",
        "295.6",
        "--viewing-distance-mm",
        "650",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stdout).contains("recorded with Tobii Pro Lab 1.145.28180"));
    let rec = recs.join("P01.h5");
    let out = dir.path().join("analysis");
    let o = run(&["analyze", s(&rec), "--out", s(&out)]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let settings = std::fs::read_to_string(out.join("ivt_settings.csv")).unwrap();
    assert!(
        settings.contains("tobii-pro-lab-1,preset auto; recorded with Tobii Pro Lab 1.145.28180"),
        "{settings}"
    );
    assert!(settings.contains(",gaze_direction,"), "{settings}");
    let classes = std::fs::read_to_string(out.join("classes.csv")).unwrap();
    let class: Vec<&str> = classes
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(3).unwrap())
        .collect();
    assert_eq!(class.len(), 100);
    for (k, got) in class.iter().enumerate().take(58).skip(40) {
        let want = if lost(k as i64) {
            "EyesNotFound"
        } else {
            "Unclassified"
        };
        assert_eq!(*got, want, "sample {k}: {classes}");
    }
    assert!(class[..38].iter().all(|c| *c == "Fixation"), "{classes}");
    assert!(out.join("classes.parquet").exists());
}

#[test]
fn signals_at_full_speed_and_during_start_up_close_the_file_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    // An hour of simulated data: about a second at full speed.
    let cfg = small_study(
        dir.path(),
        "[timing]\nstimulus_ms = 110000\nfixation_ms = 500\niti_ms = 250\n",
    );
    let mut signalled_mid_session = 0;
    for (k, (delay_ms, sig)) in [
        (0, libc::SIGTERM),
        (3, libc::SIGINT),
        (8, libc::SIGHUP),
        (15, libc::SIGTERM),
        (30, libc::SIGINT),
        (60, libc::SIGTERM),
        (120, libc::SIGHUP),
        (250, libc::SIGINT),
    ]
    .into_iter()
    .enumerate()
    {
        let out = dir.path().join(format!("s{k}.h5"));
        let mut child = crate::common::bin()
            .args(["run", "--config", s(&cfg), "--headless", "--speed", "max"])
            .args(["--out", s(&out)])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        // The first three land during start-up; the others are timed from the file's
        // appearance, so a slow start on a busy machine still leaves them mid-session (the
        // wait is a hang guard only).
        if k >= 3 {
            crate::common::wait_for_file(&out);
        }
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        // SAFETY: signalling our own child by its pid.
        unsafe { libc::kill(child.id() as i32, sig) };
        let status = child.wait().unwrap();
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains(".creating"))
            .collect();
        assert!(
            leftovers.is_empty(),
            "signal after {delay_ms} ms: {leftovers:?}"
        );
        if !out.exists() {
            continue;
        }
        let rec = Recording::open(&out)
            .unwrap_or_else(|e| panic!("signal after {delay_ms} ms: {e} ({status:?})"));
        if rec.header.complete {
            assert!(status.success(), "signal after {delay_ms} ms: {status:?}");
        } else {
            assert_eq!(status.code(), Some(130), "signal after {delay_ms} ms");
            signalled_mid_session += 1;
        }
    }
    assert!(signalled_mid_session >= 3, "{signalled_mid_session}");
}

/// A full disk (a real 2 MB tmpfs; the test needs the right to mount one, as root in CI has):
/// `run` says "disk full" with the path, exits non-zero, and the file opens without `recover`,
/// marked incomplete, with no row that was not written (no zero time stamps).
#[test]
fn a_full_disk_is_named_and_the_file_holds_only_what_was_written() {
    let dir = tempfile::tempdir().unwrap();
    let disk = dir.path().join("disk");
    std::fs::create_dir(&disk).unwrap();
    let mounted = crate::common::command("mount")
        .args(["-t", "tmpfs", "-o", "size=2m", "tmpfs", s(&disk)])
        .status()
        .is_ok_and(|st| st.success());
    if !mounted {
        eprintln!("SKIPPED: cannot mount a tmpfs here (not root)");
        return;
    }
    struct Unmount<'a>(&'a std::path::Path);
    impl Drop for Unmount<'_> {
        fn drop(&mut self) {
            let _ = crate::common::command("umount").arg(self.0).status();
        }
    }
    let _unmount = Unmount(&disk);
    let cfg = small_study(
        dir.path(),
        "[timing]\nstimulus_ms = 60000\nfixation_ms = 500\niti_ms = 250\n",
    );
    let out = disk.join("r.h5");
    let o = run(&[
        "run",
        "--config",
        s(&cfg),
        "--headless",
        "--speed",
        "max",
        "--out",
        s(&out),
    ]);
    assert_clean_error(&o, "disk full while");
    // The space held for closing the file let it close: readable, and nothing claimed that
    // was not written (at full speed the first flush may already fail: then it holds none).
    let rec = Recording::open(&out).expect("readable without recover");
    assert!(!rec.header.complete);
    assert!(rec.gaze.iter().all(|g| g.system_ts_us != 0));
    assert!(rec
        .gaze
        .windows(2)
        .all(|w| w[0].system_ts_us < w[1].system_ts_us));
    let names: Vec<String> = std::fs::read_dir(&disk)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["r.h5"]);
    // A disk without room to close a recording is full before the session starts.
    std::fs::remove_file(&out).unwrap();
    std::fs::write(disk.join("ballast"), vec![0u8; 1_500_000]).unwrap();
    let again = disk.join("r2.h5");
    assert_clean_error(
        &run(&["run", "--config", s(&cfg), "--headless", "--out", s(&again)]),
        "disk full while reserving 1 MiB",
    );
    assert!(!again.exists());
    std::fs::remove_file(disk.join("ballast")).unwrap();

    // `import` and `replay` write through the same writer: a full disk is named, and what is
    // left is nothing or a file that holds only what was written.
    let export = dir.path().join("big.csv");
    let mut text = String::from("time [ms],x,y\n");
    for k in 0..120_000 {
        text.push_str(&format!(
            "{:.3},{},{}\n",
            k as f64 * 1000.0 / 120.0,
            900 + k % 50,
            500
        ));
    }
    std::fs::write(&export, text).unwrap();
    let imported = disk.join("imp.h5");
    assert_clean_error(
        &run(&[
            "import",
            s(&export),
            "--out",
            s(&imported),
            "--screen-width-px",
            "1920",
            "--screen-height-px",
            "1080",
            "--screen-width-mm",
            "530",
            "--screen-height-mm",
            "300",
            "--viewing-distance-mm",
            "650",
        ]),
        "disk full while",
    );
    let source = dir.path().join("source.h5");
    let long = small_study(
        dir.path(),
        "[timing]\nstimulus_ms = 2000\nfixation_ms = 100\niti_ms = 0\n",
    );
    record_at_full_speed(&long, &source);
    let replayed = disk.join("rep.h5");
    assert_clean_error(
        &run(&[
            "replay",
            s(&source),
            "--speed",
            "max",
            "--out",
            s(&replayed),
        ]),
        "disk full while",
    );
    for left in [imported, replayed] {
        if left.exists() {
            let rec = Recording::open(&left).expect("readable without recover");
            assert!(!rec.header.complete);
            assert!(rec.gaze.iter().all(|g| g.system_ts_us != 0));
        }
    }
    let names: Vec<String> = std::fs::read_dir(&disk)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".creating") || n.contains(".reserve"))
        .collect();
    assert!(names.is_empty(), "{names:?}");
}

#[test]
fn a_flipped_byte_in_stored_gaze_is_reported_by_inspect_and_recover() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("flip.h5");
    let mut h = et_recording::RecordingHeader::new("P01", "1");
    h.sampling_hz = 120.0;
    let mut w = et_recording::RecordingWriter::create(&path, &h, None).unwrap();
    // Time stamps with a byte pattern found nowhere else in the file.
    let base: i64 = 0x0123_4567_89ab;
    let rows: Vec<et_drivers::GazeSample> = (0..2000)
        .map(|k| et_drivers::GazeSample {
            system_ts_us: base + k * 8333,
            device_ts_us: base + k * 8333,
            left: et_drivers::EyeSample::INVALID,
            right: et_drivers::EyeSample::INVALID,
        })
        .collect();
    w.append_gaze(&rows).unwrap();
    w.finish(true).unwrap();
    let clean = run(&["inspect", s(&path)]);
    assert!(
        clean.status.success(),
        "{}",
        String::from_utf8_lossy(&clean.stderr)
    );

    let mut bytes = std::fs::read(&path).unwrap();
    let needle = (base + 1000 * 8333).to_le_bytes();
    let at = bytes
        .windows(8)
        .position(|w| w == needle)
        .expect("the time stamp is stored as written");
    bytes[at] ^= 0x01;
    std::fs::write(&path, &bytes).unwrap();
    for cmd in ["inspect", "recover"] {
        let out = run(&[cmd, s(&path)]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{cmd} accepted a corrupted file");
        assert!(
            err.contains("checksum") && err.contains("flip.h5") && err.contains("damaged"),
            "{cmd}: {err}"
        );
    }
}

#[test]
fn a_demo_that_cannot_start_changes_nothing_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("demo");
    let bad = dir.path().join("manifest.toml");
    std::fs::write(&bad, "this is not a manifest").unwrap();
    let o = run(&[
        "demo",
        "--out",
        s(&out),
        "--stimuli",
        s(&bad),
        "--participants",
        "2",
    ]);
    assert!(!o.status.success());
    assert!(
        !out.join("recordings").exists(),
        "an empty recordings/ was left"
    );
}

#[test]
fn an_aoi_mask_of_another_size_than_the_images_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = small_study(
        dir.path(),
        "[timing]\nstimulus_ms = 200\nfixation_ms = 100\niti_ms = 0\n",
    );
    let rec = dir.path().join("r.h5");
    record_at_full_speed(&cfg, &rec);
    image::GrayImage::from_pixel(10, 10, image::Luma([255]))
        .save(dir.path().join("mouth.png"))
        .unwrap();
    let aois = dir.path().join("aois.toml");
    std::fs::write(
        &aois,
        "[[aoi]]\nname = \"mouth\"\nshape = \"mask\"\npath = \"mouth.png\"\n",
    )
    .unwrap();
    let out = dir.path().join("an");
    assert_clean_error(
        &run(&["analyze", s(&rec), "--aois", s(&aois), "--out", s(&out)]),
        "AOI 'mouth': mask mouth.png is 10x10 px but the stimuli are 64x64 px",
    );
    assert!(!out.exists());
}

#[test]
fn an_error_names_its_cause_once() {
    let o = run(&["run", "--config", "/nonexistent/study.toml", "--headless"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert_eq!(err.matches("os error 2").count(), 1, "{err}");
}

/// The replay tracker standing in for one that stops sending: a recording shorter than the
/// session is replayed into it. The session warns before it starts, records `replay_end` (not
/// silence), counts each trial's samples, says how many trials got none and exits with the
/// status for data with a problem; `inspect` shows it.
#[test]
fn a_session_whose_gaze_ends_early_says_so_and_does_not_exit_0() {
    let dir = tempfile::tempdir().unwrap();
    let short = dir.path().join("short.h5");
    let cfg = small_study(
        dir.path(),
        "[timing]\nstimulus_ms = 100\nfixation_ms = 50\niti_ms = 50\n[calibration]\nenabled = false\n",
    );
    record_at_full_speed(&cfg, &short);
    let cfg = small_study(
        dir.path(),
        "[timing]\nstimulus_ms = 400\nfixation_ms = 50\niti_ms = 50\n[calibration]\nenabled = false\n",
    );
    let out = dir.path().join("out.h5");
    let replay = format!("replay:{}", s(&short));
    let o = run_at_full_speed(&cfg, &out, &["--tracker", &replay]);
    let (stdout, stderr) = (
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr),
    );
    assert_eq!(o.status.code(), Some(3), "{stderr}");
    // Said when the tracker is opened, before the recording exists.
    assert!(
        stderr.lines().any(|l| l.contains("warning: ")
            && l.contains("short.h5")
            && l.contains("after its end the session records no gaze")),
        "{stderr}"
    );
    assert!(
        stdout.contains("the replayed recording ended before the session"),
        "{stdout}"
    );
    let rec = Recording::open(&out).unwrap();
    assert!(rec.header.complete);
    assert_eq!(rec.header.tracker_kind, "replay");
    assert_eq!(rec.header.tracker_silent_ms, Some(0.0));
    assert!(rec.events.iter().any(|e| e.kind == "replay_end"));
    assert!(!rec.events.iter().any(|e| e.kind == "tracker_lost"));
    let empty = rec
        .trials
        .iter()
        .filter(|t| t.samples.without_gaze())
        .count();
    assert!((10..32).contains(&empty), "{empty} trials without gaze");
    assert!(
        stdout.contains(&format!("{empty} trial(s) without any gaze sample")),
        "{stdout}"
    );
    assert!(rec.trials.iter().all(|t| t.samples.expected == 48));
    let o = run(&["inspect", s(&out)]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains(&format!("({empty} WITHOUT ANY GAZE SAMPLE)")),
        "{text}"
    );
    assert!(text.contains("REPLAYED"), "{text}");
    assert!(text.contains("48/0/0  NO GAZE"), "{text}");
}

/// Any `--speed` simulates exactly what `max` does (same samples, frames and trial durations):
/// the virtual clock waits for the simulation instead of running ahead of it.
#[test]
fn every_speed_records_exactly_what_max_records() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = small_study(
        dir.path(),
        "[timing]\nstimulus_ms = 300\nfixation_ms = 100\niti_ms = 100\n[calibration]\nenabled = false\n",
    );
    let session = |speed: &str| {
        let out = dir.path().join(format!("s{speed}.h5"));
        let o = run(&[
            "run",
            "--config",
            s(&cfg),
            "--headless",
            "--speed",
            speed,
            "--out",
            s(&out),
        ]);
        assert!(
            o.status.success(),
            "--speed {speed}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        Recording::open(&out).unwrap()
    };
    let max = session("max");
    let shape = |r: &Recording| {
        let t0 = r.gaze[0].system_ts_us;
        (
            r.gaze.len(),
            r.frames.len(),
            r.trials
                .iter()
                .map(|t| {
                    (
                        t.onset_us - t0,
                        t.offset_us - t.onset_us,
                        t.frames,
                        t.samples,
                    )
                })
                .collect::<Vec<_>>(),
        )
    };
    assert_eq!(max.trials.len(), 32);
    for speed in ["400", "1e9"] {
        assert_eq!(shape(&session(speed)), shape(&max), "--speed {speed}");
    }
}

/// A session at an absurd speed still ends on a signal: exit 130, the file closed and marked
/// incomplete, the simulated clock no further than the session got.
#[test]
fn a_signal_ends_a_session_at_any_speed() {
    let dir = tempfile::tempdir().unwrap();
    // Five hours of simulated session: far longer than the test waits.
    let cfg = small_study(
        dir.path(),
        "[timing]\nstimulus_ms = 600000\nfixation_ms = 500\niti_ms = 250\n",
    );
    let out = dir.path().join("fast.h5");
    let mut child = crate::common::bin()
        .args(["run", "--config", s(&cfg), "--headless", "--speed", "1e9"])
        .args(["--out", s(&out)])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    crate::common::wait_for_file(&out);
    std::thread::sleep(std::time::Duration::from_millis(300));
    // SAFETY: signalling our own child by its pid.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let t0 = std::time::Instant::now();
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        assert!(
            t0.elapsed() < crate::common::HANG,
            "SIGTERM did not end the session"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(130));
    let rec = Recording::open(&out).unwrap();
    assert!(!rec.header.complete);
    let planned_us = 32 * 600_750_000i64;
    let span = rec.gaze.last().unwrap().system_ts_us - rec.gaze[0].system_ts_us;
    assert!(span < planned_us, "{span} µs simulated");
}

/// Forgetting the tracker never records simulated gaze for a participant: a session in the
/// window without `--tracker` or `[tracker] kind` is refused before anything exists, naming
/// both ways to choose; a headless run records the synthetic tracker and says so throughout.
#[test]
fn the_tracker_is_chosen_on_purpose() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = small_study(dir.path(), "[calibration]\nenabled = false\n");
    let out = dir.path().join("x.h5");
    let o = run(&["run", "--config", s(&cfg), "--windowed", "--out", s(&out)]);
    assert_clean_error(&o, "no tracker chosen");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("--tracker tobii") && err.contains("[tracker] kind"),
        "{err}"
    );
    assert!(!out.exists());
    let o = run_at_full_speed(&cfg, &out, &[]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains("SIMULATED GAZE: the synthetic tracker"),
        "{err}"
    );
    let rec = Recording::open(&out).unwrap();
    assert_eq!(rec.header.tracker_kind, "synthetic");
    let o = run(&["inspect", s(&out)]);
    assert!(String::from_utf8_lossy(&o.stdout).contains("SIMULATED"));
}

/// A headless session whose every validation fails says so as it happens and at the end, and
/// exits with the status for data with a problem unless the failure is accepted on purpose;
/// the recording and `inspect` say which.
#[test]
fn failed_validations_are_in_plain_sight_and_fail_the_run_unless_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = small_study(
        dir.path(),
        "[timing]\nstimulus_ms = 100\nfixation_ms = 50\niti_ms = 50\n[calibration]\nmax_accuracy_deg = 0.001\n[calibration.positioning]\nenabled = false\n",
    );
    let session = |name: &str, extra: &[&str]| {
        let out = dir.path().join(name);
        (run_at_full_speed(&cfg, &out, extra), out)
    };
    let (o, out) = session("failed.h5", &[]);
    let (stdout, stderr) = (
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr),
    );
    assert_eq!(o.status.code(), Some(3), "{stderr}");
    // Each attempt, with the limits, as it happens; the verdict at the end.
    assert_eq!(
        stderr.matches("▶ validation attempt").count(),
        3,
        "{stderr}"
    );
    assert!(
        stderr.contains("FAIL: left: accuracy") && stderr.contains("(over)"),
        "{stderr}"
    );
    assert!(stderr.contains("limits: accuracy 0.00°"), "{stderr}");
    assert!(
        stdout.contains("validation (attempt 3, FAILED, not accepted): left accuracy"),
        "{stdout}"
    );
    assert!(stdout.contains("dropped frames: 0"), "{stdout}");
    assert!(
        stderr.contains("no validation passed and none was accepted"),
        "{stderr}"
    );
    let text = String::from_utf8_lossy(&run(&["inspect", s(&out)]).stdout).into_owned();
    assert!(text.contains("validation           3 attempt(s)"), "{text}");
    assert!(text.contains("    attempt 2: left accuracy"), "{text}");
    assert!(text.contains("not accepted"), "{text}");

    let (o, out) = session("accepted.h5", &["--accept-failed-validation"]);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(stdout.contains("FAILED, accepted as it is"), "{stdout}");
    let rec = Recording::open(&out).unwrap();
    assert!(rec.events.iter().any(|e| e
        .text
        .contains("accepted as it is (--accept-failed-validation)")));
}
