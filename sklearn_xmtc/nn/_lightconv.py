"""Lightweight convolutions (Wu et al., ICLR 2019).

A lightweight convolution is a depth-wise 1-D convolution whose kernels are
softmax-normalised over their width and shared by groups of channels
("heads"): ``H`` kernels of width ``K`` serve all ``C`` channels, so a layer
has ``H x K`` weights whatever ``C`` is. OTSeq2Set (Cao and Zhang, 2022)
stacks such layers on the encoder states to get "label level" vectors.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["LightweightConv1d", "LightConvEncoder"]


class LightweightConv1d(nn.Module):
    """Depth-wise convolution with softmax-normalised, head-shared kernels.

    Parameters
    ----------
    channels : int
        C, the width of the input and output vectors.
    kernel_size : int
        K; the output keeps the input length (stride 1): ``K // 2`` positions
        of zero padding on the left, ``K - 1 - K // 2`` on the right.
    heads : int, default=1
        H kernels; channel ``c`` uses kernel ``c // (C / H)``. ``C`` must be
        a multiple of ``H``.
    stride : int, default=1
        Output position ``j`` is centred on input position ``j * stride``.
    weight_dropout : float, default=0.0
        DropConnect on the normalised kernel weights (Wu et al., section 3).
    """

    def __init__(self, channels, kernel_size, heads=1, stride=1, weight_dropout=0.0):
        super().__init__()
        if channels % heads:
            raise ValueError(f"channels={channels} is not a multiple of heads={heads}.")
        self.channels, self.kernel_size, self.heads, self.stride = (
            channels, kernel_size, heads, stride)
        self.weight = nn.Parameter(torch.empty(heads, kernel_size))
        nn.init.xavier_uniform_(self.weight)
        self.weight_dropout = nn.Dropout(weight_dropout)

    def forward(self, x, mask=None):
        """(B, T, C) [and bool mask (B, T)] -> (B, T', C) [and mask (B, T')].

        ``T' = ceil(T / stride)``; padded positions are zeroed before the
        convolution so they never leak into real positions.
        """
        if mask is not None:
            x = x * mask.unsqueeze(-1)
        w = self.weight_dropout(F.softmax(self.weight, dim=-1))  # (H, K)
        w = w.repeat_interleave(self.channels // self.heads, dim=0)  # (C, K)
        left = self.kernel_size // 2
        h = F.pad(x.transpose(1, 2), (left, self.kernel_size - 1 - left))  # (B, C, T + K - 1)
        out = F.conv1d(h, w.unsqueeze(1), stride=self.stride, groups=self.channels)
        out = out.transpose(1, 2)  # (B, T', C)
        if mask is None:
            return out, None
        return out, mask[:, ::self.stride]


class _LightConvBlock(nn.Module):
    """GLU input projection, lightweight convolution, output projection,
    residual connection and layer norm (the LightConv block of Wu et al.)."""

    def __init__(self, channels, kernel_size, heads, stride, dropout):
        super().__init__()
        self.glu = nn.Linear(channels, 2 * channels)
        self.conv = LightweightConv1d(channels, kernel_size, heads, stride, dropout)
        self.proj = nn.Linear(channels, channels)
        self.norm = nn.LayerNorm(channels)
        self.dropout = nn.Dropout(dropout)
        self.stride = stride

    def forward(self, x, mask):
        h = F.glu(self.glu(x), dim=-1)  # (B, T, C)
        h, mask = self.conv(h, mask)  # (B, T', C)
        h = self.dropout(self.proj(h))
        return self.norm(h + x[:, ::self.stride]), mask


class LightConvEncoder(nn.Module):
    """A stack of LightConv blocks, one per kernel size; stride in the last.

    Parameters
    ----------
    channels : int
    kernel_sizes : sequence of int, default=(3, 7, 15, 30)
        One block per size (OTSeq2Set, section 3.4).
    heads : int, default=16
        Kernels shared across channel groups per block.
    last_stride : int, default=3
        Stride of the last block (shortens the sequence, saving memory).
    dropout : float, default=0.0

    Examples
    --------
    >>> import torch
    >>> from sklearn_xmtc.nn import LightConvEncoder
    >>> enc = LightConvEncoder(8, kernel_sizes=(3, 5), heads=2, last_stride=2)
    >>> out, mask = enc(torch.randn(2, 7, 8), torch.ones(2, 7, dtype=torch.bool))
    >>> tuple(out.shape), tuple(mask.shape)
    ((2, 4, 8), (2, 4))
    """

    def __init__(self, channels, kernel_sizes=(3, 7, 15, 30), heads=16, last_stride=3,
                 dropout=0.0):
        super().__init__()
        sizes = list(kernel_sizes)
        strides = [1] * (len(sizes) - 1) + [last_stride]
        self.blocks = nn.ModuleList(
            _LightConvBlock(channels, k, heads, s, dropout) for k, s in zip(sizes, strides))

    def forward(self, x, mask):
        """(B, T, C), bool (B, T) -> (B, T', C), bool (B, T')."""
        for block in self.blocks:
            x, mask = block(x, mask)
        return x, mask
