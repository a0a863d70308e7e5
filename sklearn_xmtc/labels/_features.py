"""Label features: PIFA (positive instance feature aggregation).

PIFA represents a label by the L2-normalised sum of the TF-IDF rows of the
training texts that carry it (Jain et al., "Slice", WSDM 2019; used to build
the label trees of Parabel, AttentionXML and LightAttention (Zhu, Teng and Huang)). Everything stays
sparse: memory is O(nnz of the TF-IDF matrix + nnz of the label features);
:func:`reduce_label_features` gives a dense (L, n_components) matrix for
clustering, never a dense (L, vocabulary) one.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.preprocessing import normalize

__all__ = ["pifa_features", "reduce_label_features", "tfidf_label_features"]


def pifa_features(X, Y):
    """PIFA label features: row ``l`` is ``normalize(sum_{i: Y[i, l] = 1} X[i])``.

    Parameters
    ----------
    X : sparse matrix of shape (n_samples, n_features)
        Text features, typically TF-IDF rows (L2-normalised).
    Y : sparse matrix of shape (n_samples, n_labels)
        0/1 label matrix.

    Returns
    -------
    F : CSR matrix of float32, shape (n_labels, n_features)
        L2-normalised rows; a label without a positive text has a zero row.
    """
    X = sp.csr_matrix(X, dtype=np.float32)
    Y = sp.csr_matrix(Y, dtype=np.float32)
    if X.shape[0] != Y.shape[0]:
        raise ValueError(f"X has {X.shape[0]} rows but Y has {Y.shape[0]}; they must match.")
    F = (Y.T.tocsr() @ X).tocsr()  # (L, V), sparse
    return normalize(F, norm="l2", copy=False).astype(np.float32)


def reduce_label_features(F, n_components=128, random_state=None):
    """Dense, L2-normalised (L, d) label features for clustering.

    A sparse ``F`` with more than ``n_components`` columns is projected with
    randomized :class:`~sklearn.decomposition.TruncatedSVD` (deterministic for
    a given ``random_state``), so memory is O(nnz(F) + L x n_components).
    """
    if sp.issparse(F) and F.shape[1] > n_components and min(F.shape) > 1:
        k = int(min(n_components, F.shape[1] - 1, F.shape[0] - 1)) or 1
        svd = TruncatedSVD(n_components=k, n_iter=4, random_state=random_state)
        dense = svd.fit_transform(F)
    else:  # at most n_components columns (or a single row/column): (L, <= d), never n x L
        dense = F.toarray() if sp.issparse(F) else np.asarray(F)
    return normalize(np.asarray(dense, dtype=np.float32), norm="l2").astype(np.float32)


def tfidf_label_features(texts, Y, *, max_features=50000, n_components=128,
                         random_state=None):
    """PIFA features of ``texts`` (TF-IDF, sublinear tf) reduced to (L, d) dense.

    Parameters
    ----------
    texts : list of str
    Y : sparse matrix of shape (n_samples, n_labels)
    max_features : int, default=50000
        Vocabulary cap of the :class:`~sklearn.feature_extraction.text.TfidfVectorizer`.
    n_components : int, default=128
        Width of the dense features (see :func:`reduce_label_features`).
    random_state : int or None

    Returns
    -------
    ndarray of float32, shape (n_labels, d)
    """
    vectorizer = TfidfVectorizer(max_features=max_features, sublinear_tf=True,
                                 dtype=np.float32)
    try:
        X = vectorizer.fit_transform(texts)
    except ValueError:  # empty vocabulary: no usable token, fall back to no features
        X = sp.csr_matrix((len(texts), 1), dtype=np.float32)
    return reduce_label_features(pifa_features(X, Y), n_components, random_state)
