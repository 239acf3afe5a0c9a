#!/usr/bin/env python3
"""Independent reference forward for BERT and DistilBERT encoders, in plain PyTorch.

Written from Hugging Face transformers' modeling conventions (modeling_bert.py,
modeling_distilbert.py) without importing transformers or safetensors:
  * post-LayerNorm blocks; BERT's LayerNorm epsilon from config.json (layer_norm_eps),
    DistilBERT's fixed at 1e-12;
  * exact GELU (erf) for "gelu", tanh approximation for "gelu_new"/"gelu_pytorch_tanh";
  * attention scores q·kᵀ/sqrt(head_dim) with padded keys set to finfo(dtype).min before softmax;
  * absolute learned positions 0..T-1, BERT token types all 0;
  * mean pooling = sum(mask·h)/max(sum(mask), 1e-9) (sentence-transformers), cls = h[:, 0],
    BERT pooler = tanh(dense(h[:, 0])), L2 normalisation = F.normalize.

Usage: encoder_reference.py MODEL_DIR INPUT_JSON OUTPUT_JSON
       encoder_reference.py --checkpoint-keys CONFIG_JSON
The second form prints the sorted "key [shape]" list of the base model as HF task checkpoints
name it (bert.*/distilbert.* prefix; the original BERT checkpoints' TF-era LayerNorm gamma/beta),
derived from modeling_bert.py / modeling_distilbert.py module names and the config's sizes.
  INPUT_JSON  {"input_ids": [[...]], "attention_mask": [[...]]}
  OUTPUT_JSON {"last_hidden_state", "mean", "cls", "mean_normalized", "pooler"?} as nested lists.
The weights are read from MODEL_DIR/model.safetensors with json + numpy.
"""
import json
import math
import os
import struct
import sys

import numpy as np
import torch
import torch.nn.functional as F

_DTYPES = {"F32": np.float32, "F16": np.float16, "F64": np.float64, "I64": np.int64, "I32": np.int32}


def read_safetensors(path):
    """Returns {name: float32 torch tensor}; BF16 is widened by shifting its 16 bits up."""
    with open(path, "rb") as f:
        data = f.read()
    (header_len,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + header_len].decode("utf-8"))
    base = 8 + header_len
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        start, end = info["data_offsets"]
        raw = data[base + start:base + end]
        if info["dtype"] == "BF16":
            bits = np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16
            array = bits.view(np.float32)
        else:
            array = np.frombuffer(raw, dtype=np.dtype(_DTYPES[info["dtype"]]).newbyteorder("<"))
        tensors[name] = torch.from_numpy(array.astype(np.float32).reshape(info["shape"]).copy())
    return tensors


def strip_task_prefix(weights, model_type):
    prefix = model_type + "."
    if any(k.startswith(prefix) for k in weights):
        return {k[len(prefix):]: v for k, v in weights.items() if k.startswith(prefix)}
    return weights


def activation(name):
    if name == "gelu":
        return lambda x: F.gelu(x)
    if name in ("gelu_new", "gelu_pytorch_tanh"):
        return lambda x: F.gelu(x, approximate="tanh")
    if name == "relu":
        return F.relu
    raise ValueError(f"unsupported activation {name}")


def linear(w, prefix, x):
    return x @ w[prefix + ".weight"].T + w[prefix + ".bias"]


def layer_norm(w, prefix, x, eps):
    return F.layer_norm(x, (x.shape[-1],), w[prefix + ".weight"], w[prefix + ".bias"], eps)


def attention(q, k, v, mask, heads):
    b, t, h = q.shape
    hs = h // heads

    def split(x):
        return x.view(b, t, heads, hs).transpose(1, 2)  # (B, nh, T, hs)

    q, k, v = split(q), split(k), split(v)
    scores = (q / math.sqrt(hs)) @ k.transpose(-1, -2)  # (B, nh, T, T)
    padded = (mask == 0).view(b, 1, 1, t)
    scores = scores.masked_fill(padded, torch.finfo(scores.dtype).min)
    weights = torch.softmax(scores, dim=-1)
    return (weights @ v).transpose(1, 2).reshape(b, t, h)  # (B, T, H)


def distilbert_forward(w, config, ids, mask):
    eps = 1e-12
    act = activation(config.get("activation", "gelu"))
    heads = config.get("n_heads", 12)
    t = ids.shape[1]
    x = w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][torch.arange(t)]
    x = layer_norm(w, "embeddings.LayerNorm", x, eps)
    for i in range(config.get("n_layers", 6)):
        p = f"transformer.layer.{i}."
        q = linear(w, p + "attention.q_lin", x)
        k = linear(w, p + "attention.k_lin", x)
        v = linear(w, p + "attention.v_lin", x)
        sa = linear(w, p + "attention.out_lin", attention(q, k, v, mask, heads))
        x = layer_norm(w, p + "sa_layer_norm", sa + x, eps)
        ff = linear(w, p + "ffn.lin2", act(linear(w, p + "ffn.lin1", x)))
        x = layer_norm(w, p + "output_layer_norm", ff + x, eps)
    return x, None


