"""A full CIFAR-10-C: the published generator against ``augmix corrupt``, CPU and wall, in one run.

    python benchmarks/cifar10_c_full.py --published-dir ROBUSTNESS/ImageNet-C/create_c
                                        [--published-python PY] [--rounds 2] [--workers 2]

Three arms write the 19 files of the release (15 corruptions + the 4 held-out ones, 5 severities
x 10,000 CIFAR-10 test images each, and labels.npy) into a scratch folder, each in a fresh
process whose resource usage (user + system of it and every process it waited for) is read:

- ``published``: ``make_cifar_c.py``'s own loop (severities 1-5 over the test images in order,
  ``np.uint8(corruption(convert_img(img)))``, ``np.save``), its functions run as published with
  the library patches of tests/fixtures/README.md, one file per task on a pool of ``--workers``
  processes (largest first; the script itself runs them one after another in one process, the
  same CPU). Before each corruption ``np.random.seed(SEED)``: the published script seeds
  nothing, so this is what makes its output comparable.
- ``reference``: ``augmix corrupt --dataset cifar10 --extra --reference-stream --seed SEED``,
  which claims those bytes; every round compares the two arms' files byte for byte (impulse
  noise draws from scikit-image's unseeded generator in the published code: not compared).
- ``default``: ``augmix corrupt --dataset cifar10 --extra`` (batched, per-image seeds).

``--published-python``: the interpreter for the published arm (e.g. a venv with OpenCV 4, under
which the release was made: OpenCV 5 moves elastic transform's bytes), with Wand and
ImageMagick's library for motion blur and snow. Ours runs a git worktree of HEAD, so uncommitted
edits are never measured; before the rounds, untimed, the CLI runs on 10 images and every
corruption once in reference-stream mode on two (numba compiles its kernels once per checkout).
Arms alternate their order round by round.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import pickle
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
NAMES = ("gaussian_noise", "shot_noise", "impulse_noise", "defocus_blur", "glass_blur", "motion_blur", "zoom_blur",
         "snow", "frost", "fog", "brightness", "contrast", "elastic_transform", "pixelate", "jpeg_compression",
         "speckle_noise", "gaussian_blur", "spatter", "saturate")  # make_cifar_c.py's order
EXTRA = ("speckle_noise", "gaussian_blur", "spatter", "saturate")
# The published arm's task order: slowest first (benchmarks/reference_stream.py's 32 px rates), so
# that the pool's last task is a short one.
SLOW_FIRST = ("frost", "glass_blur", "zoom_blur", "motion_blur", "snow", "brightness", "saturate", "fog",
              "elastic_transform", "spatter", "shot_noise", "defocus_blur", "pixelate", "jpeg_compression",
              "gaussian_blur", "contrast", "impulse_noise", "speckle_noise", "gaussian_noise")


def cifar_test(root: Path) -> tuple[np.ndarray, list[int]]:
    """The test split as torchvision's ``CIFAR10(train=False)`` holds it (``.data``, ``.targets``),
    read from the official pickle without torchvision's md5 check."""
    with open(root / "cifar-10-batches-py" / "test_batch", "rb") as f:
        batch = pickle.load(f, encoding="latin1")
    return np.asarray(batch["data"]).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1), list(batch["labels"])


# ---- the published arm (runs under --published-python, imports nothing of this project) ----

_MOD = None
_IMAGES = None


def _published_file(task: tuple[str, str, int]) -> tuple[str, float]:
    """One file as make_cifar_c.py's loop writes it, after np.random.seed(seed)."""
    import cv2
    import torch
    import torchvision.transforms as trn

    name, out, seed = task
    torch.set_num_threads(1)  # the pool's processes share the cores (the script runs one process)
    cv2.setNumThreads(1)
    convert_img = trn.Compose([trn.ToTensor(), trn.ToPILImage()])
    fn = getattr(_MOD, name)
    t0 = time.process_time()
    np.random.seed(seed)
    cifar_c = []
    for severity in range(1, 6):
        for img in _IMAGES:
            cifar_c.append(np.uint8(fn(convert_img(img), severity)))
    np.save(Path(out) / f"{name}.npy", np.array(cifar_c).astype(np.uint8))
    return name, time.process_time() - t0


