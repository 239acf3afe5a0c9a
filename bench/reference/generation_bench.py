"""Generation throughput of a Llama-family decoder in PyTorch eager mode (the Python side of
Skim.Bench's `generation` scenario).

A SmolLM-135M-shaped model (30 layers, hidden 576, 9 query / 3 key-value heads, SwiGLU 1536,
vocab 49152, tied embeddings) with random weights generates max_new_tokens tokens after a prompt
of prompt_len random tokens, with a preallocated KV cache, top-k 200 / temperature 0.8 sampling,
no EOS. Attention is written out (matmul, softmax) because PyTorch 1.13 has no
scaled_dot_product_attention.

With --dtype bfloat16 the weights, activations and KV cache are bfloat16 (RMSNorm in float32, as
in HF); sampling is always in float32.

baseline_tuning.describe() reports the BLAS kernel, threads and wait policy this process runs with
and checks that its BLAS products are right; baseline_tuning.py runs this script with short
arguments under each candidate setting to pick the fastest right one per batch size.

usage: generation_bench.py --batches 1,8,32 [--prompt-len 32] [--new-tokens 64] [--threads N] [--repeats R] [--dtype float32|bfloat16]
  e.g. python3 bench/reference/generation_bench.py --batches 1,8 --new-tokens 16 --threads 2
Prints one JSON object: {"threads": N, "dtype", "results": [{"batch": B, "seconds": s, "tokens_per_s": t}, ...],
"rates": {"B": tokens/s, ...}, "baseline": describe()'s report}.
"""

import argparse
import json
import math
import time

import torch

import baseline_tuning

CONFIG = dict(vocab=49152, hidden=576, intermediate=1536, layers=30, heads=9, kv_heads=3, eps=1e-5, theta=10000.0)


def make_weights(seed=0, dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)
    c = CONFIG
    hd = c["hidden"] // c["heads"]

    def normal(*shape):
        return (torch.randn(*shape, generator=g) * 0.02).to(dtype)

    layers = []
    for _ in range(c["layers"]):
        layers.append(dict(
            q=normal(c["heads"] * hd, c["hidden"]), k=normal(c["kv_heads"] * hd, c["hidden"]),
            v=normal(c["kv_heads"] * hd, c["hidden"]), o=normal(c["hidden"], c["heads"] * hd),
            gate=normal(c["intermediate"], c["hidden"]), up=normal(c["intermediate"], c["hidden"]),
            down=normal(c["hidden"], c["intermediate"]),
            ln1=torch.ones(c["hidden"], dtype=dtype), ln2=torch.ones(c["hidden"], dtype=dtype)))
    return dict(embed=normal(c["vocab"], c["hidden"]), layers=layers, norm=torch.ones(c["hidden"], dtype=dtype))


def rms_norm(x, w, eps):
    h = x.float()
    return w * (h * torch.rsqrt(h.pow(2).mean(-1, keepdim=True) + eps)).to(x.dtype)


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


