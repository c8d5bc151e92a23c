"""Catalogue of realistic wrong implementations for ps01_span.

Each entry is a self-contained function that the grader renames to the
graded function's name.  Every mistake fails at least one case of its
function, and no two mistakes of the same function give the same results on
every case, so a failing submission can be matched to a named misconception.
"""

import numpy as np

from autograder.catalogue import mistake

# combine_columns


@mistake("combine_columns",
         misconception="the weights were applied to the rows of X instead of its columns",
         hint="X[j] is row j. Column j is X[:, j], and y_hat has one entry per row, so its length is n.")
def combine_rows_instead_of_columns(X, w):
    X = np.asarray(X, dtype=float)
    w = np.asarray(w, dtype=float)
    combination = np.zeros(X.shape[1])
    for i in range(len(w)):
        combination = combination + w[i] * X[i, :]
    return combination


@mistake("combine_columns",
         misconception="the combination was computed with the matrix product, which this exercise asks you to write out",
         hint="Loop over the columns and add w[j] * X[:, j] to a running sum, so the code shows the combination of columns.")
def matrix_product_instead_of_columns(X, w):
    return np.asarray(X, dtype=float) @ np.asarray(w, dtype=float)


@mistake("combine_columns",
         misconception="the columns were scaled by their weights but never added together",
         hint="X * w gives the scaled columns side by side as an (n, d) array. Add them up so that one value per row remains.")
def scaled_columns_without_sum(X, w):
    return np.asarray(X, dtype=float) * np.asarray(w, dtype=float)


@mistake("combine_columns",
         misconception="the scaled entries were summed over the examples (axis 0) instead of over the columns",
         hint="After scaling column j by w[j], add across the columns of each row, which is axis 1, so the result has length n.")
def sum_over_examples(X, w):
    X = np.asarray(X, dtype=float)
    w = np.asarray(w, dtype=float)
    return np.sum(X * w, axis=0)


@mistake("combine_columns",
         misconception="the sum started from the unscaled first column, so w[0] is ignored",
         hint="Start the running sum from zeros (or from w[0] * X[:, 0]) and scale every column, including the first.")
def first_column_unscaled(X, w):
    X = np.asarray(X, dtype=float)
    w = np.asarray(w, dtype=float)
    combination = X[:, 0].copy()
    for j in range(1, X.shape[1]):
        combination = combination + w[j] * X[:, j]
    return combination


@mistake("combine_columns",
         misconception="list and integer inputs were used as they are, so lists cannot be indexed by column and integers give an integer result",
         hint="Convert X and w with np.asarray(..., dtype=float) at the start of the function.")
def no_float_conversion_in_combination(X, w):
    combination = 0
    for j in range(len(w)):
        combination = combination + w[j] * X[:, j]
    return combination


# predict


@mistake("predict",
         misconception="X was transposed, as if the weights combined the rows (examples) instead of the columns (features)",
         hint="X is (n, d) with one example per row, so w needs d = X.shape[1] entries and X @ w has one prediction per row.")
def transposed_x(X, w):
    X = np.asarray(X, dtype=float)
    w = np.asarray(w, dtype=float)
    if X.ndim != 2 or w.ndim not in (1, 2) or X.shape[0] != w.shape[0]:
        raise ValueError(f"cannot multiply X of shape {X.shape} by w of shape {w.shape}")
    return X.T @ w


@mistake("predict",
         misconception="the shapes were not checked, so invalid inputs give numpy's own error or a result of the wrong shape",
         hint="Before multiplying, check that X is 2-D, w is 1-D or 2-D and X.shape[1] == w.shape[0], and raise ValueError otherwise.")
def no_shape_checks(X, w):
    return np.asarray(X, dtype=float) @ np.asarray(w, dtype=float)


@mistake("predict",
         misconception="the ValueError message does not show the shapes of X and w",
         hint="Put both shapes in the message, for example with an f-string containing {X.shape} and {w.shape}, so the caller can see what mismatched.")
def error_message_without_shapes(X, w):
    X = np.asarray(X, dtype=float)
    w = np.asarray(w, dtype=float)
    if X.ndim != 2 or w.ndim not in (1, 2) or X.shape[1] != w.shape[0]:
        raise ValueError("the shapes of X and w do not match")
    return X @ w


