//! Loading converted weights. The official checkpoints are Python pickles that only PyTorch
//! can read; `models/scripts/convert_*.py` turn them into safetensors under the names our
//! modules use, and a missing or mismatched file is an error that says how to make it.

use std::path::Path;

use tch::nn::VarStore;

use crate::error::{ModelError, Result};

/// Which network a weight file is for, and the command that makes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WeightKind {
    /// HyperStyle (W encoder, hypernetwork, StyleGAN2 decoder, average latent).
    HyperStyle,
    /// A trained 12-class classifier (one per cross-validation fold).
    Classifier,
    /// VGGFace2's ResNet-50 (the classifier's starting point, 8631-class head dropped).
    VggFace2,
}

impl WeightKind {
    pub fn convert_hint(self) -> &'static str {
        match self {
            WeightKind::HyperStyle => "python3 models/scripts/convert_hyperstyle.py --checkpoint GeneticFaces_best_model.pt --w-encoder faces_w_encoder.pt --out hyperstyle.safetensors",
            WeightKind::Classifier => "python3 models/scripts/convert_classifier.py --checkpoint epoch-XX-test_accuracy-Y.pt --out fold-1.safetensors",
            WeightKind::VggFace2 => "python3 models/scripts/convert_vggface2.py --pickle resnet50_ft_weight.pkl --out vggface2_resnet50.safetensors",
        }
    }
}

/// A missing weight file says which converter makes it.
fn require(path: &Path, kind: WeightKind) -> Result<()> {
    if path.exists() {
        Ok(())
    } else {
        Err(ModelError::MissingWeights {
            path: path.to_path_buf(),
            hint: kind.convert_hint(),
        })
    }
}

/// Loads `path` (.safetensors) into every variable of `vs`; names missing from the file and
/// shape mismatches are errors naming the tensor.
pub fn load(vs: &mut VarStore, path: &Path, kind: WeightKind) -> Result<()> {
    require(path, kind)?;
    if path.extension().and_then(|e| e.to_str()) != Some("safetensors") {
        return Err(ModelError::Weights {
            path: path.to_path_buf(),
            message: format!(
                "expected a .safetensors file converted by: {}",
                kind.convert_hint()
            ),
        });
    }
    vs.load(path).map_err(|e| ModelError::Weights {
        path: path.to_path_buf(),
        message: format!(
            "{e} (convert the official checkpoint with: {})",
            kind.convert_hint()
        ),
    })
}

/// Loads what the file has into `vs` and returns the names it lacked (to start training from
/// the VGGFace2 trunk with a new head).
pub fn load_partial(vs: &mut VarStore, path: &Path, kind: WeightKind) -> Result<Vec<String>> {
    require(path, kind)?;
    vs.load_partial(path).map_err(|e| ModelError::Weights {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classifier::CaffeResnet50;
    use tch::Device;

    #[test]
    fn saved_weights_load_back_and_bad_files_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let vs = VarStore::new(Device::Cpu);
        let _m = CaffeResnet50::new(&vs.root(), 12);
        crate::testing::fill(&vs);
        let path = dir.path().join("fold-1.safetensors");
        vs.save(&path).unwrap();
        let mut other = VarStore::new(Device::Cpu);
        let _m2 = CaffeResnet50::new(&other.root(), 12);
        load(&mut other, &path, WeightKind::Classifier).unwrap();
        let a = &vs.variables()["layer3.2.bn2.running_var"];
        let b = &other.variables()["layer3.2.bn2.running_var"];
        assert!(a.equal(b));

        // A missing file says how to make it.
        let e = load(
            &mut other,
            &dir.path().join("nope.safetensors"),
            WeightKind::HyperStyle,
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("nope.safetensors") && e.contains("convert_hyperstyle.py"),
            "{e}"
        );
        // A head of another size is a named mismatch.
        let mut eight = VarStore::new(Device::Cpu);
        let _m3 = CaffeResnet50::new(&eight.root(), 8);
        let e = load(&mut eight, &path, WeightKind::Classifier)
            .unwrap_err()
            .to_string();
        assert!(e.contains("fold-1.safetensors"), "{e}");
        // The VGGFace2 trunk without our head: the head is reported missing, the rest loads.
        let trunk = VarStore::new(Device::Cpu);
        let _m4 = CaffeResnet50::new(&trunk.root(), 8631);
        let trunk_path = dir.path().join("trunk.safetensors");
        tch::no_grad(|| {
            let vars = trunk.variables();
            let named: Vec<(String, tch::Tensor)> = vars
                .into_iter()
                .filter(|(k, _)| !k.starts_with("fc."))
                .collect();
            tch::Tensor::write_safetensors(&named, &trunk_path).unwrap();
        });
        let mut fresh = VarStore::new(Device::Cpu);
        let _m5 = CaffeResnet50::new(&fresh.root(), 12);
        let mut missing = load_partial(&mut fresh, &trunk_path, WeightKind::VggFace2).unwrap();
        missing.sort();
        assert_eq!(missing, vec!["fc.bias", "fc.weight"]);
    }
}
