"""The autograded notebook: the submission repaired, with verdicts as outputs.

Both grading paths produce it: nbgrader's own pipeline (through the
preprocessors in :mod:`autograder.nbgrader_plugin`) and the fast batch
command, which writes it directly so that ``nbgrader generate_feedback``
works on either.  The functions here work on plain notebook dicts and on
nbformat's ``NotebookNode`` alike, so the batch workers never import
nbformat: with jsonschema, its import took about 1 s on a 2-core test
machine.
"""

from __future__ import annotations

import copy
import json
import logging
import os
import shutil

from .submission import SubmissionError, cells_of_document, defined_functions, find_notebook, join_source, parse_document

log = logging.getLogger("autograder.nbgrader")


def _nbgrader_metadata(cell) -> dict:
    metadata = cell.get("metadata")
    found = metadata.get("nbgrader") if isinstance(metadata, dict) else None
    return found if isinstance(found, dict) else {}


def _grade_id(cell):
    return _nbgrader_metadata(cell).get("grade_id")


def repair_cells(nb, release, function_names: tuple, logger=log) -> None:
    """Give the submission exactly one answer cell and one test cell per graded function.

    The canonical nbgrader metadata comes from the released notebook.  Cells
    with unknown or duplicated grade ids lose their nbgrader metadata, an
    answer cell changed to markdown becomes code again, and an answer cell
    whose metadata was stripped is found by the function it defines.
    Missing cells are added back by nbgrader's ``OverwriteCells``.
    """
    canonical = {}
    for cell in release["cells"]:
        grade_id = _grade_id(cell)
        if grade_id:
            canonical[grade_id] = (cell["cell_type"], cell["metadata"]["nbgrader"], cell["source"])

    seen = set()
    for index, cell in enumerate(nb["cells"]):
        grade_id = _grade_id(cell)
        if grade_id is None:
            cell.get("metadata", {}).pop("nbgrader", None)
            continue
        if grade_id not in canonical or grade_id in seen:
            if grade_id in seen:
                logger.warning("Cell %d repeats grade id %r; only the first keeps its nbgrader metadata", index, grade_id)
            del cell["metadata"]["nbgrader"]
            continue
        seen.add(grade_id)
        cell_type, metadata, _ = canonical[grade_id]
        cell["metadata"]["nbgrader"] = copy.deepcopy(metadata)
        if cell["cell_type"] != cell_type:
            _set_cell_type(cell, cell_type)

    for name in function_names:
        if name in canonical and name not in seen:
            index = _find_definition(nb, name)
            if index is not None:
                cell = nb["cells"][index]
                cell["metadata"]["nbgrader"] = copy.deepcopy(canonical[name][1])
                if cell["cell_type"] != "code":
                    _set_cell_type(cell, "code")
                seen.add(name)
                logger.warning("Answer cell for %s had no nbgrader metadata; found it by its definition in cell %d", name, index)
        test_id = f"test_{name}"
        if test_id in canonical and test_id not in seen:
            index = _find_test_cell(nb, name, canonical[test_id][2])
            if index is not None:
                cell = nb["cells"][index]
                cell["metadata"]["nbgrader"] = copy.deepcopy(canonical[test_id][1])
                seen.add(test_id)


def _set_cell_type(cell, cell_type: str) -> None:
    cell["cell_type"] = cell_type
    if cell_type == "code":
        cell["outputs"] = []
        cell["execution_count"] = None
    else:
        cell.pop("outputs", None)
        cell.pop("execution_count", None)


def _find_definition(nb, name: str):
    found = None
    for index, cell in enumerate(nb["cells"]):
        if _nbgrader_metadata(cell):
            continue
        if name in defined_functions(cell["source"]):
            found = index
    return found


def _find_test_cell(nb, name: str, released_source: str):
    for index, cell in enumerate(nb["cells"]):
        if cell["cell_type"] != "code" or _nbgrader_metadata(cell):
            continue
        if cell["source"].strip() == released_source.strip():
            return index
    return None


