"""Persistence without pickle (``est.save`` / ``sklearn_xmtc.load``) and training
checkpoints (``checkpoint_dir`` / ``resume``)."""

from ._codec import UnsafeValueError
from ._save import load, save

__all__ = ["UnsafeValueError", "load", "save"]
