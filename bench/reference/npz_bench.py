"""scipy side of the `npz` benchmark: write and read a random CSR matrix with save_npz/load_npz.

usage: npz_bench.py WORK_DIR ROWS COLS NNZ SEED REPEATS
Writes WORK_DIR/input.npz (stored, the matrix Skim also writes), then times save_npz/load_npz,
compressed (scipy's default) and stored, and prints one JSON object with the best time of each.
"""
import json
import os
import sys
import time

import numpy as np
import scipy.sparse as sp


def random_csr(rows, cols, nnz, seed):
    rng = np.random.default_rng(seed)
    row_of = np.sort(rng.integers(0, rows, nnz))
    indptr = np.zeros(rows + 1, dtype=np.int64)
    np.cumsum(np.bincount(row_of, minlength=rows), out=indptr[1:])
    indices = rng.integers(0, cols, nnz).astype(np.int32)
    data = rng.random(nnz, dtype=np.float32)
    return sp.csr_matrix((data, indices, indptr.astype(np.int32)), shape=(rows, cols))


def best(fn, repeats):
    times = []
    result = None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), result


def main():
    work, rows, cols, nnz, seed, repeats = sys.argv[1], *map(int, sys.argv[2:7])
    m = random_csr(rows, cols, nnz, seed)
    sp.save_npz(os.path.join(work, "input.npz"), m, compressed=False)
    out = {}
    for compressed in (True, False):
        key = "compressed" if compressed else "stored"
        path = os.path.join(work, f"scipy-{key}.npz")
        out[f"write_{key}"], _ = best(lambda: sp.save_npz(path, m, compressed=compressed), repeats)
        out[f"read_{key}"], back = best(lambda: sp.load_npz(path), repeats)
        assert back.nnz == m.nnz
        out[f"bytes_{key}"] = os.path.getsize(path)
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
