"""Checkpoints of a neural fit, and resuming from them (``checkpoint_dir``, ``resume``).

One fit writes to its own folder ``checkpoint_dir/<Class>-<fit id>/``, where the
fit id is a SHA-256 of the estimator's parameters (all but ``verbose``,
``checkpoint_dir``, ``resume``, ``n_threads`` and ``device``) and of its training data (the texts, the
label matrix and ``classes_``): the folds of a ``GridSearchCV`` and its refit
each get their own folder, and a folder is only ever resumed by the fit that
made it. It holds

- ``manifest.json``: the class, the parameters (readable), the data's shape and
  digest, so that a refused resume can say what differs;
- ``prefit.safetensors``: the fitted state built before any network (tokenizer,
  label trees and clusters, neighbours, propensities, ...) and the torch RNG
  state after it;
- ``net-<k>.safetensors``, one per network in training order (one, or one per
  level of each label tree): the weights, the optimiser, the learning-rate
  schedulers and the other callbacks' state (early stopping, weight
  averaging), the history and the RNG state, rewritten at the end of every
  epoch and once more, marked done, when the network's training ends.

Every file is written with :func:`._files.write_tensor_file` (temporary file
then rename), so a kill during a write leaves the previous checkpoint whole.
Resuming restores the pre-network state instead of rebuilding it, loads the
finished networks, and continues the unfinished one from its last complete
epoch with the RNG state it had then: on the CPU the resumed fit ends with the
same weights as an unbroken one.
"""

from __future__ import annotations

import glob
import hashlib
import json
import logging
import os

import numpy as np
import torch
from skorch.callbacks import Callback, EarlyStopping

from .._training._accelerate import is_main_process
from ..utils._io import atomic_write_text
from ._codec import TRANSIENT_ATTRIBUTES, Decoder, Encoder, canonical_json
from ._files import read_tensor_file, write_tensor_file

__all__ = ["FitCheckpoint", "data_fingerprint"]

logger = logging.getLogger("sklearn_xmtc")

#: parameters that do not change what a fit computes (the thread count and the device
#: change only the rounding: a fit killed on one machine may resume on another)
UNFINGERPRINTED = ("verbose", "checkpoint_dir", "resume", "n_threads", "device")
# (``precision`` and the number of processes do change the arithmetic: they count)


def data_fingerprint(texts, Y, classes):
    """SHA-256 of the training texts, the CSR label matrix and the label names."""
    h = hashlib.sha256()
    for t in texts:
        b = t.encode("utf-8", "surrogatepass")
        h.update(len(b).to_bytes(8, "little"))
        h.update(b)
    Y = Y.tocsr()
    for a in (Y.indptr, Y.indices):
        h.update(np.ascontiguousarray(a, dtype=np.int64).tobytes())
    h.update(canonical_json(Encoder(lenient=True).encode(np.asarray(classes))).encode())
    return h.hexdigest()


def _params_tree(est):
    params = {k: v for k, v in est.get_params(deep=False).items() if k not in UNFINGERPRINTED}
    enc = Encoder(lenient=True)
    tree = enc.encode(params)
    h = hashlib.sha256(canonical_json(tree).encode())
    for key in sorted(enc.tensors):  # array-valued parameters count by value
        h.update(enc.tensors[key].numpy().tobytes())
    return tree, h.hexdigest()


def _rng_state(device):
    state = {"cpu": torch.get_rng_state()}
    if str(device).startswith("cuda"):
        state["cuda"] = torch.cuda.get_rng_state(torch.device(device))
    return state


def _set_rng_state(state, device):
    torch.set_rng_state(state["cpu"])
    if "cuda" in state and str(device).startswith("cuda"):
        torch.cuda.set_rng_state(state["cuda"], torch.device(device))


def _to_device(value, device):
    if isinstance(value, torch.Tensor):
        return value.to(device)
    if isinstance(value, list):
        return [_to_device(v, device) for v in value]
    if isinstance(value, tuple):
        return tuple(_to_device(v, device) for v in value)
    if isinstance(value, dict):
        return type(value)((k, _to_device(v, device)) for k, v in value.items())
    return value


def _is_scheduler(value):
    return hasattr(value, "state_dict") and hasattr(value, "optimizer") and \
        hasattr(value, "get_last_lr")


def _callback_states(net, own):
    """The fitted state (public attributes ending in ``_``) of every callback but ``own``;
    a learning-rate scheduler by its ``state_dict``. Values the safe format cannot hold
    (a progress bar's terminal handle) are left out: they carry no training state."""
    out = {}
    for name, cb in net.callbacks_:
        if cb is own:
            continue
        state = {}
        for attr, value in vars(cb).items():
            if not attr.endswith("_") or attr.startswith("_"):
                continue
            if _is_scheduler(value):
                state[attr] = {"scheduler": value.state_dict()}
                continue
            try:
                Encoder().encode(value)
            except TypeError:
                continue
            state[attr] = {"value": value}
        if state:
            out[name] = state
    return out


