"""The published perturbation sequences of the -P benchmarks, one table per image size (facts, as data).

Sources, all in hendrycks/robustness ``ImageNet-P/``:

* 32 px: ``create_p/make_cifar_p.py`` (the generator of CIFAR-10-P and CIFAR-100-P),
* 64 px: ``create_p/make_tinyimagenet_p.py`` (Tiny-ImageNet-P),
* 224 px: ``create_p/make_imagenet_p.py`` (ImageNet-P),
* which perturbations count, and how: ``test.py`` (ImageNet-P) and ``cifar-p-eval.py``
  (CIFAR-10/100-P, posted by Hendrycks in google-research/augmix issue #5).

The scripts hold one block per perturbation (all but one commented out: each release file
was made by one run with one block active). Each block is described here by its
parameters; ``perturbations.functional`` performs it. ``frames`` is the sequence length;
the noise perturbations have three difficulties (the source's three loops), released as
``NAME``, ``NAME_2`` and ``NAME_3``.
"""

from __future__ import annotations

# The perturbations whose flip rate is measured against the first frame rather than the
# previous one: the published metrics test ``'noise' in name``.
NOISE = ("gaussian_noise", "shot_noise", "speckle_noise")

# The 10 perturbations of the ImageNet-P test set (test.py's choices before the validation
# ones; the paper's mFR and mT5D average these) ...
IMAGENET_TEST = ("gaussian_noise", "shot_noise", "motion_blur", "zoom_blur", "snow", "brightness",
                 "translate", "rotate", "tilt", "scale")
# ... and the 10 that cifar-p-eval.py averages into CIFAR's mean flip probability: spatter
# in place of snow (the published list comments snow out with the validation ones).
CIFAR_TEST = ("gaussian_noise", "shot_noise", "motion_blur", "zoom_blur", "spatter", "brightness",
              "translate", "rotate", "tilt", "scale")
BASE = ("gaussian_noise", "shot_noise", "motion_blur", "zoom_blur", "snow", "brightness", "translate",
        "rotate", "tilt", "scale", "speckle_noise", "gaussian_blur", "spatter", "shear")
# Every release name: the base perturbations and the harder noise difficulties.
ALL = BASE + tuple(f"{n}_{d}" for n in NOISE for d in (2, 3))

