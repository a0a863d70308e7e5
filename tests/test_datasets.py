"""Tests for sklearn_xmtc.datasets: JSON lines loader, bundled data, make_tiny_xmtc."""

import gzip
import hashlib
import json
import re

import numpy as np
import pytest
import scipy.sparse as sp

import sklearn_xmtc.datasets as ds
from sklearn_xmtc.datasets import (
    list_bundled_datasets,
    load_cooking,
    load_dataset,
    load_jsonl_dataset,
    make_tiny_xmtc,
)
from sklearn_xmtc.labels import LabelHierarchy, labels_from_csr

RECORDS = {
    "train": [{"id": "a", "text": "one", "labels": ["x", "y"]},
              {"id": "b", "text": "two", "labels": ["y"]},
              {"id": "c", "text": "three", "labels": []}],
    "test": [{"id": "d", "text": "four", "labels": ["z", "x", "w"]},
             {"id": "e", "text": "five", "labels": ["y"]}],
}


def _write_split(path, records, compress=False):
    text = "".join(json.dumps(r) + "\n" for r in records)
    if compress:
        with gzip.open(path.with_name(path.name + ".gz"), "wt", encoding="utf-8") as fh:
            fh.write(text)
    else:
        path.write_text(text, encoding="utf-8")


@pytest.fixture
def tiny_folder(tmp_path):
    folder = tmp_path / "tiny"
    folder.mkdir()
    _write_split(folder / "train.jsonl", RECORDS["train"])
    _write_split(folder / "test.jsonl", RECORDS["test"], compress=True)
    (folder / "README.md").write_text("# Tiny\n", encoding="utf-8")
    (folder / "hierarchy.tsv").write_text("ROOT\tg\ng\tx\ng\ty\nROOT\tz\nROOT\tw\n")
    (folder / "label_texts.tsv").write_text("x\tthe x\ny\tthe y\n")
    return folder


def test_tiny_folder_all_fields(tiny_folder):
    data = load_jsonl_dataset(tiny_folder)
    assert data.name == "tiny" and data.description == "# Tiny\n"
    assert data.X_train == ["one", "two", "three"] and data.ids_test == ["d", "e"]
    assert data.classes.tolist() == ["x", "y"]
    assert data.classes_test_only.tolist() == ["w", "z"]  # sorted, after the train labels
    assert data.Y_train.format == "csr" and data.Y_train.dtype == np.float32
    assert data.Y_train.toarray().tolist() == [[1, 1], [0, 1], [0, 0]]
    assert data.Y_test.toarray().tolist() == [[1, 0, 1, 1], [0, 1, 0, 0]]
    assert isinstance(data.hierarchy, LabelHierarchy) and data.hierarchy.parents("x") == ["g"]
    assert data.label_texts == {"x": "the x", "y": "the y"}


def test_gz_and_plain_agree(tiny_folder, tmp_path):
    other = tmp_path / "plain"
    other.mkdir()
    _write_split(other / "train.jsonl", RECORDS["train"], compress=True)
    _write_split(other / "test.jsonl", RECORDS["test"])
    a, b = load_jsonl_dataset(tiny_folder), load_jsonl_dataset(other)
    assert a.X_test == b.X_test and (a.Y_test != b.Y_test).nnz == 0
    assert b.hierarchy is None and b.label_texts is None and b.description == ""


def test_splits_and_max_samples(tiny_folder):
    data = load_jsonl_dataset(tiny_folder, splits=("test",), max_samples=1)
    assert "X_train" not in data and data.X_test == ["four"]
    assert data.classes.tolist() == ["w", "x", "z"]  # no train split: the first split's labels


