#!/usr/bin/env python3
"""Compares hpo-bench/1 runs of two implementations (shared/bench/hpo-bench.md section 5).

    compare.py quality A.jsonl B.jsonl   # per cell: medians, quartiles, one-sided Mann-Whitney U
    compare.py overhead RUNS.jsonl...    # per (impl, function, sampler, storage): time per trial

Quality: a cell is (function, sampler, N) with N taken from each run's checkpoints (the prefix
rule). The metric is best_value (lower is better) or hypervolume for zdt1_5 (higher is
better). For each cell the test asks whether A is worse than B, and separately whether A is
better, with the exact one-sided Mann-Whitney U test (normal approximation with a tie
correction when values tie); "worse" and "better" need p < 0.01. No dependencies beyond the
standard library.
"""

from __future__ import annotations

import json
import math
import sys
from collections import defaultdict
from functools import lru_cache

ALPHA = 0.01


def load(path):
    runs = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line:
                runs.append(json.loads(line))
    return runs


def quantile(xs, q):
    """numpy's default (Hyndman-Fan type 7) quantile."""
    xs = sorted(xs)
    pos = q * (len(xs) - 1)
    lo, hi = math.floor(pos), math.ceil(pos)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def cells(runs):
    """(function, sampler, N) -> {seed: metric}, from every checkpoint of every run."""
    out = defaultdict(dict)
    for r in runs:
        multi = r["function"] == "zdt1_5"
        cps = r.get("checkpoints") or [
            {"trials": r["trials"], "best_value": r["best_value"], "hypervolume": r["hypervolume"]}
        ]
        for c in cps:
            v = c["hypervolume"] if multi else c["best_value"]
            out[(r["function"], r["sampler"], c["trials"])][r["seed"]] = v
    return out


@lru_cache(maxsize=None)
def _u_counts(n1, n2):
    """Number of orderings of n1 + n2 distinct values giving each U (for sample 1)."""
    if n1 == 0 or n2 == 0:
        return (1,)
    a = _u_counts(n1 - 1, n2)  # the largest value is from sample 2: U unchanged
    b = _u_counts(n1, n2 - 1)  # ... from sample 1: it beats all n2 values
    size = n1 * n2 + 1
    out = [0] * size
    for u, c in enumerate(b):
        out[u] += c
    for u, c in enumerate(a):
        out[u + n2] += c
    return tuple(out)


def mann_whitney_greater(x, y):
    """One-sided p-value for H1: values of x tend to be larger than values of y."""
    n1, n2 = len(x), len(y)
    u = sum((1.0 if a > b else 0.5 if a == b else 0.0) for a in x for b in y)
    values = x + y
    ties = len(set(values)) < len(values)
    if not ties:
        counts = _u_counts(n1, n2)
        total = sum(counts)
        return sum(counts[int(math.ceil(u)) :]) / total
    n = n1 + n2
    tie_sizes = defaultdict(int)
    for v in values:
        tie_sizes[v] += 1
    tie_term = sum(t**3 - t for t in tie_sizes.values()) / (n * (n - 1))
    sigma = math.sqrt(n1 * n2 / 12.0 * ((n + 1) - tie_term))
    if sigma == 0:
        return 1.0
    z = (u - n1 * n2 / 2.0 - 0.5) / sigma
    return 0.5 * math.erfc(z / math.sqrt(2))


def fmt(v):
    if v is None:
        return "-"
    if v == 0 or 1e-3 <= abs(v) < 1e4:
        return f"{v:.4g}"
    return f"{v:.3e}"


def quality(a_path, b_path):
    a_runs, b_runs = load(a_path), load(b_path)
    a_name = a_runs[0]["impl"] if a_runs else a_path
    b_name = b_runs[0]["impl"] if b_runs else b_path
    a, b = cells(a_runs), cells(b_runs)
    print(f"A = {a_name}, B = {b_name}; metric: best_value (lower is better), "
          f"hypervolume for zdt1_5 (higher is better); p: one-sided Mann-Whitney U\n")
    print("| function | sampler | N | A median [q25, q75] | B median [q25, q75] "
          "| p(A worse) | p(A better) | verdict |")
    print("|---|---|---|---|---|---|---|---|")
    n_worse = 0
    for key in sorted(set(a) & set(b), key=lambda k: (k[0], k[1], k[2])):
        function, sampler, n = key
        seeds = sorted(set(a[key]) & set(b[key]))
        xa = [a[key][s] for s in seeds]
        xb = [b[key][s] for s in seeds]
        higher_better = function == "zdt1_5"
        if higher_better:
            p_worse = mann_whitney_greater([-v for v in xa], [-v for v in xb])
            p_better = mann_whitney_greater(xa, xb)
        else:
            p_worse = mann_whitney_greater(xa, xb)
            p_better = mann_whitney_greater(xb, xa)
        verdict = "worse" if p_worse < ALPHA else "better" if p_better < ALPHA else "same"
        n_worse += verdict == "worse"
        q = lambda xs: f"{fmt(quantile(xs, 0.5))} [{fmt(quantile(xs, 0.25))}, {fmt(quantile(xs, 0.75))}]"
        print(f"| {function} | {sampler} | {n} | {q(xa)} | {q(xb)} | {p_worse:.4f} | "
              f"{p_better:.4f} | {verdict} (n={len(seeds)}) |")
    print(f"\ncells where A is worse at p < {ALPHA}: {n_worse}")


def storage_kind(r):
    s = r["storage"]
    if s == "memory":
        kind = "memory"
    elif s.startswith("sqlite:////dev/shm/"):
        kind = "sqlite tmpfs"
    elif s.startswith("sqlite:"):
        kind = "sqlite disk"
    else:
        kind = s.split(":", 1)[0]
    if r.get("trials_before"):
        kind += f" (resumed after {r['trials_before']})"
    return kind


def overhead(paths):
    rows = defaultdict(list)
    for p in paths:
        for r in load(p):
            key = (r["impl"], r["function"], r["sampler"], storage_kind(r), r["trials"])
            rows[key].append(r)
    print("| impl | function | sampler | storage | N | median wall ms | median overhead ms/trial "
          "| median CPU overhead ms/trial | marginal ms/trial | median create (or load) ms | runs |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for key in sorted(rows):
        runs = rows[key]
        by_n = defaultdict(list)
        for r in runs:
            for c in r.get("checkpoints") or [r]:
                by_n[c["trials"]].append(c)
        prev = None
        for n in sorted(by_n):
            cs = by_n[n]
            wall = quantile([c["wall_ms"] for c in cs], 0.5)
            ov = quantile([c["overhead_ms_per_trial"] for c in cs], 0.5)
            cpu = [c.get("overhead_cpu_ms_per_trial") for c in cs]
            cpu = quantile(cpu, 0.5) if all(v is not None for v in cpu) else None
            marginal = "-" if prev is None else fmt((wall - prev[1]) / (n - prev[0]))
            create = quantile([r["create_ms"] for r in runs], 0.5)
            where = f"{n}" if n == key[4] else f"{n} of {key[4]}"
            print(f"| {key[0]} | {key[1]} | {key[2]} | {key[3]} | {where} | {fmt(wall)} | {fmt(ov)} | "
                  f"{fmt(cpu)} | {marginal} | {fmt(create)} | {len(cs)} |")
            prev = (n, wall)


def main():
    if len(sys.argv) >= 4 and sys.argv[1] == "quality":
        quality(sys.argv[2], sys.argv[3])
    elif len(sys.argv) >= 3 and sys.argv[1] == "overhead":
        overhead(sys.argv[2:])
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
