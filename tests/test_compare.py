"""The comparison engine: fixed check order and numpy-style messages."""

import numpy as np
import pytest

from autograder.compare import Outcome, compare_outcomes, compare_values
from autograder.spec import Case
from autograder.wire import Unsupported, to_plain

CASE = Case("attention_weights", "basic cases", "a small example", ())


def returned(value):
    return Outcome("returned", value=to_plain(value))


def test_values_within_tolerance_pass():
    desired = np.linspace(0, 1, 12)
    verdict = compare_values(desired * (1 + 1e-13), desired, 1e-10, 1e-12)
    assert verdict.passed


def test_value_message_has_numbers():
    desired = np.full((6, 8), 0.29)
    actual = desired.copy()
    actual[0, 2] = 0.31
    actual[1, 3] = 0.30
    actual[5, 7] = 0.27
    verdict = compare_values(actual, desired, 1e-10, 1e-12, "attention weights")
    assert verdict.problem == "values"
    assert "differs in 3 of 48 entries" in verdict.message
    assert "rtol 1e-10, atol 1e-12" in verdict.message
    assert "first at [0, 2]: got 0.31, expected 0.29" in verdict.message
    assert "largest absolute difference 2.0e-02" in verdict.message


def test_shape_checked_before_values():
    verdict = compare_values(np.zeros((3, 2)), np.zeros((2, 3)), 1e-10, 1e-12)
    assert verdict.problem == "shape"
    assert "(3, 2)" in verdict.message
    assert "(2, 3)" in verdict.message


def test_float32_is_wrong_dtype():
    verdict = compare_values(np.zeros(3, dtype=np.float32), np.zeros(3), 1e-10, 1e-12)
    assert verdict.problem == "dtype"
    assert "float32" in verdict.message


def test_nan_position_reported():
    desired = np.array([[0.5, 0.5], [0.0, 0.0]])
    actual = np.array([[0.5, 0.5], [np.nan, np.nan]])
    verdict = compare_values(actual, desired, 1e-10, 1e-12)
    assert verdict.problem == "nonfinite"
    assert "NaN in 2 entries" in verdict.message
    assert "[1, 0]" in verdict.message


def test_list_is_wrong_type():
    verdict = compare_values(to_plain([1.0, 2.0]), np.array([1.0, 2.0]), 1e-10, 1e-12)
    assert verdict.problem == "type"
    assert "list" in verdict.message


@pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")
def test_matrix_is_wrong_type():
    verdict = compare_values(to_plain(np.matrix([[1.0, 2.0]])), np.array([[1.0, 2.0]]), 1e-10, 1e-12)
    assert verdict.problem == "type"
    assert "matrix" in verdict.message


def test_none_names_missing_return():
    verdict = compare_values(None, np.zeros(2), 1e-10, 1e-12)
    assert verdict.problem == "type"
    assert "return" in verdict.message


def test_tuple_length_checked():
    verdict = compare_values((np.zeros(2),), (np.zeros(2), 1.0), 1e-10, 1e-12)
    assert verdict.problem == "type"
    assert "length 2" in verdict.message


def test_tuple_item_named_in_message():
    verdict = compare_values((np.zeros(2), 1.0), (np.zeros(2), 2.0), 1e-10, 1e-12)
    assert not verdict.passed
    assert "item 1" in verdict.message


def test_bool_compared_exactly():
    assert compare_values(True, True, 1e-10, 1e-12).passed
    assert compare_values(np.bool_(True), True, 1e-10, 1e-12).passed
    assert compare_values(False, True, 1e-10, 1e-12).problem == "values"
    assert compare_values(1, True, 1e-10, 1e-12).problem == "type"


def test_int_rejects_float():
    assert compare_values(np.int64(3), 3, 1e-10, 1e-12).passed
    assert compare_values(3.0, 3, 1e-10, 1e-12).problem == "type"


def test_object_with_lying_eq_rejected():
    class AlwaysEqual:
        shape = (3,)

        def __eq__(self, other):
            return True

    verdict = compare_values(to_plain(AlwaysEqual()), np.zeros(3), 1e-10, 1e-12)
    assert verdict.problem == "type"
    assert isinstance(to_plain(AlwaysEqual()), Unsupported)


def test_raised_shows_student_line():
    error = {"type": "ZeroDivisionError", "module": "builtins", "mro": ["builtins.ZeroDivisionError"],
             "message": "division by zero", "cell": 4, "line": 2, "text": "return 1 / 0"}
    verdict = compare_outcomes(Outcome("raised", error=error), returned(np.zeros(2)), CASE)
    assert verdict.problem == "raised"
    assert "ZeroDivisionError: division by zero (cell 4, line 2: return 1 / 0)" in verdict.message


def test_expected_exception_missing():
    expected = Outcome("raised", error={"type": "ValueError", "module": "builtins", "mro": ["builtins.ValueError"], "message": "bad"})
    case = Case("predict", "error handling", "mismatched shapes", (), raises="ValueError")
    verdict = compare_outcomes(returned(np.zeros(2)), expected, case)
    assert verdict.problem == "no_exception"


def test_exception_subclass_accepted():
    expected = Outcome("raised", error={"type": "ValueError", "module": "builtins", "mro": ["builtins.ValueError"], "message": "bad"})
    actual = Outcome("raised", error={"type": "ShapeError", "module": "__main__",
                                      "mro": ["__main__.ShapeError", "builtins.ValueError"], "message": "(3, 2) vs (4,)"})
    case = Case("predict", "error handling", "mismatched shapes", (), raises="ValueError", message_contains=("(3, 2)", "(4,)"))
    assert compare_outcomes(actual, expected, case).passed


def test_exception_message_must_contain_shapes():
    expected = Outcome("raised", error={"type": "ValueError", "module": "builtins", "mro": ["builtins.ValueError"], "message": ""})
    actual = Outcome("raised", error={"type": "ValueError", "module": "builtins", "mro": ["builtins.ValueError"], "message": "shapes differ"})
    case = Case("predict", "error handling", "mismatched shapes", (), raises="ValueError", message_contains=("(3, 2)", "(4,)"))
    verdict = compare_outcomes(actual, expected, case)
    assert verdict.problem == "exception_message"
    assert "'(3, 2)'" in verdict.message


@pytest.mark.parametrize("status", ["timed_out", "crashed", "missing"])
def test_failed_runs_checked_first(status):
    verdict = compare_outcomes(Outcome(status, detail="timed out after 5 s"), returned(np.zeros(2)), CASE)
    assert verdict.problem == status


def test_projection_compares_unique_part():
    X = np.array([[1.0, 1.0], [2.0, 2.0]])
    case = Case("span_coefficients", "basic cases", "collinear columns", (X, np.ones(2)),
                project=lambda result, args, kwargs: args[0] @ result)
    desired = returned(np.array([0.5, 0.5]))
    other = returned(np.array([1.0, 0.0]))
    assert compare_outcomes(other, desired, case).passed
