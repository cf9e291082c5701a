#!/usr/bin/python3
"""Reference numbers for xgrad's k-means, PCA and clustering scores: writes tests/fixtures/cluster/cluster.json.

Regenerate (Debian 12: `sudo apt-get install python3-numpy python3-sklearn`):

    /usr/bin/python3 scripts/make_cluster_fixtures.py

The fixture is committed; building and running the tests never needs Python.  The references are written
here in NumPy, the same algorithms as xgrad's, and each is checked against scikit-learn's before it is saved.
NumPy cannot draw xgrad's random numbers, so k-means is compared from given initial centres (xgrad's `init`
option): the Lloyd iterations, labels, centres and inertia must match.  It holds (arrays as
{"shape": [...], "data": [...]}, row-major, float64):

    "datasets":   the samples the cases use, by name ("blobs", "overlapping", "correlated")
    "kmeans":     cases {"name", "data" (a dataset's name), "init", "tol", "max_iter", "n_iter", "labels", "centres", "inertia"}
                  and "best_inertia": scikit-learn's best of 10 k-means++ runs on the "blobs" case's data
    "scores":     cases {"name", "data", "labels", "classes", "silhouette", "adjusted_rand", "purity"}
    "pca":        cases {"name", "data", "n_components", "components", "explained_variance",
                  "explained_variance_ratio", "mean", "transformed", "reconstructed"}
"""
import json
import os

import numpy as np
import sklearn.cluster
import sklearn.decomposition
import sklearn.metrics

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "cluster", "cluster.json")
rng = np.random.default_rng(2020)


def array(a):
    a = np.asarray(a)
    return {"shape": list(a.shape), "data": a.astype(np.float64).reshape(-1).tolist()}


def blobs(centres, per_blob, spread):
    centres = np.asarray(centres, dtype=np.float64)
    x = np.concatenate([c + spread * rng.standard_normal((per_blob, centres.shape[1])) for c in centres])
    classes = np.repeat(np.arange(len(centres)), per_blob)
    order = rng.permutation(len(x))
    return x[order], classes[order]


# --- k-means: Lloyd's algorithm as xgrad runs it ---------------------------------------------------------------