def bert_forward(w, config, ids, mask):
    eps = config.get("layer_norm_eps", 1e-12)
    act = activation(config.get("hidden_act", "gelu"))
    heads = config.get("num_attention_heads", 12)
    t = ids.shape[1]
    x = (w["embeddings.word_embeddings.weight"][ids]
         + w["embeddings.position_embeddings.weight"][torch.arange(t)]
         + w["embeddings.token_type_embeddings.weight"][torch.zeros_like(ids)])
    x = layer_norm(w, "embeddings.LayerNorm", x, eps)
    for i in range(config.get("num_hidden_layers", 12)):
        p = f"encoder.layer.{i}."
        q = linear(w, p + "attention.self.query", x)
        k = linear(w, p + "attention.self.key", x)
        v = linear(w, p + "attention.self.value", x)
        a = linear(w, p + "attention.output.dense", attention(q, k, v, mask, heads))
        x = layer_norm(w, p + "attention.output.LayerNorm", a + x, eps)
        inter = act(linear(w, p + "intermediate.dense", x))
        x = layer_norm(w, p + "output.LayerNorm", linear(w, p + "output.dense", inter) + x, eps)
    pooler = None
    if "pooler.dense.weight" in w:
        pooler = torch.tanh(linear(w, "pooler.dense", x[:, 0]))
    return x, pooler


def main(model_dir, input_path, output_path):
    with open(os.path.join(model_dir, "config.json"), encoding="utf-8") as f:
        config = json.load(f)
    model_type = config["model_type"]
    weights = strip_task_prefix(read_safetensors(os.path.join(model_dir, "model.safetensors")), model_type)
    with open(input_path, encoding="utf-8") as f:
        batch = json.load(f)
    ids = torch.tensor(batch["input_ids"], dtype=torch.int64)
    mask = torch.tensor(batch["attention_mask"], dtype=torch.int64)
    with torch.no_grad():
        forward = {"bert": bert_forward, "distilbert": distilbert_forward}[model_type]
        hidden, pooler = forward(weights, config, ids, mask)
        m = mask.unsqueeze(-1).float()
        mean = (hidden * m).sum(1) / torch.clamp(m.sum(1), min=1e-9)
        result = {
            "last_hidden_state": hidden.tolist(),
            "mean": mean.tolist(),
            "cls": hidden[:, 0].tolist(),
            "mean_normalized": F.normalize(mean, dim=1).tolist(),
        }
        if pooler is not None:
            result["pooler"] = pooler.tolist()
    with open(output_path, "w", encoding="utf-8") as f:
        json.dump(result, f)


def checkpoint_keys(config):
    """Base-model keys and shapes of HF's BertModel/DistilBertModel for a config, checkpoint spelling."""
    keys = {}
    if config["model_type"] == "distilbert":
        h, ff, p = config.get("dim", 768), config.get("hidden_dim", 3072), "distilbert."
        keys[p + "embeddings.word_embeddings.weight"] = [config.get("vocab_size", 30522), h]
        keys[p + "embeddings.position_embeddings.weight"] = [config.get("max_position_embeddings", 512), h]
        keys[p + "embeddings.LayerNorm.weight"] = [h]
        keys[p + "embeddings.LayerNorm.bias"] = [h]
        for i in range(config.get("n_layers", 6)):
            q = f"{p}transformer.layer.{i}."
            for name in ("q_lin", "k_lin", "v_lin", "out_lin"):
                keys[q + f"attention.{name}.weight"] = [h, h]
                keys[q + f"attention.{name}.bias"] = [h]
            for norm in ("sa_layer_norm", "output_layer_norm"):
                keys[q + norm + ".weight"] = [h]
                keys[q + norm + ".bias"] = [h]
            keys[q + "ffn.lin1.weight"] = [ff, h]
            keys[q + "ffn.lin1.bias"] = [ff]
            keys[q + "ffn.lin2.weight"] = [h, ff]
            keys[q + "ffn.lin2.bias"] = [h]
    else:
        h, ff, p = config.get("hidden_size", 768), config.get("intermediate_size", 3072), "bert."
        keys[p + "embeddings.word_embeddings.weight"] = [config.get("vocab_size", 30522), h]
        keys[p + "embeddings.position_embeddings.weight"] = [config.get("max_position_embeddings", 512), h]
        keys[p + "embeddings.token_type_embeddings.weight"] = [config.get("type_vocab_size", 2), h]
        keys[p + "embeddings.LayerNorm.gamma"] = [h]
        keys[p + "embeddings.LayerNorm.beta"] = [h]
        for i in range(config.get("num_hidden_layers", 12)):
            q = f"{p}encoder.layer.{i}."
            for name in ("self.query", "self.key", "self.value", "output.dense"):
                keys[q + f"attention.{name}.weight"] = [h, h]
                keys[q + f"attention.{name}.bias"] = [h]
            keys[q + "attention.output.LayerNorm.gamma"] = [h]
            keys[q + "attention.output.LayerNorm.beta"] = [h]
            keys[q + "intermediate.dense.weight"] = [ff, h]
            keys[q + "intermediate.dense.bias"] = [ff]
            keys[q + "output.dense.weight"] = [h, ff]
            keys[q + "output.dense.bias"] = [h]
            keys[q + "output.LayerNorm.gamma"] = [h]
            keys[q + "output.LayerNorm.beta"] = [h]
        keys[p + "pooler.dense.weight"] = [h, h]
        keys[p + "pooler.dense.bias"] = [h]
    for key in sorted(keys):
        print(f"{key} [{', '.join(str(d) for d in keys[key])}]")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--checkpoint-keys":
        with open(sys.argv[2], encoding="utf-8") as f:
            checkpoint_keys(json.load(f))
        sys.exit(0)
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2], sys.argv[3])
