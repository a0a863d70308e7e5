"""Benchmark harness: every sklearn_xmtc estimator and the peer libraries on the same splits.

Example (the run recorded in ``docs/benchmarks.md``), from the repository root::

    OMP_WAIT_POLICY=PASSIVE python -m benchmarks.run --datasets reuters21578 cooking
    python -m benchmarks.report

Each (dataset, system) pair runs in its own child process
(``python -m benchmarks.run --single SPEC --result OUT``, with the repository
root on its ``PYTHONPATH``) that loads the
dataset's train/test split (``sklearn_xmtc.datasets.load_dataset``: a bundled
name, a name under ``SKLEARN_XMTC_DATA`` or ``../shared/data``, or a folder
of ``train.jsonl``/``test.jsonl``), fits, predicts, computes the metrics
(``_evaluation.py``) and reads its own peak resident memory.  One JSON line per
pair goes to ``--out``: P@1..5, nDCG@1/3/5, PSP@1/3/5, R@5, micro-F1 of the
thresholded sets, per-bucket (head/torso/tail) recall@5 and PSP@5, fit and
predict seconds, predict texts/second, peak RSS, parameters, package versions,
machine and load average.  Lines with ``status`` "skipped" (peer not
installed), "error" or "timeout" keep the table honest.

Systems: our estimators are the methods of the registry
(``sklearn_xmtc._registry.methods()``, with their demo parameters), plugins
named in ``SKLEARN_XMTC_METHODS`` included (the child processes inherit the
variable); the peers (``_peers``) see TF-IDF features built the same way for
all of them.
``--set NAME.PARAM=VALUE`` overrides a parameter of one system
(``--set xmlcnn.max_epochs=1``; ``*.PARAM=VALUE`` sets it on every estimator
that has it).  Timings: predict_s is ``predict_topk(k=5)`` (peers: TF-IDF
transform + top-10 prediction); the thresholded ``predict`` is timed
separately (sets_s).
"""

from __future__ import annotations

import argparse
import ast
import datetime as dt
import json
import logging
import os
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sklearn_xmtc._cli import _positive_int

from ._machine import machine_info, package_versions

HERE = Path(__file__).resolve().parent
REPO = HERE.parent  # the child processes get it on their PYTHONPATH (see child_env)

log = logging.getLogger("benchmarks")
DEFAULT_OUT = HERE / "results" / "results.jsonl"
SUMMARY_COLS = ["P@1", "P@3", "P@5", "nDCG@5", "PSP@5", "micro-F1", "fit_s",
                "predict_texts_per_s", "peak_rss_mb"]


def registered_estimators():
    """Names of the registry's methods (plugins of ``SKLEARN_XMTC_METHODS`` included)."""
    from sklearn_xmtc._registry import methods

    return [m.name for m in methods()]


def parse_sets(items):
    """``["xmlcnn.max_epochs=1", "*.device=cpu"]`` -> {"xmlcnn": {...}, "*": {...}}."""
    out = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        system, dot, param = key.rpartition(".")
        if not sep or not dot or not system or not param:
            raise SystemExit(f"--set expects NAME.PARAM=VALUE, got {item!r}")
        try:
            value = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            pass  # a bare string
        out.setdefault(system, {})[param] = value
    return out


