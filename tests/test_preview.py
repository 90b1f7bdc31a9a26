"""`augmix preview`: picture grids from image files, and clear errors for bad input."""

from __future__ import annotations

import pytest
from PIL import Image

from augmix.augment.ops import AUGMIX_OPS_ALL
from augmix.cli import main
from augmix.preview import LABEL_H, TILE
from tests.conftest import smooth_images


@pytest.fixture
def photos(tmp_path):
    paths = []
    for i, arr in enumerate(smooth_images(2, size=48, seed=5)):
        path = tmp_path / f"photo{i}.{'png' if i == 0 else 'jpg'}"
        Image.fromarray(arr).save(path)
        paths.append(path)
    return paths


def _grid_size(rows: int, cols: int) -> tuple[int, int]:
    return cols * (TILE + 4) + 4, LABEL_H + rows * (TILE + 4) + 4


def test_augmix_grid_one_row_per_image(photos, tmp_path):
    out = tmp_path / "grid.png"
    assert main(["preview", *map(str, photos), "--out", str(out), "--width", "2", "--samples", "3"]) == 0
    with Image.open(out) as sheet:
        assert sheet.format == "PNG"
        # original + 2 chains + 3 AugMix results per row, one row per image
        assert sheet.size == _grid_size(rows=2, cols=1 + 2 + 3)


def test_ops_and_corruption_sheets(photos, tmp_path):
    out = tmp_path / "ops.jpg"
    assert main(["preview", str(photos[0]), "--ops", "--out", str(out)]) == 0
    with Image.open(out) as sheet:
        assert sheet.format == "JPEG"
        assert sheet.size == _grid_size(rows=len(AUGMIX_OPS_ALL), cols=1 + 4)  # severities 1, 3, 6, 10
    out = tmp_path / "corruptions.png"
    assert main(["preview", str(photos[0]), "--corruptions", "--out", str(out)]) == 0
    assert out.stat().st_size > 0


def test_bad_input_is_one_clear_line_and_writes_nothing(photos, tmp_path, capsys):
    text = tmp_path / "notes.png"
    text.write_text("not an image")
    out = tmp_path / "grid.png"
    assert main(["preview", str(text), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert "cannot read" in err and str(text) in err and len(err.splitlines()) == 1
    assert not out.exists()
    assert main(["preview", str(tmp_path / "missing.png"), "--out", str(out)]) == 2
    assert "no such image file" in capsys.readouterr().err
    assert main(["preview", str(photos[0]), "--severity", "11", "--out", str(out)]) == 2
    assert "severity must be in 1..10" in capsys.readouterr().err
    assert not out.exists()
    # argparse: a usage error naming the fix, returned as status 2
    assert main(["preview", str(photos[0]), "--out", str(tmp_path / "grid.gif")]) == 2
    assert "must end in .png or .jpg" in capsys.readouterr().err
