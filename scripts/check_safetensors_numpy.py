#!/usr/bin/python3
"""Reads a safetensors file with numpy alone and checks its layout, as a reader without xgrad would.

    /usr/bin/python3 scripts/check_safetensors_numpy.py FILE.safetensors [SUMMARY.json]

Checks: the 8-byte little-endian header length, a JSON object header, string-only "__metadata__", known
dtypes, shapes and offsets that agree, tensors that tile the data section exactly (no gaps, no overlap,
nothing after the last one).  Prints one line per tensor; with SUMMARY.json, also writes
{"metadata": {...}, "tensors": {name: {"dtype", "shape", "data": [...]}}} there, the data as float64 with
non-finite values as the strings "inf", "-inf", "nan" (strict JSON), so that a test can compare the values
with what it saved.  Exits with status 1 and a message on any problem.
"""
import json
import struct
import sys

import numpy as np

DTYPES = {"F16": "<f2", "F32": "<f4", "F64": "<f8", "I8": "<i1", "I16": "<i2", "I32": "<i4", "I64": "<i8",
          "U8": "<u1", "BOOL": "?"}


def fail(message):
    print("check_safetensors_numpy: " + message, file=sys.stderr)
    sys.exit(1)


def main():
    if len(sys.argv) not in (2, 3):
        fail("usage: check_safetensors_numpy.py FILE.safetensors [SUMMARY.json]")
    with open(sys.argv[1], "rb") as f:
        raw = f.read()
    if len(raw) < 8:
        fail("file shorter than the 8-byte header length")
    (header_size,) = struct.unpack("<Q", raw[:8])
    if 8 + header_size > len(raw):
        fail("header length %d runs past the end of the file (%d bytes)" % (header_size, len(raw)))
    header = json.loads(raw[8:8 + header_size].decode("utf-8"))
    if not isinstance(header, dict):
        fail("header is not a JSON object")
    data = raw[8 + header_size:]
    metadata = header.pop("__metadata__", {})
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()):
        fail("__metadata__ must map strings to strings")
    tensors = {}
    ranges = []
    for name, info in header.items():
        dtype = np.dtype(DTYPES[info["dtype"]])
        shape = tuple(info["shape"])
        begin, end = info["data_offsets"]
        count = int(np.prod(shape, dtype=np.int64)) if shape else 1
        if end - begin != count * dtype.itemsize:
            fail("%s: %d bytes for dtype %s and shape %s" % (name, end - begin, info["dtype"], shape))
        if not 0 <= begin <= end <= len(data):
            fail("%s: offsets [%d, %d) outside the %d data bytes" % (name, begin, end, len(data)))
        ranges.append((begin, end, name))
        value = np.frombuffer(data, dtype=dtype, count=count, offset=begin).reshape(shape)
        tensors[name] = {"dtype": info["dtype"], "shape": list(shape),
                         "data": [v if np.isfinite(v) else repr(v) for v in value.astype(np.float64).reshape(-1).tolist()]}
        print("%s %s %s" % (name, info["dtype"], list(shape)))
    position = 0
    for begin, end, name in sorted(ranges):
        if begin != position:
            fail("%s starts at %d, expected %d (a gap or an overlap)" % (name, begin, position))
        position = end
    if position != len(data):
        fail("%d bytes after the last tensor" % (len(data) - position))
    if len(sys.argv) == 3:
        with open(sys.argv[2], "w") as out:
            json.dump({"metadata": metadata, "tensors": tensors}, out)


if __name__ == "__main__":
    main()
