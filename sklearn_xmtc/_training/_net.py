"""Building the private skorch ``NeuralNet`` an estimator composes."""

from __future__ import annotations

import contextlib
import copy
import logging

import torch
from skorch import NeuralNet
from skorch.callbacks import EarlyStopping, GradientNormClipping, ProgressBar
from skorch.dataset import ValidSplit

from ..nn import TRAINING_ONLY_INPUTS
from ._callbacks import TopKValidation, WeightAveraging
from ._data import batch_collate

__all__ = ["build_net", "forward_eval", "iter_eval_batches", "resolve_device", "torch_seed"]

logger = logging.getLogger("sklearn_xmtc")


def resolve_device(device):
    """Map ``"auto"`` to ``"cuda"`` when available, else ``"cpu"``."""
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if str(device).startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device={device!r} was requested but CUDA is not available.")
    return str(device)


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


def build_net(module, criterion, *, lr, max_epochs, batch_size, device, verbose, seed,
              validation_fraction=None, patience=None, evaluate=None, callbacks=None,
              method_callbacks=(), gradient_clip=None, swa_start=None,
              optimizer=torch.optim.Adam, **net_kwargs):
    """A skorch ``NeuralNet`` for a :class:`TokenDataset`.

    Adds, in order: validation P@k (``evaluate``) when ``validation_fraction``
    is set, early stopping on ``valid_p@5`` with ``patience`` (best weights
    restored), weight averaging from epoch ``swa_start`` (the averaged weights
    are the final ones), gradient-norm clipping, a progress bar under
    ``verbose``, the method's own ``method_callbacks`` (``(name, callback)``
    pairs: learning-rate schedules) and the user's ``callbacks`` (deep-copied
    so the estimator's parameter stays intact).
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
    if verbose:
        cbs.append(("progress_bar", ProgressBar()))
    cbs.extend(method_callbacks)
    cbs.extend(_user_callbacks(callbacks))
    split = ValidSplit(validation_fraction, random_state=seed) if validation_fraction else None
    return NeuralNet(
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
