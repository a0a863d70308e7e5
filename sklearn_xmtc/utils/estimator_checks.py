"""Estimator checks for text-input XMTC estimators.

scikit-learn runs none of its estimator checks on an estimator whose input is
text, so :func:`yield_xmtc_checks` gives its data-free checks plus our own
text checks. ``tests/test_common.py`` runs them on every fast parameter
setting (``tests``) of every method of the registry
(:mod:`sklearn_xmtc._registry`): a new method is checked by its registry line.
"""

from __future__ import annotations

import pickle
from functools import partial

import numpy as np
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.utils import estimator_checks as skchecks

__all__ = ["yield_xmtc_checks", "check_xmtc_estimator", "xmtc_check_names"]

_SKLEARN_DATA_FREE = [
    "check_no_attributes_set_in_init",
    "check_get_params_invariance",
    "check_set_params",
    "check_parameters_default_constructible",
    "check_mixin_order",
    "check_estimator_cloneable",
    "check_estimator_repr",
    "check_do_not_raise_errors_in_init_or_set_params",
]


def _data():
    from ..datasets import make_tiny_xmtc

    X, Y = make_tiny_xmtc(n_samples=80, n_labels=8, random_state=0)
    return X, Y


def check_constraints_match_params(name, est):
    """``_parameter_constraints`` covers exactly the constructor parameters."""
    params = set(est.get_params(deep=False))
    constrained = set(getattr(est, "_parameter_constraints", {}))
    if params != constrained:
        raise AssertionError(
            f"{name}: parameters without constraints {sorted(params - constrained)}, "
            f"constraints without parameter {sorted(constrained - params)}")


def check_unfitted_raises(name, est):
    """Every public prediction method raises NotFittedError before fit."""
    for method in ("predict", "predict_topk", "predict_proba", "predict_labels"):
        try:
            getattr(clone(est), method)(["some text"])
        except NotFittedError:
            continue
        raise AssertionError(f"{name}.{method} did not raise NotFittedError before fit")
    try:
        clone(est).score(["some text"], [[0]])
    except NotFittedError:
        return
    raise AssertionError(f"{name}.score did not raise NotFittedError before fit")


def _expected_inv_propensity(est, Y):
    """Jain et al. (2016) by hand: ``1 + C (N_l + B)^-A``, ``C = (ln N - 1)(B + 1)^A``."""
    params = est.get_params()
    A, B = params.get("propensity_a", 0.55), params.get("propensity_b", 1.5)
    freq = np.asarray(Y.sum(axis=0), dtype=np.float64).ravel()
    C = (np.log(Y.shape[0]) - 1.0) * (B + 1.0) ** A
    return 1.0 + C * (freq + B) ** (-A)


def _precision_at_1_by_hand(Y, idx):
    """Share of rows whose first predicted index is a true label (-1 never hits)."""
    Y = sp.csr_matrix(Y)
    hits = [idx[i, 0] >= 0 and idx[i, 0] in Y.indices[Y.indptr[i]:Y.indptr[i + 1]]
            for i in range(Y.shape[0])]
    return float(np.mean(hits))


