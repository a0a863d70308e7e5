"""Command line: ``python -m sklearn_xmtc evaluate --dataset cooking --estimator xmlcnn``.

``evaluate`` trains estimators of the method registry
(:mod:`sklearn_xmtc._registry`, with their demo parameters) on a dataset's
train split, evaluates them on the test split and prints a table of
P@1/3/5, nDCG@3/5, PSP@1/3/5 and micro-F1. ``list`` prints the registered
methods (plugins named in ``SKLEARN_XMTC_METHODS`` included): name, class,
the optional extra each needs and whether it is installed.
"""

from __future__ import annotations

import argparse
import ast
import json
import logging
import numbers
import sys
import time

from .utils._io import atomic_write_text

__all__ = ["main", "evaluate", "head_of_split", "list_methods"]

METRICS = ["P@1", "P@3", "P@5", "nDCG@3", "nDCG@5", "PSP@1", "PSP@3", "PSP@5", "micro-F1"]


def head_of_split(data, max_train=None, max_test=None):
    """Keep the first ``max_train`` training and ``max_test`` test texts, in place.

    Parameters
    ----------
    data : Bunch
        With ``X_train``, ``Y_train``, ``X_test`` and ``Y_test``.
    max_train, max_test : int >= 1 or None, default=None
        Number of texts to keep; None keeps all (0 is an error, not "all").

    Returns
    -------
    data : Bunch
    """
    for name, n in (("max_train", max_train), ("max_test", max_test)):
        if n is not None and (isinstance(n, bool) or not isinstance(n, numbers.Integral)
                              or n < 1):
            raise ValueError(f"{name} must be None (all texts) or an int >= 1, got {n!r}.")
    if max_train is not None:
        data.X_train, data.Y_train = data.X_train[:max_train], data.Y_train[:max_train]
    if max_test is not None:
        data.X_test, data.Y_test = data.X_test[:max_test], data.Y_test[:max_test]
    return data


def with_dataset_hierarchy(est, data):
    """Give ``est`` the dataset's side information it declares in ``_dataset_params``
    (TReaderXML: ``hierarchy`` and ``label_texts``) where that parameter is None.

    Renamed for an estimator fitted on the label matrix ``data.Y_train``, whose
    ``classes_`` are the column indices: the hierarchy's column labels become their
    column index (internal nodes keep their names), and the label texts are keyed by
    column index, a label without a text getting its name.
    """
    wanted = getattr(est, "_dataset_params", ())
    params = est.get_params()
    names = data.classes.tolist() if hasattr(data, "classes") else None
    h = getattr(data, "hierarchy", None)
    if "hierarchy" in wanted and params.get("hierarchy") is None and h is not None:
        est.set_params(hierarchy=h.relabel({c: j for j, c in enumerate(names)}))
    if "label_texts" in wanted and params.get("label_texts") is None and names is not None:
        texts = getattr(data, "label_texts", None) or {}
        named = {str(c): texts.get(str(c), str(c)) for c in names}
        renamed = {j: named[str(c)] for j, c in enumerate(names)}
        renamed.update({k: v for k, v in texts.items() if k not in named})  # internal nodes
        est.set_params(label_texts=renamed)
    return est


def _positive_int(value):
    """argparse type of ``--max-train`` / ``--max-test``: an int >= 1."""
    try:
        n = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a number of texts (an int >= 1), got {value!r}") from None
    if n < 1:
        raise argparse.ArgumentTypeError(
            f"expected a number of texts (an int >= 1), got {n}; leave the option out "
            "to use all the texts")
    return n


def evaluate(est, data):
    """Fit on ``data.X_train/Y_train``, score on the test split; a dict of results."""
    from .labels import pad_columns
    from .metrics import estimator_inv_propensity, micro_f1, ranking_scores

    with_dataset_hierarchy(est, data)
    t0 = time.perf_counter()
    est.fit(data.X_train, data.Y_train)
    fit_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    idx, _ = est.predict_topk(data.X_test, k=5)
    sets = est.predict(data.X_test)
    predict_s = time.perf_counter() - t0
    Y_test = data.Y_test
    # the one PSP rule: propensities from the training counts; a test-only column has the
    # propensity of a label seen 0 times
    inv_p = estimator_inv_propensity(est, n_columns=Y_test.shape[1])
    ranks = ranking_scores(Y_test, idx, ks=(1, 3, 5), inv_propensity=inv_p)
    out = {
        "P@1": ranks["precision_at_1"], "P@3": ranks["precision_at_3"],
        "P@5": ranks["precision_at_5"], "nDCG@3": ranks["ndcg_at_3"],
        "nDCG@5": ranks["ndcg_at_5"], "PSP@1": ranks["psp_at_1"],
        "PSP@3": ranks["psp_at_3"], "PSP@5": ranks["psp_at_5"],
        "micro-F1": micro_f1(Y_test, pad_columns(sets, Y_test.shape[1])),
    }
    out["fit_s"] = fit_s
    out["predict_texts_per_s"] = len(data.X_test) / max(predict_s, 1e-9)
    return out


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


