"""Independent Llama-family forward pass (Llama, Mistral, Qwen2, SmolLM) in plain PyTorch.

Written from Hugging Face transformers' modeling conventions, without the transformers package:
  * RMSNorm computed in float32: w * (x / sqrt(mean(x^2) + eps)).to(input dtype)
  * rotary embeddings in the rotate-half layout, inv_freq = 1 / theta^(arange(0, d, 2) / d)
  * grouped-query attention (repeat_kv), scores scaled by 1 / sqrt(head_dim), additive causal and
    padding mask filled with the dtype's minimum
  * SwiGLU MLP: down(silu(gate(x)) * up(x)); Qwen2 has q/k/v biases; tied embeddings reuse
    model.embed_tokens.weight as the LM head
  * position ids from the attention mask (cumsum - 1, padding set to 1), as generate() does for
    left-padded batches

Weights are read from model.safetensors with json + numpy only (no safetensors package).

usage: llama_reference.py MODEL_DIR --ids '[[...], ...]' [--mask '[[...], ...]'] --out LOGITS.f32
Writes the logits (B, T, vocab) as raw little-endian float32 and prints their shape as JSON.
"""

import argparse
import json
import math
import os
import struct

import numpy as np
import torch

_DTYPES = {"F32": np.float32, "F16": np.float16, "F64": np.float64, "I64": np.int64, "I32": np.int32}


def read_safetensors(path):
    """Returns {name: float32 torch tensor} from a safetensors file."""
    with open(path, "rb") as f:
        (header_len,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(header_len))
        data = f.read()
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        start, end = info["data_offsets"]
        raw = data[start:end]
        if info["dtype"] == "BF16":
            bits = np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16
            array = bits.view(np.float32)
        else:
            array = np.frombuffer(raw, dtype=np.dtype(_DTYPES[info["dtype"]]).newbyteorder("<"))
        tensors[name] = torch.from_numpy(array.astype(np.float32).reshape(info["shape"]).copy())
    return tensors


def load_weights(model_dir):
    single = os.path.join(model_dir, "model.safetensors")
    if os.path.exists(single):
        return read_safetensors(single)
    with open(os.path.join(model_dir, "model.safetensors.index.json")) as f:
        index = json.load(f)
    weights = {}
    for shard in sorted(set(index["weight_map"].values())):
        weights.update(read_safetensors(os.path.join(model_dir, shard)))
    return weights


class Llama:
    def __init__(self, config, weights):
        self.c = config
        self.w = weights
        self.heads = config["num_attention_heads"]
        self.kv_heads = config.get("num_key_value_heads") or self.heads
        self.head_dim = config.get("head_dim") or config["hidden_size"] // self.heads
        self.eps = config.get("rms_norm_eps", 1e-6)
        self.theta = config.get("rope_theta", 10000.0)
        self.tied = config.get("tie_word_embeddings", False)

    def linear(self, x, name):
        y = x @ self.w[name + ".weight"].T
        if (name + ".bias") in self.w:
            y = y + self.w[name + ".bias"]
        return y

    def rms_norm(self, x, name):
        dtype = x.dtype
        h = x.to(torch.float32)
        variance = h.pow(2).mean(-1, keepdim=True)
        h = h * torch.rsqrt(variance + self.eps)
        return self.w[name + ".weight"] * h.to(dtype)

    def rotary(self, position_ids):
        d = self.head_dim
        inv_freq = 1.0 / (self.theta ** (torch.arange(0, d, 2, dtype=torch.int64).float() / d))
        freqs = position_ids[:, :, None].float() * inv_freq[None, None, :]  # (B, T, d/2)
        emb = torch.cat((freqs, freqs), dim=-1)  # (B, T, d)
        return emb.cos(), emb.sin()

    @staticmethod
    def rotate_half(x):
        half = x.shape[-1] // 2
        return torch.cat((-x[..., half:], x[..., :half]), dim=-1)

    def attention(self, x, layer, cos, sin, additive_mask):
        b, t, _ = x.shape
        p = f"model.layers.{layer}.self_attn."
        q = self.linear(x, p + "q_proj").view(b, t, self.heads, self.head_dim).transpose(1, 2)  # (B, nh, T, hs)
        k = self.linear(x, p + "k_proj").view(b, t, self.kv_heads, self.head_dim).transpose(1, 2)  # (B, nkv, T, hs)
        v = self.linear(x, p + "v_proj").view(b, t, self.kv_heads, self.head_dim).transpose(1, 2)  # (B, nkv, T, hs)
        c, s = cos[:, None], sin[:, None]  # (B, 1, T, hs)
        q = q * c + self.rotate_half(q) * s
        k = k * c + self.rotate_half(k) * s
        groups = self.heads // self.kv_heads
        k = k.repeat_interleave(groups, dim=1)  # (B, nh, T, hs)
        v = v.repeat_interleave(groups, dim=1)  # (B, nh, T, hs)
        scores = (q @ k.transpose(2, 3)) / math.sqrt(self.head_dim)  # (B, nh, T, T)
        scores = scores + additive_mask
        probs = torch.softmax(scores.float(), dim=-1).to(q.dtype)
        y = (probs @ v).transpose(1, 2).reshape(b, t, self.heads * self.head_dim)  # (B, T, nh*hs)
        return self.linear(y, p + "o_proj")

    def mlp(self, x, layer):
        p = f"model.layers.{layer}.mlp."
        return self.linear(torch.nn.functional.silu(self.linear(x, p + "gate_proj")) * self.linear(x, p + "up_proj"), p + "down_proj")

    def forward(self, ids, mask):
        b, t = ids.shape
        position_ids = mask.long().cumsum(-1) - 1
        position_ids.masked_fill_(mask == 0, 1)
        cos, sin = self.rotary(position_ids)
        h = self.w["model.embed_tokens.weight"][ids]  # (B, T, H)
        minimum = torch.finfo(h.dtype).min
        causal = torch.tril(torch.ones(t, t, dtype=torch.bool))
        allowed = causal[None, None] & mask.bool()[:, None, None, :]  # (B, 1, T, T)
        additive = torch.zeros(b, 1, t, t).masked_fill(~allowed, minimum)
        for layer in range(self.c["num_hidden_layers"]):
            p = f"model.layers.{layer}."
            h = h + self.attention(self.rms_norm(h, p + "input_layernorm"), layer, cos, sin, additive)
            h = h + self.mlp(self.rms_norm(h, p + "post_attention_layernorm"), layer)
        h = self.rms_norm(h, "model.norm")
        head = self.w["model.embed_tokens.weight"] if self.tied else self.w["lm_head.weight"]
        return h @ head.T  # (B, T, V)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model_dir")
    parser.add_argument("--ids", required=True, help="JSON list of equal-length token id lists")
    parser.add_argument("--mask", help="JSON list of 0/1 lists (1 = real token); default all ones")
    parser.add_argument("--out", required=True, help="raw float32 logits output")
    args = parser.parse_args()
    with open(os.path.join(args.model_dir, "config.json")) as f:
        config = json.load(f)
    ids = torch.tensor(json.loads(args.ids), dtype=torch.int64)
    mask = torch.tensor(json.loads(args.mask), dtype=torch.int64) if args.mask else torch.ones_like(ids)
    model = Llama(config, load_weights(args.model_dir))
    with torch.no_grad():
        logits = model.forward(ids, mask)
    logits.to(torch.float32).numpy().astype("<f4").tofile(args.out)
    print(json.dumps(list(logits.shape)))


if __name__ == "__main__":
    main()
