"""
Saving models and resuming interrupted fits
===========================================

A fitted estimator is saved to a folder with ``est.save(path)`` and read back
with :func:`sklearn_xmtc.load`. The folder holds no pickle: weights and arrays
go to a ``safetensors`` file, the rest of the fitted state to JSON, so loading
a model runs none of its author's code. ``joblib`` still works for files you
made yourself. Neural estimators can also write a checkpoint at the end of
every epoch (``checkpoint_dir=``) and continue an interrupted fit from it
(``resume=True``).
"""

# %%
# Fit a small model
# -----------------
# Everything in this example is written under a temporary folder, removed at
# the end.
import os
import tempfile
import time

import joblib
import numpy as np

import sklearn_xmtc
from sklearn_xmtc import LinearXMTCClassifier, XMLCNNClassifier
from sklearn_xmtc.datasets import load_cooking

data = load_cooking()
X_train, Y_train = data.X_train[:2000], data.Y_train[:2000]
X_test = data.X_test[:500]

params = dict(embedding_dim=32, n_filters=16, filter_sizes=(2, 4), hidden_size=32,
              max_length=24, batch_size=32, lr=1e-2, max_epochs=4,
              device="cpu", random_state=0, verbose=0)
xmlcnn = XMLCNNClassifier(**params).fit(X_train, Y_train)
linear = LinearXMTCClassifier().fit(X_train, Y_train)

workdir = tempfile.TemporaryDirectory()
tmp = workdir.name


def same_predictions(a, b, X):
    """Whether two models return the same top-5 labels and scores."""
    ia, sa = a.predict_topk(X, k=5)
    ib, sb = b.predict_topk(X, k=5)
    return bool(np.array_equal(ia, ib) and np.array_equal(sa, sb))


# %%
# ``save`` and ``load``
# ---------------------
# ``save`` writes ``model.safetensors`` and ``estimator.json`` (the class, the
# parameters, the library versions and the SHA-256 of the tensor file);
# ``load`` checks that checksum before it rebuilds the estimator, and loads
# the networks on the CPU when no GPU is present (or with ``device="cpu"``).
for name, est in [("xmlcnn", xmlcnn), ("linear", linear)]:
    path = est.save(os.path.join(tmp, name))
    files = {f: os.path.getsize(os.path.join(path, f)) for f in sorted(os.listdir(path))}
    loaded = sklearn_xmtc.load(path)
    print(f"{name}: {files}")
    print(f"  loaded a {type(loaded).__name__}; same top-5 labels and scores: "
          f"{same_predictions(est, loaded, X_test)}")

