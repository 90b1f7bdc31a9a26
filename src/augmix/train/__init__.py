"""Training with the paper's recipes: config, batch pipeline, loop, and the helpers around it.

    config.py       TrainConfig (every setting, with its help text)
    data.py         the training data and the quick test error
    batches.py      one epoch of batches for this process (batched or per image)
    pipeline.py     baselines -> AugMix -> mixer -> adversary -> normalisation, built once
    loop.py         ``train``: the loop, top to bottom
    distributed.py  torchrun / DDP set-up
    rng.py          seeding and RNG state in checkpoints
    logs.py         log.csv, log.jsonl, TensorBoard
"""

from augmix.train.config import AUGMENT_MODES, DATASETS, METHODS, TrainConfig
from augmix.train.loop import TrainingDiverged, cosine_lr, train

__all__ = ["AUGMENT_MODES", "DATASETS", "METHODS", "TrainConfig", "TrainingDiverged", "cosine_lr", "train"]
