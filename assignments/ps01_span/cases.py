"""Hidden and visible cases for ps01_span.

Cases store inputs only; the grader computes each expected result by calling
the reference solution on a copy of the inputs.  Every random input comes
from ``np.random.default_rng`` with a fixed seed, so the list is the same on
every run.  Every value that a correct implementation compares with a
threshold sits at least a factor of 5 away from it: residuals against
in_span's bound, and round-off singular values against column_rank's default
tolerance and lstsq's cutoff.  Round-off therefore cannot flip a result.
"""

import numpy as np

from autograder.spec import Case

# The 3 x 2 matrix of the worked example: X @ [2, -1] = [0, 2, 4].
WORKED_X = [[1, 2], [3, 4], [5, 6]]
WORKED_W = [2, -1]

# A constant and a linear column, a target on the line through them, and a
# unit vector orthogonal to both columns.  Every entry of STEP_Y is at least 1,
# so entrywise relative tolerances are loose there.
STEP_X = np.array([[1.0, 0.0], [1.0, 1.0], [1.0, 2.0], [1.0, 3.0]])
STEP_Y = np.array([1.0, 2.0, 3.0, 4.0])
STEP_NORMAL = np.array([0.5, -0.5, -0.5, 0.5])


def _worked_x():
    return np.array(WORKED_X, dtype=float)


def _unit_normal_to_columns(X):
    """Return a unit vector orthogonal to every column of X (X must have n > rank)."""
    left_vectors, _, _ = np.linalg.svd(X)
    return left_vectors[:, -1]


def _matrix_with_singular_values(n, d, singular_values, seed):
    """Return an n x d matrix whose singular values are ``singular_values``."""
    rng = np.random.default_rng(seed)
    left, _ = np.linalg.qr(rng.standard_normal((n, n)))
    right, _ = np.linalg.qr(rng.standard_normal((d, d)))
    diagonal = np.zeros((n, d))
    diagonal[: len(singular_values), : len(singular_values)] = np.diag(singular_values)
    return left @ diagonal @ right.T


def _combine_columns_cases():
    rng = np.random.default_rng(101)
    name = "combine_columns"
    return [
        Case(name, "basic cases", "the worked 3 x 2 example with w = [2, -1]",
             args=(_worked_x(), np.array(WORKED_W, dtype=float)), visible=True),
        Case(name, "basic cases", "a random 5 x 3 matrix and random weights",
             args=(rng.standard_normal((5, 3)), rng.standard_normal(3))),
        Case(name, "basic cases", "a random 8 x 4 matrix with one zero weight",
             args=(rng.standard_normal((8, 4)), np.array([1.5, 0.0, -2.0, 0.25]))),
        Case(name, "basic cases", "a random square 4 x 4 matrix",
             args=(rng.standard_normal((4, 4)), rng.standard_normal(4))),
        Case(name, "single column and single row", "a matrix with a single column",
             args=(rng.standard_normal((6, 1)), np.array([-3.0]))),
        Case(name, "single column and single row", "a matrix with a single row",
             args=(rng.standard_normal((1, 5)), rng.standard_normal(5))),
        Case(name, "integer and list inputs", "the worked example given as nested lists of ints",
             args=(WORKED_X, WORKED_W)),
        Case(name, "integer and list inputs", "an integer matrix and integer weights",
             args=(rng.integers(-5, 6, size=(4, 3)), np.array([3, -1, 2]))),
    ]


