"""Runs every Python baseline at its best on the machine it finds (used by Skim.Bench's `encoder`
and `generation` scenarios, through BenchPython.TuneAsync).

Why: Debian's OpenBLAS 0.3.21 does not recognise every CPU. On an AVX-512 Xeon it fell back to its
generic "Prescott" kernel and PyTorch's float32 matmul ran at a fifth of its speed; PyTorch's own
OpenMP threads also spin-wait beside OpenBLAS's threads, which made generation 2.5-3x slower than
with OMP_WAIT_POLICY=PASSIVE (but for bfloat16, through oneDNN, PASSIVE was slower). A ratio against
a baseline in such a state says nothing about Skim. Some machines set OPENBLAS_CORETYPE /
OPENBLAS_L2_SIZE on purpose because old OpenBLAS computes wrong results on their CPU, so a setting
is only used after its results were checked.

Two parts:

- describe(): called in-process by each reference script (encoder_bench.py, generation_bench.py)
  once torch is loaded and its threads are set. It reports the BLAS library and the kernel it runs
  (threadpoolctl when installed, else the loaded OpenBLAS's own openblas_get_corename through
  ctypes), the thread counts, the wait policy, a short float32 matmul rate, and checks that BLAS
  products are right: float32 torch products (plain, transposed, matrix-vector, batched) and a
  float64 numpy product, at the benchmarks' shapes, against a float64 reference computed by
  numpy.einsum (its own loops, not BLAS), within the standard error bound k * u * (|A| @ |B|).

- The command line tunes: it runs the scenario's script with short probe arguments in a fresh
  process per candidate setting (the variables must be set before numpy and torch load):
  stage 1 the environment as found, then each OpenBLAS core type the CPU's flags allow (and
  OpenBLAS's own detection, if the environment forces a core type); stage 2 the fastest stage-1
  core type with each other OMP_WAIT_POLICY (unset, ACTIVE, PASSIVE). Every candidate's script
  output carries describe()'s report and "rates" (label -> rate, higher is faster: sequences/s,
  tokens/s per batch). For each label the fastest candidate whose results are right is chosen.

usage: baseline_tuning.py --script generation_bench.py -- PROBE_ARGS...
  e.g. python3 bench/reference/baseline_tuning.py --script generation_bench.py -- --batches 1,8,32 --new-tokens 16
Prints one JSON object: {"cpu", "found", "labels", "candidates": [{"name", "env", "ok", "error",
"baseline", "rates", "seconds"}], "chosen": {label: candidate index}}; progress goes to stderr.
A candidate's "env" maps a variable to its value, or to null where the variable is removed.
"""

import argparse
import ctypes
import json
import math
import os
import re
import subprocess
import sys
import time

