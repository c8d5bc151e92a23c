"""The batch command stores what it graded, even for odd student folders and a locked gradebook."""

import sqlite3

import pytest

from autograder import gradebook
from autograder.batch import _graded_digest, folder_digest, grade_batch, submission_folders
from autograder.classroom import StudentRecipe, write_submission
from autograder.grading import load_assignment
from autograder.results import load_record, load_records
from autograder.sandbox import Limits

from conftest import make_course

ASSIGNMENT = "ps01_span"
LIMITS = Limits(cell_seconds=5, call_seconds=2, submission_seconds=20)
LONG_NAME = "L" * 250


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    course = make_course(tmp_path_factory.mktemp("batch") / "course")
    spec = load_assignment(ASSIGNMENT)
    for student in ("alice", "bob", LONG_NAME):
        write_submission(str(course), spec, StudentRecipe(student, ""))
    write_submission(str(course), spec, StudentRecipe("late", ""), timestamp="not a date")
    write_submission(str(course), spec, StudentRecipe(".hidden", ""))
    return course


def grade(course, **options):
    return grade_batch(str(course), ASSIGNMENT, workers=2, limits=LIMITS, progress=False, **options)


def test_hidden_folders_skipped(course):
    from autograder.batch import BatchError

    students = [student for student, _ in submission_folders(str(course), ASSIGNMENT)]
    assert ".hidden" not in students
    assert "alice" in students
    with pytest.raises(BatchError, match="start with a dot, and such folders are skipped"):
        submission_folders(str(course), ASSIGNMENT, [".hidden"])


def test_odd_folders_graded_once(course):
    first = grade(course, force=True)
    assert first.errors == 0
    assert first.graded == 4
    assert load_record(str(course), ASSIGNMENT, LONG_NAME)["student"] == LONG_NAME
    late = load_record(str(course), ASSIGNMENT, "late")
    assert any("timestamp.txt is not a valid date" in warning for warning in late["warnings"])
    assert not list((course / ".grading" / ASSIGNMENT).glob(".tmp-*"))

    second = grade(course)
    assert second.skipped == 4
    assert second.graded == 0


def test_changed_grader_grades_everyone_again(course):
    grade(course, force=True)
    stricter = Limits(cell_seconds=5, call_seconds=3, submission_seconds=20)
    changed = grade_batch(str(course), ASSIGNMENT, workers=2, limits=stricter, progress=False)
    assert (changed.graded, changed.skipped) == (4, 0)
    again = grade_batch(str(course), ASSIGNMENT, workers=2, limits=stricter, progress=False)
    assert (again.graded, again.skipped) == (0, 4)


def test_changed_folder_graded_again(course):
    folder = course / "submitted" / "alice" / ASSIGNMENT
    before = folder_digest(str(folder))
    assert _graded_digest("alice", str(folder), before) == before
    (folder / "timestamp.txt").write_text("2026-12-02 09:00:00.000000 UTC")
    assert _graded_digest("alice", str(folder), before) == ""


def test_locked_gradebook_stores_nothing(course, monkeypatch):
    monkeypatch.setattr(gradebook, "BUSY_TIMEOUT_SECONDS", 0.2)
    reader = sqlite3.connect(course / "gradebook.db", isolation_level=None)
    reader.execute("BEGIN")
    reader.execute("SELECT COUNT(*) FROM student").fetchone()  # holds a shared lock, which blocks every commit
    try:
        summary = grade(course, force=True, json_path=str(course / "locked.json"))
    finally:
        reader.execute("ROLLBACK")
        reader.close()
    assert summary.graded == 0
    assert summary.errors == 4
    assert summary.records == []

    again = grade(course, force=True)
    assert again.errors == 0
    assert again.graded == 4
    assert len(load_records(str(course), ASSIGNMENT)) == 4


def test_fingerprint_ignores_course_location(tmp_path):
    import shutil

    from autograder.batch import grader_fingerprint

    first = make_course(tmp_path / "first")
    second = tmp_path / "elsewhere" / "second"
    shutil.copytree(first, second)
    assert grader_fingerprint(str(first), ASSIGNMENT, LIMITS) == grader_fingerprint(str(second), ASSIGNMENT, LIMITS)
    notebook = second / "release" / ASSIGNMENT / f"{load_assignment(ASSIGNMENT).notebook}.ipynb"
    notebook.write_text(notebook.read_text() + "\n")
    assert grader_fingerprint(str(first), ASSIGNMENT, LIMITS) != grader_fingerprint(str(second), ASSIGNMENT, LIMITS)


def test_lost_rows_stop_batch(course, monkeypatch):
    calls = []
    original = gradebook.GradebookRows.write

    def fails_after_first(self, *arguments):
        calls.append(arguments[0])
        if len(calls) > 1:
            raise sqlite3.OperationalError("database is locked")
        return original(self, *arguments)

    monkeypatch.setattr(gradebook.GradebookRows, "write", fails_after_first)
    summary = grade(course, force=True)
    assert summary.graded == 0
    assert summary.errors == 4
