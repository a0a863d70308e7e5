"""Benchmark AttentionXML and LightAttention (dynamic / static negatives) beside
XML-CNN and the frequency baseline on shared/data splits.

Each (dataset, estimator) run is a fresh child process, so its peak RSS
(``resource.getrusage``) is its own. Prints a Markdown table and JSON lines.

    OMP_WAIT_POLICY=PASSIVE OMP_NUM_THREADS=2 python benchmarks/bench_attentionxml.py \
        --datasets reuters21578 cooking --max-epochs 3
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
COLS = ["P@1", "P@3", "P@5", "nDCG@3", "nDCG@5", "PSP@1", "PSP@3", "PSP@5", "micro-F1",
        "fit_s", "predict_texts_per_s", "peak_rss_mb"]


def make(name, args):
    """The estimator ``name`` with the benchmark's (CPU-sized) parameters."""
    import sklearn_xmtc as sx
    from sklearn_xmtc.attentionxml import AttentionXMLClassifier, LightAttentionClassifier

    net = dict(max_epochs=args.max_epochs, max_length=args.max_length, device="cpu",
               random_state=0, threshold=0.3, embeddings=args.embeddings)
    att = dict(embedding_dim=args.embedding_dim, hidden_size=args.hidden_size,
               linear_sizes=(args.hidden_size,), batch_size=64, lr=args.lr, dropout=0.2,
               n_candidates=args.n_candidates, **net)
    if name == "dummy":
        return sx.DummyXMTCClassifier()
    if name == "xmlcnn":
        return sx.XMLCNNClassifier(embedding_dim=args.embedding_dim, n_filters=64,
                                   hidden_size=256, batch_size=64, lr=args.lr, **net)
    if name == "attentionxml":
        return AttentionXMLClassifier(**att)
    light = dict(att, n_sampled_clusters=args.n_sampled_clusters)
    if name == "lightattention":
        return LightAttentionClassifier(**light)
    if name == "lightattention-static":
        return LightAttentionClassifier(negative_sampling="static", **light)
    raise ValueError(name)


def run_one(dataset, name, args):
    import resource

    from sklearn_xmtc._cli import evaluate
    from sklearn_xmtc.datasets import load_jsonl_dataset

    data = load_jsonl_dataset(DATA / dataset)
    res = evaluate(make(name, args), data)
    res["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"dataset": dataset, "estimator": name, **res}


def table(rows):
    lines = ["| dataset | estimator | " + " | ".join(COLS) + " |",
             "|---|---|" + "---:|" * len(COLS)]
    for r in rows:
        cells = [f"{r[c]:.4f}" if "@" in c or c == "micro-F1" else f"{r[c]:.1f}" for c in COLS]
        lines.append(f"| {r['dataset']} | {r['estimator']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--datasets", nargs="+", default=["reuters21578", "cooking"])
    p.add_argument("--estimators", nargs="+", default=[
        "dummy", "xmlcnn", "attentionxml", "lightattention", "lightattention-static"])
    p.add_argument("--max-epochs", type=int, default=3)
    p.add_argument("--max-length", type=int, default=128)
    p.add_argument("--embedding-dim", type=int, default=100)
    p.add_argument("--hidden-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=5e-3)
    p.add_argument("--n-candidates", type=int, default=20)
    p.add_argument("--n-sampled-clusters", type=int, default=10)
    p.add_argument("--embeddings", default=None)
    p.add_argument("--one", nargs=2, metavar=("DATASET", "ESTIMATOR"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.one:
        print(json.dumps(run_one(*args.one, args)))
        return 0
    rows = []
    passthrough = [a for a in (argv if argv is not None else sys.argv[1:])]
    for dataset in args.datasets:
        for name in args.estimators:
            cmd = [sys.executable, __file__, *passthrough, "--one", dataset, name]
            done = subprocess.run(cmd, capture_output=True, text=True,
                                  env={**os.environ, "PYTHONPATH": str(ROOT)})
            if done.returncode != 0:
                print(done.stderr[-2000:], file=sys.stderr)
                continue
            row = json.loads(done.stdout.strip().splitlines()[-1])
            rows.append(row)
            print(json.dumps(row), flush=True)
    print(table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
