#!/usr/bin/env python3
"""Converts HyperStyle checkpoints (yuval-alaluf/hyperstyle; the study's fine-tuned
`GeneticFaces_best_model.pt`, or the public `hyperstyle_ffhq.pt`) and the W encoder checkpoint
(`faces_w_encoder.pt`) into one safetensors file for `et-suite prepare`. Needs PyTorch (the
checkpoints are pickles).

    python3 models/scripts/convert_hyperstyle.py --checkpoint GeneticFaces_best_model.pt \
        --w-encoder faces_w_encoder.pt --out hyperstyle.safetensors [--size 1024]

Names written: encoder.* (the W encoder), hypernet.*, decoder.* (StyleGAN2), latent_avg
[n_latent, 512]. Dropped: BatchNorm batch counters, the blur kernels (constants in et-suite)
and the shared hypernetwork's copies under each refinement block (stored once).
"""
import argparse
import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_io  # noqa: E402


def state(path, torch):
    try:
        ck = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as e:  # noqa: BLE001 - any unpickling failure is reported the same way
        raise SystemExit(f"error: {path}: cannot load the checkpoint: {e}")
    return ck.get("state_dict", ck), ck


def take(d, prefix):
    n = len(prefix) + 1
    return {k[n:]: v for k, v in d.items() if k.startswith(prefix + ".")}


def keep(name):
    return not (name.endswith("num_batches_tracked") or name.endswith(".kernel")
                or (name.startswith("refinement_blocks.") and ".hypernet." in name))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", required=True)
    ap.add_argument("--w-encoder", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--size", type=int, default=1024, help="generator output size (default 1024)")
    a = ap.parse_args()
    safetensors_io.refuse_overwrite(a.out)
    try:
        import torch
    except ImportError:
        raise SystemExit("error: PyTorch is needed to read the checkpoints (pip install torch)")
    sd, ck = state(a.checkpoint, torch)
    wsd, _ = state(a.w_encoder, torch)
    out = {}
    for prefix, src in (("hypernet", sd), ("decoder", sd), ("encoder", wsd)):
        part = take(src, prefix)
        if not part:
            raise SystemExit(f"error: {a.checkpoint if src is sd else a.w_encoder}: no '{prefix}.*' weights")
        out.update({f"{prefix}.{k}": v.float().numpy() for k, v in part.items() if keep(k)})
    n_latent = 2 * int(math.log2(a.size)) - 2
    avg = ck.get("latent_avg")
    if avg is None:
        raise SystemExit(f"error: {a.checkpoint}: no latent_avg")
    avg = avg.float().reshape(-1, avg.shape[-1])
    if avg.shape[0] == 1:
        avg = avg.repeat(n_latent, 1)
    if avg.shape[0] != n_latent:
        raise SystemExit(f"error: {a.checkpoint}: latent_avg has {avg.shape[0]} rows, expected {n_latent} for --size {a.size}")
    out["latent_avg"] = avg.numpy()
    safetensors_io.write(a.out, out)
    print(f"{a.out}: {len(out)} tensors")


if __name__ == "__main__":
    main()