# Per size, per perturbation: its parameters. Linear schedules over the frame index i are
# written (offset, step): the source's ``a + b * i`` or ``(i - c) * k`` spelled out below.
TABLES: dict[int, dict[str, dict]] = {
    # make_cifar_p.py
    32: {
        "gaussian_noise": {"frames": 31, "sigma": (0.02, 0.04, 0.06)},       # torch.randn_like
        "shot_noise": {"frames": 31, "rate": (700, 400, 200)},
        "motion_blur": {"frames": 21, "radius": 6, "sigma": 1.8, "angle": (-20, 9)},   # (i - 20) * 9
        "zoom_blur": {"frames": 31, "scale_step": 0.004},                     # 1 + 0.004 i
        "snow": {"frames": 31, "loc": 0.05, "scale": 0.3, "zoom": 2, "threshold": 0.5,
                 "radius": 10, "sigma": 2, "angle_step": (4, -150)},          # i * 4 - 150
        "brightness": {"frames": 31, "shift": (-15, 1.5)},                    # (i - 15) * 1.5 / 100
        "translate": {"frames": 16, "shift": -7},                             # i - 7
        "rotate": {"frames": 31, "angle": -15},                               # i - 15
        "tilt": {"frames": 31, "degrees": (-15, 0.75)},                       # 0.75 * (i - 15)
        "scale": {"frames": 31, "scale": (70, 2)},                            # (i * 2 + 70) / 100
        "speckle_noise": {"frames": 31, "sigma": (0.05, 0.07, 0.1)},
        "gaussian_blur": {"frames": 31, "sigma": (0.3, 0.015), "truncate": 7.0},
        "spatter": {"frames": 31, "loc": 0.6, "scale": 0.265, "sigma": 1.75, "threshold": 0.7,
                    "flow": (0.2, 0.8)},
        "shear": {"frames": 31, "shear": -15},                                # i - 15
    },
    # make_tinyimagenet_p.py (motion blur is applied to the image before its Resize(64))
    64: {
        "gaussian_noise": {"frames": 31, "sigma": (0.025, 0.05, 0.075)},
        "shot_noise": {"frames": 31, "rate": (500, 250, 125)},
        "motion_blur": {"frames": 31, "radius": 14, "sigma": 3, "angle": (-30, 5), "before_resize": True},
        "zoom_blur": {"frames": 31, "scale_step": 0.004},
        "snow": {"frames": 31, "loc": 0.05, "scale": 0.28, "zoom": 2, "threshold": 0.5,
                 "radius": 10, "sigma": 2.5, "angle_step": (4, -150)},
        "brightness": {"frames": 31, "shift": (-15, 2)},
        "translate": {"frames": 31, "shift": -15},
        "rotate": {"frames": 31, "angle": -15},
        "tilt": {"frames": 31, "degrees": (-15, 1.0)},
        "scale": {"frames": 31, "scale": (40, 2.5)},
        "speckle_noise": {"frames": 31, "sigma": (0.05, 0.1, 0.15)},
        "gaussian_blur": {"frames": 31, "sigma": (0.35, 0.014), "truncate": 7.0},
        "spatter": {"frames": 31, "loc": 0.6, "scale": 0.25, "sigma": 1.75, "threshold": 0.7,
                    "flow": (0.2, 0.8)},
        "shear": {"frames": 31, "shear": -15},
    },
    # make_imagenet_p.py
    224: {
        "gaussian_noise": {"frames": 31, "sigma": (0.03, 0.05, 0.08)},
        "shot_noise": {"frames": 31, "rate": (300, 120, 60)},
        "motion_blur": {"frames": 31, "radius": 10, "sigma": 3, "angle": (-30, 4)},
        "zoom_blur": {"frames": 31, "scale_step": 0.004},
        "snow": {"frames": 31, "loc": 0.05, "scale": 0.3, "zoom": 3, "threshold": 0.5,
                 "radius": 14, "sigma": 4, "angle_step": (4, -150)},
        "brightness": {"frames": 31, "shift": (-15, 2)},
        "translate": {"frames": 41, "shift": -20},
        "rotate": {"frames": 31, "angle": -15},
        "tilt": {"frames": 31, "degrees": (-15, 1.0)},
        "scale": {"frames": 31, "scale": (40, 2.5)},
        "speckle_noise": {"frames": 31, "sigma": (0.05, 0.10, 0.15)},
        "gaussian_blur": {"frames": 31, "sigma": (0.25, 0.035), "truncate": 6.0},
        "spatter": {"frames": 31, "loc": 0.65, "scale": 0.27, "sigma": 3.7, "threshold": 0.69,
                    "flow": (0.05, 0.1, 0.15, 0.7)},
        "shear": {"frames": 31, "shear": -15},
    },
}

# The preprocessing before the sequences: CIFAR images as they are; Tiny-ImageNet Resize(64)
# and ImageNet Resize(256); the geometric perturbations act on that image and every frame
# is then centre-cropped to the table's size.
RESIZE = {32: None, 64: 64, 224: 256}

# How make_imagenet_p.py / make_tinyimagenet_p.py encode a sequence: PNG frames img0..imgN
# through ffmpeg at one frame per second into H.264 MP4 (noise: ``-tune grain``; the rest
# ``-crf 20``), preset veryslow.
FFMPEG_ARGS = {"noise": ["-tune", "grain"], "other": ["-crf", "20"]}


def split_name(name: str) -> tuple[str, int]:
    """``"shot_noise_2"`` -> ``("shot_noise", 2)``; ``"rotate"`` -> ``("rotate", 1)``."""
    for base in NOISE:
        for d in (2, 3):
            if name == f"{base}_{d}":
                return base, d
    if name not in BASE:
        raise ValueError(f"unknown perturbation {name!r}; choose from {', '.join(ALL)}")
    return name, 1


def is_noise(name: str) -> bool:
    """Whether flips are counted against the first frame (the published ``'noise' in name``)."""
    return "noise" in name


def frames(name: str, size: int) -> int:
    """The sequence length of ``name`` at ``size``, first frame included."""
    return table_for(size)[split_name(name)[0]]["frames"]


def table_for(size: int) -> dict[str, dict]:
    if size not in TABLES:
        raise ValueError(f"no published perturbation table for {size} px images; the tables exist for 32 "
                         "(CIFAR), 64 (Tiny-ImageNet) and 224 (ImageNet)")
    return TABLES[size]