def apply_verdicts(nb, result) -> None:
    """Give each test cell the feedback as stdout and the score as a partial-credit result.

    nbgrader's ``SaveAutoGrades`` reads a test cell's score from its first
    ``execute_result``, so the number written here is the score it stores.
    The outputs have the mapping type of the notebook, because nbgrader
    reads them as attributes.
    """
    node = type(nb)
    by_test_id = {f"test_{function.name}": function for function in result.functions}
    for cell in nb["cells"]:
        grade_id = _grade_id(cell)
        if cell["cell_type"] != "code" or grade_id not in by_test_id:
            continue
        function = by_test_id[grade_id]
        text = function.feedback()
        if result.error:
            text = f"This notebook could not be graded: {result.error}\n" + text
        cell["outputs"] = [
            node(output_type="stream", name="stdout", text=text + "\n"),
            node(
                output_type="execute_result", data=node({"text/plain": f"{function.score:g}"}),
                metadata=node(), execution_count=1,
            ),
        ]
        cell["execution_count"] = 1


def _restore_instructor_cells(nb, source, release) -> None:
    """Put back the instructor's version of every test cell, adding missing cells.

    This mirrors nbgrader's ``OverwriteCells`` for the cells that matter to
    feedback: test cells get the source text (whose hidden region the
    feedback step removes), and a deleted cell comes back right after the
    cell before it.  Answer and other cells come back from the released
    notebook, never from ``source/``, so no solution reaches the feedback.
    """
    released = {_grade_id(cell): cell for cell in release["cells"] if _grade_id(cell)}
    source_cells = {}
    for cell in source["cells"]:
        grade_id = _grade_id(cell)
        if not grade_id:
            continue
        metadata = cell["metadata"]["nbgrader"]
        is_test = metadata.get("grade") and not metadata.get("solution")
        source_cells[grade_id] = cell if is_test or grade_id not in released else released[grade_id]
    for cell in nb["cells"]:
        grade_id = _grade_id(cell)
        if grade_id in source_cells:
            original = source_cells[grade_id]
            if original["metadata"]["nbgrader"].get("locked") or original["metadata"]["nbgrader"].get("grade"):
                cell["source"] = original["source"]
                if cell["cell_type"] != original["cell_type"]:
                    _set_cell_type(cell, original["cell_type"])
    _insert_missing_cells(nb, source_cells)


def _insert_missing_cells(nb, cells: dict) -> None:
    """Insert a copy of each cell of ``cells`` ({grade id: cell}, in notebook order) that ``nb`` lacks.

    Each goes right after the nearest earlier cell of ``cells`` that ``nb``
    has, or at the end.
    """
    present = {_grade_id(cell) for cell in nb["cells"]} & set(cells)
    order = list(cells)
    for position, grade_id in enumerate(order):
        if grade_id in present:
            continue
        insert_at = len(nb["cells"])
        for previous in reversed(order[:position]):
            index = next((i for i, cell in enumerate(nb["cells"]) if _grade_id(cell) == previous), None)
            if index is not None:
                insert_at = index + 1
                break
        added = copy.deepcopy(cells[grade_id])
        if added["cell_type"] == "code":
            added["outputs"] = []
            added["execution_count"] = None
        nb["cells"].insert(insert_at, added)
        present.add(grade_id)


def restore_released_cells(nb, release) -> None:
    """Add back, from the released notebook, each nbgrader cell that the submission lacks.

    nbgrader's ``OverwriteCells`` puts a missing test cell after the cell
    before it in the source notebook, and fails with a KeyError when that
    cell, usually the answer cell, is missing too: an empty notebook, or one
    whose answer cell was deleted, stopped ``nbgrader autograde`` for that
    student.  Answer cells come back as the released stubs, never from
    ``source/``.
    """
    _insert_missing_cells(nb, {_grade_id(cell): cell for cell in release["cells"] if _grade_id(cell)})


