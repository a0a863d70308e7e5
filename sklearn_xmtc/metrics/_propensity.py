"""Label propensities of Jain, Prabhu and Varma (KDD 2016)."""

from __future__ import annotations

import numbers

import numpy as np

from ..labels._binarizer import check_label_matrix

__all__ = ["PROPENSITY_PRESETS", "estimator_inv_propensity", "inverse_propensity", "propensity"]

#: ``(A, B)`` of Jain et al. (2016): their general default, and the values
#: they fit on Wikipedia-like and Amazon-like data sets.
PROPENSITY_PRESETS = {"default": (0.55, 1.5), "wikipedia": (0.5, 0.4), "amazon": (0.6, 2.6)}

_DEFAULT_A, _DEFAULT_B = PROPENSITY_PRESETS["default"]


def _resolve_ab(A, B, preset):
    if preset is not None:
        if preset not in PROPENSITY_PRESETS:
            raise ValueError(
                f"Unknown propensity preset {preset!r}; valid presets are "
                f"{sorted(PROPENSITY_PRESETS)}."
            )
        if (A, B) != (_DEFAULT_A, _DEFAULT_B):
            raise ValueError("Give either preset or A and B, not both.")
        A, B = PROPENSITY_PRESETS[preset]
    for name, v in (("A", A), ("B", B)):
        if isinstance(v, bool) or not isinstance(v, numbers.Real) or not np.isfinite(v) or v <= 0:
            raise ValueError(f"{name} must be a finite real number > 0, got {v!r}.")
    return float(A), float(B)


def _frequencies(y_train, label_frequencies, n_samples, classes):
    if (y_train is None) == (label_frequencies is None):
        raise TypeError("Pass exactly one of y_train or label_frequencies (with n_samples).")
    if y_train is not None:
        if n_samples is not None:
            raise TypeError("n_samples is only used with label_frequencies.")
        Y, _ = check_label_matrix(y_train, classes=classes, name="y_train")
        return np.bincount(Y.indices, minlength=Y.shape[1]).astype(np.float64), Y.shape[0]
    freq = np.asarray(label_frequencies, dtype=np.float64)
    if freq.ndim != 1 or not np.all(np.isfinite(freq)) or np.any(freq < 0):
        raise ValueError("label_frequencies must be a 1-D array of counts >= 0.")
    if isinstance(n_samples, bool) or not isinstance(n_samples, numbers.Integral) or n_samples < 1:
        raise ValueError(
            f"n_samples must be an int >= 1 with label_frequencies, got {n_samples!r}."
        )
    if freq.size and freq.max() > n_samples:
        raise ValueError(f"A label frequency ({freq.max():g}) exceeds n_samples ({n_samples}).")
    return freq, int(n_samples)


def _pad_frequencies(freq, n_columns):
    """``freq`` followed by zero counts up to ``n_columns`` entries."""
    if n_columns is None:
        return freq
    if isinstance(n_columns, bool) or not isinstance(n_columns, numbers.Integral):
        raise ValueError(f"n_columns must be an int or None, got {n_columns!r}.")
    if n_columns < freq.size:
        raise ValueError(
            f"n_columns={n_columns} is smaller than the number of training labels "
            f"({freq.size}); the columns must start with the training labels, in order."
        )
    return np.concatenate([freq, np.zeros(int(n_columns) - freq.size)])


