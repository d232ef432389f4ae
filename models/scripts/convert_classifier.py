#!/usr/bin/env python3
"""Converts a trained classifier checkpoint of the study's code
(pateltanvi2992/genetic-conditions-image-classifier saves the whole module every epoch:
`torch.save(model, .../epoch-XX-test_accuracy-Y.pt)`) or a plain state dict into safetensors
for et-suite (one file per fold). Needs PyTorch; a whole-module pickle also needs the authors'
code importable: pass its `code/` folder with --code-dir.

    python3 models/scripts/convert_classifier.py --checkpoint epoch-12-test_accuracy-0.71.pt \
        --code-dir genetic-conditions-image-classifier/code --out fold-1.safetensors
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_io  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--code-dir")
    a = ap.parse_args()
    safetensors_io.refuse_overwrite(a.out)
    if a.code_dir:
        sys.path.insert(0, a.code_dir)
    try:
        import torch
    except ImportError:
        raise SystemExit("error: PyTorch is needed to read the checkpoint (pip install torch)")
    try:
        ck = torch.load(a.checkpoint, map_location="cpu", weights_only=False)
    except Exception as e:  # noqa: BLE001
        raise SystemExit(f"error: {a.checkpoint}: cannot load (for a whole-module pickle pass --code-dir): {e}")
    sd = ck.state_dict() if hasattr(ck, "state_dict") else ck.get("state_dict", ck)
    # The trunk may sit under a prefix (a wrapper module): find it from the stem convolution.
    stem = [k for k, v in sd.items() if k.endswith("conv1.weight") and tuple(v.shape) == (64, 3, 7, 7)]
    if len(stem) != 1:
        raise SystemExit(f"error: {a.checkpoint}: cannot find the ResNet-50 stem (conv1.weight 64x3x7x7)")
    prefix = stem[0][: -len("conv1.weight")]
    out = {k[len(prefix):]: v.float().numpy() for k, v in sd.items()
           if k.startswith(prefix) and not k.endswith("num_batches_tracked")}
    head = out.get("fc.weight")
    if head is None or head.shape[1] != 2048:
        raise SystemExit(f"error: {a.checkpoint}: no fc head on the 2048-d features")
    safetensors_io.write(a.out, out)
    print(f"{a.out}: {len(out)} tensors, {head.shape[0]} classes")


if __name__ == "__main__":
    main()
