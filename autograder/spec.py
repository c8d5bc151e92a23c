"""Declarations that an assignment package in ``assignments/`` fills in.

The grading engine uses nothing about an assignment beyond these objects:
which functions are graded, how their points split over case groups, which
cases exercise them, and which known mistakes and correct alternatives the
catalogue contains.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Optional

DEFAULT_RTOL = 1e-10
DEFAULT_ATOL = 1e-12


@dataclass(frozen=True)
class Case:
    """One call of a graded function and how to judge its result.

    ``description`` is shown to students and instructors, so it describes the
    case in words ("a query row whose keys are all masked") and never prints
    the hidden inputs.  The expected result is not stored here: the grader
    computes it by calling the reference solution on ``args`` and ``kwargs``.
    """

    function: str
    group: str
    description: str
    args: tuple = ()
    kwargs: dict = field(default_factory=dict)
    # None: compare the returned value with the reference result.
    # An exception class name such as "ValueError": the call must raise it.
    raises: Optional[str] = None
    # Substrings that the exception message must contain (``raises`` only).
    message_contains: tuple = ()
    rtol: float = DEFAULT_RTOL
    atol: float = DEFAULT_ATOL
    # Maps (result, args, kwargs) to the part of the result that the contract
    # fixes, for results that are not unique.  Runs in the grader only.
    project: Optional[Callable[[Any, tuple, dict], Any]] = None
    # Visible cases mirror the asserts that students see in the notebook.
    visible: bool = False
    # Stable identifier within the function; defaults to the case's position.
    name: str = ""


@dataclass(frozen=True)
class FunctionSpec:
    """A graded function: its points split over named case groups."""

    name: str
    # Ordered (group name, points) pairs.  A group earns its points only when
    # every case in it passes.
    groups: tuple
    # Call and operator names that the function body must not use, such as
    # ("@", "dot", "matmul"); empty when the function may use anything.
    banned: tuple = ()
    banned_reason: str = ""

    @property
    def points(self) -> float:
        return float(sum(points for _, points in self.groups))


@dataclass(frozen=True)
class CatalogueEntry:
    """A catalogued implementation of one graded function, kept as source.

    ``source`` defines a function named exactly as the graded function, so it
    can be pasted into a notebook answer cell or executed into a namespace
    that contains the other graded functions.
    """

    function: str
    name: str
    source: str
    # Mistakes: the misconception in one sentence and a hint for the student.
    misconception: str = ""
    hint: str = ""
    # Alternatives: the style, such as "loop", "vectorised", "pinv".
    style: str = ""

    @property
    def is_mistake(self) -> bool:
        return bool(self.misconception)


@dataclass(frozen=True)
class AssignmentSpec:
    """Everything the grader needs to know about one assignment."""

    assignment_id: str
    notebook: str
    functions: tuple
    # Dotted module path of the reference solutions (instructor-only).
    reference_module: str
    build_cases: Callable[[], list]
    mistakes: tuple = ()
    alternatives: tuple = ()

    def function(self, name: str) -> FunctionSpec:
        for spec in self.functions:
            if spec.name == name:
                return spec
        known = ", ".join(spec.name for spec in self.functions)
        raise KeyError(f"{self.assignment_id} has no graded function {name!r}; graded functions: {known}")

    @property
    def function_names(self) -> tuple:
        return tuple(spec.name for spec in self.functions)
