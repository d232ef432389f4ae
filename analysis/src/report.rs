//! The self-contained HTML report: the study's tables, the parameters used, the software
//! version and the inputs' SHA-256, so a result can be traced to exactly what produced it.

use std::fmt::Write as _;
use std::io::Read;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::study::StudyAnalysis;
use crate::table::{esc, Shown::*, Table};
use crate::AnalysisError;

/// SHA-256 of a file, hex.
pub fn file_sha256(path: &Path) -> Result<String, AnalysisError> {
    let err = |e: std::io::Error| AnalysisError::Input {
        path: path.display().to_string(),
        message: format!("cannot read: {e}"),
    };
    let mut f = std::fs::File::open(path).map_err(err)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).map_err(err)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// Writes `report.html` and `methods.md` into `dir` from the analysis and its `tables` (`StudyAnalysis::tables`,
/// built once for every format). `inputs` are (path, sha256) of the recordings analysed.
pub fn write_report(
    dir: &Path,
    a: &StudyAnalysis,
    tables: &[Table],
    inputs: &[(String, String)],
    software: &str,
) -> Result<PathBuf, AnalysisError> {
    let mut h = String::new();
    let _ = write!(
        h,
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>et-suite analysis</title><style>\
         body{{font-family:sans-serif;max-width:70em;margin:2em auto;color:#222}}\
         table{{border-collapse:collapse;margin:1em 0;font-size:90%}}td,th{{border:1px solid #bbb;padding:.25em .6em;text-align:right}}\
         th{{background:#eee}}td.t,th.t{{text-align:left}}td:not(.t){{white-space:nowrap}}pre{{background:#f6f6f6;padding:1em}}\
         </style></head><body><h1>Eye-tracking analysis{}</h1>",
        if a.smile_design {
            format!(": AOI '{}'", esc(&a.aoi))
        } else {
            String::new()
        }
    );
    // What the reader must know before any number: simulated gaze, exclusions, skipped rules.
    if !a.notes.is_empty() {
        h.push_str("<h2>Notes</h2><ul>");
        for n in &a.notes {
            let _ = write!(h, "<li>{}</li>", esc(n));
        }
        h.push_str("</ul>");
    }
    // The methods paragraph once, for the report and `methods.md` alike.
    let methods = crate::methods::methods(a, software);
    let methods_md = dir.join("methods.md");
    std::fs::write(&methods_md, &methods).map_err(|source| AnalysisError::Write {
        path: methods_md.display().to_string(),
        source,
    })?;
    let _ = write!(
        h,
        "<h2>Methods</h2>{}<p>(<code>methods.md</code>: the same text for a paper's methods section.)</p>",
        crate::methods::methods_html(&methods)
    );
    let table = |name: &str| tables.iter().find(|t| t.name == name);
    if a.smile_design {
        smile_sections(&mut h, a, dir, tables);
    } else {
        aoi_sections(&mut h, a, dir, tables);
    }
    let _ = write!(
        h,
        "<h2>Data quality</h2><p>valid_share: share of the samples the tracker should have delivered (duration × rate) \
         with gaze from that eye (any: either); tracker_lost_ms: time between a tracker-lost and the next tracker-back event; \
         validation accuracy and precision: the accepted calibration's validation (last attempt), mean over points and eyes, \
         in degrees. Exclusion rules: <code>{}</code>.</p>",
        {
            let rules = toml::to_string(&a.config.exclusion).unwrap_or_default();
            if rules.trim().is_empty() {
                "none set".to_string()
            } else {
                esc(rules.trim()).replace('\n', "; ")
            }
        }
    );
    if let Some(t) = table("quality_participants") {
        h.push_str(&t.html(
            &[
                ("participant", Plain),
                ("trials", Plain),
                ("valid_share_left", Digits(3)),
                ("valid_share_right", Digits(3)),
                ("valid_share_any", Digits(3)),
                ("tracker_lost_ms", Digits(0)),
                ("dropped_frames", Plain),
                ("validation_accuracy_deg", Digits(2)),
                ("validation_precision_rms_deg", Digits(2)),
                ("excluded_by", Plain),
            ],
            |_| true,
        ));
    }
    if let (Some(t), false) = (table("quality_validation"), a.validation_quality.is_empty()) {
        h.push_str(
            "<h3>Accepted validation as the field reports it</h3><p>Per participant, eye and both eyes (binocular: the eyes' mean \
             position): accuracy (offset of the mean gaze direction from the target), precision as RMS sample to sample, STD and \
             BCEA (P = 0.68), and data loss, each over every target's collection window, then averaged over the targets; computed as \
             ETDQualitizer 1.2.0 computes them (<code>quality_validation.csv</code>). The session's own validation figures in the table \
             above average each sample's offset (as the session judged the validation); the offset of the mean direction here is \
             smaller where the samples scatter around the target.</p>",
        );
        h.push_str(&t.html(
            &[
                ("participant", Plain),
                ("attempt", Plain),
                ("eye", Plain),
                ("targets", Plain),
                ("accuracy_deg", Digits(2)),
                ("rms_s2s_deg", Digits(3)),
                ("std_deg", Digits(3)),
                ("bcea_deg2", Digits(3)),
                ("data_loss_pct", Digits(1)),
            ],
            |_| true,
        ));
    }
    if let (Some(t), false) = (table("exclusions"), a.exclusions.is_empty()) {
        let _ = write!(
            h,
            "<h3>Excluded before the statistics</h3><p>{} trial(s) and {} participant(s). Each trial (−1: every trial \
             of the participant) with the rule that excluded it, its value and the rule's limit (<code>exclusions.csv</code>).</p>",
            a.exclusions.iter().filter(|e| e.trial >= 0).count(),
            a.exclusions.iter().filter(|e| e.trial < 0).count()
        );
        h.push_str(&t.html(
            &[
                ("participant", Plain),
                ("trial", Plain),
                ("rule", Plain),
                ("value", Digits(3)),
                ("limit", Plain),
            ],
            |_| true,
        ));
    }
    if let Ok(bytes) = std::fs::read(dir.join("quality_figure.png")) {
        let _ = write!(
            h,
            "<img alt=\"valid samples per participant\" style=\"max-width:100%\" src=\"data:image/png;base64,{}\">",
            base64(&bytes)
        );
    }
    if let Ok(bytes) = std::fs::read(dir.join("validation_figure.png")) {
        let _ = write!(
            h,
            "<p>Validation per participant (the attempt each session went on with): each target (cross) and where \
             each eye looked on average while it was shown (dots, joined to their target); the panel titles give the mean \
             accuracy per eye (<code>validation_figure.svg</code> for print).</p>\
             <img alt=\"validation per participant\" style=\"max-width:100%\" src=\"data:image/png;base64,{}\">",
            base64(&bytes)
        );
    }
    let fig = dir.join("figure2.png");
    if let Ok(bytes) = std::fs::read(&fig) {
        let _ = write!(
            h,
            "<h2>Heatmaps (Figure 2)</h2><p>Fixation-duration-weighted density averaged over participants (each weighs the same), \
             Gaussian SD {}°; each reconstructed image (left) beside its manipulated version (right), one identity per row; \
             colours are scaled to each image's own maximum (colour bar); the black bar beside it gives the scale in degrees of visual angle; \
             laid out for an A4 page at 300 dpi (<code>figure2.svg</code> for print).</p>\
             <img alt=\"heatmaps\" style=\"max-width:100%\" src=\"data:image/png;base64,{}\">",
            a.config.heatmap_sigma_deg,
            base64(&bytes)
        );
    }
    let _ = write!(
        h,
        "<p>Per-trial tables: <code>dwell.csv</code>, <code>aoi_metrics.csv</code> (fixation-based metrics for every AOI), \
         {}.</p><h2>Parameters</h2><pre>{}</pre><h2>Inputs</h2>",
        if a.smile_design {
            "<code>summary.csv</code>, <code>comparisons.csv</code>, <code>models.csv</code>"
        } else {
            "<code>aoi_stimuli.csv</code> (per stimulus)"
        },
        esc(&a.config.to_toml())
    );
    let recordings = Table::new("inputs")
        .text("recording", inputs.iter().map(|(path, _)| path.as_str()))
        .text("sha256", inputs.iter().map(|(_, sha)| sha.as_str()));
    h.push_str(&recordings.html(&[("recording", Plain), ("sha256", Plain)], |_| true));
    let _ = writeln!(h, "<p>{}</p></body></html>", esc(software));
    let out = dir.join("report.html");
    std::fs::write(&out, h).map_err(|source| AnalysisError::Write {
        path: out.display().to_string(),
        source,
    })?;
    Ok(out)
}

/// The study's results: smile vs no smile under the configured model, every model, the dwell
/// figure and the dwell per condition × expression.
fn smile_sections(h: &mut String, a: &StudyAnalysis, dir: &Path, tables: &[Table]) {
    let table = |name: &str| tables.iter().find(|t| t.name == name);
    let test = a.tests_used();
    // Estimates in the response's unit: ms to 0.1, shares to 0.0001.
    let digits = Digits(match a.config.response {
        crate::Response::DwellMs => 1,
        crate::Response::Proportion => 4,
    });
    let _ = write!(
        h,
        "<h2>Smile vs no smile</h2><p>Dwell time on the AOI per participant × image; model: <b>{}</b>, test: <b>{}</b> (two-sided); \
         p_corrected: {} across conditions (empty where nothing is corrected: the overall row, every row of models.csv); hedges_g: Hedges' g of smile − no smile over trials; \
         estimate: smile − no smile as the model estimates it ({}), ci_low to ci_high its 95 % CI. Columns as in <code>comparisons.csv</code>.</p>",
        esc(a.config.model.as_str()),
        esc(&test),
        a.config.correction.as_str(),
        match a.config.response {
            crate::Response::DwellMs => "ms",
            crate::Response::Proportion => "share of stimulus time",
        }
    );
    if let Some(t) = table("comparisons") {
        h.push_str(&t.html(
            &[
                ("condition", Plain),
                ("n_smile", Plain),
                ("n_no_smile", Plain),
                ("mean_smile_ms", Digits(1)),
                ("sd_smile_ms", Digits(1)),
                ("mean_no_smile_ms", Digits(1)),
                ("sd_no_smile_ms", Digits(1)),
                ("hedges_g", Digits(3)),
                ("estimate", digits),
                ("ci_low", digits),
                ("ci_high", digits),
                ("se", digits),
                ("test", Plain),
                ("statistic", Digits(3)),
                ("df", Digits(1)),
                ("p", P),
                ("p_corrected", P),
            ],
            |_| true,
        ));
    }
    h.push_str("<ul>");
    for c in &a.comparisons {
        let _ = write!(h, "<li>{}: {}</li>", esc(&c.condition), esc(&c.detail));
    }
    h.push_str(
        "</ul><h3>Every model, over all images</h3><p>The same comparison under each model the analysis offers \
         (uncorrected; <code>models.csv</code> has each condition). <b>welch_trials</b> treats every participant × image \
         as an independent observation, as the paper did: its p-values are too small when participants or images differ.</p>",
    );
    if let Some(t) = table("models") {
        h.push_str(&t.html(
            &[
                ("model", Plain),
                ("estimate", digits),
                ("se", digits),
                ("test", Plain),
                ("statistic", Digits(3)),
                ("df", Digits(1)),
                ("p", P),
                ("wilcoxon_p", P),
                ("detail", Plain),
            ],
            t.text_is("condition", "all"),
        ));
    }
    if let Some(t) = &a.interaction {
        let _ = write!(
            h,
            "<h3>Expression × condition</h3><p>Does the smile effect differ between conditions? Likelihood-ratio test of \
             <code>response ~ smile * condition</code> against <code>response ~ smile + condition</code>, both ML fits with \
             the random part <code>{}</code> (<code>interaction.csv</code>): {}</p>",
            esc(&t.random),
            match (t.chisq, t.df, t.p) {
                (Some(chisq), Some(df), Some(p)) => format!(
                    "χ²({df}) = {chisq:.3}, {}{}",
                    esc(&crate::table::p_phrase(p)),
                    if t.note.is_empty() {
                        String::new()
                    } else {
                        format!(" ({})", esc(&t.note))
                    }
                ),
                _ => format!("not tested ({})", esc(&t.note)),
            }
        );
    }
    if let Ok(bytes) = std::fs::read(dir.join("dwell_figure.png")) {
        let _ = write!(
            h,
            "<img alt=\"dwell per participant and the model's smile effect\" style=\"max-width:100%\" src=\"data:image/png;base64,{}\"><p>Left: each participant's mean dwell per condition and expression (lines join one participant's two versions), \
             black bars the mean over participants. Right: the smile − no smile difference as the model estimates it, with its 95 % CI (<code>dwell_figure.svg</code> for print).</p>",
            base64(&bytes)
        );
    }
    h.push_str("<h2>Dwell per condition × expression</h2>");
    if let Some(t) = table("summary") {
        h.push_str(&t.html(
            &[
                ("condition", Plain),
                ("expression", Plain),
                ("n", Plain),
                ("mean_dwell_ms", Digits(1)),
                ("sd_dwell_ms", Digits(1)),
                ("mean_proportion", Digits(3)),
            ],
            |_| true,
        ));
    }
}

/// Results of recordings without the smile design (imports, other studies): what the user
/// asked for first, the AOI metrics per stimulus and per participant, and the fixations.
fn aoi_sections(h: &mut String, a: &StudyAnalysis, dir: &Path, tables: &[Table]) {
    let table = |name: &str| tables.iter().find(|t| t.name == name);
    h.push_str("<h2>AOI metrics per stimulus</h2>");
    if a.stimulus_aois.is_empty() {
        h.push_str(
            "<p>No AOIs for these recordings: pass <code>--aois FILE</code> (README: \"AOIs\") to measure dwell and fixations per AOI.</p>",
        );
    } else {
        h.push_str(
            "<p>Per stimulus and AOI over the participants who saw it: each participant's value is first averaged over their \
             trials of the stimulus (usually one), so each participant weighs the same; time to first fixation over those who \
             fixated the AOI (<code>aoi_stimuli.csv</code>; definitions as in Tobii Pro Lab's metric export, README \"AOI metrics\").</p>",
        );
        if let Some(t) = table("aoi_stimuli") {
            h.push_str(&t.html(
                &[
                    ("stimulus_id", Plain),
                    ("aoi", Plain),
                    ("participants", Plain),
                    ("mean_dwell_ms", Digits(1)),
                    ("mean_dwell_proportion", Digits(3)),
                    ("mean_fixation_count", Digits(2)),
                    ("mean_total_fixation_duration_ms", Digits(1)),
                    ("participants_fixated", Plain),
                    ("mean_time_to_first_fixation_ms", Digits(1)),
                ],
                |_| true,
            ));
        }
        if let Ok(bytes) = std::fs::read(dir.join("aoi_figure.png")) {
            let _ = write!(
                h,
                "<img alt=\"dwell per stimulus and AOI\" style=\"max-width:100%\" src=\"data:image/png;base64,{}\"><p>Each \
                 participant's dwell share per stimulus and AOI (dots) and their mean (bars) (<code>aoi_figure.svg</code> for print).</p>",
                base64(&bytes)
            );
        }
        h.push_str("<h3>Per participant and trial</h3>");
        if let Some(t) = table("aoi_metrics") {
            h.push_str(&t.html(
                &[
                    ("participant", Plain),
                    ("trial", Plain),
                    ("stimulus_id", Plain),
                    ("aoi", Plain),
                    ("dwell_ms", Digits(1)),
                    ("dwell_proportion", Digits(3)),
                    ("fixation_count", Plain),
                    ("total_fixation_duration_ms", Digits(1)),
                    ("time_to_first_fixation_ms", Digits(1)),
                    ("first_fixation_duration_ms", Digits(1)),
                    ("visit_count", Plain),
                    ("total_visit_duration_ms", Digits(1)),
                ],
                |_| true,
            ));
        }
    }
    let _ = write!(
        h,
        "<h2>Fixations</h2><p>Filter: <b>{}</b> (each recording's resolved settings in <code>ivt_settings.csv</code>; \
         every fixation in <code>fixations.csv</code>, every sample's class in Tobii's words in <code>classes.csv</code>).</p>",
        esc(&crate::config::setting_name(&a.config.filter))
    );
    let f = a.fixations_per_participant();
    let fixations = Table::new("fixations_per_participant")
        .text("participant", f.iter().map(|r| r.participant.as_str()))
        .count("fixations", f.iter().map(|r| r.count as u64))
        .float("mean_duration_ms", f.iter().map(|r| r.mean_duration_ms))
        .float("median_duration_ms", f.iter().map(|r| r.median_duration_ms));
    h.push_str(&fixations.html(
        &[
            ("participant", Plain),
            ("fixations", Plain),
            ("mean_duration_ms", Digits(1)),
            ("median_duration_ms", Digits(1)),
        ],
        |_| true,
    ));
}

/// Standard base64 (RFC 4648, with padding), for embedding figures in the report.
pub fn base64(data: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for c in data.chunks(3) {
        let b = [c[0], *c.get(1).unwrap_or(&0), *c.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for k in 0..4 {
            if k <= c.len() {
                out.push(T[(n >> (18 - 6 * k) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc4648_vectors() {
        for (i, o) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(i.as_bytes()), o);
        }
    }
}
