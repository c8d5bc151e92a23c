"""Write batch results into nbgrader's SQLite gradebook.

The batch writer creates exactly the rows that nbgrader's
``Gradebook.add_submission`` creates: a submitted notebook per notebook, a
grade per grade cell, a comment per solution cell and both per task cell,
with the same defaults.  It sets scores and comments as nbgrader's
``SaveAutoGrades`` does.  It uses the standard library's sqlite3 rather than
nbgrader's ORM, for two reasons measured on a 2-core machine.  The ORM
methods commit once per call and loaded every cell, about 14 ms per student.
Importing ``nbgrader.api`` takes about 1.5 s, longer than grading 100
submissions.  ``tests/test_nbgrader_pipeline.py`` compares every row with the
rows ``nbgrader autograde`` creates.
"""

from __future__ import annotations

import datetime
import os
import sqlite3
import uuid
from typing import Optional

GRADEBOOK_FILE = "gradebook.db"
# How long a write waits for another program (such as the formgrader) to release the gradebook.
BUSY_TIMEOUT_SECONDS = 30.0


class GradebookError(Exception):
    """A gradebook that cannot take the batch's results, with what to do about it."""


def gradebook_path(course_root: str) -> str:
    return os.path.join(os.path.abspath(course_root), GRADEBOOK_FILE)


def check_gradebook(course_root: str, assignment_id: str) -> None:
    """Raise GradebookError unless the gradebook contains the assignment (a cheap, early check)."""
    path = gradebook_path(course_root)
    hint = f"run `nbgrader generate_assignment {assignment_id}` first"
    if not os.path.isfile(path):
        raise GradebookError(f"no gradebook at {path}; {hint}")
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_SECONDS) as connection:
            found = connection.execute("SELECT 1 FROM assignment WHERE name = ?", (assignment_id,)).fetchone()
    except sqlite3.Error as error:
        raise GradebookError(
            f"cannot read the gradebook at {path} ({error}); close any program that holds it locked, such as "
            "the formgrader or an sqlite3 shell, and run the command again"
        ) from None
    if found is None:
        raise GradebookError(f"assignment {assignment_id!r} is not in the gradebook; {hint}")


def parse_timestamp(text: str) -> Optional[datetime.datetime]:
    """Return the naive UTC time nbgrader stores for a ``timestamp.txt``, or None when it is not a date.

    nbgrader writes "2026-12-01 12:00:00.000000 UTC"; a third
    space-separated word is a time zone, by name or as a numeric offset such
    as -0500.  Any other text is left to dateutil's parser.
    """
    import dateutil.parser
    import dateutil.tz

    try:
        words = text.split(" ")
        if len(words) == 3:
            zone_text = words[2]
            try:
                zone = int(zone_text)
            except ValueError:
                zone = dateutil.tz.gettz(zone_text)
            moment = dateutil.parser.parse(f"{words[0]} {words[1]} TZ", tzinfos={"TZ": zone})
        else:
            moment = dateutil.parser.parse(text)
        if moment.tzinfo is not None:
            moment = (moment - moment.utcoffset()).replace(tzinfo=None)
    except (ValueError, OverflowError, TypeError):  # dateutil's ParserError is a ValueError
        return None
    return moment


def _stored_time(moment: Optional[datetime.datetime]) -> Optional[str]:
    """Return the text SQLAlchemy stores for a DateTime column in SQLite."""
    if moment is None:
        return None
    return (
        f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d} "
        f"{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}.{moment.microsecond:06d}"
    )


def _new_id() -> str:
    return uuid.uuid4().hex


