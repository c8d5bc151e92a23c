"""Read a submitted notebook, however damaged, into the code cells to run.

Grading never depends on nbgrader cell metadata: tools such as Colab and VS
Code strip it, and students copy, delete, reorder and retype cells.  The
grader therefore reads every cell, finds each graded function by name in the
code, and runs the cells in notebook order, as "Run All" would.  Only two
kinds of cell are left out: test cells (nbgrader replaces them with the
instructor's version anyway) and cells identical to a released non-answer
cell, such as figure cells, of which only imports and definitions run.
"""

from __future__ import annotations

import ast
import functools
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

HIDDEN_TEST_MARKER = "check_hidden_cases("

# The module beside each released notebook that gives students check() and
# hint().  The sandbox cannot import it, and grading does not need it.
STUDENT_CHECK_MODULE = "visible_checks"


class SubmissionError(Exception):
    """A submission that cannot be graded at all, with the reason for the instructor."""


@dataclass
class Cell:
    index: int
    cell_type: str
    source: str
    grade_id: Optional[str] = None
    is_test: bool = False


@dataclass
class Submission:
    path: str
    cells: list
    # Cells to run, as (index, code) pairs after magics are transformed.
    code_cells: list = field(default_factory=list)
    warnings: list = field(default_factory=list)


def join_source(source) -> str:
    """Return a cell's source as one string, however the notebook stored it."""
    if isinstance(source, list):
        return "".join(str(part) for part in source)
    return str(source) if source is not None else ""


def find_notebook(folder: str, expected_name: str) -> tuple:
    """Return (path, warning) of the notebook to grade in a student's folder.

    The expected name wins; otherwise the only ``.ipynb`` in the folder is
    taken, with a warning naming it.
    """
    expected = os.path.join(folder, expected_name)
    if os.path.islink(expected):
        raise SubmissionError(f"{expected_name} is a symbolic link; submit the notebook file itself")
    candidates = sorted(
        name for name in os.listdir(folder) if name.endswith(".ipynb") and not name.startswith(".") and os.path.isfile(os.path.join(folder, name))
    ) if os.path.isdir(folder) else []
    if os.path.isfile(expected):
        # A copy such as "attention (1).ipynb" may contain the student's real work, so the warning names it.
        others = [name for name in candidates if name != expected_name]
        if others:
            return expected, f"graded {expected_name}; {', '.join(others[:5])} in the same folder was not graded"
        return expected, None
    if len(candidates) == 1:
        found = os.path.join(folder, candidates[0])
        if os.path.islink(found):
            raise SubmissionError(f"{candidates[0]} is a symbolic link; submit the notebook file itself")
        return found, f"graded {candidates[0]} in place of the missing {expected_name}"
    if not candidates:
        raise SubmissionError(f"no notebook found: {expected_name} is missing from {folder}")
    raise SubmissionError(
        f"{expected_name} is missing from {folder}, which contains several notebooks ({', '.join(candidates)}); "
        f"rename the one to grade to {expected_name}"
    )


def _megabytes(size: int) -> str:
    return f"{size / (1 << 20):.1f} MiB"


def read_notebook_bytes(path: str, max_bytes: Optional[int] = None) -> bytes:
    """Return a notebook file's bytes; raise SubmissionError when it is unreadable or larger than ``max_bytes``.

    The size is checked before reading, so a notebook of gigabytes costs
    the grader nothing.  Notebooks grow that large through the images in
    cell outputs, which grading does not need.
    """
    try:
        size = os.path.getsize(path)
        if max_bytes is not None and size > max_bytes:
            raise SubmissionError(
                f"{os.path.basename(path)} is {_megabytes(size)}, more than the {_megabytes(max_bytes)} the grader reads; "
                "clear all outputs (Kernel > Restart Kernel and Clear All Outputs), save and submit again"
            )
        with open(path, "rb") as handle:
            return handle.read()
    except OSError as error:
        raise SubmissionError(f"cannot read {path}: {error.strerror}") from None


def read_cells(raw: bytes, path: str = "<notebook>") -> list:
    """Parse notebook JSON of any nbformat 4.x (or 3.x) into cells; raise SubmissionError."""
    return cells_of_document(parse_document(raw, path), path)


def parse_document(raw: bytes, path: str = "<notebook>") -> dict:
    """Parse the JSON object of a notebook file; raise SubmissionError with the reason."""
    if not raw.strip():
        raise SubmissionError(f"{os.path.basename(path)} is empty")
    try:
        document = json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError as error:
        raise SubmissionError(f"{os.path.basename(path)} is not UTF-8 text: {error}") from None
    except RecursionError:
        raise SubmissionError(f"{os.path.basename(path)} is not a notebook: its JSON is nested too deeply") from None
    except json.JSONDecodeError as error:
        raise SubmissionError(
            f"{os.path.basename(path)} is not valid notebook JSON (line {error.lineno}, column {error.colno}: {error.msg})"
        ) from None
    if not isinstance(document, dict):
        raise SubmissionError(f"{os.path.basename(path)} is not a notebook: its JSON is not an object")
    return document


