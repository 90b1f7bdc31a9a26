"""The 19 corruptions: shape, dtype, determinism, severity ordering, formula checks."""

from __future__ import annotations

import io

import cv2
import numpy as np
import pytest
from PIL import Image
from scipy import ndimage
from skimage import color as skcolor

from augmix.corruptions import ALL, BENCHMARK, EXTRA, TABLES, blocks, corrupt
from tests.conftest import smooth_images

IMAGES = smooth_images(6, 32, seed=4)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float(10 * np.log10(255**2 / max(mse, 1e-12)))


# Corruptions whose published tables do not strengthen monotonically in every parameter
# (glass blur shuffles pixels at every severity and blurs more at 3 than at 4; elastic's
# affine part is largest at severity 1; saturate goes from desaturation (1-2) to
# over-saturation (3-5); frost trades image for overlay unevenly; spatter switches
# from water to mud at 4; snow brightens the whole image by different amounts).
NOT_MONOTONE = {"glass_blur", "elastic_transform", "saturate", "frost", "spatter", "snow"}


@pytest.mark.parametrize("name", ALL)
def test_every_corruption_and_severity(name):
    clean = IMAGES
    scores = []
    for severity in range(1, 6):
        out = corrupt(clean, name, severity, seed=1)
        assert out.shape == clean.shape and out.dtype == np.uint8
        assert np.array_equal(out, corrupt(clean, name, severity, seed=1)), "not deterministic"
        assert not np.array_equal(out, clean)
        scores.append(psnr(out, clean))
    if name not in NOT_MONOTONE:
        assert scores[0] > scores[-1], f"{name}: PSNR {scores}"
        assert all(a >= b - 1.0 for a, b in zip(scores, scores[1:], strict=False)), scores


@pytest.mark.parametrize("name", ["gaussian_noise", "glass_blur", "fog", "motion_blur", "frost", "snow"])
def test_seed_changes_random_corruptions(name):
    assert not np.array_equal(corrupt(IMAGES, name, 3, seed=1), corrupt(IMAGES, name, 3, seed=2))


@pytest.mark.parametrize("size", [64, 224])
def test_other_table_sizes(size):
    img = np.asarray(Image.fromarray(IMAGES[0]).resize((size, size), Image.BILINEAR))
    for name in ("glass_blur", "fog", "frost", "zoom_blur", "elastic_transform"):
        out = corrupt(img, name, 5, seed=0)
        assert out.shape == (size, size, 3)


def test_brightness_formula():
    # severity 2 at 32 px adds 0.1 to HSV value
    x = IMAGES[:2]
    hsv = skcolor.rgb2hsv(x / 255.0)
    hsv[..., 2] = np.clip(hsv[..., 2] + 0.1, 0, 1)
    expected = np.uint8(np.clip(skcolor.hsv2rgb(hsv), 0, 1) * 255)
    assert np.array_equal(corrupt(x, "brightness", 2), expected)
    # a grey pixel of value v becomes grey v + 0.1
    grey = np.full((1, 32, 32, 3), 100, np.uint8)
    assert (corrupt(grey, "brightness", 2) == int((100 / 255 + 0.1) * 255)).all()


def test_contrast_formula():
    x = IMAGES[:1]
    c = TABLES[32]["contrast"][2]
    unit = x / 255.0
    means = unit.mean(axis=(1, 2), keepdims=True)
    expected = np.uint8(np.clip((unit - means) * c + means, 0, 1) * 255)
    assert np.array_equal(corrupt(x, "contrast", 3), expected)


def test_saturate_formula_turns_grey_red_when_adding_saturation():
    grey = np.full((1, 32, 32, 3), 200, np.uint8)
    out = corrupt(grey, "saturate", 5)  # S' = 0 * 2.5 + 0.2; grey has hue 0 (red)
    v = 200 / 255
    assert out[0, 0, 0].tolist() == [int(v * 255), int(v * 0.8 * 255), int(v * 0.8 * 255)]


