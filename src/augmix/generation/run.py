"""``generate``: the glue of the pipeline's *corrupt* stage. It opens the source images through
``augmix.data`` (a dataset's test split, an image folder, a subset of either) and hands them
to the writer of the set's layout (``arrays``: CIFAR; ``trees``: ImageNet), which never reads
a dataset itself."""

from __future__ import annotations

from pathlib import Path

from augmix.generation.arrays import CifarC, CifarP
from augmix.generation.config import GenerateConfig
from augmix.generation.scaffold import write_set
from augmix.generation.trees import FolderAnySize, FolderC, FolderP

# benchmark -> its writers: the CIFAR layout's (arrays) and the ImageNet layout's (a tree)
WRITERS = {"c": (CifarC, FolderC), "c-bar": (CifarC, FolderC), "p": (CifarP, FolderP)}


def generate(config: GenerateConfig | str | Path, **fields) -> Path:
    """Write the set ``config`` describes (or the output folder ``config`` with the config's
    ``fields`` as keywords); return its folder.

    * ``images`` with ``keep_size``: any image tree -> the 19 corruptions at each image's own size;
    * ``images`` with the imagenet layout: an ImageFolder tree -> ImageNet-C JPEG folders or
      ImageNet-P videos (``size`` 224: ImageNet preprocessing and table; 64: Tiny-ImageNet's);
    * ``images`` with the cifar layout: a folder of same-size images -> CIFAR-C / CIFAR-P arrays;
    * otherwise ``dataset``'s test split (cifar10, cifar100) -> CIFAR-C / CIFAR-P arrays.
    """
    from augmix.data.subsets import make_subset, select

    if not isinstance(config, GenerateConfig):
        config = GenerateConfig(out=Path(config), **fields)
    elif fields:
        raise ValueError("give a GenerateConfig or its fields as keywords, not both")
    from augmix.io import check_outside

    inputs = [p for p in (config.images, config.data_dir) if p is not None]  # every folder read is an input
    if inputs:
        check_outside(config.out, inputs)
    subset = make_subset(config.limit, config.indices)
    if config.keep_size:  # any tree, each image at its own size
        from augmix.data.images import check_headers, walk_files

        tree = walk_files(config.images)
        items = [tree.images[i] for i in select(subset, len(tree.images), str(config.images))]
        check_headers([i.path for i in items], config.progress)
        source = tree.describe() + (f", {subset.describe()}" if subset else "")
        return write_set(FolderAnySize(config, items, source=source, subset=subset))
    if config.tree_layout:
        from augmix.data.images import check_headers, walk_image_tree

        tree = walk_image_tree(config.images)
        items = [tree.images[i] for i in select(subset, len(tree.images), str(config.images))]
        check_headers([i.path for i in items], config.progress)
        source = tree.describe() + (f", {subset.describe()}" if subset else "")
        return write_set(WRITERS[config.benchmark][1](config, items, source=source, subset=subset))
    if config.images is not None:
        from augmix.data.images import read_image_arrays, walk_image_tree

        tree = walk_image_tree(config.images)
        x, y = read_image_arrays(tree)
        source = tree.describe()
    else:
        from augmix.data import load_cifar

        test = load_cifar(config.dataset, config.data_dir, train=False)
        x, y, source = test.images, test.labels, test.source
    rows = select(subset, len(x), source)
    if subset is not None:
        x, y, source = x[rows], y[rows], f"{source}, {subset.describe()}"
    return write_set(WRITERS[config.benchmark][0](config, x, y, source=source, subset=subset))

