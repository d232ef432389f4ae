//! Where simulated participants look: per expression, the probability of visiting the mouth,
//! the eyes, the nose or elsewhere on the face, and how long a visit lasts. Mapped onto each
//! stimulus through the set's landmarks (or its AOIs), this is the synthetic tracker's input
//! and the demo's ground truth.
//!
//! Participants and faces differ as real ones do: each participant has a mouth preference and
//! a smile effect of their own, each identity a mouth salience, drawn once from normal
//! distributions (log-factors on the mouth's visit weight, SDs in the config) seeded by the
//! config's seed and the participant's or identity's name, so a participant is the same person
//! whatever order the sessions run in, and every participant sees the same faces.

use et_drivers::synthetic::{AttentionRegion, Scene};
use et_files::SettingError;
use et_stimuli::{Expression, StimulusSet};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegionAttention {
    /// Relative probability of the next visit going here.
    pub weight: f64,
    /// Mean visit length (ms).
    pub dwell_ms: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpressionAttention {
    pub mouth: RegionAttention,
    pub eyes: RegionAttention,
    pub nose: RegionAttention,
    pub elsewhere: RegionAttention,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AttentionConfig {
    pub smile: ExpressionAttention,
    pub no_smile: ExpressionAttention,
    /// SD of a participant's mouth preference (log-factor on the mouth's visit weight).
    pub participant_mouth_sd: f64,
    /// SD of a participant's own smile effect (a log-factor split evenly between the two
    /// expressions: half on smiling faces' mouth weight, minus half on the others', so
    /// participants who differ only in it average to no effect).
    pub participant_smile_sd: f64,
    /// SD of an identity's mouth salience (log-factor on the mouth weight of both its images).
    pub identity_mouth_sd: f64,
    /// Seeds the participants' and identities' draws.
    pub seed: u64,
}

/// The largest SD of a log-factor (a factor of e^±6 two SDs out is already absurd).
pub const MAX_EFFECT_SD: f64 = 3.0;

/// One participant's attention: the config with their drawn effects.
#[derive(Debug, Clone, PartialEq)]
pub struct ParticipantAttention {
    pub config: AttentionConfig,
    /// Log-factor on the mouth weight for every face, and this participant's own smile
    /// effect (half added for smiling faces, half taken off for the others).
    pub mouth: f64,
    pub smile: f64,
}

const fn r(weight: f64, dwell_ms: f64) -> RegionAttention {
    RegionAttention { weight, dwell_ms }
}

impl Default for AttentionConfig {
    /// A modest planted effect: smiling mouths draw somewhat more visits.
    fn default() -> Self {
        AttentionConfig {
            smile: ExpressionAttention {
                mouth: r(0.28, 800.0),
                eyes: r(0.37, 1000.0),
                nose: r(0.20, 500.0),
                elsewhere: r(0.15, 500.0),
            },
            no_smile: ExpressionAttention {
                mouth: r(0.20, 800.0),
                eyes: r(0.42, 1000.0),
                nose: r(0.21, 500.0),
                elsewhere: r(0.17, 500.0),
            },
            // Participants differ more than faces do, and in how much a smile draws them.
            participant_mouth_sd: 0.35,
            participant_smile_sd: 0.25,
            identity_mouth_sd: 0.2,
            seed: 1,
        }
    }
}

impl ExpressionAttention {
    fn regions(&self) -> [(&'static str, RegionAttention); 4] {
        [
            ("mouth", self.mouth),
            ("eyes", self.eyes),
            ("nose", self.nose),
            ("elsewhere", self.elsewhere),
        ]
    }

    /// Expected share of visit time on `region` (weight × dwell, normalised).
    pub fn expected_share(&self, region: &str) -> f64 {
        let total: f64 = self
            .regions()
            .iter()
            .map(|(_, a)| a.weight * a.dwell_ms)
            .sum();
        self.regions()
            .iter()
            .find(|(n, _)| *n == region)
            .map_or(0.0, |(_, a)| a.weight * a.dwell_ms / total)
    }
}

/// A standard normal draw fixed by the seed and a name (FNV-1a of the name in the key).
fn draw(seed: u64, kind: &str, name: &str) -> f64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in kind.bytes().chain([0]).chain(name.bytes()) {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    // The whole 256-bit key from both, so names one letter apart give unrelated streams.
    let mut key = [0u8; 32];
    key[..8].copy_from_slice(&seed.to_le_bytes());
    key[8..16].copy_from_slice(&h.to_le_bytes());
    key[16..24].copy_from_slice(
        &h.rotate_left(29)
            .wrapping_mul(0x9e37_79b9_7f4a_7c15)
            .to_le_bytes(),
    );
    StandardNormal.sample(&mut ChaCha8Rng::from_seed(key))
}

/// What a simulated study planted, as the demo writes it beside its analysis so the analysis
/// can be checked against it: `ground_truth.csv` (the expected mouth share of face visits per
/// expression) and `ground_truth_effects.csv` (each participant's and identity's effects).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GroundTruth {
    pub smile_mouth_share: f64,
    pub no_smile_mouth_share: f64,
}

impl AttentionConfig {
    /// Writes the ground truth of participants `ids` looking at `set` into `dir`.
    pub fn write_ground_truth(
        &self,
        ids: &[String],
        set: &StimulusSet,
        dir: &std::path::Path,
    ) -> crate::error::Result<GroundTruth> {
        let (smile, no_smile) = self.planted_mouth_shares(ids, set);
        let write = |name: &str, text: String| {
            let path = dir.join(name);
            std::fs::write(&path, text)
                .map_err(|source| crate::error::SessionError::Io { path, source })
        };
        write(
            "ground_truth.csv",
            format!("expression,expected_mouth_share_of_face_visits\nsmile,{smile}\nno_smile,{no_smile}\n"),
        )?;
        let mut effects = String::from("kind,name,log_mouth_factor,log_smile_factor\n");
        for id in ids {
            let p = self.for_participant(id);
            effects.push_str(&format!("participant,{id},{},{}\n", p.mouth, p.smile));
        }
        for identity in set.by_identity().keys() {
            effects.push_str(&format!(
                "identity,{identity},{},0\n",
                self.identity_effect(identity)
            ));
        }
        write("ground_truth_effects.csv", effects)?;
        Ok(GroundTruth {
            smile_mouth_share: smile,
            no_smile_mouth_share: no_smile,
        })
    }
}

impl AttentionConfig {
    pub fn for_expression(&self, e: Expression) -> &ExpressionAttention {
        match e {
            Expression::Smile => &self.smile,
            Expression::NoSmile => &self.no_smile,
        }
    }

    /// The participant's drawn mouth preference and smile effect.
    pub fn for_participant(&self, participant: &str) -> ParticipantAttention {
        ParticipantAttention {
            config: *self,
            mouth: self.participant_mouth_sd * draw(self.seed, "participant mouth", participant),
            smile: self.participant_smile_sd * draw(self.seed, "participant smile", participant),
        }
    }

    /// The identity's drawn mouth salience (log-factor).
    pub fn identity_effect(&self, identity: &str) -> f64 {
        self.identity_mouth_sd * draw(self.seed, "identity mouth", identity)
    }

    pub fn validate(&self) -> Result<(), SettingError> {
        for (n, v) in [
            ("participant_mouth_sd", self.participant_mouth_sd),
            ("participant_smile_sd", self.participant_smile_sd),
            ("identity_mouth_sd", self.identity_mouth_sd),
        ] {
            if !(v.is_finite() && (0.0..=MAX_EFFECT_SD).contains(&v)) {
                return Err(SettingError::new(
                    format!("attention.{n}"),
                    format!("attention.{n} must be in 0 to {MAX_EFFECT_SD}, got {v}"),
                ));
            }
        }
        for (e, a) in [("smile", &self.smile), ("no_smile", &self.no_smile)] {
            let mut total = 0.0;
            for (n, r) in a.regions() {
                if !(r.weight.is_finite()
                    && r.weight >= 0.0
                    && r.dwell_ms.is_finite()
                    && r.dwell_ms > 0.0)
                {
                    return Err(SettingError::new(
                        format!("attention.{e}.{n}"),
                        format!("attention.{e}.{n}: weight must be >= 0 and dwell_ms > 0"),
                    ));
                }
                total += r.weight;
            }
            if total <= 0.0 {
                return Err(SettingError::new(
                    format!("attention.{e}"),
                    format!("attention.{e}: at least one weight must be positive"),
                ));
            }
        }
        Ok(())
    }
}

impl ParticipantAttention {
    /// What this participant does on one face: the expression's attention with the mouth's
    /// weight scaled by their preference, their own smile effect and the face's
    /// salience.
    pub fn on_face(&self, expression: Expression, identity: &str) -> ExpressionAttention {
        let mut a = *self.config.for_expression(expression);
        // Split evenly, so that for a participant whose effect is −b the two expressions swap
        // roles: with both expressions' attention equal and b symmetric about 0, the smile
        // effect averages to exactly none.
        let smile = match expression {
            Expression::Smile => self.smile / 2.0,
            Expression::NoSmile => -self.smile / 2.0,
        };
        a.mouth.weight *= (self.mouth + smile + self.config.identity_effect(identity)).exp();
        a
    }
}

impl AttentionConfig {
    /// The planted share of face-visit time on the mouth per expression (smile, no smile),
    /// averaged over `participants` × the set's faces of that expression, their drawn effects
    /// included: the demo's ground truth.
    pub fn planted_mouth_shares(&self, participants: &[String], set: &StimulusSet) -> (f64, f64) {
        let mean_for = |e: Expression| {
            let shares: Vec<f64> = participants
                .iter()
                .flat_map(|p| {
                    let pa = self.for_participant(p);
                    set.stimuli
                        .iter()
                        .filter(move |s| s.expression == e)
                        .map(move |s| pa.on_face(e, &s.identity).expected_share("mouth"))
                })
                .collect();
            shares.iter().sum::<f64>() / shares.len().max(1) as f64
        };
        (mean_for(Expression::Smile), mean_for(Expression::NoSmile))
    }
}

/// Region centres and half-extents in image px for one set (from landmarks, else AOIs).
fn region_geometry(set: &StimulusSet, name: &str) -> Option<(f64, f64, f64, f64)> {
    let k = f64::from(set.image_width) / 1024.0;
    if let Some(l) = &set.landmarks {
        return Some(match name {
            "mouth" => (l.mouth[0], l.mouth[1], 105.0 * k, 40.0 * k),
            "eyes" => {
                let cx = (l.left_eye[0] + l.right_eye[0]) / 2.0;
                let cy = (l.left_eye[1] + l.right_eye[1]) / 2.0;
                let half = (l.right_eye[0] - l.left_eye[0]).abs() / 2.0;
                (cx, cy, half + 45.0 * k, 30.0 * k)
            }
            "nose" => (l.nose[0], l.nose[1] - 10.0 * k, 35.0 * k, 40.0 * k),
            _ => {
                let cx = (l.left_eye[0] + l.right_eye[0]) / 2.0;
                let cy = (l.left_eye[1] + l.mouth[1]) / 2.0;
                (cx, cy, 260.0 * k, 330.0 * k)
            }
        });
    }
    match name {
        "elsewhere" => {
            let (w, h) = (f64::from(set.image_width), f64::from(set.image_height));
            Some((w / 2.0, h / 2.0, w * 0.4, h * 0.45))
        }
        _ => set.aois.iter().find(|a| a.name == name).map(|a| {
            let (cx, cy, rx, ry) = a.bounds();
            (cx, cy, rx * 0.7, ry * 0.7)
        }),
    }
}

/// The scene a simulated participant sees for a stimulus drawn at `rect` (screen px) on a
/// `screen_w`×`screen_h` display.
pub fn image_scene(
    set: &StimulusSet,
    a: &ExpressionAttention,
    rect: [f32; 4],
    screen_w: u32,
    screen_h: u32,
) -> Scene {
    let sx = f64::from(rect[2]) / f64::from(set.image_width);
    let sy = f64::from(rect[3]) / f64::from(set.image_height);
    let (w, h) = (f64::from(screen_w), f64::from(screen_h));
    let regions = a
        .regions()
        .iter()
        .filter_map(|(name, ra)| {
            let (cx, cy, rx, ry) = region_geometry(set, name)?;
            Some(AttentionRegion {
                name: (*name).to_string(),
                cx: (f64::from(rect[0]) + cx * sx) / w,
                cy: (f64::from(rect[1]) + cy * sy) / h,
                rx: rx * sx / w,
                ry: ry * sy / h,
                weight: ra.weight,
                mean_dwell_ms: ra.dwell_ms,
            })
        })
        .collect();
    Scene::Image { regions }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expected_share_is_weight_times_dwell() {
        let a = AttentionConfig::default();
        let s = a.smile.expected_share("mouth");
        assert!(
            (s - 0.28 * 800.0 / (0.28 * 800.0 + 0.37 * 1000.0 + 0.2 * 500.0 + 0.15 * 500.0)).abs()
                < 1e-12
        );
        assert!(a.smile.expected_share("mouth") > a.no_smile.expected_share("mouth"));
    }

    #[test]
    fn mouth_region_lies_inside_the_mouth_aoi_on_screen() {
        let set = et_stimuli::default_set::manifest(1024);
        let rect = [420.0, 0.0, 1080.0, 1080.0];
        let Scene::Image { regions } =
            image_scene(&set, &AttentionConfig::default().smile, rect, 1920, 1080)
        else {
            panic!("not an image scene");
        };
        let m = regions.iter().find(|r| r.name == "mouth").unwrap();
        let mouth = set.aois.iter().find(|a| a.name == "mouth").unwrap();
        // Back to image px: the region's extreme points are inside the AOI.
        let to_img = |x: f64, y: f64| {
            (
                (x * 1920.0 - 420.0) / 1080.0 * 1024.0,
                y * 1080.0 / 1080.0 * 1024.0,
            )
        };
        for (dx, dy) in [(1.0, 0.0), (-1.0, 0.0), (0.0, 1.0), (0.0, -1.0)] {
            let (x, y) = to_img(m.cx + dx * m.rx, m.cy + dy * m.ry);
            assert!(mouth.contains(x, y), "({x}, {y})");
        }
    }

    #[test]
    fn participants_and_faces_differ_reproducibly() {
        let a = AttentionConfig::default();
        let (p1, p2) = (a.for_participant("P01"), a.for_participant("P02"));
        assert_eq!(p1, a.for_participant("P01"), "same name, same person");
        assert_ne!(p1.mouth, p2.mouth);
        let w = |p: &ParticipantAttention, e, id| p.on_face(e, id).mouth.weight;
        assert_ne!(
            w(&p1, Expression::Smile, "AS-01"),
            w(&p1, Expression::Smile, "AS-02")
        );
        // The identity's salience is shared by every participant.
        let ratio = |id| w(&p1, Expression::NoSmile, id) / w(&p2, Expression::NoSmile, id);
        assert!((ratio("AS-01") - ratio("WS-03")).abs() < 1e-12);
        // Draws have about the configured SD over many names.
        let d: Vec<f64> = (0..4000)
            .map(|i| a.identity_effect(&format!("id{i}")))
            .collect();
        let m = d.iter().sum::<f64>() / d.len() as f64;
        let sd = (d.iter().map(|v| (v - m).powi(2)).sum::<f64>() / d.len() as f64).sqrt();
        assert!(
            m.abs() < 0.02 && (sd - a.identity_mouth_sd).abs() < 0.02,
            "{m} {sd}"
        );
        // No SDs: everyone is the config.
        let none = AttentionConfig {
            participant_mouth_sd: 0.0,
            participant_smile_sd: 0.0,
            identity_mouth_sd: 0.0,
            ..a
        };
        assert_eq!(
            none.for_participant("P07").on_face(Expression::Smile, "x"),
            none.smile
        );
        let bad = AttentionConfig {
            identity_mouth_sd: f64::NAN,
            ..a
        };
        assert!(bad
            .validate()
            .unwrap_err()
            .key
            .contains("identity_mouth_sd"));
    }

    #[test]
    fn a_participants_own_smile_effect_averages_to_none_when_the_expressions_are_alike() {
        let mut a = AttentionConfig::default();
        a.no_smile = a.smile;
        let with = |smile| ParticipantAttention {
            config: a,
            mouth: 0.1,
            smile,
        };
        // A participant drawn at −b sees a smile as one drawn at +b sees the other face.
        for b in [0.0, 0.3, -1.2] {
            let (up, down) = (with(b), with(-b));
            assert_eq!(
                up.on_face(Expression::Smile, "AS-01"),
                down.on_face(Expression::NoSmile, "AS-01")
            );
            assert_eq!(
                up.on_face(Expression::NoSmile, "AS-01"),
                down.on_face(Expression::Smile, "AS-01")
            );
        }
        // With a planted effect, a participant without an own effect sees it as planted.
        let planted = AttentionConfig {
            identity_mouth_sd: 0.0,
            ..AttentionConfig::default()
        };
        let plain = ParticipantAttention {
            config: planted,
            mouth: 0.0,
            smile: 0.0,
        };
        assert_eq!(plain.on_face(Expression::Smile, "x"), planted.smile);
        assert_eq!(plain.on_face(Expression::NoSmile, "x"), planted.no_smile);
    }

    #[test]
    fn rejects_negative_weight() {
        let mut a = AttentionConfig::default();
        a.no_smile.nose.weight = -1.0;
        assert!(a
            .validate()
            .unwrap_err()
            .key
            .contains("attention.no_smile.nose"));
    }
}