def cells_of_document(document: dict, path: str = "<notebook>") -> list:
    """Return the cells of a parsed notebook; raise SubmissionError when it has none."""
    if isinstance(document.get("cells"), list):
        raw_cells = document["cells"]
    elif isinstance(document.get("worksheets"), list):
        # nbformat 3 keeps cells in worksheets and code under "input".
        raw_cells = [cell for sheet in document["worksheets"] if isinstance(sheet, dict) for cell in sheet.get("cells", [])]
    else:
        raise SubmissionError(f"{os.path.basename(path)} is not a notebook: it has no cells")

    cells = []
    for index, raw_cell in enumerate(raw_cells):
        if not isinstance(raw_cell, dict):
            continue
        cell_type = str(raw_cell.get("cell_type", "code"))
        source = join_source(raw_cell.get("source", raw_cell.get("input", "")))
        metadata = raw_cell.get("metadata") if isinstance(raw_cell.get("metadata"), dict) else {}
        nbgrader = metadata.get("nbgrader") if isinstance(metadata.get("nbgrader"), dict) else {}
        grade_id = nbgrader.get("grade_id") if isinstance(nbgrader.get("grade_id"), str) else None
        is_test = bool(nbgrader.get("grade")) and not nbgrader.get("solution") and cell_type == "code"
        cells.append(Cell(index, cell_type, source, grade_id, is_test))
    return cells


@functools.lru_cache(maxsize=64)
def parse_cell(source: str):
    """Return the syntax tree of a cell, or None when it does not parse; callers must not change it.

    Reading a submission and checking its bans both need the trees, and
    parsing was the largest cost of the grader process, so each cell is
    parsed once.  The cache is small because trees are large.
    """
    try:
        return ast.parse(source)
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return None


@functools.lru_cache(maxsize=4096)
def defined_functions(source: str) -> frozenset:
    """Return the names of the top-level functions a cell defines (none if it does not parse)."""
    tree = parse_cell(source)
    if tree is None:
        return frozenset()
    return frozenset(node.name for node in tree.body if isinstance(node, ast.FunctionDef))


def _defines_any(source: str, names: set) -> bool:
    return bool(defined_functions(source) & names)


def _imports_student_checks(node) -> bool:
    if isinstance(node, ast.ImportFrom):
        return node.module == STUDENT_CHECK_MODULE
    return isinstance(node, ast.Import) and any(alias.name == STUDENT_CHECK_MODULE for alias in node.names)


@functools.lru_cache(maxsize=256)
def _definitions_only(source: str) -> str:
    """Keep the imports and definitions of a cell, dropping everything else.

    The import of the student checks is dropped too: the sandbox cannot import
    that module, and the failed import would show up as a raising cell.
    """
    tree = parse_cell(source)
    if tree is None:
        return ""
    kept = [
        node for node in tree.body
        if isinstance(node, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.ClassDef)) and not _imports_student_checks(node)
    ]
    return ast.unparse(ast.Module(body=kept, type_ignores=[])) if kept else ""


def _is_ipython_line(line: str) -> bool:
    stripped = line.strip()
    return stripped.startswith(("%", "!")) or (stripped.endswith("?") and not stripped.startswith("#"))


def transform_magics(source: str) -> str:
    """Turn IPython syntax (``%magic``, ``!shell``) into plain Python calls."""
    if not any(_is_ipython_line(line) for line in source.splitlines()):
        return source
    try:
        from IPython.core.inputtransformer2 import TransformerManager
    except ImportError:  # IPython absent: leave the code as it is
        return source
    try:
        return TransformerManager().transform_cell(source)
    except Exception:
        return source


def plan_submission(cells: list, graded_names: set, released_sources: set) -> tuple:
    """Return (code_cells, warnings): the cells to run and notes for the instructor."""
    warnings = []
    code_cells = []
    seen_answers: dict = {}
    for cell in cells:
        source = cell.source
        if cell.grade_id in graded_names and cell.cell_type == "code":
            if cell.grade_id in seen_answers:
                warnings.append(
                    f"answer cell {cell.grade_id!r} appears more than once (cells {seen_answers[cell.grade_id]} and "
                    f"{cell.index}); both run in order, so the later definition is graded"
                )
            seen_answers.setdefault(cell.grade_id, cell.index)
        if cell.cell_type != "code":
            # An answer cell turned into markdown still contains the student's code.
            if _defines_any(source, graded_names):
                warnings.append(f"cell {cell.index} is a {cell.cell_type} cell that defines a graded function; it was run as code")
                code_cells.append((cell.index, source))
            continue
        if cell.is_test or HIDDEN_TEST_MARKER in source:
            continue
        stripped = source.strip()
        if stripped in released_sources:
            definitions = _definitions_only(source)
            if definitions:
                code_cells.append((cell.index, definitions))
            continue
        code_cells.append((cell.index, transform_magics(source)))
    return code_cells, warnings


def load_submission(path: str, graded_names: set, released_sources: set, max_bytes: Optional[int] = None) -> Submission:
    """Read and plan one submitted notebook; raise SubmissionError if it cannot be read."""
    if os.path.islink(path):
        raise SubmissionError(f"{os.path.basename(path)} is a symbolic link; submit the notebook file itself")
    raw = read_notebook_bytes(path, max_bytes)
    cells = read_cells(raw, path)
    code_cells, warnings = plan_submission(cells, graded_names, released_sources)
    if not any(_defines_any(code, graded_names) for _, code in code_cells):
        warnings.append("no graded function is defined in this notebook")
    return Submission(path=path, cells=cells, code_cells=code_cells, warnings=warnings)


def released_cell_sources(release_notebook: str, graded_names: set) -> set:
    """Return the stripped sources of the released notebook's non-answer code cells."""
    cells = read_cells(Path(release_notebook).read_bytes(), release_notebook)
    return {
        cell.source.strip()
        for cell in cells
        if cell.cell_type == "code" and cell.grade_id not in graded_names and cell.source.strip()
    }
