"""Decorators that turn plain functions into catalogue entries.

A catalogue module in ``assignments/<id>/`` writes each mistake or correct
alternative as an ordinary function under a descriptive name, decorated with
the graded function it implements.  The decorator stores the function's
source, renamed to the graded name and without the decorator, so that the
same text can be pasted into a notebook or executed in a sandbox.

Entries must be self-contained: they may use ``np`` (numpy) and call other
graded functions by their contract names, and they define any helper inside
their own body.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
from typing import Callable

from .spec import CatalogueEntry


def _source_as(function: Callable, graded_name: str) -> str:
    """Return the source of ``function`` renamed to ``graded_name``, undecorated."""
    source = textwrap.dedent(inspect.getsource(function))
    tree = ast.parse(source)
    definition = tree.body[0]
    if not isinstance(definition, ast.FunctionDef):
        raise TypeError(f"catalogue entry {function.__name__!r} must be a plain function definition")
    lines = source.splitlines()
    # The def line is the first line after the decorators.
    def_index = definition.lineno - 1
    def_line = lines[def_index].replace(f"def {function.__name__}(", f"def {graded_name}(", 1)
    return "\n".join([def_line] + lines[def_index + 1:]) + "\n"


def mistake(function: str, misconception: str, hint: str) -> Callable:
    """Mark a function as a catalogued wrong implementation of ``function``."""

    def register(implementation: Callable) -> Callable:
        implementation.catalogue_entry = CatalogueEntry(
            function=function,
            name=implementation.__name__,
            source=_source_as(implementation, function),
            misconception=misconception,
            hint=hint,
        )
        return implementation

    return register


def alternative(function: str, style: str) -> Callable:
    """Mark a function as a correct alternative implementation of ``function``."""

    def register(implementation: Callable) -> Callable:
        implementation.catalogue_entry = CatalogueEntry(
            function=function,
            name=implementation.__name__,
            source=_source_as(implementation, function),
            style=style,
        )
        return implementation

    return register


def collect(module) -> tuple:
    """Return the catalogue entries defined in ``module``, in source order."""
    entries = [
        value.catalogue_entry
        for value in vars(module).values()
        if callable(value) and hasattr(value, "catalogue_entry")
    ]
    order = {name: index for index, name in enumerate(vars(module))}
    return tuple(sorted(entries, key=lambda entry: order[entry.name]))
