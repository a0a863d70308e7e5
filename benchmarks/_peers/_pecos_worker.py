"""Runs inside the PECOS virtual environment (numpy<2); see ``_pecos.py``.

``python _pecos_worker.py train DIR`` reads DIR/X_train.npz, DIR/Y_train.npz
and saves the model in DIR/model; ``python _pecos_worker.py predict DIR --k K``
reads DIR/X_test.npz and writes the top-K score matrix DIR/P_test.npz.
Imports nothing from sklearn_xmtc (different numpy).
"""

import argparse
import json
import os

import scipy.sparse as sp


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("action", choices=["train", "predict"])
    ap.add_argument("folder")
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--params", default="{}")
    args = ap.parse_args()
    params = json.loads(args.params)
    from pecos.xmc import Indexer, LabelEmbeddingFactory
    from pecos.xmc.xlinear.model import XLinearModel

    model_dir = os.path.join(args.folder, "model")
    if args.action == "train":
        X = sp.load_npz(os.path.join(args.folder, "X_train.npz")).tocsr().astype("float32")
        Y = sp.load_npz(os.path.join(args.folder, "Y_train.npz")).tocsr().astype("float32")
        feat = LabelEmbeddingFactory.create(Y, X, method="pifa")
        chain = Indexer.gen(feat, nr_splits=params.get("nr_splits", 16), threads=args.threads)
        model = XLinearModel.train(X, Y, C=chain, threads=args.threads)
        model.save(model_dir)
    else:
        X = sp.load_npz(os.path.join(args.folder, "X_test.npz")).tocsr().astype("float32")
        model = XLinearModel.load(model_dir)
        P = model.predict(X, beam_size=params.get("beam_size", 10), only_topk=args.k,
                          threads=args.threads)
        sp.save_npz(os.path.join(args.folder, "P_test.npz"), sp.csr_matrix(P))


if __name__ == "__main__":
    main()
