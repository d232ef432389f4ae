//! The self-contained HTML report: the study's tables, the parameters used, the software
//! version and the inputs' SHA-256, so a result can be traced to exactly what produced it.

use std::fmt::Write as _;
use std::io::Read;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::study::{fmt_p as p, StudyAnalysis};
use crate::AnalysisError;

/// SHA-256 of a file, hex.
pub fn file_sha256(path: &Path) -> Result<String, AnalysisError> {
    let err = |e: std::io::Error| AnalysisError::Recording {
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

pub(crate) fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn num(v: f64, prec: usize) -> String {
    if v.is_finite() {
        format!("{v:.prec$}")
    } else {
        "n/a".into()
    }
}

/// Writes `report.html` into `dir`. `inputs` are (path, sha256) of the recordings analysed.
pub fn write_report(
    dir: &Path,
    a: &StudyAnalysis,
    inputs: &[(String, String)],
    software: &str,
) -> Result<PathBuf, AnalysisError> {
    let mut h = String::new();
    let _ = write!(
        h,
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>et-suite analysis</title><style>\
         body{{font-family:sans-serif;max-width:70em;margin:2em auto;color:#222}}\
         table{{border-collapse:collapse;margin:1em 0;font-size:90%}}td,th{{border:1px solid #bbb;padding:.25em .6em;text-align:right}}\
         th{{background:#eee}}td:first-child,th:first-child{{text-align:left}}pre{{background:#f6f6f6;padding:1em}}\
         </style></head><body><h1>Eye-tracking analysis: AOI '{}'</h1>",
        esc(&a.aoi)
    );
    let test = a.tests_used();
    // Estimates in the response's unit: ms to 0.1, shares to 0.0001.
    let digits = match a.config.response {
        crate::Response::DwellMs => 1,
        crate::Response::Proportion => 4,
    };
    let _ = write!(
        h,
        "<h2>Smile vs no smile</h2><p>Dwell time on the AOI per participant × image; model: <b>{}</b>, test: <b>{}</b> (two-sided); \
         p<sub>corr</sub>: {} across conditions (the overall row is not corrected); g: Hedges' g of smile − no smile over trials; \
         estimate: smile − no smile as the model estimates it ({}).</p>\
         <table><tr><th>condition</th><th>n smile</th><th>n no smile</th><th>mean smile (ms)</th><th>SD</th>\
         <th>mean no smile (ms)</th><th>SD</th><th>g</th><th>estimate</th><th>95 % CI</th><th>SE</th><th>statistic</th><th>df</th><th>p</th><th>p<sub>corr</sub></th></tr>",
        esc(a.config.model.as_str()),
        esc(&test),
        a.config.correction.as_str(),
        match a.config.response {
            crate::Response::DwellMs => "ms",
            crate::Response::Proportion => "share of stimulus time",
        }
    );
    for c in &a.comparisons {
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td style=\"white-space:nowrap\">{} to {}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&c.condition),
            c.n_smile,
            c.n_no_smile,
            num(c.mean_smile_ms, 1),
            num(c.sd_smile_ms, 1),
            num(c.mean_no_smile_ms, 1),
            num(c.sd_no_smile_ms, 1),
            num(c.hedges_g, 3),
            num(c.estimate, digits),
            num(c.ci_low, digits),
            num(c.ci_high, digits),
            num(c.se, digits),
            num(c.statistic, 3),
            c.df.map_or("-".into(), |d| num(d, 1)),
            p(c.p),
            p(c.p_corrected)
        );
    }
    let _ = write!(h, "</table><ul>");
    for c in &a.comparisons {
        let _ = write!(h, "<li>{}: {}</li>", esc(&c.condition), esc(&c.detail));
    }
    let _ = write!(
        h,
        "</ul><h3>Every model, over all images</h3><p>The same comparison under each model the analysis offers \
         (uncorrected; <code>models.csv</code> has each condition). <b>welch_trials</b> treats every participant × image \
         as an independent observation, as the paper did: its p-values are too small when participants or images differ.</p>\
         <table><tr><th>model</th><th>estimate</th><th>SE</th><th>test</th><th>statistic</th><th>df</th><th>p</th><th>Wilcoxon p</th><th>detail</th></tr>"
    );
    for c in a.all_models.iter().filter(|c| c.condition == "all") {
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td style=\"text-align:left\">{}</td></tr>",
            c.model,
            num(c.estimate, digits),
            num(c.se, digits),
            c.test,
            num(c.statistic, 3),
            c.df.map_or("-".into(), |d| num(d, 1)),
            p(c.p),
            p(c.wilcoxon_p),
            esc(&c.detail)
        );
    }
    if let Ok(bytes) = std::fs::read(dir.join("dwell_figure.png")) {
        let _ = write!(
            h,
            "</table><img alt=\"dwell per participant and the model's smile effect\" style=\"max-width:100%\" src=\"data:image/png;base64,{}\"><p>Left: each participant's mean dwell per condition and expression (lines join one participant's two versions), \
             black bars the mean over participants. Right: the smile − no smile difference as the model estimates it, with its 95 % CI (<code>dwell_figure.svg</code> for print).</p><table>",
            base64(&bytes)
        );
    }
    let _ = write!(h, "</table><h2>Dwell per condition × expression</h2><table><tr><th>condition</th><th>expression</th><th>n</th><th>mean (ms)</th><th>SD (ms)</th><th>share of stimulus time</th></tr>");
    for r in &a.summary {
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&r.condition),
            esc(&r.expression),
            r.n,
            num(r.mean_dwell_ms, 1),
            num(r.sd_dwell_ms, 1),
            num(r.mean_proportion, 3)
        );
    }
    let _ = write!(
        h,
        "</table><h2>Data quality</h2><p>Valid: share of the samples the tracker should have delivered (duration × rate) \
         with gaze from either eye; lost: time between a tracker-lost and the next tracker-back event; accuracy and \
         precision: the accepted calibration's validation (last attempt), mean over points and eyes. Exclusion rules: \
         <code>{}</code>.</p><table><tr><th>participant</th><th>trials</th><th>valid (left)</th><th>valid (right)</th>\
         <th>valid (either)</th><th>lost (ms)</th><th>dropped frames</th><th>accuracy (°)</th><th>precision RMS (°)</th><th>excluded</th></tr>",
        {
            let rules = toml::to_string(&a.config.exclusion).unwrap_or_default();
            if rules.trim().is_empty() {
                "none set".to_string()
            } else {
                esc(rules.trim()).replace('\n', "; ")
            }
        }
    );
    for q in &a.participant_quality {
        let ex: Vec<String> = a
            .exclusions
            .iter()
            .filter(|e| e.participant == q.participant)
            .map(|e| {
                if e.trial < 0 {
                    format!(
                        "all trials: {} = {:.3} (limit {})",
                        e.rule, e.value, e.limit
                    )
                } else {
                    format!("trial {}: {} = {:.3}", e.trial, e.rule, e.value)
                }
            })
            .collect();
        let opt = |v: Option<f64>| v.map_or("n/a".to_string(), |x| num(x, 2));
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td style=\"text-align:left\">{}</td></tr>",
            esc(&q.participant),
            q.trials,
            num(q.valid_share_left, 3),
            num(q.valid_share_right, 3),
            num(q.valid_share_any, 3),
            num(q.tracker_lost_ms, 0),
            q.dropped_frames,
            opt(q.validation_accuracy_deg),
            opt(q.validation_precision_rms_deg),
            esc(&ex.join("; "))
        );
    }
    if let Ok(bytes) = std::fs::read(dir.join("quality_figure.png")) {
        let _ = write!(
            h,
            "</table><img alt=\"valid samples per participant\" style=\"max-width:100%\" src=\"data:image/png;base64,{}\"><table>",
            base64(&bytes)
        );
    }
    if let Ok(bytes) = std::fs::read(dir.join("validation_figure.png")) {
        let _ = write!(
            h,
            "</table><p>Validation per participant (the attempt each session went on with): each target (cross) and where              each eye looked on average while it was shown (dots, joined to their target); the panel titles give the mean              accuracy per eye (<code>validation_figure.svg</code> for print).</p>\
             <img alt=\"validation per participant\" style=\"max-width:100%\" src=\"data:image/png;base64,{}\"><table>",
            base64(&bytes)
        );
    }
    let fig = dir.join("figure2.png");
    if let Ok(bytes) = std::fs::read(&fig) {
        let _ = write!(
            h,
            "</table><h2>Heatmaps (Figure 2)</h2><p>Fixation-duration-weighted density averaged over participants (each weighs the same), \
             Gaussian SD {}°; each reconstructed image (left) beside its manipulated version (right), one identity per row; \
             colours are scaled to each image's own maximum (colour bar); the white bar is 1° (<code>figure2.svg</code> for print).</p>\
             <img alt=\"heatmaps\" style=\"max-width:100%\" src=\"data:image/png;base64,{}\"><table>",
            a.config.heatmap_sigma_deg,
            base64(&bytes)
        );
    }
    let _ = write!(
        h,
        "</table><p>Per-trial tables: <code>dwell.csv</code>, <code>aoi_metrics.csv</code> (fixation-based metrics for every AOI), \
         <code>summary.csv</code>, <code>comparisons.csv</code>, <code>models.csv</code>.</p><h2>Parameters</h2><pre>{}</pre><h2>Inputs</h2><table><tr><th>recording</th><th>SHA-256</th></tr>",
        esc(&a.config.to_toml())
    );
    for (path, sha) in inputs {
        let _ = write!(
            h,
            "<tr><td>{}</td><td><code>{}</code></td></tr>",
            esc(path),
            esc(sha)
        );
    }
    let _ = writeln!(h, "</table><p>{}</p></body></html>", esc(software));
    let out = dir.join("report.html");
    std::fs::write(&out, h).map_err(|source| AnalysisError::Write {
        path: out.display().to_string(),
        source,
    })?;
    Ok(out)
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
