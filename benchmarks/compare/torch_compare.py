#!/usr/bin/python3
"""The PyTorch side of the comparison (benchmarks/compare/run.sh runs both): the same five workloads as
xgrad_compare.cpp, timed over training only, printed as one JSON line.

    /usr/bin/python3 torch_compare.py --workload mlp|cnn|transformer|lstm|decoder --threads N [--batches K]

Needs Debian's python3-torch (PyTorch 1.13, CPU).  run.sh sets OPENBLAS_NUM_THREADS=1 so that PyTorch's
own thread pool (torch.set_num_threads) is the only one.
"""
import argparse
import ctypes
import gzip
import json
import resource
import struct
import time

import numpy as np
import torch
import torch.nn as nn

FASHION = "/usr/share/datasets/fashion-mnist"


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def fashion(split, flatten):
    images = torch.from_numpy(read_idx(f"{FASHION}/{split}-images-idx3-ubyte.gz").astype(np.float32) / 255.0)
    labels = torch.from_numpy(read_idx(f"{FASHION}/{split}-labels-idx1-ubyte.gz").astype(np.int64))
    return (images.reshape(-1, 784) if flatten else images.unsqueeze(1)), labels


def image_epoch(model, optimizer, flatten, max_batches):
    images, labels = fashion("train", flatten)
    test_images, test_labels = fashion("t10k", flatten)
    order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(1))
    samples, start = 0, time.perf_counter()
    for batch, first in enumerate(range(0, len(order), 64)):
        index = order[first:first + 64]
        loss = nn.functional.cross_entropy(model(images[index]), labels[index])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        samples += len(index)
        if batch + 1 == max_batches:
            break
    seconds = time.perf_counter() - start
    model.eval()
    with torch.no_grad():
        accuracy = (model(test_images).argmax(1) == test_labels).float().mean().item()
    return samples, seconds, accuracy


def mlp(max_batches):
    model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 10))
    return image_epoch(model, torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9), True, max_batches)


def cnn(max_batches):
    model = nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3, padding=1),
                          nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(3136, 128), nn.ReLU(), nn.Dropout(0.5),
                          nn.Linear(128, 10))
    return image_epoch(model, torch.optim.Adam(model.parameters(), lr=1e-3), False, max_batches)


class CharTransformer(nn.Module):
    def __init__(self, vocabulary, d_model=64, heads=4, layers=2, feed_forward=256, context=32):
        super().__init__()
        self.embedding = nn.Embedding(vocabulary, d_model)
        self.positions = nn.Parameter(torch.randn(context, d_model))
        layer = nn.TransformerEncoderLayer(d_model, heads, feed_forward, dropout=0.0, activation="gelu",
                                           batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, layers, norm=nn.LayerNorm(d_model))
        self.head = nn.Linear(d_model, vocabulary)

    def forward(self, ids):
        length = ids.shape[1]
        mask = torch.triu(torch.full((length, length), float("-inf")), diagonal=1)
        x = self.embedding(ids) + self.positions[:length]
        return self.head(self.encoder(x, mask=mask))


class CharLSTM(nn.Module):
    def __init__(self, vocabulary, embedding=64, hidden=128, layers=2):
        super().__init__()
        self.embedding = nn.Embedding(vocabulary, embedding)
        self.lstm = nn.LSTM(embedding, hidden, num_layers=layers, batch_first=True)
        self.head = nn.Linear(hidden, vocabulary)

    def forward(self, ids):
        return self.head(self.lstm(self.embedding(ids))[0])


