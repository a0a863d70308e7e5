"""sklearn_xmtc: scikit-learn estimators for extreme multi-label text classification.

Estimators are imported lazily so ``import sklearn_xmtc.metrics`` stays light.
"""

import importlib

__version__ = "0.1.0.dev0"

_ESTIMATORS = {
    "APLCTransformerClassifier": ".aplc",
    "AttentionXMLClassifier": ".attentionxml",
    "DummyXMTCClassifier": "._dummy",
    "LightAttentionClassifier": ".attentionxml",
    "OTSeq2SetClassifier": ".otseq2set",
    "XMLCNNClassifier": ".xmlcnn",
}

__all__ = sorted(_ESTIMATORS)


def __getattr__(name):
    if name in _ESTIMATORS:
        return getattr(importlib.import_module(_ESTIMATORS[name], __name__), name)
    raise AttributeError(f"module 'sklearn_xmtc' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + __all__)
