#!/usr/bin/env python3
"""Converts the public VGGFace2 ResNet-50 weights (`resnet50_ft_weight.pkl` of
cydonia999/VGGFace2-pytorch: a pickled dict of name -> NumPy array, Caffe layout) into a
safetensors file et-suite's classifier starts from. NumPy only; no PyTorch needed.

    python3 models/scripts/convert_vggface2.py --pickle resnet50_ft_weight.pkl --out vggface2_resnet50.safetensors

The 8631-identity head (`fc.*`) is dropped unless --keep-head: the study trains a 12-class head.
"""
import argparse
import os
import pickle
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_io  # noqa: E402

EXPECTED = {"conv1.weight": (64, 3, 7, 7), "layer4.2.bn3.running_var": (2048,)}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pickle", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--keep-head", action="store_true")
    a = ap.parse_args()
    safetensors_io.refuse_overwrite(a.out)
    try:
        with open(a.pickle, "rb") as f:
            d = pickle.load(f, encoding="latin1")
    except (OSError, pickle.UnpicklingError, EOFError) as e:
        raise SystemExit(f"error: {a.pickle}: cannot read the weights pickle: {e}")
    if not isinstance(d, dict):
        raise SystemExit(f"error: {a.pickle}: expected a dict of name -> array, got {type(d).__name__}")
    for name, shape in EXPECTED.items():
        if name not in d or tuple(np.shape(d[name])) != shape:
            raise SystemExit(f"error: {a.pickle}: {name} should be {shape}; is this the VGGFace2 ResNet-50 (resnet50_ft_weight.pkl)?")
    out = {k: v for k, v in d.items()
           if not k.endswith("num_batches_tracked") and (a.keep_head or not k.startswith("fc."))}
    safetensors_io.write(a.out, out)
    print(f"{a.out}: {len(out)} tensors, {sum(np.size(v) for v in out.values()):,} values")


if __name__ == "__main__":
    main()
