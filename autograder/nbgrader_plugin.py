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
from .feedback_notebook import apply_verdicts, instructor_notebook, repair_cells, restore_released_cells
from .submission import SubmissionError, find_notebook, join_source, read_cells, read_notebook_bytes

log = logging.getLogger("autograder.nbgrader")

# Results of the sanitizing pass, read by the autograding pass of the same
# notebook in the same process: (assignment, student, notebook) -> result.
_results: dict = {}
# Expected paths of notebooks graded from a staged copy -> the reason they
# are graded 0, or None for a readable (renamed) notebook.
_unreadable: dict = {}
# Staged copy -> the expected path in submitted/ that nbgrader must see.
_staged_as: dict = {}
# Expected path of a renamed notebook -> the warning that names the file graded.
_renamed: dict = {}
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
        return  # not an assignment declared in assignments/; leave nbgrader's defaults
    expected = f"{grader.spec.notebook}.ipynb"
    names = [os.path.basename(path) for path in notebooks]

    if expected not in names:
        try:
            found, warning = find_notebook(folder, expected)
        except SubmissionError as error:
            log.warning("%s/%s: %s", student_id, assignment_id, error)
            return
        staged = _stage_copy(folder, assignment_id, student_id, expected, found)
        _renamed[_staged_as[staged]] = warning
        log.warning("%s/%s: %s", student_id, assignment_id, warning)
        notebooks[:] = [staged if path == found else path for path in notebooks]
        names = [os.path.basename(path) for path in notebooks]

    for position, path in enumerate(list(notebooks)):
        if os.path.basename(path) != expected:
            continue
        try:
            read_cells(read_notebook_bytes(path, Limits.from_environment().notebook_bytes), path)
            nbformat.read(path, as_version=4)
        except SubmissionError as error:
            notebooks[position] = _stage_placeholder(folder, assignment_id, student_id, expected, str(error))
        except Exception as error:  # nbformat could not read what our reader accepted
            reason = f"{expected} could not be read as a notebook: {type(error).__name__}: {error}"
            notebooks[position] = _stage_placeholder(folder, assignment_id, student_id, expected, reason)


def _stage_copy(submitted_folder: str, assignment_id: str, student_id: str, name: str, source: str) -> str:
    """Copy ``source`` to a private folder that nbgrader treats as submitted/.../``name``."""
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


INCOMPLETE_MARKER = ".autograde-incomplete"


def _autograded_folder(submitted_folder: str) -> str:
    assignment_id = os.path.basename(submitted_folder)
    student_id = os.path.basename(os.path.dirname(submitted_folder))
    return os.path.join(_course_root(), "autograded", student_id, assignment_id)


def mark_incomplete(assignment, student, notebooks) -> None:
    """Leave a marker in the autograded folder until this student's grading completes."""
    stage_submission(assignment, student, notebooks)
    if notebooks:
        folder = _autograded_folder(os.path.dirname(os.path.abspath(_staged_as.get(os.path.abspath(notebooks[0]), notebooks[0]))))
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, INCOMPLETE_MARKER), "w") as handle:
            handle.write("nbgrader autograde started on this submission and has not finished\n")


def mark_complete(assignment, student, notebooks) -> None:
    if notebooks:
        folder = _autograded_folder(os.path.dirname(os.path.abspath(_staged_as.get(os.path.abspath(notebooks[0]), notebooks[0]))))
        marker = os.path.join(folder, INCOMPLETE_MARKER)
        if os.path.exists(marker):
            os.remove(marker)


def _redo_incomplete(original):
    """Wrap nbgrader's skip check so a student whose grading was interrupted is graded again.

    nbgrader skips a student whose autograded folder exists; after a crash
    that folder can hold a half-graded notebook, recognisable by the marker.
    """

    def init_destination(self, assignment_id, student_id):
        marker = os.path.join(self._format_dest(assignment_id, student_id), INCOMPLETE_MARKER)
        if os.path.exists(marker):
            log.warning("%s/%s: the last autograde of this submission was interrupted; grading it again", student_id, assignment_id)
            shutil.rmtree(os.path.dirname(marker), ignore_errors=True)
        return original(self, assignment_id, student_id)

    init_destination.redoes_incomplete = True
    return init_destination


def _resources_for_staged_copies(original):
    """Wrap nbgrader's resource setup so a staged copy gets its submitted/ identity.

    nbgrader derives the student, assignment and notebook ids from the path
    it reads, which must lie under ``submitted/``.  A staged copy lies
    elsewhere, so that the student's folder is never changed.
    """

    def init_single_notebook_resources(self, notebook_filename):
        return original(self, _staged_as.get(os.path.abspath(notebook_filename), notebook_filename))

    init_single_notebook_resources.wraps_staged_copies = True
    return init_single_notebook_resources


# -- sanitizing pass ------------------------------------------------------------------


def _normalise_cells(nb) -> None:
    """Give every cell text source, a metadata dict and no outputs.

    Outputs are cleared later in the pipeline anyway.  Clearing them first
    keeps a notebook with malformed outputs or non-text sources from failing
    nbgrader's validation between steps, so both grading paths agree.
    """
    for cell in nb.cells:
        cell["source"] = join_source(cell.get("source", ""))
        if not isinstance(cell.get("metadata"), dict):
            cell["metadata"] = nbformat.NotebookNode()
        if cell.get("cell_type") == "code":
            cell["outputs"] = []
            cell["execution_count"] = None


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

        _normalise_cells(nb)
        input_path = os.path.abspath(os.path.join(resources.get("metadata", {}).get("path", ""), f"{notebook_id}.ipynb"))
        reason = _unreadable.get(input_path)
        if reason is not None:
            result = grader.zero_result(student_id, f"{notebook_id}.ipynb", reason)
        else:
            result = self._grade(grader, nb, student_id)
            if input_path in _renamed:
                result.warnings.insert(0, _renamed[input_path])
        _results[(assignment_id, student_id, notebook_id)] = result
        store_result(_course_root(), result)
        for warning in result.warnings:
            self.log.warning("%s/%s: %s", student_id, assignment_id, warning)
        if result.error:
            self.log.warning("%s/%s: not graded: %s", student_id, assignment_id, result.error)

        release_path = os.path.join(_course_root(), "release", assignment_id, f"{notebook_id}.ipynb")
        release = nbformat.from_dict(instructor_notebook(release_path))
        repair_cells(nb, release, grader.function_names, self.log)
        restore_released_cells(nb, release)
        return nb, resources

    @staticmethod
    def _grade(grader, nb, student_id: str) -> SubmissionResult:
        with tempfile.TemporaryDirectory(prefix="autograder-submission-") as folder:
            path = os.path.join(folder, f"{grader.spec.notebook}.ipynb")
            with open(path, "w", encoding="utf-8") as handle:
                json.dump(nb, handle)
            return grader.grade_notebook(path, _shared_sandbox(), student_id)


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

        apply_verdicts(nb, result)
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
    from nbgrader.converters.autograde import Autograde

    if not getattr(Autograde.init_destination, "redoes_incomplete", False):
        Autograde.init_destination = _redo_incomplete(Autograde.init_destination)
    c.Autograde.pre_convert_hook = mark_incomplete
    c.Autograde.post_convert_hook = mark_complete
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
