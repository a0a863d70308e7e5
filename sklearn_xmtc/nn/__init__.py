"""Shared torch layers used by the method networks."""

from ._beam import average_candidate_scores, beam_search, init_from_parent_level
from ._aplc import APLCOutput, aplc_cluster_sizes, aplc_n_parameters
from ._attention import MultiLabelAttention
from ._candidates import merge_candidates, topk_candidates
from ._decoding import (NoRepeatRule, SetDecoderMixin, beam_decode, best_step_scores,
                        hierarchy_penalty)
from ._embedding import TokenEmbedding
from ._output import (TRAINING_ONLY_INPUTS, LogitsBCELoss, OwnLoss, masked_max_pool,
                      masked_mean_pool, output_scores, pool_states)
from ._lightconv import LightConvEncoder, LightweightConv1d
from ._set_losses import (bipartite_matching_loss, ipot, match_targets, semantic_ot_loss,
                          sequence_nll_loss)

__all__ = sorted(["APLCOutput", "aplc_cluster_sizes", "aplc_n_parameters",
                  "LightConvEncoder", "MultiLabelAttention", "LightweightConv1d", "TokenEmbedding",
                  "bipartite_matching_loss", "ipot", "match_targets", "semantic_ot_loss",
                  "sequence_nll_loss", "merge_candidates", "topk_candidates", "LogitsBCELoss",
                  "OwnLoss", "masked_max_pool", "masked_mean_pool", "output_scores",
                  "pool_states", "TRAINING_ONLY_INPUTS", "beam_search", "average_candidate_scores",
                  "init_from_parent_level", "NoRepeatRule", "SetDecoderMixin", "best_step_scores", "beam_decode",
                  "hierarchy_penalty"])
