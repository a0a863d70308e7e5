"""Shared torch layers used by the method networks."""

from ._aplc import APLCOutput, aplc_cluster_sizes, aplc_n_parameters
from ._attention import MultiLabelAttention
from ._embedding import TokenEmbedding
from ._lightconv import LightConvEncoder, LightweightConv1d
from ._set_losses import (bipartite_matching_loss, ipot, match_targets, semantic_ot_loss,
                          sequence_nll_loss)

__all__ = sorted(["APLCOutput", "aplc_cluster_sizes", "aplc_n_parameters",
                  "LightConvEncoder", "MultiLabelAttention", "LightweightConv1d", "TokenEmbedding",
                  "bipartite_matching_loss", "ipot", "match_targets", "semantic_ot_loss",
                  "sequence_nll_loss"])
