"""Shared fixtures: small real-looking images, and the real data in ../shared when present."""

from __future__ import annotations

import os
from pathlib import Path

# Under pytest-xdist the suite already runs one process per core, so each library's thread pool
# (OpenMP: torch; OpenBLAS: numpy, scipy) gets one thread in the workers and in the processes
# their tests start; otherwise every worker starts a pool as wide as the machine and the
# oversubscribed threads spin (measured: a quarter of the suite's CPU). Before numpy's import,
# which reads it. A test about inherited thread pools sets its own width (test_perturbations,
# test_reliability_units); the user's own setting wins.
if int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")) > 1:
    os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import pytest
from PIL import Image

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def smooth_images(n: int, size: int = 32, seed: int = 0) -> np.ndarray:
    """Natural-looking uint8 images [n, size, size, 3]: upsampled colour blobs plus noise."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        base = Image.fromarray(rng.integers(0, 256, (4, 4, 3), dtype=np.uint8))
        img = np.asarray(base.resize((size, size), Image.BILINEAR)).astype(int)
        img = img + rng.integers(-12, 12, img.shape)
        out.append(np.clip(img, 0, 255).astype(np.uint8))
    return np.stack(out)


@pytest.fixture
def images() -> np.ndarray:
    return smooth_images(8)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not (SHARED_DATA / "prepare.py").exists():
        pytest.skip(f"real data not present at {SHARED_DATA} (developer checkout only)")
    return SHARED_DATA


def pytest_report_header(config):  # noqa: ARG001
    where = SHARED_DATA if SHARED_DATA.exists() else "absent: tests on real data are skipped"
    return f"augmix shared data: {where}; threads={os.cpu_count()}"


def pytest_configure(config):
    config.addinivalue_line("markers", "heavy: a test of tens of seconds; run first, so that the parallel "
                                       "suite's workers finish together instead of one waiting on a late long test")


def pytest_collection_modifyitems(config, items):  # noqa: ARG001
    items.sort(key=lambda item: item.get_closest_marker("heavy") is None)  # stable: otherwise in file order
