#!/usr/bin/env python3
"""Writes PyTorch checkpoints with torch.save and the values they hold, for Skim's state-dict reader tests.

usage: make_state_dicts.py OUT_DIR

Writes into OUT_DIR:
  dtypes.pt     OrderedDict of float32/float16/bfloat16/float64/int64/int32/int16/int8/uint8/bool
                tensors, a 0-d scalar and an empty tensor
  shared.pt     views that share one storage: the base, an offset slice, a transpose, a column
  module.pt     state_dict() of a tiny nn.Module (nn.Linear + nn.Embedding + nn.LayerNorm)
  nested.pt     NGAME-style checkpoint: {"model": {...encoder keys...}, "epoch": 3, "heads": [t0, t1]}
  parameter.pt  a dict holding nn.Parameter objects (pickled through _rebuild_parameter)
  malicious_system.pt, malicious_eval.pt
                zip checkpoints whose data.pkl calls os.system / builtins.eval when unpickled by Python
  expected.json {file: {key: {"dtype": torch dtype name, "shape": [...], "values": flat list}}}
"""
import collections
import json
import os
import sys

import torch


def describe(tensor):
    flat = tensor.detach().reshape(-1)
    if tensor.dtype in (torch.float16, torch.bfloat16, torch.float32, torch.float64):
        values = [float(v) for v in flat.double().tolist()]
    elif tensor.dtype == torch.bool:
        values = [int(v) for v in flat.tolist()]
    else:
        values = [int(v) for v in flat.tolist()]
    return {"dtype": str(tensor.dtype).replace("torch.", ""), "shape": list(tensor.shape), "values": values}


def flatten(prefix, value, out):
    if isinstance(value, torch.Tensor):
        out[prefix] = describe(value)
    elif isinstance(value, dict):
        for key, item in value.items():
            flatten(f"{prefix}.{key}" if prefix else str(key), item, out)
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            flatten(f"{prefix}.{i}" if prefix else str(i), item, out)


class Tiny(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = torch.nn.Embedding(5, 4)
        self.proj = torch.nn.Linear(4, 3)
        self.norm = torch.nn.LayerNorm(3)


class System:
    """Unpickling this runs a shell command: the reader under test must refuse it."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


class Eval:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (eval, (f"open({self.marker!r}, 'w').close()",))


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(0)
    expected = {}

    dtypes = collections.OrderedDict()
    dtypes["f32"] = torch.randn(2, 3)
    dtypes["f16"] = torch.randn(3, 2).half()
    dtypes["bf16"] = torch.randn(4).bfloat16()
    dtypes["f64"] = torch.randn(2, 2, dtype=torch.float64)
    dtypes["i64"] = torch.tensor([[-(2**40), 0, 7], [2**62, -1, 3]], dtype=torch.int64)
    dtypes["i32"] = torch.tensor([-5, 2**31 - 1], dtype=torch.int32)
    dtypes["i16"] = torch.tensor([-300, 300], dtype=torch.int16)
    dtypes["i8"] = torch.tensor([-128, 127], dtype=torch.int8)
    dtypes["u8"] = torch.tensor([0, 255], dtype=torch.uint8)
    dtypes["bool"] = torch.tensor([True, False, True])
    dtypes["scalar"] = torch.tensor(2.5)
    dtypes["empty"] = torch.zeros(0, 4)
    torch.save(dtypes, os.path.join(out, "dtypes.pt"))
    expected["dtypes.pt"] = {}
    flatten("", dtypes, expected["dtypes.pt"])

    base = torch.arange(24, dtype=torch.float32).reshape(4, 6)
    shared = collections.OrderedDict(
        [("base", base), ("rows", base[1:3]), ("transposed", base.t()), ("column", base[:, 2]), ("tail", base.view(-1)[20:])]
    )
    torch.save(shared, os.path.join(out, "shared.pt"))
    expected["shared.pt"] = {}
    flatten("", shared, expected["shared.pt"])

    module = Tiny().state_dict()
    torch.save(module, os.path.join(out, "module.pt"))
    expected["module.pt"] = {}
    flatten("", module, expected["module.pt"])

    nested = {
        "model": collections.OrderedDict(
            [
                ("encoder.transformer.embeddings.word_embeddings.weight", torch.randn(6, 4)),
                ("encoder.transformer.transformer.layer.0.attention.q_lin.weight", torch.randn(4, 4)),
                ("encoder.transformer.transformer.layer.0.attention.q_lin.bias", torch.randn(4)),
            ]
        ),
        "epoch": 3,
        "note": "trained with ngame",
        "heads": [torch.randn(2), torch.randn(3).half()],
    }
    torch.save(nested, os.path.join(out, "nested.pt"))
    expected["nested.pt"] = {}
    flatten("", nested, expected["nested.pt"])

    parameters = {"weight": torch.nn.Parameter(torch.randn(3, 2)), "bias": torch.nn.Parameter(torch.randn(3), requires_grad=False)}
    torch.save(parameters, os.path.join(out, "parameter.pt"))
    expected["parameter.pt"] = {}
    flatten("", parameters, expected["parameter.pt"])

    marker = os.path.join(out, "PWNED")
    torch.save({"weight": torch.zeros(2), "payload": System(marker)}, os.path.join(out, "malicious_system.pt"))
    torch.save({"payload": Eval(marker), "weight": torch.zeros(2)}, os.path.join(out, "malicious_eval.pt"))

    with open(os.path.join(out, "expected.json"), "w") as f:
        json.dump(expected, f)


if __name__ == "__main__":
    main()
