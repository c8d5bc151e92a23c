"""Reference solutions for the attention assignment (instructor-only).

Scaled dot-product attention turns a query into softmax weights over the keys
and returns the weighted sum of the value vectors.  Because the weights are
non-negative and sum to 1, every output row is a convex combination of the
value rows and lies in their convex hull.

Shape legend used throughout:

- ``n``: number of queries, ``m``: number of keys (and values);
- ``d_k``: width of queries and keys, ``d_v``: width of values;
- ``...``: leading batch or head dimensions, broadcast against each other;
- ``d_model``: width of the model in multi-head attention, split into
  ``n_heads`` heads of width ``d_head = d_model // n_heads``.
"""

import numpy as np


def stable_softmax(scores, axis=-1, mask=None):
    r"""Compute a masked softmax without overflow.

    Along ``axis``, each entry that takes part gets the weight

    .. math:: a_i = \frac{\exp(s_i - s_{\max})}{\sum_j \exp(s_j - s_{\max})},

    where the sum and the maximum run over the entries that take part.  An
    entry takes part when ``mask`` is None or True there and its score is not
    ``-inf``.

    Parameters
    ----------
    scores : array_like of float, any shape
        Scores; lists and integer arrays are accepted.
    axis : int, default -1
        Axis along which the weights sum to 1.
    mask : array_like of bool, optional
        Broadcastable to ``scores.shape``.  True means "may attend".

    Returns
    -------
    weights : ndarray of float64, same shape as ``scores``
        Entries that do not take part get weight exactly 0, and their scores
        (even NaN or ``+inf``) never affect the result.  A slice along
        ``axis`` in which no entry takes part is all zeros, never NaN.
        Otherwise each slice is non-negative and sums to 1.

    Raises
    ------
    ValueError
        If an entry that takes part has a NaN or ``+inf`` score, or if
        ``mask`` does not broadcast to ``scores.shape``.
    """
    scores = np.asarray(scores, dtype=float)

    # Decide which entries take part: allowed by the mask and not -inf.
    if mask is None:
        allowed = np.ones(scores.shape, dtype=bool)
    else:
        mask = np.asarray(mask, dtype=bool)
        try:
            allowed = np.broadcast_to(mask, scores.shape)
        except ValueError:
            raise ValueError(
                f"mask of shape {mask.shape} does not broadcast to the scores shape {scores.shape}"
            ) from None
    takes_part = allowed & (scores != -np.inf)

    # A NaN or +inf score that takes part has no meaningful weight.
    invalid = takes_part & ~np.isfinite(scores)
    if invalid.any():
        raise ValueError(
            f"{int(invalid.sum())} score(s) that take part are NaN or +inf; "
            "mask them out or replace them with finite values"
        )

    # Hide the entries that do not take part behind -inf, so that their
    # scores, even NaN or +inf, cannot reach the maximum or the sum.
    hidden = np.where(takes_part, scores, -np.inf)

    # Subtract the maximum of each slice.  A slice with no entry taking part
    # has maximum -inf, so subtract 0 there instead of producing NaN.
    slice_max = np.max(hidden, axis=axis, keepdims=True)
    slice_max = np.where(np.isfinite(slice_max), slice_max, 0.0)

    # The shifted scores are <= 0.  The difference of two scores near the
    # largest float can round to -inf, whose exp is the correct limit 0, so
    # the overflow warning is harmless.
    with np.errstate(over="ignore"):
        shifted = hidden - slice_max
    exponentials = np.exp(shifted)

    # Every non-empty slice contains exp(0) = 1, so its total is >= 1.
    # Empty slices have total 0 and keep the zeros of ``out``.
    totals = np.sum(exponentials, axis=axis, keepdims=True)
    weights = np.zeros_like(exponentials)
    np.divide(exponentials, totals, out=weights, where=totals > 0)
    return weights


def causal_mask(n_queries, n_keys=None):
    """Return the causal attention mask.

    Query ``i`` may attend to key ``j`` exactly when ``j <= i``, the lower
    triangle including the diagonal, as in ``np.tril``.

    Parameters
    ----------
    n_queries : int
        Number of queries ``n``.
    n_keys : int, optional
        Number of keys ``m``; defaults to ``n_queries``.

    Returns
    -------
    mask : ndarray of bool, shape (n, m)
        True where ``j <= i``.
    """
    if n_keys is None:
        n_keys = n_queries
    query_index = np.arange(n_queries)[:, np.newaxis]
    key_index = np.arange(n_keys)[np.newaxis, :]
    return key_index <= query_index


def attention_weights(Q, K, mask=None):
    r"""Compute scaled dot-product attention weights.

    .. math:: A = \operatorname{softmax}\left(\frac{Q K^\top}{\sqrt{d_k}}\right)

    with the softmax taken over the keys (the last axis) by
    :func:`stable_softmax`.

    Parameters
    ----------
    Q : array_like, shape (..., n, d_k)
        Queries, one per row.
    K : array_like, shape (..., m, d_k)
        Keys, one per row.  Leading dimensions broadcast against ``Q``.
    mask : array_like of bool, optional
        Broadcastable to (..., n, m).  True means "may attend".

    Returns
    -------
    weights : ndarray of float64, shape (..., n, m)
        Row ``i`` contains the weights of query ``i`` over the keys.  Masked
        keys get weight exactly 0, and a query with no key taking part gets
        an all-zero row.

    Raises
    ------
    ValueError
        If ``Q`` or ``K`` has fewer than 2 dimensions, or their last
        dimensions differ.
    """
    Q = np.asarray(Q, dtype=float)
    K = np.asarray(K, dtype=float)
    if Q.ndim < 2 or K.ndim < 2:
        raise ValueError(
            f"Q and K must have shape (..., n, d_k) and (..., m, d_k); got {Q.shape} and {K.shape}"
        )
    if Q.shape[-1] != K.shape[-1]:
        raise ValueError(
            f"queries have width {Q.shape[-1]} but keys have width {K.shape[-1]}; "
            "the last dimensions of Q and K must match"
        )

    # Scores: dot product of every query with every key, scaled by sqrt(d_k)
    # so that their spread does not grow with the width.
    d_k = Q.shape[-1]
    scores = Q @ np.swapaxes(K, -1, -2) / np.sqrt(d_k)

    # Normalise over the keys.
    return stable_softmax(scores, axis=-1, mask=mask)