@mistake("predict",
         misconception="only X.shape[1] == w.shape[0] was checked, not that X is 2-D and w is 1-D or 2-D",
         hint="Check the number of dimensions first: a 1-D X has no second axis, and a 3-D w is not a valid coefficient array.")
def only_inner_dimension_checked(X, w):
    X = np.asarray(X, dtype=float)
    w = np.asarray(w, dtype=float)
    if X.shape[1] != w.shape[0]:
        raise ValueError(f"cannot multiply X of shape {X.shape} by w of shape {w.shape}")
    return X @ w


@mistake("predict",
         misconception="a 2-D w of shape (d, k), one column of coefficients per output, was rejected",
         hint="Accept w with 1 or 2 dimensions. X @ w handles both and returns (n,) or (n, k).")
def rejects_two_dimensional_w(X, w):
    X = np.asarray(X, dtype=float)
    w = np.asarray(w, dtype=float)
    if X.ndim != 2 or w.ndim != 1 or X.shape[1] != w.shape[0]:
        raise ValueError(f"cannot multiply X of shape {X.shape} by w of shape {w.shape}")
    return X @ w


@mistake("predict",
         misconception="integer inputs were not converted to float, so the predictions have an integer dtype",
         hint="Convert X and w with np.asarray(..., dtype=float), not just np.asarray.")
def predictions_keep_integer_dtype(X, w):
    X = np.asarray(X)
    w = np.asarray(w)
    if X.ndim != 2 or w.ndim not in (1, 2) or X.shape[1] != w.shape[0]:
        raise ValueError(f"cannot multiply X of shape {X.shape} by w of shape {w.shape}")
    return X @ w


# span_coefficients


@mistake("span_coefficients",
         misconception="the normal equations X^T X w = X^T y were solved directly, which fails on rank-deficient X and squares the condition number",
         hint="X^T X is singular when columns are dependent. Use an SVD-based solver such as np.linalg.lstsq or np.linalg.pinv.")
def normal_equations(X, y):
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    w = np.linalg.solve(X.T @ X, X.T @ y)
    return w, float(np.linalg.norm(X @ w - y))


@mistake("span_coefficients",
         misconception="X w = y was solved as a square linear system, which only exists when X is square and invertible",
         hint="X is usually n x d with n != d and y need not lie in the span. Solve the least-squares problem instead.")
def square_solve(X, y):
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    w = np.linalg.solve(X, y)
    return w, float(np.linalg.norm(X @ w - y))


@mistake("span_coefficients",
         misconception="the dependent columns were dropped and their coefficients set to zero, which fits y but is not the minimum-norm w",
         hint="When columns are dependent, many w give the same X w. The minimum-norm one spreads the weight over them and is the pseudo-inverse solution.")
def basic_solution_not_minimum_norm(X, y):
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)

    # Keep each column that raises the rank of the columns already kept.
    independent_columns = []
    for j in range(X.shape[1]):
        if np.linalg.matrix_rank(X[:, independent_columns + [j]]) == len(independent_columns) + 1:
            independent_columns.append(j)

    w = np.zeros(X.shape[1])
    if independent_columns:
        w[independent_columns] = np.linalg.lstsq(X[:, independent_columns], y, rcond=None)[0]
    return w, float(np.linalg.norm(X @ w - y))


@mistake("span_coefficients",
         misconception="the residual was returned as the sum of squares instead of the Euclidean norm",
         hint="The residual is ||X w - y||_2, the square root of the sum of squared differences.")
def residual_squared(X, y):
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    w = np.linalg.lstsq(X, y, rcond=None)[0]
    return w, float(np.sum((X @ w - y) ** 2))


@mistake("span_coefficients",
         misconception="the residual was taken from lstsq's second output, which is a sum of squares and is empty for rank-deficient or wide X",
         hint="Compute the residual yourself as the norm of X @ w - y instead of reading it from np.linalg.lstsq.")
def residual_from_lstsq_output(X, y):
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    w, squared_residuals, _, _ = np.linalg.lstsq(X, y, rcond=None)
    residual = float(squared_residuals[0]) if squared_residuals.size else 0.0
    return w, residual


@mistake("span_coefficients",
         misconception="the residual vector X w - y was returned instead of its norm",
         hint="Return the length of the residual vector as a Python float, for example float(np.linalg.norm(...)).")
