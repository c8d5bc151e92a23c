"""Properties of the column-span reference solutions and checks of the catalogue."""

import inspect
import itertools

import numpy as np
import pytest

import solutions.ps01_span as reference
from assignments.ps01_span import SPEC
from autograder.compare import compare_values
from autograder.grading import AssignmentGrader, find_banned_usage
from solutions.ps01_span import (
    column_rank,
    combine_columns,
    in_span,
    polynomial_features,
    predict,
    span_coefficients,
)

WORKED_X = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
WORKED_W = np.array([2.0, -1.0])


def random_normal(seed, *shape):
    return np.random.default_rng(seed).normal(size=shape)


def duplicated_column_matrix(seed):
    """Return a 6 x 4 matrix of rank 3 whose column 3 repeats column 1."""
    X = random_normal(seed, 6, 4)
    X[:, 3] = X[:, 1]
    return X


def null_space_basis(X):
    """Return an orthonormal basis of the null space of X as columns."""
    _, _, right_transposed = np.linalg.svd(X)
    rank = np.linalg.matrix_rank(X)
    return right_transposed[rank:].T


# --- combine_columns and predict -----------------------------------------------


def test_combine_columns_worked_example():
    np.testing.assert_array_equal(combine_columns(WORKED_X, WORKED_W), [0.0, 2.0, 4.0])


def test_combine_columns_equals_explicit_sum():
    X, w = random_normal(1, 7, 4), random_normal(2, 4)
    expected = w[0] * X[:, 0] + w[1] * X[:, 1] + w[2] * X[:, 2] + w[3] * X[:, 3]
    np.testing.assert_allclose(combine_columns(X, w), expected, rtol=1e-14)


def test_combine_columns_uses_no_matrix_product():
    banned = SPEC.function("combine_columns").banned
    assert find_banned_usage(reference_cells(), "combine_columns", banned) == []


def test_predict_equals_column_combination():
    X, w = random_normal(3, 8, 3), random_normal(4, 3)
    np.testing.assert_allclose(predict(X, w), combine_columns(X, w), rtol=1e-12, atol=1e-15)


def test_predict_matrix_w_stacks_columns():
    X, W = random_normal(5, 6, 3), random_normal(6, 3, 4)
    stacked = np.column_stack([predict(X, W[:, output]) for output in range(4)])
    np.testing.assert_allclose(predict(X, W), stacked, rtol=1e-12, atol=1e-15)


def test_predict_integer_lists_give_float64():
    predictions = predict([[1, 2], [3, 4], [5, 6]], [2, -1])
    assert predictions.dtype == np.float64
    np.testing.assert_array_equal(predictions, [0.0, 2.0, 4.0])


@pytest.mark.parametrize(
    "x_shape, w_shape",
    [((3, 2), (4,)), ((3, 2), (3,)), ((4, 2), (3, 2)), ((3,), (2,)), ((3, 2), (2, 2, 2)), ((2, 3, 2), (2,))],
)
def test_predict_error_names_both_shapes(x_shape, w_shape):
    with pytest.raises(ValueError) as raised:
        predict(np.ones(x_shape), np.ones(w_shape))
    assert str(x_shape) in str(raised.value)
    assert str(w_shape) in str(raised.value)


def test_predict_does_not_mutate_inputs():
    X, w = random_normal(7, 4, 3), random_normal(8, 3)
    X_copy, w_copy = X.copy(), w.copy()
    predict(X, w)
    np.testing.assert_array_equal(X, X_copy)
    np.testing.assert_array_equal(w, w_copy)


# --- span_coefficients --------------------------------------------------------------


def test_span_coefficients_worked_example():
    w, residual = span_coefficients(WORKED_X, [0.0, 2.0, 4.0])
    np.testing.assert_allclose(w, WORKED_W, rtol=1e-12)
    assert residual < 1e-12


def test_span_coefficients_reproduces_target_in_span():
    X = random_normal(9, 10, 4)
    y = X @ random_normal(10, 4)
    w, residual = span_coefficients(X, y)
    np.testing.assert_allclose(X @ w, y, rtol=1e-10, atol=1e-12)
    assert residual < 1e-12


def test_span_coefficients_minimum_norm():
    X = duplicated_column_matrix(11)
    w, _ = span_coefficients(X, random_normal(12, 6))
    null_space = null_space_basis(X)
    assert null_space.shape[1] == 1
    np.testing.assert_allclose(null_space.T @ w, 0.0, atol=1e-12)


