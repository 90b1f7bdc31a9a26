"""Names a package exports but imports on first use (PEP 562), so that importing the package -
as ``augmix --version`` and a verb's ``--help`` do - loads none of the heavy libraries behind
them (torch, scipy, OpenCV, numba)."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(package: str, where: Mapping[str, str], namespace: dict[str, Any]
                 ) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for ``package``: ``where`` maps each lazy name to the module
    that defines it; a name, once imported, is kept in the package's ``namespace``."""

    def __getattr__(name: str) -> Any:
        if name in where:
            value = getattr(importlib.import_module(where[name]), name)
            namespace[name] = value
            return value
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        return sorted([*namespace, *where])

    return __getattr__, __dir__
