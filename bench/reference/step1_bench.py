"""Step-1 generation in PyTorch eager mode: prompt and generated tokens/s at SKIM's shape (the Python
side of Skim.Bench's `step1` scenario).

The model, weights, KV cache, attention and sampling are generation_bench.py's (a SmolLM-135M-shaped
decoder with random weights, top-k 200 / temperature 0.8, no EOS); this script only changes the
measurement: each run times the prompt pass (the forward over the whole prompt and the first sampled
token) apart from the whole generation, so that prompt tokens/s and generated tokens/s are reported
separately, as step-1 spends its time on both (750-token prompts, 250 new tokens). --layers shrinks
the model for plumbing checks.

usage: step1_bench.py --batches 1,8,32 [--prompt-len 750] [--new-tokens 250] [--threads N] [--repeats R]
                      [--dtype float32|bfloat16] [--layers L]
  e.g. python3 bench/reference/step1_bench.py --batches 1,8 --prompt-len 64 --new-tokens 16 --threads 2
Prints one JSON object: {"threads", "dtype", "layers", "prompt_len", "new_tokens", "results": [{"batch",
"prompt_seconds", "seconds", "prompt_tokens_per_s", "decode_tokens_per_s", "generated_tokens_per_s"}, ...],
"rates": {"B": (prompt + generated tokens)/s, ...}, "baseline": baseline_tuning.describe()'s report}.
prompt_seconds: the prompt pass and the first token; decode_tokens_per_s: the other new tokens over the
rest of the run; generated_tokens_per_s: all new tokens over the whole run (what a user waits for).
With --repeats R each batch keeps the run with the shortest whole time.
"""

import argparse
import json
import math
import time

import torch

import baseline_tuning
import generation_bench as gb


def timed_generate(weights, batch, prompt_len, new_tokens, seed=0):
    """generation_bench.generate with two clocks: returns (prompt pass seconds, whole run seconds)."""
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(3, gb.CONFIG["vocab"], (batch, prompt_len), generator=g)
    decoder = gb.Decoder(weights, batch, prompt_len + new_tokens)
    with torch.inference_mode():
        start = time.perf_counter()
        logits = decoder.forward(ids)  # (B, 1, V)
        nxt = gb.sample(logits, g)  # (B, 1)
        prompt_done = time.perf_counter()
        for _ in range(new_tokens - 1):
            logits = decoder.forward(nxt)
            nxt = gb.sample(logits, g)
        end = time.perf_counter()
    return prompt_done - start, end - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", default="1,8,32")
    parser.add_argument("--prompt-len", type=int, default=750)
    parser.add_argument("--new-tokens", type=int, default=250)
    parser.add_argument("--threads", type=int, default=0, help="0 keeps PyTorch's default")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--dtype", choices=["float32", "bfloat16"], default="float32")
    parser.add_argument("--layers", type=int, default=0, help="0 keeps SmolLM-135M's 30")
    args = parser.parse_args()
    if args.new_tokens < 2:
        parser.error("--new-tokens must be at least 2 (the first token belongs to the prompt pass)")
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    if args.layers > 0:
        # generation_bench's functions read this dict when they run.
        gb.CONFIG["layers"] = args.layers
    baseline = baseline_tuning.describe(args.dtype)
    weights = gb.make_weights(dtype=getattr(torch, args.dtype))
    timed_generate(weights, 1, 8, 4)  # warm-up
    results = []
    for batch in [int(b) for b in args.batches.split(",")]:
        best = None
        for _ in range(args.repeats):
            prompt_s, total_s = timed_generate(weights, batch, args.prompt_len, args.new_tokens)
            if best is None or total_s < best[1]:
                best = (prompt_s, total_s)
        prompt_s, total_s = best
        results.append(dict(
            batch=batch, prompt_seconds=prompt_s, seconds=total_s,
            prompt_tokens_per_s=batch * args.prompt_len / prompt_s,
            decode_tokens_per_s=batch * (args.new_tokens - 1) / max(total_s - prompt_s, 1e-9),
            generated_tokens_per_s=batch * args.new_tokens / total_s))
    print(json.dumps(dict(
        threads=torch.get_num_threads(), dtype=args.dtype, layers=gb.CONFIG["layers"], prompt_len=args.prompt_len,
        new_tokens=args.new_tokens, results=results,
        rates={str(r["batch"]): r["batch"] * (args.prompt_len + args.new_tokens) / r["seconds"] for r in results},
        baseline=baseline)))


if __name__ == "__main__":
    main()
