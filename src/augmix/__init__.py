"""augmix: AugMix (Hendrycks et al., ICLR 2020) and the robustness benchmarks it is judged on.

The pipeline, one module or package each: ``augment`` -> ``losses`` -> ``train`` ->
``corruptions`` -> ``evaluate`` -> ``report``; ``checkpoint`` says how a saved model is
rebuilt, ``data`` reads the datasets, ``models`` holds the architectures.
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
from augmix.corruptions import corrupt
from augmix.losses import AugMixLoss, jsd_loss

__version__ = "0.1.0"

__all__ = [
    "AugMix", "AugMixBatch", "AugMixConfig", "AugMixDataset", "AugMixLoss", "AugMixParams",
    "apply_pil", "apply_tensor", "corrupt", "jsd_loss", "sample_params",
]
