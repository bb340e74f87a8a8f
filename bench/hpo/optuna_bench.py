#!/usr/bin/env python3
"""The hpo-bench/1 runner for Optuna (shared/bench/hpo-bench.md): one run, one JSON line.

Same command line and output object as vidflow-tune's `hpo_bench`, so both sides feed
compare.py line for line:

    optuna_bench.py --function NAME --sampler SAMPLER --trials N --seed S
                    [--report-at N1,N2,...] [--storage memory|sqlite:///PATH|journal:///PATH]
                    [--study-name NAME] [--resume]
    optuna_bench.py --self-test

Run it through bench/hpo/run, which makes the virtualenv with optuna 5.
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import sys
import time

PROBLEMS = ["sphere5", "rosenbrock4", "ackley5", "rastrigin3", "mixed4", "zdt1_5"]
SAMPLERS = ["tpe", "tpe-independent", "tpe-multivariate", "random", "nsga2"]
ACTS = ["relu", "tanh", "sigmoid", "linear"]
PEN = {"relu": 0.0, "tanh": 0.5, "sigmoid": 1.0, "linear": 2.0}
HV_REF = (1.1, 11.0)
HV_OPT = 12.1 - 1.0 / 3.0


def sphere(x):
    return sum(v * v for v in x)


def rosenbrock(x):
    return sum(100.0 * (x[i + 1] - x[i] ** 2) ** 2 + (1.0 - x[i]) ** 2 for i in range(len(x) - 1))


def ackley(x):
    d = len(x)
    s = sum(v * v for v in x) / d
    c = sum(math.cos(2 * math.pi * v) for v in x) / d
    return -20.0 * math.exp(-0.2 * math.sqrt(s)) - math.exp(c) + 20.0 + math.e


def rastrigin(x):
    return 10.0 * len(x) + sum(v * v - 10.0 * math.cos(2 * math.pi * v) for v in x)


def mixed(x, n, lr, act):
    return (x - 1.5) ** 2 + 0.1 * (n - 7) ** 2 + (math.log10(lr) + 3) ** 2 + PEN[act]


def zdt1(x):
    f1 = x[0]
    g = 1 + 9 * sum(x[1:]) / (len(x) - 1)
    return f1, g * (1 - math.sqrt(f1 / g))


FLOAT_PROBLEMS = {
    "sphere5": (5, -5.0, 5.0, sphere),
    "rosenbrock4": (4, -5.0, 10.0, rosenbrock),
    "ackley5": (5, -32.768, 32.768, ackley),
    "rastrigin3": (3, -5.12, 5.12, rastrigin),
}


def suggest(function, trial):
    """Suggests in protocol order; returns a thunk that evaluates the objective."""
    if function in FLOAT_PROBLEMS:
        d, lo, hi, f = FLOAT_PROBLEMS[function]
        x = [trial.suggest_float(f"x{i}", lo, hi) for i in range(d)]
        return lambda: f(x)
    if function == "mixed4":
        x = trial.suggest_float("x", -5.0, 5.0)
        n = trial.suggest_int("n", 1, 20)
        lr = trial.suggest_float("lr", 1e-5, 1e-1, log=True)
        act = trial.suggest_categorical("act", ACTS)
        return lambda: mixed(x, n, lr, act)
    x = [trial.suggest_float(f"x{i}", 0.0, 1.0) for i in range(5)]
    return lambda: zdt1(x)


def hypervolume_2d(points, ref=HV_REF):
    pts = sorted(p for p in points if p[0] < ref[0] and p[1] < ref[1])
    m = ref[1]
    hv = 0.0
    for f1, f2 in pts:
        if f2 < m:
            hv += (ref[0] - f1) * (m - f2)
            m = f2
    return hv


def make_sampler(optuna, name, seed):
    s = optuna.samplers
    if name == "tpe":
        return s.TPESampler(seed=seed)
    if name == "tpe-independent":
        return s.TPESampler(seed=seed, multivariate=False)
    if name == "tpe-multivariate":
        return s.TPESampler(seed=seed, multivariate=True)
    if name == "random":
        return s.RandomSampler(seed=seed)
    return s.NSGAIISampler(seed=seed)


def make_storage(optuna, spec):
    if spec == "memory":
        return None
    if spec.startswith("sqlite:///"):
        return optuna.storages.RDBStorage(spec)
    if spec.startswith("journal:///"):
        from optuna.storages.journal import JournalFileBackend

        return optuna.storages.JournalStorage(JournalFileBackend(spec[len("journal:///") :]))
    raise SystemExit(2)


def cpu_ms():
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return (ru.ru_utime + ru.ru_stime) * 1e3


def run(args):
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    multi = args.function == "zdt1_5"
    directions = ["minimize", "minimize"] if multi else ["minimize"]
    t_create = time.perf_counter()
    storage = make_storage(optuna, args.storage)
    sampler = make_sampler(optuna, args.sampler, args.seed)
    if args.resume:
        study = optuna.load_study(study_name=args.study_name, storage=storage, sampler=sampler)
    else:
        study = optuna.create_study(
            study_name=args.study_name if storage is not None else None,
            storage=storage,
            sampler=sampler,
            directions=directions,
            load_if_exists=storage is not None,
        )
    before = len(study.trials)
    create_ms = (time.perf_counter() - t_create) * 1e3

    report_at = sorted(set(args.report_at + [args.trials]))
    checkpoints = []
    values = []  # this run's objective values, in order
    params = []
    objective_s = 0.0
    start = time.perf_counter()
    cpu_start = cpu_ms()
    for i in range(1, args.trials + 1):
        trial = study.ask()
        evaluate = suggest(args.function, trial)
        t0 = time.perf_counter()
        v = evaluate()
        objective_s += time.perf_counter() - t0
        study.tell(trial, v)
        values.append(v)
        params.append(trial.params)
        if i in report_at:
            checkpoints.append(
                {
                    "trials": i,
                    "wall_ms": (time.perf_counter() - start) * 1e3,
                    "objective_ms": objective_s * 1e3,
                    "cpu_ms": cpu_ms() - cpu_start,
                }
            )

    def metric(n):
        if multi:
            return None, hypervolume_2d(values[:n])
        return min(values[:n]), None

    cps = []
    for c in checkpoints:
        best, hv = metric(c["trials"])
        n = c["trials"]
        cps.append(
            {
                "trials": n,
                "best_value": best,
                "hypervolume": hv,
                "wall_ms": c["wall_ms"],
                "objective_ms": c["objective_ms"],
                "overhead_ms_per_trial": (c["wall_ms"] - c["objective_ms"]) / n,
                "cpu_ms": c["cpu_ms"],
                "overhead_cpu_ms_per_trial": (c["cpu_ms"] - c["objective_ms"]) / n,
            }
        )
    last = cps[-1]
    best, hv = metric(args.trials)
    best_params = None if multi else params[min(range(len(values)), key=lambda i: values[i])]
    out = {
        "protocol": "hpo-bench/1",
        "impl": f"optuna-{optuna.__version__}",
        "function": args.function,
        "sampler": args.sampler,
        "trials": args.trials,
        "seed": args.seed,
        "storage": args.storage,
        "directions": directions,
        "n_complete": len(values),
        "best_value": best,
        "best_params": best_params,
        "hypervolume": hv,
        "hv_ref": list(HV_REF) if multi else None,
        "hv_gap": HV_OPT - hv if multi else None,
        "create_ms": create_ms,
        "wall_ms": last["wall_ms"],
        "objective_ms": last["objective_ms"],
        "overhead_ms_per_trial": last["overhead_ms_per_trial"],
        "cpu_ms": last["cpu_ms"],
        "overhead_cpu_ms_per_trial": last["overhead_cpu_ms_per_trial"],
        "study_name": args.study_name,
        "trials_in_study": len(study.trials),
        "trials_before": before,
    }
    if args.report_at:
        out["checkpoints"] = cps
    return out


def self_test():
    """The protocol's self test: test vectors, HV checks, v5 defaults, prefix rule."""
    import optuna
    from optuna._hypervolume import compute_hypervolume
    import numpy as np

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    ok = True

    def check(name, got, want, rel=1e-12):
        nonlocal ok
        good = all(
            abs(g - w) <= rel * max(1.0, abs(w)) for g, w in zip(np.atleast_1d(got), np.atleast_1d(want))
        )
        ok &= good
        print(f"{'ok  ' if good else 'FAIL'} {name}: {got} (want {want})", file=sys.stderr)

    check("sphere5 (1..5)", sphere([1, 2, 3, 4, 5]), 55)
    check("rosenbrock4 (-1,2,.5,-.5)", rosenbrock([-1, 2, 0.5, -0.5]), 1386.5)
    check("ackley5 (1,...)", ackley([1] * 5), 3.6253849384403627)
    check("ackley5 mixed", ackley([0.5, -1.5, 2, 3, -4]), 9.390454624512358)
    check("rastrigin3", rastrigin([0.5, -0.5, 2.5]), 66.75)
    check("mixed4 a", mixed(0, 1, 1e-5, "linear"), 11.85)
    check("mixed4 b", mixed(-2, 12, 0.05, "tanh"), 18.13649907563353)
    check("zdt1 b", zdt1([0.5] * 5), (0.5, 3.8416876048223))
    check("zdt1 c", zdt1([1] * 5), (1, 6.83772233983162))
    pts = [(0, 1), (0.25, 0.5), (1, 0)]
    check("hv 11.475", hypervolume_2d(pts), 11.475)
    check("hv vs optuna", hypervolume_2d(pts), compute_hypervolume(np.array(pts, float), np.array(HV_REF)))
    check("hv 6.3", hypervolume_2d([(0.5, 0.5), (0.6, 0.6), (2, 0)]), 6.3)

    def trajectory(function, sampler, n, seed=0):
        study = optuna.create_study(
            sampler=make_sampler(optuna, sampler, seed),
            directions=["minimize"] * (2 if function == "zdt1_5" else 1),
        )
        vals = []
        for _ in range(n):
            t = study.ask()
            v = suggest(function, t)()
            study.tell(t, v)
            vals.append(v)
        return vals

    same = trajectory("sphere5", "tpe", 40) == trajectory("sphere5", "tpe-multivariate", 40)
    ok &= same
    print(f"{'ok  ' if same else 'FAIL'} tpe == tpe-multivariate on sphere5", file=sys.stderr)
    for f, s in [("mixed4", "tpe"), ("mixed4", "tpe-independent"), ("mixed4", "random"), ("zdt1_5", "tpe"), ("zdt1_5", "nsga2")]:
        prefix = trajectory(f, s, 300)[:100] == trajectory(f, s, 100)
        ok &= prefix
        print(f"{'ok  ' if prefix else 'FAIL'} prefix rule {f} {s}", file=sys.stderr)
    return ok


def main():
    if "--self-test" in sys.argv:
        sys.exit(0 if self_test() else 1)
    p = argparse.ArgumentParser()
    p.add_argument("--function", required=True)
    p.add_argument("--sampler", required=True)
    p.add_argument("--trials", type=int, required=True)
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--report-at", default="")
    p.add_argument("--storage", default="memory")
    p.add_argument("--study-name", default="hpo-bench")
    p.add_argument("--resume", action="store_true")
    args = p.parse_args()
    if args.function not in PROBLEMS:
        print(f"unknown function {args.function!r}; one of: {' '.join(PROBLEMS)}", file=sys.stderr)
        sys.exit(2)
    if args.sampler not in SAMPLERS:
        print(f"unknown sampler {args.sampler!r}; one of: {' '.join(SAMPLERS)}", file=sys.stderr)
        sys.exit(2)
    if args.trials < 1:
        print("--trials must be at least 1", file=sys.stderr)
        sys.exit(2)
    args.report_at = [int(x) for x in args.report_at.split(",") if x]
    print(json.dumps(run(args)))


if __name__ == "__main__":
    main()
