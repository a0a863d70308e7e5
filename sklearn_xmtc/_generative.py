"""GenerativeSetMixin: estimators whose network generates the label set.

The network (:class:`sklearn_xmtc.nn.SetDecoderMixin`) returns
``log_probs`` (B, N, L + 1) and ``sequence`` (B, N) over the L labels plus the
empty label ∅ (index ``n_labels_``). Then:

- :meth:`predict` returns the generated set: the non-∅ labels of the
  sequence, up to the first ∅ when :meth:`_stops_at_empty` says so (the
  per-method rule), ``threshold`` unused; ``min_labels`` / ``max_labels``
  then add or drop labels by their best-step score (as for every estimator);
- :meth:`predict_topk` and :meth:`predict_proba` rank each label by its best
  probability over the N decoding steps (:func:`sklearn_xmtc.nn.best_step_scores`),
  so ranking metrics apply too.

A method restricts what a step may generate (a label hierarchy, say) in its
network's :meth:`~sklearn_xmtc.nn.SetDecoderMixin.step_mask`. A method whose
network decodes otherwise (G-HXMC's beam search) fills two hooks:
:meth:`_decoding_inputs` (the decoding parameters it hands the network, read
at predict time so that ``set_params`` needs no refit) and
:meth:`_label_scores` (its own (B, L) ranking scores).
"""

from __future__ import annotations

import torch

from ._base import _limits, check_no_nan_scores, limit_label_sets
from ._training import forward_eval, iter_eval_batches
from .nn import best_step_scores

__all__ = ["GenerativeSetMixin"]


class GenerativeSetMixin:
    """Generated-set ``predict`` and best-step scores (see the module docstring)."""

    def _stops_at_empty(self):
        """Hook: whether a generated set ends at the first ∅ (default True)."""
        return True

    def _decoding_inputs(self, X):
        """Hook: the evaluation batch ``X`` plus any decoding inputs (default: ``X``)."""
        return X

    def _label_scores(self, out):
        """Hook: (B, L) ranking scores of a network output (default: the best step
        probability of each label, :func:`sklearn_xmtc.nn.best_step_scores`)."""
        return best_step_scores(out["log_probs"], self.n_labels_)

    def _scores_of(self, net, X, k=None):
        return None, self._label_scores(forward_eval(net, self._decoding_inputs(X)))

    def _iter_predicted_sets(self, texts, start=0):
        """Yield ``(n_batch, rows, cols)`` of the generated labels of each batch."""
        lo, hi = _limits(self)
        for X in iter_eval_batches(self.net_, self._make_dataset(texts)):
            out = forward_eval(self.net_, self._decoding_inputs(X))
            scores = self._label_scores(out)
            check_no_nan_scores(self, torch.isnan(scores), start)
            seq = out["sequence"]  # (B, N) greedy arg-max labels
            start += len(seq)
            keep = seq != self.n_labels_  # (B, N)
            if self._stops_at_empty():
                keep = torch.cumprod(keep.long(), dim=1).bool()  # before the first ∅
            r, c = torch.nonzero(keep, as_tuple=True)
            if not lo and hi is None:
                yield len(seq), r.cpu().numpy(), seq[r, c].cpu().numpy()
                continue
            chosen = torch.zeros(len(seq), self.n_labels_, dtype=torch.bool, device=seq.device)
            chosen[r, seq[r, c]] = True
            yield (len(seq), *limit_label_sets(None, scores, chosen, lo, hi))
