"""Tests for LabelHierarchy, HierarchyIndex, check_hierarchy and load_label_texts."""

import doctest
import importlib
import json
import pickle
import warnings

import numpy as np
import pytest
import scipy.sparse as sp

from sklearn_xmtc.labels import (
    HierarchyIndex,
    LabelHierarchy,
    check_hierarchy,
    check_label_matrix,
    load_label_texts,
)

# animal -> {mammal -> {cat, dog}, bird}; plant (a lone top-level node)
TREE_DICT = {"mammal": "animal", "cat": "mammal", "dog": "mammal", "bird": "animal",
             "animal": None, "plant": "ROOT"}
TREE_PAIRS = [("ROOT", "animal"), ("animal", "mammal"), ("mammal", "cat"),
              ("mammal", "dog"), ("animal", "bird"), ("ROOT", "plant")]


def _write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def tree_tsv(tmp_path):
    lines = "".join(f"{p}\t{c}\n" for p, c in TREE_PAIRS)
    return _write(tmp_path / "hierarchy.tsv", lines)


def test_dict_pairs_tsv_agree(tree_tsv):
    hs = [LabelHierarchy(TREE_DICT), LabelHierarchy(TREE_PAIRS),
          LabelHierarchy(tree_tsv), LabelHierarchy(str(tree_tsv))]
    for h in hs:
        assert h.nodes == ["animal", "bird", "cat", "dog", "mammal", "plant"]
        assert len(h) == 6 and "cat" in h and "ROOT" not in h and ["x"] not in h
        assert h.parents("cat") == ["mammal"] and h.parents("animal") == []
        assert h.ancestors("cat") == {"mammal", "animal"}
        assert h.ancestors("plant") == set()
        assert [h.depth(n) for n in ("animal", "mammal", "cat")] == [1, 2, 3]
        assert h.levels() == {1: ["animal", "plant"], 2: ["bird", "mammal"], 3: ["cat", "dog"]}
        assert h.roots() == ["animal", "plant"] == h.children("ROOT")
        assert h.leaves() == ["bird", "cat", "dog", "plant"]
        assert h.children("mammal") == ["cat", "dog"]
        assert sorted(h.edges()) == sorted(TREE_PAIRS)
        assert h == hs[0]
    assert LabelHierarchy(hs[2]) == hs[0]  # copy
    assert LabelHierarchy(iter(TREE_PAIRS)).spec == TREE_PAIRS  # iterator stored as list


def test_unknown_node_queries_raise():
    h = LabelHierarchy(TREE_DICT)
    with pytest.raises(KeyError, match="fish"):
        h.parents("fish")
    with pytest.raises(KeyError, match="fish"):
        h.depth("fish")


def test_dag_two_parents():
    # c has parents a and b; b is under a: longest path gives depth(c) = 3
    h = LabelHierarchy({"c": ["a", "b"], "b": "a", "d": ("b",)})
    assert h.parents("c") == ["a", "b"]
    assert h.ancestors("c") == {"a", "b"}
    assert h.depth("c") == 3 and h.depth("b") == 2 and h.depth("a") == 1
    assert h.children("a") == ["b", "c"]
    assert h.levels() == {1: ["a"], 2: ["b"], 3: ["c", "d"]}
    Y, classes = h.expand(sp.csr_matrix(np.array([[1, 0], [0, 1]])), ["c", "d"])
    assert classes.tolist() == ["c", "d", "a", "b"]
    assert Y.toarray().tolist() == [[1, 0, 1, 1], [0, 1, 1, 1]]
    with pytest.raises(ValueError, match="tree"):
        h.parent_index(["c", "a"])


@pytest.mark.parametrize(
    "spec",
    [
        [("a", "b"), ("b", "c"), ("c", "a")],
        {"a": "c", "b": "a", "c": "b", "x": None},
        {"a": ["x", "b"], "b": "a"},
    ],
)
def test_cycle_raises(spec):
    with pytest.raises(ValueError, match="cycle through '[abc]'"):
        LabelHierarchy(spec)


def test_self_loop_raises(tmp_path):
    with pytest.raises(ValueError, match="own parent"):
        LabelHierarchy({"a": "a"})
    path = _write(tmp_path / "h.tsv", "ROOT\ta\na\ta\n")
    with pytest.raises(ValueError, match=r"h\.tsv:2: Self-loop"):
        LabelHierarchy(path)


