"""TF-IDF cosine kNN baselines for an XC dataset (the Python side of Skim.Bench's `xctrain-quality`).

scikit-learn's TfidfVectorizer is fitted on the train texts; each test text is compared by cosine
similarity (the vectors are L2-normalised) with
- instance: the train points; the labels of its k nearest train points vote with weight
  similarity × relevance (the observed train matrix, the one Skim trains on), as Skim's
  `skim predict --method instance` does with embeddings;
- label: the label texts; a label's score is its text's similarity;
- fusion: w · label + (1 − w) · instance over the union of each row's entries (a missing entry
  counts 0), as Skim's fusion.
Each matrix keeps the 100 best labels per row (score descending, then label ascending; only scores
above 0) and is written as a scipy CSR .npz, so that Skim's evaluator scores it exactly as it
scores Skim's own predictions.

Run at its best: the n-gram range, sublinear tf, k and w are chosen on held-out train points (a
seeded 10% of the labelled train rows, scored against the observed train matrix with the other 90%
as the kNN index and the fitting corpus), never on the test split, by the mean of P@1 and R@100.

usage: tfidf_knn_baseline.py --texts texts.json --train-matrix trn_X_Y.npz --out DIR [--top-k 100] [--seed 0]
  texts.json: {"train": [...], "test": [...], "labels": [...]} (written by the C# side from XcDataset,
  so both sides see identical texts).
Writes DIR/tfidf_instance.npz, DIR/tfidf_label.npz, DIR/tfidf_fusion.npz and prints one JSON object:
{"sklearn", "chosen", "validation", "files", "seconds"}.
"""

import argparse
import itertools
import json
import os
import time

import numpy as np
import scipy.sparse as sp
import sklearn
from sklearn.feature_extraction.text import TfidfVectorizer

NGRAMS = ((1, 1), (1, 2))
SUBLINEAR = (False, True)
NEIGHBOURS = (5, 10, 25, 50, 100)
FUSION_WEIGHTS = (0.25, 0.5, 0.75)


def top_rows(scores, top_k):
    """Dense (n, L) scores -> CSR with each row's top_k positive entries, ties broken by label id."""
    n, labels = scores.shape
    top_k = min(top_k, labels)
    indptr, indices, data = [0], [], []
    for row in scores:
        # lexsort's last key is primary: score descending, then label ascending.
        order = np.lexsort((np.arange(labels), -row))[:top_k]
        order = order[row[order] > 0]
        indices.append(order)
        data.append(row[order])
        indptr.append(indptr[-1] + len(order))
    matrix = sp.csr_matrix((np.concatenate(data).astype(np.float32), np.concatenate(indices).astype(np.int32),
                            np.asarray(indptr, dtype=np.int32)), shape=(n, labels))
    matrix.sort_indices()
    return matrix


def instance_scores(similarity, train_matrix, k):
    """Dense (n, L): the k most similar train points vote with similarity × relevance."""
    k = min(k, similarity.shape[1])
    nearest = np.argpartition(-similarity, k - 1, axis=1)[:, :k]  # (n, k)
    weights = np.zeros_like(similarity)
    np.put_along_axis(weights, nearest, np.take_along_axis(similarity, nearest, axis=1), axis=1)
    return np.asarray(sp.csr_matrix(weights) @ train_matrix.tocsr().astype(np.float64).toarray())


def vectorizer(ngram, sublinear):
    return TfidfVectorizer(ngram_range=ngram, sublinear_tf=sublinear, dtype=np.float64)


def precision_at_1_and_recall_at_100(scores, truth):
    """Selection metrics only (the reported ones come from Skim's evaluator): P@1 and R@100 on rows
    with at least one label."""
    truth = truth.tocsr()
    p1, r100, rows = 0.0, 0.0, 0
    for i, row in enumerate(scores):
        positives = set(truth.indices[truth.indptr[i]:truth.indptr[i + 1]].tolist())
        if not positives:
            continue
        order = np.lexsort((np.arange(len(row)), -row))[:100]
        order = order[row[order] > 0]
        p1 += 1.0 if len(order) and order[0] in positives else 0.0
        r100 += len(positives.intersection(order.tolist())) / len(positives)
        rows += 1
    return p1 / rows, r100 / rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", required=True)
    parser.add_argument("--train-matrix", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--top-k", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    with open(args.texts, encoding="utf-8") as f:
        texts = json.load(f)
    train_texts, test_texts, label_texts = texts["train"], texts["test"], texts["labels"]
    train_matrix = sp.load_npz(args.train_matrix).tocsr()
    assert train_matrix.shape == (len(train_texts), len(label_texts)), "train matrix does not fit the texts"

    # Held-out train points for the choice of settings: never the test split.
    labelled = np.flatnonzero(np.diff(train_matrix.indptr) > 0)
    rng = np.random.default_rng(args.seed)
    held = np.sort(rng.choice(labelled, size=max(1, len(labelled) // 10), replace=False))
    kept = np.setdiff1d(np.arange(len(train_texts)), held)
    validation = []
    for ngram, sublinear in itertools.product(NGRAMS, SUBLINEAR):
        tfidf = vectorizer(ngram, sublinear).fit([train_texts[i] for i in kept])
        held_vectors = tfidf.transform([train_texts[i] for i in held])
        to_train = (held_vectors @ tfidf.transform([train_texts[i] for i in kept]).T).toarray()
        to_labels = (held_vectors @ tfidf.transform(label_texts).T).toarray()
        truth = train_matrix[held]
        p1, r100 = precision_at_1_and_recall_at_100(to_labels, truth)
        validation.append({"method": "label", "ngram": list(ngram), "sublinear_tf": sublinear, "P@1": p1, "R@100": r100})
        by_k = {}
        for k in NEIGHBOURS:
            by_k[k] = instance_scores(to_train, train_matrix[kept], k)
            p1, r100 = precision_at_1_and_recall_at_100(by_k[k], truth)
            validation.append({"method": "instance", "ngram": list(ngram), "sublinear_tf": sublinear, "k": k, "P@1": p1, "R@100": r100})
            for w in FUSION_WEIGHTS:
                p1, r100 = precision_at_1_and_recall_at_100(w * to_labels + (1 - w) * by_k[k], truth)
                validation.append({"method": "fusion", "ngram": list(ngram), "sublinear_tf": sublinear, "k": k, "w": w, "P@1": p1, "R@100": r100})

    def best(method):
        return max((v for v in validation if v["method"] == method), key=lambda v: (v["P@1"] + v["R@100"]) / 2)

    chosen = {m: best(m) for m in ("instance", "label", "fusion")}
    start = time.perf_counter()
    files = {}
    for method, setting in chosen.items():
        tfidf = vectorizer(tuple(setting["ngram"]), setting["sublinear_tf"]).fit(train_texts)
        test_vectors = tfidf.transform(test_texts)
        to_labels = (test_vectors @ tfidf.transform(label_texts).T).toarray()
        if method == "label":
            scores = to_labels
        else:
            by_instance = instance_scores((test_vectors @ tfidf.transform(train_texts).T).toarray(), train_matrix, setting["k"])
            scores = by_instance if method == "instance" else setting["w"] * to_labels + (1 - setting["w"]) * by_instance
        path = os.path.join(args.out, f"tfidf_{method}.npz")
        sp.save_npz(path, top_rows(scores, args.top_k), compressed=True)
        files[method] = path
    print(json.dumps({"sklearn": sklearn.__version__, "held_out": int(len(held)), "chosen": chosen, "validation": validation,
                      "files": files, "seconds": time.perf_counter() - start}))


if __name__ == "__main__":
    main()
