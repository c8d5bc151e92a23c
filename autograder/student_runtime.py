"""Instant feedback on the visible cases, run in the student's own kernel.

``check("stable_softmax")`` calls the student's function on the visible cases
of its assignment and prints the grader's feedback on them: the first problem
of each failing case, in the grader's fixed order, and the named
misconception when the results match a catalogued mistake.  ``hint(name)``
prints the function's hint.

Students do not have the ``autograder`` package.  ``python -m autograder
student-files`` therefore copies this module, together with the comparison
code it imports from ``compare.py``, ``wire.py`` and ``grading.py``, into a
single ``visible_checks.py`` beside each released notebook, and writes the
visible cases with their expected results and the mistakes' results on them
into ``visible_checks.json``.  Only numpy and the standard library are
needed there.
"""

from __future__ import annotations

import copy
import inspect
import json
import os
import sys
import sysconfig
import textwrap
import traceback
import warnings
from dataclasses import dataclass, field
from typing import Any, Optional

import numpy as np

from .compare import Outcome, Verdict, compare_outcomes
from .grading import _same_result, explain_verdict, find_banned_usage, warning_advice
from .runner import describe_warning
from .wire import Unsupported, to_plain

DATA_FORMAT = 1
DATA_FILE_NAME = "visible_checks.json"
# Report lines are wrapped at this width, so that they read well in a notebook.
REPORT_WIDTH = 96


# -- plain data ------------------------------------------------------------------------------


def _nested(flat: list, shape: tuple):
    """Rebuild a nested list of ``shape`` from a flat C-order list."""
    if not shape:
        return flat[0]
    if len(shape) == 1:
        return list(flat)
    step = len(flat) // shape[0] if shape[0] else 0
    return [_nested(flat[index * step:(index + 1) * step], shape[1:]) for index in range(shape[0])]


def _flatten(nested) -> list:
    if isinstance(nested, list):
        return [item for part in nested for item in _flatten(part)]
    return [nested]


