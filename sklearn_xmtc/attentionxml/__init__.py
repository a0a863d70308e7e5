"""AttentionXML (You et al., NeurIPS 2019) and LightAttention (Zhu, Teng and Huang)."""

from ._estimator import AttentionXMLClassifier, LightAttentionClassifier

__all__ = ["AttentionXMLClassifier", "LightAttentionClassifier"]
