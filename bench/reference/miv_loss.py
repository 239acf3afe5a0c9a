#!/usr/bin/env python3
"""Independent PyTorch reference of NGAME's M-IV training step, to check Skim's C# classifier.

Written from xc-reference.md §4.5: the classifier is an embedding table read with sparse gradients
(`F.embedding(..., sparse=True)`, as NGAME's `UNSSparseLinear`), logits are
`normalize(x) @ normalize(W[U]).T`, the loss is `TripletMarginLossOHNMMulti` (3 hardest positives
padded with 100, 5 hardest negatives with positives masked to -100, hinge with margin 0.2, softmax
of the hinges with zeros sent to -100, mean over B x 3 x 5), and the update is
`torch.optim.SparseAdam`.

    miv_loss.py DIR STEPS LR

Reads from DIR: weights.npy (L, D) float32, and for s in 1..STEPS: points_s.npy (B, D) float32
(dropout already applied), labels_s.npy (U,) int64 (the batch label set), targets_s.npy (B, U)
float32 0/1. Writes loss_s.npy (shape ()) per step and weights_after.npy (L, D), and prints the
losses as JSON. Callers pass |U| != B (NGAME's diagonal quirk is not reproduced).
"""
import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

MARGIN, POSITIVES, NEGATIVES, MX_LIM = 0.2, 3, 5, 100.0


def ohnm_multi(scores, targets):
    sim_p = scores.clone()
    sim_p[targets == 0] = MX_LIM
    sim_p = sim_p.topk(POSITIVES, dim=1, largest=False)[0]  # (B, P), rows short of P padded with 100
    sim_n = scores.clone()
    sim_n[targets != 0] = -MX_LIM
    _, indices = sim_n.topk(NEGATIVES, dim=1, largest=True)
    sim_n = scores.gather(1, indices)  # (B, N)
    loss = F.relu(sim_n.unsqueeze(1) - sim_p.unsqueeze(2) + MARGIN)  # (B, P, N)
    prob = torch.where(loss == 0, torch.full_like(loss, -MX_LIM), loss).softmax(dim=2)
    return (loss * prob).mean()


def main():
    folder, steps, lr = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    weights = torch.from_numpy(np.load(os.path.join(folder, "weights.npy")))
    table = torch.nn.Embedding(weights.shape[0], weights.shape[1], sparse=True)
    with torch.no_grad():
        table.weight.copy_(weights)
    optimizer = torch.optim.SparseAdam(table.parameters(), lr=lr)
    losses = []
    for s in range(1, steps + 1):
        points = torch.from_numpy(np.load(os.path.join(folder, f"points_{s}.npy")))
        labels = torch.from_numpy(np.load(os.path.join(folder, f"labels_{s}.npy")))
        targets = torch.from_numpy(np.load(os.path.join(folder, f"targets_{s}.npy")))
        optimizer.zero_grad()
        rows = table(labels)  # (U, D), sparse gradient into the table
        scores = F.normalize(points, dim=1) @ F.normalize(rows, dim=1).T
        loss = ohnm_multi(scores, targets)
        loss.backward()
        optimizer.step()
        np.save(os.path.join(folder, f"loss_{s}.npy"), np.array(loss.item(), dtype=np.float64))
        losses.append(loss.item())
    np.save(os.path.join(folder, "weights_after.npy"), table.weight.detach().numpy().astype(np.float32))
    print(json.dumps(losses))


if __name__ == "__main__":
    main()
