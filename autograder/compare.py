"""The one comparison engine behind every check of a student's result.

Checks run in a fixed order and stop at the first problem: the function is
missing or not callable; the call timed out or crashed; it raised (or failed
to raise an expected exception); it returned None or a wrong type; wrong
shape; wrong dtype; NaN or inf in the wrong positions; values outside
tolerance.  Each problem becomes a plain sentence that names what was
received and what was expected, with numbers for value differences, and
never prints the hidden inputs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

import numpy as np

from .wire import Unsupported


@dataclass
class Outcome:
    """The result of one function call, as plain data."""

    # "returned", "raised", "missing", "not_callable", "timed_out", "crashed"
    status: str
    value: Any = None
    error: Optional[dict] = None
    detail: str = ""
    warnings: int = 0
    # The first warning of the call, as "Category: message".
    warning: str = ""
    elapsed: float = 0.0


@dataclass
class Verdict:
    """The result of comparing one outcome with the expected one."""

    passed: bool
    # "ok", "missing", "not_callable", "timed_out", "crashed", "raised",
    # "no_exception", "exception_type", "exception_message", "type",
    # "shape", "dtype", "nonfinite", "values"
    problem: str = "ok"
    message: str = ""
    details: dict = field(default_factory=dict)


PASSED = Verdict(True)


def _format_number(value) -> str:
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (complex, np.complexfloating)):
        return f"{complex(value):.4g}"
    return f"{float(value):.6g}"


def _format_index(index: tuple) -> str:
    return "[" + ", ".join(str(int(i)) for i in index) + "]"


def _describe_type(value) -> str:
    if value is None:
        return "None"
    if isinstance(value, Unsupported):
        return f"a {value.type_name} ({value.summary})"
    if isinstance(value, tuple):
        return f"a tuple of length {len(value)}"
    if isinstance(value, np.ndarray):
        return f"a numpy array of shape {value.shape} and dtype {value.dtype}"
    if isinstance(value, np.generic):
        return f"a numpy {value.dtype} scalar"
    return f"a {type(value).__name__}"


def _error_location(error: dict) -> str:
    if error.get("cell") is None:
        return ""
    text = f" (cell {error['cell']}, line {error['line']}"
    if error.get("text"):
        text += f": {error['text']}"
    return text + ")"


def describe_error(error: dict) -> str:
    """Return "ValueError: message (cell 3, line 5: code)" for an error dict."""
    message = error.get("message", "")
    head = error.get("type", "Exception") + (f": {message}" if message else "")
    return head + _error_location(error)


def qualified_type(error: dict) -> str:
    """Return "module.Name" of an error dict's exception type."""
    return f"{error.get('module', 'builtins')}.{error.get('type', 'Exception')}"


def raised_kind(error: dict, expected: dict) -> bool:
    """Return True when ``error``'s type is, or derives from, ``expected``'s type."""
    return qualified_type(expected) in error.get("mro", ())


def _compare_scalar(actual, desired, rtol: float, atol: float, subject: str) -> Optional[Verdict]:
    """Compare Python or numpy scalars: bools and ints exactly, floats with tolerance."""
    if isinstance(desired, (bool, np.bool_)):
        if not isinstance(actual, (bool, np.bool_)):
            return Verdict(False, "type", f"{subject} should be a bool (True or False), but got {_describe_type(actual)}")
        if bool(actual) != bool(desired):
            return Verdict(False, "values", f"{subject} is {bool(actual)}, expected {bool(desired)}")
        return None
    if isinstance(desired, (int, np.integer)):
        if isinstance(actual, (bool, np.bool_)) or not isinstance(actual, (int, np.integer)):
            return Verdict(False, "type", f"{subject} should be an int, but got {_describe_type(actual)}")
        if int(actual) != int(desired):
            return Verdict(False, "values", f"{subject} is {int(actual)}, expected {int(desired)}")
        return None
    if isinstance(desired, (float, np.floating)):
        if isinstance(actual, (bool, np.bool_)) or not isinstance(actual, (float, int, np.floating, np.integer)):
            return Verdict(False, "type", f"{subject} should be a float, but got {_describe_type(actual)}")
        return _compare_arrays(np.asarray(float(actual)), np.asarray(float(desired)), rtol, atol, subject)
    if isinstance(desired, str):
        if actual != desired:
            return Verdict(False, "values", f"{subject} is {actual!r}, expected {desired!r}")
        return None
    return Verdict(False, "type", f"{subject}: the reference result has an unsupported type {type(desired).__name__}")


