"""Load a data set folder of JSON lines files (the ``shared/data`` format)."""

from __future__ import annotations

import itertools
import json
import numbers
import warnings
from pathlib import Path

import numpy as np
from sklearn.utils import Bunch

from ..labels._binarizer import check_label_matrix
from ..labels._hierarchy import LabelHierarchy, _sorted
from ..labels._label_texts import load_label_texts
from ..utils._io import iter_lines, read_text
from ..utils.validation import _check_unicode

__all__ = ["load_jsonl_dataset"]


def _split_file(folder, split):
    for name in (f"{split}.jsonl", f"{split}.jsonl.gz"):
        if (folder / name).is_file():
            return folder / name
    present = sorted(p.name for p in folder.iterdir())
    raise FileNotFoundError(
        f"Split {split!r} not found in {folder}: expected {split}.jsonl or "
        f"{split}.jsonl.gz; the folder holds {present}."
    )


def _parse_record(line, where, text_field, row):
    """One JSON line -> (id, text, labels); ValueError naming ``where``."""
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{where}: invalid JSON ({exc.msg}, column {exc.colno}).") from None
    if not isinstance(record, dict):
        raise ValueError(f"{where}: expected a JSON object, got {type(record).__name__}.")
    for field in (text_field, "labels"):
        if field not in record:
            raise ValueError(
                f"{where}: missing field {field!r} (the record has {sorted(record)})."
            )
    text, labels = record[text_field], record["labels"]
    if not isinstance(text, str):
        raise ValueError(f"{where}: field {text_field!r} must be a string.")
    if not text.isascii():  # a JSON escape such as "\\udcff" decodes to a lone surrogate
        _check_unicode(text, f"{where}: field {text_field!r}")
    if not isinstance(labels, list) or not all(
        isinstance(lab, (str, numbers.Integral)) and not isinstance(lab, bool) for lab in labels
    ):
        raise ValueError(f"{where}: field 'labels' must be a list of strings or integers.")
    return str(record.get("id", row)), text, labels


def _read_split(path, text_field, max_samples):
    """Read one JSON lines file -> (ids, texts, label lists)."""
    ids, texts, labels = [], [], []
    lines = iter_lines(path)  # ValueError naming file:line and byte offset if not UTF-8
    try:
        for lineno, line in itertools.islice(
            ((n, ln) for n, ln in lines if ln.strip()), max_samples
        ):
            i, t, lab = _parse_record(line, f"{path}:{lineno}", text_field, len(ids))
            ids.append(i)
            texts.append(t)
            labels.append(lab)
    finally:
        lines.close()  # closes the file now, also after max_samples records or an error
    return ids, texts, labels


def _check_max_samples(max_samples):
    if max_samples is None:
        return None
    if isinstance(max_samples, bool) or not isinstance(max_samples, numbers.Integral):
        raise TypeError(f"max_samples must be None or an int >= 1, got {max_samples!r}.")
    if max_samples < 1:
        raise ValueError(f"max_samples must be None or an int >= 1, got {max_samples}.")
    return int(max_samples)


def _label_array(items):
    """Labels as an int64 array when all are integers, else an object array."""
    if items and all(isinstance(x, numbers.Integral) for x in items):
        return np.asarray(items, dtype=np.int64)
    return np.asarray(items, dtype=object)


def _binarize_splits(bunch, label_lists, splits, ref):
    """Y per split: ``ref`` split labels define ``classes``, the others extend them."""
    _, classes = check_label_matrix(label_lists[ref], name=f"labels of {ref!r}")
    bunch.classes = classes
    known = set(classes.tolist())
    for split in splits:
        only = _sorted({lab for row in label_lists[split] for lab in row} - known)
        cols = _label_array(classes.tolist() + only) if only else classes
        bunch[f"Y_{split}"], _ = check_label_matrix(
            label_lists[split], classes=cols, name=f"labels of {split!r}"
        )
        if split != ref:
            bunch[f"classes_{split}_only"] = _label_array(only)


