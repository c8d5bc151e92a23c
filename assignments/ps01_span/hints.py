"""Hints that students reveal with ``hint("<function>")``: a next step, never the solution."""

HINTS = {
    "combine_columns": (
        "Start from np.zeros of length n, the number of rows of X, and add one scaled column per "
        "weight: X[:, j] is column j. Convert X and w with np.asarray(..., dtype=float) first, so "
        "that lists and integer arrays work too."
    ),
    "predict": (
        "Convert both inputs to float arrays, then check X.ndim and w.ndim before you read "
        "X.shape[1] or w.shape[0], because a 1-D X has no shape[1]. Put X.shape and w.shape in the "
        "message of the ValueError, formatted with an f-string."
    ),
    "span_coefficients": (
        "Let an SVD-based solver do the work: read the documentation of np.linalg.lstsq and what "
        "rcond=None means. Do not use its returned residuals, which are squared and empty for "
        "rank-deficient X; compute the norm of X w - y yourself and return it as a Python float."
    ),
    "in_span": (
        "Reuse span_coefficients to get the distance from y to the span. Compare it with "
        "tol * max(1, ||y||), and return a Python bool rather than a numpy bool."
    ),
    "column_rank": (
        "np.linalg.svd(X, compute_uv=False) gives the singular values, largest first. Count how many "
        "are strictly above the threshold; when tol is None, build the threshold from the largest "
        "singular value, the larger dimension of X and np.finfo(float).eps."
    ),
    "polynomial_features": (
        "Check the degree before anything else. Column k holds x raised to the power k, for k from 0 "
        "up to and including degree, so the matrix has degree + 1 columns; x**0 is a column of ones."
    ),
}
