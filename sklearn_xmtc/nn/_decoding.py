"""Set decoding shared by the generative networks: greedy and beam search.

A generative network emits, step by step, a distribution over the L labels
plus the empty label ∅ (index L) and feeds its own arg-max to the next step
(student forcing); :class:`SetDecoderMixin` runs that loop with one hook,
:meth:`SetDecoderMixin.step_mask`, for the tokens a step may not pick (by
default the labels already generated: a set has no repeats; ∅ may repeat).
A method with constrained decoding (a label hierarchy) overrides the hook.

:func:`beam_decode` is the beam search over such a vocabulary (tokens, then an
end token): no repeated token, an optional additive per-step penalty
(:func:`hierarchy_penalty`: the soft label-hierarchy constraint of G-HXMC),
finished beams carried on unchanged. With ``beam_size=1`` it is greedy
decoding under the same rules.
"""

from __future__ import annotations

import torch

__all__ = ["NoRepeatRule", "SetDecoderMixin", "beam_decode", "best_step_scores", "hierarchy_penalty"]


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


def hierarchy_penalty(used, child, parent, has_parent, penalty):
    """(B, V) additive log-probability penalty of the soft hierarchy constraint.

    A node that has parents (``has_parent``, (V,) bool: not at level 0) and none
    of whose parents is marked in ``used`` (B, V) bool gets ``penalty``; every
    other node 0. ``child`` / ``parent`` (E,) int64 list the hierarchy's edges
    (``parent[e]`` is a parent of ``child[e]``). ``penalty=inf`` is the hard
    constraint. Vectorised: O(B x E).
    """
    B, V = used.shape
    if not penalty or not len(child):
        return used.new_zeros((B, V), dtype=torch.float32)
    n_generated = used.new_zeros((B, V), dtype=torch.float32).index_add_(
        1, child, used[:, parent].float())  # generated parents of each node
    lacking = has_parent.unsqueeze(0) & (n_generated == 0)
    return torch.zeros(B, V, device=used.device).masked_fill(lacking, float(penalty))


def _reorder(state, index):
    if state is None:
        return None
    if isinstance(state, tuple):
        return tuple(_reorder(s, index) for s in state)
    return state.index_select(0, index)


class NoRepeatRule:
    """The default decoding rule of :func:`beam_decode`: no token twice in a beam,
    plus an optional additive penalty ``penalty_fn(used)`` on the non-end tokens.

    A rule is the state a beam search carries beside its beams: :meth:`start`
    makes it for ``n`` beams, :meth:`adjust` turns a step's log-distribution
    into the scores the beams are ranked by, :meth:`advance` follows the beams
    that survived (``src``) and the tokens they took. A method with other rules
    (G-HXMC's subword labels) passes its own object with these three methods.
    """

    def __init__(self, penalty_fn=None):
        self.penalty_fn = penalty_fn

    def start(self, n, n_tokens, device):
        self.used = torch.zeros(n, n_tokens, dtype=torch.bool, device=device)

    def adjust(self, log_p):
        adj = log_p.float().masked_fill(self.used, float("-inf"))
        if self.penalty_fn is not None:
            end = adj.shape[1] - 1
            adj[:, :end] = adj[:, :end] - self.penalty_fn(self.used[:, :end])
        return adj

    def advance(self, src, token):
        self.used = self.used[src]
        self.used[torch.arange(len(token), device=token.device), token] = True
        self.used[:, -1] = False  # the end token may repeat


def beam_decode(step_fn, state, batch_size, n_steps, n_tokens, start, beam_size=4,
                penalty_fn=None, rule=None):
    """Beam search over ``n_tokens`` outputs whose last one is the end token.

    Parameters
    ----------
    step_fn : callable ``(state, prefix) -> (log_p, state)``
        ``prefix`` (B * K, t + 1) int64: the start token, then the tokens so
        far; ``log_p`` (B * K, n_tokens) the next token's log-distribution.
        ``state`` (a tensor, a tuple of tensors or None; leading dimension B * K)
        is handed back and reordered with the beams.
    state : tensor, tuple of tensors or None
        The initial state with leading dimension ``batch_size``; it is repeated
        for the K beams of each sample.
    batch_size, n_steps, n_tokens, start : int
        B, the number of steps, the output size (token ``n_tokens - 1`` ends a
        sequence) and the start token fed first.
    beam_size : int, default=4
        K (cut to ``n_tokens``); 1 is greedy decoding.
    penalty_fn : callable ``used (B * K, n_tokens - 1) bool -> (B * K, n_tokens - 1)``, optional
        Added (subtracted) to the step log-probabilities of the tokens before
        they enter the beam scores (the end token is never penalised).
    rule : object, optional
        The decoding rule (see :class:`NoRepeatRule`, the default, built with
        ``penalty_fn``); it is advanced with the beams, so after the call it
        describes the returned ones.

    Returns
    -------
    sequences : int64 tensor (B, K, n_steps)
        Beams best first; after the end token a beam repeats it. A beam with
        no finite score (fewer allowed continuations than K) is all end tokens.
    scores : float tensor (B, K)
        Sum over the steps of the (penalised) log-probabilities of the chosen
        tokens; finished beams keep theirs.
    step_scores : float tensor (B, K, n_steps)
        The beam's score after each step (the prefix scores).

    Notes
    -----
    A token already in a beam cannot be chosen again; each step keeps the K best
    (beam, token) pairs of a sample by score; the K beams of step 0 all start
    from one (the others start at ``-inf``).
    """
    B, V1, end = int(batch_size), int(n_tokens), int(n_tokens) - 1
    K = max(1, min(int(beam_size), V1))
    device = _device_of(state)
    state = _reorder(state, torch.arange(B, device=device).repeat_interleave(K))
    prefix = torch.full((B * K, 1), int(start), dtype=torch.long, device=device)
    score = torch.zeros(B, K, device=device)
    score[:, 1:] = float("-inf")
    rule = NoRepeatRule(penalty_fn) if rule is None else rule
    rule.start(B * K, V1, device)
    finished = torch.zeros(B * K, dtype=torch.bool, device=device)
    only_end = torch.full((V1,), float("-inf"), device=device)
    only_end[end] = 0.0
    history = torch.zeros(B * K, 0, device=device)
    base = (torch.arange(B, device=device) * K).unsqueeze(1)  # (B, 1)
    for _ in range(int(n_steps)):
        log_p, state = step_fn(state, prefix)
        adj = torch.where(finished.unsqueeze(1), only_end.expand_as(log_p), rule.adjust(log_p))
        total = (score.reshape(B * K, 1) + adj).reshape(B, K * V1)
        top, flat = total.topk(K, dim=1)  # (B, K), best first
        token = (flat % V1).masked_fill(top == float("-inf"), end)
        src = (base + flat // V1).flatten()  # (B * K,) the beam each new one extends
        token = token.flatten()
        prefix = torch.cat([prefix[src], token.unsqueeze(1)], 1)
        rule.advance(src, token)
        finished = finished[src] | (token == end)
        state = _reorder(state, src)
        score = top
        history = torch.cat([history[src], top.reshape(B * K, 1)], 1)
    return (prefix[:, 1:].reshape(B, K, -1), score,
            history.reshape(B, K, -1))


def _device_of(state):
    if state is None:
        return torch.device("cpu")
    if isinstance(state, tuple):
        return _device_of(state[0])
    return state.device