@pytest.mark.parametrize("bad", ["ROOT\ta\nlonely\n", "ROOT\ta\na\tb\tc\n", "ROOT\ta\n\tb\n"])
def test_malformed_tsv_reports_file_line(tmp_path, bad):
    path = _write(tmp_path / "bad.tsv", bad)
    with pytest.raises(ValueError, match=r"bad\.tsv:2: expected 'parent<TAB>child'"):
        LabelHierarchy(path)


def test_bad_specs():
    with pytest.raises(ValueError, match="pair 1"):
        LabelHierarchy([("ROOT", "a"), ("a", "b", "c")])
    with pytest.raises(ValueError, match="virtual root"):
        LabelHierarchy([("a", "ROOT")])
    with pytest.raises(FileNotFoundError, match="nope.tsv"):
        LabelHierarchy("nope.tsv")
    with pytest.raises(TypeError, match="hashable"):
        LabelHierarchy({"a": [["x"]]})


def test_unknown_labels_are_named():
    h = LabelHierarchy(TREE_DICT)
    h.validate_labels(["cat", "bird"])  # internal nodes missing from classes are fine
    with pytest.raises(ValueError, match=r"2 label\(s\).*\['fish', 'tree'\]"):
        h.validate_labels(["cat", "fish", "tree"])
    with pytest.raises(ValueError, match="fish"):
        h.expand(sp.csr_matrix((1, 2)), ["cat", "fish"])
    many = [f"x{i}" for i in range(8)]
    with pytest.raises(ValueError, match=r"8 label\(s\).*'x4'\]"):
        h.validate_labels(many)


def test_expand_hand_computed():
    h = LabelHierarchy(TREE_DICT)
    classes = ["cat", "bird", "dog", "mammal", "plant"]
    Y = sp.csr_matrix(np.array([[1, 0, 0, 0, 0],    # cat -> mammal, animal
                                [0, 1, 0, 0, 1],    # bird, plant -> animal
                                [0, 0, 0, 0, 0],    # nothing
                                [1, 0, 1, 1, 0]]))  # cat, dog, mammal -> animal
    Y_exp, expanded = h.expand(Y, classes)
    assert expanded.tolist() == classes + ["animal"]
    assert sp.issparse(Y_exp) and Y_exp.format == "csr" and Y_exp.dtype == np.float32
    assert Y_exp.toarray().tolist() == [
        [1, 0, 0, 1, 0, 1],
        [0, 1, 0, 0, 1, 1],
        [0, 0, 0, 0, 0, 0],
        [1, 0, 1, 1, 0, 1],
    ]
    A, cols = h.ancestor_matrix(classes, return_classes=True)
    assert cols.tolist() == expanded.tolist()
    assert A.shape == (5, 6) and A[0].toarray().tolist() == [[1, 0, 0, 1, 0, 1]]
    # label lists are accepted too and give the same result
    Y_lists, _ = h.expand([["cat"], ["bird", "plant"], [], ["cat", "dog", "mammal"]], classes)
    assert (Y_lists != Y_exp).nnz == 0


def test_expand_int_labels():
    h = LabelHierarchy({1: 0, 2: 0, 3: 1})
    Y, classes = h.expand(np.array([[0, 0, 1]]), np.array([1, 2, 3]))
    assert classes.dtype == np.int64 and classes.tolist() == [1, 2, 3, 0]
    assert Y.toarray().tolist() == [[1, 0, 1, 1]]


def test_parent_index_tree():
    h = LabelHierarchy(TREE_DICT)
    got = h.parent_index(["animal", "mammal", "cat", "dog", "bird", "plant"])
    assert got.dtype == np.int64 and got.tolist() == [-1, 0, 1, 1, 0, -1]
    # 'mammal' missing: cat's nearest ancestor in classes is 'animal'
    assert h.parent_index(["cat", "animal"]).tolist() == [1, -1]


def test_check_hierarchy_forms(tree_tsv):
    assert check_hierarchy(None) is None
    h = LabelHierarchy(TREE_DICT)
    assert check_hierarchy(h) is h
    for spec in (TREE_DICT, TREE_PAIRS, tree_tsv, str(tree_tsv)):
        assert check_hierarchy(spec) == h
    for bad in (3, 2.5, b"ROOT\ta"):
        with pytest.raises(TypeError, match="hierarchy must be"):
            check_hierarchy(bad)