def inverse_propensity(
    y_train=None,
    *,
    A=0.55,
    B=1.5,
    preset=None,
    classes=None,
    label_frequencies=None,
    n_samples=None,
    n_columns=None,
):
    """Inverse label propensities ``1 / p_l`` (Jain et al., 2016).

    With N training samples and ``N_l`` of them tagged with label l,
    ``C = (ln N - 1) (B + 1)^A`` and ``1 / p_l = 1 + C (N_l + B)^(-A)``:
    rare labels get large weights.  The formula assumes N > e (so C > 0).
    A label seen once gets exactly ``ln N``; a label never seen in training
    (``N_l = 0``) gets the largest weight, ``1 + C B^(-A)``.

    Parameters
    ----------
    y_train : sparse matrix, dense 0/1 array or sequence of label lists, default=None
        Training labels (n_samples, n_labels).  Label lists use ``classes``
        (None: the sorted distinct labels).
    A, B : float, default=0.55, 1.5
        Parameters of the propensity model, both > 0.
    preset : {"default", "wikipedia", "amazon"}, default=None
        Take ``(A, B)`` from :data:`PROPENSITY_PRESETS` instead.
    classes : array-like, default=None
        Label names of the columns, for label lists.
    label_frequencies : array-like of shape (n_labels,), default=None
        Training counts ``N_l``, instead of ``y_train`` (with ``n_samples``).
    n_samples : int, default=None
        N, the number of training samples, with ``label_frequencies``.
    n_columns : int, default=None
        Length of the result: the ``n_labels`` training labels followed by
        ``n_columns - n_labels`` labels absent from training (the extra,
        test-only columns of a test label matrix), which get the inverse
        propensity of a count of 0 with the same N, A and B.  None means
        ``n_labels``; smaller than ``n_labels`` is a ``ValueError``.

    Returns
    -------
    inv_propensity : ndarray of float64, shape (n_columns,)
        ``n_columns`` defaults to ``n_labels``.

    See Also
    --------
    estimator_inv_propensity : The same from a fitted estimator's training counts.

    References
    ----------
    .. [1] H. Jain, Y. Prabhu and M. Varma, "Extreme Multi-label Loss Functions
       for Recommendation, Tagging, Ranking & Other Missing Label
       Applications", KDD 2016.

    Examples
    --------
    >>> from sklearn_xmtc.metrics import inverse_propensity
    >>> w = inverse_propensity(label_frequencies=[100, 1], n_samples=1000)
    >>> bool(w[1] > w[0] > 1)
    True
    >>> inverse_propensity([["a"], ["a", "b"], ["a"]], preset="amazon").round(3).tolist()
    [1.076, 1.099]

    A test matrix with one test-only column (index 2): with N = 4,
    ``C = (ln 4 - 1) 2.5^0.55 = 0.6394``, so the counts 3, 1 and 0 give
    ``1 + C 4.5^-0.55 = 1.2796``, ``ln 4 = 1.3863`` and
    ``1 + C 1.5^-0.55 = 1.5116``:

    >>> w = inverse_propensity(label_frequencies=[3, 1], n_samples=4, n_columns=3)
    >>> w.round(4).tolist()
    [1.2796, 1.3863, 1.5116]
    """
    A, B = _resolve_ab(A, B, preset)
    freq, N = _frequencies(y_train, label_frequencies, n_samples, classes)
    freq = _pad_frequencies(freq, n_columns)
    C = (np.log(N) - 1.0) * (B + 1.0) ** A
    return 1.0 + C * (freq + B) ** (-A)


def propensity(
    y_train=None,
    *,
    A=0.55,
    B=1.5,
    preset=None,
    classes=None,
    label_frequencies=None,
    n_samples=None,
    n_columns=None,
):
    """Label propensities ``p_l = 1 / (1 + C (N_l + B)^(-A))`` (Jain et al., 2016).

    The probability that a relevant label l is observed (tagged) at all; see
    :func:`inverse_propensity` for the notation and parameters, which are the
    same.

    Parameters
    ----------
    y_train : sparse matrix, dense 0/1 array or sequence of label lists, default=None
        Training labels (n_samples, n_labels).
    A, B : float, default=0.55, 1.5
        Parameters of the propensity model, both > 0.
    preset : {"default", "wikipedia", "amazon"}, default=None
        Take ``(A, B)`` from :data:`PROPENSITY_PRESETS` instead.
    classes : array-like, default=None
        Label names of the columns, for label lists.
    label_frequencies : array-like of shape (n_labels,), default=None
        Training counts ``N_l``, instead of ``y_train`` (with ``n_samples``).
    n_samples : int, default=None
        N, the number of training samples, with ``label_frequencies``.
    n_columns : int, default=None
        Length of the result; the columns after the ``n_labels`` training
        labels get the propensity of a count of 0.

    Returns
    -------
    propensity : ndarray of float64, shape (n_columns,)
        ``n_columns`` defaults to ``n_labels``.

    References
    ----------
    .. [1] H. Jain, Y. Prabhu and M. Varma, "Extreme Multi-label Loss Functions
       for Recommendation, Tagging, Ranking & Other Missing Label
       Applications", KDD 2016.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_xmtc.metrics import propensity
    >>> Y = np.array([[1, 0], [1, 1], [1, 0], [1, 0]])
    >>> p = propensity(Y)  # N = 4, N_l = [4, 1]
    >>> C = (np.log(4) - 1) * 2.5 ** 0.55
    >>> bool(np.allclose(p, 1 / (1 + C * np.array([5.5, 2.5]) ** -0.55)))
    True
    """
    return 1.0 / inverse_propensity(
        y_train,
        A=A,
        B=B,
        preset=preset,
        classes=classes,
        label_frequencies=label_frequencies,
        n_samples=n_samples,
        n_columns=n_columns,
    )