def _predict_cases():
    rng = np.random.default_rng(202)
    name = "predict"
    return [
        Case(name, "basic cases", "the worked 3 x 2 example with w = [2, -1]",
             args=(_worked_x(), np.array(WORKED_W, dtype=float)), visible=True),
        Case(name, "basic cases", "a random 6 x 3 matrix and a weight vector",
             args=(rng.standard_normal((6, 3)), rng.standard_normal(3))),
        Case(name, "basic cases", "a random square 3 x 3 matrix",
             args=(rng.standard_normal((3, 3)), rng.standard_normal(3))),
        Case(name, "multiple outputs", "the worked matrix with w of shape (2, 3)",
             args=(_worked_x(), np.array([[2.0, 1.0, 0.0], [-1.0, 0.0, 1.0]])), visible=True),
        Case(name, "multiple outputs", "a random 5 x 4 matrix with w of shape (4, 2)",
             args=(rng.standard_normal((5, 4)), rng.standard_normal((4, 2)))),
        Case(name, "multiple outputs", "w of shape (d, 1), a single output kept as a column",
             args=(rng.standard_normal((4, 3)), rng.standard_normal((3, 1)))),
        Case(name, "multiple outputs", "a square 3 x 3 matrix with w of shape (3, 2)",
             args=(rng.standard_normal((3, 3)), rng.standard_normal((3, 2)))),
        Case(name, "integer and list inputs", "the worked example given as nested lists of ints",
             args=(WORKED_X, WORKED_W)),
        Case(name, "integer and list inputs", "an integer matrix with an integer w of shape (d, k)",
             args=(rng.integers(-4, 5, size=(3, 2)), rng.integers(-4, 5, size=(2, 2)))),
        Case(name, "error handling", "X with 2 columns and w with 4 entries",
             args=(np.ones((3, 2)), np.ones(4)), raises="ValueError",
             message_contains=("(3, 2)", "(4,)"), visible=True),
        Case(name, "error handling", "w with as many entries as X has rows, not columns",
             args=(np.ones((3, 2)), np.ones(3)), raises="ValueError",
             message_contains=("(3, 2)", "(3,)")),
        Case(name, "error handling", "a 2-D w whose number of rows differs from X's columns",
             args=(np.ones((4, 2)), np.ones((3, 2))), raises="ValueError",
             message_contains=("(4, 2)", "(3, 2)")),
        Case(name, "error handling", "a 1-D X",
             args=(np.ones(3), np.ones(2)), raises="ValueError",
             message_contains=("(3,)", "(2,)")),
        Case(name, "error handling", "a single example given as a 1-D X of the same length as w",
             args=(np.ones(2), np.ones(2)), raises="ValueError"),
        Case(name, "error handling", "a 3-D w whose first axis matches X's columns",
             args=(np.ones((3, 2)), np.ones((2, 2, 2))), raises="ValueError",
             message_contains=("(3, 2)", "(2, 2, 2)")),
    ]


def _span_coefficients_cases():
    rng = np.random.default_rng(303)
    name = "span_coefficients"

    random_x = rng.standard_normal((6, 3))
    tall_x = rng.standard_normal((10, 3))

    # Column 2 repeats column 0, so w[0] and w[2] are not determined separately.
    duplicated_x = rng.standard_normal((5, 3))
    duplicated_x[:, 2] = duplicated_x[:, 0]

    # Column 3 is column 0 + 2 * column 1.
    dependent_x = rng.standard_normal((7, 4))
    dependent_x[:, 3] = dependent_x[:, 0] + 2.0 * dependent_x[:, 1]

    # Singular values 1 and 1e-4 (condition number 1e4).  The normal equations
    # square the condition number to 1e8, and on this input their w differs
    # from the SVD solution by about 3e-9 relative, far above rtol = 1e-10.
    # SVD- and QR-based solvers agree with each other to about 1e-15 here.
    ill_conditioned_x = _matrix_with_singular_values(6, 2, [1.0, 1e-4], seed=305)

    return [
        Case(name, "targets in the span", "the worked example: y = 2 * column 0 - 1 * column 1",
             args=(_worked_x(), np.array([0.0, 2.0, 4.0])), visible=True),
        Case(name, "targets in the span", "a random 6 x 3 matrix and y = X @ w for a random w",
             args=(random_x, random_x @ rng.standard_normal(3))),
        Case(name, "targets in the span", "a random square matrix, so every target is in the span",
             args=(rng.standard_normal((4, 4)), rng.standard_normal(4))),
        Case(name, "targets outside the span", "the worked matrix and y = [1, 0, 0], outside its span",
             args=(_worked_x(), np.array([1.0, 0.0, 0.0])), visible=True),
        Case(name, "targets outside the span", "a random 10 x 3 matrix and a random target",
             args=(tall_x, rng.standard_normal(10))),
        Case(name, "targets outside the span", "a target with norm about 1e6 outside the span",
             args=(tall_x, 1e6 * rng.standard_normal(10))),
        Case(name, "rank-deficient and wide X", "rank-1 X = [[1, 2], [2, 4], [3, 6]] and y = [1, 2, 3]",
             args=(np.array([[1.0, 2.0], [2.0, 4.0], [3.0, 6.0]]), np.array([1.0, 2.0, 3.0])),
             visible=True),
        Case(name, "rank-deficient and wide X", "a duplicated column and a target outside the span",
             args=(duplicated_x, rng.standard_normal(5))),
        Case(name, "rank-deficient and wide X", "a column that is a combination of two others, target in the span",
             args=(dependent_x, dependent_x @ rng.standard_normal(4))),
        Case(name, "rank-deficient and wide X", "a wide 2 x 4 matrix with more columns than rows",
             args=(rng.standard_normal((2, 4)), rng.standard_normal(2))),
        Case(name, "rank-deficient and wide X", "an all-zero matrix",
             args=(np.zeros((3, 2)), np.array([1.0, -2.0, 2.0]))),
        Case(name, "ill-conditioned X", "a 6 x 2 matrix with condition number 1e4",
             args=(ill_conditioned_x, rng.standard_normal(6))),
        Case(name, "integer and list inputs", "the worked example given as lists of ints",
             args=(WORKED_X, [0, 2, 4])),
        Case(name, "integer and list inputs", "an integer matrix and an integer target outside the span",
             args=(np.array([[1, 0], [1, 1], [1, 2], [1, 3]]), np.array([1, 3, 2, 5]))),
    ]


