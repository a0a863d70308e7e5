"""Safe persistence: ``est.save(path)`` / ``sklearn_xmtc.load(path)`` without pickle."""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch
from skorch.callbacks import Callback

import sklearn_xmtc
from sklearn_xmtc import load
from sklearn_xmtc._persist._codec import Decoder, Encoder
from sklearn_xmtc._persist._files import read_tensor_file, write_tensor_file
from sklearn_xmtc._registry import make_estimator, methods
from sklearn_xmtc.datasets import make_tiny_xmtc
from sklearn_xmtc.model_selection import TunedThresholdXMTCClassifier

X, Y = make_tiny_xmtc(n_samples=80, n_labels=8, random_state=0)
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _fitted(name, setting=0, **params):
    return make_estimator(name, params, setting=setting).fit(X, Y)


def _outputs(est, texts):
    idx, scores = est.predict_topk(texts, k=3)
    out = {"idx": idx, "scores": scores, "sets": est.predict(texts).toarray()}
    if hasattr(est, "transform"):
        out["embedding"] = est.transform(texts)
    return out


# -- values of the codec, by hand ------------------------------------------------------
def test_codec_round_trips_every_kind_of_value():
    import scipy.sparse as sp

    value = {"ints": [1, -2, 2**40], "inf": float("inf"), "nan": float("nan"), "none": None,
             "tuple": (1, "a"), "set": {3, 1}, "int_keys": {1: "x", (2, 3): "y"},
             "u8": np.arange(5, dtype=np.uint8), "f16": np.ones((2, 3), np.float16),
             "bool": np.array([True, False]), "str": np.array(["a", "bb"]),
             "obj": np.array(["a", 3, None], dtype=object), "scalar": np.float32(0.5),
             "dtype": np.dtype("int64"), "type": np.float32, "big_endian": np.arange(3, dtype=">i4"),
             "csr": sp.random(4, 6, density=0.3, format="csr", random_state=0),
             "coo": sp.random(3, 3, density=0.5, format="coo", random_state=1),
             "tensor": torch.arange(6.0).reshape(2, 3), "torch_dtype": torch.bfloat16}
    enc = Encoder()
    tree = json.loads(json.dumps(enc.encode(value)))  # it is plain JSON
    back = Decoder(enc.tensors).decode(tree)
    assert back["ints"] == [1, -2, 2**40] and back["inf"] == float("inf")
    assert np.isnan(back["nan"]) and back["none"] is None and back["tuple"] == (1, "a")
    assert back["set"] == {1, 3} and back["int_keys"] == {1: "x", (2, 3): "y"}
    for key in ("u8", "f16", "bool", "str", "big_endian"):
        assert back[key].dtype == value[key].dtype and np.array_equal(back[key], value[key])
    assert back["obj"].tolist() == ["a", 3, None]
    assert back["scalar"] == np.float32(0.5) and type(back["scalar"]) is np.float32
    assert back["dtype"] == np.dtype("int64") and back["type"] is np.float32
    assert back["csr"].format == "csr" and (back["csr"] != value["csr"]).nnz == 0
    assert back["coo"].format == "coo" and np.array_equal(back["coo"].toarray(),
                                                          value["coo"].toarray())
    assert torch.equal(back["tensor"], value["tensor"]) and back["torch_dtype"] is torch.bfloat16


def test_codec_refuses_code_and_names_where_it_is():
    with pytest.raises(TypeError, match=r"\$\.f.*function"):
        Encoder().encode({"f": lambda x: x})
    with pytest.raises(TypeError, match=r"\$\.items\[1\].*subprocess"):
        Encoder().encode({"items": [1, subprocess.Popen]})
    with pytest.raises(TypeError, match=r"\$\[0\] is the function .open."):
        Encoder().encode([open])


def test_decoder_rebuilds_no_class_outside_the_trusted_packages():
    tree = {"type": "object", "class": "subprocess:Popen", "state": {"type": "dict",
                                                                      "items": {}}}
    with pytest.raises(ValueError, match="outside the packages.*refused"):
        Decoder({}).decode(tree)
    with pytest.raises(ValueError, match="must come from transformers"):
        Decoder({}).decode({"type": "hf_model", "class": "os:system", "config": {}})


