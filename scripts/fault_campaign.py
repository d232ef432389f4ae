#!/usr/bin/env python3
"""Fault campaign against the et-suite binary (issue 13's checks): corrupted recordings fed to
every command that reads them, fuzzed gaze exports fed to `import` (and what it accepted fed
on), signals at full speed and at start-up, two writers on one output, and a full disk.

It counts, per part: panics (exit 101 or a Rust panic message), hangs (no exit within the
timeout), and outputs that claim more than they hold: a command that exits 0 on damaged input
with a result different from the undamaged input's and no word about the damage; a signalled
or full-disk run whose file needs `recover`, holds zero time stamps or a `complete` flag it
did not earn; a concurrent pair where a process says it wrote a file that is not its own.

Python standard library only; the SIGKILL durability part is `ET_KILLS=50 cargo test --test
integration kill::` (tests/integration/kill.rs), which prints its own numbers.

    python3 scripts/fault_campaign.py --bin target/debug/et-suite [--seed 13] [--quick]
"""

import argparse
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SHORT = """participant = "P01"
[timing]
stimulus_ms = 300
fixation_ms = 100
iti_ms = 0
"""

# No export gives the screen's size in mm.
SCREEN_MM = ["--screen-width-mm", "531", "--screen-height-mm", "299"]

DAMAGE_WORDS = re.compile(
    r"damag|corrupt|checksum|incomplete|recover|truncat|missing|refus|cannot|not a|"
    r"error|invalid|differ|warning|lost|gap",
    re.I,
)


class Tally:
    def __init__(self, name):
        self.name = name
        self.runs = 0
        self.ok = 0
        self.refused = 0
        self.panics = []
        self.hangs = []
        self.false_claims = []
        # Signals that arrived while the process was still loading: killed, nothing written.
        self.before_start = 0
        # Distinct refusal messages (their first line, paths cut), to read for clarity.
        self.reasons = {}

    def line(self):
        return (
            f"{self.name:<22} runs {self.runs:>4}  exit0 {self.ok:>4}  refused {self.refused:>4}  "
            f"panics {len(self.panics):>2}  hangs {len(self.hangs):>2}  "
            f"false claims {len(self.false_claims):>2}"
            + (f"  (killed while loading, nothing written: {self.before_start})" if self.before_start else "")
        )


def call(bin_, args, timeout=120, cwd=None):
    """(exit code or None on a hang, stdout, stderr)."""
    try:
        p = subprocess.run(
            [bin_, *args],
            cwd=cwd,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=timeout,
        )
        return p.returncode, p.stdout, p.stderr
    except subprocess.TimeoutExpired as e:
        return None, e.stdout or "", e.stderr or ""


def judge(t, what, rc, err):
    """Counts one run; True when it exited 0."""
    t.runs += 1
    if rc is None:
        t.hangs.append(what)
        return False
    if rc == 101 or "panicked" in err:
        t.panics.append(f"{what}: {err.strip().splitlines()[-1:] }")
        return False
    if rc == 0:
        t.ok += 1
        return True
    t.refused += 1
    first = (err.strip().splitlines() or ["(nothing on stderr)"])[0]
    key = re.sub(r"/\S+", "<PATH>", first)[:150]
    t.reasons[key] = t.reasons.get(key, 0) + 1
    return False


def normalise(text, *paths):
    for p in paths:
        text = text.replace(str(p), "<PATH>")
    return re.sub(r"created_utc.*|ended_utc.*", "", text)


def file_text(p):
    try:
        return Path(p).read_text(errors="replace")
    except OSError:
        return None


def session_argv(bin_, study, work, out, participant=None):
    """A headless full-speed `run` of the campaign's short study into `out`."""
    argv = [bin_, "run", "--config", str(study), "--headless", "--speed", "max",
            "--stimuli", str(work / "stimuli"), "--out", str(out)]
    return argv + (["--participant", participant] if participant else [])


def make_recordings(bin_, work):
    study = work / "study.toml"
    (work / "stimuli").mkdir(exist_ok=True)
    study.write_text(SHORT)
    recs = []
    for pid in ["P01", "P02"]:
        out = work / f"{pid}.h5"
        argv = session_argv(bin_, study, work, out, pid)
        rc, _, err = call(argv[0], argv[1:], timeout=600, cwd=work)
        if rc != 0:
            sys.exit(f"cannot record {out}: {err}")
        recs.append(out)
    return study, recs


