"""Cosine annealing of the learning rate over the epochs (skorch callback)."""

from __future__ import annotations

from skorch.callbacks import LRScheduler
from torch.optim.lr_scheduler import CosineAnnealingLR

__all__ = ["cosine_annealing"]


def cosine_annealing(max_epochs, eta_min=0.0):
    """A ``("lr_scheduler", LRScheduler)`` pair for ``build_net(callbacks=...)``.

    The learning rate follows ``CosineAnnealingLR`` with ``T_max=max_epochs``,
    stepped once per epoch (OTSeq2Set, Cao and Zhang 2022, section 3.4).
    """
    return ("lr_scheduler", LRScheduler(policy=CosineAnnealingLR, T_max=int(max_epochs),
                                        eta_min=eta_min, step_every="epoch"))