def _in_span_cases():
    rng = np.random.default_rng(404)
    name = "in_span"

    X = rng.standard_normal((6, 3))
    normal = _unit_normal_to_columns(X)
    inside = X @ rng.standard_normal(3)
    inside = inside / np.linalg.norm(inside)

    duplicated_x = rng.standard_normal((5, 3))
    duplicated_x[:, 1] = duplicated_x[:, 0]

    return [
        Case(name, "basic cases", "the worked example: y = [0, 2, 4] is in the span",
             args=(_worked_x(), np.array([0.0, 2.0, 4.0])), visible=True),
        Case(name, "basic cases", "the worked matrix and y = [1, 0, 0], outside the span",
             args=(_worked_x(), np.array([1.0, 0.0, 0.0])), visible=True),
        Case(name, "basic cases", "a random target of norm 1 in the span of a 6 x 3 matrix",
             args=(X, inside)),
        Case(name, "basic cases", "a target 1e-5 away from the span",
             args=(X, inside + 1e-5 * normal)),
        Case(name, "basic cases", "a target 1e-5 away from the span whose entries are all between 1 and 4",
             args=(STEP_X, STEP_Y + 1e-5 * STEP_NORMAL)),
        Case(name, "basic cases", "a target 1e-10 away from the span, inside the tolerance",
             args=(X, inside + 1e-10 * normal)),
        Case(name, "basic cases", "integer lists: the worked example",
             args=(WORKED_X, [0, 2, 4])),
        Case(name, "large and tiny targets", "a target of norm 1e6 that is 1e-4 away from the span",
             args=(X, 1e6 * inside + 1e-4 * normal)),
        Case(name, "large and tiny targets", "a target of norm 1e10 in the span",
             args=(X, 1e10 * inside)),
        Case(name, "large and tiny targets", "a target of norm 1e-10 that is orthogonal to the span",
             args=(X, 1e-10 * normal)),
        Case(name, "large and tiny targets", "a target of norm 1e-3 that is orthogonal to the span",
             args=(X, 1e-3 * normal)),
        Case(name, "explicit tol", "tol = 1e-3 and a target 1e-5 away from the span",
             args=(X, inside + 1e-5 * normal), kwargs={"tol": 1e-3}),
        Case(name, "explicit tol", "tol = 1e-3 and a target 1 away from the span",
             args=(X, inside + normal), kwargs={"tol": 1e-3}),
        Case(name, "rank-deficient X", "a duplicated column and a target in the span",
             args=(duplicated_x, duplicated_x @ np.array([1.0, -2.0, 0.5]))),
        Case(name, "rank-deficient X", "a duplicated column and a target outside the span",
             args=(duplicated_x, rng.standard_normal(5))),
    ]


