"""Hyperparameter search on a Dask cluster through joblib (issue 20, item 2)."""

import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV

from sklearn_xmtc._registry import make_estimator
from sklearn_xmtc.datasets import make_tiny_xmtc
from sklearn_xmtc.metrics import xmtc_scoring

distributed = pytest.importorskip("distributed", reason="needs the `dask` extra")

X, Y = make_tiny_xmtc(n_samples=80, n_labels=8, random_state=0)


def _search(**kw):
    return GridSearchCV(make_estimator("xmlcnn", {"max_epochs": 1}, setting=0),
                        {"lr": [1e-2, 1e-3]}, cv=2, refit="precision_at_1",
                        scoring=xmtc_scoring(["precision_at_1", "psp_at_3"]), **kw)


def test_grid_search_on_a_two_worker_local_cluster_matches_the_sequential_one():
    import joblib
    from distributed import Client, LocalCluster, get_task_stream

    sequential = _search().fit(X, Y)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        with joblib.parallel_config(backend="dask"), get_task_stream(client) as tasks:
            on_dask = _search(n_jobs=-1).fit(X, Y)
        workers = {t["worker"] for t in tasks.data}
    assert len(workers) == 2  # both workers fitted candidates: estimators and scorers travel
    for key in ("mean_test_precision_at_1", "mean_test_psp_at_3"):
        assert np.array_equal(sequential.cv_results_[key], on_dask.cv_results_[key])
    assert np.array_equal(sequential.best_estimator_.predict_topk(X, 3)[0],
                          on_dask.best_estimator_.predict_topk(X, 3)[0])
