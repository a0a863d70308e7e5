"""A dataset of token-id sequences and sparse label rows that yields whole,
padded batches (``__getitems__``), so no per-sample Python work is done."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch
from torch.utils.data import Dataset, Subset

__all__ = ["TokenDataset", "batch_collate", "dataset_label_rows", "padded_rows"]


def padded_rows(indptr, indices, rows, fill=-1):
    """Ragged rows of a CSR structure as a (len(rows), max_len) int64 array.

    Row ``r`` holds ``indices[indptr[r]:indptr[r + 1]]`` followed by ``fill``.
    """
    rows = np.asarray(rows, dtype=np.int64)
    starts, ends = indptr[rows], indptr[rows + 1]
    lengths = ends - starts
    width = max(int(lengths.max(initial=0)), 1)
    pos = np.arange(width)
    src = starts[:, None] + pos[None, :]
    valid = pos[None, :] < lengths[:, None]
    out = np.full((len(rows), width), fill, dtype=np.int64)
    out[valid] = indices[src[valid]]
    return out


class TokenDataset(Dataset):
    """Token ids (flat array + offsets) and optional CSR labels.

    Indexing with a list of positions (what ``DataLoader`` does through
    ``__getitems__``) returns one ready batch ``(X, y)``:

    - ``X["input_ids"]`` int64 (B, T) padded with ``pad_id``,
      ``X["attention_mask"]`` bool (B, T);
    - with ``labels_in_input``: ``X["labels"]`` int64 (B, P), the positive
      label indices padded with -1 (methods that sample candidates or
      generate sequences need them in the forward pass);
    - ``X[name]`` for every entry of ``fields``: per-sample arrays whose
      first axis is the sample (parent candidates of a tree level, neighbour
      label tokens...), sliced to the batch;
    - ``y``: dense float32 (B, L) targets (``target="dense"``), the padded
      positives (``target="indices"``), or a (B,) zero placeholder without labels.
    """

    def __init__(self, flat_ids, offsets, pad_id, Y=None, *, target="dense",
                 labels_in_input=False, fields=None):
        self.flat_ids = flat_ids
        self.offsets = offsets
        self.pad_id = int(pad_id)
        self.Y = None if Y is None else sp.csr_matrix(Y)
        self.target = target
        self.labels_in_input = labels_in_input
        self.fields = dict(fields or {})
        for name, values in self.fields.items():
            if len(values) != len(self):
                raise ValueError(f"field {name!r} has {len(values)} rows for {len(self)} texts.")

    def with_fields(self, Y=None, *, target=None, labels_in_input=None, **fields):
        """The same token ids with other labels, target format or per-sample fields."""
        return TokenDataset(
            self.flat_ids, self.offsets, self.pad_id, self.Y if Y is None else Y,
            target=self.target if target is None else target,
            labels_in_input=self.labels_in_input if labels_in_input is None else labels_in_input,
            fields={**self.fields, **fields})

    def __len__(self):
        return len(self.offsets) - 1

    def __getitem__(self, i):
        return self.__getitems__([i])

    def __getitems__(self, indices):
        idx = np.asarray(indices, dtype=np.int64)
        ids = padded_rows(self.offsets, self.flat_ids, idx, fill=self.pad_id)
        lengths = self.offsets[idx + 1] - self.offsets[idx]  # >= 1 (see TextTokenizer)
        X = {"input_ids": torch.from_numpy(ids),
             "attention_mask": torch.from_numpy(np.arange(ids.shape[1]) < lengths[:, None])}
        for name, values in self.fields.items():
            X[name] = torch.from_numpy(np.ascontiguousarray(values[idx]))
        if self.Y is None:
            return X, torch.zeros(len(idx))
        positives = torch.from_numpy(padded_rows(self.Y.indptr, self.Y.indices, idx))
        if self.labels_in_input:
            X["labels"] = positives
        if self.target == "indices":
            return X, positives
        y = torch.zeros(len(idx), self.Y.shape[1])
        r, c = torch.nonzero(positives >= 0, as_tuple=True)
        y[r, positives[r, c]] = 1.0
        return X, y


def batch_collate(batch):
    """``collate_fn`` for :class:`TokenDataset`: batches arrive already built."""
    if isinstance(batch, list):  # a plain Dataset without __getitems__
        raise TypeError("batch_collate expects a TokenDataset (or a Subset of one).")
    return batch


def dataset_label_rows(dataset):
    """The CSR label rows of a :class:`TokenDataset` or of a ``Subset`` of one."""
    if isinstance(dataset, Subset):
        return dataset_label_rows(dataset.dataset)[np.asarray(dataset.indices)]
    return dataset.Y
