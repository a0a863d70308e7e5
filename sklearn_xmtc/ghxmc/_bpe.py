"""G-HXMC's subword label mode (``label_tokenization="bpe"``).

Each hierarchy node is spelled as the subwords of its text under a BPE model
trained on the node texts (the ``tokenizers`` library), followed by SEP; a
target sequence is its nodes' spellings, then EOS. A prefix trie of the
spellings maps generated subwords back to nodes while decoding
(:class:`SubwordLabelRule`): a SEP after a complete spelling generates that
node, a SEP after anything else ends a string that is no label (dropped and
counted).

The decoder vocabulary is the W subwords, SEP (index W), EOS (W + 1) and, as
input only, BOS (W + 2).
"""

from __future__ import annotations

import numpy as np
import torch

from ..nn import hierarchy_penalty

__all__ = ["LabelTrie", "SubwordLabelRule", "label_spellings", "subword_targets"]


def _node_strings(names, label_texts):
    """The string spelled for each node: its label text, else its name; texts
    shared by several nodes get the node's name appended."""
    strings, texts = [], label_texts or {}
    for name in names:  # by the node's own key (an int column index, say), then as a str
        text = texts.get(name, texts.get(str(name)))
        text = text.strip() if isinstance(text, str) else ""
        strings.append(" ".join(text.split()) or str(name))
    seen = {}
    for s in strings:
        seen[s] = seen.get(s, 0) + 1
    return [f"{s} ({name})" if seen[s] > 1 else s for s, name in zip(strings, names)]


def label_spellings(names, label_texts=None, vocab_size=1000):
    """Train a BPE model on the node strings and spell every node with it.

    Parameters
    ----------
    names : sequence
        The nodes (columns, then internal nodes), by name.
    label_texts : dict or None
        ``name -> text``; a node without one is spelled as its name.
    vocab_size : int
        The BPE vocabulary's size (at most; the merges may run out first).

    Returns
    -------
    spellings : int64 ndarray (V, Lmax)
        Each node's subword ids, ``-1`` padded.
    vocabulary : list of str
        The W subwords, by id.

    Raises
    ------
    ValueError
        If two nodes get the same spelling (it could not be decoded back).
    """
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    strings = _node_strings(list(names), label_texts)
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Metaspace()  # keeps the spaces: "a-b" != "a - b"
    tok.train_from_iterator(strings, trainers.BpeTrainer(
        vocab_size=int(vocab_size), show_progress=False, special_tokens=[]))
    ids = [e.ids for e in tok.encode_batch(strings)]
    first = {}
    for i, row in enumerate(ids):
        j = first.setdefault(tuple(row), i)
        if j != i:
            raise ValueError(f"label_tokenization='bpe': nodes {names[j]!r} and {names[i]!r} "
                             f"have the same subwords ({strings[i]!r}); give them distinct "
                             "label_texts.")
    spellings = np.full((len(ids), max(map(len, ids))), -1, dtype=np.int64)
    for i, row in enumerate(ids):
        spellings[i, : len(row)] = row
    vocab = tok.get_vocab()
    words = [""] * tok.get_vocab_size()
    for word, i in vocab.items():
        words[i] = word
    return spellings, words


def subword_targets(nodes, spellings, max_tokens, sep, eos):
    """Node target sequences -> subword target sequences.

    Parameters
    ----------
    nodes : int64 tensor (B, S)
        Node ids in target order; any other value (-1, EOS) is skipped.
    spellings : int64 tensor (V, Lmax + 1)
        Each node's subwords, then SEP, then -1.
    max_tokens : int
        The most subwords and SEPs a target holds: the nodes whose spelling
        would pass it are dropped (whole; no label is cut).
    sep, eos : int

    Returns
    -------
    targets : int64 tensor (B, max_tokens + 1): spellings, EOS, then -1.
    """
    V = spellings.shape[0]
    B = nodes.shape[0]
    valid = (nodes >= 0) & (nodes < V)
    idx = nodes.clamp(0, V - 1)
    length = torch.where(valid, (spellings >= 0).sum(1)[idx], 0)  # (B, S)
    fits = valid & (length.cumsum(1) <= max_tokens)
    tokens = spellings[idx].masked_fill(~fits.unsqueeze(2), -1).flatten(1)  # (B, S*(Lmax+1))
    order = torch.sort((tokens < 0).long(), dim=1, stable=True).indices
    tokens = tokens.gather(1, order)[:, :max_tokens]
    out = torch.full((B, max_tokens + 1), -1, dtype=torch.long, device=nodes.device)
    out[:, : tokens.shape[1]] = tokens
    n = (out >= 0).sum(1)
    out[torch.arange(B, device=nodes.device), n] = eos
    return out