def check_fit_predict_shapes(name, est):
    """Fitted attributes (values, not only presence) and the shapes / dtypes of every
    prediction method; ``score`` is P@1 of ``predict_topk``, computed here by hand."""
    X, Y = _data()
    fitted = clone(est).fit(X, Y)
    L = Y.shape[1]
    for attr in ("classes_", "n_labels_", "n_samples_fit_", "label_frequencies_",
                 "inv_propensity_"):
        if not hasattr(fitted, attr):
            raise AssertionError(f"{name} lacks the fitted attribute {attr}")
    if fitted.n_labels_ != L or not np.array_equal(fitted.classes_, np.arange(L)):
        raise AssertionError(f"{name}: n_labels_ {fitted.n_labels_} / classes_ "
                             f"{fitted.classes_!r} do not match the {L} columns of Y")
    if fitted.n_samples_fit_ != len(X):
        raise AssertionError(f"{name}: n_samples_fit_ {fitted.n_samples_fit_} != {len(X)}")
    col_sums = np.asarray(Y.sum(axis=0)).ravel()
    if not np.array_equal(np.asarray(fitted.label_frequencies_), col_sums):
        raise AssertionError(f"{name}: label_frequencies_ {fitted.label_frequencies_} are not "
                             f"the column sums of Y {col_sums}")
    inv_p = np.asarray(fitted.inv_propensity_)
    if inv_p.shape != (L,) or not np.all(inv_p > 1):
        raise AssertionError(f"{name}: inv_propensity_ must be (L,) = ({L},) and > 1, got "
                             f"{inv_p.shape} {inv_p}")
    if not np.allclose(inv_p, _expected_inv_propensity(fitted, Y), rtol=1e-12, atol=0):
        raise AssertionError(f"{name}: inv_propensity_ is not Jain et al.'s formula on the "
                             "training counts")
    idx, scores = fitted.predict_topk(X[:7], k=3)
    if idx.shape != (7, 3) or scores.shape != (7, 3) or idx.dtype != np.int64 \
            or scores.dtype != np.float32:
        raise AssertionError(f"{name}.predict_topk gave {idx.shape} {idx.dtype}, "
                             f"{scores.shape} {scores.dtype}")
    if np.any(np.diff(scores, axis=1) > 1e-6):
        raise AssertionError(f"{name}.predict_topk scores are not sorted")
    if np.any((idx < -1) | (idx >= L)):
        raise AssertionError(f"{name}.predict_topk gave an out-of-range label index")
    pred = fitted.predict(X[:7])
    if not sp.issparse(pred) or pred.shape != (7, L):
        raise AssertionError(f"{name}.predict must give CSR (7, {L}), got {type(pred)}")
    proba = fitted.predict_proba(X[:7])
    if proba.shape != (7, L) or proba.dtype != np.float32:
        raise AssertionError(f"{name}.predict_proba gave {proba.shape} {proba.dtype}")
    labels = fitted.predict_labels(X[:7])
    if len(labels) != 7 or any(not set(r) <= set(fitted.classes_.tolist()) for r in labels):
        raise AssertionError(f"{name}.predict_labels gave labels outside classes_")
    pred_sets = [sorted(fitted.classes_[pred[i].indices].tolist()) for i in range(7)]
    if [sorted(r) for r in labels] != pred_sets:
        raise AssertionError(f"{name}.predict_labels disagrees with predict")
    score = fitted.score(X[:20], Y[:20])
    expected = _precision_at_1_by_hand(Y[:20], fitted.predict_topk(X[:20], k=1)[0])
    if not isinstance(score, float) or abs(score - expected) > 1e-12:
        raise AssertionError(f"{name}.score gave {score}, P@1 of predict_topk is {expected}")
    empty_idx, _ = fitted.predict_topk([], k=2)
    if empty_idx.shape != (0, 2):
        raise AssertionError(f"{name}.predict_topk([]) must give shape (0, 2)")
    _check_label_limits(name, fitted, X[:7])
    if hasattr(fitted, "net_"):
        _check_network_contract(name, fitted, X[:5])
    if hasattr(fitted, "transform"):
        _check_transform(name, fitted, X[:9])


def _rows_of(pred):
    pred = sp.csr_matrix(pred)
    return [set(pred.indices[pred.indptr[i]:pred.indptr[i + 1]].tolist())
            for i in range(pred.shape[0])]


