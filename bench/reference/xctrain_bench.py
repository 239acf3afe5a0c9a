"""Dual-encoder training steps per second of a DistilBERT in PyTorch eager mode (the Python side of
Skim.Bench's `xctrain-speed` scenario).

One DEXML step, as Skim's DualEncoderStep runs it with the in-batch sampler: a batch of B queries
whose one positive each is a distinct label, so the label columns are the B sampled positives; the
shared encoder embeds the B labels, then the B queries (train mode: dropout 0.1 on the embeddings,
the attention weights and the FFN output, as Hugging Face's modeling_distilbert.py), CLS pooling and
L2 normalisation; scores = q @ lᵀ / temperature (B × B); DEXML's decoupled softmax (every positive
set to -100 in the negative pool, log p = s_pos - logaddexp(logsumexp(pool), s_pos), mean over
rows); backward; AdamW (weight decay on every weight but biases and LayerNorm, as Skim's trainer);
zero_grad; loss.item(). The model is the plain torch.nn DistilBERT of encoder_bench.py (no
`transformers` on Debian) with dropout added: 6 layers, hidden 768, 12 heads, FFN 3072, exact GELU,
vocab 30522, random weights. Token ids are random, every position real (no padding).

Timed: each step from the first forward to loss.item(), after --warmup steps; the median and every
step's time are reported. The matmul peak is a 2048×768 @ 768×8192 float32 matmul on the same
threads (best of --peak-repeats before and after; 0 skips it). baseline_tuning.describe() reports
the BLAS kernel, threads and wait policy and checks BLAS products; baseline_tuning.py runs this
script with short arguments under each candidate setting to pick the fastest right one.

AdamW runs with foreach=False (the per-parameter loop, PyTorch 1.13's CPU default) unless --foreach
is given: on this kind of machine the loop was the faster of the two (bench/README.md).

usage: xctrain_bench.py [--batch 64] [--seq-len 32] [--threads 2] [--warmup 2] [--steps 5] [--peak-repeats 5] [--foreach]
Prints one JSON object: {"torch", "threads", "blas", "blas_libraries", "matmul_gflops", "step_seconds",
"median_seconds", "examples_per_s", "losses", "optimizer_seconds", "rates": {"xctrain": examples/s},
"baseline": describe()'s report}.
"""

import argparse
import json
import math
import re
import statistics
import time

import torch
import torch.nn.functional as F

import baseline_tuning
# The plain-torch DistilBERT of the encoder benchmark, with dropout set from CONFIG below.
from encoder_bench import DistilBertModel

CONFIG = dict(vocab=30522, positions=512, dim=768, layers=6, heads=12, hidden=3072, eps=1e-12, dropout=0.1,
              attention_dropout=0.1)
MASKED_SCORE = -100.0  # DEXML's fill for positives in the negative pool


def encode(model, ids, mask):
    """CLS pooling and L2 normalisation, as Skim's TextEncoder.Forward with pooling cls."""
    return F.normalize(model(ids, mask)[:, 0], p=2.0, dim=1, eps=1e-12)  # (B, H)


def decoupled_softmax(scores, positives):
    """DEXML's decoupled softmax with one sampled positive per row (its column index in `target`)."""
    target = positives.float().argmax(1, keepdim=True)  # (B, 1)
    log_negatives = scores.masked_fill(positives, MASKED_SCORE).logsumexp(1, keepdim=True)  # (B, 1)
    positive = scores.gather(1, target)  # (B, 1)
    return -(positive - torch.logaddexp(log_negatives, positive)).sum() / scores.shape[0]


def optimizer_for(model, lr, weight_decay, foreach):
    """AdamW with Skim's (DEXML's) two groups: no weight decay on biases and LayerNorm weights."""
    decay, no_decay = [], []
    for name, parameter in model.named_parameters():
        lower = name.lower()
        exempt = "bias" in lower or "layernorm" in lower or "layer_norm" in lower
        (no_decay if exempt else decay).append(parameter)
    return torch.optim.AdamW([{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
                             lr=lr, foreach=foreach)


def best_seconds(run, warmup, repeats):
    for _ in range(warmup):
        run()
    best = math.inf
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--seq-len", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--peak-repeats", type=int, default=5)
    parser.add_argument("--temperature", type=float, default=0.05)
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--weight-decay", type=float, default=0.01)
    parser.add_argument("--foreach", action="store_true", help="AdamW's multi-tensor implementation")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    baseline = baseline_tuning.describe("float32")
    torch.manual_seed(0)

    a, b = torch.randn(2048, 768), torch.randn(768, 8192)
    peak = args.peak_repeats > 0
    matmul_before = best_seconds(lambda: a @ b, 1, args.peak_repeats) if peak else math.inf

    model = DistilBertModel(CONFIG).train()
    optimizer = optimizer_for(model, args.lr, args.weight_decay, args.foreach)
    total = args.warmup + args.steps
    # Fresh ids per step (as a real epoch has), drawn before the clock starts.
    queries = [torch.randint(1000, CONFIG["vocab"], (args.batch, args.seq_len)) for _ in range(total)]
    labels = [torch.randint(1000, CONFIG["vocab"], (args.batch, args.seq_len)) for _ in range(total)]
    mask = torch.ones(args.batch, args.seq_len, dtype=torch.int64)
    # Row i's one positive is column i: the in-batch columns are the batch's sampled positives.
    positives = torch.eye(args.batch, dtype=torch.bool)

    step_seconds, losses, optimizer_seconds = [], [], []
    for step in range(total):
        start = time.perf_counter()
        # Labels before queries, as DualEncoderStep does (the dropout draws follow that order).
        label_embeddings = encode(model, labels[step], mask)  # (B, H)
        query_embeddings = encode(model, queries[step], mask)  # (B, H)
        scores = query_embeddings @ label_embeddings.t() / args.temperature  # (B, B)
        loss = decoupled_softmax(scores, positives)
        loss.backward()
        before_update = time.perf_counter()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        losses.append(loss.item())
        end = time.perf_counter()
        if step >= args.warmup:
            step_seconds.append(end - start)
            optimizer_seconds.append(end - before_update)
    matmul = min(matmul_before, best_seconds(lambda: a @ b, 1, args.peak_repeats)) if peak else math.inf

    median = statistics.median(step_seconds)
    blas = re.search(r"BLAS_INFO=([^,\s]+)", torch.__config__.show())
    with open("/proc/self/maps", encoding="utf-8") as maps:
        libraries = sorted({line.split()[-1].rsplit("/", 1)[-1] for line in maps if "blas" in line.lower() and "/" in line})
    print(json.dumps({
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "blas": blas.group(1) if blas else "unknown",
        "blas_libraries": libraries,
        "matmul_gflops": 2.0 * 2048 * 768 * 8192 / matmul / 1e9 if peak else None,
        "step_seconds": step_seconds,
        "median_seconds": median,
        "examples_per_s": args.batch / median,
        "losses": losses,
        "optimizer_seconds": statistics.median(optimizer_seconds),
        "foreach": args.foreach,
        "rates": {"xctrain": args.batch / median},
        "baseline": baseline,
    }))


if __name__ == "__main__":
    main()
