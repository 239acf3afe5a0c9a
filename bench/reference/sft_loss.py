"""Reference for Skim's supervised fine-tuning loss (src/Distill/FineTuning/SftLoss.cs).

Reads logits (B, T, V) float32 and targets (B, T) int64 from .npy files, where targets hold -100
on prompt and padding positions, and prints the summed and the mean token cross-entropy over the
counted targets as JSON, computed with PyTorch's own cross_entropy (ignore_index=-100) and, as a
cross-check, with an explicit log-softmax in float64.

usage: sft_loss.py LOGITS.npy TARGETS.npy
"""
import json
import sys

import numpy as np
import torch


def main() -> None:
    logits = torch.from_numpy(np.load(sys.argv[1]).astype(np.float32))
    targets = torch.from_numpy(np.load(sys.argv[2]).astype(np.int64))
    vocab = logits.shape[-1]
    flat_logits = logits.reshape(-1, vocab)
    flat_targets = targets.reshape(-1)
    total = torch.nn.functional.cross_entropy(flat_logits, flat_targets, ignore_index=-100, reduction="sum")
    mean = torch.nn.functional.cross_entropy(flat_logits, flat_targets, ignore_index=-100, reduction="mean")

    # The same sum by hand: -log softmax at the target, over positions whose target is not -100.
    keep = flat_targets != -100
    log_probs = torch.log_softmax(flat_logits.double(), dim=-1)
    manual = -log_probs[keep].gather(1, flat_targets[keep].unsqueeze(1)).sum()

    print(json.dumps({
        "sum": float(total),
        "mean": float(mean),
        "manual_sum": float(manual),
        "count": int(keep.sum()),
    }))


if __name__ == "__main__":
    main()