def _check_label_limits(name, fitted, X):
    """``min_labels`` / ``max_labels``: at least the best ``min_labels`` of
    ``predict_topk``, at most ``max_labels`` labels; with ``threshold=0`` a scoring
    estimator's capped sets are exactly its top ``max_labels``."""
    params = fitted.get_params()
    if "min_labels" not in params or "max_labels" not in params:
        raise AssertionError(f"{name} lacks the min_labels / max_labels parameters")
    idx, _ = fitted.predict_topk(X, k=3)
    top = [[int(j) for j in row if j >= 0] for row in idx]
    generative = hasattr(fitted, "_stops_at_empty")
    settings = [({"min_labels": 1, "max_labels": 1}, "exactly its best label"),
                ({"min_labels": 3, "max_labels": None}, "at least its 3 best labels"),
                ({"min_labels": 0, "max_labels": 2}, "at most 2 labels")]
    try:
        for extra, what in settings:
            fitted.set_params(**extra, **({"threshold": 0.0 if extra["max_labels"] == 2
                                           else 1.0} if "threshold" in params else {}))
            got = _rows_of(fitted.predict(X))
            for i, row in enumerate(got):
                best = set(top[i][:extra["min_labels"]])
                ok = best <= row and len(row) <= (extra["max_labels"] or len(row))
                if extra["max_labels"] == 2 and not generative:
                    ok = row == set(top[i][:2])
                if extra == settings[0][0]:
                    ok = row == set(top[i][:1])
                if not ok:
                    raise AssertionError(
                        f"{name}.predict with {extra} must return {what} of predict_topk "
                        f"for X[{i}]: got {sorted(row)}, top-3 {top[i]}")
        try:
            fitted.set_params(min_labels=2, max_labels=1).predict(X)
        except ValueError:
            pass
        else:
            raise AssertionError(f"{name}.predict accepted min_labels=2 > max_labels=1")
    finally:
        fitted.set_params(**{k: params[k] for k in ("min_labels", "max_labels", "threshold")
                             if k in params})


def _check_transform(name, fitted, X):
    """``transform``: float32 (n, d), deterministic, and a text's vector does not depend on
    the other texts of its batch (each text alone gives the same row within 1e-5)."""
    E = fitted.transform(X)
    if E.dtype != np.float32 or E.ndim != 2 or E.shape[0] != len(X) or not np.isfinite(E).all():
        raise AssertionError(f"{name}.transform gave {E.dtype} {E.shape}, not finite float32 "
                             f"({len(X)}, d)")
    if not np.array_equal(E, fitted.transform(X)):
        raise AssertionError(f"{name}.transform differs between two calls")
    alone = np.concatenate([fitted.transform([x]) for x in X])
    gap = float(np.abs(E - alone).max())
    if gap > 1e-5:
        raise AssertionError(f"{name}.transform depends on the batch: a text alone differs by "
                             f"{gap:.2e} from the same text among others")
    if fitted.transform([]).shape != (0, E.shape[1]):
        raise AssertionError(f"{name}.transform([]) must give shape (0, {E.shape[1]})")


def _check_network_contract(name, fitted, X):
    """The first network of a fitted neural estimator (level 0 of a tree) returns a dict
    of named fields with a finite (n, d) text ``embedding`` (sklearn_xmtc.nn._output)."""
    from .._training import forward_eval, iter_eval_batches

    net = fitted.tree_nets_[0][0] if hasattr(fitted, "tree_nets_") else fitted.net_
    (batch,) = list(iter_eval_batches(net, fitted._make_dataset(X)))
    out = forward_eval(net, batch)
    if not isinstance(out, dict):
        raise AssertionError(f"{name}: the network returned {type(out).__name__}, not a dict "
                             "of named fields")
    emb = out.get("embedding")
    if emb is None or emb.ndim != 2 or emb.shape[0] != len(X) or \
            not bool(emb.isfinite().all()):
        raise AssertionError(f"{name}: the network's 'embedding' must be a finite "
                             f"({len(X)}, d) tensor, got {None if emb is None else emb.shape}")
    if not {"logits", "scores", "log_probs"} & set(out):
        raise AssertionError(f"{name}: the network output has no logits, scores or log_probs")


def check_fit_score_keyword_y(name, est):
    """scikit-learn's argument names: ``fit(X, y=Y)`` and ``score(X, y=Y)`` work, and
    ``score`` by keyword agrees with the positional call."""
    X, Y = _data()
    try:
        fitted = clone(est).fit(X, y=Y)
        by_keyword = fitted.score(X[:20], y=Y[:20])
    except TypeError as exc:
        raise AssertionError(f"{name}: fit(X, y=...) / score(X, y=...) raised {exc!r}") from exc
    if not isinstance(by_keyword, float):
        raise AssertionError(f"{name}.score must return a float, got {type(by_keyword)}")
    if by_keyword != fitted.score(X[:20], Y[:20]):
        raise AssertionError(f"{name}.score(X, y=Y) differs from score(X, Y)")


