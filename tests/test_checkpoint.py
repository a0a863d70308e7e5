"""Training checkpoints and resuming (``checkpoint_dir`` / ``resume``)."""

import os
import pickle
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV

from sklearn_xmtc._persist import _checkpoint
from sklearn_xmtc._persist._files import read_tensor_file
from sklearn_xmtc._registry import make_estimator
from sklearn_xmtc.datasets import make_tiny_xmtc
from sklearn_xmtc.metrics import get_scorer

X, Y = make_tiny_xmtc(n_samples=80, n_labels=8, random_state=0)
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _est(name="xmlcnn", setting=0, **params):
    return make_estimator(name, {"max_epochs": 4, **params}, setting=setting)


def _same(a, b):
    ia, sa = a.predict_topk(X, k=3)
    ib, sb = b.predict_topk(X, k=3)
    return np.array_equal(ia, ib) and np.array_equal(sa, sb)


def _fit_folder(root):
    (sub,) = os.listdir(root)
    return os.path.join(root, sub)


class _Interrupt(Exception):
    pass


def _interrupt_after(monkeypatch, n_writes):
    """Make the fit stop (as a kill would) right after its ``n_writes``-th network checkpoint."""
    write = _checkpoint.FitCheckpoint.write_net
    count = [0]

    def counted(self, *args, **kwargs):
        write(self, *args, **kwargs)
        count[0] += 1
        if count[0] == n_writes:
            raise _Interrupt

    monkeypatch.setattr(_checkpoint.FitCheckpoint, "write_net", counted)


_KILLED_FIT = textwrap.dedent("""
    import os, signal, sys
    import safetensors.torch
    from sklearn_xmtc._persist import _checkpoint
    from sklearn_xmtc._registry import make_estimator
    from sklearn_xmtc.datasets import make_tiny_xmtc

    mode, root, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    X, Y = make_tiny_xmtc(n_samples=80, n_labels=8, random_state=0)
    if mode == "after":  # SIGKILL right after the n-th epoch checkpoint is complete
        write = _checkpoint.FitCheckpoint.write_net
        def write_then_die(self, index, net, own, *, done):
            write(self, index, net, own, done=done)
            if len(net.history) == n:
                os.kill(os.getpid(), signal.SIGKILL)
        _checkpoint.FitCheckpoint.write_net = write_then_die
    else:  # SIGKILL halfway through writing the n-th epoch checkpoint
        save = safetensors.torch.save_file
        calls = [0]
        def half_then_die(tensors, filename, metadata=None):
            calls[0] += 1
            if calls[0] == n + 1:  # the first call writes the pre-network state
                save(tensors, filename, metadata=metadata)
                with open(filename, "r+b") as fh:
                    fh.truncate(os.path.getsize(filename) // 2)
                os.kill(os.getpid(), signal.SIGKILL)
            save(tensors, filename, metadata=metadata)
        safetensors.torch.save_file = half_then_die
    make_estimator("xmlcnn", {"max_epochs": 4, "checkpoint_dir": root}, setting=0).fit(X, Y)
    print("finished without being killed")
""")


def _killed_fit(mode, root, n):
    run = subprocess.run([sys.executable, "-c", _KILLED_FIT, mode, str(root), str(n)],
                         capture_output=True, text=True, cwd=REPO, timeout=300,
                         env={**os.environ, "PYTHONPATH": REPO})
    assert run.returncode == -signal.SIGKILL, (run.returncode, run.stdout, run.stderr[-2000:])


def test_sigkilled_fit_resumes_to_the_unbroken_fit(tmp_path):
    """A subprocess killed with SIGKILL after its second epoch checkpoint; the resumed fit
    trains epochs 3-4 only and ends with the same predictions as an unbroken fit."""
    _killed_fit("after", tmp_path, 2)
    folder = _fit_folder(tmp_path)
    tree, _, _ = read_tensor_file(os.path.join(folder, "net-000.safetensors"))
    assert tree["epoch"] == 2 and tree["done"] is False
    resumed = _est(checkpoint_dir=tmp_path, resume=True).fit(X, Y)
    unbroken = _est().fit(X, Y)
    assert _same(resumed, unbroken)
    assert list(resumed.history_[:, "epoch"]) == [1, 2, 3, 4]
    assert np.allclose(resumed.history_[:, "train_loss"], unbroken.history_[:, "train_loss"])
    tree, _, _ = read_tensor_file(os.path.join(folder, "net-000.safetensors"))
    assert tree["epoch"] == 4 and tree["done"] is True


def test_kill_during_a_checkpoint_write_leaves_the_previous_one_loadable(tmp_path):
    _killed_fit("during", tmp_path, 3)
    folder = _fit_folder(tmp_path)
    tree, tensors, _ = read_tensor_file(os.path.join(folder, "net-000.safetensors"))
    assert tree["epoch"] == 2 and tensors  # the epoch-2 checkpoint, whole
    assert any(n.startswith(".tmp-") for n in os.listdir(folder))  # the killed write's file
    resumed = _est(checkpoint_dir=tmp_path, resume=True).fit(X, Y)
    assert _same(resumed, _est().fit(X, Y))
    assert not any(n.startswith(".tmp-") for n in os.listdir(folder))


