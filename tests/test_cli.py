"""The main-job command line."""

import json
import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest
import scipy.sparse as sp

from sklearn_xmtc._cli import evaluate, main
from sklearn_xmtc.datasets import load_dataset


def test_evaluate_prints_the_metric_table(capsys, tmp_path):
    out_json = tmp_path / "res.jsonl"
    assert main(["evaluate", "--dataset", "cooking", "--estimator", "dummy", "--max-train",
                 "2000", "--max-test", "300", "--verbose", "0", "--json", str(out_json)]) == 0
    table = capsys.readouterr().out
    for col in ("P@1", "P@3", "P@5", "nDCG@3", "nDCG@5", "PSP@1", "PSP@3", "PSP@5", "micro-F1"):
        assert f" {col} " in table
    row = json.loads(out_json.read_text().splitlines()[0])
    # the dummy ranks the most frequent training label first for every text
    data = load_dataset("cooking")
    top = int(np.argmax(np.asarray(data.Y_train[:2000].sum(axis=0)).ravel()))
    expected = float(np.asarray(data.Y_test[:300, top].todense()).mean())
    assert row["estimator"] == "dummy" and row["P@1"] == pytest.approx(expected)


def test_evaluate_xmlcnn_with_overrides(capsys):
    main(["evaluate", "--dataset", "cooking", "--estimator", "xmlcnn", "--max-train", "300",
          "--max-test", "50", "--verbose", "0", "--set", "max_epochs=1", "device='cpu'"])
    assert "| xmlcnn |" in capsys.readouterr().out


def test_module_entry_point_and_errors():
    done = subprocess.run([sys.executable, "-m", "sklearn_xmtc", "evaluate", "--dataset",
                           "no-such-dataset", "--estimator", "dummy"],
                          capture_output=True, text=True)
    assert done.returncode != 0 and "no-such-dataset" in done.stderr
    with pytest.raises(SystemExit):
        main(["evaluate", "--estimator", "nonsense"])


def test_atomic_write_leaves_no_partial_file(tmp_path):
    from sklearn_xmtc.utils._io import atomic_write_text

    target = tmp_path / "out.txt"
    atomic_write_text(target, "first")
    with pytest.raises(TypeError):  # the write fails half-way
        atomic_write_text(target, 12345)
    assert target.read_text() == "first"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.txt"]


def test_list_prints_every_registered_method(capsys):
    from sklearn_xmtc._registry import methods

    assert main(["list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["name", "class", "extra", "available"]
    rows = {line.split()[0]: line.split() for line in lines[1:]}
    assert list(rows) == [m.name for m in methods()]
    assert rows["xmlcnn"][1:4] == ["sklearn_xmtc.xmlcnn:XMLCNNClassifier", "-", "yes"]
    assert rows["aplc"][2] == "pretrained"
    assert rows["aplc"][3] == ("yes" if next(m for m in methods() if m.name == "aplc")
                               .available() else "no")


def test_set_takes_the_parameters_each_estimator_has(capsys):
    # max_epochs is xmlcnn's only: the dummy runs with its own parameters
    assert main(["evaluate", "--estimator", "dummy", "xmlcnn", "--max-train", "200",
                 "--max-test", "20", "--verbose", "0", "--set", "max_epochs=1",
                 "embedding_dim=8", "n_filters=4", "hidden_size=8", "max_length=16"]) == 0
    table = capsys.readouterr().out
    assert "| dummy |" in table and "| xmlcnn |" in table
    with pytest.raises(SystemExit, match="no_such_param"):
        main(["evaluate", "--estimator", "dummy", "--set", "no_such_param=1"])


def test_evaluate_psp_gives_test_only_labels_the_propensity_of_count_0():
    """PSP@k of ``evaluate`` against hand-computed propensities: training counts, and
    N_l = 0 for a column absent from training (not the largest known weight)."""
    from sklearn_xmtc import DummyXMTCClassifier
    from sklearn_xmtc.metrics import ranking_scores

    X_train = [f"text {i}" for i in range(20)]
    Y_train = sp.csr_matrix(np.array([[1, 0]] * 15 + [[1, 1]] * 5, dtype=np.float32))
    # column 2 is a test-only label
    Y_test = sp.csr_matrix(np.array([[1, 0, 1], [0, 1, 0], [0, 0, 1], [1, 1, 0]],
                                    dtype=np.float32))
    data = SimpleNamespace(X_train=X_train, Y_train=Y_train, X_test=["a", "b", "c", "d"],
                           Y_test=Y_test)
    res = evaluate(DummyXMTCClassifier(), data)
    A, B, N = 0.55, 1.5, 20
    C = (np.log(N) - 1) * (B + 1) ** A
    inv_p = 1 + C * (np.array([20, 5, 0]) + B) ** -A
    idx = np.array([[0, 1, -1, -1, -1]] * 4)  # the dummy: label 0, then label 1
    want = ranking_scores(Y_test, idx, ks=(1, 3, 5), inv_propensity=inv_p)
    for k in (1, 3, 5):
        assert res[f"PSP@{k}"] == pytest.approx(want[f"psp_at_{k}"], rel=1e-12)
    # with the largest known weight for column 2 (the old padding), PSP@3 would differ
    padded = np.array([inv_p[0], inv_p[1], inv_p[1]])
    assert res["PSP@3"] != pytest.approx(
        ranking_scores(Y_test, idx, ks=(3,), inv_propensity=padded)["psp_at_3"])
    # the dummy's sets: {label 0} for each of the 4 texts, 2 of them right, 6 true labels
    assert res["P@1"] == pytest.approx(0.5)
    assert res["micro-F1"] == pytest.approx(2 * 2 / (4 + 6))
