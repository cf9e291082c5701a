#!/usr/bin/python3
"""Reference files from PyTorch for xgrad's safetensors reader: writes tests/fixtures/io/.

Regenerate (Debian 12: `sudo apt-get install python3-torch python3-numpy`, PyTorch 1.13 CPU):

    /usr/bin/python3 scripts/make_io_fixtures.py

The files are committed; building and running the tests never needs PyTorch.  They are:

    mlp.safetensors   the state_dict of torch.nn.Sequential(Linear(4, 3), ReLU(), Linear(3, 2)) in float32,
                      with metadata {"format": "pt"}, laid out as the `safetensors` package writes it (that
                      package is not in Debian 12, so the file is written here by hand: an 8-byte
                      little-endian header length, the JSON header padded with spaces to a multiple of 8,
                      then each tensor's little-endian bytes, back to back, in header order)
    mlp.json          {"input": x (5, 4), "logits": model(x) (5, 2)}, each {"shape", "data"} in float64
                      (the forward pass itself ran in float32, as the C++ test does)
"""
import json
import os
import struct

import torch

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "io")
DTYPES = {torch.float32: "F32", torch.float64: "F64"}


def save_safetensors(tensors, path, metadata=None):
    header = {}
    if metadata:
        header["__metadata__"] = metadata
    offset = 0
    blobs = []
    for name, t in tensors.items():
        data = t.detach().contiguous().numpy().astype(t.detach().numpy().dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": DTYPES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as out:
        out.write(struct.pack("<Q", len(text)))
        out.write(text)
        for blob in blobs:
            out.write(blob)


def tensor(t):
    return {"shape": list(t.shape), "data": t.detach().double().reshape(-1).tolist()}


torch.manual_seed(2024)
model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU(), torch.nn.Linear(3, 2))
x = torch.randn(5, 4)
with torch.no_grad():
    logits = model(x)
os.makedirs(OUT, exist_ok=True)
save_safetensors(model.state_dict(), os.path.join(OUT, "mlp.safetensors"), {"format": "pt"})
with open(os.path.join(OUT, "mlp.json"), "w") as out:
    json.dump({"input": tensor(x), "logits": tensor(logits)}, out, indent=1)
    out.write("\n")
print("wrote", os.path.normpath(OUT))
