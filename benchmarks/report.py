"""Markdown report and plots from the JSON lines written by ``python -m benchmarks.run``.

Usage (from the repository root)::

    python -m benchmarks.report [RESULTS.jsonl ...] [--out docs/benchmarks.md]
        [--img-dir docs/img] [--scaling benchmarks/results/scaling.jsonl]
        [--notes-file benchmarks/results/notes.md] [--include FILE.md ...]

Writes ``docs/benchmarks.md``: the reading of the results (``--notes-file``),
one table per dataset (accuracy, speed, memory), a table of the thresholded
sets' metrics and one of head/torso/tail recall@5 and PSP@5 per dataset, the
commands that produced the results, their dates, the machine and the load
average during the runs, one section per ablation file
(``results/ablation_*.jsonl`` from ``benchmarks.run --variant``, beside the main
rows of the estimators they vary, with ``ablation_*.md`` as its reading), the
scaling section,
and then the per-method benchmark reports (``--include``, by default
``benchmarks/results/{select_hybrid,select_hybrid_solver,metrics,otseq2set,ghxmc,
refactor_check}.md``, each written with the command that produced it), their headings
moved one level down; and
PNG plots in ``--img-dir``: P@k (k = 1..5) per system, recall@5 and PSP@5 by
label-frequency bucket, and time and memory against the number of labels.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent

try:
    from ._plots import plot_buckets, plot_precision_at_k, plot_scaling
except ImportError:  # matplotlib missing: tables only (pip install matplotlib for the plots)
    plot_buckets = plot_precision_at_k = plot_scaling = None

COLUMNS = [("P@1", "P@1", 3), ("P@3", "P@3", 3), ("P@5", "P@5", 3), ("nDCG@3", "nDCG@3", 3),
           ("nDCG@5", "nDCG@5", 3), ("PSP@1", "PSP@1", 3), ("PSP@3", "PSP@3", 3),
           ("PSP@5", "PSP@5", 3), ("micro-F1", "micro-F1", 3), ("fit_s", "fit s", 1),
           ("predict_s", "predict s", 2), ("predict_texts_per_s", "texts/s", 0),
           ("peak_rss_mb", "peak RSS MiB", 0)]
BUCKETS = ("head", "torso", "tail")
RESULTS = HERE / "results"
METHOD_REPORTS = ["select_hybrid.md", "select_hybrid_solver.md", "metrics.md", "otseq2set.md",
                  "ghxmc.md", "scaling_out.md", "refactor_check.md"]

CONVENTIONS = """\
Conventions (see `benchmarks/run.py`, `benchmarks/_evaluation.py`, `benchmarks/_peers/`):

- Same split for every system: the dataset's `train.jsonl` / `test.jsonl` (first
  `--max-train` / `--max-test` rows when given). Each (dataset, system) pair runs in its
  own child process; *peak RSS* is that process's `ru_maxrss` (data, imports, model;
  for PECOS also its worker subprocess).
