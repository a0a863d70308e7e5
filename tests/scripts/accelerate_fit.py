"""Run by ``tests/test_accelerate.py`` under ``accelerate launch --cpu --num_processes 2``:
each process fits the same XML-CNN (dropout 0) and writes, for its rank, the rows of
every training batch it saw (as token-id strings), a digest of its final weights and
its predictions on the training texts."""

import hashlib
import json
import os
import sys

import numpy as np
from skorch.callbacks import Callback

from sklearn_xmtc._registry import make_estimator
from sklearn_xmtc.datasets import make_tiny_xmtc


class RecordBatches(Callback):
    def __init__(self, pad_id=0):
        self.pad_id = pad_id

    def initialize(self):
        self.rows_ = []
        return self

    def on_epoch_begin(self, net, **kwargs):
        self.rows_.append([])

    def on_batch_begin(self, net, batch=None, training=False, **kwargs):
        if training:
            ids = batch[0]["input_ids"].cpu().numpy()
            self.rows_[-1].extend(" ".join(map(str, np.trim_zeros(r, "b"))) for r in ids)


def main(out):
    X, Y = make_tiny_xmtc(n_samples=80, n_labels=8, random_state=0)
    est = make_estimator("xmlcnn", {"max_epochs": 3, "dropout": 0.0,
                                    "callbacks": [("record", RecordBatches())]}, setting=0)
    est.fit(X, Y)
    rank = int(os.environ.get("RANK", "0"))
    weights = hashlib.sha256(b"".join(
        v.detach().cpu().numpy().tobytes() for v in est.net_.module_.state_dict().values()))
    record = dict(est.net_.callbacks_)["record"]
    idx, scores = est.predict_topk(X, k=3)
    with open(os.path.join(out, f"rank{rank}.json"), "w") as fh:
        json.dump({"world_size": int(os.environ.get("WORLD_SIZE", "1")),
                   "batches": record.rows_, "weights": weights.hexdigest(),
                   "idx": idx.tolist(), "scores": scores.tolist(),
                   "pad_id": est.tokenizer_.pad_id, "net": type(est.net_).__name__}, fh)


if __name__ == "__main__":
    main(sys.argv[1])
