"""Training glue: the only sub-package that imports skorch.

Datasets that build whole padded batches, the private skorch ``NeuralNet``
composed inside every neural estimator, and its callbacks (validation P@k,
early stopping on it with best-weight restore).
"""

from ._callbacks import TopKValidation
from ._data import TokenDataset, batch_collate, dataset_label_rows
from ._net import build_net, forward_eval, resolve_device, torch_seed

__all__ = sorted([
    "TokenDataset", "TopKValidation", "batch_collate", "build_net",
    "dataset_label_rows", "forward_eval", "resolve_device", "torch_seed",
])
