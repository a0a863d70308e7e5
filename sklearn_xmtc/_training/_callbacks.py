"""skorch callbacks used by every neural estimator."""

from __future__ import annotations

import torch
from skorch.callbacks import Callback

__all__ = ["TopKValidation", "WeightAveraging"]


class TopKValidation(Callback):
    """Record validation ranking metrics (default P@1 and P@5) each epoch.

    Parameters
    ----------
    evaluate : callable ``(net, dataset_valid) -> dict``
        Computes the metrics on the validation split with the estimator's own
        prediction path (trees, beams and generated sets included); the keys
        become history columns (``valid_p@1``, ``valid_p@5``) that
        ``EarlyStopping`` can monitor and skorch's epoch table prints.
    """

    def __init__(self, evaluate):
        self.evaluate = evaluate

    def on_epoch_end(self, net, dataset_train=None, dataset_valid=None, **kwargs):
        if dataset_valid is None or len(dataset_valid) == 0:
            return
        for key, value in self.evaluate(net, dataset_valid).items():
            net.history.record(key, float(value))


class WeightAveraging(Callback):
    """Stochastic weight averaging over epochs (Izmailov et al. 2018).

    From the end of epoch ``start`` (1-based: ``start=1`` averages every
    epoch) the module's floating-point parameters are folded into a running
    mean; when training ends the mean replaces the weights, so the fitted
    network is the average of the end-of-epoch snapshots ``start, ...,
    max_epochs``.  Buffers are kept as they are (the networks here have no
    batch norm).  Registered after early stopping, so the averaged weights win
    over the restored best epoch when both are on.

    Parameters
    ----------
    start : int
        First epoch whose end-of-epoch weights enter the average.
    """

    def __init__(self, start):
        self.start = start

    def initialize(self):
        self.n_averaged_ = 0
        self.average_ = None
        return self

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        self.initialize()

    def on_epoch_end(self, net, **kwargs):
        if len(net.history) < self.start:
            return
        params = [p.detach() for p in net.module_.parameters() if p.is_floating_point()]
        with torch.no_grad():
            if self.average_ is None:
                self.average_ = [p.clone() for p in params]
            else:
                w = 1.0 / (self.n_averaged_ + 1)
                for avg, p in zip(self.average_, params):
                    avg.lerp_(p, w)  # avg + w * (p - avg): the running mean
        self.n_averaged_ += 1
        net.history.record("swa_n", self.n_averaged_)

    def on_train_end(self, net, X=None, y=None, **kwargs):
        if self.average_ is None:
            return
        params = [p for p in net.module_.parameters() if p.is_floating_point()]
        with torch.no_grad():
            for p, avg in zip(params, self.average_):
                p.copy_(avg)
        self.average_ = None  # do not pickle a second copy of the weights
