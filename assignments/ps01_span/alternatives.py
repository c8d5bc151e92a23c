"""Catalogue of correct implementations for ps01_span in different styles.

Each entry is a self-contained function that the grader renames to the
graded function's name, and each must pass every case.  They show students
and graders that the contract fixes the result, not the method.
"""

import numpy as np

from autograder.catalogue import alternative

# combine_columns: no matrix-product operator or function is allowed.


@alternative("combine_columns", style="broadcast the weights over the columns, then sum each row")
def combine_columns_by_broadcasting(X, w):
    X = np.asarray(X, dtype=float)
    w = np.asarray(w, dtype=float)
    return (X * w[np.newaxis, :]).sum(axis=1)


@alternative("combine_columns", style="built-in sum over a generator of scaled columns")
def combine_columns_with_generator(X, w):
    X = np.asarray(X, dtype=float)
    w = np.asarray(w, dtype=float)
    return sum((w[j] * X[:, j] for j in range(X.shape[1])), np.zeros(X.shape[0]))


@alternative("combine_columns", style="explicit double loop over rows and columns")
def combine_columns_double_loop(X, w):
    X = np.asarray(X, dtype=float)
    w = np.asarray(w, dtype=float)
    n, d = X.shape
    combination = np.zeros(n)
    for i in range(n):
        total = 0.0
        for j in range(d):
            total += w[j] * X[i, j]
        combination[i] = total
    return combination


@alternative("combine_columns", style="list of scaled columns reduced with np.sum")
def combine_columns_stacked(X, w):
    X = np.asarray(X, dtype=float)
    w = np.asarray(w, dtype=float)
    scaled_columns = np.array([w[j] * X[:, j] for j in range(X.shape[1])])
    return np.sum(scaled_columns, axis=0)


# predict


@alternative("predict", style="combine_columns once per output column")
def predict_by_columns(X, w):
    X = np.asarray(X, dtype=float)
    w = np.asarray(w, dtype=float)
    if X.ndim != 2 or w.ndim not in (1, 2) or X.shape[1] != w.shape[0]:
        raise ValueError(f"X has shape {X.shape} and w has shape {w.shape}, but expected (n, d) and (d,) or (d, k)")
    if w.ndim == 1:
        return combine_columns(X, w)
    return np.column_stack([combine_columns(X, w[:, c]) for c in range(w.shape[1])])


@alternative("predict", style="np.tensordot over the feature axis")
def predict_with_tensordot(X, w):
    X = np.asarray(X, dtype=float)
    w = np.asarray(w, dtype=float)
    if X.ndim != 2:
        raise ValueError(f"X must be 2-D, got shape {X.shape} (w has shape {w.shape})")
    if w.ndim not in (1, 2):
        raise ValueError(f"w must be 1-D or 2-D, got shape {w.shape} (X has shape {X.shape})")
    if X.shape[1] != w.shape[0]:
        raise ValueError(f"X of shape {X.shape} has {X.shape[1]} columns but w of shape {w.shape} has {w.shape[0]} rows")
    return np.tensordot(X, w, axes=1)


@alternative("predict", style="np.einsum with an optional output axis")
def predict_with_einsum(X, w):
    X = np.asarray(X, dtype=float)
    w = np.asarray(w, dtype=float)
    if X.ndim != 2 or w.ndim not in (1, 2) or X.shape[1] != w.shape[0]:
        raise ValueError(f"incompatible shapes: X {X.shape}, w {w.shape}")
    return np.einsum("nd,d...->n...", X, w)


@alternative("predict", style="broadcast products summed over the feature axis")
def predict_by_broadcasting(X, w):
    X = np.asarray(X, dtype=float)
    w = np.asarray(w, dtype=float)
    if X.ndim != 2 or w.ndim not in (1, 2) or X.shape[1] != w.shape[0]:
        raise ValueError(f"incompatible shapes: X {X.shape}, w {w.shape}")
    coefficients = w.reshape(w.shape[0], -1)
    predictions = (X[:, :, np.newaxis] * coefficients[np.newaxis, :, :]).sum(axis=1)
    return predictions[:, 0] if w.ndim == 1 else predictions


# span_coefficients


@alternative("span_coefficients", style="pseudo-inverse with lstsq's cutoff")
def span_coefficients_with_pinv(X, y):
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    cutoff = max(X.shape) * np.finfo(float).eps
    w = np.linalg.pinv(X, rcond=cutoff) @ y
    return w, float(np.linalg.norm(X @ w - y))


@alternative("span_coefficients", style="thin SVD, inverting only the nonzero singular values")
def span_coefficients_with_svd(X, y):
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    left, singular_values, right_transposed = np.linalg.svd(X, full_matrices=False)

    # Directions with singular values at or below the cutoff are treated as missing.
    cutoff = singular_values.max(initial=0.0) * max(X.shape) * np.finfo(float).eps
    keep = singular_values > cutoff

    # w = V_r diag(1 / s_r) U_r^T y, and the residual is y minus its projection U_r U_r^T y.
    coordinates = left[:, keep].T @ y
    w = right_transposed[keep].T @ (coordinates / singular_values[keep])
    residual = float(np.linalg.norm(y - left[:, keep] @ coordinates))
    return w, residual


