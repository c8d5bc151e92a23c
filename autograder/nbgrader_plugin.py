"""Make stock ``nbgrader autograde`` use the isolated grader's verdicts.

:func:`configure` (called from the course's ``nbgrader_config.py``) changes
nbgrader's pipeline in three places:

* a pre-convert hook that stages a renamed notebook (the only ``.ipynb`` in
  the student's folder) under the expected name, and replaces an unreadable
  notebook with a placeholder that is graded 0 with the reason;
* :class:`GradeInSandbox`, the first sanitizing preprocessor: it grades the
  submission as submitted, in the sandbox, and then repairs the cell
  metadata so that nbgrader finds every answer and test cell exactly once;
* :class:`ApplyVerdicts`, which replaces nbgrader's ``Execute``: no Jupyter
  kernel runs student code.  Each test cell receives the grader's feedback
  as its output and its score as a partial-credit result, which nbgrader's
  ``SaveAutoGrades`` stores in the gradebook as usual.

The kernel's pass or fail of a test cell is therefore never consulted.
"""

from __future__ import annotations

import atexit
import copy
import json
import logging
import os
import shutil
import tempfile
import threading

import nbformat
from nbconvert.preprocessors import ClearMetadataPreprocessor
from nbgrader.preprocessors import (
    AssignLatePenalties,
    CheckCellMetadata,
    ClearHiddenTests,
    ClearOutput,
    DeduplicateIds,
    GetGrades,
    LimitOutput,
    NbGraderPreprocessor,
    OverwriteCells,
    OverwriteKernelspec,
    SaveAutoGrades,
)
from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor

from .grading import SubmissionResult, grader_for
from .results import store_result
from .sandbox import Limits, Sandbox
from .submission import SubmissionError, find_notebook, read_cells

log = logging.getLogger("autograder.nbgrader")

# Results of the sanitizing pass, read by the autograding pass of the same
# notebook in the same process: (assignment, student, notebook) -> result.
_results: dict = {}
# Expected paths of notebooks graded from a staged copy -> the reason they
# are graded 0, or None for a readable (renamed) notebook.
_unreadable: dict = {}
# Staged copy -> the expected path in submitted/ that nbgrader must see.
_staged_as: dict = {}
_sandbox = None
_sandbox_lock = threading.Lock()
_staging_directory = None


def _shared_sandbox() -> Sandbox:
    global _sandbox
    with _sandbox_lock:
        if _sandbox is None:
            _sandbox = Sandbox(Limits.from_environment())
            atexit.register(_sandbox.close)
    return _sandbox


def _staging() -> str:
    global _staging_directory
    if _staging_directory is None:
        _staging_directory = tempfile.mkdtemp(prefix="autograder-staging-")
        atexit.register(shutil.rmtree, _staging_directory, True)
    return _staging_directory


def _course_root() -> str:
    return os.getcwd()


def _student_of(path: str) -> str:
    # submitted/<student>/<assignment>/<notebook>.ipynb
    return os.path.basename(os.path.dirname(os.path.dirname(os.path.abspath(path))))


# -- pre-convert hook ---------------------------------------------------------------


def stage_submission(assignment, student, notebooks) -> None:
    """Stage renamed and unreadable notebooks so that nbgrader grades them.

    nbgrader passes its own list of the student's notebook paths, which is
    edited in place: a renamed notebook is replaced by a copy under the
    expected name, and an unreadable one by a placeholder built from the
    released notebook.
    """
    if not notebooks:
        return
    folder = os.path.dirname(os.path.abspath(notebooks[0]))
    assignment_id = os.path.basename(folder)
    student_id = os.path.basename(os.path.dirname(folder))
    try:
        grader = grader_for(assignment_id, _course_root())
    except KeyError:
        return  # not an assignment this grader knows; leave nbgrader's defaults
    expected = f"{grader.spec.notebook}.ipynb"
    names = [os.path.basename(path) for path in notebooks]

    if expected not in names:
        try:
            found, warning = find_notebook(folder, expected)
        except SubmissionError as error:
            log.warning("%s/%s: %s", student_id, assignment_id, error)
            return
        staged = _stage_copy(folder, assignment_id, student_id, expected, found)
        log.warning("%s/%s: %s", student_id, assignment_id, warning)
        notebooks[:] = [staged if path == found else path for path in notebooks]
        names = [os.path.basename(path) for path in notebooks]

    for position, path in enumerate(list(notebooks)):
        if os.path.basename(path) != expected:
            continue
        try:
            with open(path, "rb") as handle:
                read_cells(handle.read(), path)
            nbformat.read(path, as_version=4)
        except SubmissionError as error:
            notebooks[position] = _stage_placeholder(folder, assignment_id, student_id, expected, str(error))
        except Exception as error:  # nbformat could not read what our reader accepted
            reason = f"{expected} could not be read as a notebook: {type(error).__name__}: {error}"
            notebooks[position] = _stage_placeholder(folder, assignment_id, student_id, expected, reason)


