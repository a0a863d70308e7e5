"""Training through Hugging Face Accelerate: two CPU processes over gloo, and mixed
precision (issue 20, item 1)."""

import collections
import json
import os
import pickle
import socket
import subprocess
import sys

import numpy as np
import pytest
import torch
from skorch.callbacks import Callback

from sklearn_xmtc._registry import make_estimator
from sklearn_xmtc.datasets import make_tiny_xmtc
from sklearn_xmtc.metrics import precision_at_k

pytest.importorskip("accelerate", reason="needs the `accelerate` extra")

X, Y = make_tiny_xmtc(n_samples=80, n_labels=8, random_state=0)
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(REPO, "tests", "scripts", "accelerate_fit.py")


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _row(ids):
    return " ".join(map(str, np.trim_zeros(np.asarray(ids), "b")))


def test_two_cpu_processes_split_every_batch_and_end_with_the_same_weights(tmp_path):
    env = {**os.environ, "PYTHONPATH": REPO, "OMP_NUM_THREADS": "1"}
    run = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node",
                          "2", "--master_port", str(_free_port()), SCRIPT, str(tmp_path)],
                         capture_output=True, text=True, env=env, cwd=REPO, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    ranks = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert [r["world_size"] for r in ranks] == [2, 2]
    assert ranks[0]["weights"] == ranks[1]["weights"]  # gradients were averaged (DDP)
    assert all(r["net"] == "XMTCNet" for r in ranks)  # a plain net after the fit
    one = make_estimator("xmlcnn", {"max_epochs": 3, "dropout": 0.0}, setting=0).fit(X, Y)
    flat, off = one.tokenizer_.encode(X, one.max_length)
    every_row = collections.Counter(_row(flat[off[i]:off[i + 1]]) for i in range(len(X)))
    for epoch in range(3):
        a, b = (collections.Counter(r["batches"][epoch]) for r in ranks)
        assert not a & b  # disjoint halves of every batch ...
        assert a + b == every_row  # ... that together cover the training set once
        assert len(ranks[0]["batches"][epoch]) == len(X) // 2
    # the same optimiser steps as one process (each batch split, not each process a
    # batch), but not the same batch order: close, not equal
    idx, scores = one.predict_topk(X, k=3)
    two_idx, two_scores = np.asarray(ranks[0]["idx"]), np.asarray(ranks[0]["scores"])
    assert abs(precision_at_k(Y, two_idx, k=1) - precision_at_k(Y, idx, k=1)) <= 0.1
    assert np.abs(two_scores - scores).mean() < 0.02
    assert (two_idx[:, 0] == idx[:, 0]).mean() >= 0.75


class _OutputDtype(Callback):
    """The dtype of every Linear layer's output while training (accelerate converts the
    network's own outputs back to float32, so they cannot show autocast)."""

    def initialize(self):
        self.seen_, self._hooks = set(), []
        return self

    def on_train_begin(self, net, **kwargs):
        def record(module, inputs, output):
            if module.training:
                self.seen_.add(str(output.dtype))

        self._hooks = [m.register_forward_hook(record) for m in net.module_.modules()
                       if isinstance(m, torch.nn.Linear)]

    def on_train_end(self, net, **kwargs):
        for h in self._hooks:
            h.remove()
        self._hooks = []


def test_bf16_mixed_precision_trains_under_autocast_and_predicts_in_float32():
    est = make_estimator("xmlcnn", {"precision": "bf16", "max_epochs": 2,
                                    "callbacks": [("dtype", _OutputDtype())]}, setting=0)
    est.fit(X, Y)
    assert dict(est.net_.callbacks_)["dtype"].seen_ == {"torch.bfloat16"}
    assert type(est.net_).__name__ == "XMTCNet" and not hasattr(est.net_, "accelerator")
    idx, scores = est.predict_topk(X, k=3)
    assert scores.dtype == np.float32
    back = pickle.loads(pickle.dumps(est))
    assert np.array_equal(back.predict_topk(X, k=3)[0], idx)
    full = make_estimator("xmlcnn", {"max_epochs": 2}, setting=0).fit(X, Y)
    assert (full.predict_topk(X, k=1)[0] == idx[:, :1]).mean() >= 0.8  # close to float32
    assert torch.get_default_dtype() == torch.float32
