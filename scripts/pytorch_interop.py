#!/usr/bin/python3
"""The PyTorch side of examples/08_pytorch_interop.cpp.

    /usr/bin/python3 scripts/pytorch_interop.py make
        Trains a small classifier in PyTorch (Debian 12: `sudo apt-get install python3-torch`, PyTorch 1.13)
        and writes examples/data/interop/classifier.safetensors (its weights) and classifier_reference.json
        (test inputs and PyTorch's logits for them).  Both files are committed: the C++ example never
        needs PyTorch.

    /usr/bin/python3 scripts/pytorch_interop.py check WEIGHTS.safetensors
        Loads weights that xgrad saved into the same PyTorch model and checks that PyTorch's logits on the
        reference inputs match xgrad's, which the example saved beside the weights as
        WEIGHTS.safetensors.logits.json (exit status 0 when they do).

The model is torch.nn.Sequential(Linear(2, 32), Tanh(), Linear(32, 32), Tanh(), Linear(32, 3)) on three
interleaved spirals.  The `safetensors` Python package is not in Debian 12, so files are read and written
here by hand in its format: an 8-byte little-endian header length, a JSON header, then the raw tensors.
"""
import json
import math
import os
import struct
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "examples", "data", "interop")
WEIGHTS = os.path.join(DATA, "classifier.safetensors")
REFERENCE = os.path.join(DATA, "classifier_reference.json")


def make_model():
    return torch.nn.Sequential(torch.nn.Linear(2, 32), torch.nn.Tanh(), torch.nn.Linear(32, 32), torch.nn.Tanh(),
                               torch.nn.Linear(32, 3))


def spirals(count, generator):
    """Three spirals of points in the plane, labelled by spiral."""
    labels = torch.arange(count) % 3
    radius = torch.rand(count, generator=generator)
    angle = labels.float() * 2 * math.pi / 3 + radius * 4 + 0.2 * torch.randn(count, generator=generator)
    points = torch.stack([radius * torch.cos(angle), radius * torch.sin(angle)], dim=1)
    return points, labels


def save_safetensors(tensors, path):
    header, blobs, offset = {"__metadata__": {"format": "pt"}}, [], 0
    for name, tensor in tensors.items():
        data = tensor.detach().contiguous().numpy().astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(tensor.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as out:
        out.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def load_safetensors(path):
    with open(path, "rb") as f:
        blob = f.read()
    (length,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + length])
    data = blob[8 + length:]
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        dtype = {"F32": "<f4", "F64": "<f8"}[info["dtype"]]
        array = np.frombuffer(data[begin:end], dtype=dtype).reshape(info["shape"])
        tensors[name] = torch.from_numpy(array.astype(np.float32))
    return tensors


def make():
    torch.manual_seed(0)
    generator = torch.Generator().manual_seed(0)
    points, labels = spirals(1500, generator)
    model = make_model()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    for _ in range(1500):
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(points), labels)
        loss.backward()
        optimizer.step()
    test_points, test_labels = spirals(300, generator)
    with torch.no_grad():
        logits = model(test_points)
    accuracy = (logits.argmax(1) == test_labels).float().mean().item()
    os.makedirs(DATA, exist_ok=True)
    save_safetensors(model.state_dict(), WEIGHTS)
    with open(REFERENCE, "w") as out:
        json.dump({"inputs": test_points.tolist(), "labels": test_labels.tolist(), "logits": logits.tolist(),
                   "accuracy": accuracy}, out)
    print(f"trained: final loss {loss.item():.4f}, test accuracy {accuracy:.4f}; wrote {WEIGHTS} and {REFERENCE}")


def check(path):
    model = make_model()
    model.load_state_dict(load_safetensors(path))
    with open(REFERENCE) as f:
        inputs = torch.tensor(json.load(f)["inputs"])
    with open(path + ".logits.json") as f:
        xgrad_logits = torch.tensor(json.load(f)["logits"])
    with torch.no_grad():
        logits = model(inputs)
    difference = (logits - xgrad_logits).abs().max().item()
    print(f"PyTorch loaded {path}: largest difference from xgrad's logits {difference:.2e}")
    return 0 if difference < 1e-4 else 1


if __name__ == "__main__":
    if len(sys.argv) == 2 and sys.argv[1] == "make":
        make()
    elif len(sys.argv) == 3 and sys.argv[1] == "check":
        sys.exit(check(sys.argv[2]))
    else:
        sys.exit(__doc__)
