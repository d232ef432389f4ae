//! I-VT presets: each Tobii program's default "Tobii I-VT (Fixation)" filter as its exports
//! show it, chosen per recording by the software that recorded it (`preset = "auto"`, the
//! default), with every explicit stage key overriding that stage.
//!
//! **Tobii Pro Lab 1.x** (`tobii-pro-lab` for a recording whose export names Pro Lab 1.x).
//! Found from Pro Lab 1.145 exports of a Tobii Pro X3-120 at 120 Hz with Tobii's label on every
//! sample (the EyeT4Empathy data, Lencastre et al. 2022; 33 recordings, 215 806 samples; the
//! files are not in the repository), each rule checked against those labels:
//! 1. No gap fill-in. Every sample without gaze in either eye is `EyesNotFound`, single lost
//!    samples between valid ones included: the X3-120's "valid, valid, lost" stretches are
//!    8 ms `EyesNotFound` events in the labels (filling them reproduces 57 % of them, not
//!    filling 99.9 %).
//! 2. Eye selection "average" with the eye offset (`EyeChoice::AverageEyeOffset`): a sample
//!    with one eye is that eye and that eye shifted by the eyes' difference at the last sample
//!    with both. Where the eyes drop out in turn, Tobii's labels hold fixations that a plain
//!    one-eye average reads as saccades of half the eyes' disparity (agreement 90.6 → 95.3 %).
//! 3. Noise reduction: moving median of 3; a sample with a neighbour without gaze (or at the
//!    ends of the data) keeps its own value (`MedianEdges::OwnValue`; the median of the valid
//!    neighbours gives 0.3 % less).
//! 4. Velocity over 20 ms: 3 samples at 120 Hz, the window lying inside the run of samples
//!    with gaze that holds the sample, moved inward at the run's ends; in a run shorter than
//!    the window the sample is `Unclassified` (`VelocityEdges::InsideRun`): valid pairs between
//!    lost samples are 17 ms `Unclassified` events, and the last sample before a gap carries
//!    the class of the one before it (95.3 → 97.4 %).
//! 5. Threshold 30 °/s.
//! 6. Merge across at most 75 ms and 0.5°, each pair of neighbouring fixations compared as
//!    classified, not the fixation merged so far with the next (`MergeCompare::Unmerged`;
//!    97.4 → 98.0 %).
//! 7. Fixations shorter than 60 ms become `Unclassified` (the shortest exported fixation has
//!    8 samples, 67 ms; runs of 7, 58 ms, are `Unclassified` events).
//!
//! **Tobii Studio, and Pro Lab from the versions after 1.x** (`tobii-studio`, `tobii-pro-lab`):
//! the filter's documented defaults (Olsen 2012, "The Tobii I-VT Fixation Filter"; the values
//! as corroborated in peers.md §3.1): gap fill-in up to 75 ms, the average of the eyes (one
//! eye as it is), median of 3 over the neighbours with gaze, a 20 ms velocity window whose
//! ends move to the nearest sample with gaze, 30 °/s, merge across 75 ms and 0.5° against the
//! fixation merged so far, discard below 60 ms. On 300 Hz exports these agreed with Tobii's
//! labels on 99.1 % (Studio) and 99.9 % (Pro Lab 24.21) of samples.
//!
//! et-suite's own recordings get `tobii-pro-lab` with the documented defaults: the labs that
//! compare with Tobii today use current Pro Lab, and it is the filter Tobii documents.

use serde::{Deserialize, Serialize};

use super::{IvtConfig, MedianEdges, MergeCompare, VelocityEdges};
use crate::fixation::EyeChoice;

/// Which program's default I-VT (Fixation) filter to reproduce.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Preset {
    /// The program that recorded the recording (its import says which); `tobii-pro-lab` for
    /// et-suite's own recordings and for exports that do not say.
    #[default]
    Auto,
    /// Tobii Pro Lab, as the version that recorded the export classifies (1.x or later).
    TobiiProLab,
    TobiiStudio,
}

/// The `[ivt]` table: a preset and any stage settings that override it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IvtSpec {
    pub preset: Preset,
    #[serde(with = "crate::fixation::stage::overriding", skip_serializing_if = "Option::is_none")]
    pub gap_fill_max_ms: Option<Option<f64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub eye: Option<EyeChoice>,
    #[serde(with = "crate::fixation::stage::overriding", skip_serializing_if = "Option::is_none")]
    pub median_window: Option<Option<usize>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub median_edges: Option<MedianEdges>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub velocity_window_ms: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub velocity_edges: Option<VelocityEdges>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub threshold_deg_s: Option<f64>,
    #[serde(with = "crate::fixation::stage::overriding", skip_serializing_if = "Option::is_none")]
    pub merge_max_gap_ms: Option<Option<f64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub merge_max_angle_deg: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub merge_compare: Option<MergeCompare>,
    #[serde(with = "crate::fixation::stage::overriding", skip_serializing_if = "Option::is_none")]
    pub discard_shorter_than_ms: Option<Option<f64>>,
}

/// The settings a recording is classified with, and where they came from.
#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedIvt {
    /// The preset's rules: `tobii-pro-lab-1` (Pro Lab 1.x), `tobii-pro-lab` or `tobii-studio`.
    pub rules: &'static str,
    /// Why: the preset asked for and the software the recording names.
    pub why: String,
    /// Whether any stage key overrides the preset.
    pub overridden: bool,
    pub cfg: IvtConfig,
}

