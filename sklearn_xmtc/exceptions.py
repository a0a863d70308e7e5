"""Exceptions raised by sklearn_xmtc estimators."""

__all__ = ["DivergenceError"]


class DivergenceError(ValueError):
    """Training diverged: a loss or a network output stopped being finite or exploded.

    Raised by ``fit`` at the first training batch where it happens, naming the
    epoch, the batch and the learning rate(s), so that a fit never returns a
    model with meaningless weights. The rule (``sklearn_xmtc._training``):

    - a network output (logits, log-probabilities...) or the loss is NaN or
      infinite;
    - or the loss exceeds ``1e4 x max(loss of the first training batch, 1)``:
      losses of the bounded objectives here (cross-entropies, matching and OT
      distances) start near 1 and then fall, so a loss ten thousand times
      larger means the weights have blown up even while it is still finite;
    - or a weight is not finite when training ends.

    It is a ``ValueError`` (the usual cause is a learning rate too large for
    the data), so ``GridSearchCV``'s ``error_score`` handles it like any
    failed fit.
    """
