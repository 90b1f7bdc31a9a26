"""Drawing AugMix's random parameters, apart from applying them.

One sampler serves both back-ends (per-image PIL and batched tensor), so the two draw
from the same distribution, tests can apply hand-written parameters, and a seed fixes
every choice. The distribution is the reference's (google-research/augmix ``cifar.py``
``aug``): chain weights ~ Dirichlet(alpha), skip weight m ~ Beta(alpha, alpha), depth
fixed or uniform in {1, 2, 3}, each step's op uniform over the op set, level
~ U(0.1, severity), and a fair coin for the sign of rotate/shear/translate.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

import numpy as np
import torch

from augmix.augment.ops import levels_to_args, op_names

MAX_DEPTH = 3  # the reference's stochastic depth is randint(1, 4)


@dataclass(frozen=True)
class AugMixConfig:
    """AugMix hyper-parameters; defaults are the paper's CIFAR settings.

    ``depth=-1`` means a depth drawn uniformly from {1, 2, 3} per chain.
    """

    severity: int = field(default=3, metadata={"help": "op severity 1-10 (the reference's level scale)"})
    width: int = field(default=3, metadata={"help": "number of augmentation chains mixed"})
    depth: int = field(default=-1, metadata={"help": "ops per chain; -1: drawn from 1-3 per chain"})
    alpha: float = field(default=1.0, metadata={"help": "Dirichlet and Beta concentration of the mixing weights"})
    all_ops: bool = field(default=False, metadata={
        "help": "add color, contrast, brightness and sharpness (they overlap the test corruptions)"})
    geometric: bool = field(default=True, metadata={
        "help": "include rotate, shear and translate; False keeps every pixel in place, so that boxes, masks "
                "and key points pass through (detection and segmentation training)"})

    def __post_init__(self) -> None:
        if isinstance(self.severity, bool) or not 1 <= self.severity <= 10:
            raise ValueError(f"severity must be in 1..10 (the reference's level scale), got {self.severity}")
        if self.width < 1:
            raise ValueError(f"width (number of chains) must be >= 1, got {self.width}")
        if self.depth == 0 or self.depth < -1:
            raise ValueError(f"depth must be -1 (random 1-3) or a positive integer, got {self.depth}")
        if not 0 < self.alpha < float("inf"):
            raise ValueError(f"alpha must be > 0 (Dirichlet/Beta concentration), got {self.alpha}")

    @property
    def ops(self) -> tuple[str, ...]:
        return op_names(self.all_ops, self.geometric)

    @property
    def max_depth(self) -> int:
        return self.depth if self.depth > 0 else MAX_DEPTH

    def __str__(self) -> str:
        """Round-trippable string form, e.g. ``severity=3,width=3,depth=-1,alpha=1.0,all_ops=False``."""
        return ",".join(f"{f.name}={getattr(self, f.name)}" for f in fields(self))

    @classmethod
    def parse(cls, text: str) -> AugMixConfig:
        """Inverse of ``str()``: ``"severity=1,width=3"`` (omitted keys keep defaults)."""
        kwargs: dict[str, object] = {}
        types = {f.name: f.type for f in fields(cls)}
        for part in filter(None, (p.strip() for p in text.split(","))):
            key, sep, value = (s.strip() for s in part.partition("="))
            if not sep or key not in types:
                raise ValueError(f"bad AugMix setting {part!r}; expected key=value with key in "
                                 f"{', '.join(types)} (e.g. severity=3,width=3,depth=-1,alpha=1,all_ops=false)")
            if key in ("all_ops", "geometric"):
                if value.lower() not in ("true", "false", "1", "0"):
                    raise ValueError(f"AugMix {key} must be true or false, got {value!r}")
                kwargs[key] = value.lower() in ("true", "1")
                continue
            try:
                kwargs[key] = float(value) if key == "alpha" else int(value)
            except ValueError:
                kind = "a number" if key == "alpha" else "an integer"
                raise ValueError(f"AugMix {key} must be {kind}, got {value!r}") from None
        return cls(**kwargs)  # type: ignore[arg-type]


@dataclass
class AugMixParams:
    """Every random choice of AugMix for a batch of ``B`` images.

    Shapes: ``ops``, ``levels``, ``signs``: [B, width, max_depth]; ``depths`` and
    ``chain_weights``: [B, width]; ``mix_weights``: [B]. ``ops`` index ``op_names``;
    steps at or beyond a chain's depth are not applied.
    """

    op_names: tuple[str, ...]
    ops: torch.Tensor
    levels: torch.Tensor
    signs: torch.Tensor
    depths: torch.Tensor
    chain_weights: torch.Tensor
    mix_weights: torch.Tensor
    _args_cache: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def batch_size(self) -> int:
        return self.ops.shape[0]

    @property
    def width(self) -> int:
        return self.ops.shape[1]

    def active(self) -> torch.Tensor:
        """Bool [B, width, max_depth]: which chain steps are applied."""
        steps = torch.arange(self.ops.shape[2], device=self.depths.device)
        return steps.view(1, 1, -1) < self.depths.unsqueeze(-1)

    def args(self, height: int, width: int) -> torch.Tensor:
        """Each step's op argument (degrees, bits, pixels, ...) [B, width, max_depth], float64."""
        key = (height, width)
        if key not in self._args_cache:
            self._args_cache[key] = levels_to_args(self.op_names, self.ops, self.levels, self.signs, height, width)
        return self._args_cache[key]

    def check_batch(self, x: torch.Tensor) -> tuple[int, int, int, int]:
        """``x``'s shape (B, C, H, W), refusing a tensor that is not a batch of these parameters' size."""
        if x.ndim != 4:
            raise ValueError(f"expected a batch [B, C, H, W], got shape {tuple(x.shape)}")
        if self.batch_size != x.shape[0]:
            raise ValueError(f"parameters are for {self.batch_size} images, the batch has {x.shape[0]}")
        return tuple(x.shape)

    def select(self, index: int | slice) -> AugMixParams:
        """Parameters of a sub-batch."""
        idx = slice(index, index + 1) if isinstance(index, int) else index
        return AugMixParams(
            self.op_names, self.ops[idx], self.levels[idx], self.signs[idx], self.depths[idx],
            self.chain_weights[idx], self.mix_weights[idx],
        )


