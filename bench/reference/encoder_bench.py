"""Encoder throughput of a DistilBERT in PyTorch eager mode (the Python side of Skim.Bench's
`encoder` scenario).

A DistilBERT-base-shaped model (6 layers, hidden 768, 12 heads, FFN 3072, vocab 30522, 512
positions) with random weights, written as plain torch.nn modules the way Hugging Face's
modeling_distilbert.py computes it in eager mode (nn.Linear projections, q / sqrt(head_dim) @ kᵀ,
padded keys filled with finfo.min, softmax, exact GELU, post-LayerNorm with eps 1e-12), followed by
sentence-transformers' mean pooling. Inputs: batch × seq_len random ids, all positions real.
The matmul peak is a 2048×768 @ 768×8192 float32 matmul on the same threads (best of
--peak-repeats, measured before and after the model; the better of the two is kept; 0 skips it).
baseline_tuning.describe() reports the BLAS kernel, threads and wait policy this process runs with
and checks that its BLAS products are right; baseline_tuning.py runs this script with short
arguments under each candidate setting to pick the fastest right one.

usage: encoder_bench.py [--batch 256] [--seq-len 32] [--threads 2] [--warmup 2] [--repeats 5] [--peak-repeats 5]
  e.g. python3 bench/reference/encoder_bench.py --batch 64 --repeats 2
Prints one JSON object: {"torch", "threads", "blas", "blas_libraries", "matmul_gflops", "seconds",
"sequences_per_s", "rates": {"encoder": sequences/s}, "baseline": describe()'s report}.
"""

import argparse
import json
import math
import re
import time

import torch
import torch.nn.functional as F
from torch import nn

import baseline_tuning

CONFIG = dict(vocab=30522, positions=512, dim=768, layers=6, heads=12, hidden=3072, eps=1e-12)


class Embeddings(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.word_embeddings = nn.Embedding(c["vocab"], c["dim"], padding_idx=0)
        self.position_embeddings = nn.Embedding(c["positions"], c["dim"])
        self.LayerNorm = nn.LayerNorm(c["dim"], eps=c["eps"])
        # HF's three dropouts; 0 in CONFIG (inference), set by xctrain_bench.py for training.
        self.dropout = nn.Dropout(c.get("dropout", 0.0))

    def forward(self, ids):
        positions = torch.arange(ids.shape[1], device=ids.device).unsqueeze(0)  # (1, T)
        return self.dropout(self.LayerNorm(self.word_embeddings(ids) + self.position_embeddings(positions)))  # (B, T, H)


class MultiHeadSelfAttention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.heads = c["heads"]
        self.q_lin = nn.Linear(c["dim"], c["dim"])
        self.k_lin = nn.Linear(c["dim"], c["dim"])
        self.v_lin = nn.Linear(c["dim"], c["dim"])
        self.out_lin = nn.Linear(c["dim"], c["dim"])
        self.dropout = nn.Dropout(c.get("attention_dropout", 0.0))

    def forward(self, x, mask):
        b, t, h = x.shape
        hs = h // self.heads

        def shape(y):
            return y.view(b, -1, self.heads, hs).transpose(1, 2)  # (B, nh, T, hs)

        q = shape(self.q_lin(x)) / math.sqrt(hs)
        k = shape(self.k_lin(x))
        v = shape(self.v_lin(x))
        scores = q @ k.transpose(2, 3)  # (B, nh, T, T)
        padded = (mask == 0).view(b, 1, 1, t).expand_as(scores)
        scores = scores.masked_fill(padded, torch.finfo(scores.dtype).min)
        context = self.dropout(torch.softmax(scores, dim=-1)) @ v  # (B, nh, T, hs)
        return self.out_lin(context.transpose(1, 2).reshape(b, t, h))  # (B, T, H)


class Ffn(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.lin1 = nn.Linear(c["dim"], c["hidden"])
        self.lin2 = nn.Linear(c["hidden"], c["dim"])
        self.dropout = nn.Dropout(c.get("dropout", 0.0))

    def forward(self, x):
        return self.dropout(self.lin2(F.gelu(self.lin1(x))))


class TransformerBlock(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.attention = MultiHeadSelfAttention(c)
        self.sa_layer_norm = nn.LayerNorm(c["dim"], eps=c["eps"])
        self.ffn = Ffn(c)
        self.output_layer_norm = nn.LayerNorm(c["dim"], eps=c["eps"])

    def forward(self, x, mask):
        x = self.sa_layer_norm(self.attention(x, mask) + x)
        return self.output_layer_norm(self.ffn(x) + x)


class DistilBertModel(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.embeddings = Embeddings(c)
        self.layer = nn.ModuleList(TransformerBlock(c) for _ in range(c["layers"]))

    def forward(self, ids, mask):
        x = self.embeddings(ids)
        for block in self.layer:
            x = block(x, mask)
        return x  # (B, T, H)


def embed(model, ids, mask):
    hidden = model(ids, mask)  # (B, T, H)
    m = mask.unsqueeze(-1).to(hidden.dtype)  # (B, T, 1)
    return (hidden * m).sum(1) / torch.clamp(m.sum(1), min=1e-9)  # (B, H)


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
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--seq-len", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--peak-repeats", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    baseline = baseline_tuning.describe("float32")
    torch.manual_seed(0)

    a, b = torch.randn(2048, 768), torch.randn(768, 8192)
    peak = args.peak_repeats > 0
    matmul_before = best_seconds(lambda: a @ b, 1, args.peak_repeats) if peak else math.inf

    model = DistilBertModel(CONFIG).eval()
    ids = torch.randint(1000, CONFIG["vocab"], (args.batch, args.seq_len))
    mask = torch.ones(args.batch, args.seq_len, dtype=torch.int64)
    with torch.inference_mode():
        seconds = best_seconds(lambda: embed(model, ids, mask), args.warmup, args.repeats)
    # On a shared machine one peak measurement can land in a busy moment: keep the better of two.
    matmul = min(matmul_before, best_seconds(lambda: a @ b, 1, args.peak_repeats)) if peak else math.inf

    blas = re.search(r"BLAS_INFO=([^,\s]+)", torch.__config__.show())
    # Debian's torch reports BLAS_INFO=generic and links libblas.so.3; the library actually mapped
    # (OpenBLAS or the reference BLAS) decides the speed, so name it.
    with open("/proc/self/maps", encoding="utf-8") as maps:
        libraries = sorted({line.split()[-1].rsplit("/", 1)[-1] for line in maps if "blas" in line.lower() and "/" in line})
    print(json.dumps({
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "blas": blas.group(1) if blas else "unknown",
        "blas_libraries": libraries,
        "matmul_gflops": 2.0 * 2048 * 768 * 8192 / matmul / 1e9 if peak else None,
        "seconds": seconds,
        "sequences_per_s": args.batch / seconds,
        "rates": {"encoder": args.batch / seconds},
        "baseline": baseline,
    }))


if __name__ == "__main__":
    main()