def residual_vector(X, y):
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    w = np.linalg.lstsq(X, y, rcond=None)[0]
    return w, X @ w - y


@mistake("span_coefficients",
         misconception="only the coefficients were returned, without the residual",
         hint="Return a tuple (w, residual) where residual is the norm of X @ w - y.")
def coefficients_only(X, y):
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    return np.linalg.lstsq(X, y, rcond=None)[0]


# in_span


@mistake("in_span",
         misconception="the residual was compared with tol itself, an absolute bound that round-off exceeds for targets of large norm",
         hint="Round-off in the residual grows with ||y||. Compare the residual with tol * max(1, ||y||_2).")
def absolute_tolerance(X, y, tol=1e-8):
    _, residual = span_coefficients(X, y)
    return bool(residual <= tol)


@mistake("in_span",
         misconception="the residual was compared with tol * ||y|| without the floor of 1, so tiny targets must be matched almost exactly",
         hint="For a target whose norm is below 1 the bound should be tol itself. Use tol * max(1, ||y||_2).")
def relative_tolerance_without_floor(X, y, tol=1e-8):
    _, residual = span_coefficients(X, y)
    return bool(residual <= tol * np.linalg.norm(np.asarray(y, dtype=float)))


@mistake("in_span",
         misconception="the squared residual was compared with a tolerance meant for the residual itself",
         hint="Compare the norm ||X w - y||_2, not its square. A residual of 1e-5 has a square of 1e-10, which wrongly passes a 1e-8 test.")
def squared_residual_compared(X, y, tol=1e-8):
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    w = np.linalg.lstsq(X, y, rcond=None)[0]
    squared_residual = np.sum((X @ w - y) ** 2)
    return bool(squared_residual <= tol * max(1.0, np.linalg.norm(y)))


@mistake("in_span",
         misconception="the tol argument was ignored and the default 1e-8 was always used",
         hint="Use the tol parameter in the comparison instead of a fixed number.")
def ignores_tol(X, y, tol=1e-8):
    _, residual = span_coefficients(X, y)
    return bool(residual <= 1e-8 * max(1.0, np.linalg.norm(np.asarray(y, dtype=float))))


@mistake("in_span",
         misconception="X w and y were compared entry by entry with np.allclose, whose default tolerances are far looser than tol",
         hint="Decide from the norm of the residual X w - y and the tol argument, not from np.allclose's own default rtol and atol.")
def elementwise_allclose(X, y, tol=1e-8):
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    w, _ = span_coefficients(X, y)
    return bool(np.allclose(X @ w, y))


@mistake("in_span",
         misconception="y was declared in the span when appending it as a column does not raise the rank, which ignores tol",
         hint="The rank test treats any component outside the span above round-off as a miss. Compare the least-squares residual with tol * max(1, ||y||_2).")
def compares_ranks(X, y, tol=1e-8):
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    return column_rank(np.column_stack([X, y])) == column_rank(X)


# column_rank


@mistake("column_rank",
         misconception="singular values were compared with a fixed threshold such as 1e-10, which does not scale with X",
         hint="Scale the default threshold with the largest singular value: s_max * max(n, d) * machine epsilon.")
def fixed_tolerance(X, tol=None):
    X = np.asarray(X, dtype=float)
    singular_values = np.linalg.svd(X, compute_uv=False)
    if tol is None:
        tol = 1e-10
    return int(np.sum(singular_values > tol))


@mistake("column_rank",
         misconception="the rank was taken to be min(n, d), which ignores dependent columns",
         hint="min(n, d) is only an upper bound on the rank. Count the singular values that are above the tolerance.")
def smaller_dimension(X, tol=None):
    X = np.asarray(X, dtype=float)
    return int(min(X.shape))


@mistake("column_rank",
         misconception="the rank was taken to be the number of columns d",
         hint="Dependent columns, and more columns than rows, make the rank smaller than d. Count the singular values above the tolerance.")
def number_of_columns(X, tol=None):
    return int(np.asarray(X, dtype=float).shape[1])


@mistake("column_rank",
         misconception="an explicit tol argument was ignored and the default threshold was always used",
         hint="Use the default threshold only when tol is None, and otherwise compare the singular values with tol.")
def ignores_explicit_tol(X, tol=None):
    X = np.asarray(X, dtype=float)
    singular_values = np.linalg.svd(X, compute_uv=False)
    threshold = singular_values.max() * max(X.shape) * np.finfo(float).eps
    return int(np.sum(singular_values > threshold))


