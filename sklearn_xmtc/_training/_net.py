"""Building the private skorch ``NeuralNet`` an estimator composes."""

from __future__ import annotations

import contextlib
import copy
import logging
import re

import torch
from skorch import NeuralNet
from skorch.callbacks import EarlyStopping, GradientNormClipping, ProgressBar
from skorch.dataset import ValidSplit

from ..exceptions import DivergenceError
from ..nn import TRAINING_ONLY_INPUTS
from ._accelerate import is_main_process
from ._callbacks import TopKValidation, WeightAveraging
from ._data import batch_collate

__all__ = ["XMTCNet", "build_net", "forward_eval", "iter_eval_batches", "resolve_device",
           "torch_seed"]

logger = logging.getLogger("sklearn_xmtc")


_DEVICE = re.compile(r"(auto|cpu|cuda|cuda:\d+|mps)")


def resolve_device(device):
    """Map ``"auto"`` to ``"cuda"`` when available, else ``"cpu"``; check the others.

    Accepted: "auto", "cpu", "cuda", "cuda:N" (an existing GPU) and "mps" (Apple
    GPUs, when available). Anything else ("tpu", "meta", "cuda:x") is a ValueError.
    """
    device = str(device)
    if not _DEVICE.fullmatch(device):
        raise ValueError(f"device={device!r} is not supported: use 'auto', 'cpu', 'cuda', "
                         "'cuda:N' or 'mps'.")
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ValueError(f"device={device!r} was requested but CUDA is not available.")
        index = int(device.partition(":")[2] or 0)
        if index >= torch.cuda.device_count():
            raise ValueError(f"device={device!r}: only {torch.cuda.device_count()} CUDA "
                             "device(s) are visible.")
    if device == "mps" and not torch.backends.mps.is_available():
        raise ValueError("device='mps' was requested but MPS is not available.")
    return device


@contextlib.contextmanager
def torch_seed(seed, device="cpu"):
    """Seed torch inside a forked RNG state, leaving the global state untouched."""
    devices = [torch.device(device).index or 0] if str(device).startswith("cuda") else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield


def _user_callbacks(callbacks):
    if callbacks is None:
        return []
    out = []
    for i, cb in enumerate(callbacks):
        if isinstance(cb, tuple) and len(cb) == 2 and isinstance(cb[0], str):
            out.append((cb[0], copy.deepcopy(cb[1])))
        elif hasattr(cb, "on_epoch_end"):
            out.append((f"user_{i}_{type(cb).__name__}", copy.deepcopy(cb)))
        else:
            raise TypeError(
                f"callbacks[{i}] must be a skorch Callback or a (name, Callback) pair, "
                f"got {type(cb).__name__}."
            )
    return out


_SAME_AS_MODULE_ = "<module_>"  # a pickled net's `module` is its `module_`

#: a batch loss above this many times max(first batch loss, 1) is divergence
DIVERGENCE_FACTOR = 1e4


class XMTCNet(NeuralNet):
    """The private skorch net of every estimator: a ``NeuralNet`` that stops a
    diverging fit with :class:`~sklearn_xmtc.exceptions.DivergenceError`
    (see its docstring for the rule) instead of training on."""

    def get_loss(self, y_pred, y_true, X=None, training=False):
        if training:
            bad = [k for k, v in y_pred.items() if torch.is_tensor(v) and v.is_floating_point()
                   and not bool(torch.isfinite(v).all())] if isinstance(y_pred, dict) else []
            if bad:
                self._diverged(f"the network output {bad} is not finite")
        loss = super().get_loss(y_pred, y_true, X=X, training=training)
        if training:
            value = float(loss.detach())
            if self._reference_loss is None:
                self._reference_loss = value
            limit = DIVERGENCE_FACTOR * max(self._reference_loss, 1.0)
            if not value < limit:  # NaN fails this test too
                self._diverged(f"the loss is {value:.3g} (the first batch's was "
                               f"{self._reference_loss:.3g}; the limit {limit:.3g})")
        return loss

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        self._reference_loss = None
        super().on_train_begin(net, X=X, y=y, **kwargs)

    def on_train_end(self, net, X=None, y=None, **kwargs):
        super().on_train_end(net, X=X, y=y, **kwargs)
        bad = [n for n, p in self.module_.named_parameters() if not bool(torch.isfinite(p).all())]
        if bad:
            self._diverged(f"the weights {bad[:3]} are not finite after training")

    def _diverged(self, what):
        epoch = len(self.history)
        batch = len(self.history[-1, "batches"]) if epoch else 0
        rates = sorted({g["lr"] for g in self.optimizer_.param_groups})
        raise DivergenceError(
            f"Training diverged at epoch {epoch}, batch {batch}: {what}. Learning "
            f"rate(s) {', '.join(f'{r:g}' for r in rates)}; lower the learning rate "
            "(or set gradient clipping) and fit again.")

    def drop_optimizer(self):
        """Forget the optimiser state (Adam moments: twice the weights) and the learning-
        rate schedulers that reference it, once training is over (fitted estimators
        keep them only with ``keep_optimizer=True``)."""
        self.optimizer_ = None
        for _, cb in self.callbacks_:
            if hasattr(cb, "lr_scheduler_"):
                cb.lr_scheduler_ = None
        return self

    def __getstate__(self):
        state = super().__getstate__()
        state.pop("_reference_loss", None)
        if state.get("module") is self.__dict__.get("module_"):
            # the constructor argument is the trained module itself: pickling both would
            # store the weights twice (skorch pickles module_ apart from the rest)
            state["module"] = _SAME_AS_MODULE_
        return state

    def __setstate__(self, state):
        same = isinstance(state.get("module"), str) and state["module"] == _SAME_AS_MODULE_
        super().__setstate__(state)
        if same:
            self.module = self.module_


