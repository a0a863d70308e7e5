"""Greedy set decoding shared by the sequence-to-set networks.

A generative network emits, step by step, a distribution over the L labels
plus the empty label ∅ (index L) and feeds its own arg-max to the next step
(student forcing); :class:`SetDecoderMixin` runs that loop with one hook,
:meth:`SetDecoderMixin.step_mask`, for the tokens a step may not pick (by
default the labels already generated: a set has no repeats; ∅ may repeat).
A method with constrained decoding (a label hierarchy) overrides the hook.
"""

from __future__ import annotations

import torch

__all__ = ["SetDecoderMixin", "best_step_scores"]


def best_step_scores(log_probs, n_labels):
    """(B, N, L + 1) step log-distributions -> (B, L) best probability of each
    label over the N steps (the ranking score of a generated set)."""
    return log_probs[:, :, :n_labels].exp().amax(1)


class SetDecoderMixin:
    """Greedy decoding loop of a ``torch.nn.Module`` over L labels + ∅."""

    def step_mask(self, step, used, prev):
        """Bool (B, L + 1): entries step ``step`` may not pick.

        ``used`` (B, L + 1) marks the labels generated so far (∅ never),
        ``prev`` (B,) the previous step's pick (the start token at step 0).
        """
        return used

    def greedy_decode(self, step_fn, state, n_steps, n_labels, start):
        """Run ``n_steps`` steps of ``step_fn(state, prev) -> (log_p (B, L + 1), state)``.

        Returns ``(log_probs (B, n_steps, L + 1), sequence (B, n_steps))``;
        the arg-max of each step ignores the entries of :meth:`step_mask`
        (the distribution itself is never masked).
        """
        B = state.shape[0]
        prev = torch.full((B,), start, dtype=torch.long, device=state.device)
        used = torch.zeros(B, n_labels + 1, dtype=torch.bool, device=state.device)
        steps, seq = [], []
        for t in range(n_steps):
            log_p, state = step_fn(state, prev)  # (B, L + 1)
            prev = log_p.detach().masked_fill(self.step_mask(t, used, prev),
                                              float("-inf")).argmax(1)  # (B,)
            used[torch.arange(B, device=prev.device), prev] = True
            used[:, n_labels] = False  # ∅ may repeat
            steps.append(log_p)
            seq.append(prev)
        return torch.stack(steps, 1), torch.stack(seq, 1)  # (B, N, L + 1), (B, N)
