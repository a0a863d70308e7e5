"""Label handling: binarizer, hierarchy, label features, trees and clusters."""

from ._binarizer import XMTCLabelBinarizer, check_label_matrix, is_label_lists, labels_from_csr
from ._clustering import balanced_kmeans, recursive_balanced_2means
from ._columns import pad_columns
from ._features import pifa_features, reduce_label_features, tfidf_label_features
from ._hierarchy import ROOT, LabelHierarchy, check_hierarchy
from ._hierarchy_index import HierarchyIndex
from ._label_texts import load_label_texts
from ._tree import LabelTree, build_label_tree, children_table

__all__ = sorted(
    [
        "HierarchyIndex",
        "LabelHierarchy",
        "LabelTree",
        "ROOT",
        "XMTCLabelBinarizer",
        "balanced_kmeans",
        "build_label_tree",
        "children_table",
        "check_hierarchy",
        "check_label_matrix",
        "is_label_lists",
        "labels_from_csr",
        "load_label_texts",
        "pad_columns",
        "pifa_features",
        "recursive_balanced_2means",
        "reduce_label_features",
        "tfidf_label_features",
    ]
)