Seed = int | np.random.Generator | torch.Generator | None


def params_to_device(t: torch.Tensor, device: torch.device) -> torch.Tensor:
    """A parameter tensor (drawn on the host) on ``device``. To a CUDA device it goes from pinned
    memory without blocking: a copy from pageable memory would make the host wait for the
    stream, which the sync-free back-end must not do."""
    if device.type == "cuda":
        return t.pin_memory().to(device, non_blocking=True)
    return t.to(device)


def as_numpy_rng(seed: Seed) -> np.random.Generator:
    """A numpy Generator from an int, a numpy Generator, a torch Generator or None.

    A torch Generator is advanced by one draw, so a seeded torch Generator gives a
    reproducible stream; ``None`` draws from torch's global RNG (so ``torch.manual_seed``
    and DataLoader worker seeding control it).
    """
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, int) and not isinstance(seed, bool):
        return np.random.default_rng(seed)
    if seed is None or isinstance(seed, torch.Generator):
        s = torch.randint(0, 2**62, (1,), generator=seed).item()
        return np.random.default_rng(s)
    raise TypeError(f"seed must be an int, numpy/torch Generator or None, got {type(seed).__name__}")


class SeededStream:
    """A transform's seeded stream that is safe in ``DataLoader`` workers.

    A generator stored in a transform would be copied into every worker (fork) or pickled
    into it (spawn), and all workers would draw the same augmentations, epoch after epoch.
    In the main process this stream is the generator given (an int seeds one numpy stream
    for the transform's lifetime; a torch or numpy generator is drawn from as given). Inside
    a worker it is a new stream keyed by the seed and the worker's seed
    (``get_worker_info().seed``: the loader's base seed, drawn from torch's RNG in the main
    process for every epoch's iterator, plus the worker's id). So workers differ, epochs
    differ (a non-persistent worker is new each epoch; a persistent one goes on drawing),
    and a run is reproducible from ``torch.manual_seed`` with the same number of workers.
    """

    def __init__(self, generator: int | np.random.Generator | torch.Generator) -> None:
        if isinstance(generator, torch.Generator):
            self.seed = int(generator.initial_seed())
        elif isinstance(generator, np.random.Generator):
            self.seed = int(np.random.default_rng(generator.bit_generator.seed_seq).integers(2 ** 63)) \
                if hasattr(generator.bit_generator, "seed_seq") else int(generator.integers(2 ** 63))
        elif isinstance(generator, (int, np.integer)) and not isinstance(generator, bool) and generator >= 0:
            self.seed = int(generator)
            generator = np.random.default_rng(self.seed)
        else:
            raise ValueError(f"a transform's generator must be an int >= 0 or a numpy/torch Generator, "
                             f"got {generator!r}")
        self.generator = generator  # the main process's stream
        self._key: tuple | None = None
        self._rng: np.random.Generator | None = None

    @classmethod
    def of(cls, generator: Seed) -> SeededStream | None:
        """The stream of a transform's ``generator`` argument (None: torch's global RNG, already per worker)."""
        return None if generator is None else cls(generator)

    def rng(self) -> Seed:
        """What to draw this call's parameters from (a ``sample_params`` seed)."""
        info = torch.utils.data.get_worker_info()
        if info is None:
            return self.generator
        import os

        key = (os.getpid(), info.seed)
        if key != self._key or self._rng is None:
            self._key = key
            self._rng = np.random.default_rng([self.seed, info.seed % 2 ** 64])
        return self._rng

    def __getstate__(self) -> dict:  # a pickled copy (a spawned worker) derives its own stream
        return {**self.__dict__, "_key": None, "_rng": None}

    def __repr__(self) -> str:
        return f"SeededStream({self.seed})"


def sample_params(batch_size: int, config: AugMixConfig = AugMixConfig(), seed: Seed = None) -> AugMixParams:
    """Draw AugMix parameters for ``batch_size`` images (on the CPU; they are tiny)."""
    rng = as_numpy_rng(seed)
    b, w, d = batch_size, config.width, config.max_depth
    n_ops = len(config.ops)
    ops = rng.integers(0, n_ops, size=(b, w, d))
    levels = rng.uniform(0.1, config.severity, size=(b, w, d))
    signs = np.where(rng.uniform(size=(b, w, d)) > 0.5, -1.0, 1.0)
    if config.depth > 0:
        depths = np.full((b, w), config.depth)
    else:
        depths = rng.integers(1, MAX_DEPTH + 1, size=(b, w))
    chain_weights = rng.dirichlet([config.alpha] * w, size=b).astype(np.float32)
    mix_weights = rng.beta(config.alpha, config.alpha, size=b).astype(np.float32)
    return AugMixParams(
        op_names=config.ops,
        ops=torch.from_numpy(ops),
        levels=torch.from_numpy(levels),
        signs=torch.from_numpy(signs),
        depths=torch.from_numpy(depths),
        chain_weights=torch.from_numpy(chain_weights),
        mix_weights=torch.from_numpy(mix_weights),
    )
