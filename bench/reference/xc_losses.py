#!/usr/bin/env python3
"""Independent PyTorch implementation of the XC training losses, to check Skim's C# ones.

Written from the formulas in xc-reference.md §3.4 (DEXML `SimLoss`: softmax, decoupled-softmax, topk)
and §4.3 / §4.5 (NGAME `TripletMarginLossOHNM`, `TripletMarginLossOHNMMulti`), in the index-list form
DEXML and NGAME use (gathered positive lists, in-place -100 masking, fixed top-k), not in the masked
matrix form of the C# code. SoftTopK is a torch.autograd.Function whose backward is DEXML's
implicit-function formula.

    xc_losses.py DIR

Reads float32 arrays from DIR:
    dual_scores.npy (B, C), relevance.npy (B, C), sampled.npy (B, C) 0/1, topk_rows.npy (B) per-row K;
    square_scores.npy (B, B), square_targets.npy (B, B) 0/1 (1 on the diagonal);
    multi_scores.npy (B, U), multi_targets.npy (B, U) 0/1.
Writes, for each NAME in softmax, softmax_weighted, decoupled, decoupled_weighted, topk,
topk_weighted, topk_rows, ohnm, ohnm_plain, ohnm_multi, the loss as NAME_loss.npy (shape ()) and
d loss / d scores as NAME_grad.npy (float32), and prints the names as JSON.

Hyperparameters are the shipped defaults: SoftTopK K=5, alpha=2, 32 bisection steps; M1 margin 0.3,
10 negatives, tau 0.1; M-IV margin 0.2, 3 positives, 5 negatives. The M-IV `|U| == B` diagonal quirk is
not implemented (the C# code does not reproduce it): callers pass |U| != B or accept the targets form.
"""
import json
import os
import sys

import numpy as np
import torch

EPSILON = 1e-8
TOPK_K, TOPK_ALPHA, TOPK_N_ITER = 5, 2.0, 32
OHNM_MARGIN, OHNM_K, OHNM_TAU = 0.3, 10, 0.1
MULTI_MARGIN, MULTI_POS, MULTI_NEG = 0.2, 3, 5


def positive_lists(relevance, sampled):
    """DEXML's gathered positives: rows and columns of the sampled set, its size per row, and the
    rows/columns of the positives that were not sampled."""
    chosen = sampled > 0.5
    pos_rows, pos_cols = chosen.nonzero(as_tuple=True)
    num_pos = chosen.sum(dim=1)
    rest_rows, rest_cols = ((relevance > EPSILON) & ~chosen).nonzero(as_tuple=True)
    return pos_rows, pos_cols, num_pos, rest_rows, rest_cols


def softmax_loss(scores, relevance, sampled, weighted):
    pos_rows, pos_cols, _, _, _ = positive_lists(relevance, sampled)
    log_denom = torch.logsumexp(scores, dim=1)
    log_prob = scores[pos_rows, pos_cols] - log_denom[pos_rows]
    if weighted:
        log_prob = log_prob * relevance[pos_rows, pos_cols]
    return -log_prob.sum() / scores.shape[0]


def decoupled_softmax_loss(scores, relevance, sampled, weighted):
    pos_rows, pos_cols, num_pos, rest_rows, rest_cols = positive_lists(relevance, sampled)
    sim = scores.clone()
    sim[rest_rows, rest_cols] = -100.0
    sim_pos = sim[pos_rows, pos_cols]
    sim[pos_rows, pos_cols] = -100.0
    log_denom = torch.logaddexp(torch.logsumexp(sim, dim=1)[pos_rows], sim_pos)
    log_prob = sim_pos - log_denom
    if weighted:
        log_prob = log_prob * relevance[pos_rows, pos_cols]
    return -(log_prob / num_pos[pos_rows]).sum() / scores.shape[0]


class LogSoftTopK(torch.autograd.Function):
    """log sigma(alpha (x + t)) with sum_j sigma(alpha (x_j + t)) = k per row, t found by bisection,
    differentiated by the implicit function theorem as DEXML's DistLogTopK does."""

    @staticmethod
    def forward(ctx, xs, k, alpha, n_iter):
        with torch.no_grad():
            lo = -xs.max(dim=1, keepdim=True).values - 10.0 / alpha
            hi = -xs.min(dim=1, keepdim=True).values + 10.0 / alpha
            for _ in range(n_iter):
                mid = (hi + lo) / 2
                mask = torch.sigmoid(alpha * (xs + mid)).sum(dim=1, keepdim=True) < k
                lo[mask] = mid[mask]
                hi[~mask] = mid[~mask]
            t = (lo + hi) / 2
            z = alpha * (xs + t)
        ctx.save_for_backward(z)
        ctx.alpha = alpha
        return z - torch.logaddexp(z, torch.zeros_like(z[:, :1]))

    @staticmethod
    def backward(ctx, grad_output):
        (z,) = ctx.saved_tensors
        alpha = ctx.alpha
        sig = torch.sigmoid(z)
        v = alpha * sig * (1 - sig)
        u = grad_output * alpha * (1 - sig)
        grad = u - u.sum(dim=1, keepdim=True) * v / v.sum(dim=1, keepdim=True)
        return grad, None, None, None


