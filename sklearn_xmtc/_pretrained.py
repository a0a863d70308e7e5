"""PretrainedEncoderMixin: estimators that fine-tune a Hugging Face encoder.

It declares the encoder parameters (``pretrained``, ``pooling``) and the
fine-tuning recipe of Howard and Ruder (2018) as APLC-XLNet uses it
(Ye et al. 2020, section 4.1): discriminative learning rates, one AdamW
group per part of the network, and slanted triangular learning rates
stepped every batch, with gradient-norm clipping.

Hooks it fills: ``_fit_tokenizer`` (the encoder's own tokenizer, so token
ids match its embedding rows) and ``_net_kwargs``. It adds
``_load_encoder()`` (the ``transformers`` model, checked against the
tokenizer and ``max_length``) and ``_resolve_pooling(encoder)``. A method
names its parameter groups in ``_lr_groups()``: ``[(module prefix, lr), ...]``,
the last group's rate also applying to any parameter no prefix matches.
"""

from __future__ import annotations

import contextlib
import copy
import os
from numbers import Integral, Real

import torch
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions

from ._training import SlantedTriangularLR
from .text import TextTokenizer, build_tokenizer

__all__ = ["PretrainedEncoderMixin"]


class PretrainedEncoderMixin:
    """A pretrained ``transformers`` encoder, fine-tuned (see the module docstring).

    Parameters it declares: ``pretrained``, ``pooling``, ``weight_decay``,
    ``warmup_steps``, ``max_grad_norm``. Fitted attributes: ``pooling_``,
    ``encoder_config_`` (the encoder's configuration, from which a saved model
    rebuilds it without the pretrained files).
    """

    _parameter_constraints = {
        "pretrained": [str, os.PathLike, HasMethods(["to_dict", "to_json_string"])],
        "pooling": [StrOptions({"auto", "first", "last", "mean"})],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "warmup_steps": [Interval(Integral, 0, None, closed="left")],
        "max_grad_norm": [Interval(Real, 0, None, closed="neither"), None],
    }

    def _pretrained_config(self):
        """The ``pretrained`` parameter when it is a configuration object, else None."""
        return None if isinstance(self.pretrained, (str, os.PathLike)) else self.pretrained

    def _fit_tokenizer(self, texts):
        spec = self.tokenizer
        if spec is None:
            if self._pretrained_config() is not None:
                raise ValueError(
                    "pretrained is a configuration object (a randomly initialised encoder), "
                    "so the tokenizer cannot be derived from it: pass tokenizer=<name or "
                    "directory> whose vocabulary fits the configuration's vocab_size.")
            spec = os.fspath(self.pretrained)
        if isinstance(spec, TextTokenizer) and spec.kind != "pretrained":
            raise ValueError(f"tokenizer must be a pretrained (transformers) tokenizer: "
                             f"{type(self).__name__} feeds its ids to a transformer.")
        self.tokenizer_ = build_tokenizer(spec, texts)
        self.vocab_size_ = self.tokenizer_.vocab_size

    def _load_encoder(self):
        """The encoder of ``pretrained``, checked against the tokenizer and ``max_length``."""
        from transformers import AutoModel, PretrainedConfig

        config = self._pretrained_config()
        if self.__dict__.get("_rebuilding") and hasattr(self, "encoder_config_"):
            config = self.encoder_config_  # a saved model: its own encoder's shapes
        if config is None:
            try:
                with _quiet_loading(self.verbose):
                    encoder = AutoModel.from_pretrained(os.fspath(self.pretrained))
            except (OSError, ValueError) as exc:
                raise ValueError(f"Could not load the pretrained encoder "
                                 f"{self.pretrained!r}: {exc}") from exc
        elif isinstance(config, PretrainedConfig):
            encoder = AutoModel.from_config(copy.deepcopy(config))
        else:
            raise TypeError("pretrained must be a model name, a directory or a "
                            f"transformers.PretrainedConfig, got {type(config).__name__}.")
        self.encoder_config_ = copy.deepcopy(encoder.config)
        n_rows = encoder.get_input_embeddings().num_embeddings
        if self.tokenizer_.vocab_size > n_rows:
            raise ValueError(
                f"The tokenizer emits {self.tokenizer_.vocab_size} ids but the encoder has "
                f"only vocab_size={n_rows} embedding rows; use the encoder's own tokenizer "
                "or a configuration with vocab_size >= len(tokenizer).")
        limit = getattr(encoder.config, "max_position_embeddings", None)  # a config field
        if isinstance(limit, int) and 0 < limit < self.max_length:
            raise ValueError(f"max_length={self.max_length} exceeds the encoder's "
                             f"max_position_embeddings={limit}.")
        return encoder

    def _resolve_pooling(self, encoder):
        """Set and return ``pooling_``: "auto" is "last" for XLNet, else "first"."""
        pooling = self.pooling
        if pooling == "auto":
            pooling = "last" if encoder.config.model_type == "xlnet" else "first"
        self.pooling_ = pooling
        return pooling

    def _lr_groups(self):  # pragma: no cover - abstract
        raise NotImplementedError

    def _net_kwargs(self):
        groups = self._lr_groups()
        names = tuple(name for name, _ in groups)
        return {**super()._net_kwargs(),
                "lr": groups[-1][1], "optimizer": torch.optim.AdamW,
                "optimizer__param_groups": [(f"{name}.*", {"lr": lr}) for name, lr in groups],
                "optimizer__weight_decay": self.weight_decay,
                "gradient_clip": self.max_grad_norm,
                "method_callbacks": [("slanted_triangular",
                                      SlantedTriangularLR(self.warmup_steps, names))]}


@contextlib.contextmanager
def _quiet_loading(verbose):
    """Hide transformers' weight-loading progress bar unless ``verbose``."""
    from transformers.utils import logging as hf_logging

    was_enabled = hf_logging.is_progress_bar_enabled()
    if not verbose and was_enabled:
        hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_enabled:
            hf_logging.enable_progress_bar()
