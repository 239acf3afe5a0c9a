"""LoRA fine-tuning tokens per second of a SmolLM-135M-shaped decoder in PyTorch eager mode (the
Python side of Skim.Bench's `lora` scenario).

The model: 30 layers, hidden 576, 9 query / 3 key-value heads, SwiGLU 1536, vocab 49152, tied
embeddings, RMSNorm, rotary positions (theta 10000), random weights drawn as Hugging Face
initialises a Llama (normal, std 0.02; norms 1). Attention is written out as HF's eager
LlamaAttention does (PyTorch 1.13 has no scaled_dot_product_attention): scores, causal mask,
softmax in float32, times the values.

LoRA is written by hand (no peft on Debian), as PEFT's and litgpt's LoRALinear compute it:
y = x W^T + (dropout(x) A^T B^T) * alpha / r, with A Kaiming-uniform (bound 1/sqrt(in)) and B zero,
on q, k, v, o, gate, up and down of every layer (Skim's default targets). Every other weight is
frozen (requires_grad False), so backward computes input gradients through the frozen layers and
weight gradients only for A and B.

One step, as Skim's FineTuner runs it with one micro batch per optimizer step: the micro batch's
ids (B, T+1) become inputs (B, T) and next-token targets (B, T), where targets of prompt positions
are -100 (loss on response tokens only); logits (B, T, V); cross-entropy summed over the counted
targets and divided by their number; backward; gradient-norm clip at 1; AdamW (betas 0.9 / 0.95,
weight decay 0.01, the per-parameter loop: PyTorch 1.13's CPU default); zero_grad; loss.item().
Timed from building the batch to loss.item(), after --warmup steps.

--data reads the sequences Skim trains on (a JSON object {"prompt_length": P, "sequences": [[ids]]},
every sequence of the same length), so both sides train on the same ids; without it, random ids
below --vocab-used with the same prompt share.

baseline_tuning.describe() reports the BLAS kernel, threads and wait policy and checks BLAS
products; baseline_tuning.py runs this script with short arguments under each candidate setting to
pick the fastest right one.

usage: lora_bench.py [--data FILE] [--micro-batch 8] [--seq-len 256] [--threads 2] [--warmup 2] [--steps 3]
Prints one JSON object: {"torch", "threads", "trainable_parameters", "total_parameters", "lora_modules",
"tokens_per_step", "step_seconds", "median_seconds", "tokens_per_s", "losses", "optimizer_seconds",
"matmul_gflops", "rates": {"lora": tokens/s}, "baseline": describe()'s report}.
"""

import argparse
import json
import math
import statistics
import time

import torch
import torch.nn.functional as F
from torch import nn

import baseline_tuning

CONFIG = dict(vocab=49152, hidden=576, intermediate=1536, layers=30, heads=9, kv_heads=3, eps=1e-5, theta=10000.0, std=0.02)
TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
IGNORE_INDEX = -100


class LoRALinear(nn.Module):
    """A frozen linear layer plus a trainable low-rank update scaled by alpha / r."""

    def __init__(self, in_features, out_features, rank, alpha, dropout, std):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_features, in_features) * std, requires_grad=False)
        self.lora_A = nn.Parameter(torch.empty(rank, in_features).uniform_(-1.0 / math.sqrt(in_features), 1.0 / math.sqrt(in_features)))
        self.lora_B = nn.Parameter(torch.zeros(out_features, rank))
        self.dropout = nn.Dropout(dropout)
        self.scaling = alpha / rank

    def forward(self, x):  # (B, T, in) -> (B, T, out)
        return F.linear(x, self.weight) + F.linear(F.linear(self.dropout(x), self.lora_A), self.lora_B) * self.scaling


class RMSNorm(nn.Module):
    def __init__(self, hidden, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(hidden), requires_grad=False)
        self.eps = eps

    def forward(self, x):
        return self.weight * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps))


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


