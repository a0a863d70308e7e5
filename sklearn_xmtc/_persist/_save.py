"""``est.save(path)`` and ``sklearn_xmtc.load(path)``: a folder with no pickle in it.

The folder holds two files:

- ``model.safetensors``: every tensor and array of the estimator (network
  weights, label trees, propensities, the linear models' sparse weights, a
  nested encoder's), with the encoded tree (:mod:`._codec`) in its metadata;
- ``estimator.json``: what the folder is (format, versions, the class, its
  parameters for reading) and the SHA-256 of ``model.safetensors``, checked
  before anything is loaded.

The folder is written under a temporary name beside ``path`` and renamed into
place, so ``path`` is either the complete old model, the complete new one, or
absent.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import tempfile

from ..utils._io import atomic_write_text
from ._codec import Decoder, Encoder
from ._files import FORMAT, FORMAT_VERSION, read_tensor_file, write_tensor_file

__all__ = ["load", "save"]

MANIFEST = "estimator.json"
TENSORS = "model.safetensors"


def _versions():
    import sklearn
    import torch

    from .. import __version__

    return {"sklearn_xmtc": __version__, "torch": torch.__version__,
            "scikit-learn": sklearn.__version__, "python": platform.python_version()}


def save(estimator, path, *, overwrite=False):
    """Write ``estimator`` to the folder ``path`` in the safe format (module docstring).

    Raises TypeError (naming the attribute) for a value the format cannot hold,
    before anything is written; FileExistsError when ``path`` exists and
    ``overwrite`` is False; ValueError when ``path`` exists and is not a saved
    model (it is never deleted).
    """
    path = os.path.abspath(os.fspath(path))
    if os.path.exists(path):
        if not overwrite:
            raise FileExistsError(f"{path} exists; pass overwrite=True to replace it.")
        if not (os.path.isdir(path) and os.path.isfile(os.path.join(path, MANIFEST))):
            raise ValueError(f"{path} exists and is not a saved sklearn_xmtc model; "
                             "refusing to replace it.")
    enc = Encoder()
    tree = enc.encode(estimator)
    readable = Encoder(lenient=True)
    params = readable.encode(estimator.get_params(deep=False)) \
        if hasattr(estimator, "get_params") else None
    parent = os.path.dirname(path)
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(dir=parent, prefix=f".tmp-{os.path.basename(path)}-")
    try:
        digest = write_tensor_file(os.path.join(tmp, TENSORS), tree, enc.tensors)
        manifest = {"format": FORMAT, "format_version": FORMAT_VERSION,
                    "class": f"{type(estimator).__module__}:{type(estimator).__qualname__}",
                    "versions": _versions(), "files": {TENSORS: {"sha256": digest}},
                    "params": params}
        atomic_write_text(os.path.join(tmp, MANIFEST), json.dumps(manifest, indent=1))
        old = None
        if os.path.exists(path):
            old = tempfile.mkdtemp(dir=parent, prefix=f".old-{os.path.basename(path)}-")
            os.rmdir(old)
            os.replace(path, old)
        os.replace(tmp, path)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return path


def load(path, *, device=None):
    """Load an estimator written by :meth:`save` (no unpickling; see ``save``).

    Parameters
    ----------
    path : str or path-like
        The folder ``est.save`` wrote.
    device : str or None, default=None
        Where the networks go: None keeps the device the model was trained on
        when it is available here and falls back to the CPU otherwise (a model
        trained on CUDA loads on a CPU-only machine); or "cpu", "cuda", ...

    Returns
    -------
    estimator : the fitted (or unfitted) estimator, predicting as the saved one.

    Raises
    ------
    ValueError
        When ``path`` is not a saved model, a file is missing, truncated or
        modified (checksum), or the tree names a class outside the trusted
        packages.
    """
    path = os.fspath(path)
    manifest_path = os.path.join(path, MANIFEST)
    if not os.path.isfile(manifest_path):
        raise ValueError(f"{path} is not a saved sklearn_xmtc model (no {MANIFEST}); "
                         "est.save(path) writes one.")
    try:
        with open(manifest_path, encoding="utf-8") as fh:
            manifest = json.load(fh)
    except (OSError, ValueError) as exc:
        raise ValueError(f"{manifest_path} is damaged ({exc})") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ValueError(f"{manifest_path} does not describe an sklearn_xmtc safe model")
    expected = ((manifest.get("files") or {}).get(TENSORS) or {}).get("sha256")
    if not expected:
        raise ValueError(f"{manifest_path} records no checksum for {TENSORS}")
    tree, tensors, _ = read_tensor_file(os.path.join(path, TENSORS), expected_sha256=expected)
    return Decoder(tensors, device=device).decode(tree)
