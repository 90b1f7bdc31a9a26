"""The one scaffold every benchmark writer runs in.

A writer (``arrays.py``: the CIFAR layout; ``trees.py``: the ImageNet layout) says what one
set is: its settings as meta.json records them, the units of work still to do, and how rank
0 finishes the set. ``write_set`` does the rest, the same way for every benchmark:

1. claim the output folder (new, empty, or this verb's own; locked for the run, killed runs'
   temporaries removed), by rank 0 for every rank;
2. merge meta.json with an earlier run's (a rerun with other settings is refused), then mark the
   folder as this verb's and write meta.json before any output, by rank 0;
3. let rank 0 write what the units share (``prepare``: e.g. CIFAR-C's labels);
4. list the units still to do, wait for every rank to have listed the same, and run them in
   worker processes (each rank its share under ``torchrun``) with progress;
5. let rank 0 ``finish``: assemble the parts, check the whole set, mark folders complete.

Units of work are dataclass tasks that run themselves (``task()`` returns how many outputs it
made) and send only their own settings to a worker: the source images go once per worker.
"""

from __future__ import annotations

import contextlib
from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from tqdm import tqdm

from augmix.generation.config import GenerateConfig
from augmix.generation.workers import barrier, check_open_files, claim_output, is_main, run, write_meta
from augmix.io import merge_meta, own


class Task(Protocol):
    """One unit of work: made in a worker, written atomically, skipped by a rerun once done."""

    @property
    def count(self) -> int:
        """How many outputs it makes (for progress)."""

    def __call__(self) -> int:
        """Make and write the unit; return ``count``."""


class Writer(ABC):
    """One benchmark set in one released layout, as ``write_set`` runs it."""

    what: str  # the set in messages: "a -C set"
    names_key: str  # the meta.json list of what the folder holds: "corruptions" / "perturbations"
    keys: tuple[str, ...]  # settings a rerun into the folder must share
    defaults: dict[str, Any] = {}  # how a key missing from an older meta.json reads
    accumulate: tuple[str, ...] = ()  # lists that grow with each rerun (besides ``names_key``)
    unit: str = "img"  # the progress bar's unit
    desc: str = "generating"

    def __init__(self, config: GenerateConfig, names: list[str]) -> None:
        self.config, self.names = config, names

    @abstractmethod
    def meta(self) -> dict:
        """The settings of this run, as meta.json records them."""

    def complete_meta(self, meta: dict) -> dict:
        """meta.json after merging with an earlier run's: entries derived from everything held."""
        return meta

    def prepare(self, out: Path) -> None:  # noqa: B027 - optional: most sets share nothing
        """What rank 0 writes before the units (nothing by default)."""

    @abstractmethod
    def tasks(self, out: Path) -> Sequence[Task]:
        """The units still to do (every rank lists the same)."""

    @abstractmethod
    def finish(self, out: Path) -> None:
        """Rank 0, once every rank is done: complete the set and check it."""

    @property
    def workers(self) -> int:
        """Worker processes for the units."""
        return self.config.processes

    @property
    def shared(self) -> np.ndarray | None:
        """Images every worker holds (sent once per worker, not once per unit)."""
        return None


def write_set(writer: Writer) -> Path:
    """Write ``writer``'s set into its config's output folder (see the module's steps); return it."""
    config = writer.config
    check_open_files(writer.workers)
    with contextlib.ExitStack() as claim:
        verb = "perturb" if config.benchmark == "p" else "corrupt"
        out = claim_output(config.out, claim, verb)
        meta = merge_meta(out, writer.meta(), writer.keys, writer.names_key, writer.names, writer.what,
                          defaults=writer.defaults, accumulate=writer.accumulate)
        if is_main():
            own(out, verb)  # the settings agree: the folder is this run's
        write_meta(out, writer.complete_meta(meta))  # before any output: a rerun checks these settings
        if is_main():
            writer.prepare(out)
        tasks = list(writer.tasks(out))
        barrier()  # every rank has listed the same work before any is done
        with tqdm(total=sum(t.count for t in tasks), unit=writer.unit, desc=writer.desc,
                  disable=not config.progress) as bar:
            run(tasks, writer.workers, bar, writer.shared)
        if is_main():  # rank 0 completes and checks what all ranks made
            writer.finish(out)
        return out


def resolve(out_or_config, names: Sequence[str] | None, severities: Sequence[int] | None, fields: dict,
            benchmark: str | None = None) -> GenerateConfig:
    """The config of a writer called from Python: given, or made from the caller's keywords (callers
    naming only -C-bar corruptions get the -C-bar benchmark)."""
    from augmix.corruptions.tables import CBAR_ALL

    if benchmark is None:
        benchmark = "c-bar" if names and all(n in CBAR_ALL for n in names) else "c"
    if not isinstance(out_or_config, GenerateConfig) and severities is not None:
        fields = {**fields, "severities": tuple(severities)}
    return GenerateConfig.resolve(out_or_config, benchmark, names, **fields)