def _stage_copy(submitted_folder: str, assignment_id: str, student_id: str, name: str, source: str) -> str:
    """Copy ``source`` to a private folder; nbgrader sees it as submitted/.../``name``."""
    folder = os.path.join(_staging(), student_id, assignment_id)
    os.makedirs(folder, exist_ok=True)
    target = os.path.abspath(os.path.join(folder, name))
    shutil.copyfile(source, target)
    _staged_as[target] = os.path.abspath(os.path.join(submitted_folder, name))
    _results.pop((assignment_id, student_id, os.path.splitext(name)[0]), None)
    return target


def _stage_placeholder(submitted_folder: str, assignment_id: str, student_id: str, name: str, reason: str) -> str:
    release = os.path.join(_course_root(), "release", assignment_id, name)
    target = _stage_copy(submitted_folder, assignment_id, student_id, name, release)
    _unreadable[_staged_as[target]] = reason
    log.warning("%s/%s: %s; it is graded 0", student_id, assignment_id, reason)
    return target


def _resources_for_staged_copies(original):
    """Wrap nbgrader's resource setup so a staged copy gets its submitted/ identity.

    nbgrader derives the student, assignment and notebook ids from the path
    it reads, which must lie under ``submitted/``; a staged copy lies
    elsewhere so that the student's folder is never changed.
    """

    def init_single_notebook_resources(self, notebook_filename):
        return original(self, _staged_as.get(os.path.abspath(notebook_filename), notebook_filename))

    init_single_notebook_resources.wraps_staged_copies = True
    return init_single_notebook_resources


# -- sanitizing pass ------------------------------------------------------------------


class GradeInSandbox(NbGraderPreprocessor):
    """Grade the notebook as submitted, then repair its nbgrader cell metadata."""

    def preprocess(self, nb, resources):
        info = resources["nbgrader"]
        assignment_id, student_id, notebook_id = info["assignment"], info["student"], info["notebook"]
        try:
            grader = grader_for(assignment_id, _course_root())
        except KeyError:
            self.log.warning("No grader is declared for assignment %s; skipping the sandbox", assignment_id)
            return nb, resources

        input_path = os.path.abspath(os.path.join(resources.get("metadata", {}).get("path", ""), f"{notebook_id}.ipynb"))
        reason = _unreadable.get(input_path)
        if reason is not None:
            result = grader.zero_result(student_id, f"{notebook_id}.ipynb", reason)
        else:
            result = self._grade(grader, nb, student_id)
        _results[(assignment_id, student_id, notebook_id)] = result
        store_result(_course_root(), result)
        for warning in result.warnings:
            self.log.warning("%s/%s: %s", student_id, assignment_id, warning)
        if result.error:
            self.log.warning("%s/%s: not graded: %s", student_id, assignment_id, result.error)

        release_path = os.path.join(_course_root(), "release", assignment_id, f"{notebook_id}.ipynb")
        repair_cells(nb, nbformat.read(release_path, as_version=4), grader.function_names, self.log)
        return nb, resources

    @staticmethod
    def _grade(grader, nb, student_id: str) -> SubmissionResult:
        with tempfile.TemporaryDirectory(prefix="autograder-submission-") as folder:
            path = os.path.join(folder, f"{grader.spec.notebook}.ipynb")
            with open(path, "w", encoding="utf-8") as handle:
                json.dump(nb, handle)
            return grader.grade_notebook(path, _shared_sandbox(), student_id)


def repair_cells(nb, release, function_names: tuple, logger=log) -> None:
    """Give the submission exactly one answer cell and one test cell per graded function.

    The canonical nbgrader metadata comes from the released notebook.  Cells
    with unknown or duplicated grade ids lose their nbgrader metadata, an
    answer cell changed to markdown becomes code again, and an answer cell
    whose metadata was stripped is found by the function it defines.
    Missing cells are added back by nbgrader's ``OverwriteCells``.
    """
    canonical = {}
    for cell in release.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id:
            canonical[grade_id] = (cell.cell_type, copy.deepcopy(cell.metadata["nbgrader"]), cell.source)

    seen = set()
    for index, cell in enumerate(nb.cells):
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if grade_id is None:
            cell.get("metadata", {}).pop("nbgrader", None)
            continue
        if grade_id not in canonical or grade_id in seen:
            if grade_id in seen:
                logger.warning("Cell %d repeats grade id %r; only the first keeps its nbgrader metadata", index, grade_id)
            del cell.metadata["nbgrader"]
            continue
        seen.add(grade_id)
        cell_type, metadata, _ = canonical[grade_id]
        cell.metadata["nbgrader"] = copy.deepcopy(metadata)
        if cell.cell_type != cell_type:
            _set_cell_type(cell, cell_type)

    for name in function_names:
        if name in canonical and name not in seen:
            index = _find_definition(nb, name)
            if index is not None:
                cell = nb.cells[index]
                cell.metadata["nbgrader"] = copy.deepcopy(canonical[name][1])
                if cell.cell_type != "code":
                    _set_cell_type(cell, "code")
                seen.add(name)
                logger.warning("Answer cell for %s had no nbgrader metadata; found it by its definition in cell %d", name, index)
        test_id = f"test_{name}"
        if test_id in canonical and test_id not in seen:
            index = _find_test_cell(nb, name, canonical[test_id][2])
            if index is not None:
                nb.cells[index].metadata["nbgrader"] = copy.deepcopy(canonical[test_id][1])
                seen.add(test_id)


