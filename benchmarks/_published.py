"""The published -C generators' corruption functions, loaded from a user's checkout of
hendrycks/robustness and patched for today's libraries only (tests/fixtures/README.md lists the
patches; no formula changes). Imports nothing of this project, so a benchmark can run it under
another interpreter (e.g. one with OpenCV 4, under which the releases were made)."""

from __future__ import annotations

import os
import types
from pathlib import Path

PATCHES = (("multichannel=True", "channel_axis=-1"), ("np.float_", "np.float64"),
           ("np.fromstring(", "np.frombuffer("),
           ("from scipy.ndimage.interpolation import map_coordinates", "from scipy.ndimage import map_coordinates"))


def published_module(folder: Path, script: str) -> types.ModuleType:
    """The script's functions (read up to its dataset loop), patched for today's libraries only."""
    src = (folder / script).read_text()
    src = src[:src.index("import collections")]
    for old, new in PATCHES:
        src = src.replace(old, new)
    mod = types.ModuleType(script.removesuffix(".py"))
    cwd = os.getcwd()
    os.chdir(folder)  # the frost photographs are opened by relative path
    try:
        exec(compile(src, str(folder / script), "exec"), mod.__dict__)  # noqa: S102 - the user's own checkout
    finally:
        os.chdir(cwd)
    return mod
