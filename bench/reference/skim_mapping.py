"""Reference for the SKIM step-2 mapping rule (numpy/scipy), an implementation independent of Skim.

Reads the training matrix (scipy .npz), the neighbour matrices of the synthetic texts
(ngbr_indices_mat.npy, ngbr_scores_mat.npy) and start_indices.npy, applies the rule and writes the
augmented matrix with scipy.sparse.save_npz. Prints the counts as one JSON object.

The rule: per synthetic row, the first top_k neighbours whose rescaled score (s + 1) / 2 reaches the
threshold (float32 arithmetic) become pairs with the row's source; a pair seen more than once keeps
its largest score; the pairs are added to the training matrix and the sum is clipped to [0, clip_max].
Query-side: source = label (column), neighbour = training query (row). Label-side: source = training
point (row), neighbour = label (column).

start_indices: offsets of each source's synthetic rows, starting at 0. Either SKIM's layout with a
closing entry equal to the number of synthetic rows, or exactly one offset per source.

usage: skim_mapping.py TRAIN.npz INDICES.npy SCORES.npy START.npy OUT.npz
           [--orientation query|label] [--top-k 10] [--threshold 0.8] [--clip-max 1]
"""
import argparse
import json

import numpy as np
import scipy.sparse as sp


def source_of_rows(start, synthetic_rows, source_count):
    """Source id of every synthetic row (-1 for none), from the offsets."""
    start = np.asarray(start, dtype=np.int64)
    if start[-1] == synthetic_rows:
        bounds = start
    elif len(start) == source_count:
        bounds = np.append(start, synthetic_rows)
    else:
        raise SystemExit("start_indices fits neither layout")
    lengths = np.diff(bounds)
    owner = np.full(synthetic_rows, -1, dtype=np.int64)
    owner[bounds[0]:bounds[-1]] = np.repeat(np.arange(len(lengths)), lengths)
    return owner


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("train")
    parser.add_argument("indices")
    parser.add_argument("scores")
    parser.add_argument("start")
    parser.add_argument("out")
    parser.add_argument("--orientation", choices=["query", "label"], default="query")
    parser.add_argument("--top-k", type=int, default=10)
    parser.add_argument("--threshold", type=float, default=0.8)
    parser.add_argument("--clip-max", type=float, default=1.0)
    args = parser.parse_args()

    train = sp.load_npz(args.train).tocsr().astype(np.float32)
    indices = np.load(args.indices)[:, : args.top_k]
    scores = np.load(args.scores)[:, : args.top_k].astype(np.float32)
    start = np.load(args.start)
    query_side = args.orientation == "query"
    source_count = train.shape[1] if query_side else train.shape[0]

    owner = source_of_rows(start, indices.shape[0], source_count)
    covered = owner >= 0
    rescaled = (scores + np.float32(1)) / np.float32(2)
    keep = (rescaled >= np.float32(args.threshold)) & covered[:, None]
    sources = np.broadcast_to(owner[:, None], indices.shape)[keep]
    targets = indices[keep].astype(np.int64)
    values = rescaled[keep]

    rows, cols = (targets, sources) if query_side else (sources, targets)
    # Max-reduce duplicates: order by (row, col, value) and keep the last entry of each cell.
    order = np.lexsort((values, cols, rows))
    rows, cols, values = rows[order], cols[order], values[order]
    last = np.ones(len(rows), dtype=bool)
    if len(rows) > 1:
        last[:-1] = (rows[1:] != rows[:-1]) | (cols[1:] != cols[:-1])
    new_pairs = sp.csr_matrix((values[last], (rows[last], cols[last])), shape=train.shape, dtype=np.float32)

    augmented = (train + new_pairs).tocsr()
    augmented.data = np.clip(augmented.data, np.float32(0), np.float32(args.clip_max))
    augmented.sort_indices()
    sp.save_npz(args.out, augmented)

    train_sorted = train.copy()
    train_sorted.sum_duplicates()
    present = np.asarray(train_sorted[new_pairs.nonzero()]).ravel() != 0 if new_pairs.nnz else np.zeros(0, dtype=bool)
    pair_rows, pair_cols = new_pairs.nonzero()
    fresh = ~present
    print(json.dumps({
        "synthetic_rows": int(covered.sum()),
        "pairs_proposed": int(covered.sum()) * indices.shape[1],
        "pairs_kept": int(keep.sum()),
        "distinct_pairs": int(new_pairs.nnz),
        "new_pairs": int(fresh.sum()),
        "already_present": int(present.sum()),
        "rows_touched": int(len(np.unique(pair_rows[fresh]))),
        "labels_touched": int(len(np.unique(pair_cols[fresh]))),
        "augmented_nnz": int(augmented.nnz),
    }))


if __name__ == "__main__":
    main()