@alternative("span_coefficients", style="QR least squares in an orthonormal basis of the row space")
def span_coefficients_with_qr(X, y):
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)

    # The minimum-norm w lies in the row space of X, spanned by the leading
    # right singular vectors, so write w = basis @ c.
    _, singular_values, right_transposed = np.linalg.svd(X, full_matrices=False)
    cutoff = singular_values.max(initial=0.0) * max(X.shape) * np.finfo(float).eps
    basis = right_transposed[singular_values > cutoff].T
    if basis.shape[1] == 0:
        return np.zeros(X.shape[1]), float(np.linalg.norm(y))

    # X @ basis has full column rank, so its QR factorisation gives c.
    q, r = np.linalg.qr(X @ basis)
    w = basis @ np.linalg.solve(r, q.T @ y)
    return w, float(np.linalg.norm(X @ w - y))


# in_span


@alternative("in_span", style="residual from lstsq computed in place")
def in_span_with_lstsq(X, y, tol=1e-8):
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    w = np.linalg.lstsq(X, y, rcond=None)[0]
    residual = np.linalg.norm(X @ w - y)
    return bool(residual <= tol * max(1.0, np.linalg.norm(y)))


@alternative("in_span", style="distance to the span through an orthonormal basis from the SVD")
def in_span_with_orthonormal_basis(X, y, tol=1e-8):
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    left, singular_values, _ = np.linalg.svd(X, full_matrices=False)
    cutoff = singular_values.max(initial=0.0) * max(X.shape) * np.finfo(float).eps
    basis = left[:, singular_values > cutoff]
    distance = np.linalg.norm(y - basis @ (basis.T @ y))
    return bool(distance <= tol * max(1.0, np.linalg.norm(y)))


@alternative("in_span", style="projection matrix X X^+ from the pseudo-inverse")
def in_span_with_projection_matrix(X, y, tol=1e-8):
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    projection = X @ np.linalg.pinv(X, rcond=max(X.shape) * np.finfo(float).eps)
    distance = np.linalg.norm(projection @ y - y)
    return bool(distance <= tol * max(1.0, np.linalg.norm(y)))


# column_rank


@alternative("column_rank", style="numpy.linalg.matrix_rank")
def column_rank_with_matrix_rank(X, tol=None):
    return int(np.linalg.matrix_rank(np.asarray(X, dtype=float), tol=tol))


@alternative("column_rank", style="explicit loop over the singular values")
def column_rank_with_loop(X, tol=None):
    X = np.asarray(X, dtype=float)
    singular_values = np.linalg.svd(X, compute_uv=False)
    if tol is None:
        tol = max(singular_values, default=0.0) * max(X.shape) * np.finfo(float).eps
    rank = 0
    for value in singular_values:
        if value > tol:
            rank += 1
    return rank


@alternative("column_rank", style="singular values of the transpose (row rank equals column rank)")
def column_rank_from_transpose(X, tol=None):
    X = np.asarray(X, dtype=float)
    singular_values = np.linalg.svd(X.T, compute_uv=False)
    if tol is None:
        tol = singular_values.max(initial=0.0) * max(X.shape) * np.finfo(float).eps
    return int((singular_values > tol).sum())


# polynomial_features


@alternative("polynomial_features", style="np.vander with increasing powers")
def polynomial_features_with_vander(x, degree):
    if degree < 0:
        raise ValueError(f"degree must be at least 0, got {degree}")
    return np.vander(np.asarray(x, dtype=float), degree + 1, increasing=True)


@alternative("polynomial_features", style="outer power of x with the exponents 0..degree")
def polynomial_features_with_power_outer(x, degree):
    if degree < 0:
        raise ValueError(f"degree must be at least 0, got {degree}")
    return np.power.outer(np.asarray(x, dtype=float), np.arange(degree + 1))


@alternative("polynomial_features", style="repeated multiplication, one column from the previous")
def polynomial_features_by_multiplication(x, degree):
    if degree < 0:
        raise ValueError(f"degree must be at least 0, got {degree}")
    x = np.asarray(x, dtype=float)
    columns = [np.ones_like(x)]
    for _ in range(degree):
        columns.append(columns[-1] * x)
    return np.column_stack(columns)


@alternative("polynomial_features", style="cumulative product along the columns")
def polynomial_features_with_cumprod(x, degree):
    if degree < 0:
        raise ValueError(f"degree must be at least 0, got {degree}")
    x = np.asarray(x, dtype=float)
    factors = np.column_stack([np.ones_like(x)] + [x] * degree)
    return np.cumprod(factors, axis=1)
