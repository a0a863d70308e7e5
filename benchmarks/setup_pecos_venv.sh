#!/usr/bin/env bash
# Create the virtual environment that runs the PECOS XR-Linear peer of
# `python -m benchmarks.run`.  libpecos needs numpy<2 while sklearn_xmtc uses numpy 2,
# so PECOS runs in its own venv, as a subprocess (benchmarks/_peers/_pecos_worker.py,
# a standalone script that imports nothing from sklearn_xmtc or benchmarks)
# that reads the TF-IDF matrices saved as .npz files.
#
# Usage:  bash benchmarks/setup_pecos_venv.sh [VENV_DIR]
#         (default VENV_DIR: benchmarks/.venv-pecos, ignored by git)
# Exit status: 0 when `import pecos.xmc.xlinear` works in the venv; 1 otherwise
# (`python -m benchmarks.run` then skips the "pecos" peer with a note).
set -u
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="${1:-$HERE/.venv-pecos}"
PYTHON="${PYTHON:-python3}"

if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -m venv "$VENV" || { echo "setup_pecos_venv: cannot create venv $VENV" >&2; exit 1; }
fi
# libpecos declares torch/transformers/peft/datasets as requirements (for
# XR-Transformer); XR-Linear needs only numpy<2, scipy<1.14 and scikit-learn, so
# install those and libpecos itself with --no-deps (avoids a multi-GB CUDA torch).
"$VENV/bin/python" -m pip install --quiet 'numpy<2' 'scipy<1.14' scikit-learn \
    && "$VENV/bin/python" -m pip install --quiet --no-deps libpecos \
    || { echo "setup_pecos_venv: libpecos could not be installed; the pecos peer will be skipped" >&2; exit 1; }
if "$VENV/bin/python" -c "import numpy, pecos.xmc.xlinear; print('pecos OK, numpy', numpy.__version__)"; then
    echo "setup_pecos_venv: ready: $VENV/bin/python"
else
    echo "setup_pecos_venv: libpecos installed but does not import; the pecos peer will be skipped" >&2
    exit 1
fi