# The variables this module may change for a baseline run, and nothing else.
CORETYPE, L2_SIZE, WAIT_POLICY = "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OMP_WAIT_POLICY"
REPORTED_ENV = (CORETYPE, L2_SIZE, WAIT_POLICY, "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "GOMP_SPINCOUNT")

# (m, k, n, how) for the result check: the encoder's linear layers (8192 x 768 rows shrunk to 256),
# the decoder's at batch 1 (a matrix-vector product in OpenBLAS), 8 and 32, and attention's batched
# products. "nt" multiplies by a transposed weight, as nn.Linear and x @ W.T do.
CHECK_SHAPES = ((256, 768, 512, "nn"), (256, 768, 512, "nt"), (1, 576, 1536, "nt"), (8, 576, 1536, "nt"),
                (32, 1536, 576, "nt"), (32, 64, 32, "bmm"))


def cpu_info():
    """Vendor, family/model, name and flags of the first CPU in /proc/cpuinfo."""
    fields = {}
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if not line.strip():
                    break
                key, _, value = line.partition(":")
                fields[key.strip()] = value.strip()
    except OSError:
        pass
    return {
        "vendor": fields.get("vendor_id", "unknown"),
        "family": fields.get("cpu family", "?"),
        "model": fields.get("model", "?"),
        "name": fields.get("model name", "unknown"),
        "flags": fields.get("flags", "").split(),
    }


def core_candidates(cpu):
    """OpenBLAS 0.3.21 core types whose instructions this CPU has, best first."""
    flags = set(cpu["flags"])
    cores = []
    if {"avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"} <= flags:
        if "avx512_bf16" in flags:
            cores.append("Cooperlake")
        cores.append("SkylakeX")
    if {"avx2", "fma"} <= flags:
        if cpu["vendor"] in ("AuthenticAMD", "HygonGenuine"):
            cores.append("Zen")
        cores.append("Haswell")
    return cores


def _blas_report():
    """The BLAS and OpenMP runtimes loaded in this process: threadpoolctl, else ctypes on OpenBLAS."""
    try:
        import threadpoolctl

        info = threadpoolctl.threadpool_info()
        blas = next((i for i in info if i.get("user_api") == "blas"), None)
        omp = next((i for i in info if i.get("user_api") == "openmp"), None)
        return {
            "source": "threadpoolctl",
            "library": blas.get("internal_api") if blas else "none found",
            "version": blas.get("version") if blas else None,
            "threading": blas.get("threading_layer") if blas else None,
            "kernel": blas.get("architecture") if blas else None,
            "threads": blas.get("num_threads") if blas else None,
            "path": blas.get("filepath") if blas else None,
            "openmp": omp.get("prefix") if omp else None,
        }
    except ImportError:
        pass
    # Without threadpoolctl: ask the mapped OpenBLAS itself (the functions threadpoolctl calls).
    with open("/proc/self/maps", encoding="utf-8") as maps:
        paths = sorted({line.split()[-1] for line in maps if "/" in line and "blas" in line.rsplit("/", 1)[-1].lower()})
    report = {"source": "ctypes", "library": "none found", "version": None, "threading": None, "kernel": None,
              "threads": None, "path": None, "openmp": next((p.rsplit("/", 1)[-1] for p in _mapped("gomp")), None)}
    for path in paths:
        lib = ctypes.CDLL(path)
        if not hasattr(lib, "openblas_get_corename"):
            continue
        lib.openblas_get_corename.restype = ctypes.c_char_p
        lib.openblas_get_config.restype = ctypes.c_char_p
        config = lib.openblas_get_config().decode()
        version = re.search(r"OpenBLAS (\S+)", config)
        parallel = lib.openblas_get_parallel() if hasattr(lib, "openblas_get_parallel") else -1
        report.update(library="openblas", version=version.group(1) if version else config,
                      threading={0: "disabled", 1: "pthreads", 2: "openmp"}.get(parallel, "unknown"),
                      kernel=lib.openblas_get_corename().decode(), threads=lib.openblas_get_num_threads(), path=path)
        return report
    if paths:
        report.update(library="reference BLAS or other (not OpenBLAS)", path=paths[0])
    return report


def _mapped(word):
    with open("/proc/self/maps", encoding="utf-8") as maps:
        return sorted({line.split()[-1] for line in maps if "/" in line and word in line.rsplit("/", 1)[-1]})


def check_products(torch, np):
    """Worst |C - R| / (k u (|A| @ |B|)) over CHECK_SHAPES: float32 torch and float64 numpy products
    against a float64 einsum reference. At most 1 for any right implementation (the standard
    bound for a k-term dot product in precision u); a wrong kernel gives orders of magnitude more."""
    rng = np.random.default_rng(1234)
    worst, cases = 0.0, []

    def ratio(c, a64, b64, k, u):
        ref = np.einsum("...ik,...kj->...ij", a64, b64, optimize=False)
        bound = np.einsum("...ik,...kj->...ij", np.abs(a64), np.abs(b64), optimize=False) * k * u
        c = np.asarray(c, dtype=np.float64)
        if not np.all(np.isfinite(c)):
            return math.inf
        return float(np.max(np.abs(c - ref) / np.maximum(bound, np.finfo(np.float64).tiny)))

    for m, k, n, how in CHECK_SHAPES:
        if how == "bmm":
            a = rng.standard_normal((4, m, k)).astype(np.float32)
            b = rng.standard_normal((4, k, n)).astype(np.float32)
            c = torch.bmm(torch.from_numpy(a), torch.from_numpy(b)).numpy()
            r = ratio(c, a.astype(np.float64), b.astype(np.float64), k, 2.0**-24)
        else:
            a = rng.standard_normal((m, k)).astype(np.float32)
            w = rng.standard_normal((n, k) if how == "nt" else (k, n)).astype(np.float32)
            tw = torch.from_numpy(w)
            c = (torch.from_numpy(a) @ (tw.T if how == "nt" else tw)).numpy()
            b64 = (w.T if how == "nt" else w).astype(np.float64)
            r = ratio(c, a.astype(np.float64), b64, k, 2.0**-24)
        cases.append({"shape": f"{m}x{k}x{n} {how} float32", "ratio": r})
        worst = max(worst, r)
    a = rng.standard_normal((128, 768))
    b = rng.standard_normal((768, 256))
    r = ratio(a @ b, a, b, 768, 2.0**-53)
    cases.append({"shape": "128x768x256 numpy float64", "ratio": r})
    worst = max(worst, r)
    return {"ok": worst <= 1.0, "worst": worst, "cases": cases}


def matmul_gflops(torch, dtype, seconds=1.0):
    """Best-of-3 (within about `seconds`) rate of a 1024x768 @ 768x4096 product."""
    a, b = torch.randn(1024, 768).to(dtype), torch.randn(768, 4096).to(dtype)
    a @ b
    best, start = math.inf, time.perf_counter()
    for _ in range(3):
        t = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - t)
        if time.perf_counter() - start > seconds:
            break
    return 2.0 * 1024 * 768 * 4096 / best / 1e9


