"""Correct implementations of the attention functions in other styles.

Each entry is self-contained: it uses only ``np`` and the other graded
functions by their contract names, and must pass every case.
"""

import numpy as np

from autograder.catalogue import alternative

# --- stable_softmax ---------------------------------------------------------


@alternative("stable_softmax", style="log-sum-exp")
def softmax_by_log_sum_exp(scores, axis=-1, mask=None):
    scores = np.asarray(scores, dtype=float)
    allowed = np.ones(scores.shape, dtype=bool)
    if mask is not None:
        allowed = np.broadcast_to(np.asarray(mask, dtype=bool), scores.shape)
    takes_part = allowed & (scores != -np.inf)
    if np.any(takes_part & (np.isnan(scores) | (scores == np.inf))):
        raise ValueError("a score that takes part is NaN or +inf")

    # log softmax = (s - max) - log(sum exp(s - max)).  Adding the maximum
    # back first would lose the logarithm when the maximum is near 1e300.
    hidden = np.where(takes_part, scores, -np.inf)
    alive = takes_part.any(axis=axis, keepdims=True)
    peak = np.where(alive, np.max(hidden, axis=axis, keepdims=True), 0.0)
    with np.errstate(over="ignore", divide="ignore"):
        # Differences near the largest float round to -inf, whose exp is 0.
        shifted = hidden - peak
        log_total = np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))
    log_weights = shifted - np.where(alive, log_total, 0.0)
    return np.where(takes_part, np.exp(log_weights), 0.0)


@alternative("stable_softmax", style="explicit loop over slices")
def softmax_by_loop_over_slices(scores, axis=-1, mask=None):
    scores = np.asarray(scores, dtype=float)
    allowed = np.ones(scores.shape, dtype=bool)
    if mask is not None:
        allowed = np.broadcast_to(np.asarray(mask, dtype=bool), scores.shape)

    # Move the softmax axis last and flatten the rest into rows.
    moved_scores = np.moveaxis(scores, axis, -1)
    moved_allowed = np.moveaxis(allowed, axis, -1)
    rows = moved_scores.reshape(-1, moved_scores.shape[-1])
    row_allowed = moved_allowed.reshape(rows.shape)
    result = np.zeros(rows.shape)

    for r in range(rows.shape[0]):
        entries = [j for j in range(rows.shape[1]) if row_allowed[r, j] and rows[r, j] != -np.inf]
        for j in entries:
            if np.isnan(rows[r, j]) or rows[r, j] == np.inf:
                raise ValueError("a score that takes part is NaN or +inf")
        if not entries:
            continue
        peak = max(rows[r, j] for j in entries)
        exponentials = {}
        for j in entries:
            with np.errstate(over="ignore"):
                exponentials[j] = np.exp(rows[r, j] - peak)
        total = sum(exponentials.values())
        for j in entries:
            result[r, j] = exponentials[j] / total

    return np.moveaxis(result.reshape(moved_scores.shape), -1, axis)


@alternative("stable_softmax", style="masked array")
def softmax_by_masked_array(scores, axis=-1, mask=None):
    scores = np.asarray(scores, dtype=float)
    allowed = np.ones(scores.shape, dtype=bool)
    if mask is not None:
        allowed = np.broadcast_to(np.asarray(mask, dtype=bool), scores.shape)
    excluded = ~allowed | (scores == -np.inf)
    if np.any(~excluded & ~np.isfinite(scores)):
        raise ValueError("a score that takes part is NaN or +inf")

    # A masked array leaves the excluded entries out of max and sum.
    masked = np.ma.masked_array(np.where(excluded, 0.0, scores), mask=excluded)
    peak = masked.max(axis=axis, keepdims=True).filled(0.0)
    with np.errstate(over="ignore"):
        exponentials = np.ma.exp(masked - peak)
    totals = exponentials.sum(axis=axis, keepdims=True).filled(1.0)
    return (exponentials / totals).filled(0.0)


@alternative("stable_softmax", style="shift by the maximum with np.divide")
def softmax_by_shift_and_divide(scores, axis=-1, mask=None):
    scores = np.asarray(scores, dtype=float)
    allowed = np.ones(scores.shape, dtype=bool)
    if mask is not None:
        allowed = np.broadcast_to(np.asarray(mask, dtype=bool), scores.shape)
    takes_part = allowed & (scores != -np.inf)
    if np.any(takes_part & ~np.isfinite(scores)):
        raise ValueError("a score that takes part is NaN or +inf")
    hidden = np.where(takes_part, scores, -np.inf)
    peak = np.max(hidden, axis=axis, keepdims=True)
    peak[~np.isfinite(peak)] = 0.0
    with np.errstate(over="ignore"):
        exponentials = np.exp(hidden - peak)
    totals = exponentials.sum(axis=axis, keepdims=True)
    return np.divide(exponentials, totals, out=np.zeros_like(exponentials), where=totals > 0)