def test_pickle_roundtrip(tree_tsv):
    h = LabelHierarchy(tree_tsv)
    h2 = pickle.loads(pickle.dumps(h))
    assert h2 == h and h2.depth("cat") == 3 and h2.ancestors("dog") == {"mammal", "animal"}
    assert repr(h2) == "LabelHierarchy(n_nodes=6, n_roots=2, max_depth=3)"


def test_hoc_hierarchy(shared_data):
    h = LabelHierarchy(shared_data / "hoc" / "hierarchy.tsv")
    assert len(h) == 37
    assert [len(v) for v in h.levels().values()] == [10, 21, 6]  # README: 10 / 21 / 6
    labels = set()
    with open(shared_data / "hoc" / "train.jsonl", encoding="utf-8") as fh:
        for line in fh:
            labels.update(json.loads(line)["labels"])
    h.validate_labels(sorted(labels))
    leaf = "Genomic instability and mutation--DNA damage--Adducts"
    assert h.depth(leaf) == 3
    assert h.ancestors(leaf) == {"Genomic instability and mutation",
                                 "Genomic instability and mutation--DNA damage"}
    parent = h.parent_index(h.nodes)
    assert (parent == -1).sum() == 10


def test_rcv1_labels_closed_upwards(shared_data):
    from sklearn_xmtc.datasets import load_jsonl_dataset

    data = load_jsonl_dataset(shared_data / "rcv1-sample")
    h = data.hierarchy
    assert len(h) == 103 and h.roots() == ["CCAT", "ECAT", "GCAT", "MCAT"]
    Y_exp, expanded = h.expand(data.Y_train, data.classes)
    assert expanded.tolist() == data.classes.tolist()
    assert (Y_exp != data.Y_train).nnz == 0
    # drop the top-level columns: expanding restores them wherever a descendant is
    # positive, and (the data being closed upwards) never adds a label it lacks
    keep = np.flatnonzero(~np.isin(data.classes, h.roots()))
    Y_back, cols = h.expand(data.Y_train[:, keep], data.classes[keep])
    assert sorted(cols.tolist()) == data.classes.tolist()
    diff = data.Y_train - Y_back[:, np.argsort(cols.astype(str))]
    assert diff.data.min() > 0  # only ever missing, never extra
    assert Y_back[:, len(keep):].nnz > 0.9 * data.Y_train[:, np.isin(data.classes, h.roots())].nnz


def test_load_label_texts(tmp_path, shared_data):
    assert load_label_texts(None) is None
    assert load_label_texts({"a": "alpha"}) == {"a": "alpha"}
    with pytest.raises(TypeError, match="must be a str"):
        load_label_texts({"a": 1})
    with pytest.raises(TypeError, match="label_texts must be"):
        load_label_texts(["a"])
    good = _write(tmp_path / "t.tsv", "a\talpha beta\n\nb\twith\ttab\n")
    assert load_label_texts(good) == {"a": "alpha beta", "b": "with\ttab"}
    bad = _write(tmp_path / "bad.tsv", "a\talpha\nno tab here\n")
    with pytest.raises(ValueError, match=r"bad\.tsv:2"):
        load_label_texts(bad)
    dup = _write(tmp_path / "dup.tsv", "a\tx\na\ty\n")
    with pytest.raises(ValueError, match=r"dup\.tsv:2.*twice"):
        load_label_texts(dup)
    rcv1 = load_label_texts(shared_data / "rcv1-sample" / "label_texts.tsv")
    assert len(rcv1) == 103 and rcv1["C152"] == "COMMENT/FORECASTS"


# ---------------------------------------------------------------------------
# HierarchyIndex (label-index views)
# ---------------------------------------------------------------------------
# a (internal) -> b -> d; c has parents a and b (DAG); g (internal) -> h (internal);
# the column 'out' is not in the hierarchy
DAG = {"b": "a", "c": ["a", "b"], "d": "b", "h": "g"}
DAG_CLASSES = ["d", "c", "b", "out"]


def _rows(M):
    return [M[i].indices.tolist() for i in range(M.shape[0])]