def _compare_arrays(actual: np.ndarray, desired: np.ndarray, rtol: float, atol: float, subject: str) -> Optional[Verdict]:
    """Compare two arrays in the fixed order: shape, dtype, non-finite positions, values."""
    if actual.shape != desired.shape:
        return Verdict(False, "shape", f"{subject} has shape {actual.shape}, expected {desired.shape}")

    if actual.dtype != desired.dtype:
        advice = ""
        if actual.dtype.kind == "f" and actual.dtype.itemsize < desired.dtype.itemsize:
            advice = f" ({actual.dtype} keeps fewer digits; compute in {desired.dtype})"
        elif desired.dtype.kind == "f" and actual.dtype.kind in "biu":
            advice = " (convert the input with np.asarray(..., dtype=float) before computing)"
        return Verdict(False, "dtype", f"{subject} has dtype {actual.dtype}, expected {desired.dtype}{advice}")

    if desired.dtype.kind in "biu":
        different = actual != desired
        if different.any():
            first = tuple(np.argwhere(different)[0])
            return Verdict(
                False,
                "values",
                f"{subject} differs in {int(different.sum())} of {different.size} entries; "
                f"first at {_format_index(first)}: got {_format_number(actual[first])}, "
                f"expected {_format_number(desired[first])}",
            )
        return None

    # Most correct results equal the reference exactly, and one comparison settles them.
    if np.array_equal(actual, desired, equal_nan=True):
        return None

    for label, test in (("NaN", np.isnan), ("inf", np.isinf)):
        actual_mask, desired_mask = test(actual), test(desired)
        if not np.array_equal(actual_mask, desired_mask):
            wrong = actual_mask != desired_mask
            first = tuple(np.argwhere(wrong)[0])
            if actual_mask[first]:
                text = f"{subject} has {label} in {int((actual_mask & ~desired_mask).sum())} entries where a finite value is expected"
            else:
                text = f"{subject} is missing {label} in {int((desired_mask & ~actual_mask).sum())} entries"
            return Verdict(
                False,
                "nonfinite",
                f"{text}; first at {_format_index(first)}: got {_format_number(actual[first])}, "
                f"expected {_format_number(desired[first])}",
            )
    if np.isinf(desired).any() and not np.array_equal(actual[np.isinf(desired)], desired[np.isinf(desired)]):
        return Verdict(False, "nonfinite", f"{subject} has infinities of the wrong sign")

    finite = np.isfinite(desired)
    with np.errstate(invalid="ignore", over="ignore"):
        difference = np.where(finite, np.abs(actual - desired), 0.0)
        allowed = atol + rtol * np.abs(np.where(finite, desired, 0.0))
    outside = difference > allowed
    if not outside.any():
        return None

    first = tuple(np.argwhere(outside)[0])
    with np.errstate(divide="ignore", invalid="ignore"):
        relative = np.where(finite & (desired != 0), difference / np.abs(desired), np.inf)
    largest_relative = float(relative[outside].max())
    relative_text = f"{largest_relative:.1e}" if np.isfinite(largest_relative) else "inf"
    return Verdict(
        False,
        "values",
        f"{subject} differs in {int(outside.sum())} of {outside.size} entries (rtol {rtol:g}, atol {atol:g}); "
        f"first at {_format_index(first)}: got {_format_number(actual[first])}, expected {_format_number(desired[first])}; "
        f"largest absolute difference {float(difference.max()):.1e}, largest relative difference {relative_text}",
        details={"mismatched": int(outside.sum()), "size": int(outside.size), "max_abs": float(difference.max())},
    )


