#!/usr/bin/python3
"""Reference values from NumPy and SciPy for xgrad's drift metrics (metrics/drift.hpp): writes
tests/fixtures/drift/drift.json.

Regenerate (Debian 12: `sudo apt-get install python3-numpy python3-scipy`):

    /usr/bin/python3 scripts/make_drift_fixtures.py

The file is committed; building and running the tests never needs Python.  It holds a reference sample and
two live samples (one drawn like the reference, one shifted) of four features — a normal, a uniform, a
feature with many ties (most values 0, as a border pixel) and a constant — with predicted labels of 3 classes,
and for each live sample the PSI and KL(live || reference) of every feature and of the labels:

    bins        numpy.quantile(reference, k / B) for k = 1..B-1 (linear interpolation), repeated edges merged;
                a value's bin is numpy.searchsorted(edges, value, side="right"); labels: one bin per class
    proportions (count + a) / (n + a * bins), a = 0.5
    PSI         sum (live - ref) * ln(live / ref) = scipy.stats.entropy(live, ref) + scipy.stats.entropy(ref, live)
    KL          scipy.stats.entropy(live, ref)
"""
import json
import os

import numpy as np
import scipy.stats

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "drift")
BINS = 10
SMOOTHING = 0.5
CLASSES = 3


def sample(rng, rows, shift):
    normal = rng.normal(loc=shift, scale=1.0, size=rows)
    uniform = rng.uniform(0.0, 1.0 + shift, size=rows)
    ties = np.where(rng.uniform(size=rows) < 0.8 - 0.3 * shift, 0.0, rng.uniform(size=rows))
    constant = np.full(rows, 0.25)
    labels = rng.choice(CLASSES, size=rows, p=[0.5, 0.3, 0.2] if shift == 0 else [0.2, 0.3, 0.5])
    return np.stack([normal, uniform, ties, constant], axis=1), labels


def proportions(counts):
    return (counts + SMOOTHING) / (counts.sum() + SMOOTHING * len(counts))


def drift(reference, live):
    psi = scipy.stats.entropy(live, reference) + scipy.stats.entropy(reference, live)
    return {"psi": float(psi), "kl": float(scipy.stats.entropy(live, reference))}


def compare(reference_inputs, reference_labels, live_inputs, live_labels):
    features = []
    for j in range(reference_inputs.shape[1]):
        edges = np.unique(np.quantile(reference_inputs[:, j], np.arange(1, BINS) / BINS))
        bins = len(edges) + 1
        ref = np.bincount(np.searchsorted(edges, reference_inputs[:, j], side="right"), minlength=bins)
        live = np.bincount(np.searchsorted(edges, live_inputs[:, j], side="right"), minlength=bins)
        features.append(dict(drift(proportions(ref), proportions(live)), edges=edges.tolist()))
    ref = np.bincount(reference_labels, minlength=CLASSES)
    live = np.bincount(live_labels, minlength=CLASSES)
    return {"features": features, "predictions": drift(proportions(ref), proportions(live))}


def array(values):
    return {"shape": list(values.shape), "data": values.ravel().tolist()}


def main():
    rng = np.random.default_rng(19)
    reference_inputs, reference_labels = sample(rng, 400, 0.0)
    fixture = {"bins": BINS, "smoothing": SMOOTHING, "classes": CLASSES,
               "reference_inputs": array(reference_inputs), "reference_labels": array(reference_labels)}
    for name, shift in (("same", 0.0), ("shifted", 1.0)):
        inputs, labels = sample(rng, 300, shift)
        fixture[name] = {"inputs": array(inputs), "labels": array(labels),
                         **compare(reference_inputs, reference_labels, inputs, labels)}
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "drift.json"), "w") as out:
        json.dump(fixture, out)
    print("wrote", os.path.join(OUT, "drift.json"))


if __name__ == "__main__":
    main()
