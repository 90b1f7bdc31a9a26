"""The AugMix ops with explicit magnitudes (``augmix.functional.rotate(img, degrees)``).

See ``augmix.augment.functional`` for the semantics on PIL images and tensors.
"""

from augmix.augment.functional import *  # noqa: F401,F403
from augmix.augment.functional import __all__  # noqa: F401