# -- estimators ---------------------------------------------------------------------------
def test_saved_folder_holds_no_pickle_and_says_what_it_is(tmp_path):
    est = _fitted("xmlcnn")
    folder = est.save(tmp_path / "m")
    assert sorted(os.listdir(folder)) == ["estimator.json", "model.safetensors"]
    manifest = json.loads((tmp_path / "m" / "estimator.json").read_text())
    assert manifest["class"] == "sklearn_xmtc.xmlcnn._estimator:XMLCNNClassifier"
    assert manifest["params"]["items"]["max_epochs"] == 2
    tree, tensors, _ = read_tensor_file(tmp_path / "m" / "model.safetensors")
    assert tree["type"] == "object" and len(tree["nets"]) == 1
    assert all(isinstance(t, torch.Tensor) for t in tensors.values())
    for name in os.listdir(folder):  # neither file is a pickle (protocol 2+ starts 0x80)
        with open(os.path.join(folder, name), "rb") as fh:
            assert fh.read(1) != b"\x80"


def test_every_estimator_round_trips_in_a_fresh_process_without_unpickling(tmp_path):
    """Every registry method's first test setting and the tuned-threshold wrapper: saved
    here, loaded in a new interpreter in which pickle and torch.load refuse to run, with
    the same predictions (top-k indices and scores, sets, embeddings)."""
    cases = [(m.name, make_estimator(m.name, setting=0)) for m in methods()
             if m.tests and m.available()]
    cases.append(("tuned-dummy", TunedThresholdXMTCClassifier(make_estimator("dummy"))))
    texts = X[:12] + ["", "unknown words only"]
    for name, est in cases:
        est.fit(X, Y)
        est.save(tmp_path / name)
        np.savez(tmp_path / f"{name}.npz", **_outputs(est, texts))
    script = textwrap.dedent("""
        import json, sys, numpy as np, torch
        torch.set_num_threads(int(sys.argv[4]))  # the saving process's: the same rounding
        def refuse(*a, **k):
            raise AssertionError("torch.load was called")
        def audit(event, args):  # every unpickling of an object resolves a class or function
            if event == "pickle.find_class":
                raise AssertionError(f"unpickling was attempted: {args}")
        sys.addaudithook(audit)
        torch.load = refuse
        import sklearn_xmtc
        texts = json.loads(sys.argv[2])
        for name in json.loads(sys.argv[3]):
            est = sklearn_xmtc.load(sys.argv[1] + "/" + name)
            want = np.load(sys.argv[1] + "/" + name + ".npz", allow_pickle=False)
            idx, scores = est.predict_topk(texts, k=3)
            assert np.array_equal(idx, want["idx"]), name
            assert np.array_equal(scores, want["scores"]), name
            assert np.array_equal(est.predict(texts).toarray(), want["sets"]), name
            if "embedding" in want.files:
                assert np.array_equal(est.transform(texts), want["embedding"]), name
            print("ok", name)
    """)
    names = [n for n, _ in cases]
    run = subprocess.run([sys.executable, "-c", script, str(tmp_path), json.dumps(texts),
                          json.dumps(names), str(torch.get_num_threads())],
                         capture_output=True, text=True, cwd=REPO,
                         env={**os.environ, "PYTHONPATH": REPO}, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.stdout.split() == [w for n in names for w in ("ok", n)]


def test_a_cuda_model_loads_on_the_cpu(tmp_path):
    est = _fitted("xmlcnn")
    before = _outputs(est, X[:10])
    est.device_ = "cuda"  # as a model trained on a GPU records it
    est.save(tmp_path / "m")
    back = load(tmp_path / "m")  # device=None: CUDA when here, else the CPU
    assert back.device_ == ("cuda" if torch.cuda.is_available() else "cpu")
    back = load(tmp_path / "m", device="cpu")
    assert back.device_ == "cpu" and str(back.net_.device) == "cpu"
    after = _outputs(back, X[:10])
    assert all(np.array_equal(before[k], after[k]) for k in before)


def test_tree_mode_and_kept_optimizer_round_trip(tmp_path):
    est = _fitted("attentionxml", setting=1, keep_optimizer=True)
    assert est.tree_mode_
    est.save(tmp_path / "m")
    back = load(tmp_path / "m")
    assert len(back.tree_nets_[0]) == len(est.tree_nets_[0])
    a, b = est.net_.optimizer_.state_dict(), back.net_.optimizer_.state_dict()
    assert a["param_groups"][0]["lr"] == b["param_groups"][0]["lr"]
    assert all(torch.equal(a["state"][i]["exp_avg"], b["state"][i]["exp_avg"]) for i in a["state"])
    assert list(back.history_[:, "train_loss"]) == list(est.history_[:, "train_loss"])


def test_unfitted_estimator_round_trips_its_parameters(tmp_path):
    est = make_estimator("hybrid", setting=1)
    est.save(tmp_path / "m")
    back = load(tmp_path / "m")
    assert back.get_params()["encoder__embedding_dim"] == est.get_params()["encoder__embedding_dim"]
    assert back.get_params()["cv"] == 2


def test_save_refuses_a_callback_object_and_writes_nothing(tmp_path):
    class Mine(Callback):
        pass

    est = make_estimator("xmlcnn", {"callbacks": [Mine()]}, setting=0).fit(X, Y)
    with pytest.raises(TypeError, match=r"callbacks.*set_params\(callbacks=None\)"):
        est.save(tmp_path / "m")
    assert os.listdir(tmp_path) == []
    est.set_params(callbacks=None).save(tmp_path / "m")  # then it saves
    assert np.array_equal(load(tmp_path / "m").predict_topk(X[:5], 2)[0],
                          est.predict_topk(X[:5], 2)[0])


def test_overwrite_rules(tmp_path):
    est = _fitted("dummy")
    est.save(tmp_path / "m")
    with pytest.raises(FileExistsError, match="overwrite=True"):
        est.save(tmp_path / "m")
    est.set_params(threshold=0.1).save(tmp_path / "m", overwrite=True)
    assert load(tmp_path / "m").threshold == 0.1
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "keep.txt").write_text("x")
    with pytest.raises(ValueError, match="not a saved sklearn_xmtc model"):
        est.save(tmp_path / "other", overwrite=True)
    assert (tmp_path / "other" / "keep.txt").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m", "other"]  # no temporary left


