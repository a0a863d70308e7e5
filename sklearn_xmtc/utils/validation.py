"""Input validation shared by every estimator, metric and loader."""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Mapping, MappingView, Set

import numpy as np

__all__ = ["check_texts", "check_k", "check_random_seed"]


def check_texts(X, *, name="X", allow_empty=False, offset=0):
    """Validate a corpus and return it as a list of ``str``.

    Parameters
    ----------
    X : iterable of str
        List, tuple, 1-D numpy object array, pandas Series or any other
        ordered iterable of texts (one per sample, in the order of the rows
        of ``y`` and of the predictions).
    name : str, default="X"
        Name used in error messages.
    allow_empty : bool, default=False
        Whether an empty corpus is accepted.
    offset : int, default=0
        Position of ``X[0]`` in a longer stream of texts (a chunk of a generator),
        added to the positions that error messages name.

    Returns
    -------
    texts : list of str

    Raises
    ------
    TypeError
        If ``X`` is a bare string, not iterable, a mapping (a dict would be read
        as its keys), a set (its order is arbitrary, so the rows of the result
        would match no order the caller knows), or holds a non-string element
        (the message names the first offending position).
    ValueError
        If ``X`` is empty, 2-D, holds a missing value (None / NaN), or holds a
        text that is not valid Unicode (a lone surrogate such as ``"\\udcff"``,
        which no tokenizer can encode); the message names the position.

    Notes
    -----
    The Unicode check costs one ``str.encode("utf-8")`` attempt per
    non-ASCII text (O(total characters), with a transient copy of one text);
    an ASCII text is skipped in O(1) by ``str.isascii``, since a lone surrogate
    (U+D800-U+DFFF) is never ASCII.
    """
    if isinstance(X, (str, bytes)):
        raise TypeError(
            f"{name} must be an iterable of strings (one text per sample), got a "
            f"single {type(X).__name__}; wrap it in a list: [{name}]."
        )
    if hasattr(X, "iloc") and hasattr(X, "to_numpy"):  # pandas Series / DataFrame
        if getattr(X, "ndim", 1) != 1:
            raise ValueError(f"{name} must be 1-D (one text per sample), got a DataFrame.")
        X = X.to_numpy()
    if isinstance(X, np.ndarray):
        if X.ndim != 1:
            raise ValueError(f"{name} must be 1-D (one text per sample), got shape {X.shape}.")
        X = X.tolist()
    if isinstance(X, Mapping):
        raise TypeError(
            f"{name} must be a sequence of texts, got a mapping ({type(X).__name__}), "
            f"which would be read as its keys; pass a list, e.g. list({name}.values()) "
            f"for texts keyed by id (and the labels in the same order)."
        )
    if isinstance(X, Set) and not isinstance(X, MappingView):  # dict.keys() is ordered
        raise TypeError(
            f"{name} must be a sequence of texts, got a {type(X).__name__}, whose order "
            f"is arbitrary: the rows of the result would match no known order; pass a "
            f"list, e.g. sorted({name})."
        )
    if not isinstance(X, Iterable):
        raise TypeError(f"{name} must be an iterable of strings, got {type(X).__name__}.")
    texts = list(X)
    for i, t in enumerate(texts, start=offset):
        if isinstance(t, str):
            if not t.isascii():
                _check_unicode(t, f"{name}[{i}]")
            continue
        if t is None or (isinstance(t, float) and math.isnan(t)):
            raise ValueError(f"{name}[{i}] is a missing value ({t!r}); every text must be a str.")
        raise TypeError(f"{name}[{i}] must be a str, got {type(t).__name__}: {t!r:.60}.")
    if not texts and not allow_empty:
        raise ValueError(f"{name} is empty: at least one text is required.")
    return texts


def _check_unicode(text, where):
    """Raise ValueError naming ``where`` when ``text`` holds a lone surrogate."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        char = text[exc.start]
        context = text[max(0, exc.start - 20):exc.start + 20]
        raise ValueError(
            f"{where} is not valid Unicode: it holds a lone surrogate {char!r} at "
            f"character {exc.start} (in {context!r}), which no tokenizer can encode. "
            "Such characters come from bytes decoded with errors='surrogateescape' "
            "(e.g. os.fsdecode, or a file read in the wrong encoding): decode the bytes "
            "with their real encoding, or clean the text with "
            "text.encode('utf-8', 'replace').decode('utf-8')."
        ) from None


def check_k(k, *, name="k"):
    """Validate a top-k cut-off: an integer >= 1."""
    if isinstance(k, (bool, np.bool_)) or not isinstance(k, numbers.Integral):
        raise TypeError(f"{name} must be an int >= 1, got {type(k).__name__} {k!r}.")
    if k < 1:
        raise ValueError(f"{name} must be an int >= 1, got {k}.")
    return int(k)


def check_random_seed(random_state):
    """Turn ``random_state`` (None, int or RandomState) into an int seed."""
    if random_state is None:
        return int(np.random.SeedSequence().generate_state(1)[0] & 0x7FFFFFFF)
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(0, 2**31 - 1))
    if isinstance(random_state, numbers.Integral):
        return int(random_state)
    raise TypeError(f"random_state must be None, an int or a RandomState, got {random_state!r}.")
