#!/usr/bin/env python3
"""Whether two et-suite recordings hold the same data.

    python3 scripts/compare_recordings.py A.h5 B.h5

Equal dataset by dataset (every field of every row, NaN equal to NaN) and attribute by
attribute, except the creation and end times and the absolute clock origin: time fields are
compared relative to each file's first gaze sample (a seeded demo run twice starts its clock at
another moment). Prints "equal", else what differs; exits 1 when something does. Used to check
that a change which should change nothing (a refactoring) writes the same recordings: `demo`
with a seed, and `import` of the fixture exports, before and after.

Needs Python 3 with NumPy and h5py.
"""
import sys, h5py, numpy as np
SKIP_ATTRS = {"created_utc", "ended_utc"}
TIME_FIELDS = {"system_ts_us", "device_ts_us", "ts_us", "onset_us", "offset_us", "window_start_us", "window_end_us"}
def load(p):
    f = h5py.File(p, "r")
    g = f["gaze"][:]
    origin = int(g["system_ts_us"][0]) if len(g) else 0
    dorigin = int(g["device_ts_us"][0]) if len(g) else 0
    return f, origin, dorigin
a, oa, da = load(sys.argv[1]); b, ob, db = load(sys.argv[2])
bad = []
def attrs(x, y, where):
    ka, kb = set(x.attrs) - SKIP_ATTRS, set(y.attrs) - SKIP_ATTRS
    if ka != kb: bad.append(f"{where}: attributes {sorted(ka ^ kb)}")
    for k in ka & kb:
        if not np.array_equal(np.asarray(x.attrs[k]), np.asarray(y.attrs[k])): bad.append(f"{where}@{k}: {x.attrs[k]!r} != {y.attrs[k]!r}")
def walk(x, y, where):
    attrs(x, y, where or "/")
    if set(x.keys()) != set(y.keys()): bad.append(f"{where}: members {sorted(set(x.keys()) ^ set(y.keys()))}")
    for k in set(x.keys()) & set(y.keys()):
        u, v = x[k], y[k]
        if isinstance(u, h5py.Group): walk(u, v, f"{where}/{k}"); continue
        attrs(u, v, f"{where}/{k}")
        p, q = u[()], v[()]
        if p.dtype != q.dtype or p.shape != q.shape: bad.append(f"{where}/{k}: {p.dtype}{p.shape} vs {q.dtype}{q.shape}"); continue
        for n in (p.dtype.names or [None]):
            c, d = (p[n], q[n]) if n else (p, q)
            if n in TIME_FIELDS:
                c = c - (da if n == "device_ts_us" else oa); d = d - (db if n == "device_ts_us" else ob)
            if c.dtype.kind == "f":
                same = np.array_equal(c, d, equal_nan=True)
            else:
                same = np.array_equal(c, d)
            if not same: bad.append(f"{where}/{k}.{n}")
walk(a, b, "")
print("equal" if not bad else "\n".join(bad[:20]))
sys.exit(1 if bad else 0)