def _restore_callbacks(net, states):
    callbacks = dict(net.callbacks_)
    for name, state in states.items():
        cb = callbacks.get(name)
        if cb is None:
            continue
        for attr, saved in state.items():
            if "scheduler" in saved:
                scheduler = getattr(cb, attr, None)
                if scheduler is not None:
                    scheduler.load_state_dict(saved["scheduler"])
                    for group, lr in zip(scheduler.optimizer.param_groups,
                                         scheduler.get_last_lr()):
                        group["lr"] = lr
            else:
                setattr(cb, attr, _to_device(saved["value"], net.device))


class _Checkpointing(Callback):
    """Writes network ``index``'s checkpoint every epoch and when its training ends;
    with ``restore``, first puts back the callbacks' and RNG state of a checkpoint
    (on train begin, after every other callback has reset its own)."""

    def __init__(self, store, index, restore=None):
        self.store = store
        self.index = index
        self.restore = restore

    def on_train_begin(self, net, **kwargs):
        saved, self.restore = self.restore, None
        if saved is not None:
            _restore_callbacks(net, saved["callbacks"])
            net._reference_loss = saved["reference_loss"]
            _set_rng_state(saved["rng"], net.device)

    def on_epoch_end(self, net, **kwargs):
        self.store.write_net(self.index, net, self, done=False)

    def on_train_end(self, net, **kwargs):
        stopped = any(isinstance(cb, EarlyStopping) and cb.misses_ >= cb.patience
                      for _, cb in net.callbacks_)
        if len(net.history) >= net.max_epochs or stopped:  # not a KeyboardInterrupt
            self.store.write_net(self.index, net, self, done=True)


