//! The prepared images as a stimulus set: what `run` and `demo` read.

use super::config::PrepareConfig;
use super::pipeline::PreparedImage;

/// The manifest of the written images, with the mouth AOI of `[aoi]` in pixels.
pub fn stimulus_set(cfg: &PrepareConfig, images: &[PreparedImage]) -> et_stimuli::StimulusSet {
    let size = cfg.edit.image_size;
    let [cx, cy, rx, ry] = cfg.aoi.mouth;
    let s = f64::from(size);
    et_stimuli::StimulusSet {
        name: format!("prepared from {}", cfg.labels.display()),
        image_width: size,
        image_height: size,
        landmarks: None,
        aois: vec![et_stimuli::Aoi {
            name: "mouth".into(),
            shape: et_stimuli::AoiShape::Ellipse {
                cx: cx * s,
                cy: cy * s,
                rx: rx * s,
                ry: ry * s,
            },
        }],
        stimuli: images
            .iter()
            .map(|i| et_stimuli::Stimulus {
                id: i.id.clone(),
                image: i.path.clone(),
                identity: i.identity.clone(),
                condition: i.condition.clone(),
                variant: i.variant,
                expression: if i.smile {
                    et_stimuli::Expression::Smile
                } else {
                    et_stimuli::Expression::NoSmile
                },
                aois: Vec::new(),
            })
            .collect(),
        root: cfg.out.clone(),
    }
}
