"""
Quickstart: tagging cooking questions
=====================================

Train two extreme multi-label text classifiers on the Cooking StackExchange
questions bundled with the package: the linear one-vs-rest baseline
(:class:`~sklearn_xmtc.LinearXMTCClassifier`) and a small XML-CNN
(:class:`~sklearn_xmtc.XMLCNNClassifier`). Then rank the labels of the test
questions with ``predict_topk``, score the rankings with the metrics of
:mod:`sklearn_xmtc.metrics`, and tag a new question with ``predict_labels``.
"""

# %%
# Load the data
# -------------
# :func:`~sklearn_xmtc.datasets.load_cooking` returns a
# :class:`~sklearn.utils.Bunch` with the texts (lists of str), the labels (CSR
# 0/1 matrices, one column per tag) and the tag names of the columns
# (``classes``). One tag occurs only in the test split: it is the last column
# of ``Y_test``, which no model trained on ``Y_train`` can predict. To keep
# this example fast we train on the first 5,000 of the 12,404 training
# questions.
from sklearn_xmtc.datasets import load_cooking

data = load_cooking()
n_train = 5000
X_train, Y_train = data.X_train[:n_train], data.Y_train[:n_train]
X_test, Y_test = data.X_test, data.Y_test

print(f"{len(data.X_train)} training and {len(X_test)} test questions, "
      f"{len(data.classes)} tags in training ({Y_test.shape[1]} columns in Y_test)")
print("first question:", repr(X_train[0]))
print("its tags:", list(data.classes[Y_train[0].indices]))

# %%
# Fit two estimators
# ------------------
# The linear estimator builds its own TF-IDF features and trains one sparse
# linear model per label. XML-CNN learns word vectors, convolutions and a
# bottleneck layer with PyTorch (through skorch). It is kept tiny here (small
# dimensions, short texts, five epochs) so that it trains quickly on a CPU:
# treat its scores as a demonstration of the API, not of the method.
from sklearn_xmtc import DummyXMTCClassifier, LinearXMTCClassifier, XMLCNNClassifier

linear = LinearXMTCClassifier().fit(X_train, Y_train)
xmlcnn = XMLCNNClassifier(
    embedding_dim=64, n_filters=32, filter_sizes=(2, 4), hidden_size=128,
    max_length=24, batch_size=64, lr=2e-2, dropout=0.2, max_epochs=5,
    device="cpu", random_state=0, verbose=0,
).fit(X_train, Y_train)
dummy = DummyXMTCClassifier().fit(X_train, Y_train)  # always ranks the most frequent tags

print("XML-CNN training loss per epoch:",
      [round(float(loss), 4) for loss in xmlcnn.history_[:, "train_loss"]])

# %%
# Rank labels and score the rankings
# ----------------------------------
# ``predict_topk`` returns two ``(n_samples, k)`` arrays: the column indices of
# the ``k`` best labels of each text, best first, and their scores. It never
# builds the full ``n_samples x n_labels`` score matrix, which matters when
# there are millions of labels.
#
# P@k is the share of the top ``k`` that is correct, nDCG@k also rewards
# putting the correct labels first, and PSP@k (propensity-scored precision)
# weights each hit by the inverse propensity of its label, so that finding a
# rare label counts more than finding a frequent one.
# :func:`~sklearn_xmtc.metrics.estimator_inv_propensity` computes those
# weights from the training label counts of a fitted estimator;
# ``n_columns=Y_test.shape[1]`` extends them to the test-only tag.
from sklearn_xmtc.metrics import (
    estimator_inv_propensity, ndcg_at_k, precision_at_k, psp_at_k)

idx, scores = linear.predict_topk(X_test, k=5)
print("top-5 indices of the first test question:", idx[0])
print("their scores:", scores[0].round(3))

inv_prop = estimator_inv_propensity(linear, n_columns=Y_test.shape[1])
print(f"\n{'estimator':10s} {'P@1':>6s} {'P@5':>6s} {'nDCG@5':>7s} {'PSP@5':>6s}")
for name, est in [("dummy", dummy), ("linear", linear), ("xmlcnn", xmlcnn)]:
    idx, _ = est.predict_topk(X_test, k=5)
    print(f"{name:10s} {precision_at_k(Y_test, idx, k=1):6.3f} "
          f"{precision_at_k(Y_test, idx, k=5):6.3f} {ndcg_at_k(Y_test, idx, k=5):7.3f} "
          f"{psp_at_k(Y_test, idx, k=5, inv_propensity=inv_prop):6.3f}")

# %%
# Tag a new question
# ------------------
# ``predict`` and ``predict_labels`` return label *sets*: the labels whose
# score reaches ``threshold`` (0.5 by default), at least ``min_labels`` of
# them. The models were fitted on a label matrix, so their ``classes_`` are
# column indices; ``data.classes`` turns them back into tag names. (Fitted on
# lists of tag names, ``predict_labels`` would return the names directly.)
question = ["How long should I boil an egg for a runny yolk?"]
for name, est in [("linear", linear), ("xmlcnn", xmlcnn)]:
    labels = est.predict_labels(question)[0]
    best = est.set_params(min_labels=1).predict_labels(question)[0]
    idx, scores = est.predict_topk(question, k=3)
    print(f"{name}: threshold {est.threshold} -> {list(data.classes[labels])}; "
          f"min_labels=1 -> {list(data.classes[best])}; top 3: "
          + ", ".join(f"{data.classes[j]} ({s:.2f})" for j, s in zip(idx[0], scores[0])))
