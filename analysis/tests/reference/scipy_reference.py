#!/usr/bin/env python3
"""Reference values for et-analysis's hypothesis tests, from SciPy. Writes
scipy_reference.toml beside this script; analysis/tests/parity/scipy.rs loops over every case.

Produced with: Python 3.11.7, SciPy 1.17.1, NumPy (SciPy's dependency), on 2026-12-01 (near-tie cases added 2026-12-07).
Run: python3 scipy_reference.py   (needs scipy; only to regenerate, never to run et-suite)
"""
import numpy as np
import scipy
from scipy import stats

rng = np.random.default_rng(20261201)


def fmt(v):
    return "[" + ", ".join(repr(float(x)) for x in v) + "]"


cases = []


def add(test, a, b, statistic, p, df=None, note=""):
    cases.append((test, a, b, float(statistic), float(p), df, note))


def samples():
    """Pairs of samples: small and larger, with and without ties, with zero differences."""
    out = []
    for n1, n2 in [(5, 7), (8, 8), (12, 15), (20, 20), (60, 55)]:
        a = rng.normal(1.0, 1.0, n1).round(3)
        b = rng.normal(0.3, 1.5, n2).round(3)
        out.append((a, b))
    # Ties (rounded to integers).
    out.append((rng.normal(5, 2, 10).round(0), rng.normal(4, 2, 12).round(0)))
    return out


def hedges_g(a, b):
    """Cohen's d (pooled SD) times Hedges' exact correction J(df) with SciPy's gammaln."""
    from scipy.special import gammaln
    n1, n2 = len(a), len(b)
    df = n1 + n2 - 2
    sp = np.sqrt(((n1 - 1) * np.var(a, ddof=1) + (n2 - 1) * np.var(b, ddof=1)) / df)
    j = np.exp(gammaln(df / 2) - gammaln((df - 1) / 2)) / np.sqrt(df / 2)
    return (np.mean(a) - np.mean(b)) / sp * j


for a, b in samples():
    add("hedges_g", a, b, hedges_g(a, b), 0.0)
    r = stats.ttest_ind(a, b, equal_var=False)
    add("welch_t", a, b, r.statistic, r.pvalue, float(r.df))
    r = stats.ttest_ind(a, b)
    add("student_t", a, b, r.statistic, r.pvalue, float(r.df))
    r = stats.mannwhitneyu(a, b)
    add("mann_whitney_u", a, b, r.statistic, r.pvalue)
    r = stats.mannwhitneyu(a, b, method="asymptotic")
    add("mann_whitney_u_asymptotic", a, b, r.statistic, r.pvalue)

paired = [
    # The case: one zero difference among 14 (SciPy counts it towards n <= 13).
    np.array([0, 1.1, -0.4, 2.3, 0.7, 1.9, -0.25, 3.1, 0.55, 1.45, 2.8, -0.9, 1.7, 0.35]),
    # A zero among 10: permutation over the non-zero differences.
    np.array([0, 1.1, -0.4, 2.3, 0.7, 1.9, -0.25, 3.1, 0.55, 1.45]),
    rng.normal(0.4, 1.0, 15).round(3),
    rng.normal(0.2, 1.0, 30).round(3),
    rng.normal(0.1, 1.0, 60).round(3),
    np.array([1.0, 2.0, 2.0, 3.0, -1.0, 3.0, 4.0, -2.0, 5.0, 2.0, 1.0, 3.0]),
    np.array([1.0, 2.0, 2.0, 3.0, -1.0, 3.0, 4.0, -2.0, 5.0, 2.0, 1.0, 3.0, 0.0, 2.0, -3.0]),
]
for d in paired:
    r = stats.wilcoxon(d)
    add("wilcoxon", d, [], r.statistic, r.pvalue)
    r = stats.wilcoxon(d, method="asymptotic")
    add("wilcoxon_asymptotic", d, [], r.statistic, r.pvalue)
    b = rng.normal(0.0, 1.0, len(d)).round(3)
    r = stats.ttest_rel(d + b, b)
    add("paired_t", d + b, b, r.statistic, r.pvalue, float(r.df))

# Near ties: dwell times are multiples of 1000/120 ms, and one sum reached in another order
# differs in its last bits. et-suite compares values on a grid of 1e-9 x the largest magnitude
# (RANK_RELATIVE_PRECISION in analysis/src/hypothesis_tests.rs); SciPy gets the values on that grid, so
# equal dwell times tie and a difference of rounding noise is 0. The stored inputs are the raw
# values.
def on_grid(v):
    v = np.asarray(v, dtype=float)
    scale = np.max(np.abs(v))
    return np.round(v / (scale * 1e-9)) if scale > 0 else v


period = 1000.0 / 120.0
noisy = sum([period] * 123)            # 1025.0000000000002 (123 samples) ...
assert noisy != 1025.0                 # ... against the same time computed at once
near_a = np.array([noisy, 1000.0, 1100.0 + 1e-13, 875.0, noisy, 950.0])
near_b = np.array([1025.0, 1100.0, 900.0, 1025.0, 800.0, 975.0, 1050.0])
for method in ["auto", "asymptotic"]:
    r = stats.mannwhitneyu(on_grid(np.concatenate([near_a, near_b]))[: len(near_a)],
                           on_grid(np.concatenate([near_a, near_b]))[len(near_a):],
                           method=method)
    add("mann_whitney_u" if method == "auto" else "mann_whitney_u_asymptotic",
        near_a, near_b, r.statistic, r.pvalue, note="near ties")
near_d = np.array([noisy - 1025.0, 8.333333333333371, -8.333333333333329, 16.666666666666657,
                   25.0, 8.333333333333334, -16.666666666666668, 33.33333333333333, 41.66666666666667,
                   8.333333333333329, 16.666666666666668])
for method in ["auto", "asymptotic"]:
    r = stats.wilcoxon(on_grid(near_d), method=method)
    add("wilcoxon" if method == "auto" else "wilcoxon_asymptotic", near_d, [], r.statistic,
        r.pvalue, note="near ties and a difference of rounding noise")

with open("scipy_reference.toml", "w", encoding="utf-8") as f:
    f.write(f"# Written by scipy_reference.py with SciPy {scipy.__version__}; do not edit.\n")
    for test, a, b, statistic, p, df, note in cases:
        f.write("\n[[case]]\n")
        f.write(f'test = "{test}"\n')
        f.write(f"a = {fmt(a)}\n")
        f.write(f"b = {fmt(b)}\n")
        f.write(f"statistic = {statistic!r}\n")
        f.write(f"p = {p!r}\n")
        if df is not None:
            f.write(f"df = {df!r}\n")
