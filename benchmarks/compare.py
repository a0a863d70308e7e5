"""Compare two benchmark result files system by system (a refactor must not move a model).

    python -m benchmarks.compare BEFORE.jsonl AFTER.jsonl [--md OUT.md]

For every (dataset, system) present in both, says whether P@1..5 and
nDCG@1/3/5 are bit-identical, whether the predictions are (the SHA-256
digests of the top-5 indices, their scores and the predicted sets that
``benchmarks/_runner.py`` records), and the largest change of PSP@1/3/5
(which may move when only the propensity rule changed).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from sklearn_xmtc.utils._io import atomic_write_text

RANKING = [f"P@{k}" for k in (1, 2, 3, 4, 5)] + [f"nDCG@{k}" for k in (1, 3, 5)]
PSP = ["PSP@1", "PSP@3", "PSP@5"]


def load(path):
    """{(dataset, system): record} of the successful runs of a JSON-lines file."""
    out = {}
    for line in Path(path).read_text().splitlines():
        rec = json.loads(line)
        if rec.get("status") == "ok":
            out[(rec["dataset"], rec["system"])] = rec
    return out


def compare(before, after):
    """One row per (dataset, system) in both files."""
    rows = []
    for key in sorted(set(before) & set(after)):
        a, b = before[key], after[key]
        digests = a.get("predictions_sha256"), b.get("predictions_sha256")
        rows.append({
            "dataset": key[0], "system": key[1],
            "ranking_identical": all(a[m] == b[m] for m in RANKING),
            "predictions_identical": None if None in digests else digests[0] == digests[1],
            "max_abs_psp_change": max(abs(a[m] - b[m]) for m in PSP),
            "P@1": b["P@1"], "nDCG@5": b["nDCG@5"], "PSP@5_before": a["PSP@5"],
            "PSP@5_after": b["PSP@5"],
        })
    return rows


def markdown(rows):
    head = ("| dataset | system | P@1..5, nDCG@1/3/5 bit-identical | predictions bit-identical "
            "| P@1 | nDCG@5 | PSP@5 before | PSP@5 after | largest PSP@k change |")
    lines = [head, "|---|---|---|---|---:|---:|---:|---:|---:|"]
    yes = {True: "yes", False: "**no**", None: "not recorded"}
    for r in rows:
        lines.append(f"| {r['dataset']} | {r['system']} | {yes[r['ranking_identical']]} | "
                     f"{yes[r['predictions_identical']]} | {r['P@1']:.4f} | {r['nDCG@5']:.4f} | "
                     f"{r['PSP@5_before']:.4f} | {r['PSP@5_after']:.4f} | "
                     f"{r['max_abs_psp_change']:.2e} |")
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m benchmarks.compare", description=__doc__)
    ap.add_argument("before", type=Path)
    ap.add_argument("after", type=Path)
    ap.add_argument("--md", type=Path, default=None, help="also write the table here")
    args = ap.parse_args(argv)
    table = markdown(compare(load(args.before), load(args.after)))
    print(table)
    if args.md:
        atomic_write_text(args.md, table + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
