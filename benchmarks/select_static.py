"""Which static word vectors, on training data only: random, raw MiniLM rows, or made offline.

Each estimator of ``--estimators`` (registry demo settings, equal epochs) is fitted
on 80 % of a dataset's *training* split (seed 0) and scored on the other 20 % (P@1,
PSP@5); the test split is never read. Variants of ``embeddings``:

- ``random``: the default (standard-normal rows, PyTorch's ``nn.Embedding`` init);
- ``random-0.1``: random rows drawn 10x smaller, N(0, 0.1) (a word-vector file that
  holds no word of the corpus: every row keeps the file reader's random fill): the
  scale alone, without any pretrained content;
- ``minilm-raw``: the MiniLM model directory as ``embeddings`` (its WordPiece
  tokenizer and its input-embedding rows at their own scale, row norm about 1);
- ``minilm-raw-rescaled``: the same rows and tokenizer, rescaled to unit variance
  (``tokenizer=<MiniLM dir>``, ``embeddings="minilm-input"``): tells the scale from
  the tokenizer;
- ``minilm-input`` / ``minilm-distilled``: the static tables of
  ``sklearn_xmtc.text._static`` on the estimator's own word vocabulary.

    OMP_WAIT_POLICY=PASSIVE python -m benchmarks.select_static --datasets cooking \\
        --estimators attentionxml

appends to ``benchmarks/results/select_static.jsonl`` (one row per fit, with the
fit seconds, the training loss of the last epoch, the width of the embedding layer
and the version of the static recipe: rows without ``recipe`` were made by the first
one, which kept all 384 uncentred dimensions).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"
VARIANTS = ("random", "random-0.1", "minilm-raw", "minilm-raw-rescaled", "minilm-input",
            "minilm-distilled")


def variant_params(variant, dim=None, folder=None):
    """``embeddings`` (and ``tokenizer``) of a variant; ``dim`` and ``folder`` (where the
    word-vector file of ``random-0.1`` is written) only for that one."""
    from sklearn_xmtc._registry import offline_encoder

    model = offline_encoder()
    if variant == "random-0.1":
        path = Path(folder) / f"no_corpus_word_{dim}d.txt"
        path.write_text("zzqqxxnotaword " + " ".join(["0"] * dim) + "\n")
        return {"embeddings": str(path)}
    return {"random": {}, "minilm-raw": {"embeddings": model},
            "minilm-raw-rescaled": {"tokenizer": model, "embeddings": "minilm-input"},
            "minilm-input": {"embeddings": "minilm-input"},
            "minilm-distilled": {"embeddings": "minilm-distilled"}}[variant]


def main(argv=None):
    import torch

    from sklearn_xmtc._registry import make_estimator
    from sklearn_xmtc.text import _static
    from sklearn_xmtc.datasets import load_dataset
    from sklearn_xmtc.metrics import inverse_propensity, precision_at_k, psp_at_k

    from .select_hybrid import _split

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--datasets", nargs="+", default=["cooking"])
    p.add_argument("--estimators", nargs="+", default=["attentionxml"])
    p.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=VARIANTS)
    p.add_argument("--out", type=Path, default=RESULTS / "select_static.jsonl")
    args = p.parse_args(argv)
    for name in args.datasets:
        data = load_dataset(name)
        texts, Y = list(data.X_train), data.Y_train.tocsr()
        fit, valid = _split(len(texts))
        inv_p = inverse_propensity(label_frequencies=np.asarray(Y[fit].sum(0)).ravel(),
                                   n_samples=len(fit))
        for est_name in args.estimators:
            for variant in args.variants:
                dim = make_estimator(est_name).embedding_dim
                with tempfile.TemporaryDirectory() as folder:
                    est = make_estimator(est_name, variant_params(variant, dim, folder))
                    t0 = time.perf_counter()
                    est.fit([texts[i] for i in fit], Y[fit])
                    fit_s = time.perf_counter() - t0
                idx, _ = est.predict_topk([texts[i] for i in valid], k=5)
                history = getattr(est, "history_", None)
                emb = [m for m in est.net_.module_.modules()
                       if isinstance(m, torch.nn.Embedding)][0]
                row = {"dataset": name, "estimator": est_name, "variant": variant,
                       "recipe": _static._RECIPE_VERSION, "embedding_dim": emb.embedding_dim,
                       "n_fit": len(fit), "n_valid": len(valid), "fit_s": round(fit_s, 1),
                       "train_loss": float(history[-1, "train_loss"]) if history else None,
                       "P@1": float(precision_at_k(Y[valid], idx, k=1)),
                       "PSP@5": float(psp_at_k(Y[valid], idx, k=5, inv_propensity=inv_p))}
                print(json.dumps(row), flush=True)
                with open(args.out, "a") as fh:
                    fh.write(json.dumps(row) + "\n")


def table(rows):
    """Markdown: validation P@1 / PSP@5 and fit seconds per estimator, variant and recipe."""
    from sklearn_xmtc._registry import make_estimator

    out = ["| estimator | embeddings | recipe | embedding width | P@1 | PSP@5 | fit s |",
           "|---|---|---|---:|---:|---:|---:|"]
    for r in rows:
        static = r["variant"] in ("minilm-input", "minilm-distilled")
        recipe = {None: "1 (384-d, one scale)", 2: "2 (PCA, one scale)",
                  3: "3 (PCA, columns standardised)"}[r.get("recipe")] if static else "-"
        width = r.get("embedding_dim") or (384 if static or "raw" in r["variant"]
                                           else make_estimator(r["estimator"]).embedding_dim)
        out.append(f"| {r['estimator']} | {r['variant']} | {recipe} | {width} | "
                   f"{r['P@1']:.3f} | {r['PSP@5']:.3f} | {r['fit_s']:.0f} |")
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    main()
