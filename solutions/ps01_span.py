"""Reference solutions for ps01_span: predictions live in the column span of X.

Shapes used throughout:

- ``X``: (n, d), one example per row and one feature per column.
- ``w``: (d,) coefficient vector, or (d, k) for k outputs at once.
- ``y``: (n,) target vector.
- ``x``: (n,) raw inputs for polynomial features.

Every function accepts lists and integer arrays.  Results are float64 unless
a function documents a bool or int result.
"""

import numpy as np


def combine_columns(X, w):
    r"""Combine the columns of X with the coefficients in w.

    .. math:: \hat y = \sum_{j=0}^{d-1} w_j \, X_{:, j}

    The sum is written column by column, without a matrix product, so the
    result is visibly a linear combination of the columns of X.

    Parameters
    ----------
    X : array_like, shape (n, d)
        Feature matrix, one example per row.
    w : array_like, shape (d,)
        One coefficient per column of X.

    Returns
    -------
    ndarray, shape (n,), float64
        ``w[0] * X[:, 0] + ... + w[d-1] * X[:, d-1]``.
    """
    X = np.asarray(X, dtype=float)
    w = np.asarray(w, dtype=float)

    # Add one scaled column at a time, starting from the zero vector.
    combination = np.zeros(X.shape[0])
    for j in range(X.shape[1]):
        combination = combination + w[j] * X[:, j]
    return combination


def predict(X, w):
    r"""Compute the predictions ``X @ w`` after checking the shapes.

    .. math:: \hat Y = X W, \qquad \hat Y_{:, c} = \sum_j W_{j c} \, X_{:, j}

    Each output column is a combination of the columns of X, so every
    prediction lies in the column span of X.

    Parameters
    ----------
    X : array_like, shape (n, d)
        Feature matrix, one example per row.
    w : array_like, shape (d,) or (d, k)
        Coefficients for one output, or one column of coefficients per output.

    Returns
    -------
    ndarray, shape (n,) or (n, k), float64
        ``(n,)`` when ``w`` is 1-D and ``(n, k)`` when ``w`` is 2-D.

    Raises
    ------
    ValueError
        If X is not 2-D, w is not 1-D or 2-D, or ``X.shape[1] != w.shape[0]``.
        The message contains both shapes, for example ``(3, 2)`` and ``(4,)``.
    """
    X = np.asarray(X, dtype=float)
    w = np.asarray(w, dtype=float)

    # Check the dimensions before indexing the shapes, because a 1-D X has no
    # shape[1].
    if X.ndim != 2 or w.ndim not in (1, 2) or X.shape[1] != w.shape[0]:
        raise ValueError(
            f"cannot multiply X of shape {X.shape} by w of shape {w.shape}: "
            "X must be (n, d) and w must be (d,) or (d, k) with the same d"
        )
    return X @ w


def span_coefficients(X, y):
    r"""Find the minimum-norm least-squares coefficients and the residual norm.

    .. math::

        w = X^+ y = \arg\min \{ \|w\|_2 : w \text{ minimises } \|X w - y\|_2 \},
        \qquad r = \|X w - y\|_2

    ``X w`` is the orthogonal projection of y onto the column span of X, so
    the residual is zero exactly when y lies in the span.  When X is
    rank-deficient, many w give the same projection, and the minimum-norm one
    is the unique w that is orthogonal to the null space of X.  Singular
    values at or below ``max(n, d) * eps * s_max`` count as zero, the same
    rule as ``column_rank``'s default tolerance.

    Parameters
    ----------
    X : array_like, shape (n, d)
        Feature matrix; rank-deficient X is allowed.
    y : array_like, shape (n,)
        Target vector.

    Returns
    -------
    w : ndarray, shape (d,), float64
        The minimum-norm least-squares coefficients.
    residual : float
        ``||X w - y||_2`` as a Python float.
    """
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)

    # lstsq solves through the SVD and returns the minimum-norm solution.
    # rcond=None sets the cutoff to max(n, d) * eps * s_max.
    w, _, _, _ = np.linalg.lstsq(X, y, rcond=None)

    # lstsq's own residual output is a sum of squares and is empty for
    # rank-deficient X, so compute the norm directly.
    residual = float(np.linalg.norm(X @ w - y))
    return w, residual


def in_span(X, y, tol=1e-8):
    r"""Decide whether y lies in the column span of X, up to a tolerance.

    .. math:: \|X w - y\|_2 \le \mathrm{tol} \cdot \max(1, \|y\|_2)

    where w is the least-squares solution.  The bound is relative for large
    targets, so round-off that grows with ``||y||`` does not count as a miss,
    and absolute (``tol``) for targets with norm below 1.

    Parameters
    ----------
    X : array_like, shape (n, d)
        Feature matrix.
    y : array_like, shape (n,)
        Target vector.
    tol : float, default 1e-8
        Relative tolerance on the least-squares residual.

    Returns
    -------
    bool
        True exactly when the residual is at most ``tol * max(1, ||y||_2)``.
    """
    y = np.asarray(y, dtype=float)

    # The residual of the best fit is the distance from y to the span.
    _, residual = span_coefficients(X, y)

    # Compare it with a bound that scales with y once ||y|| exceeds 1.
    bound = tol * max(1.0, float(np.linalg.norm(y)))
    return bool(residual <= bound)


def column_rank(X, tol=None):
    r"""Count the singular values of X above a tolerance.

    .. math::

        \operatorname{rank}(X) = \#\{ i : s_i > \mathrm{tol} \}, \qquad
        \mathrm{tol}_{\mathrm{default}} = s_{\max} \cdot \max(n, d) \cdot \varepsilon

    where ``s_i`` are the singular values of X and ``eps`` is float64 machine
    epsilon.  The default is numpy.linalg.matrix_rank's rule: it scales with
    X, so multiplying X by a constant does not change its rank.  The rank is
    the dimension of the column span: a column that is a combination of the
    others does not raise it.

    Parameters
    ----------
    X : array_like, shape (n, d)
        Feature matrix.
    tol : float or None, default None
        Absolute threshold on the singular values; None selects the default.

    Returns
    -------
    int
        The number of singular values strictly greater than ``tol``.
    """
    X = np.asarray(X, dtype=float)
    singular_values = np.linalg.svd(X, compute_uv=False)

    # An X with no entries has no singular values and rank 0.
    if singular_values.size == 0:
        return 0

    # Without an explicit tol, scale the threshold with the largest singular value.
    if tol is None:
        tol = singular_values.max() * max(X.shape) * np.finfo(float).eps
    return int(np.count_nonzero(singular_values > tol))


def polynomial_features(x, degree):
    r"""Build the matrix of powers of x, from the constant column upwards.

    .. math:: \Phi_{i k} = x_i^k, \qquad k = 0, 1, \ldots, \mathrm{degree}

    Column 0 is all ones (``0.0 ** 0`` is 1), so the span of the result
    contains the constant functions.  Each extra degree adds a column, so the
    span can only grow.

    Parameters
    ----------
    x : array_like, shape (n,)
        Raw inputs.
    degree : int
        Highest power; 0 gives a single column of ones.

    Returns
    -------
    ndarray, shape (n, degree + 1), float64
        Column k is ``x ** k``.

    Raises
    ------
    ValueError
        If ``degree`` is negative.
    """
    if degree < 0:
        raise ValueError(f"degree must be a non-negative integer, got {degree}")
    x = np.asarray(x, dtype=float)

    # Fill column k with x**k.
    features = np.empty((x.shape[0], degree + 1))
    for k in range(degree + 1):
        features[:, k] = x**k
    return features
