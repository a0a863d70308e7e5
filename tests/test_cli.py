"""The main-job command line."""

import importlib.util
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


@pytest.mark.skipif(importlib.util.find_spec("liblinear") is None,
                    reason="needs the `linear` extra")
def test_evaluate_a_hybrid_over_an_encoder_named_in_set(capsys):
    main(["evaluate", "--dataset", "cooking", "--estimator", "linear", "hybrid", "--max-train",
          "300", "--max-test", "50", "--verbose", "0", "--set", "encoder=xmlcnn"])
    out = capsys.readouterr().out
    assert "| linear |" in out and "| hybrid |" in out


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


@pytest.mark.parametrize("option", ["--max-train", "--max-test"])
@pytest.mark.parametrize("value", ["0", "-5", "ten"])
def test_max_train_and_test_must_be_positive(capsys, option, value):
    # before: 0 read as "all" and -5 as "all but the last 5", without a word
    with pytest.raises(SystemExit) as exc:
        main(["evaluate", "--estimator", "dummy", option, value])
    assert exc.value.code == 2  # an argparse usage error, before any data is loaded
    err = capsys.readouterr().err
    assert f"argument {option}: expected a number of texts (an int >= 1)" in err
    if value == "ten":
        assert "got 'ten'" in err
    else:
        assert f"got {value}; leave the option out to use all the texts" in err


def test_head_of_split_rejects_zero_and_negative():
    from sklearn_xmtc._cli import head_of_split

    data = SimpleNamespace(X_train=["a", "b"], Y_train=sp.eye(2, format="csr"),
                           X_test=["c"], Y_test=sp.eye(1, 2, format="csr"))
    for kw in ({"max_train": 0}, {"max_test": -1}, {"max_train": 1.5}, {"max_test": True}):
        with pytest.raises(ValueError, match=f"{next(iter(kw))} must be None"):
            head_of_split(data, **kw)
    assert head_of_split(data, max_train=np.int64(1)).X_train == ["a"]
    assert data.X_test == ["c"]


def _dummy_micro_f1(tmp_path, *set_args):
    out = tmp_path / "res.jsonl"
    assert main(["evaluate", "--estimator", "dummy", "--max-train", "500", "--max-test",
                 "100", "--verbose", "0", "--json", str(out), "--set", *set_args]) == 0
    return json.loads(out.read_text())["micro-F1"]


def test_set_threshold_reaches_the_dummy(tmp_path, capsys):
    """``--set threshold=...`` is a dummy parameter: it changes the dummy's sets."""
    data = load_dataset("cooking")
    Y_test = data.Y_test[:100]
    # threshold 0 with strategy "prior": every training label is predicted for every text
    n_train = data.Y_train[:500].shape[1]
    tp = Y_test[:, :n_train].nnz
    want_all = 2 * tp / (100 * n_train + Y_test.nnz)
    assert _dummy_micro_f1(tmp_path, "strategy=prior", "threshold=0.0") == pytest.approx(
        want_all)
    # threshold 1: no label has prior 1 on cooking, so no label is predicted
    assert _dummy_micro_f1(tmp_path, "strategy=prior", "threshold=1.0") == 0.0


def test_set_errors_exit_before_loading_data(capsys):
    # a key no chosen estimator has, an invalid value, and --pretrained for estimators
    # without the parameter all exit with a message naming it, before the data set is read
    cases = [(["--set", "patience_x=1"], r"no estimator of \['dummy'\] has the parameter"),
             (["--set", "threshold=2"], r"invalid value for dummy: The 'threshold' parameter"),
             (["--pretrained", "some-encoder"], r"--pretrained: no estimator of \['dummy'\]")]
    for args, match in cases:
        with pytest.raises(SystemExit, match=match):
            main(["evaluate", "--dataset", "no-such-dataset", "--estimator", "dummy", *args])
    # the second estimator's bad value fails before the first one trains
    with pytest.raises(SystemExit, match="invalid value for xmlcnn: The 'max_epochs'"):
        main(["evaluate", "--dataset", "no-such-dataset", "--estimator", "dummy", "xmlcnn",
              "--set", "max_epochs=0"])
    assert "fitting" not in capsys.readouterr().err
