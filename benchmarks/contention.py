"""Epoch time of a fit when another process competes for the CPU (issue 20, item 4).

An XML-CNN (registry demo) trains ``--epochs`` epochs on the first ``--max-train``
cooking texts in a fresh child process (the OpenMP wait policy is fixed when torch
starts) under three loads:

- ``idle``: nothing else runs;
- ``loop``: a competing process spins one core (``while True: pass``);
- ``fit``: a competing process trains the same XML-CNN with 2 threads, over and over;

and four settings of the measured fit: torch's default (2 threads, OpenMP's default
spin-waiting), ``OMP_WAIT_POLICY=PASSIVE``, ``n_threads="auto"`` (the idle cores at fit
start) and ``n_threads=1``. Usage::

    SKLEARN_XMTC_DATA=../shared/data python -m benchmarks.contention

Run it alone: it makes its own contention. Appends one JSON line per (load, setting) to
``benchmarks/results/contention.jsonl`` and prints a Markdown table of the median epoch
seconds and their ratio to the idle default.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
SETTINGS = {"default": ({}, {}), "passive": ({"OMP_WAIT_POLICY": "PASSIVE"}, {}),
            "n_threads=auto": ({}, {"n_threads": "auto"}), "n_threads=1": ({}, {"n_threads": 1})}
LOADS = ("idle", "loop", "fit")


def _child(args):
    """The measured (or competing) fit: epoch seconds as JSON on stdout."""
    from sklearn_xmtc._registry import make_estimator
    from sklearn_xmtc.datasets import load_cooking

    data = load_cooking()
    X, Y = data.X_train[:args.max_train], data.Y_train[:args.max_train]
    params = {"max_epochs": args.epochs, "verbose": 0, **json.loads(args.params)}
    while True:
        est = make_estimator("xmlcnn", params, 0)
        t0 = time.perf_counter()
        est.fit(X, Y)
        out = {"fit_s": time.perf_counter() - t0, "epoch_s": list(est.history_[:, "dur"]),
               "n_threads_": est.n_threads_}
        if not args.forever:
            print(json.dumps(out), flush=True)
            return


def _spawn(extra_env, params, args, forever=False, quiet=False):
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    env.update(extra_env)
    cmd = [sys.executable, "-m", "benchmarks.contention", "--child", "--params",
           json.dumps(params), "--epochs", str(args.epochs), "--max-train", str(args.max_train)]
    if forever:
        cmd.append("--forever")
    return subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL if quiet else subprocess.PIPE,
                            text=True)


def _competitor(load, args):
    if load == "loop":
        return subprocess.Popen([sys.executable, "-c", "while True: pass"])
    if load == "fit":
        return _spawn({}, {"n_threads": 2}, args, forever=True, quiet=True)
    return None


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--max-train", type=int, default=4000)
    ap.add_argument("--out", default=str(RESULTS / "contention.jsonl"))
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--forever", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--params", default="{}", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        return _child(args)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    head = {"commit": commit, "machine": platform.processor() or platform.machine(),
            "cpus": os.cpu_count(), "epochs": args.epochs, "max_train": args.max_train}
    print(json.dumps(head))
    rows = []
    for load in LOADS:
        competitor = _competitor(load, args)
        try:
            time.sleep(3 if load == "fit" else 1)  # let the competitor get going
            for setting, (env, params) in SETTINGS.items():
                proc = _spawn(env, params, args)
                out, _ = proc.communicate(timeout=3600)
                got = json.loads(out.strip().splitlines()[-1])
                row = {**head, "load": load, "setting": setting,
                       "median_epoch_s": statistics.median(got["epoch_s"]),
                       "epoch_s": got["epoch_s"], "fit_s": got["fit_s"],
                       "n_threads_": got["n_threads_"]}
                rows.append(row)
                with open(args.out, "a") as fh:
                    fh.write(json.dumps(row) + "\n")
                print(json.dumps(row), flush=True)
        finally:
            if competitor is not None:
                competitor.kill()
                competitor.wait()
    print(table(rows))
    return 0


def table(rows):
    idle = {r["setting"]: r["median_epoch_s"] for r in rows if r["load"] == "idle"}
    base = idle.get("default")
    lines = ["| load | setting | threads | median epoch s | x idle default | x idle same setting |",
             "|---|---|---|---|---|---|"]
    for r in rows:
        own, med = idle.get(r["setting"]), r["median_epoch_s"]
        x_base = f"{med / base:.2f}" if base else "-"
        x_own = f"{med / own:.2f}" if own else "-"
        lines.append(f"| {r['load']} | {r['setting']} | {r['n_threads_']} | {med:.2f} | "
                     f"{x_base} | {x_own} |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
