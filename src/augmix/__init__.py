"""augmix: AugMix (Hendrycks et al., ICLR 2020) and the robustness benchmarks it is judged on.

The pipeline, one module each: ``augment`` -> ``losses`` -> ``train`` -> ``corrupt`` ->
``evaluate`` -> ``report``.
"""

from augmix.augment import (
    AugMix,
    AugMixBatch,
    AugMixConfig,
    AugMixDataset,
    AugMixParams,
    apply_pil,
    apply_tensor,
    sample_params,
)
from augmix.losses import AugMixLoss, jsd_loss

__version__ = "0.1.0"

__all__ = [
    "AugMix", "AugMixBatch", "AugMixConfig", "AugMixDataset", "AugMixLoss", "AugMixParams",
    "apply_pil", "apply_tensor", "jsd_loss", "sample_params",
]
