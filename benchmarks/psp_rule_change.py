"""How much the one PSP rule moved the CLI's PSP@k (issue 13, item 6).

    python -m benchmarks.psp_rule_change

The CLI used to extend an estimator's ``inv_propensity_`` to the test-only
columns with its largest weight; the rule now (``estimator_inv_propensity``)
gives them the propensity of a label seen 0 times, as the benchmarks always
did. The predictions are the label-frequency baseline's, so only the
weights differ; a test-only label can never be predicted, so it only enters
the normaliser of PSP@k.
"""

from __future__ import annotations

import numpy as np

from sklearn_xmtc import DummyXMTCClassifier
from sklearn_xmtc.datasets import load_dataset
from sklearn_xmtc.metrics import estimator_inv_propensity, ranking_scores


def main(datasets=("cooking", "reuters21578", "codiesp")):
    print("| dataset | test-only columns | PSP@1 old / new | PSP@3 old / new | PSP@5 old / new |")
    print("|---|---:|---:|---:|---:|")
    for name in datasets:
        data = load_dataset(name)
        est = DummyXMTCClassifier().fit(data.X_train, data.Y_train)
        idx, _ = est.predict_topk(data.X_test, k=5)
        n, w = data.Y_test.shape[1], est.inv_propensity_
        rules = {"old": np.concatenate([w, np.full(n - w.size, w.max())]),
                 "new": estimator_inv_propensity(est, n_columns=n)}
        res = {rule: ranking_scores(data.Y_test, idx, ks=(1, 3, 5), inv_propensity=weights,
                                    metrics=("psp",)) for rule, weights in rules.items()}
        cells = [f"{res['old'][f'psp_at_{k}']:.5f} / {res['new'][f'psp_at_{k}']:.5f}"
                 for k in (1, 3, 5)]
        print(f"| {name} | {n - w.size} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