class AssignmentLayout:
    """The notebooks and graded cells of one assignment in the gradebook, read once."""

    def __init__(self, connection: sqlite3.Connection, assignment_id: str):
        row = connection.execute("SELECT id FROM assignment WHERE name = ?", (assignment_id,)).fetchone()
        if row is None:
            raise GradebookError(f"assignment {assignment_id!r} is not in the gradebook; run `nbgrader generate_assignment {assignment_id}` first")
        self.assignment = row[0]
        # notebook name -> (notebook id, {grade cell name: id}, {solution cell name: id}, task cell ids)
        self.notebooks = {}
        for notebook, name in connection.execute("SELECT id, name FROM notebook WHERE assignment_id = ?", (self.assignment,)):
            cells = {}
            for table in ("grade_cells", "solution_cells", "task_cells"):
                cells[table] = dict(connection.execute(
                    f"SELECT base_cell.name, base_cell.id FROM base_cell JOIN {table} ON {table}.id = base_cell.id "
                    "WHERE base_cell.notebook_id = ?",
                    (notebook,),
                ).fetchall())
            self.notebooks[name] = (notebook, cells["grade_cells"], cells["solution_cells"], list(cells["task_cells"].values()))

    def add_submission(self, connection: sqlite3.Connection, student_id: str, timestamp: Optional[str]) -> str:
        """Insert a submission with nbgrader's defaults: no scores, no comments, not flagged."""
        submission = _new_id()
        connection.execute(
            "INSERT INTO submitted_assignment (id, assignment_id, student_id, timestamp, extension) VALUES (?, ?, ?, ?, NULL)",
            (submission, self.assignment, student_id, timestamp),
        )
        for notebook, grades, solutions, tasks in self.notebooks.values():
            submitted = _new_id()
            connection.execute(
                "INSERT INTO submitted_notebook (id, assignment_id, notebook_id, flagged, late_submission_penalty) "
                "VALUES (?, ?, ?, 0, NULL)",
                (submitted, submission, notebook),
            )
            connection.executemany(
                "INSERT INTO grade (id, notebook_id, cell_id, auto_score, manual_score, extra_credit, needs_manual_grade) "
                "VALUES (?, ?, ?, NULL, NULL, NULL, 1)",
                [(_new_id(), submitted, cell) for cell in list(grades.values()) + tasks],
            )
            connection.executemany(
                "INSERT INTO comment (id, notebook_id, cell_id, auto_comment, manual_comment) VALUES (?, ?, ?, NULL, NULL)",
                [(_new_id(), submitted, cell) for cell in list(solutions.values()) + tasks],
            )
        return submission

    def store_scores(self, connection: sqlite3.Connection, submission: str, notebook_name: str, result) -> None:
        """Set each function's score on its test cell and its feedback on its solution cell."""
        if notebook_name not in self.notebooks:
            raise GradebookError(
                f"notebook {notebook_name!r} not found in the gradebook for this assignment; "
                "run `nbgrader generate_assignment` again"
            )
        notebook, grades, solutions, _ = self.notebooks[notebook_name]
        row = connection.execute(
            "SELECT id FROM submitted_notebook WHERE assignment_id = ? AND notebook_id = ?", (submission, notebook)
        ).fetchone()
        if row is None:
            raise GradebookError(f"submission {submission} has no row for notebook {notebook_name!r}; grade it again with --force")
        submitted = row[0]
        # As in nbgrader's SaveAutoGrades, a grade needs manual grading only when it already has a manual score.
        connection.executemany(
            "UPDATE grade SET auto_score = ?, needs_manual_grade = (manual_score IS NOT NULL) WHERE notebook_id = ? AND cell_id = ?",
            [
                (function.score, submitted, grades[f"test_{function.name}"])
                for function in result.functions if f"test_{function.name}" in grades
            ],
        )
        connection.executemany(
            "UPDATE comment SET auto_comment = ? WHERE notebook_id = ? AND cell_id = ?",
            [(function.feedback(), submitted, solutions[function.name]) for function in result.functions if function.name in solutions],
        )


class GradebookRows:
    """One connection to the gradebook that writes a student's rows in the open transaction."""

    def __init__(self, course_root: str, assignment_id: str, notebook_name: str):
        check_gradebook(course_root, assignment_id)
        # A formgrader open on the same file may hold the lock for a moment.
        self.connection = sqlite3.connect(gradebook_path(course_root), timeout=BUSY_TIMEOUT_SECONDS)
        self.assignment_id = assignment_id
        self.notebook_name = notebook_name
        self.layout = AssignmentLayout(self.connection, assignment_id)
        self._known_students: set = set()

    def write(self, student_id: str, timestamp: Optional[datetime.datetime], result) -> None:
        connection = self.connection
        if student_id not in self._known_students:
            connection.execute(
                "INSERT OR IGNORE INTO student (id, first_name, last_name, email, lms_user_id) VALUES (?, NULL, NULL, NULL, NULL)",
                (student_id,),
            )
            self._known_students.add(student_id)
        stored = _stored_time(timestamp)
        row = connection.execute(
            "SELECT id FROM submitted_assignment WHERE assignment_id = ? AND student_id = ?", (self.layout.assignment, student_id)
        ).fetchone()
        if row is None:
            submission = self.layout.add_submission(connection, student_id, stored)
        else:
            submission = row[0]
            if stored is not None:
                connection.execute("UPDATE submitted_assignment SET timestamp = ? WHERE id = ?", (stored, submission))
        self.layout.store_scores(connection, submission, self.notebook_name, result)

    def commit(self) -> None:
        self.connection.commit()

    def rollback(self) -> None:
        self.connection.rollback()
        # Students inserted in the rolled-back transaction are gone again.
        self._known_students.clear()

    def close(self) -> None:
        self.connection.close()
