"""Scores trafilatura on the snippet-annotated pages exactly as `vidflow bench snippets`
scores vidflow, so that the two sit side by side.

Usage: trafilatura_snippets.py TRAFILATURA_TESTS_DIR   (JSON on stdout)

The same pages (those of tests/evaldata.json whose file is not named by a 32-digit hex
hash: that is how the held-back article-extraction benchmark names its pages, and it stays
unseen), the same counting (a passage is present when it occurs in the text with whitespace
collapsed on both sides), and trafilatura's own evaluation settings (comments off, tables on,
formatting off), in its two modes: `fast` (its own algorithm) and `fallback` (also trying
readability-lxml and jusText and keeping the best).
"""

import json
import os
import re
import sys
import time
from importlib.metadata import version

from trafilatura import extract

HASHED = re.compile(r"^[0-9a-f]{32}\.html?$")


def collapse(text):
    return " ".join(text.split())


def main():
    tests = sys.argv[1]
    with open(os.path.join(tests, "evaldata.json"), encoding="utf-8") as f:
        evaldata = json.load(f)
    pages = []
    for url, item in sorted(evaldata.items()):
        name = item["file"]
        if HASHED.match(os.path.basename(name)):
            continue
        path = next(
            (p for p in (os.path.join(tests, d, name) for d in ("cache", "eval")) if os.path.isfile(p)),
            None,
        )
        if path is None:
            sys.exit(f"{url}: page file {name} is in neither tests/cache nor tests/eval")
        with open(path, "rb") as f:
            pages.append((item, f.read()))
    report = {"trafilatura": version("trafilatura"), "pages_scored": len(pages), "modes": {}}
    for mode, fast in (("fast", True), ("fallback", False)):
        tp = fp = fn = tn = 0
        started = time.perf_counter()
        for item, html in pages:
            try:
                text = extract(html, fast=fast, include_comments=False, include_tables=True,
                               include_formatting=False) or ""
            except Exception:  # a crash loses the page, as it would in production
                text = ""
            text = collapse(text)
            found = sum(collapse(s) in text for s in item["with"])
            kept = sum(collapse(s) in text for s in item["without"])
            tp, fn = tp + found, fn + len(item["with"]) - found
            fp, tn = fp + kept, tn + len(item["without"]) - kept
        precision, recall = tp / max(tp + fp, 1), tp / max(tp + fn, 1)
        report["modes"][mode] = {
            "counts": {"tp": tp, "fp": fp, "fn": fn, "tn": tn},
            "precision": precision,
            "recall": recall,
            "f1": 2 * precision * recall / max(precision + recall, 1e-12),
            "ms_per_page": (time.perf_counter() - started) * 1e3 / max(len(pages), 1),
        }
    json.dump(report, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
