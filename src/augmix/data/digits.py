"""An offline real dataset for the demo: scikit-learn's bundled handwritten digits.

1,797 real 8x8 greyscale digits (UCI "Optical Recognition of Handwritten Digits", shipped
inside scikit-learn, no download), upscaled to 32x32 RGB with bicubic interpolation so the
CIFAR code paths, models and the 32 px corruption table apply. A fixed stratified split
gives the train and test sets.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from augmix.data.cifar import ImageArrays


def load_digits_rgb(size: int = 32, test_fraction: float = 0.3, seed: int = 0) -> tuple[ImageArrays, ImageArrays]:
    """(train, test) as uint8 [N, size, size, 3] with labels 0-9."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    grey = (digits.images * (255.0 / 16.0)).round().astype(np.uint8)
    big = np.stack([np.asarray(Image.fromarray(g).resize((size, size), Image.BICUBIC)) for g in grey])
    rgb = np.repeat(big[..., None], 3, axis=-1)
    labels = digits.target.astype(np.int64)
    rng = np.random.default_rng(seed)
    test_idx = []
    for k in range(10):  # stratified split
        idx = np.flatnonzero(labels == k)
        test_idx.extend(rng.choice(idx, int(round(len(idx) * test_fraction)), replace=False))
    is_test = np.zeros(len(labels), bool)
    is_test[test_idx] = True
    classes = [str(k) for k in range(10)]
    source = "scikit-learn handwritten digits (1,797 real 8x8 digits, upscaled to 32x32)"
    return (ImageArrays(rgb[~is_test], labels[~is_test], classes, source + f", train split of {(~is_test).sum()}"),
            ImageArrays(rgb[is_test], labels[is_test], classes, source + f", test split of {is_test.sum()}"))
