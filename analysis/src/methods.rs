//! The methods paragraph (`methods.md`, and the report's "Methods"): what a paper's methods
//! section needs to say about this analysis, every number taken from it — the recordings'
//! trackers, rates and screens, the calibration and accepted validations, the fixation filter
//! with every parameter each recording was classified with, the AOIs, the trials left out, the
//! exclusion rules and what they excluded, the model with its df method and every
//! simplification step, and the software versions. Nothing here is a template to fill in by
//! hand: a fact the recordings do not hold is said to be missing.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::config::{setting_name, FixationFilter};
use crate::fixation::ivt::{IvtConfig, ResolvedIvt};
use crate::fixation::Angles;
use crate::study::{RecordingFacts, StudyAnalysis};

/// Mean and SD (n − 1) of `v`, as "m ± sd" with `prec` decimals ("m" alone for one value).
fn mean_sd(v: &[f64], prec: usize) -> String {
    let m = crate::descriptive::mean(v);
    if v.len() < 2 {
        return format!("{m:.prec$}");
    }
    let sd = crate::descriptive::variance(v).sqrt();
    format!("{m:.prec$} ± {sd:.prec$}")
}

/// Distinct values of `key` over `items` with how many have each, most frequent first.
fn counted<T, K: Ord + Clone>(items: &[T], key: impl Fn(&T) -> K) -> Vec<(K, usize)> {
    let mut by: BTreeMap<K, usize> = BTreeMap::new();
    for i in items {
        *by.entry(key(i)).or_default() += 1;
    }
    let mut v: Vec<(K, usize)> = by.into_iter().collect();
    v.sort_by_key(|e| std::cmp::Reverse(e.1));
    v
}

/// "a (3), b (1)" or "a" when all share it.
fn listed(v: &[(String, usize)]) -> String {
    match v {
        [(one, _)] => one.clone(),
        many => many
            .iter()
            .map(|(k, n)| format!("{k} ({n})"))
            .collect::<Vec<_>>()
            .join(", "),
    }
}

fn hz(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{v:.0} Hz")
    } else {
        format!("{v:.1} Hz")
    }
}

/// What the filter's angles are measured between, in words.
fn angle_words(a: Angles) -> &'static str {
    match a {
        Angles::EyePosition => "between gaze points seen from the eye",
        Angles::GazeDirection => "between the eyes' lines of sight",
    }
}

/// The I-VT settings in words, every stage (a stage turned off is said to be off).
fn ivt_words(c: &IvtConfig) -> String {
    // A stage in words when on, and what its absence means when off.
    let ms = |v: Option<f64>, on: &str, off: &str| match v {
        Some(v) => format!("{on} {v} ms"),
        None => off.to_string(),
    };
    format!(
        "{}; eye selection {}; {}; velocity over {} ms ({} at the ends of runs with gaze; angles {}); threshold {} °/s; {} (at most {}° apart, compared {}); {}",
        ms(c.gap_fill_max_ms, "gap fill-in up to", "no gap fill-in"),
        setting_name(&c.eye),
        match c.median_window {
            Some(w) => format!("moving median of {w} samples ({})", setting_name(&c.median_edges)),
            None => "no noise reduction".into(),
        },
        c.velocity_window_ms,
        setting_name(&c.velocity_edges),
        angle_words(c.angles),
        c.threshold_deg_s,
        ms(
            c.merge_max_gap_ms,
            "merging of fixations separated by at most",
            "no merging of fixations"
        ),
        c.merge_max_angle_deg,
        setting_name(&c.merge_compare),
        ms(
            c.discard_shorter_than_ms,
            "fixations discarded when shorter than",
            "no fixation discarded for its length"
        )
    )
}

