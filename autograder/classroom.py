"""Build student notebooks from the released notebook and the catalogue.

A submission is made by filling each answer cell of the released notebook
with an implementation: the reference solution, a correct alternative or a
catalogued mistake.  On top of that a student can be hostile (extra cells
that try to fake or break grading) or damaged (metadata stripped, cells
deleted, duplicated or reordered, the notebook renamed, the file corrupt).
The demo, the tests and the benchmark all build their classes here.
"""

from __future__ import annotations

import ast
import copy
import importlib
import inspect
import os
import re
import textwrap
from dataclasses import dataclass, field
from typing import Callable, Optional

import nbformat

from .spec import AssignmentSpec


@dataclass
class StudentRecipe:
    """How to build one student's submission."""

    student_id: str
    summary: str
    # Graded function -> source to put in its answer cell; the reference otherwise.
    implementations: dict = field(default_factory=dict)
    # Code cells inserted right after the setup cell (hostile code, say).
    cells_before: list = field(default_factory=list)
    # Code cells appended at the end of the notebook.
    cells_after: list = field(default_factory=list)
    # A function that changes the notebook node in place (damage).
    damage: Optional[Callable] = None
    # Write these bytes instead of a notebook (a corrupt file).
    raw_bytes: Optional[bytes] = None
    # File name to write instead of the expected one (a renamed notebook).
    file_name: Optional[str] = None
    # Expected points per function, when the recipe fixes them; used by tests.
    expected: dict = field(default_factory=dict)


def reference_sources(spec: AssignmentSpec, isolated: frozenset = frozenset()) -> dict:
    """Return, per graded function, its reference source with the helpers it uses.

    Calls to a function in ``isolated`` are redirected to a private copy of
    its reference, so that a catalogued mistake in that function costs
    points on that function alone, as for a student who got it wrong only
    there.
    """
    module = importlib.import_module(spec.reference_module)
    graded = set(spec.function_names)
    sources = {}
    for name in spec.function_names:
        function = getattr(module, name)
        source = inspect.getsource(function)
        needed = []
        tree = ast.parse(textwrap.dedent(source))
        used = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
        for helper_name in sorted(used - graded):
            if inspect.isfunction(getattr(module, helper_name, None)):
                needed.append(inspect.getsource(getattr(module, helper_name)))
        for dependency in sorted(used & set(isolated) - {name}):
            private = f"_reference_{dependency}"
            source = re.sub(rf"\b{dependency}\(", f"{private}(", source)
            copy_source = reference_sources(spec)[dependency]
            needed.append(re.sub(rf"\bdef {dependency}\(", f"def {private}(", copy_source))
        sources[name] = "".join(helper + "\n\n" for helper in needed) + source
    return sources


def catalogue_cells(spec: AssignmentSpec, replacements: dict) -> list:
    """Return notebook-like code cells: numpy, then every reference function with ``replacements`` swapped in.

    Functions other than the replaced ones call a private copy of the
    reference, so a replaced function costs points on itself alone.
    """
    sources = reference_sources(spec, frozenset(replacements))
    sources.update(replacements)
    return [(0, "import numpy as np")] + [(index + 1, source) for index, source in enumerate(sources.values())]


def build_notebook(release_path: str, spec: AssignmentSpec, recipe: StudentRecipe):
    """Return the notebook node of one student's submission."""
    nb = nbformat.read(release_path, as_version=4)
    defaults = reference_sources(spec, frozenset(recipe.implementations))
    for cell in nb.cells:
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if grade_id in defaults:
            cell.source = recipe.implementations.get(grade_id, defaults[grade_id])
    setup_index = next((i for i, cell in enumerate(nb.cells) if cell.cell_type == "code"), 0)
    for offset, code in enumerate(recipe.cells_before):
        nb.cells.insert(setup_index + 1 + offset, nbformat.v4.new_code_cell(code))
    for code in recipe.cells_after:
        nb.cells.append(nbformat.v4.new_code_cell(code))
    if recipe.damage is not None:
        recipe.damage(nb)
    return nb


def write_submission(course_root: str, spec: AssignmentSpec, recipe: StudentRecipe, timestamp: str = "2026-12-01 12:00:00.000000 UTC") -> str:
    """Write one student's submission under ``submitted/``; return the notebook path."""
    folder = os.path.join(course_root, "submitted", recipe.student_id, spec.assignment_id)
    os.makedirs(folder, exist_ok=True)
    for name in os.listdir(folder):
        if name.endswith(".ipynb"):
            os.remove(os.path.join(folder, name))
    path = os.path.join(folder, recipe.file_name or f"{spec.notebook}.ipynb")
    if recipe.raw_bytes is not None:
        with open(path, "wb") as handle:
            handle.write(recipe.raw_bytes)
    else:
        release = os.path.join(course_root, "release", spec.assignment_id, f"{spec.notebook}.ipynb")
        nb = build_notebook(release, spec, recipe)
        with open(path, "w", encoding="utf-8") as handle:
            nbformat.write(nb, handle, version=nbformat.NO_CONVERT)
    with open(os.path.join(folder, "timestamp.txt"), "w") as handle:
        handle.write(timestamp)
    return path


# -- damage ------------------------------------------------------------------------------


def strip_metadata(nb) -> None:
    """Remove every cell's metadata, as some notebook editors do."""
    for cell in nb.cells:
        cell.metadata = {}


def delete_test_cell(function_name: str) -> Callable:
    def damage(nb) -> None:
        nb.cells = [cell for cell in nb.cells if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") != f"test_{function_name}"]

    return damage


def duplicate_answer_cell(function_name: str) -> Callable:
    def damage(nb) -> None:
        for index, cell in enumerate(nb.cells):
            if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == function_name:
                nb.cells.insert(index + 1, copy.deepcopy(cell))
                nb.cells[index + 1].id = f"{cell.get('id', 'cell')}-copy"
                return

    return damage


def answer_cell_to_markdown(function_name: str) -> Callable:
    def damage(nb) -> None:
        for index, cell in enumerate(nb.cells):
            if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == function_name:
                markdown = nbformat.v4.new_markdown_cell(cell.source, metadata=cell.metadata)
                markdown.id = cell.get("id", markdown.id)
                nb.cells[index] = markdown
                return

    return damage


def reverse_cells(nb) -> None:
    """Move every answer cell to the end, in reverse order (definitions still run before use)."""
    answers = [cell for cell in nb.cells if cell.get("metadata", {}).get("nbgrader", {}).get("solution")]
    others = [cell for cell in nb.cells if not cell.get("metadata", {}).get("nbgrader", {}).get("solution")]
    nb.cells = others + answers[::-1]


def downgrade_minor_version(nb) -> None:
    """Make the notebook nbformat 4.4, whose cells carry no ids."""
    nb.nbformat_minor = 4
    for cell in nb.cells:
        cell.pop("id", None)


def combine(*damages: Callable) -> Callable:
    def damage(nb) -> None:
        for step in damages:
            step(nb)

    return damage
