"""sklearn_xmtc: scikit-learn estimators for extreme multi-label text classification.

Estimators are imported lazily so ``import sklearn_xmtc.metrics`` stays light.
The exported estimators are those of the method registry
(:mod:`sklearn_xmtc._registry`, entries with ``public=True``).
"""

import importlib

from ._registry import public_classes as _public_classes

__version__ = "0.1.0.dev0"

# {class name: module}, from the registry (reads no plugin and imports no estimator)
_ESTIMATORS = _public_classes()

__all__ = sorted([*_ESTIMATORS, "load"])


def load(path, *, device=None):
    """Load an estimator saved with ``est.save(path)``: no pickle, no code run.

    The folder's ``model.safetensors`` holds the weights and arrays and its
    ``estimator.json`` the checksum checked first; only sklearn_xmtc and
    scikit-learn classes are rebuilt (see :meth:`BaseXMTCClassifier.save`).

    Parameters
    ----------
    path : str or path-like
        The folder written by ``save``.
    device : str or None, default=None
        Where the networks go; None keeps the training device when it is
        available here and falls back to the CPU (a CUDA-trained model loads on
        a CPU-only machine).

    Returns
    -------
    estimator : the saved estimator, predicting as it did.

    Raises
    ------
    ValueError
        ``path`` is not a saved model, or a file is missing, truncated or
        modified.

    Examples
    --------
    >>> import tempfile, os
    >>> from sklearn_xmtc import load
    >>> from sklearn_xmtc._dummy import DummyXMTCClassifier
    >>> est = DummyXMTCClassifier().fit(["a b", "b c"], [["x"], ["x", "y"]])
    >>> folder = os.path.join(tempfile.mkdtemp(), "model")
    >>> _ = est.save(folder)
    >>> sorted(os.listdir(folder))
    ['estimator.json', 'model.safetensors']
    >>> load(folder).predict_topk(["a b"], k=1)[0].tolist()
    [[0]]
    """
    from ._persist import load as _load

    return _load(path, device=device)


def __getattr__(name):
    if name in _ESTIMATORS:
        return getattr(importlib.import_module(_ESTIMATORS[name]), name)
    raise AttributeError(f"module 'sklearn_xmtc' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + __all__)
