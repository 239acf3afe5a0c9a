#!/usr/bin/env python3
"""Independent tokenizer references for Skim's tests.

  bpe VOCAB_JSON MERGES_TXT PATTERN TEXTS_JSON
      Byte-level BPE as GPT-2's original encoder does it (bytes -> printable unicode alphabet,
      merges applied lowest rank first), written here from that algorithm's description, with the
      pre-tokenizer regex of a model family (PATTERN: gpt2 | llama3 | qwen2). Prints a JSON list of
      id lists, one per text.
  sentencepiece MODEL TEXTS_JSON
      Ids from Google's sentencepiece library (Debian's python3-sentencepiece), no BOS/EOS.
  train-sentencepiece BERT_VOCAB_TXT OUT_PREFIX VOCAB_SIZE
      Trains a tiny Llama-style SentencePiece BPE model (byte fallback, <unk> <s> </s> at 0 1 2)
      used as a test fixture, on a corpus of random lines of words from a BERT vocab.txt.
"""
import json
import sys

PATTERNS = {
    "gpt2": r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+""",
    "llama3": r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+""",
    "qwen2": r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+""",
}


def byte_alphabet():
    # Printable bytes map to themselves; the other 68 bytes map to 256, 257, ... in byte order, so
    # that every byte has a visible, non-whitespace character.
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAC + 1)) + list(range(0xAE, 0xFF + 1))
    table = {}
    extra = 0
    for b in range(256):
        if b in keep:
            table[b] = chr(b)
        else:
            table[b] = chr(256 + extra)
            extra += 1
    return table


def bpe_word(symbols, ranks):
    symbols = list(symbols)
    while len(symbols) > 1:
        best = None
        for i in range(len(symbols) - 1):
            rank = ranks.get((symbols[i], symbols[i + 1]))
            if rank is not None and (best is None or rank < best[0]):
                best = (rank, i)
        if best is None:
            break
        first, second = symbols[best[1]], symbols[best[1] + 1]
        merged = []
        i = 0
        while i < len(symbols):
            if i < len(symbols) - 1 and symbols[i] == first and symbols[i + 1] == second:
                merged.append(first + second)
                i += 2
            else:
                merged.append(symbols[i])
                i += 1
        symbols = merged
    return symbols


def run_bpe(vocab_path, merges_path, pattern_name, texts_path):
    import regex

    with open(vocab_path, encoding="utf-8") as f:
        vocab = json.load(f)
    ranks = {}
    with open(merges_path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith("#version") or not line:
                continue
            a, b = line.split(" ")
            ranks[(a, b)] = len(ranks)
    alphabet = byte_alphabet()
    pattern = regex.compile(PATTERNS[pattern_name])
    with open(texts_path, encoding="utf-8") as f:
        texts = json.load(f)
    out = []
    for text in texts:
        ids = []
        for piece in pattern.findall(text):
            mapped = "".join(alphabet[b] for b in piece.encode("utf-8"))
            ids.extend(vocab[s] for s in bpe_word(mapped, ranks))
        out.append(ids)
    json.dump(out, sys.stdout)


def run_sentencepiece(model_path, texts_path):
    import sentencepiece

    processor = sentencepiece.SentencePieceProcessor(model_file=model_path)
    with open(texts_path, encoding="utf-8") as f:
        texts = json.load(f)
    json.dump([processor.encode(t) for t in texts], sys.stdout)


def train_sentencepiece(bert_vocab, prefix, vocab_size):
    import random
    import sentencepiece

    with open(bert_vocab, encoding="utf-8") as f:
        words = [w for w in f.read().split("\n")[1996:6000] if w.isalpha() and w.isascii()]
    rng = random.Random(0)
    corpus = prefix + ".corpus.txt"
    with open(corpus, "w", encoding="utf-8") as f:
        for i in range(3000):
            line = " ".join(rng.choice(words) for _ in range(rng.randint(4, 12)))
            if i % 3 == 0:
                line = line.capitalize() + "."
            if i % 7 == 0:
                line += " " + str(rng.randint(0, 9999))
            f.write(line + "\n")
    sentencepiece.SentencePieceTrainer.train(
        input=corpus, model_prefix=prefix, vocab_size=int(vocab_size), model_type="bpe",
        byte_fallback=True, character_coverage=1.0, split_digits=True, add_dummy_prefix=True,
        remove_extra_whitespaces=False, normalization_rule_name="identity",
        unk_id=0, bos_id=1, eos_id=2, pad_id=-1, num_threads=1, minloglevel=2)


if __name__ == "__main__":
    command, args = sys.argv[1], sys.argv[2:]
    {"bpe": run_bpe, "sentencepiece": run_sentencepiece, "train-sentencepiece": train_sentencepiece}[command](*args)
