"""Where the official datasets live and how to recognise them (facts, as data).

Sources: the CIFAR archives and md5 sums are those published on
https://www.cs.toronto.edu/~kriz/cifar.html (also in torchvision's ``CIFAR10``/``CIFAR100``);
CIFAR-10-C and CIFAR-100-C are Zenodo records 2535967 and 3555552 by Hendrycks &
Dietterich (ICLR 2019), md5 sums as listed on those records.

The natural distribution shifts, at the addresses their authors give (CIFAR-10.1:
modestyachts/CIFAR-10.1 ``datasets/``; ImageNet-R: hendrycks/imagenet-r; ImageNet-A:
hendrycks/natural-adv-examples; ImageNet-Sketch: HaohanWang/ImageNet-Sketch, the copy its
co-author keeps on the Hugging Face hub; ImageNetV2: modestyachts/ImageNetV2). Their authors
publish no checksums; the SHA-256 sums and sizes are those TensorFlow Datasets records for the
same files (tensorflow/datasets ``url_checksums/cifar10_1.txt``, ``imagenet_r.txt``,
``imagenet_a.txt``, ``imagenet_v2.txt`` and ``datasets/imagenet_sketch/checksums.tsv``).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Archive:
    name: str
    url: str
    filename: str
    md5: str | None
    folder: str  # what the archive unpacks to, relative to the data root (a plain file: where it goes)
    size_hint: str
    sha256: str | None = None
    kind: str = "tar"  # tar, zip, or file (kept as it is, in ``folder``)

    @property
    def checksum(self) -> tuple[str, str]:
        """(algorithm, published digest)."""
        return ("md5", self.md5) if self.md5 else ("sha256", self.sha256 or "")


ARCHIVES: dict[str, Archive] = {
    "cifar10": Archive(
        "CIFAR-10", "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
        "cifar-10-python.tar.gz", "c58f30108f718f92721af3b95e74349a", "cifar-10-batches-py", "163 MB"),
    "cifar100": Archive(
        "CIFAR-100", "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz",
        "cifar-100-python.tar.gz", "eb9058c3a382ffc7106e4002c42a8d85", "cifar-100-python", "161 MB"),
    "cifar10c": Archive(
        "CIFAR-10-C", "https://zenodo.org/records/2535967/files/CIFAR-10-C.tar",
        "CIFAR-10-C.tar", "56bf5dcef84df0e2308c6dcbcbbd8499", "CIFAR-10-C", "2.9 GB"),
    "cifar100c": Archive(
        "CIFAR-100-C", "https://zenodo.org/records/3555552/files/CIFAR-100-C.tar",
        "CIFAR-100-C.tar", "11f0ed0f1191edbf9fa23466ae6021d3", "CIFAR-100-C", "2.9 GB"),
    # natural distribution shifts
    "cifar10.1-data": Archive(
        "CIFAR-10.1 v6 images", "https://github.com/modestyachts/CIFAR-10.1/raw/master/datasets/cifar10.1_v6_data.npy",
        "cifar10.1_v6_data.npy", None, "CIFAR-10.1", "6.1 MB",
        sha256="2997188e5816f5bd545dc77771b6227828c28146049fcecf3fa10775474cacc6", kind="file"),
    "cifar10.1-labels": Archive(
        "CIFAR-10.1 v6 labels",
        "https://github.com/modestyachts/CIFAR-10.1/raw/master/datasets/cifar10.1_v6_labels.npy",
        "cifar10.1_v6_labels.npy", None, "CIFAR-10.1", "8 kB",
        sha256="ae40beda001693674edc94d925ee8268cfe68905f8f9aff800c8dcdfcd6c9448", kind="file"),
    "imagenet-r": Archive(
        "ImageNet-R", "https://people.eecs.berkeley.edu/~hendrycks/imagenet-r.tar", "imagenet-r.tar", None,
        "imagenet-r", "2.2 GB", sha256="18c6bf493b39a0d975d48e587437f562caab9c52ae6327dcfa9dd8eb54aa1b52"),
    "imagenet-a": Archive(
        "ImageNet-A", "https://people.eecs.berkeley.edu/~hendrycks/imagenet-a.tar", "imagenet-a.tar", None,
        "imagenet-a", "688 MB", sha256="3bb3632277e6ba6392ea64c02ddbf4dd2266c9caffd6bc09c9656d28f012589e"),
    "imagenet-sketch": Archive(
        "ImageNet-Sketch", "https://huggingface.co/datasets/songweig/imagenet_sketch/resolve/main/data/ImageNet-Sketch.zip",
        "ImageNet-Sketch.zip", None, "sketch", "7.6 GB",
        sha256="4d3ce6b82a7c48aabf14aeac105eb533e75707f152cc858f55bfc022031a72ed", kind="zip"),
    "imagenet-v2": Archive(
        "ImageNetV2 (matched frequency)",
        "https://s3-us-west-2.amazonaws.com/imagenetv2public/imagenetv2-matched-frequency.tar.gz",
        "imagenetv2-matched-frequency.tar.gz", None, "imagenetv2-matched-frequency-format-val", "1.3 GB",
        sha256="a32004f9e773279307499059d320336a23ccdc62cb32063da29bae9bd04c122c"),
}