def corruptions(data, rng, n_flips, n_blocks):
    """(name, bytes) damaged copies of one file."""
    out = []
    for f in [0.001, 0.01, 0.1, 0.5, 0.9, 0.999]:
        out.append((f"truncated-{f}", data[: int(len(data) * f)]))
    for k in range(n_flips):
        i = rng.randrange(len(data))
        b = bytearray(data)
        b[i] ^= 1 << rng.randrange(8)
        out.append((f"flip-{i}", bytes(b)))
    for k in range(n_blocks):
        i = rng.randrange(len(data))
        b = bytearray(data)
        b[i : i + 4096] = bytes(len(b[i : i + 4096]))
        out.append((f"zeros-{i}", bytes(b)))
    out.append(("garbage-appended", data + bytes(rng.randrange(256) for _ in range(5000))))
    return out


def reader_commands(bin_, src, tmp, tag):
    """Each command that reads a recording: (name, args, the output whose content is its result)."""
    rec_copy = tmp / f"{tag}-recover.h5"
    return [
        ("inspect", ["inspect", str(src)], None, None),
        ("recover", ["recover", str(rec_copy)], None, rec_copy),
        ("export-samples", ["export-samples", str(src), "--out", str(tmp / f"{tag}.csv")],
         tmp / f"{tag}.csv", None),
        ("analyze", ["analyze", str(src), "--out", str(tmp / f"{tag}-an")],
         tmp / f"{tag}-an" / "dwell.csv", None),
        ("export-bids", ["export-bids", str(src), "--out", str(tmp / f"{tag}-bids")],
         None, None),
        ("replay", ["replay", str(src), "--speed", "max", "--out", str(tmp / f"{tag}-re.h5")],
         None, None),
    ]


def corrupted_part(bin_, work, recs, rng, quick):
    t = Tally("corrupted recordings")
    tmp = work / "corrupt"
    tmp.mkdir()
    n_flips, n_blocks = (8, 2) if quick else (28, 4)
    for rec in recs:
        data = rec.read_bytes()
        base_dir = tmp / f"{rec.stem}-original"
        base_dir.mkdir()
        shutil.copy(rec, base_dir / "r.h5")
        baseline = {}
        for name, args, result, prep in reader_commands(bin_, base_dir / "r.h5", base_dir, "b"):
            if prep:
                shutil.copy(rec, prep)
            rc, out, err = call(bin_, args)
            baseline[name] = (rc, normalise(out, base_dir), file_text(result) if result else None)
        for cname, damaged in corruptions(data, rng, n_flips, n_blocks):
            d = tmp / f"{rec.stem}-{cname}"
            d.mkdir()
            src = d / "r.h5"
            src.write_bytes(damaged)
            for name, args, result, prep in reader_commands(bin_, src, d, "c"):
                if prep:
                    prep.write_bytes(damaged)
                rc, out, err = call(bin_, args)
                if not judge(t, f"{name} {rec.stem}/{cname}", rc, err):
                    continue
                said = normalise(out, d)
                same = said == baseline[name][1] and (
                    result is None or file_text(result) == baseline[name][2]
                )
                if not same and not DAMAGE_WORDS.search(out + err):
                    t.false_claims.append(f"{name} {rec.stem}/{cname}: exit 0, other result, no word")
            shutil.rmtree(d, ignore_errors=True)
    return t


def fuzz_lines(lines, rng):
    """One mutation of a tab-separated export."""
    head, rows = lines[0], lines[1:]
    rows = list(rows)
    kind = rng.randrange(9)
    extreme = ["1e300", "-1e300", "9e18", "-9e18", "nan", "inf", "-0", "", "x", "5e15",
               "18446744073709551616", "1,5", "0x10"]
    for _ in range(rng.randrange(1, 6)):
        if not rows:
            break
        i = rng.randrange(len(rows))
        cells = rows[i].split("\t")
        if kind <= 3:
            cells[rng.randrange(len(cells))] = rng.choice(extreme)
        elif kind == 4:
            cells = cells[: rng.randrange(len(cells) + 1)]
        elif kind == 5:
            j = rng.randrange(len(rows))
            rows[i], rows[j] = rows[j], rows[i]
            continue
        elif kind == 6:
            del rows[i]
            continue
        elif kind == 7:
            cells[0] = "".join(chr(rng.randrange(1, 0x3000)) for _ in range(rng.randrange(1, 9)))
        rows[i] = "\t".join(cells)
    if kind == 8:
        hc = head.split("\t")
        del hc[rng.randrange(len(hc))]
        head = "\t".join(hc)
    return "\n".join([head, *rows]) + "\n"