class LabelTrie:
    """Prefix trie of the node spellings, as sorted arrays (built once per module).

    Trie node 0 is the root (no subword yet). ``keys`` holds
    ``parent * W + subword`` sorted, ``child`` the trie node it leads to,
    ``terminal`` (T,) the hierarchy node spelled exactly by a trie node (-1:
    none) and ``first`` (V,) each hierarchy node's first subword.
    """

    def __init__(self, spellings, n_subwords):
        W = int(n_subwords)
        index = {(): 0}
        edges, terminal = [], [-1]
        for node, row in enumerate(np.asarray(spellings)):
            prefix = ()
            for token in row[row >= 0].tolist():
                parent = index[prefix]
                prefix = prefix + (token,)
                if prefix not in index:
                    index[prefix] = len(terminal)
                    terminal.append(-1)
                    edges.append((parent * W + token, index[prefix]))
            terminal[index[prefix]] = node
        edges.sort()
        self.n_subwords = W
        self.keys = torch.tensor([k for k, _ in edges], dtype=torch.long)
        self.child = torch.tensor([c for _, c in edges], dtype=torch.long)
        self.terminal = torch.tensor(terminal, dtype=torch.long)
        self.first = torch.as_tensor(np.asarray(spellings)[:, 0], dtype=torch.long)

    def to(self, device):
        for name in ("keys", "child", "terminal", "first"):
            setattr(self, name, getattr(self, name).to(device))
        return self

    def step(self, pos, token):
        """Trie node after ``token`` from ``pos`` (both (n,) int64); -1 off the trie."""
        W = self.n_subwords
        ok = (pos >= 0) & (token >= 0) & (token < W)
        query = pos.clamp(min=0) * W + token.clamp(0, W - 1)
        i = torch.searchsorted(self.keys, query).clamp(max=max(len(self.keys) - 1, 0))
        if not len(self.keys):
            return torch.full_like(pos, -1)
        found = ok & (self.keys[i] == query)
        return torch.where(found, self.child[i], -1)

    def spelled(self, pos):
        """Hierarchy node spelled by trie node ``pos`` ((n,) int64; -1 for none)."""
        return torch.where(pos >= 0, self.terminal[pos.clamp(min=0)], -1)


class SubwordLabelRule:
    """The beam-search rule of the subword mode (see :func:`sklearn_xmtc.nn.beam_decode`).

    Per beam it follows the trie position of the string being spelled, the
    nodes generated so far, each step's completed node, and the count of
    strings that are no label. Its rules: SEP never at a string's start nor
    after the spelling of a node already generated (no repeated label); EOS
    only between strings; at a string's first subword the soft hierarchy
    penalty (``penalty`` > 0) lowers a subword when every node starting with
    it is not at level 0 and lacks a generated parent (a subword that starts
    no node counts as such: it can only begin a string that is no label).
    """

    def __init__(self, trie, n_nodes, edges, has_parent, penalty=0.0):
        self.trie, self.n_nodes = trie, int(n_nodes)
        self.edge_child, self.edge_parent = edges
        self.has_parent, self.penalty = has_parent, float(penalty)

    def start(self, n, n_tokens, device):
        W = self.trie.n_subwords
        if n_tokens != W + 2:
            raise ValueError(f"the decoder has {n_tokens} outputs; the trie needs {W} + 2.")
        self.sep, self.eos = W, W + 1
        self.pos = torch.zeros(n, dtype=torch.long, device=device)
        self.used = torch.zeros(n, self.n_nodes, dtype=torch.bool, device=device)
        self.invalid = torch.zeros(n, dtype=torch.long, device=device)
        self.completed = torch.zeros(n, 0, dtype=torch.long, device=device)

    def _first_subword_penalty(self):
        """(n, W) float: ``penalty`` on the subwords every node starting with which lacks."""
        lacking = hierarchy_penalty(self.used, self.edge_child, self.edge_parent,
                                    self.has_parent, 1.0) > 0  # (n, V)
        fine = torch.zeros(len(self.used), self.trie.n_subwords, device=self.used.device)
        fine.index_add_(1, self.trie.first, (~lacking).float())
        return torch.zeros_like(fine).masked_fill(fine == 0, self.penalty)

    def adjust(self, log_p):
        adj = log_p.float().clone()
        at_root = self.pos == 0
        node = self.trie.spelled(self.pos)
        repeat = (node >= 0) & self.used.gather(1, node.clamp(min=0).unsqueeze(1)).squeeze(1)
        adj[:, self.sep] = adj[:, self.sep].masked_fill(at_root | repeat, float("-inf"))
        adj[:, self.eos] = adj[:, self.eos].masked_fill(~at_root, float("-inf"))
        if self.penalty and len(self.edge_child):
            pen = torch.where(at_root.unsqueeze(1), self._first_subword_penalty(), 0.0)
            adj[:, : self.sep] = adj[:, : self.sep] - pen
        return adj

    def advance(self, src, token):
        rows = torch.arange(len(token), device=token.device)
        self.pos, self.used = self.pos[src], self.used[src]
        self.invalid, self.completed = self.invalid[src], self.completed[src]
        node = self.trie.spelled(self.pos)
        is_sep = token == self.sep
        done = is_sep & (node >= 0)
        self.used[rows[done], node[done]] = True
        self.invalid = self.invalid + (is_sep & (node < 0)).long()
        step = torch.where(done, node, self.n_nodes)
        self.completed = torch.cat([self.completed, step.unsqueeze(1)], 1)
        nxt = self.trie.step(self.pos, token)
        self.pos = torch.where(is_sep, 0, torch.where(token == self.eos, self.pos, nxt))

    def n_invalid(self):
        """(n,) strings that are no label, a string cut by the step limit included."""
        return self.invalid + (self.pos != 0).long()
