"""OpenCV 4's bilinear warps (``augmix.corruptions.warp``), which -C elastic and -P tilt use.

The published-script hashes (test_parity, test_perturbations) hold them to OpenCV 4's output;
these tests pin the pieces: the weight table with its quirk, exact identities, and - where the
installed OpenCV is a 4.x - equality with it on random warps.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from augmix.corruptions.warp import CONSTANT, FLOAT_WEIGHTS, INT_WEIGHTS, REFLECT_101, warp_affine, warp_perspective
from augmix.perturbations.functional import tilt_matrix


def test_weight_table_sums_to_one_and_keeps_the_overrun_quirk():
    assert (INT_WEIGHTS.sum(1) == 2 ** 15).all()
    assert INT_WEIGHTS[0].tolist() == [32767, 0, 0, 1]  # 1.0 saturates; the difference lands past the entry
    fy, fx = divmod(33, 32)
    assert FLOAT_WEIGHTS[33].tolist() == pytest.approx([(1 - fy / 32) * (1 - fx / 32), (1 - fy / 32) * fx / 32,
                                                        fy / 32 * (1 - fx / 32), fy / 32 * fx / 32])


@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
def test_identity_and_whole_pixel_shifts_are_exact(dtype):
    rng = np.random.default_rng(0)
    img = (rng.random((23, 37, 3)) * 255).astype(dtype)
    eye = np.array([[1.0, 0, 0], [0, 1.0, 0]])
    assert np.array_equal(warp_affine(img, eye, (37, 23), REFLECT_101), img)
    assert np.array_equal(warp_perspective(img, np.vstack([eye, [0, 0, 1]]), (37, 23)), img)
    shifted = warp_affine(img, np.array([[1.0, 0, 3], [0, 1.0, -2]]), (37, 23), CONSTANT)
    assert np.array_equal(shifted[:-2, 3:], img[2:, :-3])
    assert not shifted[:, :3].any() and not shifted[-2:].any()  # black where the source is outside


def test_a_single_channel_image_keeps_its_shape():
    img = np.arange(20 * 30, dtype=np.uint8).reshape(20, 30)
    assert warp_perspective(img, tilt_matrix(30, 20, 5.0), (30, 20)).shape == (20, 30)


@pytest.mark.skipif(not cv2.__version__.startswith("4."),
                    reason=f"OpenCV {cv2.__version__} is not a 4.x: OpenCV 5 changed its warps' arithmetic, so "
                           "only the published-script hashes hold ours to OpenCV 4 here")
def test_equal_to_an_installed_opencv_4():
    rng = np.random.default_rng(1)
    for _ in range(20):
        h, w = (int(v) for v in rng.integers(2, 300, 2))
        img8 = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        imgf = rng.random((h, w, 3)).astype(np.float32)
        pts1 = rng.uniform(0, min(h, w), (3, 2)).astype(np.float32)
        m = cv2.getAffineTransform(pts1, (pts1 + rng.uniform(-15, 15, (3, 2))).astype(np.float32))
        assert np.array_equal(warp_affine(imgf, m, (w, h)),
                              cv2.warpAffine(imgf, m, (w, h), borderMode=cv2.BORDER_REFLECT_101))
        p = tilt_matrix(w, h, float(rng.uniform(-15, 15)))
        assert np.array_equal(warp_perspective(img8, p, (w, h)), cv2.warpPerspective(img8, p, (w, h)))
