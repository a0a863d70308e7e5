"""How each estimator's cost grows with the number of labels L (synthetic data).

Usage::

    OMP_WAIT_POLICY=PASSIVE python -m benchmarks.scaling \
        [--labels 1000 10000 100000 670000] [--estimators ...] [--budget 120]
    python -m benchmarks.report

(from the repository root). For each registered estimator (the methods of
``sklearn_xmtc._registry``, plugins of ``SKLEARN_XMTC_METHODS`` included) and each L,
one child process builds a synthetic problem with a FIXED, small number of
texts (``--n-train``, default 1000, and ``--n-test`` 500; 1-5 labels per text
drawn from a power law over the L labels, so at large L most labels have no
training text, as in the tail of real XMTC data) and fits the estimator with a
tiny network (``TINY``: 1 epoch, 16-dim embeddings, 32 hidden units, texts cut
to 32 tokens, wherever the estimator has such parameters).  With the encoder
this small, the L-dependent part (output layer, label tree, clusters,
sampling) dominates: it records fit seconds, ``predict_topk(k=5)`` seconds and
peak resident memory.  A point that runs past ``--budget`` seconds (whole
child, default 120 s) is killed and recorded as "timeout"; the larger L of
that estimator are then skipped with a note.  Flat output layers are
O(batch x L) per step and grow linearly; label trees (AttentionXML), adaptive
clusters (APLC) and negative sampling (LightAttention) should grow more slowly.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

log = logging.getLogger("benchmarks.scaling")
TINY = {"max_epochs": 1, "embedding_dim": 16, "hidden_size": 32, "n_filters": 8,
        "linear_sizes": (32,), "encoder_layers": 1, "max_length": 32, "batch_size": 64,
        "verbose": 0, "validation_fraction": None}


def synthetic_problem(n_samples, n_labels, seed=0):
    """(texts, Y CSR (n, L)): 1-5 power-law labels per text, each with its word."""
    import numpy as np
    import scipy.sparse as sp

    rng = np.random.default_rng(seed)
    counts = rng.integers(1, 6, size=n_samples)
    rows = np.repeat(np.arange(n_samples), counts)
    cols = np.minimum((n_labels * rng.random(rows.size) ** 3).astype(np.int64), n_labels - 1)
    Y = sp.csr_matrix((np.ones(rows.size, dtype=np.float32), (rows, cols)),
                      shape=(n_samples, n_labels))
    Y.sum_duplicates()
    Y.data[:] = 1
    noise = rng.integers(0, 2000, size=(n_samples, 10))
    texts = [" ".join([f"lab{c}" for c in Y.indices[Y.indptr[i]:Y.indptr[i + 1]]]
                      + [f"w{w}" for w in noise[i]])
             for i in range(n_samples)]  # building strings is per-text by nature
    return texts, Y


def run_point(spec):
    """Child body: fit + predict_topk one estimator at one L; a result dict."""
    from ._runner import build_estimator, peak_rss_mb

    texts, Y = synthetic_problem(spec["n_train"] + spec["n_test"], spec["n_labels"])
    est = build_estimator(spec["system"], spec.get("class_path"), 0)
    own = est.get_params()
    params = {k: v for k, v in {**TINY, **spec.get("params", {})}.items() if k in own}
    est.set_params(**params)
    if "torch" in sys.modules:
        import torch

        torch.set_num_threads(spec["threads"])
    n = spec["n_train"]
    t0 = time.perf_counter()
    est.fit(texts[:n], Y[:n])
    fit_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    est.predict_topk(texts[n:], k=5)
    predict_s = time.perf_counter() - t0
    return {"fit_s": fit_s, "predict_s": predict_s, "peak_rss_mb": peak_rss_mb(),
            "params": {k: v for k, v in params.items()},
            "labels_with_training_text": int((Y[:n].getnnz(axis=0) > 0).sum())}


def _child(spec, budget, threads):
    from .run import child_env

    with tempfile.TemporaryDirectory(prefix="xmtc-scaling-") as tmp:
        sp_, rp = Path(tmp) / "spec.json", Path(tmp) / "res.json"
        sp_.write_text(json.dumps(spec))
        cmd = [sys.executable, "-m", "benchmarks.scaling", "--single", str(sp_),
               "--result", str(rp)]
        t0 = time.perf_counter()
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=budget,
                                  env=child_env(threads, None))
        except subprocess.TimeoutExpired:
            return {"status": "timeout", "note": f"exceeded the {budget:.0f} s budget"}
        if proc.returncode != 0 or not rp.exists():
            return {"status": "error", "note": (proc.stdout + proc.stderr)[-800:]}
        return {"status": "ok", "wall_s": time.perf_counter() - t0, **json.loads(rp.read_text())}


def scaling_table(recs):
    """Markdown: one row per estimator, fit / predict seconds and MiB per L."""
    Ls = sorted({r["n_labels"] for r in recs})
    lines = ["| estimator | " + " | ".join(f"L={L:,}" for L in Ls) + " |",
             "|---|" + "---:|" * len(Ls)]
    for name in dict.fromkeys(r["system"] for r in recs):
        cells = []
        for L in Ls:
            same = [r for r in recs if r["system"] == name and r["n_labels"] == L]
            r = same[-1] if same else None  # a later (appended) run of a point wins
            if r is None:
                cells.append("")
            elif r["status"] == "ok":
                cells.append(f"{r['fit_s']:.1f} / {r['predict_s']:.2f} s, "
                             f"{r['peak_rss_mb']:.0f} MiB")
            else:
                cells.append(r["status"])
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines + ["", "Cells: fit seconds / predict_topk seconds, peak RSS."])


def main(argv=None):
    from .run import parse_extras, parse_sets, registered_estimators

    ap = argparse.ArgumentParser(prog="python -m benchmarks.scaling",
                                 description=__doc__.split("\n\n")[0])
    ap.add_argument("--labels", type=int, nargs="+", default=[1000, 10000, 100000, 670000])
    ap.add_argument("--estimators", nargs="*", default=None)
    ap.add_argument("--extra", nargs="*", action="extend", default=[], metavar="NAME=MODULE:CLASS",
                    help="also time an estimator not (yet) in the registry")
    ap.add_argument("--set", nargs="*", action="extend", default=[], metavar="NAME.PARAM=VALUE",
                    help="parameters on top of TINY, e.g. aplc.pretrained=/path/to/model")
    ap.add_argument("--n-train", type=int, default=1000)
    ap.add_argument("--n-test", type=int, default=500)
    ap.add_argument("--budget", type=float, default=120.0, help="seconds per point")
    ap.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)))
    ap.add_argument("--out", type=Path, default=HERE / "results" / "scaling.jsonl")
    ap.add_argument("--append", action="store_true", help="append to --out (re-run points)")
    ap.add_argument("--single", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--result", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.single:
        res = run_point(json.loads(Path(args.single).read_text()))
        Path(args.result).write_text(json.dumps(res))
        return 0
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    names = registered_estimators() if args.estimators is None else args.estimators
    extras, sets = parse_extras(args.extra), parse_sets(args.set)
    names = names + [e for e in extras if e not in names]
    recs = []
    args.out.parent.mkdir(parents=True, exist_ok=True)
    wait = os.environ.get("OMP_WAIT_POLICY")
    command = (f"OMP_WAIT_POLICY={wait} " if wait else "") + "python -m benchmarks.scaling " + \
        " ".join(shlex.quote(a) for a in (sys.argv[1:] if argv is None else argv))
    with open(args.out, "a" if args.append else "w") as fh:
        for name in names:
            stopped = None
            for L in sorted(args.labels):
                rec = {"system": name, "n_labels": L, "n_train": args.n_train,
                       "n_test": args.n_test, "budget_s": args.budget, "threads": args.threads,
                       "command": command, "loadavg_start": list(os.getloadavg())}
                if stopped:
                    rec.update(status="skipped", note=f"L={stopped:,} already exceeded the budget")
                else:
                    spec = {"system": name, "n_labels": L, "n_train": args.n_train,
                            "n_test": args.n_test, "threads": args.threads,
                            "class_path": extras.get(name), "params": sets.get(name, {})}
                    rec.update(_child(spec, args.budget, args.threads))
                    stopped = L if rec["status"] == "timeout" else None
                log.info("%s L=%d: %s", name, L, rec["status"])
                fh.write(json.dumps(rec) + "\n")
                fh.flush()
                recs.append(rec)
    print(scaling_table(recs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
