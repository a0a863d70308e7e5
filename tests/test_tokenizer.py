import pickle

import numpy as np
import pytest

from sklearn_xmtc.text import TextTokenizer, build_tokenizer, load_embedding_matrix

TEXTS = ["The cat sat on the mat.", "A dog and a cat!", "Dogs bark"]


def test_word_tokenizer_ids_and_truncation():
    tok = TextTokenizer.train(TEXTS, kind="word")
    flat, offsets = tok.encode(["the cat", "dog dog dog dog"], max_length=3)
    assert offsets.tolist() == [0, 2, 5]
    vocab = tok.get_vocab()
    assert flat[:2].tolist() == [vocab["the"], vocab["cat"]]
    assert flat[2:].tolist() == [vocab["dog"]] * 3


def test_lowercase_option_and_unknown_tokens():
    cased = TextTokenizer.train(TEXTS, lowercase=False)
    assert "The" in cased.get_vocab() and "the" in cased.get_vocab()
    lower = TextTokenizer.train(TEXTS)
    assert "The" not in lower.get_vocab()
    flat, _ = lower.encode(["zebra"], 5)
    assert flat.tolist() == [lower.get_vocab()["[UNK]"]]


def test_empty_text_becomes_one_pad_token():
    tok = TextTokenizer.train(TEXTS)
    flat, offsets = tok.encode(["", "cat"], 4)
    assert offsets.tolist() == [0, 1, 2] and flat[0] == tok.pad_id


def test_vocabulary_cap_and_min_frequency():
    tok = TextTokenizer.train(TEXTS, max_vocab_size=5)
    assert tok.vocab_size == 5
    rare = TextTokenizer.train(TEXTS, min_frequency=2)
    assert set(rare.get_vocab()) == {"[PAD]", "[UNK]", "cat", "a", "the"}


def test_bpe_and_pickle_roundtrip():
    tok = TextTokenizer.train(TEXTS * 5, kind="bpe", max_vocab_size=60)
    again = pickle.loads(pickle.dumps(tok))
    a, b = tok.encode(TEXTS, 20), again.encode(TEXTS, 20)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])


def test_build_tokenizer_errors():
    with pytest.raises(TypeError, match="tokenizer must be"):
        build_tokenizer(3, TEXTS)
    with pytest.raises(ValueError, match="tokenizer_type"):
        TextTokenizer.train(TEXTS, kind="char")
    with pytest.raises(ValueError, match="Could not load a pretrained tokenizer"):
        build_tokenizer("/nonexistent/dir/for/tokenizer", TEXTS)


def test_word_vector_file_initialises_known_rows(tmp_path):
    tok = TextTokenizer.train(TEXTS)
    path = tmp_path / "vec.txt"
    path.write_text("2 3\ncat 1 2 3\nzebra 4 5 6\n")
    matrix, found = load_embedding_matrix(path, tok, 3)
    assert found == 1 and matrix.shape == (tok.vocab_size, 3)
    assert matrix[tok.get_vocab()["cat"]].tolist() == [1, 2, 3]
    assert not matrix[tok.pad_id].any()
    bad = tmp_path / "bad.txt"
    bad.write_text("cat 1 2 3\ndog 1 2\n")
    with pytest.raises(ValueError, match="bad.txt:2"):
        load_embedding_matrix(bad, tok, 3)
    with pytest.raises(ValueError, match="neither"):
        load_embedding_matrix(tmp_path / "missing.txt", tok, 3)


def test_pretrained_tokenizer_from_local_directory(tmp_path):
    transformers = pytest.importorskip("transformers")
    tok = TextTokenizer.train(TEXTS)
    fast = transformers.PreTrainedTokenizerFast(tokenizer_object=tok._backend,
                                                pad_token="[PAD]", unk_token="[UNK]")
    fast.save_pretrained(tmp_path)
    loaded = build_tokenizer(str(tmp_path), TEXTS)
    assert loaded.kind == "pretrained" and loaded.vocab_size == tok.vocab_size
    assert np.array_equal(loaded.encode(["the cat"], 5)[0], tok.encode(["the cat"], 5)[0])
    again = pickle.loads(pickle.dumps(loaded))
    assert np.array_equal(again.encode(["a dog"], 5)[0], loaded.encode(["a dog"], 5)[0])


def test_a_text_the_backend_cannot_encode_is_named(tmp_path):
    # before: a bare UnicodeEncodeError (train) or a tokenizers TypeError (encode), no row
    bad = ["the cat", "caf\udcff", "dogs"]
    with pytest.raises(ValueError, match=r"^texts\[1\] is not valid Unicode: it holds a lone "
                                         r"surrogate '\\udcff' at character 3"):
        TextTokenizer.train(bad)
    toks = [TextTokenizer.train(TEXTS), TextTokenizer.train(TEXTS * 5, kind="bpe")]
    transformers = pytest.importorskip("transformers")
    transformers.PreTrainedTokenizerFast(tokenizer_object=toks[0]._backend,
                                         pad_token="[PAD]").save_pretrained(tmp_path)
    toks.append(TextTokenizer.from_pretrained(str(tmp_path)))
    for tok in toks:
        with pytest.raises(ValueError, match=r"^texts\[1\] is not valid Unicode"):
            tok.encode(bad, 8)
        with pytest.raises(TypeError, match=r"^texts\[0\] must be a str, got int"):
            tok.encode([3, "cat"], 8)
        assert tok.encode(["café"], 8)[1].tolist() == [0, tok.encode(["café"], 8)[0].size]