def published_arm(folder: Path, root: Path, out: Path, workers: int, seed: int) -> None:
    import multiprocessing

    global _MOD, _IMAGES
    sys.path.insert(0, str(HERE))
    from _published import published_module

    _MOD = published_module(folder, "make_cifar_c.py")
    _IMAGES, labels = cifar_test(root)
    os.chdir(folder)  # frost opens its photographs by relative path
    labels5 = [lab for _ in range(5) for lab in labels]
    np.save(out / "labels.npy", np.array(labels5).astype(np.uint8))
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        for name, cpu in pool.imap_unordered(_published_file, [(n, str(out), seed) for n in SLOW_FIRST]):
            print(f"published {name} {cpu:.1f}", flush=True)
        pool.close()
        pool.join()  # waited for, so the workers' CPU counts in this process's children


# ---- the driver ----

def _run(cmd: list[str], env: dict, cwd: Path | None = None) -> dict:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode:
        sys.exit(f"error: {' '.join(cmd[:4])} ... failed:\n{proc.stderr[-3000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    per = {line.split()[1]: float(line.split()[2])
           for line in proc.stdout.splitlines() if line.startswith("published ")}
    return {"wall_s": round(wall, 1), "cpu_s": round(cpu, 1), **({"cpu_s_per_file": per} if per else {})}


def _digests(out: Path) -> dict[str, str]:
    digests = {}
    for name in NAMES:
        arr = np.load(out / f"{name}.npy", mmap_mode="r")
        digests[name] = f"{arr.shape}:{hashlib.sha256(np.ascontiguousarray(arr)).hexdigest()}"
    digests["labels"] = hashlib.sha256(np.load(out / "labels.npy").tobytes()).hexdigest()
    return digests