def test_span_coefficients_duplicate_columns_share_weight():
    X = duplicated_column_matrix(13)
    w, _ = span_coefficients(X, random_normal(14, 6))
    assert w[1] == pytest.approx(w[3], rel=1e-10)


def test_span_coefficients_residual_orthogonal_to_columns():
    X, y = random_normal(15, 9, 3), random_normal(16, 9)
    w, residual = span_coefficients(X, y)
    np.testing.assert_allclose(X.T @ (X @ w - y), 0.0, atol=1e-12)
    assert residual == pytest.approx(np.linalg.norm(X @ w - y), rel=1e-14)


def test_span_coefficients_residual_is_python_float():
    _, residual = span_coefficients(WORKED_X, [1.0, 0.0, 0.0])
    assert type(residual) is float


def test_span_coefficients_matches_pseudo_inverse():
    X, y = random_normal(17, 3, 5), random_normal(18, 3)
    w, _ = span_coefficients(X, y)
    np.testing.assert_allclose(w, np.linalg.pinv(X) @ y, rtol=1e-10)


# --- in_span ---------------------------------------------------------------------


def unit_target_and_normal(seed):
    """Return a 6 x 3 X, a unit-norm y in its span and a unit vector orthogonal to it."""
    X = random_normal(seed, 6, 3)
    left_vectors, _, _ = np.linalg.svd(X)
    inside = X @ random_normal(seed + 1, 3)
    return X, inside / np.linalg.norm(inside), left_vectors[:, -1]


@pytest.mark.parametrize("distance, expected", [(1e-10, True), (1e-6, False)])
def test_in_span_default_tol_both_sides(distance, expected):
    X, inside, normal = unit_target_and_normal(19)
    assert in_span(X, inside + distance * normal) is expected


@pytest.mark.parametrize("scale, distance, expected", [(1e6, 1e-4, True), (1e6, 1e-1, False), (1e-10, 1e-10, True)])
def test_in_span_bound_scales_with_target(scale, distance, expected):
    X, inside, normal = unit_target_and_normal(21)
    assert in_span(X, scale * inside + distance * normal) is expected


@pytest.mark.parametrize("tol, expected", [(1e-3, True), (1e-7, False)])
def test_in_span_explicit_tol(tol, expected):
    X, inside, normal = unit_target_and_normal(23)
    assert in_span(X, inside + 1e-5 * normal, tol=tol) is expected


def test_in_span_agrees_with_residual_rule():
    X = duplicated_column_matrix(25)
    rng = np.random.default_rng(26)
    for _ in range(20):
        y = X @ rng.normal(size=4) + 10.0 ** rng.uniform(-12, 0) * rng.normal(size=6)
        _, residual = span_coefficients(X, y)
        assert in_span(X, y) == (residual <= 1e-8 * max(1.0, np.linalg.norm(y)))


# --- column_rank -----------------------------------------------------------------


@pytest.mark.parametrize("seed, shape", [(27, (5, 3)), (28, (3, 5)), (29, (6, 6)), (30, (1, 4))])
def test_column_rank_equals_matrix_rank(seed, shape):
    X = random_normal(seed, *shape)
    assert column_rank(X) == np.linalg.matrix_rank(X)


def test_column_rank_rank_deficient_matches_numpy():
    X = duplicated_column_matrix(31)
    assert column_rank(X) == np.linalg.matrix_rank(X) == 3


def test_column_rank_drops_with_duplicated_column():
    X = random_normal(32, 6, 4)
    duplicated = X.copy()
    duplicated[:, 3] = X[:, 0]
    assert column_rank(X) == 4
    assert column_rank(duplicated) == 3


def test_column_rank_appended_duplicate_keeps_rank():
    X = random_normal(33, 6, 3)
    assert column_rank(np.column_stack([X, X[:, 1]])) == column_rank(X)


@pytest.mark.parametrize("scale", [1e-12, 1.0, 1e12])
def test_column_rank_invariant_to_scale(scale):
    X = duplicated_column_matrix(34)
    assert column_rank(scale * X) == 3


def test_column_rank_explicit_tol():
    X = np.diag([3.0, 2.0, 1.0])
    assert column_rank(X, tol=1.5) == 2


def test_column_rank_returns_python_int():
    assert type(column_rank(WORKED_X)) is int


# --- polynomial_features ---------------------------------------------------------


def test_polynomial_column_k_is_power_k():
    x = np.linspace(-2.0, 2.0, 7)
    features = polynomial_features(x, 4)
    assert features.shape == (7, 5)
    for k in range(5):
        np.testing.assert_allclose(features[:, k], x**k, rtol=1e-15)


