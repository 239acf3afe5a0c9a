#!/usr/bin/env python3
"""An independent safetensors writer and reader built on numpy + json only (no safetensors package).

usage:
  weights_safetensors.py write OUT.safetensors   write a file with every dtype and metadata; print its
                                                 contents as JSON
  weights_safetensors.py read IN.safetensors     check IN against the format rules and print its contents
                                                 as JSON: {"metadata": {...}, "tensors": {name: {"dtype",
                                                 "shape", "values" (flat, as float or int)}}, "order": [...]}

The reader enforces what the Rust crate enforces: header length within the file, a JSON object,
offsets contiguous from 0 to the end of the file, byte counts equal to shape x dtype size. It also
reports whether the header length is a multiple of 8 and whether the header padding is spaces.
"""
import json
import struct
import sys

import numpy as np

NUMPY = {
    "F64": np.dtype("<f8"),
    "F32": np.dtype("<f4"),
    "F16": np.dtype("<f2"),
    "BF16": np.dtype("<u2"),
    "I64": np.dtype("<i8"),
    "I32": np.dtype("<i4"),
    "I16": np.dtype("<i2"),
    "I8": np.dtype("i1"),
    "U8": np.dtype("u1"),
    "BOOL": np.dtype("?"),
}


def values_of(dtype, array):
    flat = array.reshape(-1)
    if dtype == "BF16":
        # bfloat16 is the top half of a float32: widen the bit pattern.
        return [float(v) for v in (flat.astype(np.uint32) << 16).view(np.float32).astype(np.float64)]
    if dtype in ("F64", "F32", "F16"):
        return [float(v) for v in flat.astype(np.float64)]
    return [int(v) for v in flat]


def bf16_bits(values):
    """float32 -> bfloat16 bits, rounding to nearest even (NaN not needed here)."""
    bits = np.asarray(values, dtype=np.float32).view(np.uint32).astype(np.uint64)
    return ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16).astype(np.uint16)


def write(path):
    rng = np.random.default_rng(7)
    tensors = {
        "embed.weight": ("F32", rng.standard_normal((3, 4)).astype("<f4")),
        "norm.weight": ("F16", rng.standard_normal(5).astype("<f2")),
        "lm_head.weight": ("BF16", bf16_bits(rng.standard_normal((2, 3)))),
        "rope.inv_freq": ("F64", rng.standard_normal(3)),
        "position_ids": ("I64", np.array([[0, 1, 2, 2**40]], dtype="<i8")),
        "token_type": ("I32", np.array([-1, 2**31 - 1], dtype="<i4")),
        "i16": ("I16", np.array([-2, 3], dtype="<i2")),
        "i8": ("I8", np.array([-128, 127], dtype="i1")),
        "u8": ("U8", np.array([[0, 9], [255, 1]], dtype="u1")),
        "mask": ("BOOL", np.array([True, False, True])),
        "scalar": ("F32", np.array(1.5, dtype="<f4")),
        "empty": ("F32", np.zeros((0, 3), dtype="<f4")),
    }
    header = {"__metadata__": {"format": "pt", "note": "written by numpy"}}
    blobs = []
    offset = 0
    # Name order, no alignment care: a reader must not depend on the writer's ordering choices.
    for name in sorted(tensors):
        dtype, array = tensors[name]
        blob = np.ascontiguousarray(array).tobytes()
        header[name] = {"dtype": dtype, "shape": list(array.shape), "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for blob in blobs:
            f.write(blob)
    return {
        "metadata": header["__metadata__"],
        "tensors": {n: {"dtype": d, "shape": list(a.shape), "values": values_of(d, a)} for n, (d, a) in tensors.items()},
    }


def read(path):
    data = open(path, "rb").read()
    if len(data) < 8:
        raise SystemExit("file shorter than 8 bytes")
    (n,) = struct.unpack("<Q", data[:8])
    if n > len(data) - 8:
        raise SystemExit(f"header length {n} beyond file")
    raw = data[8 : 8 + n]
    header = json.loads(raw)
    body = data[8 + n :]
    metadata = header.pop("__metadata__", {}) or {}
    entries = sorted(header.items(), key=lambda kv: kv[1]["data_offsets"][0])
    expected_begin = 0
    result = {}
    for name, info in entries:
        dtype = info["dtype"]
        begin, end = info["data_offsets"]
        if begin != expected_begin:
            raise SystemExit(f"{name}: offsets not contiguous ({begin} after {expected_begin})")
        count = int(np.prod(info["shape"], dtype=np.int64))
        if end - begin != count * NUMPY[dtype].itemsize:
            raise SystemExit(f"{name}: {end - begin} bytes for shape {info['shape']} of {dtype}")
        array = np.frombuffer(body[begin:end], dtype=NUMPY[dtype]).reshape(info["shape"])
        result[name] = {"dtype": dtype, "shape": info["shape"], "values": values_of(dtype, array), "aligned": begin % NUMPY[dtype].itemsize == 0}
        expected_begin = end
    if expected_begin != len(body):
        raise SystemExit(f"data region is {len(body)} bytes, tensors cover {expected_begin}")
    stripped = raw.rstrip(b" ")
    return {
        "metadata": metadata,
        "tensors": result,
        "order": [name for name, _ in entries],
        "header_multiple_of_8": n % 8 == 0,
        "padding_is_spaces": raw[len(stripped) :] == b" " * (n - len(stripped)),
    }


def main():
    command, path = sys.argv[1], sys.argv[2]
    print(json.dumps(write(path) if command == "write" else read(path)))


if __name__ == "__main__":
    main()
