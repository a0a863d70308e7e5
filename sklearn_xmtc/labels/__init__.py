"""Label handling: binarizer, hierarchy, label features, trees and clusters."""

from ._binarizer import XMTCLabelBinarizer, check_label_matrix, is_label_lists, labels_from_csr
from ._hierarchy import ROOT, LabelHierarchy, check_hierarchy
from ._label_texts import load_label_texts

__all__ = sorted(
    [
        "LabelHierarchy",
        "ROOT",
        "XMTCLabelBinarizer",
        "check_hierarchy",
        "check_label_matrix",
        "is_label_lists",
        "labels_from_csr",
        "load_label_texts",
    ]
)
