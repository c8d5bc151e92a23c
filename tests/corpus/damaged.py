"""Notebooks damaged by editors, students or the file system, with correct code inside.

A damaged notebook whose code is intact must still get full marks, with a
warning where the grader had to guess.  A file that is not a notebook at all
gets 0 for every function and a reason that states what is wrong with it.
"""

from __future__ import annotations

import copy

import nbformat

from autograder.classroom import (
    answer_cell_to_markdown,
    delete_test_cell,
    downgrade_minor_version,
    duplicate_answer_cell,
    reverse_cells,
    strip_metadata,
)
from autograder.spec import AssignmentSpec

from .entry import ZERO, Entry, cell

# A notebook cut off in the middle of its JSON, as a full disk or an interrupted upload leaves it.
TRUNCATED_NOTEBOOK = b'{\n "cells": [\n  {\n   "cell_type": "code",\n   "execution_count": null,\n   "id": "code-02",\n   "metadata": {},\n   "source": ["import numpy as np\\n", "impo'

RAISING_CELLS = (
    'raise RuntimeError("this cell always fails")\n',
    "1 / 0\n",
    "undefined_helper()\n",
    "def broken(:\n    pass\n",
)

MAGICS = (
    "%matplotlib inline\n%time total = 1 + 1\n!echo hello\n",
    "%%capture\nprint('captured')\n",
)

UNICODE_MARKDOWN = cell(
    """
    ## Σημειώσεις — 注意力机制のメモ

    Η προσοχή (attention) σταθμίζει τα διανύσματα τιμών· τα βάρη softmax αθροίζουν στο 1.
    注意力的输出是值向量的凸组合。ソフトマックスの重みは非負で、和は 1 です。
    """
)

UNICODE_CODE = cell(
    """
    # 注释: αυτό το κελί τυπώνει κείμενο σε πολλές γλώσσες.
    greeting = "Γειά σου, κόσμε — 你好，世界 — こんにちは"
    print(greeting)
    """
)


def ensure_cell_ids(nb) -> None:
    """Make the notebook nbformat 4.5, where every cell carries an id."""
    nb.nbformat_minor = 5
    for index, notebook_cell in enumerate(nb.cells):
        notebook_cell.setdefault("id", f"cell-{index}")


def convert_to_nbformat_3(nb) -> None:
    """Turn the notebook into nbformat 3 in place: cells inside worksheets, code under "input"."""
    converted = nbformat.convert(copy.deepcopy(nb), 3)
    nb.clear()
    nb.update(converted)


def add_unicode_cells(nb) -> None:
    """Add Greek and CJK text: a markdown and a code cell after the setup cell, and a line in the first markdown cell."""
    setup_index = next(index for index, notebook_cell in enumerate(nb.cells) if notebook_cell.cell_type == "code")
    nb.cells.insert(setup_index + 1, nbformat.v4.new_markdown_cell(UNICODE_MARKDOWN))
    nb.cells.insert(setup_index + 2, nbformat.v4.new_code_cell(UNICODE_CODE))
    title = next(notebook_cell for notebook_cell in nb.cells if notebook_cell.cell_type == "markdown")
    title.source += "\n\nΣυμβολισμός: Q ∈ ℝ^{n×d_k} — 查询矩阵。\n"


def damaged_entries(spec: AssignmentSpec) -> list:
    """Return the damaged submissions of one assignment."""
    names = spec.function_names
    first, second, third = names[0], names[1], names[2]
    expected_name = f"{spec.notebook}.ipynb"
    all_zero = {name: ZERO for name in names}

    return [
        # -- readable notebooks with correct code: full marks ----------------------------------
        Entry("metadata-stripped", "every cell's metadata removed, as some editors do", damage=strip_metadata),
        Entry("test-cell-deleted", f"the test cell of {third} deleted", damage=delete_test_cell(third)),
        Entry(
            "answer-cell-duplicated",
            f"the answer cell of {first} duplicated, with the same grade id",
            damage=duplicate_answer_cell(first),
            warnings=(f"answer cell {first!r} appears more than once",),
        ),
        Entry("cells-reordered", "every answer cell moved to the end, in reverse order", damage=reverse_cells),
        Entry(
            "answer-cell-markdown",
            f"the answer cell of {second} turned into a markdown cell",
            damage=answer_cell_to_markdown(second),
            warnings=("defines a graded function; it was run as code",),
        ),
        Entry(
            "raising-extra-cells",
            "extra cells that raise RuntimeError, ZeroDivisionError, NameError and SyntaxError, before and after the answers",
            cells_before=RAISING_CELLS,
            cells_after=RAISING_CELLS,
        ),
        Entry(
            "renamed-notebook",
            "the notebook saved under another name, the only .ipynb in the folder",
            file_name=f"{spec.notebook} (1).ipynb",
            warnings=(f"graded {spec.notebook} (1).ipynb in place of the missing {expected_name}",),
        ),
        Entry("nbformat-4.4", "nbformat 4.4, whose cells carry no ids", damage=downgrade_minor_version),
        Entry("nbformat-4.5", "nbformat 4.5, every cell with an id", damage=ensure_cell_ids),
        Entry("nbformat-3", "nbformat 3: cells inside a worksheet, code under 'input'", damage=convert_to_nbformat_3),
        Entry("magics", "IPython line and cell magics and a shell escape in extra cells", cells_before=MAGICS),
        Entry(
            "unicode-text-c-locale",
            "Greek and CJK text in markdown and in a code cell, graded by a grader running with LANG=C",
            damage=add_unicode_cells,
            locale="C",
        ),
        # -- unreadable files: 0 with a reason ------------------------------------------------
        Entry(
            "truncated-json",
            "a notebook cut off in the middle of its JSON",
            raw_bytes=TRUNCATED_NOTEBOOK,
            scores=all_zero,
            error=("is not valid notebook JSON",),
        ),
        Entry("empty-file", "an empty notebook file", raw_bytes=b"", scores=all_zero, error=("is empty",)),
        Entry(
            "not-utf8",
            "a notebook saved in Latin-1",
            raw_bytes='{"cells": [], "metadata": {"author": "Ünal"}}'.encode("latin-1"),
            scores=all_zero,
            error=("is not UTF-8 text",),
        ),
        Entry(
            "json-not-a-notebook",
            "valid JSON that is a list, not a notebook",
            raw_bytes=b"[1, 2, 3]",
            scores=all_zero,
            error=("is not a notebook",),
        ),
        Entry(
            "two-notebooks",
            f"two notebooks in the folder, neither named {expected_name}",
            file_name="draft.ipynb",
            extra_copies=("final.ipynb",),
            scores=all_zero,
            error=("draft.ipynb", "final.ipynb", expected_name),
        ),
        Entry(
            "no-notebook",
            "a folder that holds only a text file",
            raw_bytes=b"I could not get the notebook to save.\n",
            file_name="README.txt",
            scores=all_zero,
            error=("no notebook found",),
        ),
    ]
