#!/usr/bin/env python3
"""The other side of et-suite's LSL streams in tests/integration/lsl.rs: what a lab's
LabRecorder and experiment software (PsychoPy) would be, with pylsl, the real LSL client.

    lsl_peer.py OUT.json -- ET_SUITE_COMMAND ...

Besides OUT.json it writes OUT.xdf, the two et-suite streams as LabRecorder would have
recorded them (XDF 1.0: stream headers with each stream's description, samples with their
stamps, clock offsets, footers), for scripts/align_xdf.py.

Run only inside a network namespace of the test's own (LSL multicasts). It:
1. opens a marker outlet `peer-markers` (what PsychoPy would send);
2. starts the et-suite command (which should say --lsl --lsl-wait --lsl-markers peer-markers);
3. connects to `et-suite-gaze` and `et-suite-markers` and keeps every sample with its stamp;
4. pushes `peer-marker-1` when trial 1's stimulus is on screen, closes its outlet when
   trial 3's is and opens it again (the same name and source id), and once et-suite has
   reconnected to it pushes `peer-marker-2` at the next stimulus onset;
5. once et-suite's last marker (`lsl_end; N gaze samples streamed`) is in and N gaze samples
   have come (or the gaze stream is lost), writes everything it saw to OUT.json.
"""

import json
import struct
import subprocess
import sys
import time

import pylsl


def marker_outlet():
    info = pylsl.StreamInfo("peer-markers", "Markers", 1, 0, "string", "peer-source-1")
    return pylsl.StreamOutlet(info)


def chunk(tag, content):
    """One XDF chunk: length (8-byte form), tag, content."""
    body = struct.pack("<H", tag) + content
    return struct.pack("<BQ", 8, len(body)) + body


def write_xdf(path, streams):
    """streams: (info xml, format, samples [(ts, values)], offsets [(collected, offset)])."""
    out = bytearray(b"XDF:")
    out += chunk(1, b'<?xml version="1.0"?><info><version>1.0</version></info>')
    for sid, (xml, fmt, samples, offsets) in enumerate(streams, start=1):
        out += chunk(2, struct.pack("<I", sid) + xml.encode())
        body = bytearray(struct.pack("<I", sid) + struct.pack("<BI", 4, len(samples)))
        for ts, values in samples:
            body += struct.pack("<Bd", 8, ts)
            if fmt == "string":
                for v in values:
                    b = v.encode()
                    body += struct.pack("<BI", 4, len(b)) + b
            else:
                body += struct.pack(f"<{len(values)}f", *[float("nan") if v is None else v for v in values])
        out += chunk(3, bytes(body))
        for collected, offset in offsets:
            out += chunk(4, struct.pack("<Idd", sid, collected, offset))
        first = samples[0][0] if samples else 0.0
        last = samples[-1][0] if samples else 0.0
        footer = f"<?xml version=\"1.0\"?><info><first_timestamp>{first}</first_timestamp><last_timestamp>{last}</last_timestamp><sample_count>{len(samples)}</sample_count></info>"
        out += chunk(6, struct.pack("<I", sid) + footer.encode())
    with open(path, "wb") as f:
        f.write(out)


def push(outlet, text, trial, seen):
    """A marker a moment into the trial's stimulus, stamped now."""
    time.sleep(0.02)
    now = pylsl.local_clock()
    outlet.push_sample([text], now)
    seen["pushed"].append([text, now, trial])


def resolve(name, deadline):
    while time.time() < deadline:
        found = pylsl.resolve_byprop("name", name, timeout=1.0)
        if found:
            return found[0]
    sys.exit(f"lsl_peer: no stream {name} appeared")


def main():
    out_path = sys.argv[1]
    cmd = sys.argv[sys.argv.index("--") + 1 :]
    outlet = marker_outlet()
    proc = subprocess.Popen(cmd)
    deadline = time.time() + 120
    gaze_info = resolve("et-suite-gaze", deadline)
    marker_info = resolve("et-suite-markers", deadline)
    # No silent reconnection: the end of a stream is its outlet closing.
    gaze = pylsl.StreamInlet(gaze_info, max_buflen=360, recover=False)
    markers = pylsl.StreamInlet(marker_info, max_buflen=360, recover=False)
    desc = gaze.info(timeout=10)
    marker_desc = markers.info(timeout=10)
    offsets = {"gaze": [], "markers": []}
    for key, inlet in (("gaze", gaze), ("markers", markers)):
        offsets[key].append((pylsl.local_clock(), inlet.time_correction(timeout=10)))
    # Opening the gaze stream is what et-suite (--lsl-wait) waits for: the markers first.
    markers.open_stream(timeout=10)
    gaze.open_stream(timeout=10)

    channels = []
    ch = desc.desc().child("channels").child("channel")
    while not ch.empty():
        channels.append(
            {k: ch.child_value(k) for k in ("label", "eye", "type", "unit")}
        )
        ch = ch.next_sibling()
    seen = {"gaze_ts": [], "gaze": [], "markers": [], "pushed": [], "restarted": None}
    seen["gaze_info"] = {
        "name": desc.name(),
        "type": desc.type(),
        "source_id": desc.source_id(),
        "rate": desc.nominal_srate(),
        "channels": channels,
        "model": desc.desc().child("acquisition").child_value("model"),
        "serial": desc.desc().child("acquisition").child_value("serial_number"),
        "width_px": desc.desc().child("screen").child_value("width_px"),
    }
    gaze_open = markers_open = True
    expected = None
    while (gaze_open and (expected is None or len(seen["gaze"]) < expected)) or markers_open:
        if time.time() > deadline + 600:
            sys.exit("lsl_peer: hang guard: the streams never closed")
        if gaze_open:
            try:
                samples, stamps = gaze.pull_chunk(timeout=0.05, max_samples=4096)
            except pylsl.util.LostError:
                gaze_open = False
                samples, stamps = [], []
            # JSON has no NaN: a value the tracker did not have is null.
            seen["gaze"].extend([[None if v != v else v for v in row] for row in samples])
            seen["gaze_ts"].extend(stamps)
        while markers_open:
            try:
                m, ts = markers.pull_sample(timeout=0.0 if gaze_open else 0.05)
            except pylsl.util.LostError:
                markers_open = False
                break
            if m is None:
                break
            seen["markers"].append([m[0], ts])
            text = m[0]
            if text.startswith("lsl_end; "):
                expected = int(text.split()[1])
                markers_open = False
                continue
            if not text.startswith("stimulus_onset; trial "):
                continue
            trial = int(text.split(";")[1].split()[1])
            if trial == 1 and not seen["pushed"]:
                push(outlet, "peer-marker-1", trial, seen)
            elif trial == 3 and seen["restarted"] is None:
                del outlet
                time.sleep(1.0)
                outlet = marker_outlet()
                seen["restarted"] = pylsl.local_clock()
            elif seen["restarted"] is not None and len(seen["pushed"]) == 1 and outlet.have_consumers():
                push(outlet, "peer-marker-2", trial, seen)
    seen["returncode"] = proc.wait(timeout=120)
    write_xdf(
        out_path.rsplit(".", 1)[0] + ".xdf",
        [
            (desc.as_xml(), "float32", list(zip(seen["gaze_ts"], seen["gaze"])), offsets["gaze"]),
            (
                marker_desc.as_xml(),
                "string",
                [(ts, [m]) for m, ts in seen["markers"]],
                offsets["markers"],
            ),
        ],
    )
    with open(out_path, "w") as f:
        json.dump(seen, f, allow_nan=False)


if __name__ == "__main__":
    main()