def build_net(module, criterion, *, lr, max_epochs, batch_size, device, verbose, seed,
              validation_fraction=None, patience=None, evaluate=None, callbacks=None,
              method_callbacks=(), gradient_clip=None, swa_start=None,
              optimizer=torch.optim.Adam, accelerator=None, **net_kwargs):
    """A skorch ``NeuralNet`` for a :class:`TokenDataset`.

    Adds, in order: validation P@k (``evaluate``) when ``validation_fraction``
    is set, early stopping on ``valid_p@5`` with ``patience`` (best weights
    restored), weight averaging from epoch ``swa_start`` (the averaged weights
    are the final ones), gradient-norm clipping, a progress bar under
    ``verbose``, the method's own ``method_callbacks`` (``(name, callback)``
    pairs: learning-rate schedules) and the user's ``callbacks`` (deep-copied
    so the estimator's parameter stays intact). With an ``accelerator`` the net
    trains through Hugging Face Accelerate (``_accelerate.py``).
    """
    cbs = []
    if validation_fraction:
        cbs.append(("valid_topk", TopKValidation(evaluate)))
        if patience:
            cbs.append(("early_stopping", EarlyStopping(
                monitor="valid_p@5", lower_is_better=False, patience=patience,
                load_best=True, sink=logger.info)))
    if swa_start is not None:
        cbs.append(("swa", WeightAveraging(swa_start)))
    if gradient_clip:
        cbs.append(("gradient_clip", GradientNormClipping(gradient_clip_value=gradient_clip)))
    if verbose and is_main_process():  # one bar, not one per process of a launch
        cbs.append(("progress_bar", ProgressBar()))
    cbs.extend(method_callbacks)
    cbs.extend(_user_callbacks(callbacks))
    split = ValidSplit(validation_fraction, random_state=seed) if validation_fraction else None
    cls = XMTCNet
    if accelerator is not None:  # an accelerated fit (see ``_accelerate.py``)
        from ._accelerate import accelerated_net_class

        cls = accelerated_net_class()
        net_kwargs.update(accelerator=accelerator, unwrap_after_train=True,
                          # the epoch table: on the main process only, and only if verbose
                          callbacks__print_log__sink=accelerator.print if verbose else print)
        device = str(accelerator.device)
    return cls(
        module=module, criterion=criterion, optimizer=optimizer, lr=lr,
        max_epochs=max_epochs, batch_size=batch_size, device=device,
        verbose=int(verbose), train_split=split, callbacks=cbs,
        iterator_train__shuffle=True, iterator_train__collate_fn=batch_collate,
        iterator_valid__collate_fn=batch_collate, predict_nonlinearity=None,
        **net_kwargs,
    )


def forward_eval(net, X):
    """Run the module on a batch dict in eval mode without gradients."""
    with torch.no_grad():
        net.module_.eval()
        return net.infer(X)


def iter_eval_batches(net, dataset):
    """The one place evaluation batches are made: the input dicts of
    ``dataset``'s batches on ``net``'s device, without the inputs only training
    uses (``labels``), ready for :func:`forward_eval`."""
    for X, _ in net.get_iterator(dataset, training=False):
        yield {k: v.to(net.device) for k, v in X.items() if k not in TRAINING_ONLY_INPUTS}
