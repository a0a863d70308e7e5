"""
Rare labels: propensity-scored precision and frequency buckets
==============================================================

In extreme multi-label data most labels are rare, and a model can score a
high precision@k by predicting the few frequent labels well. Two tools show
what happens on the rare ones: *propensity-scored* precision (PSP@k, Jain et
al. 2016), which weights each correct label by the inverse of its estimated
propensity (the chance that a relevant label is tagged at all), and
precision split over *buckets* of labels by training frequency. We compare
:class:`~sklearn_xmtc.LinearXMTCClassifier` with the label-frequency baseline
:class:`~sklearn_xmtc.DummyXMTCClassifier` on the Cooking data.
"""

# %%
# Propensities
# ------------
# :func:`~sklearn_xmtc.metrics.inverse_propensity` computes ``1 / p_l`` from
# the training label counts: ``1 + C (N_l + B)^(-A)`` with ``A=0.55``,
# ``B=1.5`` by default. It falls as the label count ``N_l`` grows.
# :func:`~sklearn_xmtc.metrics.estimator_inv_propensity` gives the same
# values from a fitted estimator (its training counts and its
# ``propensity_a`` / ``propensity_b``), extended to the test-only columns of
# ``Y_test``: that is what the PSP scorers use.
import matplotlib.pyplot as plt
import numpy as np

from sklearn_xmtc import DummyXMTCClassifier, LinearXMTCClassifier
from sklearn_xmtc.datasets import load_cooking
from sklearn_xmtc.metrics import (
    estimator_inv_propensity, hit_matrix, inverse_propensity, precision_at_k, psp_at_k)

data = load_cooking()
X_train, Y_train = data.X_train, data.Y_train
X_test, Y_test = data.X_test, data.Y_test

linear = LinearXMTCClassifier().fit(X_train, Y_train)
dummy = DummyXMTCClassifier().fit(X_train, Y_train)

inv_prop = inverse_propensity(Y_train)
inv_prop_test = estimator_inv_propensity(linear, n_columns=Y_test.shape[1])
print("same values for the training labels:",
      np.allclose(inv_prop, inv_prop_test[:len(inv_prop)]))
print(f"the test-only tag {list(data.classes_test_only)} gets {inv_prop_test[-1]:.2f}, "
      "the weight of a label never seen in training")

counts = np.asarray(Y_train.sum(axis=0)).ravel().astype(int)
order = np.argsort(-counts, kind="stable")
print(f"\n{'tag':22s} {'count':>6s} {'1/p':>6s}")
for j in order[[0, 1, len(order) // 4, len(order) // 2, len(order) - 1]]:
    print(f"{data.classes[j]:22s} {counts[j]:6d} {inv_prop[j]:6.2f}")

# %%
# P@k and PSP@k
# -------------
# PSP@k divides the propensity-weighted hits by the best value reachable with
# each text's true labels, so it lies between 0 and 1 like P@k. The dummy
# ranks the same most frequent tags for every text: under propensity
# weighting those are the hits that count least.
K = 10
ranked = {name: est.predict_topk(X_test, k=K)[0]
          for name, est in [("linear", linear), ("dummy", dummy)]}
ks = np.arange(1, K + 1)
p_at = {name: [precision_at_k(Y_test, idx, k=k) for k in ks] for name, idx in ranked.items()}
psp_at = {name: [psp_at_k(Y_test, idx, k=k, inv_propensity=inv_prop_test) for k in ks]
          for name, idx in ranked.items()}
for name in ranked:
    print(f"{name:7s} P@1 {p_at[name][0]:.3f}  P@5 {p_at[name][4]:.3f}  "
          f"PSP@1 {psp_at[name][0]:.3f}  PSP@5 {psp_at[name][4]:.3f}")

# %%
# Head, torso and tail labels
# ---------------------------
# We sort the tags by training count and cut them into three buckets of equal
# *mass*: each holds about a third of the training tag occurrences. The head
# is a handful of frequent tags, the tail the many rare ones (the test-only
# tag, never seen in training, joins the tail). The contribution of a bucket
# to P@5 is the number of correct top-5 labels from that bucket divided by
# ``5 x n_test``: the three contributions add up to P@5.
share = np.cumsum(counts[order]) / counts.sum()
bucket_of = np.full(Y_test.shape[1], 2)  # test-only columns: tail
bucket_of[order] = np.searchsorted([1 / 3, 2 / 3], share, side="left")
names = ["head", "torso", "tail"]
for b, name in enumerate(names):
    print(f"{name:5s}: {np.sum(bucket_of == b):3d} tags, "
          f"{counts[bucket_of[:len(counts)] == b].sum()} training occurrences")

contrib = {}
for model, idx in ranked.items():
    top5 = idx[:, :5]
    hits = hit_matrix(Y_test, top5, k=5)
    contrib[model] = [hits[bucket_of[top5] == b].sum() / top5.size for b in range(3)]
    print(f"{model:7s}", "  ".join(f"{n} {c:.3f}" for n, c in zip(names, contrib[model])),
          f" (sum {sum(contrib[model]):.3f} = P@5 {p_at[model][4]:.3f})")

fig, ax = plt.subplots(figsize=(6, 3.5))
width = 0.38
x = np.arange(3)
for i, (model, values) in enumerate(contrib.items()):
    bars = ax.bar(x + (i - 0.5) * width, values, width, label=model)
    ax.bar_label(bars, fmt="%.3f", fontsize=8)
ax.set_xticks(x, [f"{n}\n({np.sum(bucket_of == b)} tags)" for b, n in enumerate(names)])
ax.set_ylabel("contribution to P@5")
ax.margins(y=0.15)
ax.set_title("Cooking: correct top-5 labels by training-frequency bucket")
ax.legend()
fig.tight_layout()
plt.show()

# %%
# P@k and PSP@k against k
# -----------------------
# A test question has only a few true tags (the mean is printed below), so P@k
# must fall once k passes that number: its denominator is always k. PSP@k is
# normalised by the best value reachable at each k instead, so it need not
# fall; here a longer list keeps finding rarer tags.
print(f"true tags per test question: {Y_test.getnnz(axis=1).mean():.2f}")
fig, axes = plt.subplots(1, 2, figsize=(8, 3.5), sharex=True)
for model in ranked:
    axes[0].plot(ks, p_at[model], marker="o", label=model)
    axes[1].plot(ks, psp_at[model], marker="o", label=model)
axes[0].set_title("P@k")
axes[1].set_title("PSP@k")
for ax in axes:
    ax.set_xlabel("k")
    ax.set_xticks(ks)
    ax.set_ylim(0, None)
    ax.grid(alpha=0.3)
axes[0].legend()
fig.tight_layout()
plt.show()
