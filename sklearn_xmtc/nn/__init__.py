"""Shared torch layers used by the method networks."""

from ._embedding import TokenEmbedding

__all__ = sorted(["TokenEmbedding"])
