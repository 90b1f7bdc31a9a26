"""-C dataset generation in the released layouts, resuming, and loading back."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
from PIL import Image

from augmix.cli import main
from augmix.corruptions import corrupt
from augmix.corruptions.released import CHUNK
from augmix.data import DataError
from augmix.data.corrupted import open_cifar_c, open_folder_c
from augmix.data.images import walk_image_tree
from augmix.generation import generate_cifar_c, generate_folder_c
from tests.conftest import smooth_images

N = 24


@pytest.fixture(scope="module")
def clean():
    return smooth_images(N, 32, seed=7), np.arange(N) % 10


def test_cifar_layout_rows_per_severity(tmp_path, clean):
    images, labels = clean
    out = generate_cifar_c(images, labels, tmp_path / "c", ["fog", "pixelate"], seed=3, workers=1,
                           progress=False)
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == ["fog.npy", "labels.npy",
                                                                                   "meta.json", "pixelate.npy"]
    fog = np.load(out / "fog.npy")
    assert fog.shape == (5 * N, 32, 32, 3) and fog.dtype == np.uint8
    lab = np.load(out / "labels.npy")
    assert lab.dtype == np.uint8 and lab.tolist() == labels.tolist() * 5
    # severity-major: rows k*N..(k+1)*N-1 are severity k+1 (pixelate is deterministic)
    for s in range(1, 6):
        rows = np.load(out / "pixelate.npy")[(s - 1) * N:s * N]
        assert np.array_equal(rows, corrupt(images, "pixelate", s))
    ds = open_cifar_c(out)
    assert ds.corruptions == ["fog", "pixelate"] and ds.n == N
    assert np.array_equal(ds.images("fog", 4), fog[3 * N:4 * N])
    assert ds.labels(2).tolist() == labels.tolist()


def test_same_output_for_any_number_of_processes(tmp_path, clean):
    images, labels = clean
    a = generate_cifar_c(images, labels, tmp_path / "a", ["glass_blur"], [1, 5], seed=1, workers=1,
                         progress=False)
    b = generate_cifar_c(images, labels, tmp_path / "b", ["glass_blur"], [1, 5], seed=1, workers=2,
                         progress=False)
    assert np.array_equal(np.load(a / "glass_blur.npy"), np.load(b / "glass_blur.npy"))
    assert json.loads((a / "meta.json").read_text())["severities"] == [1, 5]
    assert open_cifar_c(a).images("glass_blur", 5).shape == (N, 32, 32, 3)


def test_interrupted_generation_resumes_without_recomputing(tmp_path, clean, monkeypatch):
    images, labels = clean
    out = tmp_path / "c"
    generate_cifar_c(images, labels, out, ["contrast"], seed=0, workers=1, progress=False)
    done = out / "contrast.npy"
    stamp = os.stat(done).st_mtime_ns
    # simulate a kill during the next corruption: one finished part, no final file
    from augmix.generation.arrays import ArrayTask

    calls = []
    real = ArrayTask.__call__

    def flaky(task):
        calls.append(task)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(task)

    monkeypatch.setattr(ArrayTask, "__call__", flaky)
    with pytest.raises(KeyboardInterrupt):
        generate_cifar_c(images, labels, out, ["contrast", "fog"], seed=0, workers=1, progress=False)
    assert not (out / "fog.npy").exists()
    assert len(list((out / ".parts" / "fog").iterdir())) == 1
    monkeypatch.setattr(ArrayTask, "__call__", real)
    counted = []
    monkeypatch.setattr(ArrayTask, "__call__", lambda t: counted.append(t) or real(t))
    generate_cifar_c(images, labels, out, ["contrast", "fog"], seed=0, workers=1, progress=False)
    assert os.stat(done).st_mtime_ns == stamp  # the finished file was not rewritten
    assert len(counted) == 4  # 5 severity parts of fog, one already on disk
    assert not (out / ".parts").exists()
    # and the result equals an uninterrupted run
    fresh = generate_cifar_c(images, labels, tmp_path / "fresh", ["fog"], seed=0, workers=1, progress=False)
    assert np.array_equal(np.load(out / "fog.npy"), np.load(fresh / "fog.npy"))
    assert CHUNK >= N


def test_truncated_or_misshaped_files_are_reported(tmp_path, clean):
    images, labels = clean
    out = generate_cifar_c(images, labels, tmp_path / "c", ["fog"], seed=0, workers=1, progress=False)
    data = (out / "fog.npy").read_bytes()
    (out / "fog.npy").write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match="truncated"):
        open_cifar_c(out).images("fog", 1)
    np.save(out / "fog.npy", np.zeros((3, 32, 32, 3), np.uint8))
    with pytest.raises(DataError, match=r"shape \(3, 32, 32, 3\)"):
        open_cifar_c(out).images("fog", 1)
    with pytest.raises(DataError, match="not a CIFAR-C folder"):
        open_cifar_c(tmp_path)


def test_released_layout_without_meta_is_read(tmp_path):
    # the released CIFAR-10-C: labels.npy (5N,) uint8 and <corruption>.npy, no meta.json
    n = 4
    np.save(tmp_path / "labels.npy", np.tile(np.arange(n, dtype=np.uint8), 5))
    arr = np.arange(5 * n, dtype=np.uint8)[:, None, None, None] * np.ones((1, 32, 32, 3), np.uint8)
    np.save(tmp_path / "snow.npy", arr)
    ds = open_cifar_c(tmp_path)
    assert ds.severities == [1, 2, 3, 4, 5] and ds.n == n
    assert ds.images("snow", 3)[:, 0, 0, 0].tolist() == [8, 9, 10, 11]


def test_imagenet_layout(tmp_path):
    src = tmp_path / "val"
    for k, wnid in enumerate(["n01", "n02"]):
        (src / wnid).mkdir(parents=True)
        for j in range(2):
            Image.fromarray(smooth_images(1, 300, seed=10 * k + j)[0][:, :260]).save(
                src / wnid / f"img{j}.JPEG")
    out = generate_folder_c(walk_image_tree(src).images, tmp_path / "inc", ["contrast"], [1, 5], seed=0, workers=1,
                            progress=False)
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.JPEG"))
    assert files == [f"contrast/{s}/{w}/img{j}.JPEG" for s in (1, 5) for w in ("n01", "n02") for j in (0, 1)]
    with Image.open(out / "contrast/5/n01/img0.JPEG") as im:
        assert im.size == (224, 224) and im.format == "JPEG"
    stamp = os.stat(out / "contrast/1/n01/img0.JPEG").st_mtime_ns
    generate_folder_c(walk_image_tree(src).images, out, ["contrast"], [1, 5], seed=0, workers=1,
                      progress=False)  # resume: skip
    assert os.stat(out / "contrast/1/n01/img0.JPEG").st_mtime_ns == stamp
    assert open_folder_c(out).folder("contrast", 5).is_dir()


def test_cli_corrupt_and_errors(tmp_path, capsys):
    import pickle

    from augmix.data.cifar import LAYOUT

    # a tiny CIFAR-10 in the official layout
    root = tmp_path / "data" / LAYOUT["cifar10"][0]
    root.mkdir(parents=True)
    imgs = smooth_images(12, 32, seed=2)
    rows = imgs.transpose(0, 3, 1, 2).reshape(12, -1)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        with open(root / name, "wb") as f:
            pickle.dump({"data": rows, "labels": list(range(10)) + [0, 1]}, f)
    with open(root / "batches.meta", "wb") as f:
        pickle.dump({"label_names": [str(i) for i in range(10)]}, f)
    rc = main(["corrupt", "--dataset", "cifar10", "--data-dir", str(tmp_path / "data"),
               "--out", str(tmp_path / "c"), "--corruptions", "fog,contrast", "--severities", "1,2",
               "--workers", "1"])
    assert rc == 0 and np.load(tmp_path / "c" / "fog.npy").shape == (24, 32, 32, 3)
    rc = main(["corrupt", "--data-dir", str(tmp_path / "data"), "--out", str(tmp_path / "d"),
               "--corruptions", "smog"])
    assert rc == 2 and "unknown corruption" in capsys.readouterr().err
    (root / "test_batch").write_bytes(b"\x80\x04garbage")
    rc = main(["corrupt", "--data-dir", str(tmp_path / "data"), "--out", str(tmp_path / "e")])
    err = capsys.readouterr().err
    assert rc == 2 and "test_batch is truncated or corrupt" in err and len(err.strip().splitlines()) == 1


def test_cli_any_image_folder_to_cifar_layout(tmp_path):
    src = tmp_path / "imgs"
    for k in range(2):
        (src / f"class{k}").mkdir(parents=True)
        for j, img in enumerate(smooth_images(3, 32, seed=k)):
            Image.fromarray(img).save(src / f"class{k}" / f"{j}.png")
    rc = main(["corrupt", "--images", str(src), "--layout", "cifar", "--out", str(tmp_path / "c"),
               "--corruptions", "contrast", "--workers", "1"])
    assert rc == 0
    ds = open_cifar_c(tmp_path / "c")
    assert ds.images("contrast", 5).shape == (6, 32, 32, 3) and ds.labels(1).tolist() == [0, 0, 0, 1, 1, 1]


def test_torch_backend_writes_the_cifar_layout_from_named_streams(tmp_path, clean):
    import torch

    from augmix.corruptions.released import torch_stream
    from augmix.corruptions.tensor import corrupt_tensor

    images, labels = clean
    out = generate_cifar_c(images, labels, tmp_path / "t", ["glass_blur", "fog"], [1, 4], seed=2, device="cpu",
                           progress=False)
    assert json.loads((out / "meta.json").read_text())["mode"] == "torch-cpu"
    x = torch.from_numpy(images).permute(0, 3, 1, 2)
    for name in ("glass_blur", "fog"):
        for k, s in enumerate((1, 4)):
            expected = corrupt_tensor(x, name, s, seed=torch_stream("c", 2, name, s, 0, "cpu"))
            assert np.array_equal(np.load(out / f"{name}.npy")[k * N:(k + 1) * N],
                                  expected.permute(0, 2, 3, 1).numpy())
    with pytest.raises(ValueError, match="other settings"):  # one folder, one back-end
        generate_cifar_c(images, labels, out, ["fog"], [1, 4], seed=2, progress=False)


def test_torch_backend_writes_the_imagenet_layout_and_resumes(tmp_path):
    import torch

    from augmix.corruptions.released import jpeg_roundtrip, preprocess, torch_stream
    from augmix.corruptions.tensor import corrupt_tensor

    src = tmp_path / "val"
    for k, wnid in enumerate(["n01", "n02"]):
        (src / wnid).mkdir(parents=True)
        for j in range(2):
            Image.fromarray(smooth_images(1, 300, seed=10 * k + j)[0][:, :260]).save(src / wnid / f"img{j}.png")
    assert main(["corrupt", "--images", str(src), "--out", str(tmp_path / "inc"), "--corruptions", "spatter,zoom_blur",
                 "--severities", "3", "--device", "cpu", "--seed", "4"]) == 0
    items = walk_image_tree(src).images
    x = np.stack([np.asarray(preprocess(i.load(), 224)) for i in items])
    batch = torch.from_numpy(x).permute(0, 3, 1, 2)
    for name in ("spatter", "zoom_blur"):
        expected = corrupt_tensor(batch, name, 3, seed=torch_stream("c", 4, name, 3, "batch 0", "cpu"))
        for item, arr in zip(items, expected.permute(0, 2, 3, 1).numpy(), strict=True):
            path = tmp_path / "inc" / name / "3" / item.cls / (item.path.stem + ".JPEG")
            with Image.open(path) as im:
                assert np.array_equal(np.asarray(im), jpeg_roundtrip(arr))  # the released JPEG of our output
    stamp = os.stat(path).st_mtime_ns
    assert main(["corrupt", "--images", str(src), "--out", str(tmp_path / "inc"), "--corruptions", "spatter,zoom_blur",
                 "--severities", "3", "--device", "cpu", "--seed", "4"]) == 0
    assert os.stat(path).st_mtime_ns == stamp  # resumed: nothing rewritten
    assert open_folder_c(tmp_path / "inc").folder("spatter", 3).is_dir()


@pytest.mark.parametrize("args, message", [
    (["--device", "cuda:7"], "CUDA"), (["--device", "tpu"], "unknown device"),
    (["--device", "cpu", "--reference-stream"], "drop --device"),
    (["--device", "cpu", "--benchmark", "c-bar"], "drop --device"),
    (["--device", "cpu", "--corruptions", "fog,sparkles"], "drop --device"),
])
def test_torch_backend_refuses_what_it_cannot_do(tmp_path, capsys, args, message):
    assert main(["corrupt", "--out", str(tmp_path / "o"), *args]) == 2
    assert message in capsys.readouterr().err


def test_published_preprocessing_is_torchvisions_resize_and_centre_crop():
    # Pillow's calls as torchvision's transforms make them (portrait, landscape, square, odd, grey)
    import torchvision.transforms as T
    from PIL import Image

    from augmix.corruptions.released import preprocess
    from tests.conftest import smooth_images

    imagenet = T.Compose([T.Resize(256), T.CenterCrop(224)])
    tiny = T.Resize((64, 64))
    base = Image.fromarray(smooth_images(1, 96, seed=2)[0])
    for w, h in [(320, 240), (240, 320), (256, 256), (500, 375), (333, 257), (257, 999), (64, 64), (77, 41)]:
        img = base.resize((w, h))
        for im in (img, img.convert("L")):
            assert np.array_equal(np.asarray(preprocess(im, 224)), np.asarray(imagenet(im))), (w, h, im.mode)
            assert np.array_equal(np.asarray(preprocess(im, 64)), np.asarray(tiny(im))), (w, h, im.mode)
