"""Bundled demo data and name-based data set lookup."""

from __future__ import annotations

import os
from pathlib import Path

from ._jsonl import load_jsonl_dataset

__all__ = ["list_bundled_datasets", "load_cooking", "load_dataset"]

DATA_DIR = Path(__file__).resolve().parent / "data"
ENV_VAR = "SKLEARN_XMTC_DATA"


def list_bundled_datasets():
    """Names of the data sets shipped inside the package.

    Returns
    -------
    names : list of str
        Sorted names, each loadable with :func:`load_dataset`.

    Examples
    --------
    >>> from sklearn_xmtc.datasets import list_bundled_datasets
    >>> "cooking" in list_bundled_datasets()
    True
    """
    if not DATA_DIR.is_dir():
        return []
    return sorted(
        d.name
        for d in DATA_DIR.iterdir()
        if d.is_dir() and any(d.glob("train.jsonl*"))
    )


def load_cooking(**kwargs):
    """Load the bundled Cooking StackExchange tag data (fastText tutorial).

    15,404 question titles from cooking.stackexchange.com tagged with 736
    tags: 12,404 train / 3,000 test (the tutorial's split); 735 tags occur in
    train, one only in test (``classes_test_only``). CC-BY-SA 3.0, see the
    ``description`` (README with the NOTICE and source).

    Parameters
    ----------
    **kwargs
        Passed to :func:`load_jsonl_dataset` (``splits``, ``max_samples``,
        ``text_field``).

    Returns
    -------
    data : sklearn.utils.Bunch
        See :func:`load_jsonl_dataset`.

    Examples
    --------
    >>> from sklearn_xmtc.datasets import load_cooking
    >>> data = load_cooking(max_samples=5)
    >>> data.name, len(data.X_test)
    ('cooking', 5)
    """
    return load_jsonl_dataset(DATA_DIR / "cooking", **kwargs)


def _candidate_folders(name):
    roots = [Path(p) for p in os.environ.get(ENV_VAR, "").split(os.pathsep) if p]
    roots.append(Path.cwd().parent / "shared" / "data")
    return [root / name for root in roots]


def load_dataset(name_or_path, **kwargs):
    """Load a bundled data set by name, or any data set folder.

    Parameters
    ----------
    name_or_path : str or path-like
        - a path-like, or a str naming an existing folder: that folder;
        - a bundled name (:func:`list_bundled_datasets`), e.g. ``"cooking"``;
        - another name: the folder ``<name>`` under each entry of the
          ``SKLEARN_XMTC_DATA`` environment variable (``os.pathsep``-separated),
          then under ``../shared/data`` relative to the current directory.
    **kwargs
        Passed to :func:`load_jsonl_dataset`.

    Returns
    -------
    data : sklearn.utils.Bunch
        See :func:`load_jsonl_dataset`.

    Raises
    ------
    ValueError
        If the name matches no bundled data set and no folder (the message
        lists the bundled names and the places searched).

    Examples
    --------
    >>> from sklearn_xmtc.datasets import load_dataset
    >>> load_dataset("cooking", max_samples=3).Y_train.shape[0]
    3
    """
    if isinstance(name_or_path, os.PathLike) or (
        isinstance(name_or_path, str) and Path(name_or_path).is_dir()
    ):
        return load_jsonl_dataset(name_or_path, **kwargs)
    if not isinstance(name_or_path, str):
        raise TypeError(
            f"name_or_path must be a str or a path, got {type(name_or_path).__name__}."
        )
    if name_or_path in list_bundled_datasets():
        return load_jsonl_dataset(DATA_DIR / name_or_path, **kwargs)
    candidates = _candidate_folders(name_or_path)
    for folder in candidates:
        if folder.is_dir():
            return load_jsonl_dataset(folder, **kwargs)
    raise ValueError(
        f"Unknown data set {name_or_path!r}: not a folder and not a bundled data set "
        f"(bundled: {list_bundled_datasets()}). Searched {[str(c) for c in candidates]}; "
        f"set {ENV_VAR} to the folder that holds the data sets."
    )