def main() -> None:
    if "--published-arm" in sys.argv:  # the published arm's own process
        folder, root, out, workers, seed = sys.argv[sys.argv.index("--published-arm") + 1:]
        published_arm(Path(folder), Path(root), Path(out), int(workers), int(seed))
        return
    ap = argparse.ArgumentParser()
    ap.add_argument("--published-dir", type=Path, required=True,
                    help="hendrycks/robustness checkout's ImageNet-C/create_c folder")
    ap.add_argument("--published-python", default=sys.executable,
                    help="interpreter for the published arm (with Wand, ImageMagick's library and its OpenCV)")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--published-commit", default="",
                    help="the checkout's commit, recorded (default: asked of git when the folder is in a checkout)")
    args = ap.parse_args()
    if not (args.published_dir / "make_cifar_c.py").is_file():
        sys.exit(f"error: {args.published_dir} has no make_cifar_c.py; give hendrycks/robustness's ImageNet-C/create_c")
    sys.path.insert(0, str(HERE))
    from _common import cifar_root, commit_checkouts, git_commit, machine, round_order, save

    root, note = cifar_root()
    if root is None:
        sys.exit("error: no CIFAR-10 found; put it at $AUGMIX_DATA (official layout) or run `augmix download cifar10`")
    versions = subprocess.run([args.published_python, "-c", "import cv2, numpy, scipy, skimage, PIL, wand.version; "
                               "print(cv2.__version__, numpy.__version__, scipy.__version__, skimage.__version__, "
                               "PIL.__version__, wand.version.VERSION, wand.version.MAGICK_VERSION, sep='|')"],
                              capture_output=True, text=True)
    if versions.returncode:
        sys.exit(f"error: {args.published_python} cannot import the published code's libraries "
                 f"(OpenCV, scikit-image, Wand with ImageMagick's library): {versions.stderr.strip().splitlines()[-1]}")
    commit = args.published_commit or subprocess.run(
        ["git", "-C", str(args.published_dir), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip() or "not recorded"
    keys = ("opencv", "numpy", "scipy", "scikit-image", "pillow", "wand", "imagemagick")
    published_versions = dict(zip(keys, versions.stdout.strip().split("|"), strict=True))
    rows: dict[str, list[dict]] = {}
    equal_rounds: list[dict[str, bool]] = []
    with tempfile.TemporaryDirectory(prefix="augmix-c10c-") as tmp:
        work = Path(tmp)
        with commit_checkouts(None, work) as trees:
            src = trees["this"]
            env = {**os.environ, "PYTHONPATH": str(src)}
            ours = [sys.executable, "-m", "augmix", "corrupt", "--dataset", "cifar10", "--data-dir", str(root),
                    "--extra", "--seed", str(args.seed), "--workers", str(args.workers), "--no-progress"]
            warm = work / "warm"  # untimed: numba compiles and caches both modes' kernels in this worktree
            subprocess.run([*ours, "--out", str(warm), "--limit", "10"], env=env, check=True, capture_output=True)
            subprocess.run([sys.executable, "-c", "import numpy as np; from augmix.corruptions import ALL, corrupt; "
                            "x = np.zeros((2, 32, 32, 3), np.uint8) + 128; "
                            "[corrupt(x, n, s, seed=np.random.RandomState(0)) for n in ALL for s in (1, 5)]"],
                           env=env, check=True, capture_output=True)
            shutil.rmtree(warm)
            single = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
            arms = {
                "published": lambda out: _run([args.published_python, str(Path(__file__).resolve()), "--published-arm",
                                               str(args.published_dir.resolve()), str(root), str(out),
                                               str(args.workers), str(args.seed)], single),
                "reference": lambda out: _run([*ours, "--reference-stream", "--out", str(out)], env),
                "default": lambda out: _run([*ours, "--out", str(out)], env),
            }
            for r in range(args.rounds):
                digests = {}
                for name, arm in round_order(arms, r):
                    out = work / name
                    out.mkdir()
                    row = arm(out)
                    rows.setdefault(name, []).append(row)
                    print(f"round {r + 1} {name}: wall {row['wall_s']} s, CPU {row['cpu_s']} s", flush=True)
                    if name != "default":
                        digests[name] = _digests(out)
                    shutil.rmtree(out)
                same = {n: digests["published"][n] == digests["reference"][n] for n in [*NAMES, "labels"]}
                equal_rounds.append(same)
                print(f"round {r + 1} reference == published: {same}", flush=True)
    summary = {}
    for name, rs in rows.items():
        walls, cpus = [x["wall_s"] for x in rs], [x["cpu_s"] for x in rs]
        summary[name] = {"rounds": rs, "wall_s_median": statistics.median(walls),
                         "wall_s_range": [min(walls), max(walls)], "cpu_s_median": statistics.median(cpus),
                         "cpu_s_range": [min(cpus), max(cpus)]}
    pub_cpu = summary["published"]["cpu_s_median"]
    for name in ("reference", "default"):
        summary[name]["cpu_speedup_vs_published"] = round(pub_cpu / summary[name]["cpu_s_median"], 1)
    per_file = [x["cpu_s_per_file"] for x in rows["published"]]
    summary["published"]["cpu_s_per_file_median"] = {n: round(statistics.median(p[n] for p in per_file), 1)
                                                     for n in NAMES}
    summary["published"]["cpu_s_15_corruptions_median"] = round(statistics.median(
        sum(v for n, v in p.items() if n not in EXTRA) for p in per_file), 1)
    compared = [n for n in NAMES if n != "impulse_noise"] + ["labels"]
    save("cifar10_c_full", {
        "command": "python benchmarks/cifar10_c_full.py " + " ".join(sys.argv[1:]), "commit": git_commit(),
        "data": note + ", all 10,000 test images", "files": "19 corruptions x 5 severities + labels.npy",
        "seed": args.seed, "workers": args.workers, "machine": machine(), "published_versions": published_versions,
        "published": f"hendrycks/robustness {commit}, make_cifar_c.py",
        "reference_equals_published_every_round": {n: all(s[n] for s in equal_rounds) for n in compared},
        "results": summary})


if __name__ == "__main__":
    main()