class Layer(nn.Module):
    def __init__(self, lora):
        super().__init__()
        c = CONFIG
        hd = c["hidden"] // c["heads"]
        self.input_layernorm = RMSNorm(c["hidden"], c["eps"])
        self.post_attention_layernorm = RMSNorm(c["hidden"], c["eps"])
        self.q_proj = lora(c["hidden"], c["heads"] * hd)
        self.k_proj = lora(c["hidden"], c["kv_heads"] * hd)
        self.v_proj = lora(c["hidden"], c["kv_heads"] * hd)
        self.o_proj = lora(c["heads"] * hd, c["hidden"])
        self.gate_proj = lora(c["hidden"], c["intermediate"])
        self.up_proj = lora(c["hidden"], c["intermediate"])
        self.down_proj = lora(c["intermediate"], c["hidden"])

    def forward(self, h, cos, sin, mask):
        c = CONFIG
        b, t, _ = h.shape
        hd = c["hidden"] // c["heads"]
        x = self.input_layernorm(h)
        q = self.q_proj(x).view(b, t, c["heads"], hd).transpose(1, 2)  # (B, nh, T, hd)
        k = self.k_proj(x).view(b, t, c["kv_heads"], hd).transpose(1, 2)  # (B, nkv, T, hd)
        v = self.v_proj(x).view(b, t, c["kv_heads"], hd).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        groups = c["heads"] // c["kv_heads"]
        # HF's repeat_kv: each key-value head serves `groups` query heads.
        k = k[:, :, None].expand(b, c["kv_heads"], groups, t, hd).reshape(b, c["heads"], t, hd)
        v = v[:, :, None].expand(b, c["kv_heads"], groups, t, hd).reshape(b, c["heads"], t, hd)
        scores = q @ k.transpose(2, 3) / math.sqrt(hd) + mask  # (B, nh, T, T)
        probs = torch.softmax(scores, dim=-1, dtype=torch.float32).to(q.dtype)
        y = (probs @ v).transpose(1, 2).reshape(b, t, -1)  # (B, T, H)
        h = h + self.o_proj(y)
        x = self.post_attention_layernorm(h)
        return h + self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class LoraLlama(nn.Module):
    def __init__(self, rank, alpha, dropout):
        super().__init__()
        c = CONFIG

        def lora(i, o):
            return LoRALinear(i, o, rank, alpha, dropout, c["std"])

        self.embed_tokens = nn.Parameter(torch.randn(c["vocab"], c["hidden"]) * c["std"], requires_grad=False)
        self.layers = nn.ModuleList([Layer(lora) for _ in range(c["layers"])])
        self.norm = RMSNorm(c["hidden"], c["eps"])
        hd = c["hidden"] // c["heads"]
        self.register_buffer("inv_freq", 1.0 / (c["theta"] ** (torch.arange(0, hd, 2).float() / hd)), persistent=False)

    def forward(self, ids):  # (B, T) -> (B, T, V)
        _, t = ids.shape
        freqs = torch.arange(t).float()[:, None] * self.inv_freq[None, :]
        emb = torch.cat((freqs, freqs), dim=-1)
        cos, sin = emb.cos(), emb.sin()  # (T, hd)
        mask = torch.full((t, t), torch.finfo(torch.float32).min).triu(1)  # (T, T)
        h = F.embedding(ids, self.embed_tokens)  # (B, T, H)
        for layer in self.layers:
            h = layer(h, cos, sin, mask)
        return F.linear(self.norm(h), self.embed_tokens)  # tied head


def load_sequences(args):
    if args.data:
        with open(args.data, encoding="utf-8") as f:
            data = json.load(f)
        sequences = torch.tensor(data["sequences"], dtype=torch.int64)
        return sequences, int(data["prompt_length"])
    g = torch.Generator().manual_seed(0)
    count = args.micro_batch * (args.warmup + args.steps)
    return torch.randint(0, args.vocab_used, (count, args.seq_len + 1), generator=g), (args.seq_len + 1) // 2


def best_seconds(run, repeats):
    run()
    best = math.inf
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="JSON of the sequences Skim trains on")
    parser.add_argument("--micro-batch", type=int, default=8)
    parser.add_argument("--seq-len", type=int, default=256, help="inputs per sequence without --data")
    parser.add_argument("--vocab-used", type=int, default=1000, help="ids drawn below this without --data")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--rank", type=int, default=8)
    parser.add_argument("--alpha", type=float, default=16.0)
    parser.add_argument("--dropout", type=float, default=0.05)
    parser.add_argument("--lr", type=float, default=3e-4)
    parser.add_argument("--weight-decay", type=float, default=0.01)
    parser.add_argument("--clip", type=float, default=1.0)
    parser.add_argument("--peak-repeats", type=int, default=5, help="0 skips the matmul peak")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    baseline = baseline_tuning.describe("float32")
    torch.manual_seed(0)

    sequences, prompt_length = load_sequences(args)
    total = args.warmup + args.steps
    if sequences.shape[0] < args.micro_batch * total:
        raise SystemExit(f"--data holds {sequences.shape[0]} sequences, {args.micro_batch * total} needed")

    model = LoraLlama(args.rank, args.alpha, args.dropout).train()
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=args.lr, betas=(0.9, 0.95), weight_decay=args.weight_decay, foreach=False)

    step_seconds, losses, optimizer_seconds = [], [], []
    for step in range(total):
        start = time.perf_counter()
        batch = sequences[step * args.micro_batch:(step + 1) * args.micro_batch]  # (B, T+1)
        inputs = batch[:, :-1]  # (B, T)
        targets = batch[:, 1:].clone()  # (B, T): position t predicts id t+1
        targets[:, :prompt_length - 1] = IGNORE_INDEX  # prompt ids are not trained on
        counted = int((targets != IGNORE_INDEX).sum())
        logits = model(inputs)  # (B, T, V)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), ignore_index=IGNORE_INDEX, reduction="sum")
        (loss / counted).backward()
        before_update = time.perf_counter()
        torch.nn.utils.clip_grad_norm_(trainable, args.clip)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        losses.append(loss.item() / counted)
        end = time.perf_counter()
        del logits, loss
        if step >= args.warmup:
            step_seconds.append(end - start)
            optimizer_seconds.append(end - before_update)

    peak = None
    if args.peak_repeats > 0:
        a, b = torch.randn(2048, 768), torch.randn(768, 8192)
        peak = 2.0 * 2048 * 768 * 8192 / best_seconds(lambda: a @ b, args.peak_repeats) / 1e9

    tokens = args.micro_batch * (sequences.shape[1] - 1)
    median = statistics.median(step_seconds)
    print(json.dumps({
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "trainable_parameters": sum(p.numel() for p in trainable),
        "total_parameters": sum(p.numel() for p in model.parameters()),
        "lora_modules": sum(1 for m in model.modules() if isinstance(m, LoRALinear)),
        "prompt_length": prompt_length,
        "tokens_per_step": tokens,
        "step_seconds": step_seconds,
        "median_seconds": median,
        "tokens_per_s": tokens / median,
        "losses": losses,
        "optimizer_seconds": statistics.median(optimizer_seconds),
        "matmul_gflops": peak,
        "rates": {"lora": tokens / median},
        "baseline": baseline,
    }))


if __name__ == "__main__":
    main()