def attention(Q, K, V, mask=None):
    """Compute scaled dot-product attention.

    Each output row is ``o_i = sum_j A[i, j] V[j]``, a convex combination of
    the value rows when query ``i`` has a key taking part.

    Parameters
    ----------
    Q : array_like, shape (..., n, d_k)
        Queries.
    K : array_like, shape (..., m, d_k)
        Keys.
    V : array_like, shape (..., m, d_v)
        Values, one per key.
    mask : array_like of bool, optional
        Broadcastable to (..., n, m).  True means "may attend".

    Returns
    -------
    output : ndarray of float64, shape (..., n, d_v)
        ``weights @ V``.  A query with no key taking part gets an all-zero
        row.
    weights : ndarray of float64, shape (..., n, m)
        The result of :func:`attention_weights`.

    Raises
    ------
    ValueError
        If ``K`` and ``V`` have different numbers of keys, if ``V`` has fewer
        than 2 dimensions, or for any reason given by
        :func:`attention_weights`.
    """
    K = np.asarray(K, dtype=float)
    V = np.asarray(V, dtype=float)
    if V.ndim < 2:
        raise ValueError(f"V must have shape (..., m, d_v); got {V.shape}")
    if K.ndim >= 2 and K.shape[-2] != V.shape[-2]:
        raise ValueError(
            f"K has {K.shape[-2]} keys but V has {V.shape[-2]} value rows; "
            "there must be one value row per key"
        )

    weights = attention_weights(Q, K, mask=mask)
    output = weights @ V
    return output, weights


def combine_values(weights, V):
    """Combine the value vectors of one query: ``o = sum_i weights[i] * V[i]``.

    The sum is written out as a combination of the rows of ``V`` rather than
    as a matrix product, so that the geometry stays visible.

    Parameters
    ----------
    weights : array_like, shape (m,)
        One weight per value vector.
    V : array_like, shape (m, d_v)
        Value vectors, one per row.

    Returns
    -------
    output : ndarray of float64, shape (d_v,)

    Raises
    ------
    ValueError
        If ``weights`` is not 1-D, ``V`` is not 2-D, or their numbers of rows
        differ.
    """
    weights = np.asarray(weights, dtype=float)
    V = np.asarray(V, dtype=float)
    if weights.ndim != 1 or V.ndim != 2 or weights.shape[0] != V.shape[0]:
        raise ValueError(
            f"weights must have shape (m,) and V shape (m, d_v); got {weights.shape} and {V.shape}"
        )

    # Add a_i v_i one value vector at a time.
    output = np.zeros(V.shape[1])
    for weight, value in zip(weights, V):
        output = output + weight * value
    return output


def multi_head_attention(X, W_q, W_k, W_v, W_o, n_heads, mask=None):
    """Compute multi-head self-attention.

    ``Q = X W_q``, ``K = X W_k`` and ``V = X W_v``.  Head ``h`` attends with
    columns ``h*d_head:(h+1)*d_head`` of each, scaled by ``sqrt(d_head)``.
    The head outputs are concatenated in head order and multiplied by
    ``W_o``.

    Parameters
    ----------
    X : array_like, shape (n, d_model)
        Input sequence, one position per row.
    W_q, W_k, W_v, W_o : array_like, shape (d_model, d_model)
        Query, key, value and output projections.
    n_heads : int
        Number of heads; must divide ``d_model``.
    mask : array_like of bool, optional
        Broadcastable to (n, n) and shared by every head.

    Returns
    -------
    output : ndarray of float64, shape (n, d_model)

    Raises
    ------
    ValueError
        If ``n_heads`` is not a positive divisor of ``d_model``, or the
        shapes of ``X`` and the projections do not match.
    """
    X = np.asarray(X, dtype=float)
    if X.ndim != 2:
        raise ValueError(f"X must have shape (n, d_model); got {X.shape}")
    d_model = X.shape[1]
    projections = [np.asarray(W, dtype=float) for W in (W_q, W_k, W_v, W_o)]
    for name, W in zip(("W_q", "W_k", "W_v", "W_o"), projections):
        if W.shape != (d_model, d_model):
            raise ValueError(f"{name} must have shape ({d_model}, {d_model}); got {W.shape}")
    W_q, W_k, W_v, W_o = projections
    if n_heads < 1 or d_model % n_heads != 0:
        raise ValueError(
            f"n_heads={n_heads} does not divide d_model={d_model}; "
            "choose a number of heads that divides the model width"
        )

    # Project the inputs once for all heads.
    Q = X @ W_q
    K = X @ W_k
    V = X @ W_v

    # Each head attends in its own block of d_head columns, so attention
    # scales its scores by sqrt(d_head).
    d_head = d_model // n_heads
    head_outputs = []
    for h in range(n_heads):
        columns = slice(h * d_head, (h + 1) * d_head)
        output, _ = attention(Q[:, columns], K[:, columns], V[:, columns], mask=mask)
        head_outputs.append(output)

    # Concatenate the heads in order and mix them with the output projection.
    return np.concatenate(head_outputs, axis=1) @ W_o
