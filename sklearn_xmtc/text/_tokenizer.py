"""Tokenizers: trained on the training corpus (``tokenizers``) or pretrained
(``transformers.AutoTokenizer``), behind one small picklable interface."""

from __future__ import annotations

import logging
import os

import numpy as np

__all__ = ["TextTokenizer", "build_tokenizer"]

logger = logging.getLogger(__name__)

PAD, UNK = "[PAD]", "[UNK]"


class TextTokenizer:
    """Turns texts into token-id arrays; pickles with the fitted estimator.

    Use :meth:`train` (a word-level or BPE vocabulary learned on the
    training texts with the Hugging Face ``tokenizers`` library) or
    :meth:`from_pretrained` (a transformers tokenizer by name or directory).

    Attributes
    ----------
    kind : {"word", "bpe", "pretrained"}
    pad_id : int
        Id used to pad batches.
    vocab_size : int
        Number of ids (embedding rows) the tokenizer can emit.
    source : str or None
        Name or directory of a pretrained tokenizer.
    """

    def __init__(self, backend, kind, source=None):
        self._backend = backend
        self.kind = kind
        self.source = source

    # -- construction -----------------------------------------------------
    @classmethod
    def train(cls, texts, *, kind="word", max_vocab_size=50000, min_frequency=1,
              lowercase=True):
        """Learn a vocabulary on ``texts`` (list of str); a text the backend cannot take
        raises TypeError or ValueError naming its position, as :meth:`encode`."""
        from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers

        specials = [PAD, UNK]
        if kind == "word":
            tok = Tokenizer(models.WordLevel(unk_token=UNK))
            trainer = trainers.WordLevelTrainer(
                vocab_size=max_vocab_size, min_frequency=min_frequency,
                special_tokens=specials, show_progress=False)
        elif kind == "bpe":
            tok = Tokenizer(models.BPE(unk_token=UNK))
            trainer = trainers.BpeTrainer(
                vocab_size=max_vocab_size, min_frequency=min_frequency,
                special_tokens=specials, show_progress=False)
        else:
            raise ValueError(f"tokenizer_type must be 'word' or 'bpe', got {kind!r}.")
        norms = [normalizers.NFKC()] + ([normalizers.Lowercase()] if lowercase else [])
        tok.normalizer = normalizers.Sequence(norms)
        tok.pre_tokenizer = pre_tokenizers.Whitespace()
        try:
            tok.train_from_iterator(texts, trainer=trainer, length=len(texts))
        except (TypeError, ValueError) as exc:  # UnicodeError is a ValueError
            raise (_bad_text_error(texts) or exc) from None
        return cls(tok, kind)

    @classmethod
    def from_pretrained(cls, name_or_path):
        """Load a transformers tokenizer (a Hub name or a local directory)."""
        from transformers import AutoTokenizer

        try:
            tok = AutoTokenizer.from_pretrained(name_or_path)
        except (OSError, ValueError) as exc:
            where = "directory" if os.path.isdir(str(name_or_path)) else "name"
            raise ValueError(
                f"Could not load a pretrained tokenizer from the {where} "
                f"{name_or_path!r}: {exc}"
            ) from exc
        return cls(tok, "pretrained", source=str(name_or_path))

    # -- properties -------------------------------------------------------
    @property
    def pad_id(self):
        if self.kind == "pretrained":
            pid = self._backend.pad_token_id
            return int(pid) if pid is not None else 0
        return int(self._backend.token_to_id(PAD))

    @property
    def vocab_size(self):
        if self.kind == "pretrained":
            return len(self._backend)
        return int(self._backend.get_vocab_size())

    def get_vocab(self):
        """Mapping token -> id."""
        return dict(self._backend.get_vocab())

    # -- encoding ---------------------------------------------------------
    def encode(self, texts, max_length):
        """Encode texts; returns ``(flat_ids int32, offsets int64)``.

        Sample ``i`` has the ids ``flat_ids[offsets[i]:offsets[i + 1]]``,
        truncated to ``max_length``. A text with no known token becomes a
        single pad token so every sample has length >= 1. A text the backend
        cannot take (not a str, or a lone surrogate) raises the TypeError or
        ValueError of :func:`~sklearn_xmtc.utils.validation.check_texts`
        naming its position (``texts[i]``).
        """
        texts = list(texts)
        try:
            if not texts:  # transformers tokenizers fail on an empty batch
                seqs = []
            elif self.kind == "pretrained":
                seqs = self._backend(texts, truncation=True, max_length=max_length,
                                     add_special_tokens=True)["input_ids"]
            else:
                seqs = [e.ids[:max_length] for e in self._backend.encode_batch(texts)]
        except (TypeError, ValueError) as exc:  # UnicodeError is a ValueError
            raise (_bad_text_error(texts) or exc) from None
        pad = [self.pad_id]
        seqs = [s if len(s) else pad for s in seqs]
        lengths = np.fromiter((len(s) for s in seqs), dtype=np.int64, count=len(seqs))
        offsets = np.zeros(len(seqs) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        flat = np.fromiter((i for s in seqs for i in s), dtype=np.int32, count=offsets[-1])
        return flat, offsets

    def tokenize(self, text):
        """The tokens of one text (for inspection)."""
        if self.kind == "pretrained":
            return self._backend.tokenize(text)
        return self._backend.encode(text).tokens

    # -- pickling ---------------------------------------------------------
    def __getstate__(self):
        state = dict(self.__dict__)
        if self.kind != "pretrained":
            state["_backend"] = self._backend.to_str()
        return state

    def __setstate__(self, state):
        if state["kind"] != "pretrained":
            from tokenizers import Tokenizer

            state["_backend"] = Tokenizer.from_str(state["_backend"])
        self.__dict__.update(state)

    def __repr__(self):
        src = f", source={self.source!r}" if self.source else ""
        return f"TextTokenizer(kind={self.kind!r}, vocab_size={self.vocab_size}{src})"


def _bad_text_error(texts):
    """After the backend failed on ``texts``: the ValueError or TypeError of
    :func:`~sklearn_xmtc.utils.validation.check_texts` naming the first text it cannot
    take (a lone surrogate, a non-str), or None when every text is valid. The estimators
    validate their texts before tokenizing; this names the row for direct callers, at
    no cost when encoding succeeds."""
    from ..utils.validation import check_texts

    try:
        check_texts(texts, name="texts", allow_empty=True)
    except (TypeError, ValueError) as exc:
        return exc
    return None


def build_tokenizer(spec, texts, *, kind="word", max_vocab_size=50000, min_frequency=1,
                    lowercase=True):
    """Resolve an estimator's ``tokenizer`` parameter.

    ``None`` trains a tokenizer on ``texts``; a str loads a pretrained one;
    a :class:`TextTokenizer` is used as is.
    """
    if spec is None:
        return TextTokenizer.train(texts, kind=kind, max_vocab_size=max_vocab_size,
                                   min_frequency=min_frequency, lowercase=lowercase)
    if isinstance(spec, TextTokenizer):
        return spec
    if isinstance(spec, (str, os.PathLike)):
        return TextTokenizer.from_pretrained(os.fspath(spec))
    raise TypeError(
        "tokenizer must be None (train on the corpus), a str (pretrained name or "
        f"directory) or a TextTokenizer, got {type(spec).__name__}."
    )