# %%
# A modified file is refused rather than loaded: here we flip one byte of the
# tensor file.
tensor_file = os.path.join(tmp, "xmlcnn", "model.safetensors")
with open(tensor_file, "r+b") as fh:
    fh.seek(os.path.getsize(tensor_file) // 2)
    byte = fh.read(1)
    fh.seek(-1, os.SEEK_CUR)
    fh.write(bytes([byte[0] ^ 0xFF]))
try:
    sklearn_xmtc.load(os.path.join(tmp, "xmlcnn"))
except ValueError as err:
    print("ValueError:", str(err).replace(tmp, "<tmp>"))

# %%
# ``joblib`` for files you trust
# ------------------------------
# ``joblib.dump`` (or ``pickle``) is faster to write and keeps anything,
# including objects the safe format cannot hold, but loading a pickle runs
# whatever code the file names: use it only for files you made.
joblib_file = os.path.join(tmp, "xmlcnn.joblib")
joblib.dump(xmlcnn, joblib_file)
print("joblib round trip, same predictions:",
      same_predictions(xmlcnn, joblib.load(joblib_file), X_test))

# %%
# A resumable fit
# ---------------
# With ``checkpoint_dir``, a neural estimator writes its network's weights,
# optimiser, learning-rate schedule, callbacks' state, history and random
# state at the end of every epoch, into a sub-folder named after a hash of
# its parameters and training data.
#
# To interrupt a fit the way Ctrl-C does, we give it a skorch callback that
# raises :class:`KeyboardInterrupt` at the end of epoch 2. skorch stops
# training on a KeyboardInterrupt and returns the partly trained model. The
# callback runs before the checkpoint of that epoch is written, so the last
# complete checkpoint is the one of epoch 1. Each fit trains with a deep copy
# of the estimator's callbacks, so the "only once" flag lives on the class.
from skorch.callbacks import Callback


class InterruptOnce(Callback):
    """Raise KeyboardInterrupt at the end of epoch ``epoch``, once per process."""

    fired = False

    def __init__(self, epoch):
        self.epoch = epoch

    def on_epoch_end(self, net, **kwargs):
        if not InterruptOnce.fired and len(net.history) == self.epoch:
            InterruptOnce.fired = True
            raise KeyboardInterrupt

    def __repr__(self):
        return f"InterruptOnce(epoch={self.epoch})"


runs = os.path.join(tmp, "runs")
callbacks = [("interrupt", InterruptOnce(epoch=2))]
interrupted = XMLCNNClassifier(**params, callbacks=callbacks, checkpoint_dir=runs)
interrupted.fit(X_train, Y_train)
print("epochs of the interrupted fit:", interrupted.history_[:, "epoch"])
print("checkpoint folder:", os.listdir(runs))
print("its files:", sorted(os.listdir(os.path.join(runs, os.listdir(runs)[0]))))

# %%
# Resuming is the same call with ``resume=True``: the same parameters (the
# callback included) and the same data. The tokenizer and the other state
# built before training are read back, and training continues after the last
# complete epoch with the random state it had then. On the CPU, the result is
# the model an uninterrupted fit of the same seed gives.
start = time.perf_counter()
resumed = XMLCNNClassifier(**params, callbacks=callbacks, checkpoint_dir=runs, resume=True)
resumed.fit(X_train, Y_train)
print(f"resumed in {time.perf_counter() - start:.1f} s; epochs:", resumed.history_[:, "epoch"])
print("same predictions as the uninterrupted fit above:",
      same_predictions(resumed, xmlcnn, X_test))
print("same training losses:",
      np.allclose(resumed.history_[:, "train_loss"], xmlcnn.history_[:, "train_loss"]))

# %%
# What ``resume`` does not do
# ---------------------------
# A checkpoint is only ever resumed by the fit that made it: the folder name
# hashes every parameter except ``verbose``, ``checkpoint_dir``, ``resume``,
# ``n_threads`` and ``device``. Asking for more epochs is another fit, and
# ``resume=True`` refuses it, saying what differs. (``resume="auto"`` would
# start such a fit afresh in a folder of its own.)
longer = XMLCNNClassifier(**{**params, "max_epochs": 6}, callbacks=callbacks,
                          checkpoint_dir=runs, resume=True)
try:
    longer.fit(X_train, Y_train)
except ValueError as err:
    print("ValueError:", str(err).replace(tmp, "<tmp>"))

# %%
# Resuming a fit that has finished loads its networks instead of training
# them again:
start = time.perf_counter()
again = XMLCNNClassifier(**params, callbacks=callbacks, checkpoint_dir=runs, resume=True)
again.fit(X_train, Y_train)
print(f"finished fit loaded in {time.perf_counter() - start:.2f} s; same predictions:",
      same_predictions(again, resumed, X_test))

# %%
# ``save`` refuses parameters it cannot write safely, such as this callback
# object, with a :class:`TypeError` that names it; remove them first.
try:
    resumed.save(os.path.join(tmp, "resumed"))
except TypeError as err:
    print("TypeError:", str(err)[:160], "...")
resumed.set_params(callbacks=None)
print("saved to", os.path.basename(resumed.save(os.path.join(tmp, "resumed"))))

workdir.cleanup()