def test_index_view_hand_made_dag():
    view = LabelHierarchy(DAG).index_view(DAG_CLASSES)
    assert isinstance(view, HierarchyIndex)
    # columns in classes order, then internal nodes by level then name
    assert view.node_names.dtype == object
    assert view.node_names.tolist() == ["d", "c", "b", "out", "a", "g", "h"]
    assert view.internal_nodes.tolist() == ["a", "g", "h"]
    assert (view.n_columns, view.n_internal, view.n_nodes, view.n_levels) == (4, 3, 7, 3)
    assert view.classes.tolist() == DAG_CLASSES
    assert view.is_column.tolist() == [True] * 4 + [False] * 3
    assert view.unknown_columns.tolist() == [3]
    # c: longest path ROOT -> a -> b -> c gives level 2; 'out' is top level
    assert view.level.dtype == np.int64 and view.level.tolist() == [2, 2, 1, 0, 0, 0, 1]
    for M in (view.parents, view.children, view.ancestors):
        assert sp.isspmatrix_csr(M) and M.shape == (7, 7) and set(M.data.tolist()) == {1.0}
    assert _rows(view.parents) == [[2], [2, 4], [4], [], [], [], [5]]
    assert _rows(view.children) == [[], [], [0, 1], [], [1, 2], [6], []]
    assert _rows(view.ancestors) == [[2, 4], [2, 4], [4], [], [], [], [5]]  # self excluded
    assert [view.nodes_at_level(d).tolist() for d in range(5)] == [
        [3, 4, 5], [2, 6], [0, 1], [], []]
    assert view.nodes_at_level(np.int64(1)).dtype == np.int64
    Y = view.expand_to_ancestors(sp.csr_matrix(np.array([[1, 0, 0, 1], [0, 1, 0, 0]])))
    assert Y.format == "csr" and Y.dtype == np.float32 and Y.shape == (2, 7)
    assert _rows(Y) == [[0, 2, 3, 4], [1, 2, 4]] and set(Y.data.tolist()) == {1.0}
    assert (view.expand_to_ancestors([["d", "out"], ["c"]]) != Y).nnz == 0
    assert view.columns_only([6, 0, 4, 3]).tolist() == [0, 3]
    assert view.columns_only([]).dtype == np.int64 and view.columns_only([]).size == 0
    # the parents of (teacher) columns, as node tokens
    tokens = sp.csr_matrix(np.array([[1, 1, 0, 0]])) @ view.parents[:4]
    assert sorted(tokens.indices.tolist()) == [2, 4]
    assert repr(view) == "HierarchyIndex(n_columns=4, n_internal=3, n_levels=3)"


def test_index_view_int_labels_and_constructor():
    h = LabelHierarchy({1: 0, 2: 0, 3: 1})
    view = HierarchyIndex(h, np.array([3, 1]))
    assert view.classes.dtype.kind == "i" and view.node_names.tolist() == [3, 1, 0, 2]
    assert view.level.tolist() == [2, 1, 0, 1] and view.unknown_columns.size == 0
    assert _rows(view.ancestors) == [[1, 2], [2], [], [2]]
    same = HierarchyIndex({1: 0, 2: 0, 3: 1}, [3, 1])  # any check_hierarchy spec
    assert same.node_names.tolist() == view.node_names.tolist()
    # a view of every node has no internal node
    full = h.index_view(h.nodes)
    assert full.n_internal == 0 and full.internal_nodes.size == 0


def test_index_view_is_immutable_and_pickles():
    view = LabelHierarchy(DAG).index_view(DAG_CLASSES)
    with pytest.raises(AttributeError, match="immutable"):
        view.level = None
    with pytest.raises(AttributeError):
        view.other = 1
    for arr in (view.level, view.is_column, view.node_names, view.parents.data,
                view.ancestors.indices, view.nodes_at_level(0)):
        with pytest.raises(ValueError, match="read-only"):
            arr[0] = arr[0]
    back = pickle.loads(pickle.dumps(view))
    assert back.node_names.tolist() == view.node_names.tolist()
    assert (back.ancestors != view.ancestors).nnz == 0 and not back.level.flags.writeable
    assert back.nodes_at_level(2).tolist() == [0, 1]


def test_index_view_warns_when_no_column_is_a_node():
    h = LabelHierarchy({"x": "A", "y": "A"})
    with pytest.warns(UserWarning, match="names none of the 2 columns"):
        view = h.index_view([0, 1])  # classes_ of a model fitted on a label matrix
    assert view.node_names.tolist() == [0, 1, "A", "x", "y"] and view.level.tolist()[:2] == [0, 0]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        h.index_view(["x", 5])  # one column is a node: no warning
        h.relabel({"x": 0, "y": 1}).index_view([0, 1])


