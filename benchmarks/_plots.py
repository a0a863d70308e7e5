"""PNG plots of benchmark results (matplotlib, Agg backend)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

BUCKETS = ("head", "torso", "tail")


def _style(rec):
    return "-" if rec.get("kind") == "estimator" else "--"


def plot_precision_at_k(recs, dataset, path):
    """P@k for k = 1..5, one line per system (solid: ours, dashed: peers)."""
    fig, ax = plt.subplots(figsize=(7, 4.5))
    ks = np.arange(1, 6)
    for r in recs:
        ax.plot(ks, [r[f"P@{k}"] for k in ks], _style(r), marker="o", label=r["system"])
    ax.set_xticks(ks)
    ax.set_xlabel("k")
    ax.set_ylabel("P@k")
    ax.set_title(f"{dataset}: precision at k (solid: sklearn_xmtc, dashed: peers)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, ncol=2)
    _save(fig, path)


def plot_buckets(recs, dataset, path):
    """Grouped bars: recall@5 and PSP@5 per label-frequency bucket and system."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.5), sharey=True)
    width = 0.8 / max(len(recs), 1)
    x = np.arange(len(BUCKETS))
    for ax, metric in zip(axes, ("recall@5", "PSP@5")):
        for i, r in enumerate(recs):
            vals = [r["buckets"][b][metric] or 0.0 for b in BUCKETS]
            ax.bar(x + (i - (len(recs) - 1) / 2) * width, vals, width, label=r["system"],
                   hatch=None if r.get("kind") == "estimator" else "//")
        ax.set_xticks(x)
        ax.set_xticklabels(BUCKETS)
        ax.set_title(f"{dataset}: {metric} by training-frequency bucket")
        ax.grid(axis="y", alpha=0.3)
    axes[0].set_ylabel("score")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, fontsize=8, ncol=min(len(labels), 7), loc="lower center",
               frameon=False)  # below the panels, never over the bars
    fig.tight_layout(rect=(0, 0.06 * (1 + (len(labels) - 1) // 7), 1, 1))
    _save(fig, path, layout=False)


def plot_scaling(recs, path):
    """Fit time, predict time and peak RSS against L (log-log), one line per method."""
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.5))
    keys = (("fit_s", "fit seconds"), ("predict_s", "predict_topk seconds"),
            ("peak_rss_mb", "peak RSS (MiB)"))
    for name in dict.fromkeys(r["system"] for r in recs):
        ok = sorted((r for r in recs if r["system"] == name and r.get("status") == "ok"),
                    key=lambda r: r["n_labels"])
        if not ok:
            continue
        L = [r["n_labels"] for r in ok]
        for ax, (key, _) in zip(axes, keys):
            ax.plot(L, [r[key] for r in ok], marker="o", label=name)
    for ax, (_, label) in zip(axes, keys):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("number of labels L")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3, which="both")
    axes[0].legend(fontsize=8)
    fig.suptitle("Scaling with L (synthetic data; missing points exceeded the time budget)")
    _save(fig, path)


def _save(fig, path, layout=True):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if layout:
        fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