# --- causal_mask ------------------------------------------------------------


@alternative("causal_mask", style="np.tril")
def causal_mask_by_tril(n_queries, n_keys=None):
    if n_keys is None:
        n_keys = n_queries
    return np.tril(np.ones((n_queries, n_keys), dtype=bool))


@alternative("causal_mask", style="complement of np.triu")
def causal_mask_by_triu_complement(n_queries, n_keys=None):
    if n_keys is None:
        n_keys = n_queries
    return ~np.triu(np.ones((n_queries, n_keys), dtype=bool), k=1)


@alternative("causal_mask", style="explicit double loop")
def causal_mask_by_loop(n_queries, n_keys=None):
    if n_keys is None:
        n_keys = n_queries
    mask = np.zeros((n_queries, n_keys), dtype=bool)
    for i in range(n_queries):
        for j in range(n_keys):
            mask[i, j] = j <= i
    return mask


@alternative("causal_mask", style="np.subtract.outer")
def causal_mask_by_outer_difference(n_queries, n_keys=None):
    if n_keys is None:
        n_keys = n_queries
    return np.subtract.outer(np.arange(n_queries), np.arange(n_keys)) >= 0


# --- attention_weights ------------------------------------------------------


@alternative("attention_weights", style="einsum")
def attention_weights_by_einsum(Q, K, mask=None):
    Q = np.asarray(Q, dtype=float)
    K = np.asarray(K, dtype=float)
    if Q.shape[-1] != K.shape[-1]:
        raise ValueError("the last dimensions of Q and K differ")
    scores = np.einsum("...nd,...md->...nm", Q, K) / np.sqrt(Q.shape[-1])
    return stable_softmax(scores, axis=-1, mask=mask)


@alternative("attention_weights", style="broadcast products summed over the width")
def attention_weights_by_broadcasting(Q, K, mask=None):
    Q = np.asarray(Q, dtype=float)
    K = np.asarray(K, dtype=float)
    if Q.shape[-1] != K.shape[-1]:
        raise ValueError("the last dimensions of Q and K differ")
    products = Q[..., :, np.newaxis, :] * K[..., np.newaxis, :, :]
    scores = products.sum(axis=-1) / np.sqrt(Q.shape[-1])
    return stable_softmax(scores, axis=-1, mask=mask)


@alternative("attention_weights", style="queries scaled before np.matmul")
def attention_weights_with_prescaled_queries(Q, K, mask=None):
    Q = np.asarray(Q, dtype=float)
    K = np.asarray(K, dtype=float)
    if Q.shape[-1] != K.shape[-1]:
        raise ValueError("the last dimensions of Q and K differ")
    scaled_queries = Q / np.sqrt(Q.shape[-1])
    scores = np.matmul(scaled_queries, np.moveaxis(K, -1, -2))
    return stable_softmax(scores, axis=-1, mask=mask)


# --- attention --------------------------------------------------------------


@alternative("attention", style="einsum")
def attention_by_einsum(Q, K, V, mask=None):
    K = np.asarray(K, dtype=float)
    V = np.asarray(V, dtype=float)
    if K.shape[-2] != V.shape[-2]:
        raise ValueError("K and V have different numbers of rows (keys)")
    weights = attention_weights(Q, K, mask=mask)
    return np.einsum("...nm,...md->...nd", weights, V), weights


@alternative("attention", style="broadcast products summed over the keys")
def attention_by_broadcasting(Q, K, V, mask=None):
    K = np.asarray(K, dtype=float)
    V = np.asarray(V, dtype=float)
    if K.shape[-2] != V.shape[-2]:
        raise ValueError("K and V have different numbers of rows (keys)")
    weights = attention_weights(Q, K, mask=mask)
    output = (weights[..., :, :, np.newaxis] * V[..., np.newaxis, :, :]).sum(axis=-2)
    return output, weights


