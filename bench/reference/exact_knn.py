"""Reference for Skim's exact maximum-inner-product top-k (numpy, independent of Skim and torch).

usage: exact_knn.py QUERIES.npy DATABASE.npy K OUT_DIR

Scores every query row against every database row (float32 matmul), orders each row by score
descending with ties broken by ascending database index (a stable argsort of the negated scores),
keeps the first K and writes OUT_DIR/ngbr_indices_mat.npy (int32) and OUT_DIR/ngbr_scores_mat.npy
(float32), the files SKIM's gpu_anns.py writes.
"""
import os
import sys

import numpy as np


def main():
    queries = np.load(sys.argv[1]).astype(np.float32)
    database = np.load(sys.argv[2]).astype(np.float32)
    k = int(sys.argv[3])
    out = sys.argv[4]
    if k > database.shape[0]:
        raise SystemExit(f"k = {k} exceeds the {database.shape[0]} database rows")
    scores = queries @ database.T
    order = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    top = np.take_along_axis(scores, order, axis=1)
    os.makedirs(out, exist_ok=True)
    np.save(os.path.join(out, "ngbr_indices_mat.npy"), order.astype(np.int32))
    np.save(os.path.join(out, "ngbr_scores_mat.npy"), top.astype(np.float32))


if __name__ == "__main__":
    main()
