"""napkinXC, omikuji and LibMultiLabel peers (installed system-wide)."""

from __future__ import annotations

import os
import tempfile

import numpy as np

from ._base import Peer
from ._tfidf import topk_from_dense, topk_from_pairs


class NapkinXCPLT(Peer):
    """napkinXC Probabilistic Label Tree (Jasinska-Kobus et al. 2020), its defaults."""

    name = "napkinxc-plt"
    module = "napkinxc"
    distribution = "napkinxc"
    score_kind = "PLT probability estimate (log loss)"
    defaults = {"arity": 2, "max_leaves": 100, "liblinear_c": 10, "liblinear_eps": 0.1}

    def _fit(self, X, Y):
        from napkinxc.models import PLT

        self._dir = tempfile.TemporaryDirectory(prefix="napkinxc-")
        self.model_ = PLT(self._dir.name, threads=self.n_threads, seed=self.seed, **self.params)
        self.model_.fit(X, Y)

    def _predict_topk(self, X, k):
        pairs = self.model_.predict_proba(X, top_k=k)  # list of [(label, prob), ...]
        return topk_from_pairs(pairs, k)


def write_xc_file(path, X, Y):
    """Write the Extreme Classification Repository text format (omikuji's input).

    Header ``n_samples n_features n_labels``, then one line per sample:
    ``l1,l2 f:v f:v`` (0-based indices).  Rows without a label or without a
    feature are dropped (omikuji's parser rejects them; such rows carry no
    information for a linear model anyway); returns the number written.
    """
    keep = np.flatnonzero((np.diff(Y.indptr) > 0) & (np.diff(X.indptr) > 0))
    with open(path, "w") as fh:
        fh.write(f"{keep.size} {X.shape[1]} {Y.shape[1]}\n")
        for i in keep:  # one formatted line per sample: the format is per-line text
            labs = ",".join(map(str, Y.indices[Y.indptr[i]:Y.indptr[i + 1]]))
            a, b = X.indptr[i], X.indptr[i + 1]
            feats = " ".join(f"{j}:{v:.6g}" for j, v in zip(X.indices[a:b], X.data[a:b]))
            fh.write(f"{labs} {feats}\n")
    return int(keep.size)


class OmikujiParabel(Peer):
    """omikuji partitioned label trees, Parabel-like: balanced 2-means, depth 20, 3 trees."""

    name = "omikuji-parabel"
    module = "omikuji"
    distribution = "omikuji"
    score_kind = "omikuji tree score in [0, 1]"
    defaults = {"cluster_k": 2, "cluster_balanced": True, "max_depth": 20, "n_trees": 3,
                "beam_size": 10}

    def _fit(self, X, Y):
        import omikuji

        hp = omikuji.Model.default_hyper_param()
        for key, value in self.params.items():
            if key != "beam_size":
                setattr(hp, key, value)
        with tempfile.TemporaryDirectory(prefix="omikuji-") as tmp:
            path = os.path.join(tmp, "train.txt")
            self.n_train_rows_ = write_xc_file(path, X, Y)
            self.model_ = omikuji.Model.train_on_data(path, hp, n_threads=self.n_threads)
        self.model_.init_prediction_thread_pool(self.n_threads)

    def _predict_topk(self, X, k):
        n_feat = self.model_.n_features
        rows = []
        for i in range(X.shape[0]):  # omikuji's Python API predicts one sample at a time
            a, b = X.indptr[i], X.indptr[i + 1]
            pairs = [(int(j), float(v)) for j, v in zip(X.indices[a:b], X.data[a:b]) if j < n_feat]
            rows.append(self.model_.predict(pairs, beam_size=self.params["beam_size"], top_k=k))
        return topk_from_pairs(rows, k)


class OmikujiBonsai(OmikujiParabel):
    """omikuji, Bonsai-like: unbalanced 100-means, depth 3 (Khandagale et al. 2020)."""

    name = "omikuji-bonsai"
    defaults = {"cluster_k": 100, "cluster_balanced": False, "max_depth": 3, "n_trees": 3,
                "beam_size": 10}


class LibMultiLabelOVR(Peer):
    """LibMultiLabel linear one-vs-rest (LIBLINEAR L2-loss SVM per label)."""

    name = "lml-1vsrest"
    module = "libmultilabel.linear"
    distribution = "libmultilabel"
    threshold = 0.0
    score_kind = "LIBLINEAR decision value (threshold 0 = sigmoid 0.5)"
    defaults = {"options": "-s 2 -B 1 -e 0.0001 -q", "batch_rows": 1024}

    def _fit(self, X, Y):
        import libmultilabel.linear as lml

        self.model_ = lml.train_1vsrest(Y, X, options=self.params["options"], verbose=False)

    def _decision_values(self, X_block):
        import libmultilabel.linear as lml

        return np.asarray(lml.predict_values(self.model_, X_block))

    def _predict_topk(self, X, k):
        step = self.params["batch_rows"]
        parts = [topk_from_dense(self._decision_values(X[s:s + step]), k)  # (b, L) per block
                 for s in range(0, X.shape[0], step)]
        return np.vstack([p[0] for p in parts]), np.vstack([p[1] for p in parts])


class LibMultiLabelTree(LibMultiLabelOVR):
    """LibMultiLabel tree (Bonsai-style label tree of linear models, beam search)."""

    name = "lml-tree"
    threshold = 0.5
    score_kind = "tree probability estimate (product of sigmoid(3 * value))"
    defaults = {"options": "-s 2 -B 1 -e 0.0001 -q", "K": 100, "dmax": 10,
                "beam_width": 10, "batch_rows": 1024}

    def _fit(self, X, Y):
        import libmultilabel.linear as lml

        self.model_ = lml.train_tree(Y, X, options=self.params["options"], K=self.params["K"],
                                     dmax=self.params["dmax"], verbose=False)

    def _decision_values(self, X_block):
        return np.asarray(self.model_.predict_values(X_block, beam_width=self.params["beam_width"]))
