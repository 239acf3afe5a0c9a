#!/usr/bin/env python3
"""Build the bundled demo XC dataset from the manual pages installed on this machine.

A manual page is a point: its text is "name: one-line description. first description sentences".
The pages it lists under SEE ALSO are its labels (an analogue of LF-WikiSeeAlso), and a label's text
is the referenced page's "name: one-line description". The output follows the XC repository / NGAME
layout (trn/tst/lbl.json.gz, trn_X_Y.txt, tst_X_Y.txt, filter_labels_*.txt) plus the complete train
matrix trn_X_Y_full.txt, of which trn_X_Y.txt is a copy with simulated missing labels.

Only the Python standard library is used, and every choice is sorted or seeded, so a re-run on a
machine with the same manual pages writes byte-identical files.

    python3 tools/make_demo_dataset.py [--out artifacts/datasets/demo] [--seed 2025]
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import os
import random
import re
import sys
import unicodedata
from dataclasses import dataclass, field

SECTIONS = ("1", "2", "3", "4", "5", "6", "7", "8")
MAX_TEXT_CHARS = 400
MAX_SUMMARY_CHARS = 160  # a few NAME sections run on into the page; keep the one-line part
MIN_LABEL_POINTS = 2
TRAIN_FRACTION = 0.75

# Named roff glyphs that carry meaning in running text; every other \(xx or \[name] is dropped.
GLYPHS = {
    "em": "-", "en": "-", "hy": "-", "mi": "-", "aq": "'", "dq": '"', "lq": '"', "rq": '"',
    "oq": "'", "cq": "'", "bu": "*", "co": "(c)", "rg": "(R)", "tm": "(TM)", "ga": "`",
    "ti": "~", "ha": "^", "rs": "\\", "sl": "/", "ba": "|", "br": "|", "lh": "", "rh": "",
    "Fo": "<<", "Fc": ">>", "fo": "<", "fc": ">", "mu": "x", "de": " degrees", "+-": "+/-",
    "<=": "<=", ">=": ">=", "!=": "!=", "->": "->", "<-": "<-", "ua": "^", "da": "v",
}
# Predefined strings (\*(lq and friends) used by common man page preambles.
STRINGS = {"lq": '"', "rq": '"', "Aq": "'", "L\"": '"', "R\"": '"', "Tm": "(TM)", "R": "(R)", "C'": "'", "C`": "`"}
# Typographic characters mapped to ASCII so that every text survives NGAME's latin-1 writer.
TYPOGRAPHY = str.maketrans({
    "\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u2013": "-", "\u2014": "-",
    "\u2010": "-", "\u2011": "-", "\u2212": "-", "\u2026": "...", "\u00a0": " ", "\u2022": "*",
})
FONT_MACROS = {"B", "I", "BR", "RB", "IR", "RI", "BI", "IB", "SM", "SB", "R"}
# mdoc macros whose arguments are running text.
MDOC_TEXT_MACROS = {
    "Nm", "Ar", "Fl", "Cm", "Pa", "Ev", "Em", "Sy", "Li", "Dq", "Qq", "Sq", "Ql", "Pq", "Va", "Fn",
    "Fa", "Ft", "Dv", "Er", "Ic", "Xr", "Tn", "Ux", "Bx", "At", "Nx", "Fx", "Ox", "Dx", "Lk", "Mt",
    "Ms", "Ad", "Aq", "Op", "No", "Ns", "Ql", "Xo", "Xc", "Pp", "Lp", "It", "St",
}
MDOC_PUNCTUATION = re.compile(r"\s+([.,;:)\]!?])(?=\s|$)")
REFERENCE = re.compile(r"([A-Za-z0-9_][A-Za-z0-9_.:+@-]*)\s*\(([1-9][A-Za-z0-9]*)\)")


@dataclass
class Page:
    """One parsed manual page."""

    uid: str  # "name(section)", e.g. "ls(1)"
    path: str
    name: str = ""
    summary: str = ""  # the NAME line's one-line description
    description: str = ""  # first description sentences
    references: list[tuple[str, str]] = field(default_factory=list)  # (name, section) from SEE ALSO
    alias_of: str | None = None  # target of a ".so" page (a file path) or of a symbolic link (a uid)

    @property
    def label_text(self) -> str:
        return f"{self.name}: {self.summary}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--man-root", default="/usr/share/man", help="manual page root (default: %(default)s)")
    parser.add_argument("--out", default=os.path.join(repository_root(), "artifacts", "datasets", "demo"),
                        help="output folder (default: artifacts/datasets/demo)")
    parser.add_argument("--seed", type=int, default=2025, help="seed of the split and of the dropped labels (default: %(default)s)")
    args = parser.parse_args()

    pages = read_pages(args.man_root)
    dataset = build_dataset(pages, args.seed)
    dataset["packages"] = owning_packages([pages[uid].path for uid in dataset["all_uids"]])
    write_dataset(dataset, args.out, args.man_root, args.seed)
    for key, value in dataset["stats"].items():
        print(f"{key}: {value}")
    return 0


def repository_root() -> str:
    return os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# ---------------------------------------------------------------------------------------------------
# Reading manual pages


def read_pages(man_root: str) -> dict[str, Page]:
    """Parses every page of the chosen sections; keys are uids such as "ls(1)"."""
    files: list[tuple[str, str]] = []  # (uid, path)
    for section in SECTIONS:
        folder = os.path.join(man_root, f"man{section}")
        if not os.path.isdir(folder):
            continue
        for file_name in sorted(os.listdir(folder)):
            if not file_name.endswith(".gz"):
                continue
            name, dot, suffix = file_name[:-3].rpartition(".")
            if dot and suffix.startswith(section):
                files.append((f"{name}({suffix})", os.path.join(folder, file_name)))
    # A symbolic link (zstdmt.1.gz -> zstd.1.gz, or one through /etc/alternatives) is an alias of
    # the page it points at, not a page of its own.
    real_uid = {path: uid for uid, path in files if not os.path.islink(path)}
    pages: dict[str, Page] = {}
    for uid, path in files:
        page = Page(uid=uid, path=path)
        target = real_uid.get(os.path.realpath(path)) if os.path.islink(path) else None
        if target is not None:
            page.alias_of = target
        else:
            try:
                parse_page(page, read_text(path))
            except (OSError, EOFError, gzip.BadGzipFile):
                continue
        pages[uid] = page
    return pages


def read_text(path: str) -> str:
    with gzip.open(path, "rb") as f:
        raw = f.read()
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def parse_page(page: Page, text: str) -> None:
    """Fills the NAME, DESCRIPTION and SEE ALSO parts of a man(7) or mdoc(7) page."""
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    in_definition = False
    for line in text.splitlines():
        if in_definition:
            in_definition = not line.startswith("..")
            continue
        if line.startswith((".de ", ".de1 ", ".am ")):
            in_definition = True
            continue
        if line.startswith(('.\\"', "'\\\"", '.\\#')) or line.strip() == ".":
            continue
        if line.startswith(".so ") and page.alias_of is None:
            page.alias_of = line[4:].strip()
        match = re.match(r"^[.']\s*(SH|Sh)\s*(.*)$", line)
        if match:
            title = strip_escapes(match.group(2)).strip().strip('"').strip().upper()
            title = re.sub(r"\s+", " ", title)
            current = sections.setdefault(title, []) if title not in sections else None
            continue
        if current is not None:
            current.append(line)

    name_lines = sections.get("NAME") or sections.get("NAME:")
    if name_lines:
        parse_name(page, name_lines)
    description = sections.get("DESCRIPTION")
    if description:
        page.description = first_sentences(description)
    see_also = sections.get("SEE ALSO")
    if see_also:
        page.references = parse_references(see_also)


def parse_name(page: Page, lines: list[str]) -> None:
    mdoc_names = [strip_escapes(l[4:]).strip() for l in lines if l.startswith(".Nm ")]
    mdoc_summary = [strip_escapes(l[4:]).strip() for l in lines if l.startswith(".Nd ")]
    if mdoc_summary:
        names = [n.rstrip(" ,") for n in mdoc_names if n]
        page.name = names[0] if names else page.uid.rsplit("(", 1)[0]
        page.summary = trim(clean(" ".join(mdoc_summary)), MAX_SUMMARY_CHARS)
        return
    text = clean(" ".join(roff_text(l) for l in lines))
    head, sep, summary = text.partition(" - ")
    if not sep:
        head, sep, summary = text.partition(" -- ")
    if not sep or not summary.strip():
        return
    names = [n.strip() for n in head.split(",") if n.strip()]
    own = page.uid.rsplit("(", 1)[0]
    page.name = own if own in names or not names else names[0]
    page.summary = trim(summary.strip().rstrip("."), MAX_SUMMARY_CHARS)


def first_sentences(lines: list[str]) -> str:
    """Joins the opening paragraphs of DESCRIPTION (up to about MAX_TEXT_CHARS) as plain text."""
    words: list[str] = []
    length = 0
    for line in lines:
        if re.match(r"^[.'](TP|IP|TQ|Bl|It|nf|EX|Bd|SS|Ss)\b", line) and length > 0:
            break  # lists, examples and sub-sections are not running prose
        text = roff_text(line)
        if text:
            words.append(text)
            length += len(text) + 1
        if length >= MAX_TEXT_CHARS:
            break
    return clean(" ".join(words))


def parse_references(lines: list[str]) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for line in lines:
        if line.startswith(".Xr "):
            parts = line[4:].split()
            if len(parts) >= 2 and re.fullmatch(r"[1-9][A-Za-z0-9]*", parts[1]):
                found.append((strip_escapes(parts[0]), parts[1]))
            continue
        text = strip_escapes(re.sub(r"^[.'](BR|RB|IR|RI|BI|IB|B|I)\s+", "", line)).replace('"', "")
        found.extend((m.group(1), m.group(2)) for m in REFERENCE.finditer(text))
    return found


def roff_text(line: str) -> str:
    """The readable text of one roff input line ("" for requests that carry none)."""
    if line.startswith((".", "'")):
        match = re.match(r"^[.']\s*([A-Za-z0-9]+)\s*(.*)$", line)
        if not match:
            return ""
        macro, rest = match.group(1), match.group(2)
        if macro in FONT_MACROS:
            arguments = split_arguments(rest)
            # Alternating-font macros (.BR a b) glue their arguments together.
            joined = "".join(arguments) if len(macro) == 2 and macro not in ("SM", "SB") else " ".join(arguments)
            return strip_escapes(joined)
        if macro in MDOC_TEXT_MACROS:
            text = " ".join(a for a in split_arguments(rest) if a not in MDOC_TEXT_MACROS)
            return MDOC_PUNCTUATION.sub(r"\1", strip_escapes(text))
        return ""
    return strip_escapes(line)


def split_arguments(rest: str) -> list[str]:
    return [a[1:-1] if len(a) >= 2 and a[0] == a[-1] == '"' else a for a in re.findall(r'"[^"]*"|\S+', rest)]


ESCAPE = re.compile(
    r"""\\(?:
        "(?P<comment>.*)$                      # comment to end of line
      | f(?:\[[^\]]*\]|\(..|.)                 # font change
      | s[-+]?(?:\d|\(\d\d|\[\d+\])            # size change
      | \((?P<glyph2>..)                       # two-letter glyph
      | \[(?P<glyph>[^\]]*)\]                  # named glyph
      | \*(?:\((?P<str2>..)|\[(?P<strn>[^\]]*)\]|(?P<str1>.))   # predefined string
      | n(?:\(..|\[[^\]]*\]|.)                 # number register
      | [hvwlLoDbxNXZ]'[^']*'                  # motions, widths, drawing
      | (?P<char>.)                            # one-character escapes
    )""",
    re.VERBOSE,
)
ONE_CHAR = {"-": "-", "e": "\\", "\\": "\\", " ": " ", "~": " ", "0": " ", "'": "'", "`": "`", ".": ".",
            "t": " ", "_": "_"}


def strip_escapes(text: str) -> str:
    def replace(m: re.Match[str]) -> str:
        if m.group("comment") is not None:
            return ""
        if m.group("glyph2") is not None:
            return GLYPHS.get(m.group("glyph2"), "")
        if m.group("glyph") is not None:
            name = m.group("glyph")
            if name.startswith("u") and re.fullmatch(r"u[0-9A-Fa-f]{4,6}", name):
                return chr(int(name[1:], 16))
            return GLYPHS.get(name, "")
        for key in ("str2", "strn", "str1"):
            if m.group(key) is not None:
                return STRINGS.get(m.group(key), "")
        char = m.group("char")
        if char is not None:
            return ONE_CHAR.get(char, "")
        return ""

    return ESCAPE.sub(replace, text)


def clean(text: str) -> str:
    """Plain single-spaced Latin-1 text."""
    text = unicodedata.normalize("NFC", text.translate(TYPOGRAPHY))
    text = "".join(c if c.isprintable() and ord(c) < 256 else " " for c in text)
    return re.sub(r"\s+", " ", text).strip()


# ---------------------------------------------------------------------------------------------------
# Building the dataset


def build_dataset(pages: dict[str, Page], seed: int) -> dict:
    # Index the pages that have a NAME description by (name, section) and by (name, section digit),
    # so "openssl(1)" finds openssl.1ssl; an alias page (".so man1/x.1") resolves to its target.
    by_exact: dict[tuple[str, str], str] = {}
    by_digit: dict[tuple[str, str], str] = {}
    for uid in sorted(pages):
        page = pages[uid]
        name, section = uid[:-1].rsplit("(", 1)
        target = uid
        if not page.summary and page.alias_of:
            if page.alias_of.endswith(")"):
                target = page.alias_of
            else:
                alias = os.path.basename(page.alias_of)
                alias = alias[:-3] if alias.endswith(".gz") else alias
                alias_name, _, alias_section = alias.rpartition(".")
                target = f"{alias_name}({alias_section})"
        by_exact[(name, section)] = target
        by_digit.setdefault((name, section[0]), target)

    def resolve(name: str, section: str) -> str | None:
        target = by_exact.get((name, section)) or by_digit.get((name, section[0]))
        if target is None or target not in pages or not pages[target].summary:
            return None
        return target

    candidates: dict[str, list[str]] = {}
    self_citations = 0
    for uid in sorted(pages):
        page = pages[uid]
        if not page.summary:
            continue
        targets: set[str] = set()
        for name, section in page.references:
            target = resolve(name, section)
            if target is None:
                continue
            if target == uid:
                self_citations += 1
                continue
            targets.add(target)
        if targets:
            candidates[uid] = sorted(targets)

    frequency: dict[str, int] = {}
    for targets in candidates.values():
        for target in targets:
            frequency[target] = frequency.get(target, 0) + 1
    label_uids = sorted(t for t, n in frequency.items() if n >= MIN_LABEL_POINTS)
    label_id = {uid: i for i, uid in enumerate(label_uids)}
    point_labels = {uid: [label_id[t] for t in targets if t in label_id] for uid, targets in candidates.items()}
    point_uids = sorted(uid for uid, labels in point_labels.items() if labels)

    rng = random.Random(seed)
    shuffled = list(point_uids)
    rng.shuffle(shuffled)
    cut = round(len(shuffled) * TRAIN_FRACTION)
    train_uids, test_uids = sorted(shuffled[:cut]), sorted(shuffled[cut:])

    train_full = [point_labels[uid] for uid in train_uids]
    test_rows = [point_labels[uid] for uid in test_uids]
    train_observed, dropped = simulate_missing(train_full, len(label_uids), random.Random(seed + 1))

    def filters(uids: list[str]) -> list[tuple[int, int]]:
        return [(i, label_id[uid]) for i, uid in enumerate(uids) if uid in label_id]

    train_frequency = [0] * len(label_uids)
    for row in train_full:
        for j in row:
            train_frequency[j] += 1
    stats = {
        "points": len(point_uids),
        "train points": len(train_uids),
        "test points": len(test_uids),
        "labels": len(label_uids),
        "train non-zeros (full)": sum(map(len, train_full)),
        "train non-zeros (observed)": sum(map(len, train_observed)),
        "dropped train pairs": dropped,
        "train points left without labels": sum(1 for row in train_observed if not row),
        "test non-zeros": sum(map(len, test_rows)),
        "labels without train points": sum(1 for n in train_frequency if n == 0),
        "most frequent label": f"{label_uids[max(range(len(label_uids)), key=lambda j: (frequency[label_uids[j]], -j))]} "
                               f"({max(frequency[u] for u in label_uids)} points)",
        "self-citations removed": self_citations,
        "pages read": len(pages),
    }
    return {
        "pages": pages,
        "label_uids": label_uids,
        "train_uids": train_uids,
        "test_uids": test_uids,
        "all_uids": sorted(set(point_uids) | set(label_uids)),
        "train_full": train_full,
        "train_observed": train_observed,
        "test_rows": test_rows,
        "filter_train": filters(train_uids),
        "filter_test": filters(test_uids),
        "label_frequency": [frequency[u] for u in label_uids],
        "stats": stats,
    }


def simulate_missing(rows: list[list[int]], labels: int, rng: random.Random) -> tuple[list[list[int]], int]:
    """Drops each (point, label) pair with p = 0.2 + 0.5 * (1 - percentile of the label's train frequency).

    Tail labels are observed less often, as in real click or tagging logs. Labels of equal frequency
    share their mid-rank percentile, so the drop rate depends on the frequency alone.
    """
    counts = [0] * labels
    for row in rows:
        for j in row:
            counts[j] += 1
    ordered = sorted(counts)
    first_at: dict[int, int] = {}
    last_at: dict[int, int] = {}
    for position, count in enumerate(ordered):
        first_at.setdefault(count, position)
        last_at[count] = position
    denominator = max(labels - 1, 1)
    drop = [0.2 + 0.5 * (1 - (first_at[c] + last_at[c]) / 2 / denominator) for c in counts]
    observed: list[list[int]] = []
    dropped = 0
    for row in rows:
        kept = []
        for j in row:
            if rng.random() < drop[j]:
                dropped += 1
            else:
                kept.append(j)
        observed.append(kept)
    return observed, dropped


def owning_packages(paths: list[str]) -> dict[str, str]:
    """Maps each manual page path to the Debian package that installed it (from dpkg's file lists)."""
    # A page reached through a symbolic link belongs to the package of the file it points at.
    wanted = {path: path for path in paths}
    wanted.update({os.path.realpath(path): path for path in paths if os.path.islink(path)})
    owner: dict[str, str] = {}
    info = "/var/lib/dpkg/info"
    if not os.path.isdir(info):
        return owner
    for file_name in sorted(os.listdir(info)):
        if not file_name.endswith(".list"):
            continue
        package = file_name[:-5].split(":", 1)[0]
        with open(os.path.join(info, file_name), encoding="utf-8", errors="replace") as f:
            for line in f:
                page = wanted.get(line.rstrip("\n"))
                if page is not None:
                    owner.setdefault(page, package)
    return owner


# ---------------------------------------------------------------------------------------------------
# Writing


def point_record(page: Page, labels: list[int]) -> dict:
    title = page.label_text
    room = MAX_TEXT_CHARS - len(title) - 2
    content = trim(page.description, room) if room > 0 else ""
    return {"uid": page.uid, "title": title, "content": content, "target_ind": labels, "target_rel": [1.0] * len(labels)}


def trim(text: str, limit: int) -> str:
    """Cuts at a sentence end when one lies past half the limit, else at a word boundary."""
    if len(text) <= limit:
        return text
    cut = text[:limit]
    sentence = max(cut.rfind(". "), cut.rfind("; "))
    if sentence >= limit // 2:
        return cut[: sentence + 1]
    space = cut.rfind(" ")
    return (cut[:space] if space > 0 else cut).rstrip(",;:") + " ..."


def jsonl_gz(records: list[dict]) -> bytes:
    buffer = io.BytesIO()
    # mtime=0 and no file name in the header keep the bytes identical from run to run.
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, compresslevel=9, mtime=0) as f:
        for record in records:
            f.write((json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8"))
    return buffer.getvalue()


def xc_sparse_text(rows: list[list[int]], columns: int) -> bytes:
    """pyxclib's write_sparse_file: header "N L", then sorted "idx:1.0" tokens, one line per row."""
    lines = [f"{len(rows)} {columns}"]
    lines.extend(" ".join(f"{j}:1.0" for j in sorted(set(row))) for row in rows)
    return ("\n".join(lines) + "\n").encode("ascii")


def pairs_text(pairs: list[tuple[int, int]]) -> bytes:
    return "".join(f"{i} {j}\n" for i, j in sorted(pairs)).encode("ascii")


def write_dataset(dataset: dict, out: str, man_root: str, seed: int) -> None:
    pages: dict[str, Page] = dataset["pages"]
    labels = len(dataset["label_uids"])
    files = {
        "trn.json.gz": jsonl_gz([point_record(pages[u], r) for u, r in zip(dataset["train_uids"], dataset["train_full"])]),
        "tst.json.gz": jsonl_gz([point_record(pages[u], r) for u, r in zip(dataset["test_uids"], dataset["test_rows"])]),
        "lbl.json.gz": jsonl_gz([{"uid": u, "title": pages[u].label_text, "content": ""} for u in dataset["label_uids"]]),
        "trn_X_Y_full.txt": xc_sparse_text(dataset["train_full"], labels),
        "trn_X_Y.txt": xc_sparse_text(dataset["train_observed"], labels),
        "tst_X_Y.txt": xc_sparse_text(dataset["test_rows"], labels),
        "filter_labels_train.txt": pairs_text(dataset["filter_train"]),
        "filter_labels_test.txt": pairs_text(dataset["filter_test"]),
        "sources.tsv": sources_tsv(dataset, man_root),
    }
    files["README.md"] = readme(dataset, files, seed).encode("utf-8")
    os.makedirs(out, exist_ok=True)
    for name, data in files.items():
        # Temporary name + rename: an interrupted run never leaves a torn file behind.
        temp = os.path.join(out, f".{name}.tmp")
        with open(temp, "wb") as f:
            f.write(data)
        os.replace(temp, os.path.join(out, name))


def sources_tsv(dataset: dict, man_root: str) -> bytes:
    pages: dict[str, Page] = dataset["pages"]
    packages: dict[str, str] = dataset["packages"]
    lines = ["uid\tpage\tpackage"]
    for uid in dataset["all_uids"]:
        path = pages[uid].path
        lines.append(f"{uid}\t{os.path.relpath(path, man_root)}\t{packages.get(path, 'unknown')}")
    return ("\n".join(lines) + "\n").encode("utf-8")


def readme(dataset: dict, files: dict[str, bytes], seed: int) -> str:
    stats = dataset["stats"]
    pages: dict[str, Page] = dataset["pages"]
    packages: dict[str, str] = dataset["packages"]
    per_package: dict[str, int] = {}
    for uid in dataset["all_uids"]:
        package = packages.get(pages[uid].path, "unknown")
        per_package[package] = per_package.get(package, 0) + 1
    top = sorted(per_package.items(), key=lambda kv: (-kv[1], kv[0]))[:12]
    frequency = sorted(dataset["label_frequency"], reverse=True)
    deciles = [frequency[min(len(frequency) - 1, (len(frequency) * d) // 10)] for d in range(10)]
    total_bytes = sum(len(b) for b in files.values())
    stat_rows = "\n".join(f"| {k} | {v} |" for k, v in stats.items())
    size_rows = "\n".join(f"| `{name}` | {len(data):,} |" for name, data in files.items())
    package_rows = ", ".join(f"{p} ({n})" for p, n in top)
    return f"""# demo: a small XC dataset built from manual pages

A real-text extreme multi-label dataset small enough to commit (about {total_bytes / 1e6:.1f} MB), for
demos, tests and the CPU pipeline. It is an analogue of LF-WikiSeeAlso: each **point** is a manual
page (its text is "name: one-line description. first sentences of DESCRIPTION", at most
{MAX_TEXT_CHARS} characters) and its **labels** are the pages it lists under SEE ALSO; a label's text is
the referenced page's "name: one-line description". Labels referenced by fewer than {MIN_LABEL_POINTS}
points are dropped, then points left without labels. uids are page names with their section,
e.g. `ls(1)`.

## How it was built

    python3 tools/make_demo_dataset.py

The script uses only the Python standard library and reads the gzipped roff sources of the manual
pages in sections {", ".join(SECTIONS)} under `/usr/share/man` (man(7) and mdoc(7) macros). Library
and system-call pages (sections 2 and 3) are included because commands cite them often and the
other sections alone give too few points. `.so` alias pages and symbolic links resolve to the page
they name, so each page appears once. Everything is sorted or seeded (seed {seed}), and gzip members carry
no time stamp, so a re-run on a machine with the same pages writes identical bytes. Another machine
with other packages installed gives a different, equally valid dataset.

The train/test split is {TRAIN_FRACTION:.0%}/{1 - TRAIN_FRACTION:.0%} by point (seeded shuffle, each
split then sorted by uid). `trn_X_Y_full.txt` is the complete train matrix; `trn_X_Y.txt` is the
same matrix with **simulated missing labels**: each train pair is dropped with probability
`0.2 + 0.5 * (1 - p)`, where `p` is the percentile of the label's train frequency (mid-rank for
ties), so tail labels lose about 70% of their pairs and head labels about 20%. Points may be
left without labels, as in real click logs. `tst_X_Y.txt` is complete.

`filter_labels_train.txt` / `filter_labels_test.txt` list the `point label` pairs where the
point's own page is also a label (XC datasets remove such reciprocal pairs from predictions before
scoring). Pages that cite themselves under SEE ALSO are not counted as labels of themselves.

## Counts

| quantity | value |
| --- | --- |
{stat_rows}

Label frequencies (points per label, all splits) are heavy-tailed; the value at the start of each
decile of labels sorted by frequency: {", ".join(map(str, deciles))}.

## Files (XC repository / NGAME layout, docs/xc-formats-and-metrics.md §1 and §4)

| file | bytes |
| --- | --- |
{size_rows}

- `trn.json.gz`, `tst.json.gz`: one JSON object per line with `uid`, `title`, `content`,
  `target_ind` (0-based label ids, complete) and `target_rel` (all 1.0). `lbl.json.gz`: `uid`,
  `title`, `content` (empty) per label, in label-id order.
- `*_X_Y*.txt`: header `rows labels`, then one line per point of sorted `label:1.0` tokens (an
  empty line for a point without labels).
- `sources.tsv`: for each point and label, its manual page file and the Debian package that
  installed it.

## Where the text comes from, and its licence

The texts are short extracts (the NAME line and the opening sentences of DESCRIPTION) of the manual
pages of the Debian packages installed on the machine that built the dataset. Each page remains
under the licence of its package, stated in `/usr/share/doc/<package>/copyright` on a Debian
system; these are mostly the GPL, LGPL, BSD, MIT-style and other free licences. `sources.tsv` names
the package of every page. The dataset keeps only short extracts, for research and testing of XC
methods; it is not a substitute for the pages themselves. Packages contributing the most pages:
{package_rows}.
"""


if __name__ == "__main__":
    sys.exit(main())