def import_part(bin_, work, rng, quick, fixtures):
    t = Tally("fuzzed imports")
    follow = Tally("  ...then read back")
    tmp = work / "imports"
    tmp.mkdir()
    sources = [p for p in fixtures if p.suffix == ".tsv"]
    n = 60 if quick else 300
    for k in range(n):
        src = rng.choice(sources)
        lines = src.read_text().splitlines()
        f = tmp / f"f{k}.tsv"
        f.write_text(fuzz_lines(lines, rng))
        out = tmp / f"f{k}.h5"
        rc, _, err = call(bin_, ["import", str(f), "--out", str(out), *SCREEN_MM])
        if not judge(t, f"import {src.name} #{k}", rc, err):
            continue
        if not out.exists():
            # A multi-participant export goes to a folder; this one names one participant.
            t.false_claims.append(f"import #{k}: exit 0, no {out.name}")
            continue
        for name, args in [
            ("inspect", ["inspect", str(out)]),
            ("recover", ["recover", str(out)]),
            ("analyze", ["analyze", str(out), "--out", str(tmp / f"a{k}")]),
            ("export-bids", ["export-bids", str(out), "--out", str(tmp / f"b{k}")]),
        ]:
            rc, _, err = call(bin_, args)
            judge(follow, f"{name} of import #{k}", rc, err)
        shutil.rmtree(tmp / f"a{k}", ignore_errors=True)
        shutil.rmtree(tmp / f"b{k}", ignore_errors=True)
    return [t, follow]


def file_state(bin_, path):
    """'none', 'clean' (opens without recover) or a reason it is not."""
    if not path.exists():
        return "none"
    rc, out, err = call(bin_, ["inspect", str(path)])
    if rc != 0:
        return f"inspect refused: {err.strip()[:120]}"
    m = re.search(r"samples\s+(\d+) over (-?[\d.]+) s", out)
    if m and float(m.group(2)) < 0:
        return "negative duration"
    return "clean"


