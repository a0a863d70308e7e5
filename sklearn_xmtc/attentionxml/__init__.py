"""AttentionXML (You et al., NeurIPS 2019) and LightAttention (paper 003)."""

from ._estimator import AttentionXMLClassifier, LightAttentionClassifier

__all__ = ["AttentionXMLClassifier", "LightAttentionClassifier"]