def build_parser():
    from ._peers import PEERS

    ap = argparse.ArgumentParser(prog="python -m benchmarks.run",
                                 description=__doc__.split("\n\n")[0])
    ap.add_argument("--datasets", nargs="+", default=["reuters21578", "cooking"])
    ap.add_argument("--estimators", nargs="*", default=None,
                    help="registered estimators (default: every method of sklearn_xmtc._registry, "
                         "plugins named in SKLEARN_XMTC_METHODS included)")
    ap.add_argument("--peers", nargs="*", default=None,
                    help=f"peer libraries (default: all of {sorted(PEERS)})")
    ap.add_argument("--set", nargs="*", action="extend", default=[], metavar="NAME.PARAM=VALUE")
    ap.add_argument("--extra", nargs="*", action="extend", default=[], metavar="NAME=MODULE:CLASS",
                    help="also run an estimator not (yet) in the registry, with its class "
                         "defaults plus --set NAME.PARAM=VALUE")
    ap.add_argument("--variant", nargs="*", action="extend", default=[], metavar="NAME=BASE",
                    help="also run registered estimator BASE under the name NAME, with its demo "
                         "parameters plus --set NAME.PARAM=VALUE (ablations: "
                         "--variant aplc-ncls2=aplc --set 'aplc-ncls2.cluster_proportions=(.5,.5)')")
    ap.add_argument("--max-train", type=_positive_int, default=None, help="first N training texts")
    ap.add_argument("--max-test", type=_positive_int, default=None, help="first N test texts")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--tune-thresholds", action="store_true",
                    help="also report micro-F1 under thresholds tuned on a validation cut of "
                         "the training split, the same procedure for every system (a second "
                         "fit of each on 80 %% of the training texts)")
    ap.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)),
                    help="threads per run (torch, OpenMP, the peers); default: usable CPUs")
    ap.add_argument("--timeout", type=float, default=1800.0, help="seconds per run")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="JSON lines results file")
    ap.add_argument("--append", action="store_true", help="append to --out instead of replacing")
    ap.add_argument("--log-dir", type=Path, default=HERE / "results" / "tmp",
                    help="child stdout/stderr logs (git-ignored)")
    ap.add_argument("--data-dir", default=None,
                    help="folder holding dataset folders (prepended to SKLEARN_XMTC_DATA)")
    ap.add_argument("--single", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--result", default=None, help=argparse.SUPPRESS)
    return ap


def child_env(threads, data_dir):
    env = dict(os.environ)
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "RAYON_NUM_THREADS"):
        env[var] = str(threads)
    env.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    roots = [str(Path(data_dir).resolve())] if data_dir else []
    roots += [p for p in env.get("SKLEARN_XMTC_DATA", "").split(os.pathsep) if p]
    roots.append(str(REPO.parent / "shared" / "data"))  # the checkout's sibling shared/data
    env["SKLEARN_XMTC_DATA"] = os.pathsep.join(roots)
    return env


def run_child(spec, args, log_path):
    """Run one spec in a fresh interpreter; (record dict, wall seconds)."""
    with tempfile.TemporaryDirectory(prefix="xmtc-bench-") as tmp:
        spec_path, res_path = Path(tmp) / "spec.json", Path(tmp) / "result.json"
        spec_path.write_text(json.dumps(spec))
        cmd = [sys.executable, "-m", "benchmarks.run", "--single", str(spec_path),
               "--result", str(res_path)]
        t0 = time.perf_counter()
        with open(log_path, "w") as logf:
            try:
                proc = subprocess.run(cmd, stdout=logf, stderr=subprocess.STDOUT,
                                      env=child_env(spec["threads"], args.data_dir),
                                      timeout=args.timeout, cwd=os.getcwd())
            except subprocess.TimeoutExpired:
                note = f"exceeded --timeout {args.timeout:.0f} s"
                return {"status": "timeout", "note": note}, time.perf_counter() - t0
        wall = time.perf_counter() - t0
        if proc.returncode != 0 or not res_path.exists():
            tail = Path(log_path).read_text(errors="replace")[-1500:]
            return {"status": "error", "note": f"exit {proc.returncode}: {tail}"}, wall
        return {"status": "ok", **json.loads(res_path.read_text())}, wall


def parse_extras(items):
    """``["attentionxml=sklearn_xmtc.attentionxml:AttentionXMLClassifier"]`` -> {name: path}."""
    out = {}
    for item in items or []:
        name, sep, path = item.partition("=")
        if not sep or ":" not in path:
            raise SystemExit(f"--extra expects NAME=MODULE:CLASS, got {item!r}")
        out[name] = path
    return out


def parse_variants(items):
    """``["aplc-ncls2=aplc"]`` -> {"aplc-ncls2": "aplc"} (BASE must be registered)."""
    out, registered = {}, registered_estimators()
    for item in items or []:
        name, sep, base = item.partition("=")
        if not sep or not name or base not in registered:
            raise SystemExit(f"--variant expects NAME=BASE with BASE one of {registered}, "
                             f"got {item!r}")
        out[name] = base
    return out


