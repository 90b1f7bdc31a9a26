"""The methods AugMix is compared with, as composable batch-level pieces.

Three kinds, applied by the training loop in this order (each takes and returns a batch):

* image transforms on uint8 ``[B, C, H, W]`` before AugMix: AutoAugment, RandAugment,
  TrivialAugment (torchvision's policies, drawn per image) and Random AutoAugment;
* transforms on float ``[B, C, H, W]`` in [0, 1] after AugMix: Cutout, Patch Uniform;
* mixers that also change the targets: Mixup, CutMix (not with the JSD loss);
* a training-step variant: PGD adversarial training.

Sources: Cutout (DeVries & Taylor, 2017; 16 px squares on CIFAR-10), Mixup (Zhang et al.,
2018), CutMix (Yun et al., 2019), AutoAugment (Cubuk et al., 2019), RandAugment (Cubuk et
al., 2020), TrivialAugment (Muller & Hutter, 2021), Random AutoAugment (random sub-policies
from AutoAugment's search space, as evaluated in the AugMix paper), Patch Uniform / Patch
Gaussian (Lopes et al., 2019: Gaussian noise of a uniformly drawn strength inside a random
square), PGD (Madry et al., 2018: eps 8/255, step 2/255, 7 steps, random start on CIFAR).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
import torchvision.transforms.v2 as v2

# ------------------------------------------------------------------- uint8 transforms


class PerImage:
    """Apply a torchvision v2 transform to each image separately (its own random draw)."""

    def __init__(self, transform) -> None:
        self.transform = transform

    def __call__(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        if generator is None:
            return torch.stack([self.transform(img) for img in x])
        # torchvision draws from the global RNG: seed a forked copy of it from ours, so the
        # draw is reproducible and the caller's global RNG is left as it was
        seed = int(torch.randint(0, 2**62, (1,), generator=generator))
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            return torch.stack([self.transform(img) for img in x])


# AutoAugment's search space (Cubuk et al., 2019): op names as torchvision spells them.
_AA_OPS = ("ShearX", "ShearY", "TranslateX", "TranslateY", "Rotate", "Brightness", "Color", "Contrast",
           "Sharpness", "Posterize", "Solarize", "AutoContrast", "Equalize", "Invert")


class RandomAutoAugment:
    """AutoAugment with random sub-policies: ``n_policies`` pairs of (op, probability,
    magnitude bin of 10) drawn once from AutoAugment's search space by ``seed``; each image
    applies one sub-policy chosen at random."""

    def __init__(self, n_policies: int = 25, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        self.policies = [tuple((str(rng.choice(_AA_OPS)), float(rng.integers(0, 11)) / 10, int(rng.integers(0, 10)))
                               for _ in range(2)) for _ in range(n_policies)]
        self._aa = v2.AutoAugment()  # for its op table and magnitude ranges

    def _apply(self, img: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        policy = self.policies[int(torch.randint(len(self.policies), (1,), generator=gen))]
        h, w = img.shape[-2:]
        space = self._aa._AUGMENTATION_SPACE
        for name, prob, bin_ in policy:
            if float(torch.rand(1, generator=gen)) > prob:
                continue
            mags_fn, signed = space[name]
            mags = mags_fn(10, h, w)
            mag = float(mags[bin_]) if mags is not None and mags.ndim > 0 else 0.0
            if signed and float(torch.rand(1, generator=gen)) < 0.5:
                mag = -mag
            img = self._aa._apply_image_or_video_transform(img, name, mag, v2.InterpolationMode.NEAREST,
                                                           self._aa._fill)
        return img

    def __call__(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        gen = generator or torch.Generator().manual_seed(int(torch.randint(0, 2**62, (1,))))
        return torch.stack([self._apply(img, gen) for img in x])


def make_uint8_transform(name: str):
    return {
        "autoaugment": lambda: PerImage(v2.AutoAugment(v2.AutoAugmentPolicy.CIFAR10)),
        "autoaugment_imagenet": lambda: PerImage(v2.AutoAugment(v2.AutoAugmentPolicy.IMAGENET)),
        "randaugment": lambda: PerImage(v2.RandAugment()),
        "trivialaugment": lambda: PerImage(v2.TrivialAugmentWide()),
        "random_autoaugment": lambda: RandomAutoAugment(),
    }[name]()


# ------------------------------------------------------------------- float transforms

class Cutout:
    """Zero a ``size`` x ``size`` square (clipped at the border) centred uniformly in each image."""

    def __init__(self, size: int = 16) -> None:
        self.size = size

    def __call__(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        b, _, h, w = x.shape
        cy = torch.randint(0, h, (b,), generator=generator).view(b, 1, 1)
        cx = torch.randint(0, w, (b,), generator=generator).view(b, 1, 1)
        ys = torch.arange(h).view(1, h, 1)
        xs = torch.arange(w).view(1, 1, w)
        half = self.size // 2
        inside = (ys >= cy - half) & (ys < cy - half + self.size) & (xs >= cx - half) & (xs < cx - half + self.size)
        return x * (~inside).unsqueeze(1).to(x.device, x.dtype)


class PatchUniform:
    """Patch Gaussian/Uniform: inside a random ``size`` square, add Gaussian noise whose
    standard deviation is drawn uniformly from [0, ``max_sigma``] per image (values in [0, 1])."""

    def __init__(self, size: int = 25, max_sigma: float = 1.0) -> None:
        self.size, self.max_sigma = size, max_sigma

    def __call__(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        b = x.shape[0]
        mask = 1 - Cutout(self.size)(torch.ones(b, 1, *x.shape[-2:]), generator)
        sigma = torch.rand(b, 1, 1, 1, generator=generator) * self.max_sigma
        noise = torch.randn(x.shape, generator=generator) * sigma
        return (x + (noise * mask).to(x.device)).clamp(0, 1)


# ------------------------------------------------------------------------------ mixers

@dataclass
class Mixed:
    """A mixed batch and its targets: loss = lam * CE(y_a) + (1 - lam) * CE(y_b)."""

    x: torch.Tensor
    y_a: torch.Tensor
    y_b: torch.Tensor
    lam: float

    def loss(self, logits: torch.Tensor) -> torch.Tensor:
        return self.lam * F.cross_entropy(logits, self.y_a) + (1 - self.lam) * F.cross_entropy(logits, self.y_b)


class Mixup:
    """Convex combination with a shuffled copy of the batch, lam ~ Beta(alpha, alpha)."""

    def __init__(self, alpha: float = 1.0) -> None:
        self.alpha = alpha

    def __call__(self, x: torch.Tensor, y: torch.Tensor, generator: torch.Generator | None = None) -> Mixed:
        lam = float(torch.distributions.Beta(self.alpha, self.alpha).sample()) if generator is None else \
            float(np.random.default_rng(int(torch.randint(0, 2**62, (1,), generator=generator))).beta(
                self.alpha, self.alpha))
        perm = torch.randperm(len(y), generator=generator).to(y.device)
        return Mixed(lam * x + (1 - lam) * x[perm], y, y[perm], lam)


class CutMix:
    """Paste a box from a shuffled copy of the batch; lam is the kept area (box clipped)."""

    def __init__(self, alpha: float = 1.0) -> None:
        self.alpha = alpha

    def __call__(self, x: torch.Tensor, y: torch.Tensor, generator: torch.Generator | None = None) -> Mixed:
        rng = np.random.default_rng(int(torch.randint(0, 2**62, (1,), generator=generator)))
        lam = float(rng.beta(self.alpha, self.alpha))
        h, w = x.shape[-2:]
        cut = np.sqrt(1 - lam)
        ch, cw = int(h * cut), int(w * cut)
        cy, cx = int(rng.integers(h)), int(rng.integers(w))
        y0, y1 = np.clip([cy - ch // 2, cy + ch // 2], 0, h)
        x0, x1 = np.clip([cx - cw // 2, cx + cw // 2], 0, w)
        perm = torch.randperm(len(y), generator=generator).to(y.device)
        out = x.clone()
        out[..., y0:y1, x0:x1] = x[perm][..., y0:y1, x0:x1]
        lam = 1 - (y1 - y0) * (x1 - x0) / (h * w)
        return Mixed(out, y, y[perm], float(lam))


# ------------------------------------------------------------------------ adversarial

def pgd(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, normalise, eps: float = 8 / 255,
        step: float = 2 / 255, iters: int = 7, generator: torch.Generator | None = None) -> torch.Tensor:
    """L-inf PGD with a random start on images in [0, 1]: a batch within ``eps`` that raises the loss."""
    was_training = model.training
    model.eval()
    delta = (torch.rand(x.shape, generator=generator).to(x.device) * 2 - 1) * eps
    adv = (x + delta).clamp(0, 1).detach()
    for _ in range(iters):
        adv.requires_grad_(True)
        loss = F.cross_entropy(model(normalise(adv)), y)
        (grad,) = torch.autograd.grad(loss, adv)
        adv = adv.detach() + step * grad.sign()
        adv = torch.min(torch.max(adv, x - eps), x + eps).clamp(0, 1).detach()
    model.train(was_training)
    return adv


UINT8_TRANSFORMS = ("autoaugment", "autoaugment_imagenet", "randaugment", "trivialaugment", "random_autoaugment")
FLOAT_TRANSFORMS = ("cutout", "patch_uniform")
MIXERS = ("mixup", "cutmix")
STEP_VARIANTS = ("adversarial",)
BASELINES = UINT8_TRANSFORMS + FLOAT_TRANSFORMS + MIXERS + STEP_VARIANTS