@alternative("attention", style="loop over queries with combine_values")
def attention_by_loop_over_queries(Q, K, V, mask=None):
    K = np.asarray(K, dtype=float)
    V = np.asarray(V, dtype=float)
    if K.shape[-2] != V.shape[-2]:
        raise ValueError("K and V have different numbers of rows (keys)")
    weights = attention_weights(Q, K, mask=mask)

    # Bring weights and values to one common batch shape, then combine the
    # value rows query by query.
    batch_shape = np.broadcast_shapes(weights.shape[:-2], V.shape[:-2])
    all_weights = np.broadcast_to(weights, batch_shape + weights.shape[-2:]).reshape(-1, *weights.shape[-2:])
    all_values = np.broadcast_to(V, batch_shape + V.shape[-2:]).reshape(-1, *V.shape[-2:])
    output = np.zeros((all_weights.shape[0], weights.shape[-2], V.shape[-1]))
    for b in range(all_weights.shape[0]):
        for i in range(weights.shape[-2]):
            output[b, i] = combine_values(all_weights[b, i], all_values[b])
    return output.reshape(batch_shape + output.shape[1:]), weights


# --- combine_values ---------------------------------------------------------


@alternative("combine_values", style="broadcast and sum over the rows")
def combine_values_by_broadcasting(weights, V):
    weights = np.asarray(weights, dtype=float)
    V = np.asarray(V, dtype=float)
    return np.sum(weights[:, np.newaxis] * V, axis=0)


@alternative("combine_values", style="loop over coordinates")
def combine_values_by_coordinates(weights, V):
    weights = np.asarray(weights, dtype=float)
    V = np.asarray(V, dtype=float)
    output = np.zeros(V.shape[1])
    for k in range(V.shape[1]):
        output[k] = np.sum(weights * V[:, k])
    return output


@alternative("combine_values", style="built-in sum over a generator")
def combine_values_by_builtin_sum(weights, V):
    weights = np.asarray(weights, dtype=float)
    V = np.asarray(V, dtype=float)
    return sum((weight * value for weight, value in zip(weights, V)), np.zeros(V.shape[1]))


@alternative("combine_values", style="np.add.reduce")
def combine_values_by_add_reduce(weights, V):
    weights = np.asarray(weights, dtype=float)
    V = np.asarray(V, dtype=float)
    return np.add.reduce(V * weights.reshape(-1, 1), axis=0)


# --- multi_head_attention ---------------------------------------------------


@alternative("multi_head_attention", style="heads as a batch dimension")
def mha_with_heads_as_batch(X, W_q, W_k, W_v, W_o, n_heads, mask=None):
    X = np.asarray(X, dtype=float)
    n, d_model = X.shape
    if d_model % n_heads != 0:
        raise ValueError("n_heads does not divide d_model")
    d_head = d_model // n_heads

    # (n, d_model) -> (n_heads, n, d_head): one batch entry per head.
    def split(M):
        return (X @ M).reshape(n, n_heads, d_head).transpose(1, 0, 2)

    output, _ = attention(split(W_q), split(W_k), split(W_v), mask=mask)
    return output.transpose(1, 0, 2).reshape(n, d_model) @ np.asarray(W_o, dtype=float)


@alternative("multi_head_attention", style="sum of per-head output projections")
def mha_by_summing_projected_heads(X, W_q, W_k, W_v, W_o, n_heads, mask=None):
    X = np.asarray(X, dtype=float)
    W_o = np.asarray(W_o, dtype=float)
    d_model = X.shape[1]
    if d_model % n_heads != 0:
        raise ValueError("n_heads does not divide d_model")
    d_head = d_model // n_heads

    # concat(heads) @ W_o equals the sum of head_h @ (rows of W_o for head h).
    total = np.zeros((X.shape[0], d_model))
    for h in range(n_heads):
        block = slice(h * d_head, (h + 1) * d_head)
        Q = X @ np.asarray(W_q, dtype=float)[:, block]
        K = X @ np.asarray(W_k, dtype=float)[:, block]
        V = X @ np.asarray(W_v, dtype=float)[:, block]
        head, _ = attention(Q, K, V, mask=mask)
        total = total + head @ W_o[block, :]
    return total


@alternative("multi_head_attention", style="einsum throughout")
def mha_by_einsum(X, W_q, W_k, W_v, W_o, n_heads, mask=None):
    X = np.asarray(X, dtype=float)
    n, d_model = X.shape
    if d_model % n_heads != 0:
        raise ValueError("n_heads does not divide d_model")
    d_head = d_model // n_heads

    # Weights reshaped to (d_model, n_heads, d_head) give per-head projections.
    def project(M):
        return np.einsum("nd,dhe->hne", X, np.asarray(M, dtype=float).reshape(d_model, n_heads, d_head))

    Q, K, V = project(W_q), project(W_k), project(W_v)
    scores = np.einsum("hne,hme->hnm", Q, K) / np.sqrt(d_head)
    weights = stable_softmax(scores, axis=-1, mask=mask)
    heads = np.einsum("hnm,hme->nhe", weights, V).reshape(n, d_model)
    return np.einsum("nd,de->ne", heads, np.asarray(W_o, dtype=float))
