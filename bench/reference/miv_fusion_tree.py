#!/usr/bin/env python3
"""scikit-learn reference of the fusion tree NGAME fits (tools/score_fusion.py, xc-reference §2.5).

    miv_fusion_tree.py DIR MAX_DEPTH

Reads from DIR: samples.npy (n, F) float32, targets.npy (n,) float32 0/1, queries.npy (m, F)
float32. Fits `DecisionTreeClassifier(max_depth=MAX_DEPTH)` with scikit-learn's defaults (gini, best
split) once per random_state 0..9 and writes proba.npy (m, 10) float64, P(y = 1) of each query under
each, and prints each tree's depth and node count as JSON. Several states are needed because
scikit-learn visits the features of every node in a random order and keeps the first of equally good
splits: on small nodes exact ties are common, and the state decides between them.
"""
import json
import os
import sys

import numpy as np
from sklearn.tree import DecisionTreeClassifier


def main():
    folder, depth = sys.argv[1], int(sys.argv[2])
    samples = np.load(os.path.join(folder, "samples.npy"))
    targets = np.load(os.path.join(folder, "targets.npy")).astype(np.int64)
    queries = np.load(os.path.join(folder, "queries.npy"))
    columns, shapes = [], []
    for state in range(10):
        tree = DecisionTreeClassifier(max_depth=depth, random_state=state).fit(samples, targets)
        proba = tree.predict_proba(queries)
        positive = list(tree.classes_).index(1) if 1 in tree.classes_ else None
        columns.append(proba[:, positive] if positive is not None else np.zeros(len(queries)))
        shapes.append({"depth": int(tree.get_depth()), "nodes": int(tree.tree_.node_count)})
    np.save(os.path.join(folder, "proba.npy"), np.stack(columns, axis=1).astype(np.float64))
    print(json.dumps(shapes))


if __name__ == "__main__":
    main()
