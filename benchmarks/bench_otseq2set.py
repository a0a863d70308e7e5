"""Re-run table 3 of OTSeq2Set (Cao and Zhang 2022) on shared/data slices.

Six settings of ``OTSeq2SetClassifier``: the Seq2Seq and MLC2Seq baselines
(``loss="mle"``, labels in ``classes_`` / frequency order, teacher forcing),
BM (bipartite matching, student forcing), BM+LC (lightweight convolution),
BM+OT (semantic optimal transport) and BM+OT+LC (the complete model). Each
(dataset, setting) is a fresh child process so its peak RSS is its own.
Reports micro P/R/F1, macro-F1 and example-F1 of the generated sets,
P@1/3/5 of ``predict_topk``, fit seconds and peak memory. Prints a Markdown
table and JSON lines.

CPU-sized (a ~15 minute run on 2 shared cores): training subsample, few
epochs, small network, short texts -- see the options.

    OMP_WAIT_POLICY=PASSIVE OMP_NUM_THREADS=2 python -m benchmarks.bench_otseq2set

(from the repository root; each child is ``python -m benchmarks.bench_otseq2set
... --one DATASET SETTING`` with the root on its ``PYTHONPATH``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
SETTINGS = {
    "Seq2Seq": dict(loss="mle", label_order="given", use_lightconv=False),
    "MLC2Seq": dict(loss="mle", label_order="frequency", use_lightconv=False),
    "BM": dict(ot_weight=0.0, use_lightconv=False),
    "BM+LC": dict(ot_weight=0.0, use_lightconv=True),
    "BM+OT": dict(use_lightconv=False),
    "BM+OT+LC": dict(use_lightconv=True),
}
COLS = ["micro-P", "micro-R", "micro-F1", "macro-F1", "example-F1", "P@1", "P@3", "P@5",
        "avg_set_size", "fit_s", "peak_rss_mb"]
MAX_TRAIN = {"reuters21578": 2000, "cooking": 3000}


def make(setting, args):
    from sklearn_xmtc.otseq2set import OTSeq2SetClassifier

    return OTSeq2SetClassifier(
        embedding_dim=args.embedding_dim, hidden_size=args.hidden_size, encoder_layers=1,
        lightconv_kernels=(3, 7, 15), lightconv_heads=8, lightconv_last_stride=3,
        matching=args.matching, max_labels=args.max_labels, max_epochs=args.max_epochs,
        batch_size=32, lr=args.lr, max_length=args.max_length, device="cpu", random_state=0,
        **SETTINGS[setting])


def run_one(dataset, setting, args):
    import resource

    import numpy as np
    import scipy.sparse as sp
    import torch

    from sklearn_xmtc.datasets import load_jsonl_dataset
    from sklearn_xmtc.metrics import classification_scores, ranking_scores

    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "2")))
    data = load_jsonl_dataset(DATA / dataset)
    n_train = args.max_train or MAX_TRAIN.get(dataset)
    X_tr, Y_tr = data.X_train[:n_train], data.Y_train[:n_train]
    X_te, Y_te = data.X_test[: args.max_test], data.Y_test[: args.max_test]
    est = make(setting, args)
    t0 = time.perf_counter()
    est.fit(X_tr, Y_tr)
    fit_s = time.perf_counter() - t0
    idx, _ = est.predict_topk(X_te, k=5)
    sets = est.predict(X_te)
    sets = sp.csr_matrix((sets.data, sets.indices, sets.indptr), shape=(len(X_te), Y_te.shape[1]))
    cls = classification_scores(Y_te, sets)
    rk = ranking_scores(Y_te, idx, ks=(1, 3, 5), metrics=["precision"])
    return {"dataset": dataset, "setting": setting, "n_train": len(X_tr), "n_test": len(X_te),
            "micro-P": cls["micro_precision"], "micro-R": cls["micro_recall"],
            "micro-F1": cls["micro_f1"], "macro-F1": cls["macro_f1"],
            "example-F1": cls["example_f1"], "P@1": rk["precision_at_1"],
            "P@3": rk["precision_at_3"], "P@5": rk["precision_at_5"],
            "avg_set_size": float(np.diff(sets.indptr).mean()), "fit_s": fit_s,
            "max_labels_": est.max_labels_,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def table(rows):
    lines = ["| dataset | setting | " + " | ".join(COLS) + " |",
             "|---|---|" + "---:|" * len(COLS)]
    for r in rows:
        cells = [f"{r[c]:.1f}" if c in ("fit_s", "peak_rss_mb") else
                 f"{r[c]:.2f}" if c == "avg_set_size" else f"{100 * r[c]:.2f}" for c in COLS]
        lines.append(f"| {r['dataset']} | {r['setting']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m benchmarks.bench_otseq2set",
                                description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--datasets", nargs="+", default=["reuters21578", "cooking"])
    p.add_argument("--settings", nargs="+", default=list(SETTINGS), choices=list(SETTINGS))
    p.add_argument("--max-train", type=int, default=None,
                   help="training texts (default: reuters21578 2000, cooking 3000)")
    p.add_argument("--max-test", type=int, default=1000)
    p.add_argument("--max-epochs", type=int, default=5)
    p.add_argument("--max-length", type=int, default=64)
    p.add_argument("--max-labels", type=int, default=5, help="N decoding steps")
    p.add_argument("--embedding-dim", type=int, default=64)
    p.add_argument("--hidden-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=5e-3)
    p.add_argument("--matching", default="all", choices=["all", "first_n"])
    p.add_argument("--one", nargs=2, metavar=("DATASET", "SETTING"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.one:
        print(json.dumps(run_one(*args.one, args)))
        return 0
    rows = []
    passthrough = list(argv if argv is not None else sys.argv[1:])
    for dataset in args.datasets:
        for setting in args.settings:
            cmd = [sys.executable, "-m", "benchmarks.bench_otseq2set", *passthrough,
                   "--one", dataset, setting]
            path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
            done = subprocess.run(cmd, capture_output=True, text=True,
                                  env={**os.environ, "PYTHONPATH": path})
            if done.returncode != 0:
                print(done.stderr[-2000:], file=sys.stderr)
                continue
            rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
            print(json.dumps(rows[-1]), flush=True)
    print(table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
