"""Training glue: with ``_persist`` (checkpoints), the only sub-package that imports
skorch.

Datasets that build whole padded batches, the private skorch ``NeuralNet``
composed inside every neural estimator, its callbacks (validation P@k, early
stopping on it with best-weight restore, weight averaging), thread counts
(``_threads``) and training through Hugging Face Accelerate (``_accelerate``).
"""

from ._callbacks import TopKValidation, WeightAveraging
from ._cosine import cosine_annealing
from ._data import TokenDataset, batch_collate, dataset_label_rows
from ._net import build_net, forward_eval, iter_eval_batches, resolve_device, torch_seed
from ._schedules import InverseSqrtLR, SlantedTriangularLR, inverse_sqrt, slanted_triangular
from ._threads import free_cores, resolve_n_threads, torch_threads

__all__ = sorted([
    "InverseSqrtLR", "SlantedTriangularLR", "TokenDataset", "inverse_sqrt", "TopKValidation", "batch_collate", "build_net",
    "cosine_annealing", "dataset_label_rows", "forward_eval", "iter_eval_batches", "resolve_device",
    "WeightAveraging", "slanted_triangular", "torch_seed", "free_cores", "resolve_n_threads",
    "torch_threads",
])
