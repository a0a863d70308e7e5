"""
Hyperparameter search with XMTC scorers
=======================================

Every estimator of ``sklearn_xmtc`` is a scikit-learn estimator, so
:class:`~sklearn.model_selection.GridSearchCV` tunes it as it is. The XMTC
metrics reach the search through :func:`sklearn_xmtc.metrics.xmtc_scoring`:
one scorer that computes several ranking metrics (P@k, nDCG@k, PSP@k, ...)
from a single ``predict_topk`` call per fold. Here we tune the regularisation
``C`` of :class:`~sklearn_xmtc.LinearXMTCClassifier`, which trains in a couple
of seconds on a slice of the Cooking data.
"""

# %%
# Data and search
# ---------------
# We search on the first 2,000 training questions with three shuffled folds.
# ``refit="precision_at_5"`` names the metric that picks the best candidate;
# the search then refits it on all 2,000 questions as ``best_estimator_``.
from sklearn.model_selection import GridSearchCV, KFold

from sklearn_xmtc import LinearXMTCClassifier
from sklearn_xmtc.datasets import load_cooking
from sklearn_xmtc.metrics import xmtc_scoring

data = load_cooking()
X, Y = data.X_train[:2000], data.Y_train[:2000]

metrics = ["precision_at_1", "precision_at_5", "ndcg_at_5", "psp_at_5"]
search = GridSearchCV(
    LinearXMTCClassifier(),
    {"C": [0.1, 1.0, 10.0]},
    scoring=xmtc_scoring(metrics),
    refit="precision_at_5",
    cv=KFold(n_splits=3, shuffle=True, random_state=0),
)
search.fit(X, Y)
print("scorer:", search.scorer_)
print("best parameters:", search.best_params_,
      f"(mean validation P@5 {search.best_score_:.3f})")

# %%
# The results table
# -----------------
# ``cv_results_`` holds, for every metric named in the scorer, the mean and
# standard deviation over the folds and the rank of each candidate. It is a
# dict of arrays; ``pandas.DataFrame(search.cv_results_)`` shows it as a
# table when pandas is installed, and plain Python does as well:
res = search.cv_results_
header = f"{'C':>6s} " + " ".join(f"{m:>16s}" for m in metrics) + f" {'fit s':>6s}"
print(header)
for i, params in enumerate(res["params"]):
    cells = " ".join(f"{res[f'mean_test_{m}'][i]:.3f} +- {res[f'std_test_{m}'][i]:.3f}"
                     .rjust(16) for m in metrics)
    print(f"{params['C']:6g} {cells} {res['mean_fit_time'][i]:6.2f}")
print("rank by P@5:", res["rank_test_precision_at_5"].tolist())
print("rank by PSP@5:", res["rank_test_psp_at_5"].tolist())

# %%
# The refitted model on the test split
# ------------------------------------
# The scorer is also a plain callable ``scorer(estimator, X, y)`` that returns
# a dict, handy to score the refitted model on held-out data with exactly the
# metrics used in the search. ``Y_test`` has one more column than the training
# labels (a tag seen only in the test split): the scorers accept that, and
# count the extra tag as a label the model can never find.
test_scores = search.scorer_(search.best_estimator_, data.X_test, data.Y_test)
print({name: round(value, 3) for name, value in test_scores.items()})
