#!/usr/bin/env python3
"""I-VT + mouth-AOI dwell on the same 10 million samples: et-suite against pymovements.

Runs `cargo bench -p et-analysis --bench ivt_aoi -- N --export FILE` (et-suite: Tobii I-VT with all stages,
then AOI metrics for every trial and AOI, best of three runs), then pymovements on the exported
samples: pix2deg, pos2vel (its default 'smooth' five-point method), its I-VT (30 deg/s, 60 ms
minimum), and its sample-to-AOI mapping with the mouth AOI's bounding rectangle in screen px,
then the mouth dwell time. Prints both times and the ratio.

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
    ours = float(re.search(r"RESULT samples=\d+ seconds=([0-9.]+)", out).group(1))
    data = np.fromfile(path, dtype="<f8").reshape(-1, 3)

t0 = time.perf_counter()
experiment = pm.Experiment(screen_width_px=1920, screen_height_px=1080, screen_width_cm=53.1,
                           screen_height_cm=29.9, distance_cm=65.0, origin="upper left", sampling_rate=120.0)
gaze = pm.gaze.from_numpy(time=data[:, 0], pixel=data[:, 1:3].T, experiment=experiment, time_unit="ms")
gaze.pix2deg()
gaze.pos2vel("smooth")
gaze.detect("ivt", velocity_threshold=30.0, minimum_duration=60)
# The mouth AOI (ellipse centre 512,742, radii 165,95 in a 1024 px image drawn 1080 px tall at x=420).
k = 1080.0 / 1024.0
aois = pl.DataFrame({"aoi": ["mouth"], "x": [420.0 + (512 - 165) * k], "y": [(742 - 95) * k],
                     "w": [330 * k], "h": [190 * k]})
stimulus = pm.stimulus.TextStimulus(aois, aoi_column="aoi", start_x_column="x", start_y_column="y",
                                    width_column="w", height_column="h")
gaze.map_to_aois(stimulus, verbose=False)
samples = gaze.samples
aoi_col = [c for c in samples.columns if c.startswith("aoi")][0]
mouth_samples = samples.filter(pl.col(aoi_col) == "mouth").height
theirs = time.perf_counter() - t0
print(f"pymovements {pm.__version__}: {theirs:.2f} s ({len(gaze.events.frame)} fixations, "
      f"mouth dwell {mouth_samples / 120.0:.0f} s)")
print(f"et-suite {ours:.2f} s; pymovements {theirs:.2f} s; et-suite is {theirs / ours:.1f}x faster")