_instructor_notebooks: dict = {}


class _StudentLog(logging.LoggerAdapter):
    """A logger that puts "student/assignment: " before each message."""

    def process(self, msg, kwargs):
        return f"{self.extra['student']}: {msg}", kwargs


def _plain_notebook(document: dict) -> dict:
    """Return a parsed notebook as nbformat 4 dicts, with every cell's source as one string.

    A damaged notebook is repaired afterwards, so nothing is validated here.
    nbformat is imported only for the rare nbformat 3 file.
    """
    if document.get("nbformat") != 4:
        import nbformat

        converted = json.loads(json.dumps(nbformat.reads(json.dumps(document), as_version=4, capture_validation_error={})))
        return _plain_notebook(converted)
    cells = document.get("cells")
    if not isinstance(cells, list) or not all(isinstance(cell, dict) for cell in cells):
        raise ValueError("the notebook's cells are not a list of objects")
    document.setdefault("metadata", {})
    for cell in cells:
        cell["source"] = join_source(cell.get("source", ""))
        if not isinstance(cell.get("metadata"), dict):
            cell["metadata"] = {}
        cell.setdefault("cell_type", "code")
        if cell["cell_type"] == "code":
            # Outputs are replaced by the verdicts.
            cell["outputs"] = []
            cell["execution_count"] = None
    return document


def instructor_notebook(path: str) -> dict:
    """Read a release or source notebook as plain dicts, once per modification time."""
    key = (path, os.stat(path).st_mtime_ns)
    if key not in _instructor_notebooks:
        with open(path, "rb") as handle:
            _instructor_notebooks[key] = _plain_notebook(parse_document(handle.read(), path))
    return _instructor_notebooks[key]


def write_autograded_notebook(course_root: str, assignment_id: str, student_id: str, folder: str, result) -> str:
    """Write ``autograded/<student>/<assignment>/<notebook>.ipynb`` for one graded submission."""
    from .grading import load_assignment

    spec = load_assignment(assignment_id)
    name = f"{spec.notebook}.ipynb"
    release = instructor_notebook(os.path.join(course_root, "release", assignment_id, name))
    source = instructor_notebook(os.path.join(course_root, "source", assignment_id, name))
    nb = None
    # A submission the grader could not read, such as one over the size limit, is shown as
    # the released notebook with the verdicts, and is not read again here.
    if result.error is None:
        try:
            path, _ = find_notebook(folder, name)
            with open(path, "rb") as handle:
                raw = handle.read()
            # One JSON parse serves both the readability check and the conversion.
            document = parse_document(raw, path)
            cells_of_document(document, path)
            nb = _plain_notebook(document)
        except (SubmissionError, OSError, ValueError, KeyError, AttributeError, TypeError):
            nb = None
    if nb is None:
        nb = copy.deepcopy(release)
    # Batch workers grade many students, so each repair warning names the student.
    repair_cells(nb, release, spec.function_names, _StudentLog(log, {"student": f"{student_id}/{assignment_id}"}))
    _restore_instructor_cells(nb, source, release)
    apply_verdicts(nb, result)

    destination = os.path.join(course_root, "autograded", student_id, assignment_id)
    os.makedirs(destination, exist_ok=True)
    target = os.path.join(destination, name)
    temporary = target + ".tmp"
    # The notebook is valid by construction, and nbformat's validator would triple the cost.
    # json.dumps, unlike json.dump, uses the C encoder.
    text = json.dumps(nb, sort_keys=True, ensure_ascii=False)
    with open(temporary, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(temporary, target)
    timestamp = os.path.join(folder, "timestamp.txt")
    if os.path.isfile(timestamp):
        shutil.copyfile(timestamp, os.path.join(destination, "timestamp.txt"))
    return target
