#!/usr/bin/env python3
"""Reference values for et-analysis's data-quality measures (analysis/src/quality_measures.rs),
from ETDQualitizer, the field's reference implementation. Writes etdq_reference.toml beside
this script; analysis/tests/parity/etdq.rs loops over every case.

Produced with: Python 3.11.7, ETDQualitizer 1.2.0, NumPy 2.4.6, on 2026-12-07.
Run: python3 etdq_reference.py   (needs `pip install ETDQualitizer==1.2.0`; only to
regenerate, never to run et-suite)

Gaze positions are stored as et-suite keeps them, px from the screen's top-left; ETDQualitizer
gets them from the screen's centre with y up (its `ScreenConfiguration.pix_to_deg` takes the
centre as straight ahead), which is the convention et-suite documents.
"""
import numpy as np
import ETDQualitizer as etdq

rng = np.random.default_rng(20261207)
cases = []


def fmt(v):
    return "[" + ", ".join("nan" if np.isnan(x) else repr(float(x)) for x in v) + "]"


screens = [
    (1920, 1080, 531.0, 299.0, 650.0),
    (1280, 1024, 376.0, 301.0, 600.0),
]
for k in range(8):
    w, h, wmm, hmm, d = screens[k % 2]
    sc = etdq.ScreenConfiguration(wmm, hmm, w, h, d)
    tx, ty = rng.uniform(0.1, 0.9) * w, rng.uniform(0.1, 0.9) * h
    n = int(rng.integers(30, 120))
    # Gaze around the target with an offset, noise and (in some cases) lost samples.
    x = tx + rng.normal(15, 8 + 4 * k, n)
    y = ty + rng.normal(-10, 6 + 3 * k, n)
    if k % 3 == 1:
        lost = rng.random(n) < 0.15
        x[lost] = np.nan
        y[lost] = np.nan
    azi, ele = sc.pix_to_deg(x - w / 2, h / 2 - y)
    tazi, tele = sc.pix_to_deg(tx - w / 2, h / 2 - ty)
    acc = etdq.accuracy(np.asarray(azi), np.asarray(ele), float(tazi), float(tele))
    rms = etdq.rms_s2s(np.asarray(azi), np.asarray(ele))
    sd = etdq.std(np.asarray(azi), np.asarray(ele))
    area = etdq.bcea(np.asarray(azi), np.asarray(ele), P=0.68)[0]
    duration = n / 120.0 * 1.05
    loss = etdq.data_loss_from_expected(np.asarray(azi), np.asarray(ele), duration, 120.0)
    freq = etdq.effective_frequency(np.asarray(azi), np.asarray(ele), duration)
    cases.append(dict(screen=[w, h, wmm, hmm, d], target=[tx, ty], x=x, y=y, accuracy=acc,
                      rms_s2s=rms, std=sd, bcea=area, duration_s=duration, data_loss=loss,
                      effective_frequency=freq))

with open(__file__.replace(".py", ".toml"), "w", encoding="utf-8") as f:
    f.write(f"# Written by etdq_reference.py with ETDQualitizer {etdq.version.__version__ if hasattr(etdq.version, '__version__') else etdq.version}; do not edit.\n")
    for c in cases:
        f.write("\n[[case]]\n")
        f.write(f"screen = {fmt(c['screen'])}\n")
        f.write(f"target = {fmt(c['target'])}\n")
        f.write(f"x = {fmt(c['x'])}\n")
        f.write(f"y = {fmt(c['y'])}\n")
        for key in ("accuracy", "rms_s2s", "std"):
            f.write(f"{key} = {fmt(c[key])}\n")
        for key in ("bcea", "duration_s", "data_loss", "effective_frequency"):
            f.write(f"{key} = {float(c[key])!r}\n")
