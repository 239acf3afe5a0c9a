"""Exact top-K inner-product search the way a numpy user writes it, for Skim.Bench's `knn` scenario.

For each block of query rows: scores = Q_block @ T.T (float32, BLAS sgemm), then np.argpartition for
the K largest, then a sort of those K by score (descending). This is the brute-force search of SKIM's
gpu_anns.py (matmul + topk), on the CPU with numpy. The timed run excludes loading the .npy files.
baseline_tuning.describe() reports the BLAS kernel, threads and wait policy this process runs with.

usage: knn_bench.py --queries Q.npy --targets T.npy --k 200 [--block 1024] [--repeats 2] [--rows N] [--out I.npy]
Prints one JSON object: {"seconds", "gflops", "matmul_gflops", "rates": {"knn": query rows/s},
"baseline": describe()'s report}; with --out, the neighbour indices of the last run are saved there.
"""

import argparse
import json
import math
import time

import numpy as np
import torch  # only for describe(): the kernel and thread report shared by every baseline

import baseline_tuning


def search(queries, targets, k, block):
    rows = queries.shape[0]
    indices = np.empty((rows, k), dtype=np.int32)
    scores = np.empty((rows, k), dtype=np.float32)
    for start in range(0, rows, block):
        s = queries[start:start + block] @ targets.T  # (b, N) float32
        part = np.argpartition(-s, k - 1, axis=1)[:, :k]  # the K largest, unordered
        top = np.take_along_axis(s, part, axis=1)
        order = np.argsort(-top, axis=1, kind="stable")
        indices[start:start + block] = np.take_along_axis(part, order, axis=1)
        scores[start:start + block] = np.take_along_axis(top, order, axis=1)
    return indices, scores


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", required=True)
    parser.add_argument("--targets", required=True)
    parser.add_argument("--k", type=int, default=200)
    parser.add_argument("--block", type=int, default=1024)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rows", type=int, default=0, help="use only the first ROWS queries (short probes)")
    parser.add_argument("--out")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    baseline = baseline_tuning.describe("float32")
    queries = np.load(args.queries)
    if args.rows > 0:
        queries = np.ascontiguousarray(queries[:args.rows])
    targets = np.load(args.targets)
    best = math.inf
    result = None
    for _ in range(args.repeats):
        start = time.perf_counter()
        result = search(queries, targets, args.k, args.block)
        best = min(best, time.perf_counter() - start)
    a = np.ones((2048, 768), dtype=np.float32)
    b = np.ones((768, 8192), dtype=np.float32)
    a @ b
    start = time.perf_counter()
    a @ b
    matmul = time.perf_counter() - start
    if args.out:
        np.save(args.out, result[0])
    flops = 2.0 * queries.shape[0] * targets.shape[0] * queries.shape[1]
    print(json.dumps({
        "seconds": best,
        "gflops": flops / best / 1e9,
        "matmul_gflops": 2.0 * 2048 * 768 * 8192 / matmul / 1e9,
        "rates": {"knn": queries.shape[0] / best},
        "baseline": baseline,
    }))


if __name__ == "__main__":
    main()
