"""Inert stand-ins for display libraries inside the sandbox.

Student notebooks import matplotlib and IPython's display helpers to draw
figures, which grading never looks at.  Loading the real libraries into
the zygote would more than double the memory every child copies on fork
(measured here: a process with numpy has about 26 MiB resident, with
matplotlib.pyplot too about 64 MiB), and a child in its private root
directory cannot import them later.  Instead, the child
installs :class:`InertFinder`: ``import matplotlib.pyplot as plt`` then
succeeds, and every attribute, call, index or context manager of the module
gives back the same inert object, so ``fig, ax = plt.subplots()`` and
``plt.show()`` do nothing.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
import types

# Top-level packages replaced by stand-ins; their submodules are replaced too.
INERT_PACKAGES = ("matplotlib", "IPython", "mpl_toolkits")

# How many items unpacking an inert object gives: ``fig, ax = plt.subplots()``.
UNPACKED_ITEMS = 2


class Inert:
    """Any value of a display library: every operation returns an inert object."""

    __slots__ = ("_name",)

    def __init__(self, name: str):
        object.__setattr__(self, "_name", name)

    def __getattr__(self, attribute: str) -> "Inert":
        if attribute.startswith("__") and attribute.endswith("__"):
            raise AttributeError(attribute)
        return Inert(f"{self._name}.{attribute}")

    def __setattr__(self, attribute: str, value) -> None:
        pass

    def __call__(self, *args, **kwargs) -> "Inert":
        return Inert(f"{self._name}()")

    def __getitem__(self, key) -> "Inert":
        return Inert(f"{self._name}[]")

    def __setitem__(self, key, value) -> None:
        pass

    def __iter__(self):
        return iter([Inert(f"{self._name}[{index}]") for index in range(UNPACKED_ITEMS)])

    def __len__(self) -> int:
        return UNPACKED_ITEMS

    def __enter__(self) -> "Inert":
        return self

    def __exit__(self, *exc_info) -> bool:
        return False

    def __bool__(self) -> bool:
        return True

    def __float__(self) -> float:
        return 0.0

    def __int__(self) -> int:
        return 0

    def __index__(self) -> int:
        return 0

    def __repr__(self) -> str:
        return f"<{self._name}: not available while grading>"

    def _same(self, *args) -> "Inert":
        return self

    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = _same
    __truediv__ = __rtruediv__ = __pow__ = __neg__ = __pos__ = _same


class InertModule(types.ModuleType):
    """A module whose every attribute is an :class:`Inert` object."""

    def __getattr__(self, attribute: str):
        if attribute.startswith("__") and attribute.endswith("__"):
            raise AttributeError(attribute)
        return Inert(f"{self.__name__}.{attribute}")


class InertFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Serve :class:`InertModule` for the packages in ``INERT_PACKAGES`` and their submodules."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname.split(".")[0] not in INERT_PACKAGES:
            return None
        return importlib.machinery.ModuleSpec(fullname, self, is_package=True)

    def create_module(self, spec):
        module = InertModule(spec.name)
        module.__path__ = []
        return module

    def exec_module(self, module) -> None:
        pass


def install() -> None:
    """Put the finder first, so the stand-ins win over anything else on the path."""
    for name in list(sys.modules):
        if name.split(".")[0] in INERT_PACKAGES:
            del sys.modules[name]
    sys.meta_path.insert(0, InertFinder())
