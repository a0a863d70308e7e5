"""Label texts: a short natural-language description of each label."""

from __future__ import annotations

import os
from collections.abc import Mapping

from ..utils._io import iter_text_lines
from ..utils.validation import _check_unicode

__all__ = ["load_label_texts"]


def _read_label_texts(path):
    texts = {}
    for lineno, line in iter_text_lines(path):
        label, sep, text = line.partition("\t")
        if not sep or not label:
            raise ValueError(
                f"{path}:{lineno}: expected 'label<TAB>text' (a non-empty label, a "
                f"tab, then the text), got {line!r:.120}."
            )
        if label in texts:
            raise ValueError(f"{path}:{lineno}: label {label!r} is listed twice.")
        texts[label] = text
    return texts


def load_label_texts(spec):
    """Load label texts from a dict or a ``label<TAB>text`` file.

    Parameters
    ----------
    spec : None, dict, str or path-like
        A mapping ``label -> text`` (copied), or the path of a UTF-8 file with
        one ``label<TAB>text`` line per label (the format of
        ``shared/data/*/label_texts.tsv``; the text is everything after the
        first tab; blank lines are skipped). ``None`` is returned unchanged so
        an estimator's ``label_texts`` parameter can be passed straight in.

    Returns
    -------
    label_texts : dict or None
        ``label -> text``.

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    ValueError
        On a malformed line (message ``file:line``) or a label listed twice.
    TypeError
        If ``spec`` has another type, or a dict value is not a str.

    Examples
    --------
    >>> from sklearn_xmtc.labels import load_label_texts
    >>> load_label_texts({"C15": "PERFORMANCE"})
    {'C15': 'PERFORMANCE'}
    """
    if spec is None:
        return None
    if isinstance(spec, Mapping):
        for label, text in spec.items():
            if not isinstance(text, str):
                raise TypeError(
                    f"label_texts[{label!r}] must be a str, got {type(text).__name__}."
                )
            _check_unicode(text, f"label_texts[{label!r}]")
        return dict(spec)
    if isinstance(spec, (str, os.PathLike)):
        if not os.path.isfile(spec):
            raise FileNotFoundError(f"Label text file {os.fspath(spec)!r} does not exist.")
        return _read_label_texts(spec)
    raise TypeError(
        "label_texts must be None, a dict label -> text or a path to a "
        f"'label<TAB>text' file, got {type(spec).__name__}."
    )