@mistake("column_rank",
         misconception="an explicit tol was treated as relative and multiplied by the largest singular value",
         hint="An explicit tol is an absolute threshold on the singular values. Only the default is scaled by s_max.")
def explicit_tol_as_relative(X, tol=None):
    X = np.asarray(X, dtype=float)
    singular_values = np.linalg.svd(X, compute_uv=False)
    if tol is None:
        tol = max(X.shape) * np.finfo(float).eps
    return int(np.sum(singular_values > tol * singular_values.max()))


@mistake("column_rank",
         misconception="the eigenvalues of X^T X were thresholded, and squaring the singular values pushes small but genuine ones below the tolerance",
         hint="Eigenvalues of X^T X are the squared singular values, so a singular value of 1e-9 becomes 1e-18. Take the singular values of X itself.")
def gram_matrix_eigenvalues(X, tol=None):
    X = np.asarray(X, dtype=float)
    eigenvalues = np.linalg.eigvalsh(X.T @ X)
    if tol is None:
        tol = np.abs(eigenvalues).max() * max(X.shape) * np.finfo(float).eps
    return int(np.sum(eigenvalues > tol))


@mistake("column_rank",
         misconception="every nonzero singular value was counted, so round-off makes dependent columns look independent",
         hint="Round-off leaves tiny nonzero singular values where exact arithmetic gives zero. Count only those above the tolerance.")
def counts_nonzero_singular_values(X, tol=None):
    X = np.asarray(X, dtype=float)
    singular_values = np.linalg.svd(X, compute_uv=False)
    return int(np.count_nonzero(singular_values))


# polynomial_features


@mistake("polynomial_features",
         misconception="the columns are in decreasing order of power, which is np.vander's default",
         hint="Column k must be x**k, starting with the column of ones. np.vander needs increasing=True for that order.")
def decreasing_powers(x, degree):
    if degree < 0:
        raise ValueError(f"degree must be non-negative, got {degree}")
    return np.vander(np.asarray(x, dtype=float), degree + 1)


@mistake("polynomial_features",
         misconception="the powers start at x**1, so the constant column of ones is missing",
         hint="Include x**0, the column of ones: without it the span misses constant offsets, and degree 0 must give one column.")
def no_constant_column(x, degree):
    if degree < 0:
        raise ValueError(f"degree must be non-negative, got {degree}")
    x = np.asarray(x, dtype=float)
    return np.column_stack([x**k for k in range(1, degree + 1)])


@mistake("polynomial_features",
         misconception="the powers stop at x**(degree - 1), one column short",
         hint="range(degree) stops before degree. The result needs degree + 1 columns, up to and including x**degree.")
def one_power_short(x, degree):
    if degree < 0:
        raise ValueError(f"degree must be non-negative, got {degree}")
    x = np.asarray(x, dtype=float)
    features = np.empty((x.shape[0], degree))
    for k in range(degree):
        features[:, k] = x**k
    return features


@mistake("polynomial_features",
         misconception="the powers were stacked as rows, giving shape (degree + 1, n) instead of (n, degree + 1)",
         hint="Each example is a row and each power is a column. Stack the power vectors along axis=1 or transpose the result.")
def powers_as_rows(x, degree):
    if degree < 0:
        raise ValueError(f"degree must be non-negative, got {degree}")
    x = np.asarray(x, dtype=float)
    return np.array([x**k for k in range(degree + 1)])


@mistake("polynomial_features",
         misconception="integer inputs were not converted to float, so the features have an integer dtype",
         hint="Convert x with np.asarray(x, dtype=float) before taking powers.")
def features_keep_integer_dtype(x, degree):
    if degree < 0:
        raise ValueError(f"degree must be non-negative, got {degree}")
    x = np.asarray(x)
    return np.stack([x**k for k in range(degree + 1)], axis=1)


@mistake("polynomial_features",
         misconception="a negative degree was not rejected, so degree -1 silently gives an empty feature matrix",
         hint="Check degree < 0 at the start and raise ValueError.")
def negative_degree_accepted(x, degree):
    x = np.asarray(x, dtype=float)
    features = np.ones((x.shape[0], degree + 1))
    for k in range(1, degree + 1):
        features[:, k] = x**k
    return features
