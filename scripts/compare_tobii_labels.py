#!/usr/bin/env python3
"""Compares et-suite's per-sample classes with the Tobii labels of Pro Lab or Studio exports.

    python3 scripts/compare_tobii_labels.py ANALYSIS/classes.csv EXPORT [EXPORT ...]

ANALYSIS is an `et-suite analyze` folder of the recordings imported from the exports. Each
export (Pro Lab data export or Tobii Studio export, TSV or CSV, any decimal convention) is
matched to the et-suite recording of the same participant whose time stamps it shares most; an
export holding several recordings is split by its recording column first, and copies of one
recording (same participant, recording name and first time stamp) are counted once.

Printed: per-sample agreement over Tobii's four classes (Fixation, Saccade, Unclassified,
EyesNotFound) and Cohen's kappa, agreement of fixation vs everything else, the confusion
matrix, and the number and mean duration of fixations that touch neither end of a recording
(durations with the half-sample convention: last - first + one sample period).

Needs Python 3 with NumPy and pandas only.
"""

import argparse
import sys

import numpy as np
import pandas as pd

CLASSES = ["Fixation", "Saccade", "Unclassified", "EyesNotFound"]


def column(df, *names):
    """The first column whose name, lowercased without spaces, starts with one of `names`."""
    norm = {c: "".join(c.lower().split()) for c in df.columns}
    for n in names:
        for c, k in norm.items():
            if k.startswith(n):
                return c
    return None


def numbers(s):
    """A column as floats, whatever the decimal convention."""
    if s.dtype.kind in "fiu":
        return s.astype(float)
    return pd.to_numeric(s.astype(str).str.replace(",", ".", regex=False), errors="coerce")


def read_export(path):
    """The export's eye tracker rows: participant, recording, time (us), label."""
    with open(path, encoding="utf-8-sig", errors="replace") as f:
        head = f.readline()
    sep = "\t" if head.count("\t") > head.count(",") else ("," if head.count(",") >= head.count(";") else ";")
    df = pd.read_csv(path, sep=sep, low_memory=False, dtype=str)
    label = column(df, "eyemovementtype", "gazeeventtype")
    time = column(df, "recordingtimestamp")
    if label is None or time is None:
        sys.exit(f"{path}: no Tobii label column ('Eye movement type' / 'GazeEventType') or time column")
    sensor = column(df, "sensor")
    if sensor is not None:
        df = df[df[sensor].fillna("").str.lower() == "eye tracker"]
    else:
        df = df[df[label].fillna("").isin(CLASSES)]
    t = numbers(df[time]).to_numpy()
    name = time.lower()
    if "[ms]" in name or "(ms)" in name:
        scale = 1000.0
    elif "μs" in name or "us]" in name or "µs" in name:
        scale = 1.0
    else:
        # Unitless: milliseconds when samples are a few ms apart, else microseconds.
        steps = np.diff(np.sort(t[np.isfinite(t)]))
        steps = steps[steps > 0]
        scale = 1000.0 if steps.size and np.median(steps) < 100 else 1.0
    part = column(df, "participantname", "participant")
    rec = column(df, "recordingname")
    out = pd.DataFrame(
        {
            "participant": df[part].astype(str).to_numpy() if part else "participant",
            "tobii_recording": df[rec].astype(str).to_numpy() if rec else path,
            "ts_us": np.round(t * scale).astype("int64"),
            "tobii": df[label].astype(str).to_numpy(),
        }
    )
    # Studio writes "Unclassified" and "Fixation"/"Saccade" too; anything else counts as
    # unclassified, as Studio's own metrics do.
    out.loc[~out["tobii"].isin(CLASSES), "tobii"] = "Unclassified"
    return out


def fixations(ts, labels, period):
    """(count, mean duration ms) of fixation runs touching neither end."""
    durations = []
    n = len(labels)
    i = 0
    while i < n:
        j = i
        while j < n and labels[j] == labels[i]:
            j += 1
        if labels[i] == "Fixation" and i > 0 and j < n:
            durations.append((ts[j - 1] - ts[i] + period) / 1000.0)
        i = j
    return len(durations), (float(np.mean(durations)) if durations else float("nan"))