def test_polynomial_degree_zero_is_ones():
    features = polynomial_features([0.0, 1.5, -2.0], 0)
    assert features.shape == (3, 1)
    np.testing.assert_array_equal(features, 1.0)


def test_polynomial_integer_input_gives_float64():
    assert polynomial_features([1, 2, 3], 2).dtype == np.float64


def test_polynomial_extra_degree_never_lowers_rank():
    x = np.array([-1.0, -0.5, 0.0, 0.5, 1.0, 1.0])
    ranks = [column_rank(polynomial_features(x, degree)) for degree in range(8)]
    assert all(later >= earlier for earlier, later in zip(ranks, ranks[1:]))
    # Five distinct points: the rank stops at 5 however many powers are added.
    assert ranks[-1] == 5


@pytest.mark.parametrize("degree", [-1, -4])
def test_polynomial_rejects_negative_degree(degree):
    with pytest.raises(ValueError):
        polynomial_features([0.0, 1.0], degree)


# --- cases and catalogue ---------------------------------------------------------


@pytest.fixture(scope="module")
def grader():
    return AssignmentGrader(SPEC)


def reference_cells():
    # The reference module as one cell, so that catalogue entries can call
    # the other graded functions by name.
    return [(0, inspect.getsource(reference))]


def test_cases_are_deterministic():
    first, second = SPEC.build_cases(), SPEC.build_cases()
    assert len(first) == len(second)
    for one, other in zip(first, second):
        assert one.description == other.description
        for left, right in zip(one.args, other.args):
            np.testing.assert_array_equal(np.asarray(left), np.asarray(right))


@pytest.mark.parametrize("name", SPEC.function_names)
def test_cases_per_function(name):
    cases = [case for case in SPEC.build_cases() if case.function == name]
    assert len(cases) <= 15
    assert any(case.visible for case in cases)


def test_reference_scores_full_marks(grader):
    result = grader.grade_trusted_cells(reference_cells())
    assert result.score == result.max_score == 20.0


@pytest.mark.parametrize("entry", SPEC.alternatives, ids=lambda entry: entry.name)
def test_alternative_passes_every_case(grader, entry):
    result = grader.grade_trusted_cells(reference_cells() + [(1, entry.source)])
    function = result.function(entry.function)
    assert function.score == function.max_score, function.feedback()


@pytest.mark.parametrize("entry", SPEC.mistakes, ids=lambda entry: entry.name)
def test_mistake_loses_points(grader, entry):
    result = grader.grade_trusted_cells(reference_cells() + [(1, entry.source)])
    function = result.function(entry.function)
    assert function.score < function.max_score


# A banned function gets no misconception: the ban is its feedback.
DIAGNOSABLE = [entry for entry in SPEC.mistakes if entry.name != "matrix_product_instead_of_columns"]


@pytest.mark.parametrize("entry", DIAGNOSABLE, ids=lambda entry: entry.name)
def test_mistake_is_diagnosed(grader, entry):
    result = grader.grade_trusted_cells(reference_cells() + [(1, entry.source)])
    function = result.function(entry.function)
    assert function.misconception is not None
    assert function.misconception["name"] == entry.name


def test_matrix_product_is_banned(grader):
    entry = next(entry for entry in SPEC.mistakes if entry.name == "matrix_product_instead_of_columns")
    result = grader.grade_trusted_cells(reference_cells() + [(1, entry.source)])
    assert result.function("combine_columns").status == "banned"
    assert result.function("combine_columns").score == 0.0


def same_outcome(first, second, case):
    """Return whether two outcomes agree: same exception type, or equal values within the case's tolerance."""
    if first.status != second.status:
        return False
    if first.status == "raised":
        return first.error["type"] == second.error["type"]
    return compare_values(first.value, second.value, case.rtol, case.atol).passed


@pytest.mark.parametrize("name", SPEC.function_names)
def test_mistakes_pairwise_distinct(grader, name):
    entries = [entry for entry in SPEC.mistakes if entry.function == name]
    numbers = [number for number, case in enumerate(grader.cases) if case.function == name]
    for first, second in itertools.combinations(entries, 2):
        differing = [
            number
            for number in numbers
            if not same_outcome(grader._mistake_outcome(first, number), grader._mistake_outcome(second, number), grader.cases[number])
        ]
        assert differing, f"{first.name} and {second.name} give the same outcome on every case"


def test_catalogue_sizes():
    for name in SPEC.function_names:
        assert sum(entry.function == name for entry in SPEC.alternatives) >= 3, name
        assert sum(entry.function == name for entry in SPEC.mistakes) >= 2, name
    assert len(SPEC.mistakes) >= 12