class FitCheckpoint:
    """The checkpoint folder of one fit (module docstring); made by :meth:`open`."""

    def __init__(self, folder, resuming):
        self.folder = folder
        self.resuming = resuming
        self._next = 0

    # -- opening -----------------------------------------------------------------
    @classmethod
    def open(cls, est, texts, Y):
        """The fit's checkpoint (None without ``checkpoint_dir``); refuses ``resume=True``
        when the folder holds no checkpoint of this fit, saying what differs."""
        root, resume = getattr(est, "checkpoint_dir", None), getattr(est, "resume", False)
        if root is None:
            if resume:
                raise ValueError(f"resume={resume!r} needs checkpoint_dir (the folder "
                                 "the interrupted fit wrote its checkpoints to).")
            return None
        root = os.fspath(root)
        params, params_sha = _params_tree(est)
        data_sha = data_fingerprint(texts, Y, est.classes_)
        fit_id = hashlib.sha256((params_sha + data_sha).encode()).hexdigest()[:16]
        name = type(est).__name__
        folder = os.path.join(root, f"{name}-{fit_id}")
        manifest = {"class": name, "params": params, "params_sha256": params_sha,
                    "data": {"sha256": data_sha, "n_samples": len(texts),
                             "n_labels": int(Y.shape[1]), "n_positives": int(Y.nnz)}}
        found = os.path.isfile(os.path.join(folder, "manifest.json"))
        for stray in glob.glob(os.path.join(folder, ".tmp-*")) if is_main_process() else ():
            os.unlink(stray)  # the temporary file of a write that was killed
        if resume is True and not found:
            raise ValueError(_mismatch_message(root, name, manifest))
        if found and resume:
            logger.info("resuming %s from %s", name, folder)
            return cls(folder, resuming=True)
        if is_main_process():  # in a distributed launch rank 0 writes, the others train
            os.makedirs(folder, exist_ok=True)
            for old in glob.glob(os.path.join(folder, "*.safetensors")):
                os.unlink(old)  # a fresh fit of the same data and parameters starts over
            atomic_write_text(os.path.join(folder, "manifest.json"),
                              json.dumps(manifest, indent=1))
        return cls(folder, resuming=False)

    # -- pre-network state -------------------------------------------------------------
    @property
    def _prefit_path(self):
        return os.path.join(self.folder, "prefit.safetensors")

    def write_prefit(self, est, device):
        if not is_main_process():
            return
        params = set(est.get_params(deep=False))
        skip = {"device_", "_checkpoint", *TRANSIENT_ATTRIBUTES}
        state = {k: v for k, v in vars(est).items() if k not in params and k not in skip}
        enc = Encoder()
        tree = enc.encode({"state": state, "rng": _rng_state(device)})
        write_tensor_file(self._prefit_path, tree, enc.tensors)

    def restore_prefit(self, est, device):
        """Put back the saved pre-network state; False when there is none."""
        if not (self.resuming and os.path.isfile(self._prefit_path)):
            return False
        tree, tensors, _ = read_tensor_file(self._prefit_path)
        saved = Decoder(tensors).decode(tree)
        est.__dict__.update(saved["state"])
        _set_rng_state(saved["rng"], device)
        return True

    # -- networks -------------------------------------------------------------------
    def _net_path(self, index):
        return os.path.join(self.folder, f"net-{index:03d}.safetensors")

    def write_net(self, index, net, own, *, done):
        if not is_main_process():
            return
        enc = Encoder()
        tree = {"epoch": len(net.history), "done": bool(done),
                **enc.network(net, "checkpoint"),  # weights, history, optimiser
                "callbacks": enc.encode(_callback_states(net, own)),
                "reference_loss": enc.encode(getattr(net, "_reference_loss", None)),
                "rng": enc.encode(_rng_state(net.device))}
        write_tensor_file(self._net_path(index), tree, enc.tensors)

    def _read_net(self, index):
        path = self._net_path(index)
        if not (self.resuming and os.path.isfile(path)):
            return None
        tree, tensors, _ = read_tensor_file(path)
        dec = Decoder(tensors)
        return {**dec.network(tree),
                **{k: dec.decode(tree[k]) for k in ("epoch", "done", "callbacks",
                                                      "reference_loss", "rng")}}

    def detach(self, net):
        """Remove this checkpoint's callback from a trained net (the fitted estimator
        keeps no reference to the folder)."""
        net.callbacks = [cb for cb in net.callbacks
                         if not (isinstance(cb, tuple) and cb[0] == "checkpoint_")]
        if hasattr(net, "callbacks_"):
            net.callbacks_ = [(n, cb) for n, cb in net.callbacks_ if n != "checkpoint_"]

    def train(self, net, dataset):
        """Train ``net`` (the next network of the fit) on ``dataset``, resuming it from its
        checkpoint when there is one; returns ``net``."""
        from skorch.history import History

        index, self._next = self._next, self._next + 1
        saved = self._read_net(index)
        if saved is None:
            net.callbacks = [*net.callbacks, ("checkpoint_", _Checkpointing(self, index))]
            net.fit(dataset, None)
            return net
        restore = None if saved["done"] else saved
        net.callbacks = [*net.callbacks, ("checkpoint_", _Checkpointing(self, index, restore))]
        net.initialize()
        net.module_.load_state_dict(saved["state_dict"])
        if saved["optimizer"] is not None:
            net.optimizer_.load_state_dict(saved["optimizer"])
        net.history = History(saved["history"])
        if saved["done"]:
            _set_rng_state(saved["rng"], net.device)
            logger.info("network %d: finished in the checkpoint, loaded", index)
            return net
        remaining = max(net.max_epochs - saved["epoch"], 0)
        logger.info("network %d: resuming after epoch %d (%d more)", index, saved["epoch"],
                    remaining)
        net.partial_fit(dataset, None, epochs=remaining)
        return net


def _mismatch_message(root, name, wanted):
    """Why ``resume=True`` finds nothing to resume: no checkpoint of this class, or the
    nearest one was made for other data or other parameters (which ones)."""
    others = []
    for path in sorted(glob.glob(os.path.join(root, f"{name}-*", "manifest.json"))):
        try:
            with open(path, encoding="utf-8") as fh:
                others.append((os.path.dirname(path), json.load(fh)))
        except (OSError, ValueError):
            continue
    if not others:
        return (f"resume=True, but {root} holds no checkpoint of a {name} fit; fit with "
                "resume=False (or resume='auto', which starts afresh when there is none).")
    lines = []
    for folder, got in others[:3]:
        why = []
        if got.get("data", {}).get("sha256") != wanted["data"]["sha256"]:
            a, b = got.get("data", {}), wanted["data"]
            shape = ", ".join(f"{k} {a.get(k)} then, {b[k]} now" for k in
                              ("n_samples", "n_labels", "n_positives") if a.get(k) != b[k])
            why.append("other training data" + (f" ({shape})" if shape else
                                                " (same shape, other contents)"))
        if got.get("params_sha256") != wanted["params_sha256"]:
            then, now = got.get("params", {}).get("items", {}), wanted["params"]["items"]
            diff = sorted(k for k in set(then) | set(now) if then.get(k) != now.get(k))
            why.append("other parameters (" + ", ".join(diff[:6]) + ")" if diff else
                       "other parameters")
        lines.append(f"{os.path.basename(folder)}: {' and '.join(why)}")
    return (f"resume=True, but none of the {len(others)} {name} checkpoint(s) in {root} was "
            f"made for these data and parameters, so none can be resumed: "
            + "; ".join(lines) + ". Fit with the data and parameters of the interrupted fit, "
            "or with resume=False to start afresh.")
