"""Text handling: tokenizers trained on the corpus or pretrained, and embeddings."""

from ._embeddings import load_embedding_matrix
from ._frozen import FrozenTextEncoder
from ._tokenizer import TextTokenizer, build_tokenizer

__all__ = sorted(["FrozenTextEncoder", "TextTokenizer", "build_tokenizer", "load_embedding_matrix"])
