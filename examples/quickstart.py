"""Quickstart: train XML-CNN on the bundled Cooking data, evaluate, tune, save.

Run: ``python examples/quickstart.py`` (about a minute on 2 CPU cores).
"""

import joblib
from sklearn.model_selection import GridSearchCV, KFold

from sklearn_xmtc import DummyXMTCClassifier, XMLCNNClassifier
from sklearn_xmtc.datasets import load_cooking
from sklearn_xmtc.metrics import estimator_inv_propensity, ranking_scores, xmtc_scoring

data = load_cooking()
X_train, Y_train = data.X_train[:4000], data.Y_train[:4000]

est = XMLCNNClassifier(max_epochs=3, embedding_dim=64, n_filters=32, hidden_size=128,
                       max_length=64, random_state=0)
est.fit(X_train, Y_train)
idx, scores = est.predict_topk(data.X_test, k=5)
for name, model in [("dummy", DummyXMTCClassifier().fit(X_train, Y_train)), ("xmlcnn", est)]:
    # test-only labels (Y_test's extra columns) get the propensity of a label seen 0 times
    weights = estimator_inv_propensity(model, n_columns=data.Y_test.shape[1])
    res = ranking_scores(data.Y_test, model.predict_topk(data.X_test, k=5),
                         ks=(1, 3, 5), inv_propensity=weights)
    print(name, {k: round(v, 4) for k, v in res.items()})

print(est.predict_labels(["How long should I boil an egg?", "Is raw chicken safe?"]))

search = GridSearchCV(
    XMLCNNClassifier(max_epochs=1, embedding_dim=32, n_filters=16, hidden_size=64,
                     max_length=32, random_state=0),
    {"lr": [1e-3, 3e-3]}, cv=KFold(2),
    scoring=xmtc_scoring(["precision_at_1", "precision_at_5", "psp_at_5"]),
    refit="precision_at_5")
search.fit(X_train[:1500], Y_train[:1500])
print("best:", search.best_params_, round(search.best_score_, 4))

joblib.dump(est, "xmlcnn-cooking.joblib")
print(joblib.load("xmlcnn-cooking.joblib").predict_topk(["sourdough starter"], k=3))