def _plain_number(value):
    """Return a float, int or bool for JSON; NaN and infinities become the strings "nan", "inf", "-inf"."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    value = float(value)
    if np.isnan(value):
        return "nan"
    if np.isinf(value):
        return "inf" if value > 0 else "-inf"
    return value


def _number_from_plain(value):
    return float(value) if isinstance(value, str) else value


def encode_value(value) -> dict:
    """Return ``value`` as JSON-ready data tagged with its type.

    Arrays keep their dtype and shape and list their entries as nested
    lists; Python lists, tuples and numpy scalars keep their types, so that
    decoding gives the function exactly the inputs the grader gives it.
    """
    if isinstance(value, (np.ndarray, np.generic)):
        array = np.asarray(value)
        if array.dtype.kind not in "biuf":
            raise TypeError(f"cannot store an array of dtype {array.dtype} as plain data")
        flat = [_plain_number(item) for item in array.ravel().tolist()]
        if isinstance(value, np.generic):
            return {"type": "scalar", "dtype": array.dtype.name, "value": flat[0]}
        return {"type": "array", "dtype": array.dtype.name, "shape": list(array.shape), "data": _nested(flat, array.shape)}
    if value is None:
        return {"type": "none"}
    if isinstance(value, bool):
        return {"type": "bool", "value": value}
    if isinstance(value, int):
        return {"type": "int", "value": value}
    if isinstance(value, float):
        return {"type": "float", "value": _plain_number(value)}
    if isinstance(value, str):
        return {"type": "str", "value": value}
    if isinstance(value, (list, tuple)):
        return {"type": type(value).__name__, "items": [encode_value(item) for item in value]}
    if isinstance(value, Unsupported):
        return {"type": "unsupported", "type_name": value.type_name, "summary": value.summary}
    raise TypeError(f"cannot store a value of type {type(value).__name__} as plain data")


def decode_value(data: dict):
    """Return the value that :func:`encode_value` stored."""
    kind = data["type"]
    if kind == "none":
        return None
    if kind in ("bool", "int", "str"):
        return data["value"]
    if kind == "float":
        return float(_number_from_plain(data["value"]))
    if kind == "list":
        return [decode_value(item) for item in data["items"]]
    if kind == "tuple":
        return tuple(decode_value(item) for item in data["items"])
    if kind == "unsupported":
        return Unsupported(data["type_name"], data["summary"])
    dtype = np.dtype(data["dtype"])
    if kind == "scalar":
        return dtype.type(_number_from_plain(data["value"]))
    if kind == "array":
        shape = tuple(data["shape"])
        flat = [_number_from_plain(item) for item in _flatten(data["data"])] if shape else [_number_from_plain(data["data"])]
        return np.array(flat, dtype=dtype).reshape(shape)
    raise ValueError(f"unknown value type {kind!r} in the visible checks data")


def encode_outcome(outcome: Outcome) -> dict:
    """Return a returned or raised outcome as JSON-ready data."""
    if outcome.status == "returned":
        return {"status": "returned", "value": encode_value(outcome.value)}
    if outcome.status == "raised":
        error = {key: outcome.error[key] for key in ("type", "module", "mro", "message") if key in outcome.error}
        return {"status": "raised", "error": error}
    raise ValueError(f"cannot store an outcome with status {outcome.status!r}")


def decode_outcome(data: dict) -> Outcome:
    if data["status"] == "returned":
        return Outcome("returned", value=decode_value(data["value"]))
    return Outcome("raised", error=dict(data["error"]))


# -- cases and reports -----------------------------------------------------------------------------


@dataclass(frozen=True)
class VisibleCase:
    """One visible case: the inputs, how to compare, and the expected outcome."""

    function: str
    # Position among the function's visible cases; the mistakes' outcomes are keyed by it.
    number: int
    group: str
    description: str
    args: tuple
    kwargs: dict
    expected: Outcome
    rtol: float
    atol: float
    message_contains: tuple = ()
    # The grader's Case may project a result before comparing; visible cases never do.
    project: Any = None


@dataclass
class CaseResult:
    case: VisibleCase
    outcome: Outcome
    verdict: Verdict

    @property
    def passed(self) -> bool:
        return self.verdict.passed


@dataclass
class CheckReport:
    """The findings of ``check`` for one function on its visible cases."""

    name: str
    results: list = field(default_factory=list)
    hidden_groups: tuple = ()
    # Set when the function is not defined or not callable; no case ran then.
    problem: str = ""
    banned: list = field(default_factory=list)
    banned_reason: str = ""
    misconception: Optional[dict] = None
    warnings: int = 0

    @property
    def failed(self) -> list:
        return [result for result in self.results if not result.passed]

    @property
    def passed(self) -> bool:
        return not self.problem and not self.failed and not self.banned

    def format(self) -> str:
        """Return the report as the text that ``check`` prints."""
        if self.problem:
            return _wrap(self.problem)
        if self.results and all(_is_stub(result.outcome) for result in self.results):
            return _wrap(
                f"{self.name} is not implemented yet: replace the `raise NotImplementedError()` line "
                "with your code, run its cell, then run this check again."
            )

        total, failed = len(self.results), len(self.failed)
        if failed:
            lines = [f"{self.name} failed {failed} of {total} visible cases."]
        elif self.banned:
            lines = [f"{self.name} passed all {total} visible cases, but the grader will not count them."]
        else:
            lines = [f"{self.name} passed all {total} visible cases."]
        for result in self.results:
            label = "passed" if result.passed else "FAILED"
            lines.append(_wrap(f"{result.case.group}: {result.case.description}", f"  {label}  ", " " * 10))
            if not result.passed:
                lines.append(_wrap(explain_verdict(result.verdict, result.outcome), " " * 10))
        if self.banned:
            lines.append(_wrap(f"{self.name} must not use {', '.join(self.banned)}. {self.banned_reason}"))
        if self.misconception:
            lines.append(_wrap(f"Likely misconception: {self.misconception['misconception']}."))
            lines.append(_wrap(f"Hint: {self.misconception['hint']}"))
        if self.warnings and not failed:
            example = next((result.outcome.warning for result in self.results if result.passed and result.outcome.warning), "")
            note = warning_advice(self.warnings, example)
            lines.append(_wrap(f"Note: {note}."))
        if self.passed:
            groups = ", ".join(self.hidden_groups)
            lines.append(_wrap(
                "Passing the visible cases does not guarantee full marks: the grader also runs hidden "
                f"cases of {self.name} in these groups: {groups}."
            ))
        elif self.banned and not failed:
            lines.append(_wrap(f"Rewrite {self.name} without them, run its cell, then run this check again."))
        elif not self.misconception:
            lines.append(_wrap(f'Fix the first failing case first. If you are stuck, run hint("{self.name}").'))
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.format()


def _wrap(text: str, first: str = "", rest: str = "") -> str:
    """Wrap ``text`` at REPORT_WIDTH, without breaking words such as numbers or code."""
    return textwrap.fill(text, REPORT_WIDTH, initial_indent=first, subsequent_indent=rest or first,
                         break_long_words=False, break_on_hyphens=False)


def _is_stub(outcome: Outcome) -> bool:
    return outcome.status == "raised" and outcome.error.get("type") == "NotImplementedError"


# -- running the student's function -----------------------------------------------------------------


_LIBRARY_FOLDERS = tuple(
    os.path.normcase(os.path.abspath(path)) + os.sep
    for path in {sysconfig.get_paths()[key] for key in ("stdlib", "platstdlib", "purelib", "platlib")}
)


def _is_student_frame(filename: str) -> bool:
    """Return True for code the student wrote: not this module, the standard library or an installed package."""
    if filename.startswith("<frozen"):
        return False
    path = os.path.normcase(os.path.abspath(filename))
    if path == os.path.normcase(os.path.abspath(__file__)):
        return False
    return not path.startswith(_LIBRARY_FOLDERS)


def _cell_label(filename: str) -> str:
    """Return "In[5]" for code from a notebook cell, or the file name."""
    shell = sys.modules.get("IPython") and getattr(sys.modules["IPython"], "get_ipython", lambda: None)()
    compiler = getattr(shell, "compile", None)
    if compiler is not None and hasattr(compiler, "format_code_name"):
        named = compiler.format_code_name(filename)
        if named:
            return named[1]
    return os.path.basename(filename)


def describe_student_error(error: Exception) -> dict:
    """Return an error dict in the grader's form, located at the student's innermost line."""
    kind = type(error)
    description = {
        "type": kind.__name__,
        "module": kind.__module__,
        "mro": [f"{base.__module__}.{base.__name__}" for base in kind.__mro__],
        "message": str(error),
        "cell": None,
        "line": None,
        "text": "",
    }
    for summary in traceback.extract_tb(error.__traceback__):
        if _is_student_frame(summary.filename):
            description["cell"] = _cell_label(summary.filename)
            description["line"] = summary.lineno
            description["text"] = (summary.line or "").strip()[:200]
    return description


def call_on_case(function, case: VisibleCase) -> Outcome:
    """Call ``function`` on copies of the case's inputs; return its outcome in the form the grader receives."""
    args, kwargs = copy.deepcopy(case.args), copy.deepcopy(case.kwargs)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            value = function(*args, **kwargs)
        except Exception as error:  # the student's exception is feedback; KeyboardInterrupt still stops the check
            return Outcome("raised", error=describe_student_error(error), warnings=len(caught))
    warning = describe_warning(caught[0]) if caught else ""
    return Outcome("returned", value=to_plain(value), warnings=len(caught), warning=warning)