@pytest.mark.parametrize("name,setting,n_writes", [
    ("attentionxml", 1, 3),    # tree mode: inside level 0
    ("attentionxml", 1, 7),    # level 0 finished (4 epochs + done), inside level 1
    ("lightattention", 0, 2),  # dynamic negative sampling, one network
    ("ghxmc", 0, 3),           # the inverse-sqrt schedule stepped every batch
    ("otseq2set", 0, 1),       # skorch's LRScheduler
])
def test_resume_matches_the_unbroken_fit(tmp_path, monkeypatch, name, setting, n_writes):
    est = _est(name, setting, checkpoint_dir=tmp_path)
    with monkeypatch.context() as m:
        _interrupt_after(m, n_writes)
        with pytest.raises(_Interrupt):
            clone(est).fit(X, Y)
    resumed = clone(est).set_params(resume=True).fit(X, Y)
    assert _same(resumed, _est(name, setting).fit(X, Y))


def test_resume_with_early_stopping_and_weight_averaging(tmp_path, monkeypatch):
    params = dict(validation_fraction=0.25, patience=2, max_epochs=5)
    est = _est(checkpoint_dir=tmp_path, **params)
    with monkeypatch.context() as m:
        _interrupt_after(m, 2)
        with pytest.raises(_Interrupt):
            clone(est).fit(X, Y)
    resumed = clone(est).set_params(resume=True).fit(X, Y)
    unbroken = _est(**params).fit(X, Y)
    assert _same(resumed, unbroken)
    assert list(resumed.history_[:, "valid_p@5"]) == list(unbroken.history_[:, "valid_p@5"])


def test_a_finished_fit_is_loaded_not_retrained(tmp_path, monkeypatch):
    first = _est(checkpoint_dir=tmp_path).fit(X, Y)

    def no_training(*args, **kwargs):
        raise AssertionError("a finished network was trained again")

    monkeypatch.setattr("skorch.NeuralNet.partial_fit", no_training)
    monkeypatch.setattr("skorch.NeuralNet.fit", no_training)
    again = _est(checkpoint_dir=tmp_path, resume=True).fit(X, Y)
    assert _same(first, again)


def test_resume_refuses_other_data_and_other_parameters(tmp_path):
    _est(checkpoint_dir=tmp_path).fit(X, Y)
    with pytest.raises(ValueError, match=r"other training data \(n_samples 80 then, 60 now"):
        _est(checkpoint_dir=tmp_path, resume=True).fit(X[:60], Y[:60])
    shuffled = X[::-1]
    with pytest.raises(ValueError, match=r"other training data \(same shape, other contents\)"):
        _est(checkpoint_dir=tmp_path, resume=True).fit(shuffled, Y[::-1])
    with pytest.raises(ValueError, match=r"other parameters \(lr\)"):
        _est(checkpoint_dir=tmp_path, resume=True, lr=0.5).fit(X, Y)
    with pytest.raises(ValueError, match="holds no checkpoint of a XMLCNNClassifier"):
        _est(checkpoint_dir=tmp_path / "empty", resume=True).fit(X, Y)
    with pytest.raises(ValueError, match="needs checkpoint_dir"):
        _est(resume=True).fit(X, Y)
    # "auto" starts afresh when there is nothing of this fit to resume, in its own folder
    _est(checkpoint_dir=tmp_path, resume="auto").fit(X[:60], Y[:60])
    assert len(os.listdir(tmp_path)) == 2


def test_grid_search_writes_one_folder_per_fit(tmp_path):
    search = GridSearchCV(_est(max_epochs=1, checkpoint_dir=tmp_path), {"lr": [1e-2, 1e-3]},
                          cv=2, scoring=get_scorer("precision_at_1"))
    search.fit(X, Y)
    folders = sorted(os.listdir(tmp_path))
    assert len(folders) == 2 * 2 + 1  # two candidates x two folds, and the refit
    assert all(f.startswith("XMLCNNClassifier-") for f in folders)


def test_fitted_estimator_keeps_no_reference_to_the_checkpoint(tmp_path):
    est = _est(checkpoint_dir=tmp_path).fit(X, Y)
    assert "_checkpoint" not in vars(est)
    assert all(name != "checkpoint_" for name, _ in est.net_.callbacks_)
    assert _same(est, pickle.loads(pickle.dumps(est)))
    assert _same(est, _est().fit(X, Y))  # checkpointing changes nothing of the fit


def test_equal_callbacks_made_apart_give_the_same_fit_id():
    # a re-run script builds new callback objects: their default repr holds a memory
    # address, which must not change the fit's folder (resume would refuse it)
    from skorch.callbacks import Callback, EarlyStopping

    from sklearn_xmtc import XMLCNNClassifier

    class Marker(Callback):
        def __init__(self, every=1):
            self.every = every

    def sha(*callbacks):
        return _checkpoint._params_tree(XMLCNNClassifier(callbacks=list(callbacks)))[1]

    assert sha(Marker(), EarlyStopping(patience=2)) == sha(Marker(), EarlyStopping(patience=2))
    assert sha(Marker(every=2)) != sha(Marker(every=1))
    assert sha(EarlyStopping(patience=3)) != sha(EarlyStopping(patience=2))