- Our estimators: the methods of `sklearn_xmtc._registry` with their demo parameters
  (plus `--set` overrides), raw texts in, `predict_topk(k=5)` for the ranking metrics and
  `predict` (score >= the estimator's `threshold`) for micro-F1.
- Peers: the same TF-IDF features for all (`TfidfVectorizer(sublinear_tf=True,
  ngram_range=(1, 2), min_df=2, dtype=float32)`, L2-normalised rows, fitted on the
  training texts; its time is included in fit and predict). Library defaults otherwise:
  napkinXC PLT (hierarchical k-means, arity 2, log loss), omikuji Parabel-like (balanced
  2-means, depth 20, 3 trees) and Bonsai-like (unbalanced 100-means, depth 3, 3 trees),
  LibMultiLabel one-vs-rest and tree (LIBLINEAR `-s 2 -B 1 -e 0.0001`, tree K=100,
  dmax=10, beam 10), PECOS XR-Linear (PIFA + hierarchical k-means, 16 splits, beam 10,
  run from its own numpy<2 venv). Peers' micro-F1: among each text's top-10 candidates,
  those with score >= 0.5 (probability-like scores of napkinXC, omikuji, LibMultiLabel
  tree and PECOS) or decision value >= 0 (LibMultiLabel one-vs-rest, the same as
  sigmoid >= 0.5); no label when none passes.
- PSP@k uses one set of inverse propensities per split, computed from the training
  label counts (Jain et al. 2016, A=0.55, B=1.5; a label absent from training has the
  propensity of a label seen 0 times), identical for all systems.
- Timings: *fit s* = training wall time; *predict s* = `predict_topk(k=5)` over the
  test texts (peers: TF-IDF transform + top-10); *texts/s* = test texts / predict s.
- Label-frequency buckets: labels sorted by decreasing training frequency and cut where
  the cumulative share of training label occurrences crosses 1/3 and 2/3: *head* = the
  few frequent labels carrying the first third of the occurrences, *torso* the next
  third, *tail* the many rare labels (plus labels absent from training). recall@5 =
  true bucket labels found in the top 5 / true bucket labels (micro); PSP@5 restricted
  to the bucket's labels (normalised by the best achievable within the bucket)."""


def load_records(paths):
    records = []
    for path in paths:
        with open(path) as fh:
            records.extend(json.loads(line) for line in fh if line.strip())
    return records


def _run_key(r):
    # A run with another seed is another measurement, not a re-run that supersedes.
    return r["dataset"], r["system"], r.get("seed", 0)


def latest_per_pair(records):
    """The last record of each (dataset, system, seed), in first-seen order; (kept, n dropped).

    A "skipped" record (the peer was not installed for that run) is no measurement: it
    never replaces an earlier record of the pair that has results.
    """
    last = {}
    for r in records:
        key = _run_key(r)
        if r.get("status") == "skipped" and last.get(key, {}).get("status") == "ok":
            continue
        last[key] = r
    order = list(dict.fromkeys(map(_run_key, records)))
    return [last[key] for key in order], len(records) - len(last)


def _fmt(v, digits):
    if v is None:
        return "–"
    return f"{v:,.{digits}f}" if digits == 0 else f"{v:.{digits}f}"


def dataset_table(recs):
    """Markdown table of one dataset's records (non-ok runs as status rows + notes)."""
    head = "| system | kind | " + " | ".join(c[1] for c in COLUMNS) + " |"
    lines = [head, "|---|---|" + "---:|" * len(COLUMNS)]
    notes = []
    for r in recs:
        if r.get("status") == "ok":
            cells = [_fmt(r.get(key), d) for key, _, d in COLUMNS]
        else:
            notes.append(f"- {r['system']}: {r.get('status')} — {_one_line(r.get('note', ''))}")
            cells = [r.get("status", "?")] + [""] * (len(COLUMNS) - 1)
        lines.append(f"| {r['system']} | {r['kind']} | " + " | ".join(cells) + " |")
    return "\n".join(lines + ([""] + notes if notes else []))


SET_COLUMNS = [("micro-P", "micro-P", 3), ("micro-R", "micro-R", 3), ("micro-F1", "micro-F1", 3),
               ("macro-F1", "macro-F1", 3), ("example-F1", "example-F1", 3),
               ("avg_predicted_set_size", "labels/text", 2)]


def _tuned(r, strategy, key):
    return ((r.get("tuned") or {}).get(strategy) or {}).get(key)


def set_table(recs):
    """Markdown table of the thresholded-set metrics of the ok records that have them
    (with the tuned-threshold micro-F1 columns when a record has them)."""
    ok = [r for r in recs if r.get("status") == "ok" and "example-F1" in r]
    if not ok:
        return ""
    tuned = any(r.get("tuned") for r in ok)
    extra = ["tuned threshold", "tuned micro-F1", "tuned labels/text",
             "per-label micro-F1"] if tuned else []
    lines = ["| system | threshold | " + " | ".join([c[1] for c in SET_COLUMNS] + extra) + " |",
             "|---|---|" + "---:|" * (len(SET_COLUMNS) + len(extra))]
    for r in ok:
        cells = [_fmt(r.get(key), d) for key, _, d in SET_COLUMNS]
        if tuned:
            cells += [_fmt(_tuned(r, "global", "threshold"), 3),
                      _fmt(_tuned(r, "global", "micro-F1"), 3),
                      _fmt(_tuned(r, "global", "avg_predicted_set_size"), 2),
                      _fmt(_tuned(r, "per_label", "micro-F1"), 3)]
        lines.append(f"| {r['system']} | {_one_line(r.get('threshold', ''), 60)} | "
                     + " | ".join(cells) + " |")
    return "\n".join(lines)


def tuned_summary(records):
    """micro-F1 with the fixed and the tuned thresholds, every system x dataset, and our
    best tuned system against the best tuned peer per dataset."""
    ok = [r for r in records if r.get("status") == "ok" and r.get("tuned")]
    if not ok:
        return ""
    datasets = list(dict.fromkeys(r["dataset"] for r in ok))
    systems = list(dict.fromkeys(r["system"] for r in ok))
    by = {(r["dataset"], r["system"]): r for r in ok}
    lines = ["## micro-F1 with fixed and tuned thresholds", "",
             "Cells: fixed / tuned global / tuned per-label micro-F1 on the test split. The "
             "thresholds are tuned for each system the same way (`--tune-thresholds`, "
             "`benchmarks/_runner.py` `tuned_set_scores`): a second model fitted on 80 % of "
             "the training split, micro-F1 of its top-50 candidates maximised on the other "
             "20 % (`sklearn_xmtc.model_selection.tune_thresholds`), the thresholds applied to "
             "the test top-50 of the model fitted on all the training texts. Each (dataset, "
             "system) pair's latest record run with `--tune-thresholds` (its fixed micro-F1 "
             "comes from the same run).", "",
             "| system | " + " | ".join(datasets) + " |", "|---|" + "---|" * len(datasets)]
    for name in systems:
        cells = []
        for d in datasets:
            r = by.get((d, name))
            cells.append("–" if r is None else
                         f"{r['micro-F1']:.3f} / {_tuned(r, 'global', 'micro-F1'):.3f} / "
                         f"{_tuned(r, 'per_label', 'micro-F1'):.3f}")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += ["", "Best tuned micro-F1 (either strategy, the one chosen before the test split "
              "is read being the global one) of ours and of the peers:", "",
              "| dataset | ours (global) | system | best peer (global) | peer | margin |",
              "|---|---:|---|---:|---|---:|"]
    for d in datasets:
        best = {}
        for kind in ("estimator", "peer"):
            rows = [r for r in ok if r["dataset"] == d and r.get("kind") == kind]
            if rows:
                r = max(rows, key=lambda r: _tuned(r, "global", "micro-F1"))
                best[kind] = (_tuned(r, "global", "micro-F1"), r["system"])
        if len(best) == 2:
            (a, an), (b, bn) = best["estimator"], best["peer"]
            lines.append(f"| {d} | {a:.3f} | {an} | {b:.3f} | {bn} | {100 * (a - b):+.1f} |")
    return "\n".join(lines)


def _one_line(text, limit=300):
    text = " ".join(str(text).split())
    return text if len(text) <= limit else "…" + text[-limit:]


def bucket_table(recs):
    ok = [r for r in recs if r.get("status") == "ok" and r.get("buckets")]
    if not ok:
        return ""
    b0 = ok[0]["buckets"]
    sizes = ", ".join(f"{b} {b0[b]['n_labels']} labels / {b0[b]['test_positives']} test "
                      "positives" for b in BUCKETS)
    lines = [f"Buckets: {sizes}.", "",
             "| system | " + " | ".join(f"{b} R@5" for b in BUCKETS) + " | "
             + " | ".join(f"{b} PSP@5" for b in BUCKETS) + " |",
             "|---|" + "---:|" * 6]
    for r in ok:
        cells = [_fmt(r["buckets"][b]["recall@5"], 3) for b in BUCKETS]
        cells += [_fmt(r["buckets"][b]["PSP@5"], 3) for b in BUCKETS]
        lines.append(f"| {r['system']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def run_conditions(records):
    """Commands, dates, machine, versions and load of the runs, as Markdown."""
    commands = list(dict.fromkeys(r.get("command", "?") for r in records))
    dates = sorted(r["started_at"] for r in records if r.get("started_at"))
    loads = [x for r in records for x in (r.get("loadavg_start", [None])[0],
                                          r.get("loadavg_end", [None])[0]) if x is not None]
    m = next((r["machine"] for r in records if r.get("machine")), {})
    v = next((r["versions"] for r in records if r.get("versions")), {})
    lines = ["Produced by:", ""] + [f"    {c}" for c in commands] + [""]
    if dates:
        lines.append(f"- Runs started between {dates[0]} and {dates[-1]}.")
    lines.append(f"- Machine: {m.get('cpu_model', '?')}, {m.get('usable_cpus', '?')} usable of "
                 f"{m.get('cpu_count', '?')} CPUs, {m.get('memory_gb', '?')} GB RAM, GPU: "
                 f"{m.get('gpu') or 'none'}; {m.get('platform', '?')}, Python "
                 f"{m.get('python', '?')}; OMP_WAIT_POLICY={m.get('OMP_WAIT_POLICY')}.")
    # the runs span machines: say which CPU ran the rows of the tables (timings differ)
    cpus = Counter((r.get("machine") or {}).get("cpu_model", "?")
                   for r in latest_per_pair(records)[0])
    if len(cpus) > 1:
        lines.append("- CPUs of the rows in the tables (each record names its own): "
                     + ", ".join(f"{c} {n} rows" for c, n in cpus.most_common()) + ".")
    walls = {}
    for r in latest_per_pair(records)[0]:
        walls[r["dataset"]] = walls.get(r["dataset"], 0.0) + float(r.get("wall_s") or 0.0)
    if walls:
        lines.append("- Wall time of the runs in the tables (child processes, all systems): "
                     + ", ".join(f"{d} {w / 60:.1f} min" for d, w in walls.items())
                     + f"; {sum(walls.values()) / 60:.1f} min in all.")
    threads = sorted({r.get("threads") for r in records if r.get("threads")})
    lines.append(f"- Threads per run: {threads}.")
    if loads:
        lines.append(f"- 1-minute load average at the start/end of the runs: min {min(loads):.2f}, "
                     f"max {max(loads):.2f} (timings are under that load; 2.0 means both cores busy).")
    if v:
        lines.append("- Versions: " + ", ".join(f"{k} {val}" for k, val in v.items()) + ".")
    peers = {k: val for r in records for k, val in (r.get("versions") or {}).items()
             if k == r.get("system")}
    if peers:
        lines.append("- Peers: " + ", ".join(f"{k} {v}" for k, v in sorted(peers.items())) + ".")
    return "\n".join(lines)


def dataset_section(name, recs, img_dir, out_dir):
    ok = [r for r in recs if r.get("status") == "ok"]
    first = ok[0] if ok else {}
    title = f"## {name}"
    if first:
        title += (f" ({first['n_train']:,} train / {first['n_test']:,} test texts, "
                  f"{first['n_labels']:,} labels)")
    parts = [title, "", dataset_table(recs), ""]
    table = set_table(recs)
    if table:
        truth = first.get("avg_true_set_size")
        parts += ["Thresholded label sets (`predict`): micro precision / recall / F1, macro-F1 "
                  "over the labels with test support, example-based F1, predicted labels per text"
                  + (f" (true: {truth:.2f})" if truth else "") + ":", "", table, ""]
    table = bucket_table(recs)
    if table:
        parts += ["Recall@5 and PSP@5 by label-frequency bucket:", "", table, ""]
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in name)
    for kind, fn in (("precision_at_k", plot_precision_at_k), ("buckets", plot_buckets)):
        if ok and fn is not None:
            path = Path(img_dir) / f"bench_{safe}_{kind}.png"
            fn(ok, name, path)
            parts += [f"![{name} {kind}]({os.path.relpath(path, out_dir)})", ""]
    return "\n".join(parts)


def scaling_section(path, img_dir, out_dir):
    from .scaling import TINY, scaling_table

    recs = load_records([path])
    r0 = recs[0] if recs else {}
    tiny = ", ".join(f"{k}={v}" for k, v in TINY.items())
    intro = (f"`python -m benchmarks.scaling`: {r0.get('n_train')} training and {r0.get('n_test')} test "
             "synthetic texts (1-5 power-law labels each, so at large L most labels have no "
             f"training text), a tiny network wherever the estimator has the parameter ({tiny}), "
             f"{r0.get('threads')} threads, a budget of {r0.get('budget_s')} s per point (the "
             "whole child process, data and imports included); after a timeout the larger L "
             "of that estimator are skipped unless re-run explicitly. Registered estimators use "
             "their registry demo parameters under the tiny overrides; `--extra` ones their class "
             "defaults under the same overrides.")
    commands = list(dict.fromkeys(r["command"] for r in recs if r.get("command")))
    parts = ["## Scaling with the number of labels (synthetic data)", "", intro, ""]
    if commands:
        parts += ["Produced by:", ""] + [f"    {c}" for c in commands] + [""]
    parts += [scaling_table(recs), ""]
    if plot_scaling is not None:
        img = Path(img_dir) / "bench_scaling.png"
        plot_scaling(recs, img)
        parts += [f"![scaling]({os.path.relpath(img, out_dir)})", ""]
    return "\n".join(parts)


def demote_headings(text):
    """Move every Markdown heading of ``text`` one level down (outside code fences)."""
    out, fenced = [], False
    for line in text.splitlines():
        if line.startswith("```"):
            fenced = not fenced
        out.append("#" + line if not fenced and line.startswith("#") else line)
    return "\n".join(out)


def _variant_kind(r, name_seed):
    kind = f"variant of {r['variant_of']}" if r.get("variant_of") else r.get("kind", "")
    return f"{kind}, seed {r.get('seed', 0)}" if name_seed else kind


def ablation_section(path, main_records):
    """One ablation run file (``--variant`` rows), beside the main run's rows of their bases.

    The reading of the ablation, when written, is ``<same name>.md`` next to the file.
    """
    path = Path(path)
    all_recs = load_records([path])
    recs, _ = latest_per_pair(all_recs)
    parts = [f"## Ablation: {path.stem.removeprefix('ablation_')}", ""]
    prose = path.with_suffix(".md")
    if prose.exists():
        parts += [prose.read_text().strip(), ""]
    parts += [run_conditions(all_recs), ""]
    for name in dict.fromkeys(r["dataset"] for r in recs):
        rows = [r for r in recs if r["dataset"] == name]
        bases = {r.get("variant_of") for r in rows} - {None}
        ref = [{**m, "kind": "main run"} for m in main_records
               if m["dataset"] == name and m["system"] in bases]
        n_seeds = Counter(r["system"] for r in rows)  # rows are one per (system, seed)
        rows = ref + [{**r, "kind": _variant_kind(r, n_seeds[r["system"]] > 1)} for r in rows]
        parts += [f"### {name}", "", dataset_table(rows), ""]
        table = set_table(rows)
        if table:
            parts += [table, ""]
    return "\n".join(parts)


def build_report(records, out, img_dir, scaling=None, notes=None, include=(), ablations=()):
    """Write the Markdown report (and plots); return its text."""
    out, img_dir = Path(out), Path(img_dir)
    out.parent.mkdir(parents=True, exist_ok=True)
    img_dir.mkdir(parents=True, exist_ok=True)
    today = dt.date.today().isoformat()
    all_records = records
    records, superseded = latest_per_pair(records)
    parts = ["# sklearn_xmtc benchmarks: estimators and peer libraries", "",
             f"Report generated on {today} by `python -m benchmarks.report` from "
             "`benchmarks/results/` (regenerate it with that command).", "",
             run_conditions(all_records), ""]
    if superseded:
        parts += [f"{superseded} earlier record(s) of a (dataset, system) pair were re-run "
                  "by a later command; the tables show the latest record of each pair.", ""]
    if notes:
        parts += [notes, ""]
    parts += [CONVENTIONS, ""]
    # each pair's latest record that was run with --tune-thresholds (a later run without
    # tuning, e.g. of the peers beside a new estimator, does not blank the table)
    summary = tuned_summary(latest_per_pair(
        [r for r in all_records if r.get("status") == "ok" and r.get("tuned")])[0])
    if summary:
        parts += [summary, ""]
    for name in dict.fromkeys(r["dataset"] for r in records):
        parts.append(dataset_section(name, [r for r in records if r["dataset"] == name],
                                     img_dir, out.parent))
    for path in ablations:
        parts.append(ablation_section(path, records))
    if scaling and Path(scaling).exists():
        parts.append(scaling_section(scaling, img_dir, out.parent))
    include = [Path(f) for f in include if Path(f).exists()]
    if include:
        parts += ["# Per-method benchmarks", "",
                  "Each written by the script and command it names (`benchmarks/bench_*.py`, "
                  "run as `python -m benchmarks.bench_...`).", ""]
        parts += [demote_headings(f.read_text()).rstrip() + "\n" for f in include]
    text = "\n".join(parts).rstrip() + "\n"
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, out)  # never a half-written report
    return text


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m benchmarks.report",
                                 description=__doc__.split("\n\n")[0])
    ap.add_argument("results", nargs="*", default=[str(RESULTS / "results.jsonl")])
    ap.add_argument("--out", default=str(HERE.parent / "docs" / "benchmarks.md"))
    ap.add_argument("--img-dir", default=str(HERE.parent / "docs" / "img"))
    ap.add_argument("--scaling", default=str(RESULTS / "scaling.jsonl"),
                    help="JSON lines from python -m benchmarks.scaling (skipped when missing)")
    ap.add_argument("--ablations", nargs="*", default=sorted(map(str, RESULTS.glob(
        "ablation_*.jsonl"))), help="benchmarks.run --variant result files, one section each "
        "(default: benchmarks/results/ablation_*.jsonl)")
    ap.add_argument("--notes", default=None, help="free text (e.g. load conditions)")
    ap.add_argument("--notes-file", default=str(RESULTS / "notes.md"),
                    help="Markdown placed after the run conditions (skipped when missing)")
    ap.add_argument("--include", nargs="*", default=[str(RESULTS / f) for f in METHOD_REPORTS],
                    help="per-method reports appended at the end (missing ones skipped)")
    args = ap.parse_args(argv)
    notes = args.notes
    if args.notes_file and Path(args.notes_file).exists():
        notes = "\n\n".join(x for x in (Path(args.notes_file).read_text().strip(), notes) if x)
    build_report(load_records(args.results), args.out, args.img_dir, args.scaling, notes,
                 args.include, args.ablations)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
