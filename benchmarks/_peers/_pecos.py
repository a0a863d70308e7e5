"""PECOS XR-Linear peer, run in its own virtual environment (libpecos needs numpy<2).

``bash benchmarks/setup_pecos_venv.sh`` creates ``benchmarks/.venv-pecos``
(or set ``PECOS_PYTHON`` to another interpreter that imports libpecos).  The
peer saves the TF-IDF matrices as ``.npz`` files and runs
``_pecos_worker.py`` with that interpreter; the worker trains XR-Linear
(PIFA label embeddings, hierarchical k-means, Yu et al. 2022), predicts the
top-k and writes them back.  Its fit/predict times are measured around the
subprocess; its peak memory is the child's ``RUSAGE_CHILDREN``.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from ._base import Peer
from ._tfidf import topk_from_csr

HERE = Path(__file__).resolve().parent
DEFAULT_VENV_PYTHON = HERE.parent / ".venv-pecos" / "bin" / "python"


def pecos_python():
    return Path(os.environ.get("PECOS_PYTHON", DEFAULT_VENV_PYTHON))


class PecosXRLinear(Peer):
    """PECOS XR-Linear with its default settings (beam 10, sigmoid-like post-processor)."""

    name = "pecos-xrlinear"
    distribution = "libpecos"
    score_kind = "XR-Linear score in [0, 1] (l3-hinge post-processor)"
    defaults = {"nr_splits": 16, "beam_size": 10}

    @classmethod
    def unavailable(cls):
        py = pecos_python()
        if not py.exists():
            return (f"no PECOS interpreter at {py}: run `bash benchmarks/setup_pecos_venv.sh` "
                    "(or set PECOS_PYTHON)")
        probe = subprocess.run([str(py), "-c", "import pecos.xmc.xlinear"],
                               capture_output=True, text=True)
        if probe.returncode != 0:
            return f"libpecos does not import in {py}: {probe.stderr.strip()[-300:]}"
        return None

    @classmethod
    def version(cls):
        probe = subprocess.run(
            [str(pecos_python()), "-c",
             "import importlib.metadata as m; print(m.version('libpecos'))"],
            capture_output=True, text=True)
        return probe.stdout.strip() or None

    def _run_worker(self, *args):
        cmd = [str(pecos_python()), str(HERE / "_pecos_worker.py"), *args,
               "--threads", str(self.n_threads), "--params", json.dumps(self.params)]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"PECOS worker failed: {proc.stderr.strip()[-2000:]}")

    def _fit(self, X, Y):
        self._dir = tempfile.TemporaryDirectory(prefix="pecos-")
        d = Path(self._dir.name)
        sp.save_npz(d / "X_train.npz", X)
        sp.save_npz(d / "Y_train.npz", Y)
        self._run_worker("train", str(d))

    def _predict_topk(self, X, k):
        d = Path(self._dir.name)
        sp.save_npz(d / "X_test.npz", X)
        self._run_worker("predict", str(d), "--k", str(k))
        S = sp.load_npz(d / "P_test.npz")
        idx, scores = topk_from_csr(S, k)
        return idx, scores.astype(np.float32)