def test_index_view_bad_input():
    h = LabelHierarchy(DAG)
    with pytest.raises(ValueError, match=r"duplicated labels.*\['b'\]"):
        h.index_view(["b", "c", "b"])
    with pytest.raises(ValueError, match="1-D"):
        h.index_view([["b", "c"]])
    with pytest.raises(ValueError, match="1-D"):
        h.index_view("b")
    with pytest.raises(ValueError, match=r"1 label\(s\).*'out'"):
        h.index_view(DAG_CLASSES, unknown="raise")
    with pytest.raises(ValueError, match="unknown must be"):
        h.index_view(DAG_CLASSES, unknown="ignore")
    with pytest.raises(ValueError, match="needs a hierarchy"):
        HierarchyIndex(None, ["a"])
    with pytest.raises(TypeError, match="hierarchy must be"):
        HierarchyIndex(3, ["a"])
    view = h.index_view(DAG_CLASSES)
    with pytest.raises(ValueError, match="level must be >= 0"):
        view.nodes_at_level(-1)
    for bad in ([[0, 1]], [0.0, 1.0], [0, 7], [-1]):
        with pytest.raises(ValueError, match="node_indices"):
            view.columns_only(bad)
    with pytest.raises(ValueError, match="columns"):
        view.expand_to_ancestors(sp.csr_matrix((2, 3)))


def _train_labels(folder):
    with open(folder / "train.jsonl", encoding="utf-8") as fh:
        return [json.loads(line)["labels"] for line in fh]


def test_index_view_codiesp(shared_data):
    h = LabelHierarchy(shared_data / "codiesp" / "hierarchy.tsv")
    rows = _train_labels(shared_data / "codiesp")
    classes = np.array(sorted({c for r in rows for c in r}))
    view = h.index_view(classes)
    assert (view.n_columns, view.n_internal, view.n_nodes) == (2194, 4478 - 2194, 4478)
    assert view.classes.tolist() == classes.tolist() and view.unknown_columns.size == 0
    assert set(view.internal_nodes.tolist()) == set(h.nodes) - set(classes.tolist())
    internal_levels = view.level[view.n_columns:]
    assert np.all(np.diff(internal_levels) >= 0)  # internal nodes sorted by level
    assert view.level.tolist() == [h.depth(n) - 1 for n in view.node_names.tolist()]
    assert [len(view.nodes_at_level(d)) for d in range(view.n_levels)] == [
        len(v) for v in h.levels().values()]
    assert view.parents.nnz == len(h) - len(h.roots())  # a tree: one parent per non-root
    A = view.ancestors[:view.n_columns]
    assert A.indices.min() >= 0 and A.indices.max() < view.n_nodes
    assert np.all(A.getnnz(axis=1) == view.level[:view.n_columns])  # a tree: one per level
    names = view.node_names
    for j in range(0, view.n_columns, 97):
        assert set(names[A[j].indices].tolist()) == h.ancestors(classes[j])
        assert np.all(view.level[A[j].indices] < view.level[j])
    Y, _ = check_label_matrix(rows, classes=classes)
    Y_nodes = view.expand_to_ancestors(Y)
    # columns that are ancestors of other columns (e.g. S72 of S72.0) get inherited positives
    inherited = Y_nodes[:, :view.n_columns] - Y
    assert inherited.nnz > 0 and inherited.data.min() > 0
    Y_exp, expanded = h.expand(Y, classes)
    for i in range(0, len(rows), 50):
        assert set(names[Y_nodes[i].indices].tolist()) == set(expanded[Y_exp[i].indices].tolist())
    assert view.columns_only(np.arange(view.n_nodes)).tolist() == list(range(view.n_columns))


def test_index_view_hoc(shared_data):
    h = LabelHierarchy(shared_data / "hoc" / "hierarchy.tsv")
    classes = sorted({c for r in _train_labels(shared_data / "hoc") for c in r})
    view = h.index_view(classes)
    assert (view.n_columns, view.n_internal, view.n_levels) == (36, 1, 3)
    assert view.level[view.n_columns:].tolist() == [0]  # the one unused node is top level


def test_docstring_examples_run():
    for name in ("_hierarchy", "_hierarchy_index"):
        mod = importlib.import_module(f"sklearn_xmtc.labels.{name}")
        result = doctest.testmod(mod, optionflags=doctest.NORMALIZE_WHITESPACE)
        assert result.attempted > 0 and result.failed == 0, name
