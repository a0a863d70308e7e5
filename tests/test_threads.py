"""Thread counts under CPU contention: ``n_threads`` and the CLI's OpenMP wait policy."""

import os
import subprocess
import sys

import pytest
import torch

from sklearn_xmtc._registry import make_estimator
from sklearn_xmtc._training import _threads, free_cores, resolve_n_threads
from sklearn_xmtc.datasets import make_tiny_xmtc

X, Y = make_tiny_xmtc(n_samples=40, n_labels=4, random_state=0)
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_fit_trains_with_n_threads_and_restores_torch_setting():
    before = torch.get_num_threads()
    est = make_estimator("xmlcnn", {"n_threads": 1, "max_epochs": 1}, setting=0).fit(X, Y)
    assert est.n_threads_ == 1 and torch.get_num_threads() == before
    est = make_estimator("xmlcnn", {"max_epochs": 1}, setting=0).fit(X, Y)
    assert est.n_threads_ == before  # None leaves torch's own setting


def test_auto_uses_the_idle_cores(monkeypatch):
    counters = iter([(100, 400), (100 + 150, 400 + 200)])  # 150 of 200 jiffies idle
    monkeypatch.setattr(_threads, "_cpu_times", lambda: next(counters))
    monkeypatch.setattr(_threads.os, "cpu_count", lambda: 2)
    monkeypatch.setattr(_threads, "_usable_cores", lambda: 2)
    monkeypatch.setattr(_threads.time, "sleep", lambda s: None)
    assert free_cores() == pytest.approx(1.5)
    counters = iter([(0, 0), (10, 200)])  # both cores busy: still one thread
    monkeypatch.setattr(_threads, "_cpu_times", lambda: next(counters))
    assert resolve_n_threads("auto") == 1
    assert resolve_n_threads(None) is None and resolve_n_threads(3) == 3


def test_free_cores_reads_this_machine():
    assert 0.0 <= free_cores(0.05) <= (os.cpu_count() or 1)


def test_bad_n_threads_is_refused():
    from sklearn.utils._param_validation import InvalidParameterError

    for bad in (0, "all", 1.5):
        with pytest.raises(InvalidParameterError, match="n_threads"):
            make_estimator("xmlcnn", {"n_threads": bad}, setting=0).fit(X, Y)


@pytest.mark.parametrize("preset,torch_first,expected", [
    (None, False, "PASSIVE"),    # the CLI sets it before torch starts
    ("ACTIVE", False, "ACTIVE"),  # the user's choice stays
    (None, True, None),          # too late once torch is imported: left alone
])
def test_cli_sets_a_passive_openmp_policy_before_torch(preset, torch_first, expected):
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    if preset:
        env["OMP_WAIT_POLICY"] = preset
    code = ("import os, sys\n" + ("import torch\n" if torch_first else "") +
            "from sklearn_xmtc._cli import passive_openmp\npassive_openmp()\n"
            "print(os.environ.get('OMP_WAIT_POLICY'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={**env, "PYTHONPATH": REPO}, cwd=REPO, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == str(expected)