def test_pixelate_and_jpeg_are_pil_calls():
    x = IMAGES[0]
    c = TABLES[32]["pixelate"][4]
    small = Image.fromarray(x).resize((int(32 * c), int(32 * c)), Image.BOX).resize((32, 32), Image.BOX)
    assert np.array_equal(corrupt(x, "pixelate", 5), np.asarray(small))
    buf = io.BytesIO()
    Image.fromarray(x).save(buf, "JPEG", quality=TABLES[32]["jpeg_compression"][0])
    assert np.array_equal(corrupt(x, "jpeg_compression", 1), np.asarray(Image.open(buf)))


def test_defocus_and_gaussian_blur_formulas():
    x = IMAGES[0]
    radius, alias = TABLES[32]["defocus_blur"][3]
    kernel = blocks.disk(radius, alias)
    assert abs(kernel.sum() - 1) < 1e-5 and kernel.shape == (17, 17)
    ref = np.stack([cv2.filter2D(x[..., d] / 255.0, -1, kernel) for d in range(3)], -1)
    assert np.array_equal(corrupt(x, "defocus_blur", 4), np.uint8(np.clip(ref, 0, 1) * 255))
    sigma = TABLES[32]["gaussian_blur"][4]
    ref = ndimage.gaussian_filter(x / 255.0, sigma=(sigma, sigma, 0), mode="nearest", truncate=4.0)
    assert np.array_equal(corrupt(x, "gaussian_blur", 5), np.uint8(np.clip(ref, 0, 1) * 255))


def test_motion_kernel_is_imagemagick_line_kernel():
    k = blocks.motion_kernel(radius=6, sigma=2)
    assert len(k) == 13 and abs(k.sum() - 1) < 1e-12 and np.all(np.diff(k) < 0)
    dx, dy = blocks.motion_offsets(13, np.array([0.0, 90.0]))
    assert dx[0].tolist() == list(range(13)) and dy[0].tolist() == [0] * 13
    assert dy[1].tolist() == list(range(13)) and dx[1].tolist() == [0] * 13
    # a single bright pixel is smeared along +x (angle 0) with the kernel's weights
    img = np.zeros((1, 32, 32, 3), np.uint8)
    img[0, 10, 20] = 255
    out = blocks.motion_blur(img, 6, 2, np.array([0.0]))
    # ImageMagick Q16 rounds to 16 bits, then its 8-bit PNG truncates: floor(rint(v * 257) / 257)
    q16 = lambda v: int(np.floor(np.rint(v * 257) / 257))  # noqa: E731
    assert out[0, 10, 20, 0] == q16(255 * k[0]) and out[0, 10, 17, 0] == q16(255 * k[3])
    assert out[0, 10, 21:].max() == 0


def test_clipped_zoom_matches_scipy_zoom():
    rng = np.random.default_rng(0)
    x = rng.random((2, 32, 32, 3)).astype(np.float32)
    for z in (1.0, 1.06, 1.17, 1.75, 2.25):
        ch = int(np.ceil(32 / z))
        top = (32 - ch) // 2
        ref = []
        for img in x:
            big = ndimage.zoom(img[top:top + ch, top:top + ch], (z, z, 1), order=1)
            trim = (big.shape[0] - 32) // 2
            ref.append(big[trim:trim + 32, trim:trim + 32])
        np.testing.assert_allclose(blocks.clipped_zoom(x, z), np.stack(ref), atol=1e-5)


