"""End-to-end test of the benchmark harness (``python -m benchmarks.run``, ``benchmarks.report``)
on a tiny dataset. ``benchmarks`` is imported as a package from the repository root (the
README's ``python -m pytest`` puts it on the path)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from benchmarks._evaluation import bucket_scores, evaluate_predictions, label_buckets
from benchmarks._peers import PEERS
from benchmarks.report import build_report, latest_per_pair
from benchmarks.run import parse_extras, parse_sets, parse_variants
from sklearn_xmtc.datasets import make_tiny_xmtc

REPO = Path(__file__).resolve().parents[1]

# the fast peer of the end-to-end run: the first one installed (pip install .[bench])
FAST_PEER = next((p for p in ("napkinxc-plt", "lml-1vsrest", "omikuji-parabel")
                  if PEERS[p].unavailable() is None), None)

METRIC_FIELDS = ["P@1", "P@2", "P@3", "P@4", "P@5", "nDCG@3", "nDCG@5", "PSP@1", "PSP@3",
                 "PSP@5", "R@5", "micro-P", "micro-R", "micro-F1", "macro-F1", "example-F1"]
RUN_FIELDS = ["dataset", "system", "kind", "status", "fit_s", "predict_s", "predict_texts_per_s",
              "peak_rss_mb", "n_train", "n_test", "n_labels", "buckets", "versions", "machine",
              "command", "threshold", "params", "started_at", "loadavg_start"]


def _write_split(path, texts, Y):
    with open(path, "w") as fh:
        for i, t in enumerate(texts):
            labels = [f"L{j}" for j in Y.indices[Y.indptr[i]:Y.indptr[i + 1]]]
            fh.write(json.dumps({"id": str(i), "text": t, "labels": labels}) + "\n")


@pytest.fixture(scope="module")
def tiny_dataset(tmp_path_factory):
    folder = tmp_path_factory.mktemp("data") / "tiny"
    folder.mkdir()
    texts, Y = make_tiny_xmtc(n_samples=300, n_labels=20, random_state=0)
    Y = sp.csr_matrix(Y)
    _write_split(folder / "train.jsonl", texts[:220], Y[:220])
    _write_split(folder / "test.jsonl", texts[220:], Y[220:])
    return folder


@pytest.fixture(scope="module")
def harness_run(tiny_dataset, tmp_path_factory):
    out_dir = tmp_path_factory.mktemp("bench")
    out = out_dir / "results.jsonl"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PECOS_PYTHON": str(out_dir / "no-python")}
    cmd = [sys.executable, "-m", "benchmarks.run", "--datasets", str(tiny_dataset),
           "--estimators", "dummy", "xmlcnn", "--peers", *([FAST_PEER] if FAST_PEER else []),
           "pecos-xrlinear",
           "--variant", "xmlcnn-lr0=xmlcnn",
           "--set", "*.max_epochs=1", "*.embedding_dim=16", "*.n_filters=8",
           "*.hidden_size=16", "*.max_length=32", "*.batch_size=32", "xmlcnn-lr0.lr=0.0",
           "xmlcnn-lr0.max_epochs=2",
           "--threads", "1", "--timeout", "300", "--out", str(out),
           "--log-dir", str(out_dir / "logs")]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=REPO, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    records = [json.loads(line) for line in out.read_text().splitlines()]
    return records, proc.stdout, out_dir


def test_json_lines_fields_and_values(harness_run, tiny_dataset):
    records, stdout, _ = harness_run
    by_name = {r["system"]: r for r in records}
    ran = ["dummy", "xmlcnn"] + ([FAST_PEER] if FAST_PEER else [])
    assert list(by_name) == ["dummy", "xmlcnn", "xmlcnn-lr0"] + ran[2:] + ["pecos-xrlinear"]
    variant = by_name["xmlcnn-lr0"]  # a registered estimator under another name and parameters
    assert variant["status"] == "ok" and variant["variant_of"] == "xmlcnn"
    # NAME.PARAM wins over *.PARAM
    assert variant["params"]["lr"] == 0.0 and variant["params"]["max_epochs"] == 2
    assert by_name["xmlcnn"]["params"]["lr"] > 0
    for name in ran:
        r = by_name[name]
        assert r["status"] == "ok", r.get("note")
        for field in RUN_FIELDS + METRIC_FIELDS:
            assert field in r, (name, field)
        for m in METRIC_FIELDS:
            assert -1e-9 <= r[m] <= 1.0 + 1e-9, (name, m)
        assert r["P@1"] >= r["P@5"] - 1e-12  # tiny data: <= 3 labels per text
        assert r["n_train"] == 220 and r["n_test"] == 80 and r["dataset"] == "tiny"
        assert r["peak_rss_mb"] > 50 and r["fit_s"] >= 0 and r["predict_texts_per_s"] > 0
        assert r["machine"]["cpu_count"] >= 1 and r["machine"]["cpu_model"]
        assert r["versions"]["sklearn_xmtc"] and r["versions"]["numpy"]
        assert sum(b["n_labels"] for b in r["buckets"].values()) == r["n_labels"]
    assert by_name["xmlcnn"]["params"]["max_epochs"] == 1
    # a missing peer is recorded as skipped, with a note, not an error
    assert by_name["pecos-xrlinear"]["status"] == "skipped"
    assert "setup_pecos_venv.sh" in by_name["pecos-xrlinear"]["note"]
    assert "| tiny | xmlcnn |" in stdout
    if FAST_PEER is None:
        pytest.skip("no peer library installed (pip install .[bench])")
    assert by_name[FAST_PEER]["versions"][FAST_PEER]
    # planted label words: the TF-IDF peer must beat the most-frequent-labels dummy clearly
    assert by_name[FAST_PEER]["P@1"] > by_name["dummy"]["P@1"] + 0.3
    assert f"| tiny | {FAST_PEER} |" in stdout


def test_dummy_p_at_1_matches_hand_computation(harness_run, tiny_dataset):
    """The dummy predicts the most frequent training label first for every text."""
    records, _, _ = harness_run
    dummy = next(r for r in records if r["system"] == "dummy")
    rows = [json.loads(x) for x in (tiny_dataset / "train.jsonl").read_text().splitlines()]
    counts = {}
    for row in rows:
        for lab in row["labels"]:
            counts[lab] = counts.get(lab, 0) + 1
    top = sorted(counts, key=lambda lab: (-counts[lab], lab))[0]
    test = [json.loads(x) for x in (tiny_dataset / "test.jsonl").read_text().splitlines()]
    expected = np.mean([top in row["labels"] for row in test])
    assert dummy["P@1"] == pytest.approx(expected)


def test_report_tables_and_plots(harness_run):
    """The Markdown tables (matplotlib or not: report.py writes tables only without it) and,
    with matplotlib, the plots."""
    records, _, out_dir = harness_run
    out, img = out_dir / "report.md", out_dir / "img"
    method = out_dir / "method.md"
    method.write_text("# Method X\n\n## Table\n\n```\n# a shell comment\n```\n")
    text = build_report(records, out, img, notes="test run",
                        include=[method, out_dir / "missing.md"])
    assert out.read_text() == text
    assert not list(out_dir.glob("*.tmp"))
    # included reports go one heading level down, code blocks untouched, missing ones skipped
    assert "\n## Method X\n" in text and "\n### Table\n" in text
    assert "\n# a shell comment\n" in text and "missing" not in text
    assert "## tiny (220 train / 80 test texts, 20 labels)" in text
    assert "| system | kind | P@1 | P@3 | P@5 | nDCG@3 | nDCG@5 | PSP@1 | PSP@3 | PSP@5 |" in text
    for name in ["dummy", "xmlcnn"] + ([FAST_PEER] if FAST_PEER else []):
        row = next(line for line in text.splitlines() if line.startswith(f"| {name} |"))
        assert len(row.strip("|").split("|")) == 15
    assert "| pecos-xrlinear | peer | skipped |" in text
    assert "python -m benchmarks.run --datasets" in text and "Machine:" in text
    assert "head R@5" in text
    assert "| system | threshold | micro-P | micro-R | micro-F1 | macro-F1 | example-F1 |" in text
    # an ablation file: its variants beside the main run's row of their base estimator
    abl = out_dir / "ablation_lr.jsonl"
    abl.write_text("\n".join(json.dumps(r) for r in records if r["system"] == "xmlcnn-lr0"))
    (out_dir / "ablation_lr.md").write_text("Reading: lr=0 does not learn.")
    text = build_report(records, out, img, ablations=[abl])
    section = text[text.index("## Ablation: lr"):]
    assert "Reading: lr=0 does not learn." in section and "### tiny" in section
    assert "| xmlcnn | main run |" in section
    assert "| xmlcnn-lr0 | variant of xmlcnn |" in section
    # a second seed of a variant: both rows stay, each named by its seed
    lr0 = [r for r in records if r["system"] == "xmlcnn-lr0"]
    abl.write_text("\n".join(json.dumps(r) for r in lr0 + [{**lr0[-1], "seed": 1}]))
    section = build_report(records, out, img, ablations=[abl]).split("## Ablation: lr")[1]
    assert "| xmlcnn-lr0 | variant of xmlcnn, seed 0 |" in section
    assert "| xmlcnn-lr0 | variant of xmlcnn, seed 1 |" in section
    pytest.importorskip("matplotlib", reason="the plots need matplotlib (pip install .[plot])")
    for kind in ("precision_at_k", "buckets"):
        png = img / f"bench_tiny_{kind}.png"
        assert png.stat().st_size > 1000 and png.read_bytes()[:4] == b"\x89PNG"


def test_label_buckets_by_cumulative_occurrences():
    # 20 occurrences: 10 (0-33%: head), 5 (50%: torso), 3/1/1 (75%+: tail), 0 (unseen: tail)
    freq = np.array([1, 10, 0, 3, 5, 1])
    assert label_buckets(freq).tolist() == [2, 0, 2, 2, 1, 2]


def test_bucket_scores_by_hand():
    Y = sp.csr_matrix(np.array([[1, 1, 0, 0], [0, 0, 1, 1]], dtype=np.float32))
    idx = np.array([[0, 2, -1, -1, -1], [3, 1, -1, -1, -1]])
    bucket = np.array([0, 1, 1, 2])
    inv_p = np.ones(4)
    out = bucket_scores(Y, idx, inv_p, bucket)
    assert out["head"]["recall@5"] == 1.0 and out["head"]["P@5_share"] == pytest.approx(0.1)
    assert out["torso"]["recall@5"] == 0.0 and out["torso"]["test_positives"] == 2
    assert out["tail"]["recall@5"] == 1.0 and out["tail"]["PSP@5"] == pytest.approx(1.0)


def test_evaluate_predictions_counts_test_only_labels_as_misses():
    Y_train = sp.csr_matrix(np.array([[1, 0], [1, 1]], dtype=np.float32))
    Y_test = sp.csr_matrix(np.array([[1, 0, 1], [0, 1, 0]], dtype=np.float32))  # col 2 unseen
    idx = np.array([[0, 1, -1, -1, -1], [0, 1, -1, -1, -1]])
    sets = sp.csr_matrix(np.array([[1, 0], [1, 0]], dtype=np.float32))
    res = evaluate_predictions(Y_train, Y_test, idx, sets)
    assert res["P@1"] == 0.5 and res["P@2"] == 0.5
    assert res["R@5"] == pytest.approx((0.5 + 1.0) / 2)
    assert res["micro-F1"] == pytest.approx(2 * 0.5 * (1 / 3) / (0.5 + 1 / 3))


def test_parse_sets():
    assert parse_sets(["xmlcnn.max_epochs=1", "xmlcnn.device=cpu", "*.lr=0.01"]) == {
        "xmlcnn": {"max_epochs": 1, "device": "cpu"}, "*": {"lr": 0.01}}
    with pytest.raises(SystemExit):
        parse_sets(["max_epochs=1"])
    assert parse_extras(["axml=sklearn_xmtc.attentionxml:AttentionXMLClassifier"]) == {
        "axml": "sklearn_xmtc.attentionxml:AttentionXMLClassifier"}
    with pytest.raises(SystemExit):
        parse_extras(["axml=sklearn_xmtc.attentionxml"])


def test_report_keeps_the_latest_record_of_a_rerun_pair():
    recs = [{"dataset": "d", "system": "a", "status": "error"},
            {"dataset": "d", "system": "b", "status": "ok"},
            {"dataset": "d", "system": "a", "status": "ok"}]
    kept, dropped = latest_per_pair(recs)
    assert [(r["system"], r["status"]) for r in kept] == [("a", "ok"), ("b", "ok")]
    assert dropped == 1
    # another seed is another measurement: kept beside seed 0, not superseding it
    kept, dropped = latest_per_pair(recs + [{"dataset": "d", "system": "b", "seed": 1,
                                             "status": "ok"}])
    assert [(r["system"], r.get("seed", 0)) for r in kept] == [("a", 0), ("b", 0), ("b", 1)]
    assert dropped == 1
    # a later skip (the peer not installed for that run) is no measurement
    kept, _ = latest_per_pair(recs + [{"dataset": "d", "system": "b", "status": "skipped"}])
    assert [(r["system"], r["status"]) for r in kept] == [("a", "ok"), ("b", "ok")]
    kept, _ = latest_per_pair([{"dataset": "d", "system": "c", "status": "skipped"}])
    assert kept[0]["status"] == "skipped"  # with nothing better, the skip is shown


def test_report_names_each_cpu_of_the_table_rows_when_the_runs_span_machines():
    from benchmarks.report import run_conditions

    def rec(system, cpu):
        return {"dataset": "d", "system": system, "status": "ok", "command": "c",
                "machine": {"cpu_model": cpu, "usable_cpus": 2, "cpu_count": 2}}

    one = run_conditions([rec("a", "Intel"), rec("b", "Intel")])
    assert "- Machine: Intel" in one and "CPUs of the rows" not in one
    # a re-run pair counts once, on the CPU of its latest record
    two = run_conditions([rec("a", "Intel"), rec("b", "Intel"), rec("a", "AMD EPYC"),
                          rec("c", "AMD EPYC")])
    assert "CPUs of the rows in the tables (each record names its own): AMD EPYC 2 rows, " \
           "Intel 1 rows." in two


def test_variant_names_need_a_registered_base():
    assert parse_variants(["aplc-ncls2=aplc"]) == {"aplc-ncls2": "aplc"}
    for bad in ["aplc-ncls2", "x=nope", "=aplc"]:
        with pytest.raises(SystemExit, match="--variant expects NAME=BASE"):
            parse_variants([bad])


def test_the_teacher_alone_scores_the_share_of_neighbours_carrying_a_label():
    from benchmarks._teacher_vote import TeacherVoteClassifier

    X = ["apple banana", "apple banana cherry", "dog cat", "dog cat mouse", "fish"]
    Y = [["fruit"], ["fruit", "red"], ["pet"], ["pet"], ["sea"]]
    est = TeacherVoteClassifier(n_neighbors=2, hierarchy={"red": "fruit"}).fit(X, Y)
    idx, scores = est.predict_topk(["apple banana cherry", "dog cat"], k=2)
    names = [est.classes_[i].tolist() for i in idx]
    # both fruit texts are the 2 neighbours of the first query: fruit 2/2, red 1/2
    assert names[0] == ["fruit", "red"] and np.allclose(scores[0], [1.0, 0.5], atol=1e-4)
    assert names[1][0] == "pet" and np.isclose(scores[1][0], 1.0, atol=1e-4)
    assert est.predict_labels(["dog cat"]) == [["pet"]]