def check_label_formats(name, est):
    """Label lists, dense 0/1 and CSR Y give the same predictions."""
    X, Y = _data()
    lists = [[f"label{j}" for j in row.indices] for row in Y]
    a = clone(est).fit(X, Y).predict_topk(X[:10], k=3)[0]
    dense_Y = np.asarray(Y.todense())  # the check's own 80 x 8 data: the dense Y format
    b = clone(est).fit(X, dense_Y).predict_topk(X[:10], k=3)[0]
    fitted = clone(est).fit(X, lists)
    c = fitted.predict_topk(X[:10], k=3)[0]
    names = fitted.classes_[np.maximum(c, 0)]
    remapped = np.array([[int(s[5:]) for s in row] for row in names])
    if not (np.array_equal(a, b) and np.array_equal(np.where(c < 0, -1, remapped), a)):
        raise AssertionError(f"{name}: CSR, dense and label-list Y disagree")


def check_pickle_roundtrip(name, est):
    """pickle keeps predictions identical."""
    X, Y = _data()
    fitted = clone(est).fit(X, Y)
    before = fitted.predict_topk(X[:10], k=3)
    after = pickle.loads(pickle.dumps(fitted)).predict_topk(X[:10], k=3)
    if not (np.array_equal(before[0], after[0]) and np.allclose(before[1], after[1])):
        raise AssertionError(f"{name}: predictions changed after a pickle round trip")


def check_deterministic(name, est):
    """The same random_state (or none, for an estimator without one) on the same data gives
    identical predictions."""
    X, Y = _data()
    if "random_state" in est.get_params():
        est = clone(est).set_params(random_state=0)
    a = clone(est).fit(X, Y).predict_topk(X[:10], k=3)
    b = clone(est).fit(X, Y).predict_topk(X[:10], k=3)
    if not (np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])):
        raise AssertionError(f"{name}: two fits with random_state=0 differ")


def check_bad_input(name, est):
    """Bad X and Y raise TypeError/ValueError naming the problem."""
    X, Y = _data()
    cases = [("a bare string", "some text", Y[:1], TypeError),
             ("None in X", [None] + X[1:], Y, ValueError),
             ("NaN in X", [float("nan")] + X[1:], Y, ValueError),
             ("a non-str element", [3] + X[1:], Y, TypeError),
             ("Y of the wrong length", X, Y[:-1], ValueError),
             ("non-binary Y", X, Y * 2, ValueError),
             ("an empty corpus", [], Y[:0], ValueError),
             ("Y with no positive", X, sp.csr_matrix(Y.shape), ValueError)]
    for what, bad_X, bad_Y, error in cases:
        try:
            clone(est).fit(bad_X, bad_Y)
        except error:
            continue
        except Exception as exc:  # noqa: BLE001 - report the wrong kind of error
            raise AssertionError(f"{name}.fit with {what} raised {exc!r}, not {error}") from exc
        raise AssertionError(f"{name}.fit accepted {what}")
    fitted = clone(est).fit(X, Y)
    for k in (0, 1.5):
        try:
            fitted.predict_topk(X[:2], k=k)
        except (TypeError, ValueError):
            continue
        raise AssertionError(f"{name}.predict_topk accepted k={k}")


def yield_xmtc_checks(estimator):
    """Yield ``(check_name, check)``; each check takes no argument."""
    name = type(estimator).__name__
    for check_name in _SKLEARN_DATA_FREE:
        check = getattr(skchecks, check_name, None)
        if check is not None:
            yield check_name, partial(check, name, clone(estimator))
    for check in _XMTC_CHECKS:
        yield check.__name__, partial(check, name, estimator)


def xmtc_check_names():
    """Names of the checks :func:`yield_xmtc_checks` yields, in order (no estimator needed:
    the common tests list them for a method whose extra is missing, to skip them)."""
    return [n for n in _SKLEARN_DATA_FREE if hasattr(skchecks, n)] + \
        [c.__name__ for c in _XMTC_CHECKS]


_XMTC_CHECKS = (check_constraints_match_params, check_unfitted_raises,
                check_fit_predict_shapes, check_fit_score_keyword_y, check_label_formats,
                check_pickle_roundtrip, check_deterministic, check_bad_input)


def check_xmtc_estimator(estimator):
    """Run every check of :func:`yield_xmtc_checks` on ``estimator``."""
    for _, check in yield_xmtc_checks(estimator):
        check()