def signal_part(bin_, work, study, rng, quick):
    t = Tally("signals")
    tmp = work / "signals"
    tmp.mkdir()
    sigs = [signal.SIGINT, signal.SIGTERM, signal.SIGHUP]
    n = 12 if quick else 45
    for k in range(n):
        sig = sigs[k % 3]
        # A third at start-up (first 80 ms), the rest while recording at full speed.
        delay = rng.uniform(0.0, 0.08) if k % 3 == 0 else rng.uniform(0.3, 4.0)
        out = tmp / f"s{k}.h5"
        p = subprocess.Popen(
            session_argv(bin_, study, work, out),
            cwd=work, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        time.sleep(delay)
        p.send_signal(sig)
        try:
            _, err = p.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            p.kill()
            t.runs += 1
            t.hangs.append(f"{sig.name} after {delay:.3f} s")
            continue
        what = f"{signal.Signals(sig).name} after {delay:.3f} s"
        judge(t, what, 0 if p.returncode == 0 else 1, err)
        left = [x.name for x in tmp.iterdir() if x.name.endswith(".creating")]
        if p.returncode < 0:
            # Before the process installs its handlers (it is still being loaded) the default
            # action ends it; harmless only if it had written nothing.
            if out.exists() or left:
                t.false_claims.append(f"{what}: killed by the default action, left a file")
            else:
                t.before_start += 1
        if left:
            t.false_claims.append(f"{what}: left {left}")
            for x in left:
                (tmp / x).unlink()
        state = file_state(bin_, out)
        if state not in ("none", "clean"):
            t.false_claims.append(f"{what}: {state}")
    return t


def concurrency_part(bin_, work, study, quick):
    t = Tally("two writers, one file")
    tmp = work / "concurrent"
    tmp.mkdir()
    n = 10 if quick else 38
    for k in range(n):
        out = tmp / f"s{k}.h5"
        procs = {
            pid: subprocess.Popen(
                session_argv(bin_, study, work, out, pid),
                cwd=work, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            )
            for pid in ["P10", "P11"]
        }
        winners = []
        for pid, p in procs.items():
            try:
                _, err = p.communicate(timeout=600)
            except subprocess.TimeoutExpired:
                p.kill()
                t.runs += 1
                t.hangs.append(f"try {k} {pid}")
                continue
            if judge(t, f"try {k} {pid}", p.returncode, err):
                winners.append(pid)
        rc, info, _ = call(bin_, ["inspect", str(out)])
        holder = re.search(r"participant/session\s+(\S+)", info)
        gaze = re.search(r"samples\s+(\d+)", info)
        if len(winners) != 1:
            t.false_claims.append(f"try {k}: {len(winners)} processes exited 0")
        elif rc != 0 or not holder or holder.group(1) != winners[0] or not gaze or gaze.group(1) == "0":
            t.false_claims.append(f"try {k}: {winners[0]} exited 0 but the file holds {info[:200]!r}")
    return t


def full_disk_part(bin_, work, study, recs, fixtures):
    t = Tally("full disk")
    mnt = work / "tiny"
    mnt.mkdir()
    if os.geteuid() != 0 or subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mnt)], capture_output=True
    ).returncode != 0:
        print("full disk: skipped (mounting a tmpfs needs root)")
        return t
    try:
        tsv = next(p for p in fixtures if p.suffix == ".tsv")
        for name, args, out in [
            ("run", ["run", "--config", str(study), "--headless", "--speed", "max",
                     "--stimuli", str(work / "stimuli")], "run.h5"),
            ("replay", ["replay", str(recs[0]), "--speed", "max"], "replay.h5"),
            ("import", ["import", str(tsv), *SCREEN_MM], "import.h5"),
            ("analyze", ["analyze", str(recs[0])], "an"),
            ("export-bids", ["export-bids", str(recs[0])], "bids"),
        ]:
            for k in range(3):
                # Fill most of the disk first so every command meets the limit somewhere.
                filler = mnt / "filler"
                filler.write_bytes(bytes(int(2_000_000 * [0.0, 0.5, 0.9][k])))
                target = mnt / f"{k}-{out}"
                rc, _, err = call(bin_, [*args, "--out", str(target)], cwd=work)
                if not judge(t, f"{name} #{k}", rc, err):
                    if rc not in (None, 101) and "disk full" not in err.lower():
                        t.false_claims.append(f"{name} #{k}: failed without saying disk full: {err.strip()[:160]}")
                if target.suffix == ".h5":
                    state = file_state(bin_, target)
                    if state not in ("none", "clean"):
                        t.false_claims.append(f"{name} #{k}: {state}")
                leftovers = [x.name for x in mnt.iterdir() if ".creating" in x.name or x.name.startswith(".")]
                if leftovers and rc != 0:
                    t.false_claims.append(f"{name} #{k}: left {leftovers}")
                for x in mnt.iterdir():
                    shutil.rmtree(x) if x.is_dir() else x.unlink()
    finally:
        subprocess.run(["umount", str(mnt)])
    return t


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--quick", action="store_true", help="a smaller campaign (minutes)")
    ap.add_argument("--reasons", action="store_true", help="print the refusal messages")
    ap.add_argument("--parts", default="corrupt,import,signals,concurrency,disk")
    a = ap.parse_args()
    bin_ = str(Path(a.bin).resolve())
    rng = random.Random(a.seed)
    repo = Path(__file__).resolve().parent.parent
    fixtures = sorted((repo / "sessions/src/import/testdata").iterdir())
    parts = a.parts.split(",")
    t0 = time.time()
    with tempfile.TemporaryDirectory(prefix="et-faults-") as w:
        work = Path(w)
        study, recs = make_recordings(bin_, work)
        tallies = []
        if "corrupt" in parts:
            tallies.append(corrupted_part(bin_, work, recs, rng, a.quick))
        if "import" in parts:
            tallies.extend(import_part(bin_, work, rng, a.quick, fixtures))
        if "signals" in parts:
            tallies.append(signal_part(bin_, work, study, rng, a.quick))
        if "concurrency" in parts:
            tallies.append(concurrency_part(bin_, work, study, a.quick))
        if "disk" in parts:
            tallies.append(full_disk_part(bin_, work, study, recs, fixtures))
    print(f"\nfault campaign, seed {a.seed}, {time.time() - t0:.0f} s")
    bad = 0
    for t in tallies:
        print(t.line())
        for kind, items in [("panic", t.panics), ("hang", t.hangs), ("false claim", t.false_claims)]:
            for x in items[:10]:
                print(f"    {kind}: {x}")
            bad += len(items)
        if a.reasons:
            for why, n in sorted(t.reasons.items(), key=lambda kv: -kv[1]):
                print(f"    {n:>4} × {why}")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
