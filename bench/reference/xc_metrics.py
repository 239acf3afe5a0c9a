#!/usr/bin/env python3
"""Independent numpy implementation of the pyxclib XC metrics (P@k, nDCG@k, PSP@k, PSnDCG@k, R@k).

Written from the definitions (docs/xc-formats-and-metrics.md §3), not from pyxclib's code, so that it can check
Skim's C# implementation. It is vectorised over all rows (no Python loop per row).

    xc_metrics.py --truth Y.npz --scores S.npz|S.npy [--train T.npz --A a --B b]
                  [--filter filter.txt] [--k 1,3,5] [--drop-zero-scores] [--repeat R]

Prints one JSON object: {"k": [...], "P": [...], "nDCG": [...], "R": [...], "PSP": [...],
"PSnDCG": [...], "rows": N, "seconds": t} with values as fractions at each requested k. PSP and
PSnDCG need --train. "seconds" is the best of R runs of the metric computation alone (loading the
files is excluded).

Rules: ground-truth values are not binarised; predictions are the stored entries of a sparse score
matrix (explicit zeros too, unless --drop-zero-scores) or every entry of a dense one; filter pairs are
removed from the predictions first; ties rank by descending score then ascending label id; short rows
are padded with slots that never hit; rows without labels stay in every mean.
"""
import argparse
import json
import time

import numpy as np
import scipy.sparse as sp


def inverse_propensity(train, a, b):
    n = train.shape[0]
    freq = np.asarray(train.sum(axis=0), dtype=np.float64).ravel()
    c = (np.log(n) - 1.0) * (b + 1.0) ** a
    return 1.0 + c * (freq + b) ** (-a)


def ranking_order(rows, cols, vals, n_rows, n_cols):
    """Order of the entries by (row asc, score desc, col asc)."""
    row_bits = max(int(n_rows - 1).bit_length(), 1)
    col_bits = max(int(n_cols - 1).bit_length(), 1)
    if row_bits + 32 + col_bits > 64:
        return np.lexsort((cols, -vals, rows))
    # One uint64 key per entry: row, then the score mapped to an unsigned integer that grows with
    # it (inverted so that higher scores sort first), then the column. -0.0 + 0.0 makes the zeros one.
    bits = (vals.astype(np.float32) + np.float32(0)).view(np.uint32)
    ordered = np.where(bits & np.uint32(0x80000000), ~bits, bits | np.uint32(0x80000000))
    key = (rows.astype(np.uint64) << np.uint64(32 + col_bits)) \
        | ((~ordered).astype(np.uint64) << np.uint64(col_bits)) \
        | cols.astype(np.uint64)
    return np.argsort(key)


def ranked_top(rows, cols, vals, n_rows, n_cols, k):
    """Top-k (by vals desc, then col asc) of the entries (rows, cols, vals) of every row -> (n_rows, k) ids, padded with n_cols."""
    order = ranking_order(rows, cols, vals, n_rows, n_cols)
    rows, cols = rows[order], cols[order]
    counts = np.bincount(rows, minlength=n_rows)
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    rank = np.arange(rows.size) - np.repeat(starts, counts)
    keep = rank < k
    out = np.full((n_rows, k), n_cols, dtype=np.int64)
    out[rows[keep], rank[keep]] = cols[keep]
    return out


def ranked_values(rows, vals, n_rows, k):
    """The k largest vals of every row, descending, zero-padded -> (n_rows, k)."""
    order = np.lexsort((-vals, rows))
    rows, vals = rows[order], vals[order]
    starts = np.searchsorted(rows, np.arange(n_rows))
    rank = np.arange(rows.size) - starts[rows]
    keep = rank < k
    out = np.zeros((n_rows, k), dtype=np.float64)
    out[rows[keep], rank[keep]] = vals[keep]
    return out


def lookup(truth, top):
    """truth[i, top[i, j]] for every (i, j); ids outside the matrix (padding) give 0."""
    n_rows, n_cols = truth.shape
    t = truth.tocoo()
    keys = t.row.astype(np.int64) * (n_cols + 1) + t.col.astype(np.int64)
    order = np.argsort(keys, kind="stable")
    keys = keys[order]
    # Repeated entries add up.
    uniq, first = np.unique(keys, return_index=True)
    vals = np.add.reduceat(t.data.astype(np.float64)[order], first) if keys.size else np.zeros(0)
    query = np.arange(n_rows, dtype=np.int64)[:, None] * (n_cols + 1) + top
    out = np.zeros(query.shape, dtype=np.float64)
    if uniq.size == 0:
        return out
    pos = np.minimum(np.searchsorted(uniq, query), uniq.size - 1)
    found = uniq[pos] == query
    out[found] = vals[pos[found]]
    return out


