"""A drop-in for the ``imagecorruptions`` package: change ``from imagecorruptions import ...`` to
``from augmix.imagecorruptions import ...`` and nothing else.

``corrupt`` and ``get_corruption_names`` have the package's signatures, checks (the same
``AttributeError`` messages) and return shapes (a grey image comes back as three channels, as
the package returns it). After ``np.random.seed(S)`` ``corrupt`` returns the bytes that
``imagecorruptions-imaug`` 1.1.5 returns, at any size, for the 17 corruptions that draw from
numpy's global state there, and leaves that state where the package leaves it. Glass blur and
impulse noise draw from fresh unseeded generators in the package (so it does not reproduce
itself); here too, equal to it in distribution, and ``seed=`` makes them reproducible (with
our stream, not the package's bytes). For the fast batched mode, use ``augmix.corrupt``.
"""

from __future__ import annotations

import numpy as np

from augmix.corruptions.apply import corrupt as _corrupt
from augmix.corruptions.tables import ALL

_UNSEEDED = ("glass_blur", "impulse_noise")  # the package draws these from fresh generators
_SUBSETS = {  # the package's subsets of its corruption list
    "common": ALL[:15], "validation": ALL[15:], "all": ALL, "noise": ALL[0:3], "blur": ALL[3:7],
    "weather": ALL[7:11], "digital": ALL[11:15],
}


def get_corruption_names(subset: str = "common") -> list[str]:
    """The names of a subset: 'common' (the 15), 'validation' (the 4 held out), 'all', or a category
    of the 15 ('noise', 'blur', 'weather', 'digital')."""
    if subset not in _SUBSETS:
        raise ValueError("subset must be one of ['common', 'validation', 'noise', 'blur', 'weather', 'digital', 'all']")
    return list(_SUBSETS[subset])


def corrupt(image: np.ndarray, severity: int = 1, corruption_name: str | None = None, corruption_number: int = -1,
            **kwargs) -> np.ndarray:
    """``image`` (uint8 ``[H, W]`` or ``[H, W, 1 or 3]``, at least 32x32) corrupted by
    ``corruption_name`` (or the ``corruption_number``-th of ``get_corruption_names('all')``) at
    ``severity`` 1-5, as uint8 ``[H, W, 3]``. ``seed=`` is accepted for glass blur and impulse noise,
    as the package accepts it."""
    if not isinstance(image, np.ndarray):
        raise AttributeError("Expecting type(image) to be numpy.ndarray")
    if image.dtype.type is not np.uint8:
        raise AttributeError("Expecting image.dtype.type to be numpy.uint8")
    if image.ndim not in (2, 3):
        raise AttributeError("Expecting image.shape to be either (height x width) or (height x width x channels)")
    if image.ndim == 2:
        image = np.stack((image,) * 3, axis=-1)
    height, width, channels = image.shape
    if height < 32 or width < 32:
        raise AttributeError("Image width and height must be at least 32 pixels")
    if channels not in (1, 3):
        raise AttributeError("Expecting image to have either 1 or 3 channels (last dimension)")
    if channels == 1:
        image = np.stack((np.squeeze(image),) * 3, axis=-1)
    if severity not in (1, 2, 3, 4, 5):
        raise AttributeError("Severity must be an integer in [1, 5]")
    if corruption_name is not None:
        name = corruption_name
        if name not in ALL:
            raise KeyError(name)
    elif corruption_number != -1:
        name = ALL[corruption_number]
    else:
        raise ValueError("Either corruption_name or corruption_number must be passed")
    seed = kwargs.pop("seed", None)
    if kwargs or (seed is not None and name not in _UNSEEDED):
        raise TypeError(f"{name}() got an unexpected keyword argument {next(iter(kwargs or {'seed': 0}))!r}")
    if name in _UNSEEDED:
        stream = np.random.default_rng(seed)
    else:
        stream = np.random.mtrand._rand  # numpy's global state, which np.random.seed sets
    return _corrupt(np.ascontiguousarray(image), name, int(severity), seed=stream, definition="imagecorruptions")


__all__ = ["corrupt", "get_corruption_names"]