def plan(args):
    """[(kind, name, params, class_path, base)] of the systems to run, and the ``*`` params."""
    from ._peers import PEERS

    sets, extras = parse_sets(args.set), parse_extras(args.extra)
    variants = parse_variants(getattr(args, "variant", []))
    ests = registered_estimators() if args.estimators is None else args.estimators
    ests = ests + [e for e in list(extras) + list(variants) if e not in ests]
    peers = list(PEERS) if args.peers is None else args.peers
    known = set(registered_estimators()) | set(extras) | set(variants) | set(PEERS) | {"*"}
    bad = sorted((set(ests) | set(peers) | set(sets)) - known)
    if bad:
        raise SystemExit(f"unknown system(s) {bad}; estimators: {registered_estimators()}, "
                         f"peers: {sorted(PEERS)}")
    return [("estimator", e, sets.get(e, {}), extras.get(e), variants.get(e)) for e in ests] + \
           [("peer", p, sets.get(p, {}), None, None) for p in peers], sets.get("*", {})


def dataset_name(dataset):
    """The short name of a dataset argument (a folder's name, or the name itself)."""
    return Path(dataset).name if Path(dataset).is_dir() else dataset


def base_record(args, kind, name, dataset, command):
    return {"dataset": dataset_name(dataset), "dataset_arg": dataset, "system": name,
            "kind": kind, "seed": args.seed,
            "threads": args.threads, "max_train": args.max_train, "max_test": args.max_test,
            "command": command, "started_at": dt.datetime.now().astimezone().isoformat(
                timespec="seconds")}


def run_all(args, command):
    """Run every (dataset, system) pair; yield one record per pair."""
    from ._peers import PEERS

    systems, all_params = plan(args)
    machine, versions = machine_info(), package_versions()
    args.log_dir.mkdir(parents=True, exist_ok=True)
    for dataset in args.datasets:
        for kind, name, params, class_path, base in systems:
            rec = base_record(args, kind, name, dataset, command)
            if class_path:
                rec["class_path"] = class_path
            if base:
                rec["variant_of"] = base
            note = PEERS[name].unavailable() if kind == "peer" else None
            if note:
                log.warning("skip %s on %s: %s", name, dataset, note)
                yield {**rec, "status": "skipped", "note": note, "machine": machine}
                continue
            spec = {"dataset": dataset, "system": name, "kind": kind, "params": params,
                    "class_path": class_path, "base": base,
                    "all_params": all_params if kind == "estimator" else {},
                    "max_train": args.max_train, "max_test": args.max_test,
                    "seed": args.seed, "threads": args.threads,
                    "tune": bool(getattr(args, "tune_thresholds", False))}
            log.info("running %s on %s ...", name, dataset)
            log_path = args.log_dir / f"{dataset_name(dataset)}__{name}.log"
            res, wall = run_child(spec, args, log_path)
            peer_v = {name: PEERS[name].version()} if kind == "peer" else {}
            rec.update(res)
            rec.update(wall_s=wall, machine=machine, versions={**versions, **peer_v})
            log.info("  %s: %s", res["status"], _brief(rec))
            yield rec


def _brief(rec):
    if rec["status"] != "ok":
        return rec.get("note", "")[-300:]
    return ", ".join(f"{c}={rec[c]:.4g}" for c in SUMMARY_COLS)


def summary_table(records):
    lines = ["| dataset | system | " + " | ".join(SUMMARY_COLS) + " |",
             "|---|---|" + "---:|" * len(SUMMARY_COLS)]
    for r in records:
        cells = ([f"{r[c]:.4g}" for c in SUMMARY_COLS] if r["status"] == "ok"
                 else [r["status"]] + [""] * (len(SUMMARY_COLS) - 1))
        lines.append(f"| {r['dataset']} | {r['system']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None):
    args = build_parser().parse_args(argv)
    if args.single:
        from ._runner import main_single

        return main_single(args.single, args.result)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    raw = sys.argv[1:] if argv is None else list(argv)
    wait = os.environ.get("OMP_WAIT_POLICY")
    command = (f"OMP_WAIT_POLICY={wait} " if wait else "") + \
        "python -m benchmarks.run " + " ".join(shlex.quote(a) for a in raw)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    records = []
    with open(args.out, "a" if args.append else "w") as fh:
        for rec in run_all(args, command):
            fh.write(json.dumps(rec) + "\n")
            fh.flush()
            records.append(rec)
    print(summary_table(records))
    return 0


if __name__ == "__main__":
    sys.exit(main())