def compare_values(actual, desired, rtol: float, atol: float, subject: str = "the result") -> Verdict:
    """Compare a returned value with the reference value; return PASSED or the first problem."""
    if isinstance(desired, tuple):
        if not isinstance(actual, tuple):
            return Verdict(False, "type", f"{subject} should be a tuple of length {len(desired)}, but got {_describe_type(actual)}")
        if len(actual) != len(desired):
            return Verdict(False, "type", f"{subject} should be a tuple of length {len(desired)}, but got {_describe_type(actual)}")
        for position, (actual_item, desired_item) in enumerate(zip(actual, desired)):
            verdict = compare_values(actual_item, desired_item, rtol, atol, f"item {position} of {subject}")
            if not verdict.passed:
                return verdict
        return PASSED

    if actual is None and desired is not None:
        return Verdict(False, "type", f"{subject} is None; check that the function ends with a return statement")
    if isinstance(actual, Unsupported):
        return Verdict(False, "type", f"{subject} is {_describe_type(actual)}, expected {_describe_type(desired)}")

    if isinstance(desired, np.ndarray):
        if not isinstance(actual, np.ndarray):
            return Verdict(False, "type", f"{subject} is {_describe_type(actual)}, expected {_describe_type(desired)}")
        return _compare_arrays(actual, desired, rtol, atol, subject) or PASSED

    if isinstance(actual, np.ndarray):
        return Verdict(False, "type", f"{subject} is {_describe_type(actual)}, expected {_describe_type(desired)}")
    return _compare_scalar(actual, desired, rtol, atol, subject) or PASSED


def compare_outcomes(actual: Outcome, expected: Outcome, case, rtol: float = None, atol: float = None) -> Verdict:
    """Judge a student's outcome on ``case`` against the reference outcome."""
    rtol = case.rtol if rtol is None else rtol
    atol = case.atol if atol is None else atol

    if actual.status == "missing":
        return Verdict(False, "missing", f"{case.function} is not defined; define a function named {case.function}")
    if actual.status == "not_callable":
        return Verdict(False, "not_callable", f"{case.function} is not a function ({actual.detail or 'not callable'})")
    if actual.status == "timed_out":
        return Verdict(False, "timed_out", actual.detail or "timed out")
    if actual.status == "crashed":
        return Verdict(False, "crashed", actual.detail or "the grading process stopped during this call")

    if expected.status == "raised":
        expected_type = expected.error["type"]
        if actual.status != "raised":
            return Verdict(False, "no_exception", f"should raise {expected_type}, but it returned {_describe_type(actual.value)}")
        if not raised_kind(actual.error, expected.error):
            return Verdict(False, "exception_type", f"should raise {expected_type}, but raised {describe_error(actual.error)}")
        missing = [text for text in case.message_contains if text not in actual.error.get("message", "")]
        if missing:
            required = " and ".join(repr(text) for text in missing)
            return Verdict(
                False,
                "exception_message",
                f"raised {expected_type} as expected, but its message should contain {required}; "
                f"got {actual.error.get('message', '')!r}",
            )
        return PASSED

    if actual.status == "raised":
        return Verdict(False, "raised", f"raised {describe_error(actual.error)}")

    actual_value, desired_value = actual.value, expected.value
    if case.project is not None and not isinstance(actual_value, Unsupported):
        try:
            actual_value = case.project(actual_value, case.args, case.kwargs)
        except Exception as error:  # a result too malformed to project is a wrong type
            return Verdict(False, "type", f"the result could not be checked: {type(error).__name__}: {error}")
        desired_value = case.project(desired_value, case.args, case.kwargs)
    try:
        return compare_values(actual_value, desired_value, rtol, atol)
    except (OverflowError, ValueError, TypeError, FloatingPointError) as error:
        # For example an int with 400 digits where a float is expected.
        return Verdict(False, "type", f"the result could not be compared with the expected one ({type(error).__name__}: {error})")
