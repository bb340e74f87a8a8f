"""Checks Grafana dashboard JSON against Grafana's schema types (grafana-foundation-sdk).

Run through scripts/check-dashboard, which provides the SDK. The SDK's decoders are lenient
(unknown keys are dropped, values are not type-checked), so this does what Grafana's own
validation would: decodes the dashboard with the SDK's generated models, then

* re-encodes it and reports every key the models dropped (a misspelt or unknown field),
* checks every decoded value against the model's type annotations (enums, literals,
  numbers, strings, lists, nested models),
* refuses panel types and query types the SDK does not know (they would decode as opaque
  bags and escape the checks above), duplicate panel ids and panels wider than the grid.

Prints one line per problem and exits 1 if there is any; prints a summary and exits 0 if not.
"""

import enum
import json
import pathlib
import sys
import types
import typing

from grafana_foundation_sdk.cog import encoder, plugins, runtime
from grafana_foundation_sdk.models import dashboard as dash_models

GRID_WIDTH = 24


def encode(obj):
    return json.loads(json.dumps(obj, cls=encoder.JSONEncoder))


def dropped(original, encoded, path, problems):
    """Keys and values of `original` that did not survive decoding and re-encoding."""
    if isinstance(original, dict):
        if not isinstance(encoded, dict):
            problems.append(f"{path}: decoded as {type(encoded).__name__}, not an object")
            return
        for key, value in original.items():
            if key not in encoded:
                problems.append(f"{path}.{key}: not a field of Grafana's schema here")
            else:
                dropped(value, encoded[key], f"{path}.{key}", problems)
    elif isinstance(original, list):
        if not isinstance(encoded, list) or len(encoded) != len(original):
            problems.append(f"{path}: list changed in decoding")
            return
        for i, (a, b) in enumerate(zip(original, encoded)):
            dropped(a, b, f"{path}[{i}]", problems)
    elif original != encoded and not (
        isinstance(original, (int, float)) and isinstance(encoded, (int, float)) and float(original) == float(encoded)
    ):
        problems.append(f"{path}: {original!r} decoded as {encoded!r}")


def type_ok(value, hint, path, problems):
    """Checks one decoded value against its annotation; returns whether it matched."""
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if hint is typing.Any or hint is object:
        # Plugin-specific parts (panel options, custom field config, queries) are typed
        # `object` in the dashboard model and decoded by the plugin's own model: check that.
        if hasattr(value, "to_json"):
            check_model(value, path, problems)
        return True
    if origin in (typing.Union, types.UnionType):
        quiet = []
        for arm in args:
            trial = []
            if type_ok(value, arm, path, trial):
                problems.extend(trial)
                return True
            quiet.extend(trial)
        problems.append(f"{path}: {value!r} matches none of {hint}")
        return False
    if hint is type(None):
        return value is None
    if origin is typing.Literal:
        if value in args:
            return True
        problems.append(f"{path}: {value!r} is not one of {list(args)}")
        return False
    if origin is list:
        if not isinstance(value, list):
            problems.append(f"{path}: expected a list, got {value!r}")
            return False
        return all(type_ok(v, args[0], f"{path}[{i}]", problems) for i, v in enumerate(value)) if args else True
    if origin is dict:
        if not isinstance(value, dict):
            problems.append(f"{path}: expected an object, got {value!r}")
            return False
        return all(type_ok(v, args[1], f"{path}.{k}", problems) for k, v in value.items()) if args else True
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        if isinstance(value, hint) or value in [m.value for m in hint]:
            return True
        problems.append(f"{path}: {value!r} is not one of {[m.value for m in hint]}")
        return False
    if hint is bool:
        ok = isinstance(value, bool)
    elif hint is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif hint is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    elif hint is str:
        ok = isinstance(value, str)
    elif isinstance(hint, type):
        ok = isinstance(value, hint)
        if ok and hasattr(value, "to_json"):
            check_model(value, path, problems)
    else:
        ok = True
    if not ok:
        problems.append(f"{path}: {value!r} is not a {getattr(hint, '__name__', hint)}")
    return ok


def check_model(obj, path, problems):
    if isinstance(obj, runtime.UnknownDataquery):
        return
    module = sys.modules[type(obj).__module__]
    try:
        hints = typing.get_type_hints(type(obj), vars(module))
    except Exception as e:  # a model the SDK itself cannot resolve: nothing to hold it to
        problems.append(f"{path}: cannot read the schema of {type(obj).__name__}: {e}")
        return
    for attr, hint in hints.items():
        if hasattr(obj, attr):
            type_ok(getattr(obj, attr), hint, f"{path}.{attr}", problems)


def check(path, require_vars):
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    problems = []
    try:
        model = dash_models.Dashboard.from_json(data)
    except Exception as e:
        return [f"{path}: Grafana's schema cannot decode it: {type(e).__name__}: {e}"], 0, 0
    dropped(data, encode(model), "dashboard", problems)
    check_model(model, "dashboard", problems)

    panels = []
    for p in data.get("panels", []):
        panels.append(p)
        panels.extend(p.get("panels", []) if p.get("type") == "row" else [])
    ids = set()
    queries = 0
    for p in panels:
        where = f"panel {p.get('id')} ({p.get('title')!r})"
        if p.get("id") in ids:
            problems.append(f"{where}: duplicate id")
        ids.add(p.get("id"))
        kind = p.get("type")
        if kind != "row" and runtime.panelcfg_config(kind) is None:
            problems.append(f"{where}: panel type {kind!r} is not one Grafana ships")
        grid = p.get("gridPos", {})
        gx, gw = grid.get("x", 0), grid.get("w", 0)
        if isinstance(gx, int) and isinstance(gw, int) and gx + gw > GRID_WIDTH:
            problems.append(f"{where}: wider than the {GRID_WIDTH}-column grid")
        for t in p.get("targets", []):
            queries += 1
            ds = (t.get("datasource") or p.get("datasource") or {}).get("type", "")
            decoded = runtime.dataquery_from_json(t, ds)
            if isinstance(decoded, runtime.UnknownDataquery):
                problems.append(f"{where}: query {t.get('refId')} has no known datasource type ({ds!r})")
    names = [v.get("name") for v in data.get("templating", {}).get("list", [])]
    for v in require_vars:
        if v not in names:
            problems.append(f"{path}: no template variable {v!r} (has {names})")
    return problems, len(panels), queries


def main(argv):
    require = []
    files = []
    for a in argv:
        if a.startswith("--require-vars="):
            require = [v for v in a.split("=", 1)[1].split(",") if v]
        else:
            files.append(a)
    if not files:
        root = pathlib.Path(__file__).resolve().parent.parent
        files = sorted(str(p) for p in (root / "deploy/grafana/dashboards").glob("*.json"))
    if not files:
        print("usage: check_dashboard.py [--require-vars=a,b] [DASHBOARD.json...]", file=sys.stderr)
        return 2
    plugins.register_default_plugins()
    failed = False
    for path in files:
        problems, panels, queries = check(path, require)
        for p in problems:
            print(f"{path}: {p}")
        if problems:
            failed = True
        else:
            print(f"{path}: OK against Grafana's schema ({panels} panels, {queries} queries)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