def _set_cell_type(cell, cell_type: str) -> None:
    cell.cell_type = cell_type
    if cell_type == "code":
        cell.outputs = []
        cell.execution_count = None
    else:
        cell.pop("outputs", None)
        cell.pop("execution_count", None)


def _find_definition(nb, name: str):
    import ast

    found = None
    for index, cell in enumerate(nb.cells):
        if cell.get("metadata", {}).get("nbgrader"):
            continue
        try:
            tree = ast.parse(cell.source)
        except (SyntaxError, ValueError):
            continue
        if any(isinstance(node, ast.FunctionDef) and node.name == name for node in tree.body):
            found = index
    return found


def _find_test_cell(nb, name: str, released_source: str):
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or cell.get("metadata", {}).get("nbgrader"):
            continue
        if cell.source.strip() == released_source.strip():
            return index
    return None


# -- autograding pass ---------------------------------------------------------------------


class ApplyVerdicts(NbGraderPreprocessor):
    """Write the sandbox's verdicts into the test cells instead of executing the notebook."""

    def preprocess(self, nb, resources):
        info = resources["nbgrader"]
        key = (info["assignment"], info["student"], info["notebook"])
        result = _results.get(key)
        if result is None:
            try:
                grader = grader_for(info["assignment"], _course_root())
            except KeyError:
                self.log.warning("No grader is declared for assignment %s; test cells get no verdicts", info["assignment"])
                return nb, resources
            result = GradeInSandbox._grade(grader, nb, info["student"])
            _results[key] = result
            store_result(_course_root(), result)

        by_test_id = {f"test_{function.name}": function for function in result.functions}
        for cell in nb.cells:
            grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
            if cell.cell_type != "code" or grade_id not in by_test_id:
                continue
            function = by_test_id[grade_id]
            text = function.feedback()
            if result.error:
                text = f"This notebook could not be graded: {result.error}\n" + text
            cell.outputs = [
                nbformat.v4.new_output("stream", name="stdout", text=text + "\n"),
                nbformat.v4.new_output("execute_result", data={"text/plain": f"{function.score:g}"}, execution_count=1),
            ]
            cell.execution_count = 1
        return nb, resources


class SaveDiagnoses(NbGraderPreprocessor):
    """Store each function's diagnosis as the automatic comment on its answer cell."""

    def preprocess(self, nb, resources):
        from nbgrader.api import Gradebook, MissingEntry

        info = resources["nbgrader"]
        result = _results.get((info["assignment"], info["student"], info["notebook"]))
        if result is None:
            return nb, resources
        with Gradebook(info["db_url"]) as gradebook:
            for function in result.functions:
                try:
                    comment = gradebook.find_comment(function.name, info["notebook"], info["assignment"], info["student"])
                except MissingEntry:
                    continue
                comment.auto_comment = function.feedback()
            gradebook.db.commit()
        return nb, resources


def configure(c) -> None:
    """Install the isolated grader into an nbgrader configuration object."""
    from nbgrader.converters.base import BaseConverter

    if not getattr(BaseConverter.init_single_notebook_resources, "wraps_staged_copies", False):
        BaseConverter.init_single_notebook_resources = _resources_for_staged_copies(
            BaseConverter.init_single_notebook_resources
        )
    c.Autograde.pre_convert_hook = stage_submission
    c.Autograde.sanitize_preprocessors = [
        GradeInSandbox,
        ClearOutput,
        DeduplicateIds,
        OverwriteKernelspec,
        OverwriteCells,
        CheckCellMetadata,
    ]
    c.Autograde.autograde_preprocessors = [
        ApplyVerdicts,
        ClearMetadataPreprocessor,
        LimitOutput,
        SaveAutoGrades,
        SaveDiagnoses,
        AssignLatePenalties,
        CheckCellMetadata,
    ]
    c.OverwriteCells.add_missing_cells = True
    # Feedback shows verdicts and hints but never the hidden-test code.
    c.GenerateFeedback.preprocessors = [GetGrades, ClearHiddenTests, CSSHTMLHeaderPreprocessor]
    c.ClearHiddenTests.enforce_metadata = False
