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

__all__ = sorted(_ESTIMATORS)


def __getattr__(name):
    if name in _ESTIMATORS:
        return getattr(importlib.import_module(_ESTIMATORS[name]), name)
    raise AttributeError(f"module 'sklearn_xmtc' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + __all__)