def _attach_extras(bunch, folder, all_labels):
    """Hierarchy, label texts and README, when the folder has them."""
    bunch.hierarchy = None
    if (folder / "hierarchy.tsv").is_file():
        bunch.hierarchy = LabelHierarchy(folder / "hierarchy.tsv")
        missing = [c for c in _sorted(all_labels) if c not in bunch.hierarchy]
        if missing:
            warnings.warn(
                f"{len(missing)} label(s) of {folder.name} are not in hierarchy.tsv, "
                f"e.g. {missing[:5]!r}.",
                UserWarning,
                stacklevel=3,
            )
    bunch.label_texts = None
    if (folder / "label_texts.tsv").is_file():
        bunch.label_texts = load_label_texts(folder / "label_texts.tsv")
    readme = folder / "README.md"
    bunch.description = read_text(readme) if readme.is_file() else ""


def load_jsonl_dataset(folder, *, splits=("train", "test"), max_samples=None, text_field="text"):
    """Load a data set folder of JSON lines files.

    The folder holds ``<split>.jsonl`` (or ``<split>.jsonl.gz``) files with one
    ``{"id": str, "text": str, "labels": [str, ...]}`` object per line, and
    optionally ``hierarchy.tsv`` (``parent<TAB>child``, top-level parent
    ``ROOT``), ``label_texts.tsv`` (``label<TAB>text``) and ``README.md``.
    Every file is UTF-8.

    Parameters
    ----------
    folder : str or path-like
        The data set folder; its name becomes ``name``.
    splits : sequence of str, default=("train", "test")
        Splits to read.
    max_samples : int or None, default=None
        Read only the first ``max_samples`` records of each split (fast tests).
    text_field : str, default="text"
        JSON field holding the text (e.g. ``"text_es"`` for CodiEsp).

    Returns
    -------
    data : sklearn.utils.Bunch
        For each split: ``X_<split>`` (list of str), ``Y_<split>`` (CSR float32
        0/1) and ``ids_<split>`` (list of str; the 0-based row number when a
        record has no ``id``). ``classes``: the sorted labels of the ``train``
        split (of the first split when ``train`` is not read). Labels of another
        split unseen in ``train`` get extra columns after ``classes`` in that
        split's ``Y`` and are listed (sorted) in ``classes_<split>_only``, e.g.
        ``classes_test_only``: the first ``len(classes)`` columns of ``Y_test``
        align with a model trained on ``Y_train``, and metrics count the extra
        columns as labels it can never find. ``hierarchy`` (LabelHierarchy or
        None), ``label_texts`` (dict or None), ``name`` and ``description``
        (README text, "" when absent).

    Raises
    ------
    FileNotFoundError
        If the folder or a split file is missing.
    ValueError
        On invalid JSON or a missing/ill-typed field (message ``file:line``), or
        when a file (a split, ``hierarchy.tsv``, ``label_texts.tsv``,
        ``README.md``) is not UTF-8 (message ``file:line``, the byte offset and
        how to re-encode it). A UTF-8 byte order mark is accepted.

    Examples
    --------
    >>> from sklearn_xmtc.datasets import load_cooking
    >>> data = load_cooking(max_samples=100)
    >>> len(data.X_train), data.Y_train.shape[1] == len(data.classes)
    (100, True)
    """
    folder = Path(folder)
    if not folder.is_dir():
        what = "is not a folder" if folder.exists() else "does not exist"
        raise FileNotFoundError(f"Data set folder {str(folder)!r} {what}.")
    if isinstance(splits, str):
        splits = (splits,)
    splits = list(splits)
    if not splits or len(set(splits)) != len(splits):
        raise ValueError(f"splits must be a non-empty sequence of distinct names, got {splits}.")
    max_samples = _check_max_samples(max_samples)
    data, label_lists = Bunch(name=folder.name), {}
    for split in splits:
        ids, texts, labels = _read_split(_split_file(folder, split), text_field, max_samples)
        data[f"X_{split}"], data[f"ids_{split}"], label_lists[split] = texts, ids, labels
    ref = "train" if "train" in label_lists else splits[0]
    _binarize_splits(data, label_lists, splits, ref)
    all_labels = {lab for rows in label_lists.values() for row in rows for lab in row}
    _attach_extras(data, folder, all_labels)
    return data
