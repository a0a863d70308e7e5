"""skorch callbacks used by every neural estimator."""

from __future__ import annotations

from skorch.callbacks import Callback

__all__ = ["TopKValidation"]


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