def list_methods():
    """The registered methods as a text table: name, class, extra, available."""
    from ._registry import methods

    rows = [("name", "class", "extra", "available")]
    rows += [(m.name, m.cls, m.extra or "-", "yes" if m.available() else
              f"no (pip install sklearn-xmtc[{m.extra}])") for m in methods()]
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r[:3], widths)) + "  " + r[3]
                     for r in rows)


def build_parser():
    from ._registry import methods

    parser = argparse.ArgumentParser(prog="python -m sklearn_xmtc", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="print the registered methods (name, class, extra, available)")
    ev = sub.add_parser("evaluate", help="train on a dataset and print a metric table")
    ev.add_argument("--dataset", default="cooking",
                    help="bundled name (cooking), a name under ../shared/data, or a folder")
    ev.add_argument("--estimator", nargs="+", default=["dummy", "xmlcnn"],
                    choices=[m.name for m in methods()])
    ev.add_argument("--set", nargs="*", metavar="KEY=VALUE",
                    help="estimator parameters, e.g. max_epochs=2 device=cpu (each estimator "
                         "takes those it has; a key no chosen estimator has is an error)")
    ev.add_argument("--max-train", type=_positive_int, default=None, metavar="N",
                    help="use the first N >= 1 train texts (default: all)")
    ev.add_argument("--max-test", type=_positive_int, default=None, metavar="N",
                    help="use the first N >= 1 test texts (default: all)")
    ev.add_argument("--pretrained", default=None,
                    help="encoder name or directory for estimators with a `pretrained` parameter")
    ev.add_argument("--random-state", type=int, default=0)
    ev.add_argument("--verbose", type=int, default=1)
    ev.add_argument("--json", default=None, help="also write the results as JSON lines here")
    return parser


def _build_estimator(name, params, own, args):
    """``name`` with the ``--set`` parameters it has; SystemExit naming the estimator and
    the parameter when a value is invalid."""
    from sklearn.utils._param_validation import InvalidParameterError

    from ._registry import make_estimator

    mine = {k: v for k, v in params.items() if k in own}
    if "verbose" in own:
        mine.setdefault("verbose", args.verbose)
    if args.pretrained and "pretrained" in own:
        mine["pretrained"] = args.pretrained
    est = make_estimator(name, mine, args.random_state)
    try:
        if hasattr(est, "_parameter_constraints"):  # sklearn's declared constraints
            est._validate_params()
    except InvalidParameterError as exc:
        raise SystemExit(f"--set: invalid value for {name}: {exc}") from None
    return est


def passive_openmp():
    """Set ``OMP_WAIT_POLICY=PASSIVE`` for this process when torch is not imported yet and
    the user chose no policy: OpenMP threads then sleep instead of spinning while they
    wait, which keeps a fit from crawling when another process holds a core (see
    ``sklearn_xmtc._training._threads``). Returns whether the policy is passive."""
    import os

    if "OMP_WAIT_POLICY" not in os.environ and "torch" not in sys.modules:
        os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
    return os.environ.get("OMP_WAIT_POLICY", "").upper() == "PASSIVE"


def main(argv=None):
    passive_openmp()  # before anything imports torch
    from ._registry import get_method

    args = build_parser().parse_args(argv)
    if args.command == "list":
        print(list_methods())
        return 0
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(message)s")
    params = _parse_set(args.set)
    own = {name: set(get_method(name).load()().get_params()) for name in args.estimator}
    unknown = sorted(set(params) - set().union(*own.values()))
    if unknown:
        raise SystemExit(f"--set: no estimator of {args.estimator} has the parameter(s) "
                         f"{unknown}")
    if args.pretrained and not any("pretrained" in own[name] for name in args.estimator):
        raise SystemExit(f"--pretrained: no estimator of {args.estimator} has a `pretrained` "
                         "parameter (see `python -m sklearn_xmtc list`)")
    # every estimator is built and its parameters checked before the data is loaded and
    # the first one trains: a bad --set value of the last estimator fails at once
    estimators = [(name, _build_estimator(name, params, own[name], args)) for name in
                  args.estimator]
    from .datasets import load_dataset

    data = load_dataset(args.dataset)
    head_of_split(data, args.max_train, args.max_test)
    print(f"dataset {args.dataset}: {len(data.X_train)} train / {len(data.X_test)} test texts, "
          f"{data.Y_train.shape[1]} labels", file=sys.stderr)
    rows = []
    for name, est in estimators:
        print(f"fitting {name} ...", file=sys.stderr)
        res = evaluate(est, data)
        res["estimator"] = name
        rows.append(res)
    if _is_main_process():  # under `accelerate launch`, rank 0 reports for all
        print(format_table(rows))
        if args.json:
            lines = [json.dumps({"dataset": args.dataset, **r}) for r in rows]
            atomic_write_text(args.json, "\n".join(lines) + "\n")
    return 0


def _is_main_process():
    import os

    return os.environ.get("RANK", "0") in ("", "0")