# -- the checks of one assignment ---------------------------------------------------------------------


class VisibleChecks:
    """The visible cases, expected outcomes, mistakes and hints of one assignment."""

    def __init__(self, data: dict):
        if data.get("format") != DATA_FORMAT:
            raise ValueError(
                f"the visible checks data has format {data.get('format')!r}, expected {DATA_FORMAT}; "
                f"use the {DATA_FILE_NAME} that came with this visible_checks.py"
            )
        self.assignment = data["assignment"]
        self.functions = {entry["name"]: entry for entry in data["functions"]}
        self.cases = {
            name: [self._case(name, number, case) for number, case in enumerate(entry["cases"])]
            for name, entry in self.functions.items()
        }

    @staticmethod
    def _case(name: str, number: int, data: dict) -> VisibleCase:
        return VisibleCase(
            function=name,
            number=number,
            group=data["group"],
            description=data["description"],
            args=tuple(decode_value(item) for item in data["args"]),
            kwargs={key: decode_value(item) for key, item in data["kwargs"].items()},
            expected=decode_outcome(data["expected"]),
            rtol=data["rtol"],
            atol=data["atol"],
            message_contains=tuple(data["message_contains"]),
        )

    def _entry(self, name: str) -> dict:
        if name not in self.functions:
            known = ", ".join(self.functions)
            raise ValueError(f"{name!r} is not a graded function of {self.assignment}; the graded functions are {known}")
        return self.functions[name]

    def check(self, name: str, function) -> CheckReport:
        """Run ``function`` on the visible cases of ``name`` and return the report."""
        entry = self._entry(name)
        report = CheckReport(name, hidden_groups=tuple(entry["hidden_groups"]), banned_reason=entry["banned_reason"])
        if function is None:
            report.problem = f"{name} is not defined yet: run the cell that defines it, then run this check again."
            return report
        if not callable(function):
            report.problem = f"{name} is not a function but a {type(function).__name__}: define it with def {name}(...)."
            return report

        for case in self.cases[name]:
            outcome = call_on_case(function, case)
            report.results.append(CaseResult(case, outcome, compare_outcomes(outcome, case.expected, case)))
        report.warnings = sum(result.outcome.warnings for result in report.results if result.passed)

        if entry["banned"]:
            try:
                code_cells = [(0, inspect.getsource(function))]
            except (OSError, TypeError):  # source not available; the grader still checks it
                code_cells = []
            report.banned = find_banned_usage(code_cells, name, tuple(entry["banned"]))
        if report.failed and not report.banned:
            report.misconception = self._match_misconception(entry, report.failed)
        return report

    def _match_misconception(self, entry: dict, failed: list) -> Optional[dict]:
        """Return the mistake whose visible results the failing results match most often, as the grader picks it."""
        best, best_count = None, 0
        for mistake in entry["mistakes"]:
            count = 0
            for result in failed:
                if result.outcome.status not in ("returned", "raised"):
                    continue
                mistaken = mistake["outcomes"].get(str(result.case.number))
                if mistaken is not None and _same_result(result.outcome, decode_outcome(mistaken), result.case):
                    count += 1
            if count > best_count:
                best, best_count = mistake, count
        if best is None:
            return None
        return {"name": best["name"], "misconception": best["misconception"], "hint": best["hint"]}

    def hint(self, name: str) -> str:
        """Return the hint text for ``name``."""
        return self._entry(name)["hint"]


def load_checks(path) -> VisibleChecks:
    with open(path, encoding="utf-8") as stream:
        return VisibleChecks(json.load(stream))


_checks: Optional[VisibleChecks] = None


def _assignment_checks() -> VisibleChecks:
    """Return the checks stored in the data file beside this module, loaded once."""
    global _checks
    if _checks is None:
        _checks = load_checks(os.path.join(os.path.dirname(os.path.abspath(__file__)), DATA_FILE_NAME))
    return _checks


def check(name: str, function=None) -> None:
    """Run your function ``name`` on the visible cases and print the grader's feedback on them.

    The function is looked up by name in the notebook, unless you pass it.
    """
    if function is None:
        function = sys._getframe(1).f_globals.get(name)
    print(_assignment_checks().check(name, function).format())


def hint(name: str) -> None:
    """Print a hint for the function ``name``."""
    print(_wrap(f"Hint for {name}: {_assignment_checks().hint(name)}"))


__all__ = ["check", "hint"]