def soft_topk_loss(scores, relevance, sampled, k, weighted):
    pos_rows, pos_cols, num_pos, rest_rows, rest_cols = positive_lists(relevance, sampled)
    sim = scores.clone()
    sim[rest_rows, rest_cols] = -100.0
    log_topk = LogSoftTopK.apply(sim, k, TOPK_ALPHA, TOPK_N_ITER)
    pos_log_topk = log_topk[pos_rows, pos_cols] / num_pos[pos_rows]
    if weighted:
        pos_log_topk = pos_log_topk * relevance[pos_rows, pos_cols]
    return -pos_log_topk.sum() / scores.shape[0]


def ohnm_loss(scores, targets, apply_softmax):
    sim_p = torch.diagonal(scores).view(-1, 1)
    similarities = torch.where(targets == 0, scores, torch.full_like(scores, -10))
    _, indices = torch.topk(similarities, largest=True, dim=1, k=OHNM_K)
    sim_n = scores.gather(1, indices)
    loss = torch.max(torch.zeros_like(sim_p), sim_n - sim_p + OHNM_MARGIN)
    mask = loss != 0
    if apply_softmax:
        prob = torch.softmax(sim_n / OHNM_TAU * mask, dim=1)
        loss = loss * prob
    return loss.mean()


def ohnm_multi_loss(scores, targets):
    batch = scores.shape[0]
    sim_p = torch.topk(torch.where(targets == 1, scores, torch.full_like(scores, 100.0)), k=MULTI_POS, dim=1, largest=False).values
    _, indices = torch.topk(torch.where(targets == 0, scores, torch.full_like(scores, -100.0)), k=MULTI_NEG, dim=1, largest=True)
    sim_n = scores.gather(1, indices)
    loss = torch.relu(sim_n.view(batch, 1, -1) - sim_p.view(batch, -1, 1) + MULTI_MARGIN)
    prob = torch.softmax(loss.masked_fill(loss == 0, -100.0), dim=2)
    return (loss * prob).mean()


def load(directory, name):
    return torch.from_numpy(np.load(os.path.join(directory, name + ".npy")))


def run(directory, name, scores, loss_of):
    leaf = scores.clone().requires_grad_(True)
    loss = loss_of(leaf)
    loss.backward()
    np.save(os.path.join(directory, name + "_loss.npy"), np.array(loss.item(), dtype=np.float32))
    np.save(os.path.join(directory, name + "_grad.npy"), leaf.grad.numpy().astype(np.float32))
    return name


def main():
    directory = sys.argv[1]
    dual, relevance, sampled = load(directory, "dual_scores"), load(directory, "relevance"), load(directory, "sampled")
    topk_rows = load(directory, "topk_rows").view(-1, 1)
    square, square_targets = load(directory, "square_scores"), load(directory, "square_targets")
    multi, multi_targets = load(directory, "multi_scores"), load(directory, "multi_targets")
    written = [
        run(directory, "softmax", dual, lambda s: softmax_loss(s, relevance, sampled, False)),
        run(directory, "softmax_weighted", dual, lambda s: softmax_loss(s, relevance, sampled, True)),
        run(directory, "decoupled", dual, lambda s: decoupled_softmax_loss(s, relevance, sampled, False)),
        run(directory, "decoupled_weighted", dual, lambda s: decoupled_softmax_loss(s, relevance, sampled, True)),
        run(directory, "topk", dual, lambda s: soft_topk_loss(s, relevance, sampled, TOPK_K, False)),
        run(directory, "topk_weighted", dual, lambda s: soft_topk_loss(s, relevance, sampled, TOPK_K, True)),
        run(directory, "topk_rows", dual, lambda s: soft_topk_loss(s, relevance, sampled, topk_rows, False)),
        run(directory, "ohnm", square, lambda s: ohnm_loss(s, square_targets, True)),
        run(directory, "ohnm_plain", square, lambda s: ohnm_loss(s, square_targets, False)),
        run(directory, "ohnm_multi", multi, lambda s: ohnm_multi_loss(s, multi_targets)),
    ]
    print(json.dumps({"written": written}))


if __name__ == "__main__":
    main()