def language_model_steps(make_model, make_optimizer, steps):
    words = [w for w in open("/usr/share/dict/words").read().split("\n") if w and "'" not in w]
    # As examples/char_model.hpp: dictionary order, every tenth block of 500 words held out for validation.
    blocks = [words[i:i + 500] for i in range(0, len(words), 500)]
    validation_text = "".join(w + "\n" for i, b in enumerate(blocks) if i % 10 == 5 for w in b)
    train_text = "".join(w + "\n" for i, b in enumerate(blocks) if i % 10 != 5 for w in b)
    vocabulary = sorted(set(train_text + validation_text))
    ids = {c: i for i, c in enumerate(vocabulary)}
    train_ids = torch.tensor([ids[c] for c in train_text])
    validation_ids = torch.tensor([ids[c] for c in validation_text])

    def windows(stream, generator, batch=32, context=32):
        starts = torch.randint(0, len(stream) - context - 1, (batch,), generator=generator)
        inputs = torch.stack([stream[s:s + context] for s in starts])
        targets = torch.stack([stream[s + 1:s + context + 1] for s in starts])
        return inputs, targets

    model = make_model(len(vocabulary))
    optimizer = make_optimizer(model.parameters())
    generator = torch.Generator().manual_seed(2)
    samples, start = 0, time.perf_counter()
    for _ in range(steps):
        inputs, targets = windows(train_ids, generator)
        loss = nn.functional.cross_entropy(model(inputs).reshape(-1, len(vocabulary)), targets.reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        samples += inputs.shape[0]
    seconds = time.perf_counter() - start
    model.eval()
    fixed = torch.Generator().manual_seed(99)
    with torch.no_grad():
        losses = []
        for _ in range(10):
            inputs, targets = windows(validation_ids, fixed)
            losses.append(nn.functional.cross_entropy(model(inputs).reshape(-1, len(vocabulary)),
                                                      targets.reshape(-1)).item())
    return samples, seconds, sum(losses) / len(losses)


def transformer(steps):
    return language_model_steps(CharTransformer, lambda p: torch.optim.AdamW(p, lr=3e-3, weight_decay=0.01), steps)


def lstm(steps):
    return language_model_steps(CharLSTM, lambda p: torch.optim.Adam(p, lr=1e-2), steps)


def decoder(steps, batch=32, length=32, d_model=64, quality_steps=20):
    """One pre-norm decoder layer learning to output the mean of its memory, as xgrad_compare.cpp's decoder workload."""
    layer = nn.TransformerDecoderLayer(d_model, 4, 256, dropout=0.0, batch_first=True, norm_first=True)
    optimizer = torch.optim.Adam(layer.parameters(), lr=1e-3)
    causal = nn.Transformer.generate_square_subsequent_mask(length)
    generator = torch.Generator().manual_seed(3)
    samples, quality, start = 0, 0.0, time.perf_counter()
    for step in range(steps):
        target = torch.randn(batch, length, d_model, generator=generator)
        memory = torch.randn(batch, length, d_model, generator=generator)
        memory_mean = memory.mean(1, keepdim=True).expand(batch, length, d_model)
        loss = nn.functional.mse_loss(layer(target, memory, tgt_mask=causal), memory_mean)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        samples += batch
        if step + quality_steps >= steps:
            quality += loss.item() / min(steps, quality_steps)
    return samples, time.perf_counter() - start, quality


def blas_core():
    """The kernel family the OpenBLAS loaded into this process chose (e.g. "Cooperlake"), or "" when PyTorch's
    BLAS is another library (Debian's reference BLAS, when libopenblas0-pthread is not installed)."""
    with open("/proc/self/maps") as maps:   # Debian's OpenBLAS is loaded as .../openblas-pthread/libblas.so.3
        paths = {line.split()[-1] for line in maps if "blas" in line.split()[-1]}
    for path in sorted(paths):
        library = ctypes.CDLL(path)
        if hasattr(library, "openblas_get_corename"):
            library.openblas_get_corename.restype = ctypes.c_char_p
            return library.openblas_get_corename().decode()
    return ""


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workload", choices=["mlp", "cnn", "transformer", "lstm", "decoder"], default="mlp")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--batches", type=int, default=0, help="stop after this many batches (0: one epoch; "
                                                                 "transformer, lstm: 500 steps; decoder: 300)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    steps = {"transformer": 500, "lstm": 500, "decoder": 300}
    if args.workload in steps:
        run = {"transformer": transformer, "lstm": lstm, "decoder": decoder}[args.workload]
        samples, seconds, quality = run(args.batches or steps[args.workload])
    else:
        samples, seconds, quality = (mlp if args.workload == "mlp" else cnn)(args.batches)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(json.dumps({"framework": "pytorch", "workload": args.workload, "threads": args.threads, "samples": samples,
                      "seconds": seconds, "samples_per_s": samples / seconds, "quality": quality,
                      "peak_rss_mib": peak, "blas_core": blas_core()}))


if __name__ == "__main__":
    main()
