"""The published corruption parameters, one table per image size (facts, as data).

Sources, all in hendrycks/robustness ``ImageNet-C/create_c/``:

* 32 px: ``make_cifar_c.py`` (the generator of CIFAR-10-C and CIFAR-100-C),
* 64 px: ``make_tinyimagenet_c.py`` (Tiny-ImageNet-C),
* 224 px: ``make_imagenet_c.py`` (ImageNet-C; images are Resize(256) + CenterCrop(224)
  before corruption and saved as JPEG quality 85, optimize=True).

Each entry lists the parameters of severities 1..5 in the order the source's ``c`` tuple
uses them; ``corruptions.py`` names the fields where it unpacks them. Zoom-blur factor
lists are stored as ``(start, stop, step)`` of the source's ``np.arange``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

# The 15 benchmark corruptions in the order of the papers' tables, then the 4 held out.
BENCHMARK = (
    "gaussian_noise", "shot_noise", "impulse_noise", "defocus_blur", "glass_blur",
    "motion_blur", "zoom_blur", "snow", "frost", "fog", "brightness", "contrast",
    "elastic_transform", "pixelate", "jpeg_compression",
)
EXTRA = ("speckle_noise", "gaussian_blur", "spatter", "saturate")
ALL = BENCHMARK + EXTRA
CATEGORY = {  # the grouping of the ImageNet-C paper's figures
    **dict.fromkeys(("gaussian_noise", "shot_noise", "impulse_noise", "speckle_noise"), "noise"),
    **dict.fromkeys(("defocus_blur", "glass_blur", "motion_blur", "zoom_blur", "gaussian_blur"), "blur"),
    **dict.fromkeys(("snow", "frost", "fog", "brightness", "spatter"), "weather"),
    **dict.fromkeys(("contrast", "elastic_transform", "pixelate", "jpeg_compression", "saturate"), "digital"),
}

_CIFAR = 32
_TINY = 64

TABLES: dict[int, dict[str, list]] = {
    # make_cifar_c.py
    32: {
        "gaussian_noise": [0.04, 0.06, .08, .09, .10],
        "shot_noise": [500, 250, 100, 75, 50],
        "impulse_noise": [.01, .02, .03, .05, .07],
        "speckle_noise": [.06, .1, .12, .16, .2],
        "gaussian_blur": [.4, .6, 0.7, .8, 1],
        "glass_blur": [(0.05, 1, 1), (0.25, 1, 1), (0.4, 1, 1), (0.25, 1, 2), (0.4, 1, 2)],
        "defocus_blur": [(0.3, 0.4), (0.4, 0.5), (0.5, 0.6), (1, 0.2), (1.5, 0.1)],
        "motion_blur": [(6, 1), (6, 1.5), (6, 2), (8, 2), (9, 2.5)],
        "zoom_blur": [(1, 1.06, 0.01), (1, 1.11, 0.01), (1, 1.16, 0.01), (1, 1.21, 0.01), (1, 1.26, 0.01)],
        "fog": [(.2, 3), (.5, 3), (0.75, 2.5), (1, 2), (1.5, 1.75)],
        "frost": [(1, 0.2), (1, 0.3), (0.9, 0.4), (0.85, 0.4), (0.75, 0.45)],
        "snow": [(0.1, 0.2, 1, 0.6, 8, 3, 0.95),
                 (0.1, 0.2, 1, 0.5, 10, 4, 0.9),
                 (0.15, 0.3, 1.75, 0.55, 10, 4, 0.9),
                 (0.25, 0.3, 2.25, 0.6, 12, 6, 0.85),
                 (0.3, 0.3, 1.25, 0.65, 14, 12, 0.8)],
        "spatter": [(0.62, 0.1, 0.7, 0.7, 0.5, 0),
                    (0.65, 0.1, 0.8, 0.7, 0.5, 0),
                    (0.65, 0.3, 1, 0.69, 0.5, 0),
                    (0.65, 0.1, 0.7, 0.69, 0.6, 1),
                    (0.65, 0.1, 0.5, 0.68, 0.6, 1)],
        "contrast": [.75, .5, .4, .3, 0.15],
        "brightness": [.05, .1, .15, .2, .3],
        "saturate": [(0.3, 0), (0.1, 0), (1.5, 0), (2, 0.1), (2.5, 0.2)],
        "jpeg_compression": [80, 65, 58, 50, 40],
        "pixelate": [0.95, 0.9, 0.85, 0.75, 0.65],
        "elastic_transform": [(_CIFAR * 0, _CIFAR * 0, _CIFAR * 0.08),
                              (_CIFAR * 0.05, _CIFAR * 0.2, _CIFAR * 0.07),
                              (_CIFAR * 0.08, _CIFAR * 0.06, _CIFAR * 0.06),
                              (_CIFAR * 0.1, _CIFAR * 0.04, _CIFAR * 0.05),
                              (_CIFAR * 0.1, _CIFAR * 0.03, _CIFAR * 0.03)],
    },
    # make_tinyimagenet_c.py
    64: {
        "gaussian_noise": [0.04, 0.08, .12, .15, .18],
        "shot_noise": [250, 100, 50, 30, 15],
        "impulse_noise": [.01, .02, .05, .08, .14],
        "speckle_noise": [.15, .2, 0.25, 0.3, 0.35],
        "gaussian_blur": [.5, .75, 1, 1.25, 1.5],
        "glass_blur": [(0.1, 1, 1), (0.5, 1, 1), (0.6, 1, 2), (0.7, 2, 1), (0.9, 2, 2)],
        "defocus_blur": [(0.5, 0.6), (1, 0.1), (1.5, 0.1), (2.5, 0.01), (3, 0.1)],
        "motion_blur": [(10, 1), (10, 1.5), (10, 2), (10, 2.5), (12, 3)],
        "zoom_blur": [(1, 1.06, 0.01), (1, 1.11, 0.01), (1, 1.16, 0.01), (1, 1.21, 0.01), (1, 1.26, 0.01)],
        "fog": [(.4, 3), (.7, 3), (1, 2.5), (1.5, 2), (2, 1.75)],
        "frost": [(1, 0.3), (0.9, 0.4), (0.8, 0.45), (0.75, 0.5), (0.7, 0.55)],
        "snow": [(0.1, 0.2, 1, 0.6, 8, 3, 0.8),
                 (0.1, 0.2, 1, 0.5, 10, 4, 0.8),
                 (0.15, 0.3, 1.75, 0.55, 10, 4, 0.7),
                 (0.25, 0.3, 2.25, 0.6, 12, 6, 0.65),
                 (0.3, 0.3, 1.25, 0.65, 14, 12, 0.6)],
        "spatter": [(0.62, 0.1, 0.7, 0.7, 0.6, 0),
                    (0.65, 0.1, 0.8, 0.7, 0.6, 0),
                    (0.65, 0.3, 1, 0.69, 0.6, 0),
                    (0.65, 0.1, 0.7, 0.68, 0.6, 1),
                    (0.65, 0.1, 0.5, 0.67, 0.6, 1)],
        "contrast": [.4, .3, .2, .1, 0.05],
        "brightness": [.1, .2, .3, .4, .5],
        "saturate": [(0.3, 0), (0.1, 0), (2, 0), (5, 0.1), (30, 0.2)],
        "jpeg_compression": [65, 58, 50, 40, 25],
        "pixelate": [0.9, 0.8, 0.7, 0.6, 0.5],
        "elastic_transform": [(_TINY * 0, _TINY * 0, _TINY * 0.08),
                              (_TINY * 0.05, _TINY * 0.3, _TINY * 0.06),
                              (_TINY * 0.1, _TINY * 0.08, _TINY * 0.06),
                              (_TINY * 0.1, _TINY * 0.03, _TINY * 0.03),
                              (_TINY * 0.16, _TINY * 0.03, _TINY * 0.02)],
    },
    # make_imagenet_c.py
    224: {
        "gaussian_noise": [.08, .12, 0.18, 0.26, 0.38],
        "shot_noise": [60, 25, 12, 5, 3],
        "impulse_noise": [.03, .06, .09, 0.17, 0.27],
        "speckle_noise": [.15, .2, 0.35, 0.45, 0.6],
        "gaussian_blur": [1, 2, 3, 4, 6],
        "glass_blur": [(0.7, 1, 2), (0.9, 2, 1), (1, 2, 3), (1.1, 3, 2), (1.5, 4, 2)],
        "defocus_blur": [(3, 0.1), (4, 0.5), (6, 0.5), (8, 0.5), (10, 0.5)],
        "motion_blur": [(10, 3), (15, 5), (15, 8), (15, 12), (20, 15)],
        "zoom_blur": [(1, 1.11, 0.01), (1, 1.16, 0.01), (1, 1.21, 0.02), (1, 1.26, 0.02), (1, 1.31, 0.03)],
        "fog": [(1.5, 2), (2, 2), (2.5, 1.7), (2.5, 1.5), (3, 1.4)],
        "frost": [(1, 0.4), (0.8, 0.6), (0.7, 0.7), (0.65, 0.7), (0.6, 0.75)],
        "snow": [(0.1, 0.3, 3, 0.5, 10, 4, 0.8),
                 (0.2, 0.3, 2, 0.5, 12, 4, 0.7),
                 (0.55, 0.3, 4, 0.9, 12, 8, 0.7),
                 (0.55, 0.3, 4.5, 0.85, 12, 8, 0.65),
                 (0.55, 0.3, 2.5, 0.85, 12, 12, 0.55)],
        "spatter": [(0.65, 0.3, 4, 0.69, 0.6, 0),
                    (0.65, 0.3, 3, 0.68, 0.6, 0),
                    (0.65, 0.3, 2, 0.68, 0.5, 0),
                    (0.65, 0.3, 1, 0.65, 1.5, 1),
                    (0.67, 0.4, 1, 0.65, 1.5, 1)],
        "contrast": [0.4, .3, .2, .1, .05],
        "brightness": [.1, .2, .3, .4, .5],
        "saturate": [(0.3, 0), (0.1, 0), (2, 0), (5, 0.1), (20, 0.2)],
        "jpeg_compression": [25, 18, 15, 10, 7],
        "pixelate": [0.6, 0.5, 0.4, 0.3, 0.25],
        # "244 should have been 224, but ultimately nothing is incorrect" (the source)
        "elastic_transform": [(244 * 2, 244 * 0.7, 244 * 0.1),
                              (244 * 2, 244 * 0.08, 244 * 0.2),
                              (244 * 0.05, 244 * 0.01, 244 * 0.02),
                              (244 * 0.07, 244 * 0.01, 244 * 0.02),
                              (244 * 0.12, 244 * 0.01, 244 * 0.02)],
    },
}

# Frost overlays: the source scales the frost photographs before cropping.
FROST_SCALE = {32: 0.2, 64: 0.3, 224: 1.0}
# Fog's plasma fractal side (a power of two, cropped to the image size).
FOG_MAPSIZE = {32: 32, 64: 64, 224: 256}
# Preprocessing before corruption and how released files are written.
IMAGENET_PREPROCESS = {"resize": 256, "center_crop": 224}
IMAGENET_JPEG = {"quality": 85, "optimize": True}
TINYIMAGENET_PREPROCESS = {"resize": (64, 64)}


# Any size (bethgelab's ``imagecorruptions``, fork ``imagecorruptions-imaug`` 1.1.5,
# ``corruptions.py``): ImageNet-C's 224 px parameters, but for elastic transform, which it
# rewrote: the scale ``alpha`` of displacements of at most 0.5 % of the image height, smoothed
# with sigma = 1 % of each side.
ANY_SIZE: dict[str, list] = {
    **TABLES[224],
    "elastic_transform": [250 * 0.05, 250 * 0.065, 250 * 0.085, 250 * 0.1, 250 * 0.12],
}

# How the package adapts each corruption to the image size (``anysize.py`` implements it).
_SAME = "the published function, which needs no size"
ANY_SIZE_RULE: dict[str, str] = {
    **dict.fromkeys(ALL, _SAME),
    "motion_blur": "numpy line kernel of 2 * radius + 1 taps, edge pixels repeated, cut where a tap leaves the image",
    "zoom_blur": "each axis zoomed from its own centre crop; the top-left corner of the zoomed image kept",
    "snow": "its layer zoomed as zoom_blur's, line-blurred at the zoomed size, then cut to the image",
    "frost": "one of six photographs, scaled to cover the image, times 1.1 (bicubic), cropped at random",
    "fog": "float32 plasma map at the next power of two of the longer side",
    "pixelate": "box down-sampling, nearest-neighbour up-sampling",
    "elastic_transform": "no affine; displacements <= 0.5 % of the height, sigma 1 % of each side, times alpha",
    "spatter": "the published function; the mud colour in float64; a dry layer gives a black image (0 / 0 as uint8)",
}

# AlexNet's ImageNet-C errors per corruption, averaged over the 5 severities: the
# ``ALEXNET_ERR`` list of google-research/augmix ``imagenet.py`` ("Raw AlexNet errors taken
# from https://github.com/hendrycks/robustness"), in the order of ``BENCHMARK``.
ALEXNET_ERR: dict[str, float] = dict(zip(BENCHMARK, (
    0.886428, 0.894468, 0.922640, 0.819880, 0.826268, 0.785948, 0.798360,
    0.866816, 0.826572, 0.819324, 0.564592, 0.853204, 0.646056, 0.717840, 0.606500,
), strict=True))
# AlexNet's clean top-1 error on ImageNet, for relative mCE: 43.5 % in Table 1 of
# Hendrycks & Dietterich (ICLR 2019).
ALEXNET_CLEAN_ERR = 0.435


# The fields of one severity's parameters, named as ``make_*_c.py`` uses them.
class Glass(NamedTuple):
    sigma: float
    max_delta: int
    iterations: int


class Defocus(NamedTuple):
    radius: float
    alias_blur: float


class Motion(NamedTuple):
    radius: float
    sigma: float


class Zoom(NamedTuple):  # the source's np.arange(start, stop, step) of zoom factors
    start: float
    stop: float
    step: float


class Fog(NamedTuple):
    strength: float
    wibble_decay: float


class Frost(NamedTuple):
    image_weight: float
    frost_weight: float


class Snow(NamedTuple):
    loc: float
    scale: float
    zoom: float
    threshold: float
    radius: float
    sigma: float
    keep: float


class Spatter(NamedTuple):
    loc: float
    scale: float
    sigma: float
    threshold: float
    intensity: float
    mud: int


class Saturate(NamedTuple):
    scale: float
    shift: float


class Elastic(NamedTuple):  # the published generators' (the package's takes alpha alone)
    alpha: float
    sigma: float
    affine: float


FIELDS: dict[str, type | str] = {  # a NamedTuple, or the name of a corruption's one parameter
    "gaussian_noise": "scale", "shot_noise": "photons", "impulse_noise": "amount", "speckle_noise": "scale",
    "gaussian_blur": "sigma", "glass_blur": Glass, "defocus_blur": Defocus, "motion_blur": Motion,
    "zoom_blur": Zoom, "fog": Fog, "frost": Frost, "snow": Snow, "spatter": Spatter, "contrast": "factor",
    "brightness": "shift", "saturate": Saturate, "jpeg_compression": "quality", "pixelate": "factor",
    "elastic_transform": Elastic,
}
for _table in (*TABLES.values(), ANY_SIZE):
    for _name, _rows in _table.items():
        _fields = FIELDS[_name] if not (_table is ANY_SIZE and _name == "elastic_transform") else "alpha"
        if not isinstance(_fields, str):
            _table[_name] = [_fields(*row) for row in _rows]


@dataclass(frozen=True)
class Spec:
    """Everything about one corruption: its facts (from the tables above) and its functions.

    Functions are named ``module:function`` below ``augmix.corruptions`` and imported when asked
    for, so that reading a spec loads neither scipy nor torch.
    """

    name: str
    category: str
    fields: type | str
    published: dict[int, list]  # image side -> severities 1-5 (hendrycks/robustness)
    any_size: list  # severities 1-5 of the imagecorruptions package, at any size
    any_size_rule: str
    numpy: str
    numpy_any_size: str
    torch: str | None
    torch_any_size: str | None
    alexnet_error: float | None  # None for the four held-out corruptions

    def function(self, definition: str = "published", backend: str = "numpy") -> Callable:
        """The function of ``definition`` ("published" or "imagecorruptions") on ``backend``."""
        any_size = definition == "imagecorruptions"
        where = {"numpy": self.numpy_any_size if any_size else self.numpy,
                 "torch": self.torch_any_size if any_size else self.torch}[backend]
        if where is None:
            raise ValueError(f"{self.name} has no {backend} function")
        module, name = where.split(":")
        return getattr(importlib.import_module(f"augmix.corruptions.{module}"), name)


_ADAPTED = ("motion_blur", "zoom_blur", "snow", "frost", "fog", "pixelate", "elastic_transform", "spatter")
SPECS: dict[str, Spec] = {
    name: Spec(name, CATEGORY[name], FIELDS[name], {size: TABLES[size][name] for size in TABLES}, ANY_SIZE[name],
               ANY_SIZE_RULE[name], f"functional:{name}", f"{'anysize' if name in _ADAPTED else 'functional'}:{name}",
               f"tensor:{'_motion_blur' if name == 'motion_blur' else name}",
               f"{'anysize_tensor' if name in _ADAPTED else 'tensor'}:{name}", ALEXNET_ERR.get(name))
    for name in ALL
}


def table_for(size: int) -> dict[str, list]:
    """The table for square images of side ``size`` (32, 64 or 224)."""
    if size not in TABLES:
        raise ValueError(f"no published corruption table for {size}x{size} images; the tables exist for "
                         f"32 (CIFAR), 64 (Tiny-ImageNet) and 224 (ImageNet): resize to one of those")
    return TABLES[size]


# -C-bar (Mintun, Kirillov & Xie, NeurIPS 2021): the 10 corruptions of each set and the five
# severity parameters each uses, in the order of facebookresearch/augmentation-corruption
# ``imagenet_c_bar/cifar10_c_bar.csv`` (CIFAR-10-C-bar, 32 px) and ``imagenet_c_bar.csv``
# (ImageNet-C-bar, 224 px). Severity k of the benchmark is the k-th value.
CBAR_TABLES: dict[int, dict[str, tuple[float, ...]]] = {
    32: {
        "blue_noise_sample": (0.7, 1.4, 2.1, 3.5, 4.2),
        "checkerboard_cutout": (1.0, 2.0, 3.0, 4.0, 5.0),
        "inverse_sparkles": (1.0, 1.5, 2.5, 4.5, 5.0),
        "pinch_and_twirl": (5.5, 6.0, 6.5, 8.5, 10.0),
        "ripple": (5.5, 6.0, 6.5, 7.5, 8.0),
        "brownish_noise": (2.5, 4.0, 5.5, 6.5, 7.0),
        "circular_motion_blur": (2.8, 3.6, 4.4, 5.2, 6.0),
        "lines": (0.5, 1.0, 1.5, 2.0, 2.5),
        "sparkles": (0.7, 3.5, 5.6, 6.3, 7.0),
        "transverse_chromatic_abberation": (1.0, 2.0, 5.0, 9.0, 10.0),
    },
    224: {
        "caustic_refraction": (2.35, 3.2, 4.9, 6.6, 9.15),
        "inverse_sparkles": (1.0, 2.0, 4.0, 9.0, 10.0),
        "sparkles": (1.0, 2.0, 3.0, 5.0, 6.0),
        "perlin_noise": (4.6, 5.2, 5.8, 7.6, 8.8),
        "blue_noise_sample": (0.8, 1.6, 2.4, 4.0, 5.6),
        "plasma_noise": (4.75, 7.0, 8.5, 9.25, 10.0),
        "checkerboard_cutout": (2.0, 3.0, 4.0, 5.0, 6.0),
        "cocentric_sine_waves": (3.0, 5.0, 8.0, 9.0, 10.0),
        "single_frequency_greyscale": (1.0, 1.5, 2.0, 4.5, 5.0),
        "brownish_noise": (1.0, 2.0, 3.0, 4.0, 5.0),
    },
}
CBAR_ALL = tuple(dict.fromkeys(list(CBAR_TABLES[32]) + list(CBAR_TABLES[224])))
# every corruption name the generators and readers know: -C, then -C-bar (the two never share a name)
C_AND_CBAR = ALL + CBAR_ALL


def cbar_table_for(size: int) -> dict[str, tuple[float, ...]]:
    """The -C-bar set for ``size`` (32: CIFAR-10-C-bar; 224: ImageNet-C-bar)."""
    if size not in CBAR_TABLES:
        raise ValueError(f"-C-bar is published for 32 px (CIFAR-10-C-bar) and 224 px (ImageNet-C-bar) images, "
                         f"not {size} px")
    return CBAR_TABLES[size]


def check_severity(severity: object) -> int:
    """A corruption's severity: an integer 1..5 (3.0, True or "3" are refused, not coerced)."""
    import numbers

    if isinstance(severity, bool) or not isinstance(severity, numbers.Integral) or not 1 <= severity <= 5:
        raise ValueError(f"severity must be 1..5 (an integer), got {severity!r}")
    return int(severity)
