"""AugMix augmentation: op table, functional ops, parameter sampler, and both back-ends."""

from augmix.augment.apply import apply_chains, apply_pil, apply_tensor, mix, to_float
from augmix.augment.dataset import AugMixDataset
from augmix.augment.ops import AUGMIX_OPS, AUGMIX_OPS_ALL, OP_SPECS, level_to_arg, op_names
from augmix.augment.sampler import AugMixConfig, AugMixParams, sample_params
from augmix.augment.transforms import AugMix, AugMixBatch

__all__ = [
    "AUGMIX_OPS", "AUGMIX_OPS_ALL", "OP_SPECS", "AugMix", "AugMixBatch", "AugMixConfig",
    "AugMixDataset", "AugMixParams", "apply_chains", "apply_pil", "apply_tensor",
    "level_to_arg", "mix", "op_names", "sample_params", "to_float",
]