def nearest(x, centres):
    distances = ((x[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2)   # (N, k), by the definition
    return distances.argmin(axis=1)                                          # the first on a tie


def lloyd(x, centres, tol, max_iter):
    """Assign, move each centre to its samples' mean, until Σ squared shifts ≤ tol · mean feature variance.
    An empty cluster takes the sample farthest from its own centre (not yet taken)."""
    tolerance = tol * np.var(x, axis=0).mean()
    k = len(centres)
    iterations = 0
    for iterations in range(1, max_iter + 1):
        labels = nearest(x, centres)
        own_distance = ((x - centres[labels]) ** 2).sum(axis=1)
        moved = np.empty_like(centres)
        taken = np.zeros(len(x), dtype=bool)
        for j in range(k):
            members = labels == j
            if members.any():
                moved[j] = x[members].mean(axis=0)
            else:
                farthest = np.argmax(np.where(taken, -1.0, own_distance))
                taken[farthest] = True
                moved[j] = x[farthest]
        shift = ((moved - centres) ** 2).sum()
        centres = moved
        if shift <= tolerance:
            break
    labels = nearest(x, centres)
    inertia = ((x - centres[labels]) ** 2).sum()
    return iterations, labels, centres, inertia


def kmeans_case(name, data, init, tol=1e-4, max_iter=300, check_sklearn=True):
    x = datasets[data]
    n_iter, labels, centres, inertia = lloyd(x, init, tol, max_iter)
    if check_sklearn:   # scikit-learn relocates empty clusters differently: compared only without them
        reference = sklearn.cluster.KMeans(len(init), init=init, n_init=1, tol=tol, max_iter=max_iter,
                                           algorithm="lloyd").fit(x)
        assert (reference.labels_ == labels).all(), name
        assert reference.n_iter_ == n_iter, (name, reference.n_iter_, n_iter)
        assert np.isclose(reference.inertia_, inertia, rtol=1e-12), name
        assert np.allclose(reference.cluster_centers_, centres, rtol=1e-12, atol=1e-12), name
    return {"name": name, "data": data, "init": array(init), "tol": tol, "max_iter": max_iter, "n_iter": n_iter,
            "labels": labels.tolist(), "centres": array(centres), "inertia": inertia}


blob_x, blob_classes = blobs([[0, 0], [6, 1], [2, 7]], 50, 1.0)
overlap_x, overlap_classes = blobs(3.0 * rng.standard_normal((5, 8)), 80, 1.5)
correlated = rng.standard_normal((60, 5)) @ np.diag([5.0, 3.0, 1.0, 0.5, 0.1]) @ np.linalg.qr(
    rng.standard_normal((5, 5)))[0] + np.array([1.0, -2.0, 3.0, 0.0, 10.0])
datasets = {"blobs": blob_x, "overlapping": overlap_x, "correlated": correlated}
kmeans = [
    kmeans_case("blobs", "blobs", blob_x[:3].copy()),
    kmeans_case("overlapping 8-D", "overlapping", overlap_x[[0, 1, 2, 3, 4]].copy(), tol=0.0),
    kmeans_case("two iterations at most", "overlapping", overlap_x[[5, 6, 7, 8, 9]].copy(), max_iter=2),
    # A centre far from every sample gets none: it takes the sample farthest from its centre.
    kmeans_case("empty cluster", "blobs", np.array([[0.0, 0.0], [6.0, 1.0], [100.0, 100.0]]), check_sklearn=False),
]
best_inertia = sklearn.cluster.KMeans(3, n_init=10, random_state=0).fit(blob_x).inertia_

# --- scores -----------------------------------------------------------------------------------------------------

def silhouette(x, labels):
    distances = np.sqrt(((x[:, None, :] - x[None, :, :]) ** 2).sum(axis=2))   # (N, N)
    values = np.unique(labels)
    s = np.zeros(len(x))
    for i in range(len(x)):
        own = labels == labels[i]
        if own.sum() == 1:
            continue
        a = distances[i, own].sum() / (own.sum() - 1)
        b = min(distances[i, labels == v].mean() for v in values if v != labels[i])
        s[i] = (b - a) / max(a, b)
    return s.mean()


def pairs(n):
    return n * (n - 1) / 2


def adjusted_rand(a, b):
    _, a_dense = np.unique(a, return_inverse=True)
    _, b_dense = np.unique(b, return_inverse=True)
    table = np.zeros((a_dense.max() + 1, b_dense.max() + 1))
    np.add.at(table, (a_dense, b_dense), 1)
    index = pairs(table).sum()
    rows, columns = pairs(table.sum(axis=1)).sum(), pairs(table.sum(axis=0)).sum()
    expected = rows * columns / pairs(len(a))
    maximum = (rows + columns) / 2
    return 1.0 if maximum == expected else (index - expected) / (maximum - expected)


def purity(clusters, classes):
    return sum(np.bincount(classes[clusters == c] - classes.min()).max() for c in np.unique(clusters)) / len(clusters)


def scores_case(name, data, labels, classes):
    x = datasets[data]
    s, ari = silhouette(x, labels), adjusted_rand(labels, classes)
    assert np.isclose(s, sklearn.metrics.silhouette_score(x, labels), rtol=1e-12), name
    assert np.isclose(ari, sklearn.metrics.adjusted_rand_score(classes, labels), rtol=1e-12, atol=1e-15), name
    return {"name": name, "data": data, "labels": labels.tolist(), "classes": classes.tolist(), "silhouette": s,
            "adjusted_rand": ari, "purity": purity(labels, classes)}


noisy = blob_classes.copy()
flip = rng.choice(len(noisy), 30, replace=False)
noisy[flip] = rng.integers(0, 3, 30)
singleton = kmeans[1]["labels"][:]
singleton[0] = 7   # a cluster of one sample, and labels that are not 0..k-1
scores = [
    scores_case("blobs, k-means labels", "blobs", np.array(kmeans[0]["labels"]), blob_classes),
    scores_case("blobs, noisy labels", "blobs", noisy, blob_classes),
    scores_case("8-D, a cluster of one", "overlapping", np.array(singleton) * 3 - 4, overlap_classes),
    scores_case("random labels", "overlapping", rng.integers(0, 6, len(overlap_x)), overlap_classes),
]

# --- PCA ----------------------------------------------------------------------------------------------------------

def pca(x, n_components):
    """PCA by the eigendecomposition of the covariance; each component's sign makes its largest |entry| positive."""
    mean = x.mean(axis=0)
    centred = x - mean
    covariance = centred.T @ centred / (len(x) - 1)
    values, vectors = np.linalg.eigh(covariance)
    order = np.argsort(values)[::-1]
    values, vectors = np.maximum(values[order], 0.0), vectors[:, order].T   # (D,), (D, D) rows are components
    signs = np.sign(vectors[np.arange(len(vectors)), np.abs(vectors).argmax(axis=1)])
    vectors *= signs[:, None]
    components = vectors[:n_components]
    transformed = centred @ components.T
    return {"components": components, "explained_variance": values[:n_components],
            "explained_variance_ratio": values[:n_components] / values.sum(), "mean": mean,
            "transformed": transformed, "reconstructed": transformed @ components + mean}


def pca_case(name, data, n_components):
    x = datasets[data]
    result = pca(x, n_components)
    reference = sklearn.decomposition.PCA(n_components, svd_solver="full").fit(x)
    # scikit-learn flips signs by the SVD's U, not by the components: compare up to each component's sign.
    signs = np.sign((reference.components_ * result["components"]).sum(axis=1))
    assert np.allclose(reference.components_ * signs[:, None], result["components"], atol=1e-9), name
    assert np.allclose(reference.explained_variance_, result["explained_variance"], rtol=1e-9), name
    assert np.allclose(reference.explained_variance_ratio_, result["explained_variance_ratio"], rtol=1e-9), name
    assert np.allclose(reference.transform(x) * signs, result["transformed"], atol=1e-9), name
    return {"name": name, "data": data, "n_components": n_components,
            **{key: array(value) for key, value in result.items()}}


pcas = [
    pca_case("correlated 5-D, 2 components", "correlated", 2),
    pca_case("correlated 5-D, all components", "correlated", 5),
    pca_case("8-D blobs, 3 components", "overlapping", 3),
]

os.makedirs(os.path.dirname(OUT), exist_ok=True)
with open(OUT, "w") as out:
    json.dump({"datasets": {name: array(x) for name, x in datasets.items()}, "kmeans": kmeans, "best_inertia": best_inertia, "scores": scores, "pca": pcas}, out)
print("wrote", os.path.relpath(OUT))
