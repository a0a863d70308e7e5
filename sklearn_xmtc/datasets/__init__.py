"""Data sets: JSON lines folders, the bundled demo data and a synthetic generator."""

from ._bundled import list_bundled_datasets, load_cooking, load_dataset
from ._jsonl import load_jsonl_dataset
from ._synthetic import make_tiny_xmtc

__all__ = sorted(
    [
        "list_bundled_datasets",
        "load_cooking",
        "load_dataset",
        "load_jsonl_dataset",
        "make_tiny_xmtc",
    ]
)
