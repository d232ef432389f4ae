#!/usr/bin/env python3
"""I-VT and AOI mapping on the same 10 million samples: et-suite against pymovements, like with like.

Runs `cargo bench -p et-analysis --bench ivt_aoi -- N --export FILE` (et-suite: Tobii I-VT with all stages,
then AOI metrics for every trial and AOI; best of three runs for each step), then pymovements on the
exported samples, timing two steps apart: the fixation filter (pix2deg, pos2vel with its default
'smooth' five-point method, its I-VT at 30 deg/s and 60 ms minimum) and the AOI step (its
sample-to-AOI mapping with the mouth AOI's bounding rectangle in screen px, then the mouth dwell
time; it maps a few thousand samples a second, so it runs on the first AOI_SAMPLES (default
200 000) and is scaled to all). Prints each side's time per step and the ratio per step.

Needs: pip install pymovements (tested with 0.28.0). Usage: scripts/bench_vs_pymovements.py [N]
"""
import os
import re
import subprocess
import sys
import tempfile
import time

import numpy as np
import polars as pl
import pymovements as pm

n = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000_000
root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
with tempfile.TemporaryDirectory() as tmp:
    path = os.path.join(tmp, "samples.bin")
    out = subprocess.run(["cargo", "bench", "-p", "et-analysis", "--bench", "ivt_aoi", "--", str(n), "--export", path],
                         cwd=root, check=True, capture_output=True, text=True).stdout
    print(out.strip())
    runs = re.findall(r"I-VT ([0-9.]+) s .*: ([0-9.]+) s total", out)
    ours_ivt = min(float(a) for a, _ in runs)
    ours_aoi = min(float(b) - float(a) for a, b in runs)
    data = np.fromfile(path, dtype="<f8").reshape(-1, 3)

t0 = time.perf_counter()
experiment = pm.Experiment(screen_width_px=1920, screen_height_px=1080, screen_width_cm=53.1,
                           screen_height_cm=29.9, distance_cm=65.0, origin="upper left", sampling_rate=120.0)
gaze = pm.gaze.from_numpy(time=data[:, 0], pixel=data[:, 1:3].T, experiment=experiment, time_unit="ms")
gaze.pix2deg()
gaze.pos2vel("smooth")
gaze.detect("ivt", velocity_threshold=30.0, minimum_duration=60)
theirs_ivt = time.perf_counter() - t0
print(f"pymovements {pm.__version__}: {len(gaze.events.frame)} fixations")
print(f"fixation filter: et-suite I-VT {ours_ivt:.2f} s; pymovements pix2deg + pos2vel + ivt {theirs_ivt:.2f} s; "
      f"ratio {theirs_ivt / ours_ivt:.1f}x", flush=True)
# pymovements maps a few thousand samples a second to AOIs: its AOI step runs on the first
# AOI_SAMPLES samples and is scaled to all of them (said so in the output).
AOI_SAMPLES = min(n, int(os.environ.get("AOI_SAMPLES", "200000")))
part = pm.gaze.from_numpy(time=data[:AOI_SAMPLES, 0], pixel=data[:AOI_SAMPLES, 1:3].T,
                          experiment=experiment, time_unit="ms")
t1 = time.perf_counter()
# The mouth AOI (ellipse centre 512,742, radii 165,95 in a 1024 px image drawn 1080 px tall at x=420).
k = 1080.0 / 1024.0
aois = pl.DataFrame({"aoi": ["mouth"], "x": [420.0 + (512 - 165) * k], "y": [(742 - 95) * k],
                     "w": [330 * k], "h": [190 * k]})
stimulus = pm.stimulus.TextStimulus(aois, aoi_column="aoi", start_x_column="x", start_y_column="y",
                                    width_column="w", height_column="h")
part.map_to_aois(stimulus, verbose=False)
samples = part.samples
aoi_col = [c for c in samples.columns if c.startswith("aoi")][0]
mouth_samples = samples.filter(pl.col(aoi_col) == "mouth").height
theirs_aoi = (time.perf_counter() - t1) * n / AOI_SAMPLES
print(f"AOI step: et-suite AOI metrics (3 AOIs, every trial, all {n} samples) {ours_aoi:.2f} s; "
      f"pymovements map_to_aois (mouth) {theirs_aoi:.1f} s scaled from its first {AOI_SAMPLES} samples "
      f"(mouth dwell there {mouth_samples / 120.0:.0f} s); ratio {theirs_aoi / max(ours_aoi, 1e-9):.0f}x")