def _column_rank_cases():
    rng = np.random.default_rng(505)
    name = "column_rank"

    duplicated_x = rng.standard_normal((5, 3))
    duplicated_x[:, 2] = duplicated_x[:, 0]

    # Rank 2: column 2 is column 0 + 2 * column 1 and column 3 is zero.  The
    # SVD returns an exact 0 for the zero column and round-off for the other.
    dependent_x = rng.standard_normal((12, 4))
    dependent_x[:, 2] = dependent_x[:, 0] + 2.0 * dependent_x[:, 1]
    dependent_x[:, 3] = 0.0

    # Rank 2 by construction: a product of 30 x 2 and 2 x 3 factors.  Scaled
    # by 1e12, its third singular value is round-off of about 1e-3, above a
    # fixed 1e-10 but more than 50 times below the default tolerance, which
    # grows with max(n, d) = 30.
    rank_two_x = rng.standard_normal((30, 2)) @ rng.standard_normal((2, 3))

    return [
        Case(name, "basic cases", "the worked 3 x 2 matrix, rank 2",
             args=(_worked_x(),), visible=True),
        Case(name, "basic cases", "a random 6 x 4 matrix",
             args=(rng.standard_normal((6, 4)),)),
        Case(name, "basic cases", "a wide 2 x 5 matrix",
             args=(rng.standard_normal((2, 5)),)),
        Case(name, "rank-deficient X", "a duplicated column",
             args=(duplicated_x,), visible=True),
        Case(name, "rank-deficient X", "a zero column and a column equal to column 0 + 2 * column 1",
             args=(dependent_x,)),
        Case(name, "rank-deficient X", "a rank-1 outer product",
             args=(np.outer(rng.standard_normal(5), rng.standard_normal(3)),)),
        Case(name, "rank-deficient X", "an all-zero matrix",
             args=(np.zeros((3, 2)),)),
        Case(name, "large and tiny scale", "a full-rank matrix scaled by 1e-12",
             args=(1e-12 * rng.standard_normal((4, 3)),)),
        Case(name, "large and tiny scale", "a rank-2 matrix scaled by 1e12",
             args=(1e12 * rank_two_x,)),
        Case(name, "large and tiny scale", "singular values 1 and 1e-9, both above the default tolerance",
             args=(_matrix_with_singular_values(5, 2, [1.0, 1e-9], seed=506),)),
        Case(name, "explicit tol", "singular values 100, 5 and 0.01 with tol = 1",
             args=(_matrix_with_singular_values(4, 3, [100.0, 5.0, 0.01], seed=507),),
             kwargs={"tol": 1.0}),
        Case(name, "explicit tol", "a rank-2 matrix with singular values 5 and 0.5, and tol = 1",
             args=(_matrix_with_singular_values(5, 3, [5.0, 0.5], seed=508),),
             kwargs={"tol": 1.0}),
        Case(name, "integer and list inputs", "the rank-1 list [[1, 2], [2, 4], [3, 6]]",
             args=([[1, 2], [2, 4], [3, 6]],)),
        Case(name, "integer and list inputs", "an integer identity-like 4 x 3 matrix",
             args=(np.array([[1, 0, 0], [0, 2, 0], [0, 0, 3], [1, 1, 1]]),)),
    ]


def _polynomial_features_cases():
    rng = np.random.default_rng(606)
    name = "polynomial_features"
    return [
        Case(name, "basic cases", "x = [0, 1, 2, 3] with degree 2",
             args=(np.array([0.0, 1.0, 2.0, 3.0]), 2), visible=True),
        Case(name, "basic cases", "random x with degree 3",
             args=(rng.standard_normal(7), 3)),
        Case(name, "basic cases", "negative and positive x with degree 5",
             args=(np.linspace(-2.0, 2.0, 9), 5)),
        Case(name, "basic cases", "degree 1 gives a constant and a linear column",
             args=(rng.uniform(-1.0, 1.0, 6), 1)),
        Case(name, "degree 0", "degree 0 gives a single column of ones",
             args=(np.array([0.0, 1.0, 2.0, 3.0]), 0), visible=True),
        Case(name, "degree 0", "degree 0 for random x containing a zero",
             args=(np.array([0.0, -1.5, 2.5]), 0)),
        Case(name, "integer and list inputs", "a list of ints with degree 3",
             args=([1, -2, 3, 0], 3)),
        Case(name, "integer and list inputs", "an integer array with degree 2",
             args=(np.arange(-3, 4), 2)),
        Case(name, "error handling", "degree -1",
             args=(np.array([0.0, 1.0, 2.0]), -1), raises="ValueError", visible=True),
        Case(name, "error handling", "degree -3",
             args=(np.array([0.0, 1.0, 2.0]), -3), raises="ValueError"),
        # numpy itself rejects np.ones((n, -2)), so only degree -1 (an empty
        # feature matrix) shows that a negative degree was not rejected.
        Case(name, "error handling", "degree -1 for a longer x",
             args=(np.array([0.5, -1.0, 2.0, 3.5]), -1), raises="ValueError"),
    ]


def build_cases():
    """Return every case of ps01_span, grouped by function in notebook order."""
    return (
        _combine_columns_cases()
        + _predict_cases()
        + _span_coefficients_cases()
        + _in_span_cases()
        + _column_rank_cases()
        + _polynomial_features_cases()
    )