_ESTIMATOR_PARAMS = ("propensity_a", "propensity_b")
_ESTIMATOR_FITTED = ("label_frequencies_", "n_samples_fit_")


def estimator_inv_propensity(estimator, n_columns=None):
    """Inverse propensities from a fitted estimator's training labels.

    The one definition used by the PSP scorers, the command line and the
    benchmarks: :func:`inverse_propensity` of the estimator's training
    counts ``label_frequencies_`` with ``N = n_samples_fit_`` and its
    ``propensity_a`` / ``propensity_b``.  Columns beyond the training labels
    (test-only labels) get the inverse propensity of a count of 0.

    Parameters
    ----------
    estimator : fitted sklearn_xmtc estimator
        Any object with ``label_frequencies_``, ``n_samples_fit_``,
        ``propensity_a`` and ``propensity_b`` (for a Pipeline, pass its last
        step).
    n_columns : int, default=None
        Number of columns of the test label matrix, ``>= len(classes_)``
        (None: ``len(classes_)``).  Its columns must start with the
        estimator's ``classes_``, in order.

    Returns
    -------
    inv_propensity : ndarray of float64, shape (n_columns,)

    Raises
    ------
    TypeError
        If ``estimator`` has no ``propensity_a`` / ``propensity_b`` (it is not
        an sklearn_xmtc estimator).
    sklearn.exceptions.NotFittedError
        (a ``ValueError``) if it is not fitted.
    ValueError
        If ``n_columns`` is smaller than the number of training labels.

    See Also
    --------
    inverse_propensity

    Examples
    --------
    >>> from sklearn_xmtc import DummyXMTCClassifier
    >>> from sklearn_xmtc.metrics import estimator_inv_propensity
    >>> X = ["a", "b", "c", "d"]
    >>> est = DummyXMTCClassifier().fit(X, [["x"], ["x"], ["x", "y"], ["x"]])
    >>> est.label_frequencies_.tolist(), est.n_samples_fit_
    ([4, 1], 4)
    >>> # N = 4: a label seen once gets ln 4; an unseen third column 1 + C 1.5^-0.55
    >>> estimator_inv_propensity(est, n_columns=3).round(4).tolist()
    [1.2504, 1.3863, 1.5116]
    """
    name = type(estimator).__name__
    no_params = [a for a in _ESTIMATOR_PARAMS if not hasattr(estimator, a)]
    if no_params:
        raise TypeError(
            f"estimator_inv_propensity needs an sklearn_xmtc estimator (with propensity_a, "
            f"propensity_b and, once fitted, label_frequencies_ and n_samples_fit_); "
            f"{name} has no {', '.join(no_params)}. For a Pipeline, pass its last step; "
            "otherwise use inverse_propensity(y_train, n_columns=...)."
        )
    not_fitted = [a for a in _ESTIMATOR_FITTED if getattr(estimator, a, None) is None]
    if not_fitted:
        from sklearn.exceptions import NotFittedError

        raise NotFittedError(
            f"This {name} instance has no {', '.join(not_fitted)}: it is not fitted. "
            "Call fit(X, Y) before computing its propensities."
        )
    return inverse_propensity(
        label_frequencies=estimator.label_frequencies_,
        n_samples=estimator.n_samples_fit_,
        A=estimator.propensity_a,
        B=estimator.propensity_b,
        n_columns=n_columns,
    )
