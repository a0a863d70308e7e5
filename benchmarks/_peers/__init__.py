"""Peer XMTC libraries for ``benchmarks/run.py``, all on the same TF-IDF features.

``PEERS``: name -> class.  Each peer class has ``unavailable()`` (None, or a
note: the run records the peer as skipped) and ``version()``.
"""

from ._base import SET_CANDIDATES, Peer
from ._linear import (
    LibMultiLabelOVR,
    LibMultiLabelTree,
    NapkinXCPLT,
    OmikujiBonsai,
    OmikujiParabel,
)
from ._pecos import PecosXRLinear
from ._tfidf import TFIDF_PARAMS, make_vectorizer

PEERS = {
    cls.name: cls
    for cls in (NapkinXCPLT, OmikujiParabel, OmikujiBonsai, LibMultiLabelOVR,
                LibMultiLabelTree, PecosXRLinear)
}

__all__ = ["PEERS", "Peer", "SET_CANDIDATES", "TFIDF_PARAMS", "make_vectorizer"]
