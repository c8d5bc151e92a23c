"""The record that describes one corpus submission and the grade it must get."""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass, field
from typing import Callable, Optional

from autograder.classroom import reference_sources
from autograder.spec import AssignmentSpec

# Expected score of one graded function.  A number means exactly that many points.
FULL = "full"
ZERO = "zero"
LESS = "less than full"
# The score depends on timing (for example how many calls fit in the time budget).
ANY = "any"


@dataclass(frozen=True)
class Entry:
    """One hostile or damaged submission and what grading it must produce.

    The submission is the reference notebook with the changes below.  Code
    may contain ``$name`` placeholders that the test fills in at run time,
    such as ``$gradebook`` or ``$grader_pid`` (see ``PLACEHOLDERS`` in
    ``tests/test_hostile_corpus.py``).
    """

    id: str
    summary: str

    # -- how the submission is built ------------------------------------------
    # Graded function -> source of its answer cell; the reference otherwise.
    implementations: dict = field(default_factory=dict)
    # Code cells inserted after the setup cell, and appended at the end.
    cells_before: tuple = ()
    cells_after: tuple = ()
    # Changes the notebook node in place, after the cells are added.
    damage: Optional[Callable] = None
    # Bytes written in place of a notebook (a corrupt file).
    raw_bytes: Optional[bytes] = None
    # File name in place of "<notebook>.ipynb".
    file_name: Optional[str] = None
    # Further copies of the submission written beside it, under these names.
    extra_copies: tuple = ()
    # Locale of a separate grader process that grades this entry, such as "C";
    # None grades it in the sandbox shared by the test module.
    locale: Optional[str] = None

    # -- what grading must produce ----------------------------------------------
    # Graded function -> FULL, ZERO, LESS, ANY or a number of points.
    scores: dict = field(default_factory=dict)
    # Expected score of every function that ``scores`` does not name.
    others: str = FULL
    # Graded function -> phrases; at least one must occur in its feedback.
    reasons: dict = field(default_factory=dict)
    # Phrases that must all occur in the submission's warnings.
    warnings: tuple = ()
    # Phrases that must all occur in the reason the submission could not be read.
    error: tuple = ()
    # Phrases that must all occur in the notes of the student process.
    notes: tuple = ()
    # Course files (relative paths) that must be byte-for-byte unchanged.
    untouched: tuple = ()
    # Course files (relative paths) that must not exist after grading.
    absent: tuple = ()
    # A known grader bug that makes this entry fail, and the exception the test
    # then raises: the test is marked xfail(strict) for exactly that exception.
    bug: Optional[str] = None
    bug_raises: type = AssertionError


def cell(text: str) -> str:
    """Return ``text`` dedented, without the leading newline of a triple-quoted string."""
    return textwrap.dedent(text).lstrip("\n")


def define(function: str, body: str) -> str:
    """Return a cell defining ``function(*args, **kwargs)`` with ``body``."""
    return f"def {function}(*args, **kwargs):\n" + textwrap.indent(cell(body), "    ")


def first_mistake(spec: AssignmentSpec, function: str) -> str:
    """Return the source of the first catalogued mistake of ``function``."""
    return next(entry.source for entry in spec.mistakes if entry.function == function)


def reference_as(spec: AssignmentSpec, function: str, new_name: str) -> str:
    """Return the reference source of ``function`` with its definition renamed to ``new_name``."""
    source = reference_sources(spec)[function]
    return re.sub(rf"\bdef {function}\(", f"def {new_name}(", source, count=1)


def reference(spec: AssignmentSpec, function: str) -> str:
    """Return the reference source of ``function`` with the helpers it uses."""
    return reference_sources(spec)[function]