/// What Tobii Pro Lab 1.x does (module doc).
pub fn pro_lab_1() -> IvtConfig {
    IvtConfig {
        gap_fill_max_ms: None,
        eye: EyeChoice::AverageEyeOffset,
        median_window: Some(3),
        median_edges: MedianEdges::OwnValue,
        velocity_window_ms: 20.0,
        velocity_edges: VelocityEdges::InsideRun,
        threshold_deg_s: 30.0,
        merge_max_gap_ms: Some(75.0),
        merge_max_angle_deg: 0.5,
        merge_compare: MergeCompare::Unmerged,
        discard_shorter_than_ms: Some(60.0),
    }
}

/// The major version in a software name such as "Tobii Pro Lab 1.145.28180".
fn major_version(software: &str) -> Option<u32> {
    software
        .split_whitespace()
        .find(|w| w.chars().next().is_some_and(|c| c.is_ascii_digit()))?
        .split('.')
        .next()?
        .parse()
        .ok()
}

impl IvtSpec {
    /// The settings for a recording whose import names `software` ("" for et-suite's own).
    pub fn resolve(&self, software: &str) -> ResolvedIvt {
        let pro_lab = software.starts_with("Tobii Pro Lab");
        let studio = software.starts_with("Tobii Studio");
        let preset = match self.preset {
            Preset::Auto if studio => Preset::TobiiStudio,
            Preset::Auto => Preset::TobiiProLab,
            p => p,
        };
        let (rules, base) = match preset {
            Preset::TobiiProLab if pro_lab && major_version(software) == Some(1) => {
                ("tobii-pro-lab-1", pro_lab_1())
            }
            Preset::TobiiStudio => ("tobii-studio", IvtConfig::default()),
            _ => ("tobii-pro-lab", IvtConfig::default()),
        };
        let asked = match self.preset {
            Preset::Auto => "auto",
            Preset::TobiiProLab => "tobii-pro-lab",
            Preset::TobiiStudio => "tobii-studio",
        };
        let from = if software.is_empty() {
            "an et-suite recording or an export that does not name its software".to_string()
        } else {
            format!("recorded with {software}")
        };
        let cfg = self.apply(base.clone());
        ResolvedIvt {
            rules,
            why: format!("preset {asked}; {from}"),
            overridden: cfg != base,
            cfg,
        }
    }

    /// `base` with every stage key given here put over it.
    fn apply(&self, mut c: IvtConfig) -> IvtConfig {
        macro_rules! over {
            ($($field:ident),*) => {$(
                if let Some(v) = self.$field {
                    c.$field = v;
                }
            )*};
        }
        over!(
            gap_fill_max_ms,
            eye,
            median_window,
            median_edges,
            velocity_window_ms,
            velocity_edges,
            threshold_deg_s,
            merge_max_gap_ms,
            merge_max_angle_deg,
            merge_compare,
            discard_shorter_than_ms
        );
        c
    }

    /// Checks every value given (over each preset, so no recording can meet a bad one).
    pub fn validate(&self) -> Result<(), String> {
        self.apply(IvtConfig::default()).validate()?;
        self.apply(pro_lab_1()).validate()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_picks_the_rules_of_the_software_that_recorded() {
        let spec = IvtSpec::default();
        let r = spec.resolve("Tobii Pro Lab 1.145.28180");
        assert_eq!((r.rules, &r.cfg), ("tobii-pro-lab-1", &pro_lab_1()));
        assert!(r.why.contains("Pro Lab 1.145"), "{}", r.why);
        assert_eq!(spec.resolve("Tobii Pro Lab 24.21.435").rules, "tobii-pro-lab");
        assert_eq!(spec.resolve("Tobii Studio 3.4.8").rules, "tobii-studio");
        let own = spec.resolve("");
        assert_eq!((own.rules, &own.cfg), ("tobii-pro-lab", &IvtConfig::default()));
        assert!(!own.overridden);
        // An explicit preset wins over the software.
        let studio = IvtSpec {
            preset: Preset::TobiiStudio,
            ..IvtSpec::default()
        };
        assert_eq!(studio.resolve("Tobii Pro Lab 1.145").rules, "tobii-studio");
    }

    #[test]
    fn explicit_stage_keys_override_only_their_stage() {
        let spec: IvtSpec = toml::from_str(
            "preset = \"tobii-pro-lab\"\ngap_fill_max_ms = 50.0\nmerge_max_gap_ms = false\n",
        )
        .unwrap();
        let r = spec.resolve("Tobii Pro Lab 1.145.28180");
        assert!(r.overridden);
        assert_eq!(r.cfg.gap_fill_max_ms, Some(50.0));
        assert_eq!(r.cfg.merge_max_gap_ms, None);
        assert_eq!(r.cfg.velocity_edges, VelocityEdges::InsideRun);
        assert_eq!(r.cfg.eye, EyeChoice::AverageEyeOffset);
        // Written back, the table reads the same.
        let again: IvtSpec = toml::from_str(&toml::to_string(&spec).unwrap()).unwrap();
        assert_eq!(again, spec);
        let bad: IvtSpec = toml::from_str("threshold_deg_s = -1.0").unwrap();
        assert!(bad.validate().unwrap_err().contains("threshold_deg_s"));
        assert!(toml::from_str::<IvtSpec>("preset = \"tobii\"").is_err());
    }
}
