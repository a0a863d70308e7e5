"""Peak memory of prediction over a million texts: a generator against a list (issue 20,
item 3).

A model (registry demo, ``--estimator``) is fitted on the bundled cooking training
texts and saved (the safe format); then, each in a fresh child process that loads it,
``predict_topk(k=5)`` runs over ``--n`` texts (the cooking test texts, cycled) given as

- ``generator``: a generator yielding the texts one by one (the library reads it
  ``STREAM_CHUNK`` texts at a time);
- ``list``: the same texts materialised as a Python list first;

and the child's peak resident memory (``ru_maxrss``) and throughput are recorded beside
a baseline child that only loads the model. The output itself is O(n x 5) (two arrays
of 5 numbers per text: 80 bytes a text, 80 MB for a million). Usage::

    python -m benchmarks.streaming --n 1000000

Appends one JSON line per mode to ``benchmarks/results/streaming.jsonl`` and prints a
Markdown table.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
MODES = ("load-only", "generator", "list")


def _texts(n):
    from sklearn_xmtc.datasets import load_cooking

    test = load_cooking().X_test
    return itertools.islice(itertools.cycle(test), n)


def _child(model, mode, n):
    import sklearn_xmtc

    est = sklearn_xmtc.load(model)
    t0 = time.perf_counter()
    shape = None
    if mode != "load-only":
        X = _texts(n) if mode == "generator" else list(_texts(n))
        idx, _ = est.predict_topk(X, k=5)
        shape = list(idx.shape)
    seconds = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(json.dumps({"seconds": seconds, "peak_rss_mb": peak, "shape": shape}))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--estimator", default="xmlcnn")
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--out", default=str(RESULTS / "streaming.jsonl"))
    ap.add_argument("--child", nargs=3, metavar=("MODEL", "MODE", "N"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        return _child(args.child[0], args.child[1], int(args.child[2]))
    from sklearn_xmtc._base import STREAM_CHUNK
    from sklearn_xmtc._registry import make_estimator
    from sklearn_xmtc.datasets import load_cooking

    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    head = {"commit": commit, "machine": platform.processor() or platform.machine(),
            "cpus": os.cpu_count(), "estimator": args.estimator, "n_texts": args.n,
            "stream_chunk": STREAM_CHUNK}
    print(json.dumps(head))
    data = load_cooking()
    params = {"max_epochs": args.epochs} if args.estimator != "linear" else {}
    est = make_estimator(args.estimator, params, 0).fit(data.X_train, data.Y_train)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        model = est.save(os.path.join(tmp, "model"))
        for mode in MODES:
            run = subprocess.run([sys.executable, "-m", "benchmarks.streaming", "--child",
                                  model, mode, str(args.n)], capture_output=True, text=True,
                                 check=True)
            got = json.loads(run.stdout.strip().splitlines()[-1])
            row = {**head, "mode": mode, **got,
                   "texts_per_s": args.n / got["seconds"] if mode != "load-only" else None}
            rows.append(row)
            with open(args.out, "a") as fh:
                fh.write(json.dumps(row) + "\n")
            print(json.dumps(row), flush=True)
    print(table(rows))
    return 0


def table(rows):
    base = next((r["peak_rss_mb"] for r in rows if r["mode"] == "load-only"), None)
    lines = ["| estimator | texts | input | peak RSS MB | above load-only MB | texts/s |",
             "|---|---|---|---|---|---|"]
    for r in rows:
        above = f"{r['peak_rss_mb'] - base:.0f}" if base is not None else "-"
        speed = f"{r['texts_per_s']:.0f}" if r["texts_per_s"] else "-"
        lines.append(f"| {r['estimator']} | {r['n_texts']} | {r['mode']} | "
                     f"{r['peak_rss_mb']:.0f} | {above} | {speed} |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
