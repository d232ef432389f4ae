#!/usr/bin/env python3
"""Puts every stream of a LabRecorder XDF file on an et-suite recording's time axis.

    python3 scripts/align_xdf.py RECORDING.h5 SESSION.xdf OUTDIR

RECORDING.h5 is a session recorded with `et-suite run --lsl` while LabRecorder recorded
SESSION.xdf (the EEG, et-suite's `et-suite-gaze` and `et-suite-markers`, anything else). Every
stream of the XDF file is written to OUTDIR/<stream name>.csv with a first column `ts_us`: its
samples' times in microseconds of the recording's clock, the axis of /gaze, /events and
/trials, so an EEG sample and a fixation can be compared directly.

How:
1. pyxdf puts every stream on LabRecorder's clock (its own clock-offset measurements,
   `synchronize_clocks=True`; no dejittering, so the stamps are the senders').
2. The recording's /lsl_clock pairs map its tracker time to the LSL clock of the machine that
   recorded it; the XDF's `et-suite-gaze` stream holds those same samples on LabRecorder's
   clock. The difference between the two (one constant, fitted by the median over every
   sample) moves the et-suite machine's LSL clock onto LabRecorder's: it is 0 when both ran
   on one machine.
3. A stream's time t (LabRecorder's clock) is then tracker time (t - difference - offset) * 1e6,
   offset from the /lsl_clock pair nearest in time.

Printed: each stream's name, type and sample count, and the synchronisation check: the
spread (median and largest absolute residual, in ms) of the gaze samples' XDF times against
their recorded times after the mapping. A residual above a sample period means the
recordings do not line up (a lost stream, a changed clock): look before trusting the result.

Needs Python 3 with NumPy, h5py and pyxdf (`python3 -m pip install pyxdf h5py`).
"""

import argparse
import csv
import os
import sys

import h5py
import numpy as np
import pyxdf


def recording(path):
    """The recording's gaze stamps (us) and its local LSL clock pairs (us, offset s)."""
    with h5py.File(path, "r") as f:
        ts = f["gaze"]["system_ts_us"][:]
        if "lsl_clock" not in f:
            sys.exit(f"{path}: no /lsl_clock: this recording was not streamed over LSL (run --lsl)")
        c = f["lsl_clock"][:]
    local = c[c["stream"] == b""]
    if local.size == 0:
        sys.exit(f"{path}: /lsl_clock holds no pair of this machine's LSL clock")
    order = np.argsort(local["ts_us"])
    return ts, local["ts_us"][order].astype(np.int64), local["offset_s"][order]


def offset_at(pair_ts, pair_offset, ts):
    """The offset of the pair nearest in time to each tracker time `ts`."""
    i = np.clip(np.searchsorted(pair_ts, ts), 1, len(pair_ts) - 1) if len(pair_ts) > 1 else np.zeros(len(ts), int)
    if len(pair_ts) > 1:
        left = np.abs(ts - pair_ts[i - 1]) <= np.abs(pair_ts[i] - ts)
        i = np.where(left, i - 1, i)
    return pair_offset[i]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("recording")
    ap.add_argument("xdf")
    ap.add_argument("outdir")
    a = ap.parse_args()
    gaze_ts, pair_ts, pair_off = recording(a.recording)
    streams, _ = pyxdf.load_xdf(a.xdf, synchronize_clocks=True, dejitter_timestamps=False)
    name = lambda s: s["info"]["name"][0]
    gaze = [s for s in streams if name(s) == "et-suite-gaze"]
    if not gaze:
        sys.exit(f"{a.xdf}: no et-suite-gaze stream: record it with LabRecorder beside the EEG")
    xdf_gaze = np.asarray(gaze[0]["time_stamps"], dtype=float)
    lsl_of_recording = gaze_ts / 1e6 + offset_at(pair_ts, pair_off, gaze_ts)
    if len(xdf_gaze) == len(gaze_ts):
        pairs = xdf_gaze - lsl_of_recording
    else:
        # LabRecorder joined late or left early: pair each XDF sample with the nearest
        # recorded one after a first estimate from the medians of both.
        guess = np.median(xdf_gaze) - np.median(lsl_of_recording)
        j = np.clip(np.searchsorted(lsl_of_recording, xdf_gaze - guess), 0, len(lsl_of_recording) - 1)
        pairs = xdf_gaze - lsl_of_recording[j]
        print(f"note: the XDF holds {len(xdf_gaze)} gaze samples, the recording {len(gaze_ts)}", file=sys.stderr)
    difference = float(np.median(pairs))
    residual_ms = np.abs(pairs - difference) * 1e3
    os.makedirs(a.outdir, exist_ok=True)
    for s in streams:
        t = np.asarray(s["time_stamps"], dtype=float) - difference
        # Tracker time: undo the offset of the pair nearest in time (found from a first guess).
        guess_us = np.round((t - np.median(pair_off)) * 1e6).astype(np.int64)
        ts_us = np.round((t - offset_at(pair_ts, pair_off, guess_us)) * 1e6).astype(np.int64)
        info = s["info"]
        labels = []
        try:
            for ch in info["desc"][0]["channels"][0]["channel"]:
                labels.append(ch["label"][0])
        except (KeyError, IndexError, TypeError):
            pass
        series = s["time_series"]
        width = len(series[0]) if len(series) else int(info["channel_count"][0])
        if len(labels) != width:
            labels = [f"ch{k + 1}" for k in range(width)]
        path = os.path.join(a.outdir, f"{name(s)}.csv")
        with open(path, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["ts_us"] + labels)
            for k in range(len(ts_us)):
                w.writerow([int(ts_us[k])] + list(series[k]))
        print(f"{name(s)} ({info['type'][0]}): {len(ts_us)} samples -> {path}")
    print(
        f"synchronisation: LabRecorder's clock - et-suite machine's LSL clock = {difference * 1e3:.3f} ms; "
        f"gaze residuals median {np.median(residual_ms):.3f} ms, largest {residual_ms.max():.3f} ms"
    )


if __name__ == "__main__":
    main()
