//! Bad input through the command line, one row per case and each row its own test
//! (`common::error_rows`): how the row's inputs are made, the command a user would type, and
//! what its one error line must name; the folder must be left as it was. The stimulus
//! networks' bad inputs are rows in `prepare`.

use std::path::{Path, PathBuf};

use crate::common::{argv, error_rows, path_in, record_at_full_speed, s, small_study};

/// `run` headless with the small study and `extra` appended to its config.
fn run_study(dir: &Path, extra: &str) -> Vec<String> {
    let cfg = small_study(dir, extra);
    argv(["run", "--config", s(&cfg), "--headless", "--out"])
        .into_iter()
        .chain([path_in(dir, "x.h5")])
        .collect()
}

/// A short real recording (32 trials of 200 ms at full speed) in `dir`.
fn recording(dir: &Path, name: &str) -> PathBuf {
    let cfg = small_study(
        dir,
        "[timing]\nstimulus_ms = 200\nfixation_ms = 100\niti_ms = 100\n",
    );
    let out = dir.join(name);
    record_at_full_speed(&cfg, &out);
    out
}

/// The small study's manifest with `edit` applied to its text.
fn edited_manifest(dir: &Path, edit: impl Fn(String) -> String) -> Vec<String> {
    let cmd = run_study(dir, "");
    let manifest = dir.join("stimuli/manifest.toml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    std::fs::write(&manifest, edit(text)).unwrap();
    cmd
}

/// A complete recording of 100 samples, none with valid gaze.
fn recording_without_gaze(dir: &Path) -> PathBuf {
    let out = dir.join("empty.h5");
    let set = et_stimuli::default_set::manifest(64);
    let mut h = et_recording::RecordingHeader::new("P09", "1");
    h.sampling_hz = 120.0;
    let mut w = et_recording::RecordingWriter::create(&out, &h, Some(&set.to_toml())).unwrap();
    let invalid: Vec<et_drivers::GazeSample> = (0..100)
        .map(|k| et_drivers::GazeSample {
            system_ts_us: k * 8333,
            device_ts_us: 0,
            left: et_drivers::EyeSample::INVALID,
            right: et_drivers::EyeSample::INVALID,
        })
        .collect();
    w.append_gaze(&invalid).unwrap();
    w.finish(true).unwrap();
    out
}

// Recordings that are missing, not HDF5, cut short, or HDF5 but not recordings.
error_rows! {
    inspect_of_a_missing_file: |d| argv(["inspect", &path_in(d, "missing.h5")])
        => "missing.h5: no such file";
    inspect_of_text: |d| {
        std::fs::write(d.join("junk.h5"), b"this is not hdf5 at all, just text").unwrap();
        argv(["inspect", &path_in(d, "junk.h5")])
    } => "junk.h5: not an HDF5 file";
    recover_of_text: |d| {
        std::fs::write(d.join("junk.h5"), b"this is not hdf5 at all, just text").unwrap();
        argv(["recover", &path_in(d, "junk.h5")])
    } => "junk.h5: not an HDF5 file";
    inspect_of_a_recording_cut_in_half: |d| {
        let full = recording(d, "full.h5");
        let bytes = std::fs::read(&full).unwrap();
        std::fs::write(d.join("cut.h5"), &bytes[..bytes.len() / 2]).unwrap();
        argv(["inspect", &path_in(d, "cut.h5")])
    } => "cut.h5: HDF5 cannot open it";
    inspect_of_hdf5_that_is_no_recording: |d| {
        let f = hdf5::File::create(d.join("other.h5")).unwrap();
        f.new_dataset::<f64>().shape(3).create("x").unwrap();
        argv(["inspect", &path_in(d, "other.h5")])
    } => "other.h5: not an et-suite recording";
    replay_of_hdf5_that_is_no_recording: |d| {
        let f = hdf5::File::create(d.join("other.h5")).unwrap();
        f.new_dataset::<f64>().shape(3).create("x").unwrap();
        argv(["replay", &path_in(d, "other.h5"), "--out", &path_in(d, "o2.h5")])
    } => "not an et-suite recording";
    run_onto_an_existing_recording: |d| {
        recording(d, "full.h5");
        let mut cmd = run_study(d, "");
        *cmd.last_mut().unwrap() = path_in(d, "full.h5");
        cmd
    } => "already exists";
}

// Study configs and stimulus manifests.
error_rows! {
    run_with_a_negative_screen_width: |d| run_study(d, "[screen]\nwidth_px = -3\n")
        => "study.toml: line 4: not a valid study config";
    run_with_a_refresh_rate_of_zero: |d| run_study(d, "[timing]\nrefresh_hz = 0\n")
        => "refresh_hz";
    run_with_a_manifest_field_of_the_wrong_type: |d| edited_manifest(d, |m| {
        m.replacen("image_width = 64", "image_width = \"wide\"", 1)
    }) => "manifest.toml: line 2: not a valid stimulus manifest";
    run_with_a_two_point_polygon_aoi: |d| edited_manifest(d, |m| {
        format!("{m}\n[[aoi]]\nname = \"chin\"\nshape = \"polygon\"\npoints = [[1.0, 2.0], [3.0, 4.0]]\n")
    }) => "AOI 'chin': polygon needs at least 3 points, got 2";
    run_with_a_missing_config: |d| argv(["run", "--config", &path_in(d, "nope.toml"), "--headless"])
        => "nope.toml";
    replay_at_an_unknown_speed: |d| argv(["replay", &path_in(d, "x.h5"), "--speed", "fast", "--out", &path_in(d, "y.h5")])
        => "'max'";
    // Caught before the recording exists (no incomplete file blocks a retry), headless too.
    run_with_a_corrupt_stimulus_image: |d| {
        let cmd = run_study(d, "");
        // Every image: whichever the trial list shows first.
        for image in std::fs::read_dir(d.join("stimuli/images")).unwrap() {
            std::fs::write(image.unwrap().path(), b"not a png").unwrap();
        }
        cmd
    } => "cannot be shown";
    // Named as the user gave it, not by an internal file beside it.
    run_into_a_folder_it_cannot_write: |d| {
        let mut cmd = run_study(d, "");
        *cmd.last_mut().unwrap() = "/proc/et-suite-test.h5".into();
        cmd
    } => "/proc/et-suite-test.h5: ";
}

// Analysis inputs.
error_rows! {
    analyze_of_a_recording_without_valid_gaze: |d| {
        let rec = recording_without_gaze(d);
        argv(["analyze", s(&rec), "--out", &path_in(d, "an")])
    } => "empty.h5: the recording holds no valid gaze samples";
    analyze_with_an_unknown_test: |d| {
        let rec = recording_without_gaze(d);
        std::fs::write(d.join("analysis.toml"), "test = \"sign\"\n").unwrap();
        argv(["analyze", s(&rec), "--out", &path_in(d, "an"), "--config", &path_in(d, "analysis.toml")])
    } => "analysis.toml: line 1: not a valid analysis config";
    analyze_with_an_aoi_the_stimuli_lack: |d| {
        let rec = recording(d, "r.h5");
        std::fs::write(d.join("analysis.toml"), "aoi = \"chin\"\n").unwrap();
        argv(["analyze", s(&rec), "--out", &path_in(d, "an"), "--config", &path_in(d, "analysis.toml")])
    } => "no AOI named 'chin'";
    analyze_of_a_missing_recording: |d| argv(["analyze", &path_in(d, "nope.h5"), "--out", &path_in(d, "an")])
        => "nope.h5: no such file";
}
