"""Learning-rate schedules stepped every training batch (skorch callbacks)."""

from __future__ import annotations

import math

from skorch.callbacks import Callback
from torch.optim.lr_scheduler import LambdaLR

__all__ = ["InverseSqrtLR", "SlantedTriangularLR", "inverse_sqrt", "slanted_triangular"]


class slanted_triangular:  # noqa: N801 - a picklable function object for LambdaLR
    """Multiplier of eq. 15 of APLC-XLNet (Ye et al. 2020), after Howard & Ruder (2018).

    ``eta_t = eta_0 * t / t_w`` for ``t < t_w``, then
    ``eta_0 * (t_a - t) / (t_a - t_w)``, reaching 0 at ``t = t_a``.

    Parameters
    ----------
    warmup_steps : int
        t_w (0: no warm-up, the paper's setting).
    total_steps : int
        t_a, the number of optimiser steps of the whole training.
    """

    def __init__(self, warmup_steps, total_steps):
        self.warmup_steps = int(warmup_steps)
        self.total_steps = int(total_steps)

    def __call__(self, step):
        t_w, t_a = self.warmup_steps, self.total_steps
        if step < t_w:
            return step / t_w
        return max(0.0, (t_a - step) / max(t_a - t_w, 1))


class inverse_sqrt:  # noqa: N801 - a picklable function object for LambdaLR
    """Multiplier of the inverse-square-root schedule (Vaswani et al. 2017, eq. 3).

    ``min(s / t_w, sqrt(t_w / s))`` at optimiser step ``s = step + 1``: a linear
    warm-up to the peak learning rate over ``t_w`` steps, then a decay with
    ``1 / sqrt(s)``.
    """

    def __init__(self, warmup_steps):
        self.warmup_steps = max(int(warmup_steps), 1)

    def __call__(self, step):
        s, w = step + 1, self.warmup_steps
        return min(s / w, math.sqrt(w / s))


class _PerBatchLR(Callback):
    """A ``LambdaLR`` over every parameter group stepped every training batch; the
    multiplier comes from :meth:`multiplier` given the whole training's step count."""

    def multiplier(self, total_steps):  # pragma: no cover - abstract
        raise NotImplementedError

    def initialize(self):
        self.scheduler_ = None
        self.total_steps_ = None
        return self

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        dataset_train, _ = net.get_split_datasets(X, y)
        batch_size = net.get_params().get("iterator_train__batch_size", net.batch_size)
        if batch_size is None or batch_size == -1:
            batch_size = len(dataset_train)
        per_epoch = max(1, math.ceil(len(dataset_train) / batch_size))
        self.total_steps_ = per_epoch * net.max_epochs
        self.scheduler_ = LambdaLR(net.optimizer_, self.multiplier(self.total_steps_))

    def on_batch_begin(self, net, batch=None, training=False, **kwargs):
        if not training or self.scheduler_ is None:
            return
        names = self.group_names or [str(i) for i in range(len(net.optimizer_.param_groups))]
        for name, group in zip(names, net.optimizer_.param_groups):
            net.history.record_batch(f"lr_{name}", group["lr"])

    def on_batch_end(self, net, batch=None, training=False, **kwargs):
        if training and self.scheduler_ is not None:
            self.scheduler_.step()

    def on_train_end(self, net, **kwargs):
        self.scheduler_ = None  # it references the optimiser; keep pickles lean


class InverseSqrtLR(_PerBatchLR):
    """The inverse-square-root schedule (:class:`inverse_sqrt`), every batch.

    Parameters
    ----------
    warmup_steps : int or "auto", default="auto"
        t_w. "auto": the Transformer's 4000 steps scaled down for small data,
        ``min(4000, max(1, total_steps // 10))``.
    group_names : sequence of str or None, default=None
        Names of the parameter groups in the batch history (``lr_<name>``).
    """

    def __init__(self, warmup_steps="auto", group_names=None):
        self.warmup_steps = warmup_steps
        self.group_names = group_names

    def multiplier(self, total_steps):
        w = self.warmup_steps
        return inverse_sqrt(min(4000, max(1, total_steps // 10)) if w == "auto" else w)


class SlantedTriangularLR(_PerBatchLR):
    """Slanted triangular learning rates, every parameter group, every batch.

    At train begin the total step count t_a is ``max_epochs x`` the number of
    training batches per epoch (after the validation split); each group's
    learning rate is its initial one times :class:`slanted_triangular`, so
    discriminative learning rates keep their ratios. The learning rate used
    by each batch is recorded in the batch history as ``lr_<group>``.

    Parameters
    ----------
    warmup_steps : int, default=0
        t_w of eq. 15.
    group_names : sequence of str or None, default=None
        Names of the optimiser's parameter groups in the history (default
        ``lr_0``, ``lr_1``, ...).
    """

    def __init__(self, warmup_steps=0, group_names=None):
        self.warmup_steps = warmup_steps
        self.group_names = group_names

    def multiplier(self, total_steps):
        return slanted_triangular(self.warmup_steps, total_steps)