@pytest.mark.parametrize("damage", ["flip", "truncate", "drop_manifest", "bad_json",
                                    "drop_tensors"])
def test_damaged_or_tampered_folder_gives_a_clear_error(tmp_path, damage):
    _fitted("xmlcnn").save(tmp_path / "m")
    tensors = tmp_path / "m" / "model.safetensors"
    manifest = tmp_path / "m" / "estimator.json"
    raw = tensors.read_bytes()
    if damage == "flip":
        tensors.write_bytes(raw[:-10] + bytes([raw[-10] ^ 1]) + raw[-9:])
        match = "SHA-256 does not match"
    elif damage == "truncate":
        tensors.write_bytes(raw[: len(raw) // 2])
        match = "SHA-256 does not match"
    elif damage == "drop_manifest":
        manifest.unlink()
        match = "not a saved sklearn_xmtc model"
    elif damage == "bad_json":
        manifest.write_text(manifest.read_text()[:40])
        match = "damaged"
    else:
        tensors.unlink()
        match = "no such file"
    with pytest.raises(ValueError, match=match):
        load(tmp_path / "m")


def test_truncated_tensor_file_is_refused_even_without_a_checksum(tmp_path):
    path = tmp_path / "t.safetensors"
    write_tensor_file(path, {"a": 1}, {"w": torch.ones(1000)})
    path.write_bytes(path.read_bytes()[:500])
    with pytest.raises(ValueError, match="truncated or damaged"):
        read_tensor_file(path)


def test_a_tampered_tree_with_a_fresh_checksum_still_rebuilds_no_foreign_class(tmp_path):
    """An attacker who rewrites the tree and the checksum gets a refusal, not code run."""
    est = _fitted("dummy")
    est.save(tmp_path / "m")
    tree, tensors, _ = read_tensor_file(tmp_path / "m" / "model.safetensors")
    tree["class"] = "os:system"
    digest = write_tensor_file(tmp_path / "m" / "model.safetensors", tree, tensors)
    manifest = json.loads((tmp_path / "m" / "estimator.json").read_text())
    manifest["files"]["model.safetensors"]["sha256"] = digest
    (tmp_path / "m" / "estimator.json").write_text(json.dumps(manifest))
    with pytest.raises(ValueError, match="'os:system'.*refused"):
        load(tmp_path / "m")


def test_load_is_exported():
    assert "load" in sklearn_xmtc.__all__ and sklearn_xmtc.load is load


def test_hybrid_over_the_frozen_minilm_round_trips(tmp_path):
    """A Hugging Face model inside a FrozenTextEncoder: rebuilt from its configuration,
    its weights from the tensor file, its tokenizer from its JSON files."""
    from sklearn_xmtc._registry import offline_encoder

    if offline_encoder() is None:
        pytest.skip("needs the MiniLM of the pretrained extra")
    est = make_estimator("hybrid").fit(X, Y)
    est.save(tmp_path / "m")
    back = load(tmp_path / "m")
    assert type(back.encoder_).__name__ == "FrozenTextEncoder"
    assert np.array_equal(back.encoder_.transform(X[:5]), est.encoder_.transform(X[:5]))
    assert _same_topk(est, back)


def _same_topk(a, b):
    ia, sa = a.predict_topk(X, k=3)
    ib, sb = b.predict_topk(X, k=3)
    return np.array_equal(ia, ib) and np.array_equal(sa, sb)