def describe(dtype="float32"):
    """What this process runs its baseline with, and whether its BLAS products are right.
    Call once torch is imported and torch.set_num_threads has run."""
    import numpy as np
    import torch

    blas = _blas_report()
    env = {k: os.environ.get(k) for k in REPORTED_ENV}
    return {
        "blas": blas,
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "env": env,
        "wait_policy": env[WAIT_POLICY] or "unset (libgomp default: spin briefly, then sleep)",
        "check": check_products(torch, np),
        "matmul_gflops": matmul_gflops(torch, getattr(torch, dtype)),
        "matmul_dtype": dtype,
    }


def _run_candidate(script, probe_args, env_changes):
    """Runs SCRIPT PROBE_ARGS in a fresh interpreter with env_changes applied; returns its JSON."""
    env = dict(os.environ)
    for key, value in env_changes.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    # OpenBLAS prints the core it chose on stderr with OPENBLAS_VERBOSE=2: a second source for the
    # kernel, whatever describe() could read.
    env.setdefault("OPENBLAS_VERBOSE", "2")
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, os.path.join(os.path.dirname(os.path.abspath(__file__)), script), *probe_args],
                          env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    core = re.search(r"^Core: (\S+)", proc.stderr, re.MULTILINE)
    if proc.returncode != 0:
        tail = proc.stderr.strip().splitlines()[-1:] or [""]
        return {"error": f"exit {proc.returncode}: {tail[0][:200]}", "seconds": seconds, "verbose_core": core and core.group(1)}
    result = json.loads(proc.stdout)
    result["seconds"] = seconds
    result["verbose_core"] = core and core.group(1)
    return result


def _name(env_changes):
    if not env_changes:
        return "as found"
    return ", ".join(f"{k}={v}" if v is not None else f"{k} unset" for k, v in env_changes.items())


def tune(script, probe_args):
    cpu = cpu_info()
    found = {k: os.environ.get(k) for k in (CORETYPE, L2_SIZE, WAIT_POLICY)}
    candidates = []

    def run(env_changes, stage):
        name = _name(env_changes)
        print(f"baseline_tuning: {script} with {name} ...", file=sys.stderr, flush=True)
        result = _run_candidate(script, probe_args, env_changes)
        baseline = result.get("baseline")
        if baseline is not None and not baseline["blas"].get("kernel"):
            baseline["blas"]["kernel"] = result.get("verbose_core")
        ok = "error" not in result and baseline is not None and baseline["check"]["ok"]
        candidates.append({"name": name, "stage": stage, "env": env_changes, "ok": ok, "error": result.get("error"),
                           "baseline": baseline, "rates": result.get("rates", {}), "seconds": result["seconds"]})
        print(f"baseline_tuning:   {'right' if ok else 'REJECTED'}, rates {result.get('rates')}, {result['seconds']:.1f} s",
              file=sys.stderr, flush=True)
        return candidates[-1]

    first = run({}, 1)
    kernel = ((first["baseline"] or {}).get("blas", {}).get("kernel") or "").lower()
    stage1 = []
    if found[CORETYPE] is not None or found[L2_SIZE] is not None:
        stage1.append({CORETYPE: None, L2_SIZE: None})  # OpenBLAS's own detection
    for core in core_candidates(cpu):
        if found[CORETYPE] is None and core.lower() == kernel:
            continue  # what OpenBLAS detected by itself: that is the run as found
        stage1.append({CORETYPE: core, L2_SIZE: None} if found[L2_SIZE] is not None else {CORETYPE: core})
    for env_changes in stage1:
        if {**found, **env_changes} != found:
            run(env_changes, 1)

    def score(c):
        # Geometric mean over the labels: one setting must not win on one batch size alone.
        rates = [r for r in c["rates"].values() if r > 0]
        return math.exp(sum(math.log(r) for r in rates) / len(rates)) if rates else 0.0

    right = [c for c in candidates if c["ok"]]
    if right:
        base = max(right, key=score)["env"]
        for policy in (None, "ACTIVE", "PASSIVE"):
            if policy != found[WAIT_POLICY]:
                run({**base, WAIT_POLICY: policy}, 2)

    labels = list(first["rates"]) if first["rates"] else sorted({l for c in candidates for l in c["rates"]})
    chosen = {}
    for label in labels:
        eligible = [i for i, c in enumerate(candidates) if c["ok"] and c["rates"].get(label, 0) > 0]
        if eligible:
            chosen[label] = max(eligible, key=lambda i: candidates[i]["rates"][label])
    return {"cpu": {k: v for k, v in cpu.items() if k != "flags"}, "found": found, "labels": labels,
            "core_candidates": core_candidates(cpu), "candidates": candidates, "chosen": chosen}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--script", required=True, help="reference script in this folder, e.g. generation_bench.py")
    parser.add_argument("probe_args", nargs=argparse.REMAINDER, help="after --: the script's short probe arguments")
    args = parser.parse_args()
    probe = args.probe_args[1:] if args.probe_args[:1] == ["--"] else args.probe_args
    print(json.dumps(tune(args.script, probe)))


if __name__ == "__main__":
    main()