def test_loader_errors(tiny_folder, tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_jsonl_dataset(tmp_path / "missing")
    with pytest.raises(FileNotFoundError, match=r"'valid' not found.*valid\.jsonl"):
        load_jsonl_dataset(tiny_folder, splits=("train", "valid"))
    for bad in (0, -3):
        with pytest.raises(ValueError, match="max_samples"):
            load_jsonl_dataset(tiny_folder, max_samples=bad)
    with pytest.raises(TypeError, match="max_samples"):
        load_jsonl_dataset(tiny_folder, max_samples=2.5)
    (tiny_folder / "train.jsonl").write_text('{"id": "a", "text": "t", "labels": []}\n{oops\n')
    with pytest.raises(ValueError, match=r"train\.jsonl:2: invalid JSON"):
        load_jsonl_dataset(tiny_folder)
    (tiny_folder / "train.jsonl").write_text('\n{"id": "a", "text": "t"}\n')
    with pytest.raises(ValueError, match=r"train\.jsonl:2: missing field 'labels'"):
        load_jsonl_dataset(tiny_folder)
    (tiny_folder / "train.jsonl").write_text('{"id": "a", "text": "t", "labels": "x"}\n')
    with pytest.raises(ValueError, match=r"train\.jsonl:1: field 'labels' must be a list"):
        load_jsonl_dataset(tiny_folder)
    (tiny_folder / "train.jsonl").write_text('{"id": "a", "text": 3, "labels": ["x"]}\n')
    with pytest.raises(ValueError, match=r"train\.jsonl:1: field 'text' must be a string"):
        load_jsonl_dataset(tiny_folder)
    with pytest.raises(ValueError, match="missing field 'body'"):
        load_jsonl_dataset(tiny_folder, text_field="body")


def _latin1_records(n_good):
    """``n_good`` UTF-8 lines, then one record whose text is latin-1 ("café" as b"caf\\xe9")."""
    good = b"".join(json.dumps({"id": str(i), "text": "t", "labels": ["x"]}).encode() + b"\n"
                    for i in range(n_good))
    bad = '{"id": "bad", "text": "café", "labels": ["x"]}\n'.encode("latin-1")
    return good, bad


@pytest.mark.parametrize("compress", [False, True])
def test_latin1_split_names_file_line_and_byte_offset(tiny_folder, compress):
    # 500 lines: past the first chunk the text reader decodes, so the line is not the
    # one where decoding failed but the one holding the bad byte
    good, bad = _latin1_records(500)
    (tiny_folder / "train.jsonl").unlink()
    name = "train.jsonl.gz" if compress else "train.jsonl"
    (tiny_folder / name).write_bytes(gzip.compress(good + bad) if compress else good + bad)
    offset = len(good) + bad.index(b"\xe9")
    where = "of the uncompressed data" if compress else "in the file"
    with pytest.raises(ValueError, match=rf"{re.escape(name)}:501: not valid UTF-8 at byte "
                                         rf"offset {offset} {where}.*must be UTF-8.*iconv"):
        load_jsonl_dataset(tiny_folder)
    # the records before it load, and max_samples stops before the bad line
    assert len(load_jsonl_dataset(tiny_folder, max_samples=500).X_train) == 500


@pytest.mark.parametrize("extra, content", [
    ("hierarchy.tsv", "ROOT\tg\ng\tx\ng\tcafé\n"),
    ("label_texts.tsv", "x\tthe x\ny\tthe café\n"),
    ("README.md", "# Tiny\n\nCafé recipes.\n"),
])
def test_latin1_side_files_name_file_and_line(tiny_folder, extra, content):
    (tiny_folder / extra).write_bytes(content.encode("latin-1"))
    line = 3 if extra != "label_texts.tsv" else 2
    with pytest.raises(ValueError, match=rf"{re.escape(extra)}:{line}: not valid UTF-8 at "
                                         r"byte offset \d+ in the file.*must be UTF-8"):
        load_jsonl_dataset(tiny_folder)


def test_utf8_byte_order_mark_is_dropped(tiny_folder):
    bom = "\ufeff"
    for name in ("train.jsonl", "hierarchy.tsv", "label_texts.tsv"):
        path = tiny_folder / name
        path.write_text(bom + path.read_text(encoding="utf-8"), encoding="utf-8")
    data = load_jsonl_dataset(tiny_folder)
    # before: invalid JSON on line 1, and "\ufeffROOT" read as a label of hierarchy.tsv
    assert data.X_train[0] == "one" and data.hierarchy.parents("g") == []
    assert data.label_texts == {"x": "the x", "y": "the y"}


def test_json_escaped_lone_surrogate_names_file_and_line(tiny_folder):
    (tiny_folder / "train.jsonl").write_text(
        '{"id": "a", "text": "t", "labels": ["x"]}\n'
        '{"id": "b", "text": "caf\\udcff", "labels": ["x"]}\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"train\.jsonl:2: field 'text' is not valid Unicode: "
                                         r"it holds a lone surrogate"):
        load_jsonl_dataset(tiny_folder)


def test_reuters_max_samples(shared_data):
    data = load_jsonl_dataset(shared_data / "reuters21578", max_samples=50)
    assert len(data.X_train) == 50 and len(data.X_test) == 50
    assert data.ids_train[0] == "1" and data.X_train[0].startswith("BAHIA COCOA REVIEW")
    assert data.Y_train.shape == (50, len(data.classes))
    assert data.classes.tolist() == sorted(data.classes.tolist())
    assert data.Y_test.shape[1] == len(data.classes) + len(data.classes_test_only)
    assert data.hierarchy is None and len(data.label_texts) == 90
    assert data.label_texts["acq"] == "Mergers/Acquisitions"
    assert "Reuters-21578" in data.description
    assert np.diff(data.Y_train.indptr).min() >= 1  # every document has a topic


def test_codiesp_test_only_labels(shared_data):
    data = load_jsonl_dataset(shared_data / "codiesp")
    n_train = len(data.classes)
    assert (len(data.X_train), len(data.X_test)) == (750, 250)
    assert n_train == 2194 and len(data.classes_test_only) == 363  # README figures
    assert not set(data.classes_test_only) & set(data.classes)
    all_classes = np.concatenate([data.classes, data.classes_test_only])
    assert data.Y_test.shape == (250, n_train + 363)
    with open(shared_data / "codiesp" / "test.jsonl", encoding="utf-8") as fh:
        truth = [json.loads(line)["labels"] for line in fh]
    assert [sorted(r) for r in labels_from_csr(data.Y_test, all_classes)] == truth
    assert data.Y_test[:, n_train:].sum() > 0  # test-only labels are kept, not dropped
    data.hierarchy.validate_labels(all_classes)  # codes closed under the ICD-10 tree
    es = load_jsonl_dataset(shared_data / "codiesp", text_field="text_es", max_samples=2)
    assert es.X_train[0] != data.X_train[0] and es.ids_train == data.ids_train[:2]


def test_rcv1_label_texts(shared_data):
    data = load_jsonl_dataset(shared_data / "rcv1-sample", splits=("train",))
    assert len(data.label_texts) == 103
    assert data.label_texts["C152"] == "COMMENT/FORECASTS"
    assert set(data.classes.tolist()) <= set(data.label_texts)


def test_bundled_cooking():
    assert list_bundled_datasets() == ["cooking"]
    data = load_cooking()
    assert (len(data.X_train), len(data.X_test)) == (12404, 3000)
    assert len(data.classes) == 735 and data.classes_test_only.tolist() == ["porridge"]
    assert data.Y_test.shape == (3000, 736) and data.Y_test[:, 735].sum() >= 1
    assert data.hierarchy is None and data.label_texts is None and data.name == "cooking"
    assert "CC-BY-SA 3.0" in data.description and "NOTICE" in data.description
    assert "cooking.stackexchange.com" in data.description


def test_bundled_cooking_matches_shared_checksums(shared_data):
    sums = dict(
        reversed(line.split())
        for line in (shared_data / "cooking" / "SHA256SUMS").read_text().splitlines()
    )
    for split in ("train", "test"):
        with gzip.open(ds._bundled.DATA_DIR / "cooking" / f"{split}.jsonl.gz", "rb") as fh:
            assert hashlib.sha256(fh.read()).hexdigest() == sums[f"{split}.jsonl"]


def test_no_restricted_data_bundled():
    names = {p.name for p in ds._bundled.DATA_DIR.iterdir()}
    assert not names & {"reuters21578", "rcv1", "rcv1-sample", "hoc", "codiesp"}


def test_load_dataset_resolution(tiny_folder, tmp_path, monkeypatch):
    assert load_dataset("cooking", max_samples=3).name == "cooking"
    assert load_dataset(tiny_folder).name == "tiny"
    assert load_dataset(str(tiny_folder)).classes.tolist() == ["x", "y"]
    monkeypatch.setenv("SKLEARN_XMTC_DATA", str(tmp_path))
    assert load_dataset("tiny").name == "tiny"
    monkeypatch.delenv("SKLEARN_XMTC_DATA")
    work = tmp_path / "repo"
    work.mkdir()
    (tmp_path / "shared" / "data").mkdir(parents=True)
    tiny_folder.rename(tmp_path / "shared" / "data" / "tiny")
    monkeypatch.chdir(work)
    assert load_dataset("tiny").X_train == ["one", "two", "three"]  # ../shared/data/tiny
    with pytest.raises(ValueError, match=r"Unknown data set 'nope'.*\['cooking'\]"):
        load_dataset("nope")
    with pytest.raises(TypeError, match="name_or_path"):
        load_dataset(3)


def _label_counts(Y):
    return np.asarray(Y.sum(axis=0)).ravel()


def test_make_tiny_xmtc_shapes_and_determinism():
    texts, Y = make_tiny_xmtc(random_state=0)
    assert len(texts) == 200 and all(isinstance(t, str) for t in texts)
    assert sp.isspmatrix_csr(Y) and Y.dtype == np.float32 and Y.shape == (200, 20)
    assert set(np.unique(Y.data).tolist()) == {1.0}
    texts2, Y2 = make_tiny_xmtc(random_state=0)
    assert texts2 == texts and (Y2 != Y).nnz == 0
    texts3, _ = make_tiny_xmtc(random_state=1)
    assert texts3 != texts
    per_sample = np.diff(Y.indptr)
    assert per_sample.min() >= 1 and per_sample.max() <= 3
    lengths = np.array([len(t.split()) for t in texts])
    assert lengths.min() >= 3 and (lengths <= np.maximum(20, 3 * per_sample)).all()


@pytest.mark.parametrize("n_samples, n_labels, lps", [(200, 20, (1, 3)), (30, 30, (1, 2)),
                                                      (10, 10, (2, 2)), (500, 300, (1, 4))])
def test_make_tiny_xmtc_every_label_twice_and_skewed(n_samples, n_labels, lps):
    texts, Y = make_tiny_xmtc(n_samples, n_labels, labels_per_sample=lps, random_state=3)
    counts = _label_counts(Y)
    assert counts.min() >= 2
    assert np.diff(Y.indptr).max() <= lps[1]
    if n_samples * lps[0] > 4 * n_labels:  # room for a head: Zipf-like skew
        assert counts[:3].mean() > 3 * counts[-3:].mean()
    for i in range(0, n_samples, 7):  # signature words planted in every carrier
        words = set(texts[i].split())
        for j in Y[i].indices:
            assert {f"lab{j}w0", f"lab{j}w1", f"lab{j}w2"} <= words


def test_make_tiny_xmtc_hierarchy_and_names():
    _, Y, h, names = make_tiny_xmtc(random_state=0, return_hierarchy=True,
                                    return_label_names=True)
    assert names.tolist()[:2] == ["label00", "label01"] and len(names) == 20
    assert sorted(h.leaves()) == names.tolist() and h.roots() == [f"group{g}" for g in range(4)]
    assert h.parents("label05") == ["group1"] and h.depth("label05") == 2
    Y_exp, cols = h.expand(Y, names)
    assert Y_exp.shape == (200, 24) and (Y_exp[:, :20] != Y).nnz == 0
    _, Y_int, h_int = make_tiny_xmtc(random_state=0, label_names="int", return_hierarchy=True)
    assert (Y_int != Y).nnz == 0
    h_int.validate_labels(np.arange(20))  # matches the classes inferred from a CSR Y
    assert h_int.parents(5) == [21]


@pytest.mark.parametrize(
    "kwargs, err, match",
    [
        ({"n_samples": 5, "n_labels": 20}, ValueError, "at least twice"),
        ({"n_samples": 1}, ValueError, "n_samples"),
        ({"labels_per_sample": (3, 1)}, ValueError, "labels_per_sample"),
        ({"labels_per_sample": (1, 30)}, ValueError, "labels_per_sample"),
        ({"text_length": 5}, TypeError, "text_length"),
        ({"label_names": "names"}, ValueError, "label_names"),
        ({"n_words_per_label": 0}, ValueError, "n_words_per_label"),
        ({"n_labels": 2.0}, TypeError, "n_labels"),
    ],
)
def test_make_tiny_xmtc_errors(kwargs, err, match):
    with pytest.raises(err, match=match):
        make_tiny_xmtc(**kwargs)


def test_make_tiny_xmtc_no_noise():
    texts, Y = make_tiny_xmtc(20, 4, n_noise_words=0, n_words_per_label=1, random_state=0)
    assert all(w.startswith("lab") for t in texts for w in t.split())
    assert [len(t.split()) for t in texts] == np.diff(Y.indptr).tolist()


def test_make_tiny_xmtc_learnable():
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.multiclass import OneVsRestClassifier

    texts, Y = make_tiny_xmtc(n_samples=400, n_labels=20, random_state=0)
    vec = TfidfVectorizer()
    X_train, X_test = vec.fit_transform(texts[:300]), vec.transform(texts[300:])
    clf = OneVsRestClassifier(LogisticRegression(C=10.0)).fit(X_train, Y[:300].toarray())
    top1 = np.argmax(clf.decision_function(X_test), axis=1)
    p_at_1 = np.asarray(Y[300:][np.arange(100), top1]).mean()
    assert p_at_1 > 0.9


def test_a_damaged_gzip_file_names_the_file(tmp_path):
    import gzip

    from sklearn_xmtc.utils._io import iter_lines

    good = gzip.compress(b'{"id": 1}\n' * 2000)
    (tmp_path / "cut.jsonl.gz").write_bytes(good[: len(good) // 2])  # truncated stream
    (tmp_path / "bad.jsonl.gz").write_bytes(b"not gzip at all\n")
    for name in ("cut.jsonl.gz", "bad.jsonl.gz"):
        with pytest.raises(ValueError, match=rf"{name}: the gzip data is damaged after line"):
            list(iter_lines(tmp_path / name))