class Decoder:
    def __init__(self, weights, batch, capacity):
        c = CONFIG
        self.w = weights
        self.hd = c["hidden"] // c["heads"]
        self.inv_freq = 1.0 / (c["theta"] ** (torch.arange(0, self.hd, 2).float() / self.hd))
        self.dtype = weights["embed"].dtype
        self.k_cache = [torch.zeros(batch, c["kv_heads"], capacity, self.hd, dtype=self.dtype) for _ in range(c["layers"])]
        self.v_cache = [torch.zeros(batch, c["kv_heads"], capacity, self.hd, dtype=self.dtype) for _ in range(c["layers"])]
        self.length = 0

    def forward(self, ids):
        c = CONFIG
        b, t = ids.shape
        past = self.length
        pos = torch.arange(past, past + t).float()
        freqs = pos[:, None] * self.inv_freq[None, :]
        emb = torch.cat((freqs, freqs), dim=-1)
        cos, sin = emb.cos().to(self.dtype), emb.sin().to(self.dtype)  # (T, hd)
        total = past + t
        mask = None
        if t > 1:
            mask = torch.full((t, total), float("-inf"), dtype=self.dtype).triu(past + 1)  # (T, S)
        h = self.w["embed"][ids]  # (B, T, H)
        groups = c["heads"] // c["kv_heads"]
        for i, lw in enumerate(self.w["layers"]):
            x = rms_norm(h, lw["ln1"], c["eps"])
            q = (x @ lw["q"].T).view(b, t, c["heads"], self.hd).transpose(1, 2)  # (B, nh, T, hd)
            k = (x @ lw["k"].T).view(b, t, c["kv_heads"], self.hd).transpose(1, 2)  # (B, nkv, T, hd)
            v = (x @ lw["v"].T).view(b, t, c["kv_heads"], self.hd).transpose(1, 2)
            q = q * cos + rotate_half(q) * sin
            k = k * cos + rotate_half(k) * sin
            self.k_cache[i][:, :, past:total] = k
            self.v_cache[i][:, :, past:total] = v
            keys = self.k_cache[i][:, :, :total].repeat_interleave(groups, dim=1)  # (B, nh, S, hd)
            values = self.v_cache[i][:, :, :total].repeat_interleave(groups, dim=1)
            scores = (q @ keys.transpose(2, 3)) / math.sqrt(self.hd)  # (B, nh, T, S)
            if mask is not None:
                scores = scores + mask
            y = (torch.softmax(scores, dim=-1) @ values).transpose(1, 2).reshape(b, t, -1)  # (B, T, H)
            h = h + y @ lw["o"].T
            x = rms_norm(h, lw["ln2"], c["eps"])
            h = h + (torch.nn.functional.silu(x @ lw["gate"].T) * (x @ lw["up"].T)) @ lw["down"].T
        self.length = total
        h = rms_norm(h[:, -1:], self.w["norm"], c["eps"])  # last position only
        return h @ self.w["embed"].T  # (B, 1, V)


def sample(logits, generator, top_k=200, temperature=0.8):
    scores = logits[:, -1].float() / temperature
    values, _ = torch.topk(scores, top_k)
    scores = scores.masked_fill(scores < values[:, -1:], float("-inf"))
    return torch.multinomial(torch.softmax(scores, -1), 1, generator=generator)  # (B, 1)


def generate(weights, batch, prompt_len, new_tokens, seed=0):
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(3, CONFIG["vocab"], (batch, prompt_len), generator=g)
    decoder = Decoder(weights, batch, prompt_len + new_tokens)
    with torch.inference_mode():
        logits = decoder.forward(ids)
        for step in range(new_tokens):
            nxt = sample(logits, g)
            if step + 1 < new_tokens:
                logits = decoder.forward(nxt)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", default="1,8,32")
    parser.add_argument("--prompt-len", type=int, default=32)
    parser.add_argument("--new-tokens", type=int, default=64)
    parser.add_argument("--threads", type=int, default=0, help="0 keeps PyTorch's default")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--dtype", choices=["float32", "bfloat16"], default="float32")
    args = parser.parse_args()
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    baseline = baseline_tuning.describe(args.dtype)
    weights = make_weights(dtype=getattr(torch, args.dtype))
    generate(weights, 1, 8, 4)  # warm-up
    results = []
    for batch in [int(b) for b in args.batches.split(",")]:
        best = math.inf
        for _ in range(args.repeats):
            start = time.perf_counter()
            generate(weights, batch, args.prompt_len, args.new_tokens)
            best = min(best, time.perf_counter() - start)
        results.append(dict(batch=batch, seconds=best, tokens_per_s=batch * args.new_tokens / best))
    print(json.dumps(dict(threads=torch.get_num_threads(), dtype=args.dtype, results=results,
                          rates={str(r["batch"]): r["tokens_per_s"] for r in results}, baseline=baseline)))


if __name__ == "__main__":
    main()