def metrics(truth, score_rows, score_cols, score_vals, weights, kmax):
    n_rows, n_cols = truth.shape
    top = ranked_top(score_rows, score_cols, score_vals, n_rows, n_cols, kmax)
    f = lookup(truth, top)                                           # (N, K) ground truth at each rank
    ks = np.arange(1, kmax + 1)
    disc = 1.0 / np.log2(ks + 1)                                    # (K,)
    row_sum = np.asarray(truth.sum(axis=1), dtype=np.float64).ravel()
    positives = row_sum.astype(np.int32)
    table = np.cumsum(1.0 / np.log2(np.arange(1, max(int(positives.max(initial=0)), kmax) + 1) + 1))
    n = table[positives - 1]                                        # negative index wraps, as in the definition
    norm = np.minimum(n[:, None], table[:kmax][None, :])            # (N, K)
    hits = np.cumsum(f, axis=1)
    dcg = np.cumsum(f * disc, axis=1)
    deno = np.where(row_sum == 0, 1.0, row_sum)
    out = {
        "P": (hits.mean(axis=0) / ks),
        "nDCG": (dcg / norm).mean(axis=0),
        "R": (hits / deno[:, None]).mean(axis=0),
    }
    if weights is not None:
        padded = np.append(weights, 0.0)
        wf = f * padded[top]
        t = truth.tocsr(copy=True)
        t.sum_duplicates()
        t_rows = np.repeat(np.arange(n_rows), np.diff(t.indptr))
        best = ranked_values(t_rows, t.data.astype(np.float64) * weights[t.indices], n_rows, kmax)
        out["PSP"] = np.cumsum(wf, axis=1).mean(axis=0) / np.cumsum(best, axis=1).mean(axis=0)
        out["PSnDCG"] = (np.cumsum(wf * disc, axis=1) / norm).mean(axis=0) / (np.cumsum(best * disc, axis=1) / norm).mean(axis=0)
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--truth", required=True)
    p.add_argument("--scores", required=True)
    p.add_argument("--train")
    p.add_argument("--A", type=float, default=0.55)
    p.add_argument("--B", type=float, default=1.5)
    p.add_argument("--filter")
    p.add_argument("--k", default="1,3,5")
    p.add_argument("--drop-zero-scores", action="store_true")
    p.add_argument("--repeat", type=int, default=1)
    args = p.parse_args()

    ks = [int(x) for x in args.k.split(",")]
    kmax = max(ks)
    truth = sp.load_npz(args.truth).tocsr()
    n_rows, n_cols = truth.shape
    if args.scores.endswith(".npy"):
        dense = np.load(args.scores)
        if dense.shape != truth.shape:
            raise SystemExit(f"{args.scores}: shape {dense.shape}, expected {truth.shape}")
        rows = np.repeat(np.arange(n_rows, dtype=np.int64), n_cols)
        cols = np.tile(np.arange(n_cols, dtype=np.int64), n_rows)
        vals = dense.astype(np.float32).ravel()
    else:
        s = sp.load_npz(args.scores).tocoo()
        if s.shape != truth.shape:
            raise SystemExit(f"{args.scores}: shape {s.shape}, expected {truth.shape}")
        rows, cols, vals = s.row.astype(np.int64), s.col.astype(np.int64), s.data.astype(np.float32)
    weights = None
    if args.train:
        weights = inverse_propensity(sp.load_npz(args.train).tocsr(), args.A, args.B)
    filt = None
    if args.filter:
        filt = np.loadtxt(args.filter, dtype=np.int64, ndmin=2).reshape(-1, 2)

    best_time = None
    result = None
    for _ in range(max(1, args.repeat)):
        start = time.perf_counter()
        r, c, v = rows, cols, vals
        if args.drop_zero_scores:
            keep = v != 0
            r, c, v = r[keep], c[keep], v[keep]
        if filt is not None and filt.size:
            banned = np.unique(filt[:, 0] * n_cols + filt[:, 1])
            keep = ~np.isin(r * n_cols + c, banned)
            r, c, v = r[keep], c[keep], v[keep]
        result = metrics(truth, r, c, v, weights, kmax)
        elapsed = time.perf_counter() - start
        best_time = elapsed if best_time is None else min(best_time, elapsed)

    out = {"k": ks, "rows": n_rows, "seconds": best_time}
    for name, values in result.items():
        out[name] = [float(values[k - 1]) for k in ks]
    print(json.dumps(out))


if __name__ == "__main__":
    main()