def kappa(conf):
    total = conf.sum()
    po = np.trace(conf) / total
    pe = (conf.sum(0) * conf.sum(1)).sum() / total**2
    return (po - pe) / (1 - pe) if pe < 1 else float("nan")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("classes", help="classes.csv of an et-suite analysis")
    ap.add_argument("exports", nargs="+", help="Tobii Pro Lab / Studio exports")
    a = ap.parse_args()
    ours = pd.read_csv(a.classes, dtype={"participant": str, "recording": str})
    by_participant = {p: g for p, g in ours.groupby("participant")}
    conf = np.zeros((4, 4), dtype=np.int64)
    count_t = count_o = 0
    dur_t, dur_o = [], []
    seen = set()
    unmatched = 0
    for path in a.exports:
        ex = read_export(path)
        for (p, r), g in ex.groupby(["participant", "tobii_recording"], sort=False):
            g = g.sort_values("ts_us", kind="stable")
            key = (p, r, int(g["ts_us"].iloc[0]))
            if key in seen:
                continue
            seen.add(key)
            cands = by_participant.get(p)
            if cands is None:
                print(f"{path}: participant {p} recording {r}: no et-suite recording of {p}", file=sys.stderr)
                unmatched += 1
                continue
            stamps = set(g["ts_us"])
            best = max(cands.groupby("recording"), key=lambda kv: len(stamps.intersection(kv[1]["ts_us"])))
            mine = best[1][["ts_us", "class"]].drop_duplicates("ts_us")
            m = g.drop_duplicates("ts_us").merge(mine, on="ts_us", how="inner")
            if len(m) < 0.9 * len(g):
                print(f"{path}: {p} {r}: only {len(m)} of {len(g)} samples found in {best[0]}", file=sys.stderr)
            ti = m["tobii"].map(CLASSES.index).to_numpy()
            oi = m["class"].map(CLASSES.index).to_numpy()
            np.add.at(conf, (ti, oi), 1)
            ts = m["ts_us"].to_numpy()
            period = float(np.median(np.diff(ts))) if len(ts) > 1 else 0.0
            for labels, counts, durs in [(m["tobii"].to_numpy(), "t", dur_t), (m["class"].to_numpy(), "o", dur_o)]:
                n, mean = fixations(ts, labels, period)
                if counts == "t":
                    count_t += n
                else:
                    count_o += n
                if n:
                    durs.append((n, mean))
    total = conf.sum()
    if total == 0:
        sys.exit("no samples matched")
    fix_vs_rest = (conf[0, 0] + conf[1:, 1:].sum()) / total
    mean_of = lambda d: sum(n * m for n, m in d) / max(1, sum(n for n, _ in d))
    print(f"recordings compared: {len(seen) - unmatched}, samples: {total}")
    print(f"agreement (4 classes): {np.trace(conf) / total * 100:.2f} %, Cohen's kappa {kappa(conf):.3f}")
    print(f"agreement (fixation vs rest): {fix_vs_rest * 100:.2f} %")
    print("confusion (rows Tobii, columns et-suite): " + ", ".join(CLASSES))
    for i, c in enumerate(CLASSES):
        print(f"  {c:<13}" + "".join(f"{v:>10}" for v in conf[i]))
    mt, mo = mean_of(dur_t), mean_of(dur_o)
    print(f"fixations away from the ends: Tobii {count_t}, et-suite {count_o} ({(count_o / count_t - 1) * 100:+.1f} %)" if count_t else "no Tobii fixations")
    if count_t and count_o:
        print(f"mean fixation duration: Tobii {mt:.1f} ms, et-suite {mo:.1f} ms ({(mo / mt - 1) * 100:+.1f} %)")


if __name__ == "__main__":
    main()