def test_glass_shuffle_reproduces_the_published_non_swap():
    """The published loop's ``x[h, w], x[h', w'] = x[h', w'], x[h, w]`` on numpy views is not a
    swap: (h, w) takes the neighbour's pixel and the neighbour keeps its own. The released
    -C sets were made that way, so that is the benchmark."""
    x = IMAGES[:2].copy()
    out = blocks.glass_shuffle(x.copy(), 1, 2, np.random.default_rng(0))
    deltas = np.random.default_rng(0).integers(-1, 1, size=(2, 2 * 30 * 30, 2))
    for img, ref in zip(range(2), x.copy(), strict=True):
        k = 0
        for _ in range(2):
            for h in range(32 - 1, 1, -1):
                for w in range(32 - 1, 1, -1):
                    dx, dy = deltas[img, k]
                    k += 1
                    ref[h, w], ref[h + dy, w + dx] = ref[h + dy, w + dx], ref[h, w]  # the published statement
        assert np.array_equal(out[img], ref)
    assert not np.array_equal(out, IMAGES[:2])


def test_frost_uses_the_published_photographs():
    layers = blocks.frost_layers(0.2)
    assert len(layers) == 6 and all(layer.dtype == np.uint8 and layer.ndim == 3 for layer in layers)


def test_bad_input():
    with pytest.raises(ValueError, match="unknown corruption"):
        corrupt(IMAGES, "blurry", 1)
    with pytest.raises(ValueError, match="severity"):
        corrupt(IMAGES, "fog", 6)
    with pytest.raises(ValueError, match="no published corruption table"):  # 48 px: the any-size definition
        corrupt(np.zeros((1, 48, 48, 3), np.uint8), "fog", 1, definition="published")
    assert corrupt(np.zeros((1, 48, 48, 3), np.uint8), "fog", 1).shape == (1, 48, 48, 3)
    with pytest.raises(ValueError, match="expected uint8 images"):
        corrupt(IMAGES.astype(np.float32), "fog", 1)


def test_tables_are_complete():
    for size, table in TABLES.items():
        assert set(table) == set(BENCHMARK + EXTRA), size
        assert all(len(v) == 5 for v in table.values())


@pytest.mark.parametrize("size, sigma", [(32, 2.56), (37, 5.0), (224, 2.44), (224, 244 * 0.7)])
def test_gaussian_reflect_is_scipys_filter(size, sigma):
    # elastic transform's smoothing; at 224 px, severity 1 the kernel (1,025 taps) is wider than the image
    from scipy import ndimage

    noise = np.random.default_rng(0).uniform(-1, 1, size=(2, 3, size, size))
    ref = ndimage.gaussian_filter(noise, sigma=(0, 0, sigma, sigma), mode="reflect", truncate=3)
    assert np.abs(blocks.gaussian_reflect(noise, sigma, truncate=3) - ref).max() < 1e-12


@pytest.mark.parametrize("shape", [(2, 224, 224, 3), (1, 37, 61, 3), (2, 40, 33), (1, 5, 3, 1)])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_gaussian_nearest_is_scipys_filter_to_the_bit(shape, dtype):
    # glass blur, spatter and Gaussian blur (skimage's gaussian, i.e. scipy's) at the tables' sigmas,
    # and kernels wider than the image
    from scipy import ndimage

    x = np.random.default_rng(1).random(shape).astype(dtype)
    for sigma in (0.4, 0.7, 1.5, 3.0, 6.0):
        sig = (0, sigma, sigma, 0)[:len(shape)]
        ref = ndimage.gaussian_filter(x, sigma=sig, mode="nearest", truncate=4.0)
        got = blocks.gaussian_nearest(x, sigma)
        assert got.dtype == ref.dtype and np.array_equal(got, ref), (shape, dtype, sigma)


def test_channel_means_are_numpys_mean_to_the_bit():
    # contrast's per-channel mean: numpy sums a reduction over the outer axes value after value
    rng = np.random.default_rng(3)
    for shape in [(1, 224, 224, 3), (3, 32, 32, 3), (2, 37, 61, 3), (1, 1, 300, 3), (2, 300, 1, 3), (2, 300, 1, 1),
                  (1, 500, 700, 3), (2, 50, 50, 4)]:
        x = rng.integers(0, 256, shape, dtype=np.uint8)
        x[0, : shape[1] // 2] = 255  # a flat region
        assert np.array_equal(blocks.channel_means(x), (x / 255.0).mean(axis=(1, 2))), shape