/// The methods paragraph in Markdown.
pub fn methods(a: &StudyAnalysis, software: &str) -> String {
    let mut s = String::from("# Methods (written by et-suite from this analysis)\n\n");
    let facts = &a.recordings;
    let n = facts.len();
    // Apparatus: where the gaze came from.
    let imported: Vec<&RecordingFacts> = facts
        .iter()
        .filter(|f| f.header.tracker_kind == "import" || !f.header.source_software.is_empty())
        .collect();
    let simulated = facts
        .iter()
        .filter(|f| f.header.not_live().is_some())
        .count();
    let models = counted(facts, |f| f.header.tracker_model.clone());
    let rates = counted(facts, |f| hz(f.header.sampling_hz));
    let _ = write!(
        s,
        "**Apparatus.** {n} recording(s) of {} participant(s). Gaze: {} at {}.",
        counted(facts, |f| f.header.participant.clone()).len(),
        listed(&models),
        listed(&rates)
    );
    if simulated > 0 {
        let _ = write!(
            s,
            " {simulated} of them hold SIMULATED or REPLAYED gaze (et-suite's synthetic tracker or a replay), not a participant's."
        );
    }
    if !imported.is_empty() {
        let software = counted(&imported, |f| {
            if f.header.source_software.is_empty() {
                "software that the export does not name".to_string()
            } else {
                f.header.source_software.clone()
            }
        });
        let filters = counted(&imported, |f| {
            if f.header.source_fixation_filter.is_empty() {
                "not named in the export".to_string()
            } else {
                f.header.source_fixation_filter.clone()
            }
        });
        let _ = write!(
            s,
            " {} recording(s) were imported from exports of {} (the export's own fixation filter: {}); et-suite neither presented nor calibrated them, and their calibration is the recording software's.",
            imported.len(),
            listed(&software),
            listed(&filters)
        );
    }
    let screens = counted(facts, |f| {
        let g = &f.header.screen;
        format!(
            "{}×{} px ({:.0}×{:.0} mm)",
            g.width_px, g.height_px, g.width_mm, g.height_mm
        )
    });
    let distances: Vec<f64> = facts
        .iter()
        .map(|f| f.header.screen.viewing_distance_mm)
        .filter(|d| d.is_finite() && *d > 0.0)
        .collect();
    let _ = write!(s, " Screen: {}", listed(&screens));
    if !distances.is_empty() {
        let _ = write!(s, ", viewing distance {} mm", mean_sd(&distances, 0));
        if distances.len() > 1 {
            s.push_str(" (mean ± SD over recordings)");
        }
    }
    s.push_str(".\n\n");

    // Calibration and validation.
    let calibrated: Vec<usize> = facts.iter().filter_map(|f| f.calibration_points).collect();
    let accuracy: Vec<f64> = a
        .participant_quality
        .iter()
        .filter_map(|q| q.validation_accuracy_deg)
        .collect();
    let precision: Vec<f64> = a
        .participant_quality
        .iter()
        .filter_map(|q| q.validation_precision_rms_deg)
        .collect();
    s.push_str("**Calibration.** ");
    if calibrated.is_empty() && accuracy.is_empty() {
        s.push_str("None by et-suite in these recordings (no calibration or validation is recorded in them).\n\n");
    } else {
        let points = counted(&calibrated, |p| format!("{p}-point"));
        let targets: Vec<usize> = facts.iter().filter_map(|f| f.validation_targets).collect();
        let _ = write!(
            s,
            "{} recording(s) began with a {} calibration",
            calibrated.len(),
            listed(&points)
        );
        if !targets.is_empty() {
            let _ = write!(
                s,
                ", followed by a validation on {} target(s)",
                listed(&counted(&targets, |t| t.to_string()))
            );
        }
        if !accuracy.is_empty() {
            let _ = write!(
                s,
                ". Accuracy of the accepted validation (mean offset over targets and eyes): {}°; precision (RMS sample to sample): {}° (mean ± SD over {} participant(s))",
                mean_sd(&accuracy, 2),
                if precision.is_empty() {
                    "not recorded".into()
                } else {
                    mean_sd(&precision, 2)
                },
                accuracy.len()
            );
        }
        s.push_str(".\n\n");
    }

    // Fixations.
    s.push_str("**Fixations.** ");
    match a.config.filter {
        FixationFilter::Ivt => {
            let groups = counted(
                &a.ivt_settings,
                |(_, _, r): &(String, String, ResolvedIvt)| (r.rules, ivt_words(&r.cfg)),
            );
            for ((rules, words), k) in groups {
                let _ = write!(
                    s,
                    "{k} recording(s) were classified with the Tobii I-VT (Fixation) filter, et-suite's preset {rules}: {words}. "
                );
            }
            s.push_str(
                "Each recording's settings and why they apply are in `ivt_settings.csv`.\n\n",
            );
        }
        FixationFilter::Idt => {
            let c = &a.config.idt;
            let _ = write!(
                s,
                "Dispersion threshold (I-DT): dispersion at most {}°, fixations at least {} ms, eye selection {}, {}.\n\n",
                c.dispersion_deg,
                c.min_duration_ms,
                setting_name(&c.eye),
                c.gap_fill_max_ms
                    .map_or("no gap fill-in".to_string(), |g| format!("gap fill-in up to {g} ms"))
            );
        }
    }

    // Areas of interest and trials.
    s.push_str("**Areas of interest.** ");
    match &a.set {
        Some(set) => {
            let names = set.aoi_names();
            let _ = write!(
                s,
                "{} AOI(s) per stimulus ({}), in px of the stimulus as drawn",
                names.len(),
                names.join(", ")
            );
            if a.smile_design {
                let _ = write!(
                    s,
                    "; the analysed measure is the dwell time on '{}' (valid samples inside it × the sample period)",
                    a.aoi
                );
            }
        }
        None => s.push_str("none (no AOIs given for these recordings)"),
    }
    if !a.config.trials.exclude.is_empty() {
        let _ = write!(
            s,
            "; intervals named {} are not trials of the analysis",
            a.config
                .trials
                .exclude
                .iter()
                .map(|e| format!("'{e}'"))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    s.push_str(".\n\n");

    // Exclusions.
    let rules = &a.config.exclusion;
    let mut set_rules = Vec::new();
    if let Some(v) = rules.min_valid_share {
        set_rules.push(format!(
            "a trial needs at least {:.0} % of its expected samples with gaze",
            v * 100.0
        ));
    }
    if let Some(v) = rules.max_validation_accuracy_deg {
        set_rules.push(format!(
            "a participant's accepted validation accuracy at most {v}°"
        ));
    }
    if let Some(v) = rules.min_trials_share {
        set_rules.push(format!(
            "a participant needs at least {:.0} % of their trials left",
            v * 100.0
        ));
    }
    let by_rule = counted(&a.exclusions, |e| e.rule.to_string());
    let _ = write!(
        s,
        "**Exclusions.** {}; trials cut short by an abort and trials without any gaze sample are always excluded. Excluded: {} trial(s) and {} participant(s){}.\n\n",
        if set_rules.is_empty() {
            "No exclusion rule was set".to_string()
        } else {
            format!("Rules: {}", set_rules.join("; "))
        },
        a.exclusions.iter().filter(|e| e.trial >= 0).count(),
        a.exclusions.iter().filter(|e| e.trial < 0).count(),
        if by_rule.is_empty() {
            String::new()
        } else {
            format!(" (by rule: {})", listed(&by_rule))
        }
    );

    // Statistics.
    s.push_str("**Statistics.** ");
    if a.smile_design {
        let _ = write!(
            s,
            "Dwell time ({}) on the '{}' AOI, one observation per participant × image, was compared between smile and no-smile versions with the {} model (test: {}), per condition and over all images; the conditions' p-values are corrected by {}. ",
            match a.config.response {
                crate::Response::DwellMs => "ms",
                crate::Response::Proportion => "share of the stimulus time",
            },
            a.aoi,
            a.config.model.as_str(),
            a.tests_used(),
            a.config.correction.as_str()
        );
        for c in &a.comparisons {
            let _ = write!(s, "{}: {}. ", c.condition, c.detail);
        }
        if let Some(t) = &a.interaction {
            let _ = write!(s, "{}.", t.line());
        }
        s.push_str(" The same comparison under every model is in `models.csv`.\n\n");
    } else {
        s.push_str("No inferential model was fitted (no trial shows a smile or no-smile face); AOI metrics are reported per stimulus as means over participants, each participant averaged over their trials of the stimulus first.\n\n");
    }

    // Software.
    let recorded = counted(facts, |f| {
        if f.header.source_software.is_empty() {
            f.header.software_version.clone()
        } else {
            format!(
                "{} (imported by {})",
                f.header.source_software, f.header.software_version
            )
        }
    });
    let _ = writeln!(
        s,
        "**Software.** Recorded with {}; analysed with {software} (mixed models equal to lme4/lmerTest/pbkrtest and the tests to SciPy on stored cases: `analysis/tests/reference/`).",
        listed(&recorded)
    );
    s
}

/// The paragraphs of `methods` as HTML for the report (its Markdown is ours: `**bold**` and
/// `` `code` `` only, so toggling on those marks is the whole conversion).
pub fn methods_html(markdown: &str) -> String {
    let mut h = String::new();
    for par in markdown
        .split("\n\n")
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        if par.starts_with("# ") {
            continue;
        }
        let text = crate::table::esc(par);
        let mut out = String::from("<p>");
        let (mut bold, mut code) = (false, false);
        let mut rest = text.as_str();
        while !rest.is_empty() {
            if let Some(r) = rest.strip_prefix("**") {
                out.push_str(if bold { "</b>" } else { "<b>" });
                bold = !bold;
                rest = r;
            } else if let Some(r) = rest.strip_prefix('`') {
                out.push_str(if code { "</code>" } else { "<code>" });
                code = !code;
                rest = r;
            } else {
                let c = rest.chars().next().unwrap_or(' ');
                out.push(c);
                rest = &rest[c.len_utf8()..];
            }
        }
        out.push_str("</p>");
        h.push_str(&out);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_marks_become_html_and_text_is_escaped() {
        assert_eq!(
            methods_html("# Methods\n\n**Fixations.** a < b in `ivt_settings.csv`.\n\n"),
            "<p><b>Fixations.</b> a &lt; b in <code>ivt_settings.csv</code>.</p>"
        );
    }

    #[test]
    fn mean_and_sd_over_values() {
        assert_eq!(mean_sd(&[0.5, 0.7], 2), "0.60 ± 0.14");
        assert_eq!(mean_sd(&[0.5], 2), "0.50");
        assert_eq!(
            listed(&counted(&[120.0, 120.0, 60.0], |v| hz(*v))),
            "120 Hz (2), 60 Hz (1)"
        );
    }
}
