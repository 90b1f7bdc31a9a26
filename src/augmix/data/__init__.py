"""Datasets: the official CIFAR layouts, ImageFolder trees, the -C sets, and downloads."""

from augmix.data.cifar import NUM_CLASSES, ImageArrays, load_cifar, read_cifar_folder
from augmix.data.download import DataError, default_root, ensure
from augmix.data.sources import ARCHIVES

__all__ = ["ARCHIVES", "NUM_CLASSES", "DataError", "ImageArrays", "default_root", "ensure",
           "load_cifar", "read_cifar_folder"]
