"""Where the official datasets live and how to recognise them (facts, as data).

Sources: the CIFAR archives and md5 sums are those published on
https://www.cs.toronto.edu/~kriz/cifar.html (also in torchvision's ``CIFAR10``/``CIFAR100``);
CIFAR-10-C and CIFAR-100-C are Zenodo records 2535967 and 3555552 by Hendrycks &
Dietterich (ICLR 2019), md5 sums as listed on those records.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Archive:
    name: str
    url: str
    filename: str
    md5: str
    folder: str  # what the archive unpacks to, relative to the data root
    size_hint: str


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
}
