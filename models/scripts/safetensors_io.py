"""A minimal safetensors writer on NumPy alone (the format: 8-byte little-endian header size,
a JSON header of name -> dtype, shape and byte range, then the raw little-endian data), so the
converters need no extra package. Every tensor is written as float32."""
import json
import os
import struct
import tempfile

import numpy as np


def write(path, tensors):
    """tensors: dict name -> array-like. Written atomically (temporary file, then rename)."""
    header, blobs, offset = {}, [], 0
    for name in sorted(tensors):
        a = np.ascontiguousarray(np.asarray(tensors[name], dtype="<f4"))
        b = a.tobytes()
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, suffix=".part")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(struct.pack("<Q", len(h)))
            f.write(h)
            for b in blobs:
                f.write(b)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def refuse_overwrite(path):
    if os.path.exists(path):
        raise SystemExit(f"error: {path} exists; choose another --out (converted weights are never overwritten)")
