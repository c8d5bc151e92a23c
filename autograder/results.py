"""Stored grading records: one JSON file per student and assignment.

Records live in ``.grading/<assignment>/<student>.json`` under the course
root, beside nbgrader's gradebook.  They keep what the gradebook has no
column for: the case groups, the feedback text, the named misconception and
the reason a damaged submission got 0.  They are written atomically, so a
grader killed mid-write leaves the previous record or none.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile

RECORDS_DIRECTORY = ".grading"


# File names longer than this (in bytes) are shortened, since most file systems allow 255.
MAX_NAME_BYTES = 200


def record_path(course_root: str, assignment_id: str, student_id: str) -> str:
    """Return the record's path: the student id, or for a very long id a prefix and its SHA-256."""
    name = student_id
    if len(name.encode("utf-8")) > MAX_NAME_BYTES:
        digest = hashlib.sha256(name.encode("utf-8")).hexdigest()
        name = name.encode("utf-8")[:100].decode("utf-8", "ignore") + "-" + digest
    return os.path.join(course_root, RECORDS_DIRECTORY, assignment_id, f"{name}.json")


def store_result(course_root: str, result) -> str:
    """Write ``result`` (a SubmissionResult) atomically; return the path."""
    path = record_path(course_root, result.assignment, result.student or "unknown")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".tmp-", suffix=".json")
    # json uses its C encoder only without indentation, so the record is one line.
    text = json.dumps(result.to_json(), default=str)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise
    return path


def load_records(course_root: str, assignment_id: str) -> list:
    """Return every stored record of an assignment, sorted by student id."""
    folder = os.path.join(course_root, RECORDS_DIRECTORY, assignment_id)
    if not os.path.isdir(folder):
        return []
    records = []
    for name in sorted(os.listdir(folder)):
        if name.endswith(".json") and not name.startswith("."):
            with open(os.path.join(folder, name), encoding="utf-8") as stream:
                records.append(json.load(stream))
    return records


def load_record(course_root: str, assignment_id: str, student_id: str):
    """Return the stored record of one student, or None when there is none or it is unreadable."""
    path = record_path(course_root, assignment_id, student_id)
    try:
        with open(path, encoding="utf-8") as stream:
            return json.load(stream)
    except (OSError, ValueError):
        return None
