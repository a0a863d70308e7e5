"""Writing and reading encoded trees and their tensors, atomically and checked.

A *tensor file* is one ``safetensors`` file whose metadata holds the encoded
tree (``{"sklearn_xmtc": FORMAT, "tree": <canonical JSON>}``) beside the tensors
it refers to: one file, so a reader sees the old one or the new one, never a
mix. It is written to a temporary file in the same folder, flushed to disk, then
renamed over the target (``os.replace``), so a process killed mid-write leaves
the previous file intact.
"""

from __future__ import annotations

import hashlib
import json
import os

from ..utils._io import atomic_path

__all__ = ["FORMAT", "FORMAT_VERSION", "read_tensor_file", "sha256_of", "write_tensor_file"]

FORMAT = "sklearn_xmtc.safe"
FORMAT_VERSION = 1


def sha256_of(path, chunk=1 << 20):
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


def write_tensor_file(path, tree, tensors, **meta):
    """Write ``tensors`` and the JSON ``tree`` to ``path`` atomically; returns its SHA-256."""
    from safetensors.torch import save_file

    from ._codec import canonical_json

    metadata = {"sklearn_xmtc": FORMAT, "format_version": str(FORMAT_VERSION),
                "tree": canonical_json(tree), **{k: str(v) for k, v in meta.items()}}
    with atomic_path(path, fsync=True) as tmp:
        save_file(tensors, tmp, metadata=metadata)
        digest = sha256_of(tmp)
    return digest


def read_tensor_file(path, *, expected_sha256=None):
    """``(tree, tensors, metadata)`` of a tensor file; ValueError when it is not one,
    is truncated or damaged, or does not match ``expected_sha256``."""
    from safetensors import safe_open

    path = os.fspath(path)
    if not os.path.isfile(path):
        raise ValueError(f"{path}: no such file (the saved model is incomplete)")
    if expected_sha256 is not None and sha256_of(path) != expected_sha256:
        raise ValueError(f"{path}: its SHA-256 does not match the one recorded when it was "
                         "written: the file is truncated, damaged or was modified; refusing "
                         "to load it")
    try:
        with safe_open(path, framework="pt") as fh:
            metadata = fh.metadata() or {}
            tensors = {k: fh.get_tensor(k) for k in fh.keys()}
    except Exception as exc:  # safetensors raises its own error types for bad headers
        raise ValueError(f"{path}: not a readable safetensors file ({type(exc).__name__}: "
                         f"{exc}); it is truncated or damaged") from exc
    if metadata.get("sklearn_xmtc") != FORMAT:
        raise ValueError(f"{path}: a safetensors file, but not one written by sklearn_xmtc")
    if int(metadata.get("format_version", 0)) > FORMAT_VERSION:
        raise ValueError(f"{path}: written in format version {metadata['format_version']}, "
                         f"newer than this sklearn_xmtc reads ({FORMAT_VERSION}); upgrade it")
    try:
        tree = json.loads(metadata["tree"])
    except (KeyError, ValueError) as exc:
        raise ValueError(f"{path}: the encoded tree in its metadata is missing or damaged") \
            from exc
    return tree, tensors, metadata
