"""Realistic wrong implementations of the attention functions.

Each entry is self-contained: it uses only ``np`` and the other graded
functions by their contract names, because its source is run on its own in
place of the student's function.
"""

import numpy as np

from autograder.catalogue import mistake

# --- stable_softmax ---------------------------------------------------------


@mistake("stable_softmax",
         misconception="the softmax is always taken over axis 0, the query axis, instead of the given axis",
         hint="Pass `axis` to every max and sum; attention normalises each query's scores over the keys, "
              "which is the last axis by default.")
def softmax_over_query_axis(scores, axis=-1, mask=None):
    scores = np.asarray(scores, dtype=float)
    allowed = np.ones(scores.shape, dtype=bool) if mask is None else np.broadcast_to(np.asarray(mask, dtype=bool), scores.shape)
    takes_part = allowed & (scores != -np.inf)
    if np.any(takes_part & ~np.isfinite(scores)):
        raise ValueError("a score that takes part is NaN or +inf")
    hidden = np.where(takes_part, scores, -np.inf)
    peak = np.max(hidden, axis=0, keepdims=True)
    peak = np.where(np.isfinite(peak), peak, 0.0)
    exponentials = np.exp(hidden - peak)
    totals = exponentials.sum(axis=0, keepdims=True)
    return np.divide(exponentials, totals, out=np.zeros_like(exponentials), where=totals > 0)


@mistake("stable_softmax",
         misconception="the `axis` argument is ignored and the softmax always runs over the last axis",
         hint="Use the `axis` argument in the max and the sum, with keepdims=True so that they broadcast back.")
def softmax_ignores_axis_argument(scores, axis=-1, mask=None):
    scores = np.asarray(scores, dtype=float)
    allowed = np.ones(scores.shape, dtype=bool) if mask is None else np.broadcast_to(np.asarray(mask, dtype=bool), scores.shape)
    takes_part = allowed & (scores != -np.inf)
    if np.any(takes_part & ~np.isfinite(scores)):
        raise ValueError("a score that takes part is NaN or +inf")
    hidden = np.where(takes_part, scores, -np.inf)
    peak = np.max(hidden, axis=-1, keepdims=True)
    peak = np.where(np.isfinite(peak), peak, 0.0)
    exponentials = np.exp(hidden - peak)
    totals = exponentials.sum(axis=-1, keepdims=True)
    return np.divide(exponentials, totals, out=np.zeros_like(exponentials), where=totals > 0)


@mistake("stable_softmax",
         misconception="the maximum is not subtracted before exp, so scores near 1e3 overflow to inf and inf/inf gives NaN",
         hint="Subtract the maximum score of each slice before taking exp; the result is unchanged "
              "mathematically but every exponent becomes <= 0.")
def softmax_without_max_subtraction(scores, axis=-1, mask=None):
    scores = np.asarray(scores, dtype=float)
    allowed = np.ones(scores.shape, dtype=bool) if mask is None else np.broadcast_to(np.asarray(mask, dtype=bool), scores.shape)
    takes_part = allowed & (scores != -np.inf)
    if np.any(takes_part & ~np.isfinite(scores)):
        raise ValueError("a score that takes part is NaN or +inf")
    hidden = np.where(takes_part, scores, -np.inf)
    with np.errstate(over="ignore", invalid="ignore"):
        exponentials = np.exp(hidden)
        totals = exponentials.sum(axis=axis, keepdims=True)
        return np.divide(exponentials, totals, out=np.zeros_like(exponentials), where=totals > 0)


@mistake("stable_softmax",
         misconception="the mask is applied after the softmax by zeroing blocked weights, so the remaining weights no longer sum to 1",
         hint="Exclude blocked entries before normalising (give them -inf or drop them from the sum), "
              "so that the weights of the allowed entries sum to 1.")
def mask_applied_after_softmax(scores, axis=-1, mask=None):
    scores = np.asarray(scores, dtype=float)
    allowed = np.ones(scores.shape, dtype=bool) if mask is None else np.broadcast_to(np.asarray(mask, dtype=bool), scores.shape)
    if np.any(allowed & (np.isnan(scores) | (scores == np.inf))):
        raise ValueError("a score that takes part is NaN or +inf")
    finite_part = scores != -np.inf
    hidden = np.where(finite_part, scores, -np.inf)
    peak = np.max(hidden, axis=axis, keepdims=True)
    peak = np.where(np.isfinite(peak), peak, 0.0)
    exponentials = np.exp(hidden - peak)
    totals = exponentials.sum(axis=axis, keepdims=True)
    weights = np.divide(exponentials, totals, out=np.zeros_like(exponentials), where=totals > 0)
    return np.where(allowed, weights, 0.0)


@mistake("stable_softmax",
         misconception="the mask polarity is inverted: True is treated as blocked instead of 'may attend'",
         hint="In this course a mask entry True means the query may attend to that key; keep the entries where the mask is True.")
def mask_polarity_inverted(scores, axis=-1, mask=None):
    scores = np.asarray(scores, dtype=float)
    allowed = np.ones(scores.shape, dtype=bool) if mask is None else ~np.broadcast_to(np.asarray(mask, dtype=bool), scores.shape)
    takes_part = allowed & (scores != -np.inf)
    if np.any(takes_part & ~np.isfinite(scores)):
        raise ValueError("a score that takes part is NaN or +inf")
    hidden = np.where(takes_part, scores, -np.inf)
    peak = np.max(hidden, axis=axis, keepdims=True)
    peak = np.where(np.isfinite(peak), peak, 0.0)
    exponentials = np.exp(hidden - peak)
    totals = exponentials.sum(axis=axis, keepdims=True)
    return np.divide(exponentials, totals, out=np.zeros_like(exponentials), where=totals > 0)


@mistake("stable_softmax",
         misconception="blocked entries get the large finite score -1e9 instead of being excluded, so a fully masked row comes out uniform and very negative allowed scores lose to blocked ones",
         hint="Exclude blocked entries outright (weight exactly 0) rather than giving them a large negative score, "
              "and return zeros for a slice in which nothing takes part.")
def mask_with_large_negative_score(scores, axis=-1, mask=None):
    scores = np.asarray(scores, dtype=float)
    if mask is not None:
        scores = np.where(np.asarray(mask, dtype=bool), scores, -1e9)
    takes_part = scores != -np.inf
    if np.any(takes_part & ~np.isfinite(scores)):
        raise ValueError("a score that takes part is NaN or +inf")
    hidden = np.where(takes_part, scores, -np.inf)
    peak = np.max(hidden, axis=axis, keepdims=True)
    peak = np.where(np.isfinite(peak), peak, 0.0)
    exponentials = np.exp(hidden - peak)
    totals = exponentials.sum(axis=axis, keepdims=True)
    return np.divide(exponentials, totals, out=np.zeros_like(exponentials), where=totals > 0)


@mistake("stable_softmax",
         misconception="a slice in which nothing takes part computes -inf - (-inf) and 0/0, leaving NaN instead of zeros",
         hint="Detect slices whose maximum is -inf (nothing takes part) and return zeros there, "
              "for example by dividing only where the total is positive.")
def fully_masked_rows_give_nan(scores, axis=-1, mask=None):
    scores = np.asarray(scores, dtype=float)
    allowed = np.ones(scores.shape, dtype=bool) if mask is None else np.broadcast_to(np.asarray(mask, dtype=bool), scores.shape)
    takes_part = allowed & (scores != -np.inf)
    if np.any(takes_part & ~np.isfinite(scores)):
        raise ValueError("a score that takes part is NaN or +inf")
    hidden = np.where(takes_part, scores, -np.inf)
    with np.errstate(invalid="ignore"):
        exponentials = np.exp(hidden - np.max(hidden, axis=axis, keepdims=True))
        return exponentials / exponentials.sum(axis=axis, keepdims=True)


@mistake("stable_softmax",
         misconception="-inf scores are treated as taking part, so a slice whose scores are all -inf subtracts -inf from -inf and gives NaN",
         hint="An entry with score -inf does not take part, exactly like a masked entry; "
              "a slice whose scores are all -inf must come out as zeros.")
def all_neg_inf_slice_gives_nan(scores, axis=-1, mask=None):
    scores = np.asarray(scores, dtype=float)
    allowed = np.ones(scores.shape, dtype=bool) if mask is None else np.broadcast_to(np.asarray(mask, dtype=bool), scores.shape)
    if np.any(allowed & (np.isnan(scores) | (scores == np.inf))):
        raise ValueError("a score that takes part is NaN or +inf")
    hidden = np.where(allowed, scores, -np.inf)
    any_allowed = allowed.any(axis=axis, keepdims=True)
    peak = np.where(any_allowed, np.max(hidden, axis=axis, keepdims=True), 0.0)
    with np.errstate(invalid="ignore"):
        exponentials = np.exp(hidden - peak)
        totals = exponentials.sum(axis=axis, keepdims=True)
        weights = np.divide(exponentials, totals, out=np.zeros_like(exponentials), where=totals != 0)
    return np.where(any_allowed, weights, 0.0)


@mistake("stable_softmax",
         misconception="the mask is applied by multiplying the scores with it, so a NaN or +inf under the mask becomes 0 * NaN = NaN and leaks into the row",
         hint="Select with np.where(mask, scores, -np.inf) instead of multiplying by the mask; "
              "a blocked score must never enter any arithmetic.")
def masked_nan_leaks_through_multiplication(scores, axis=-1, mask=None):
    scores = np.asarray(scores, dtype=float)
    allowed = np.ones(scores.shape, dtype=bool) if mask is None else np.broadcast_to(np.asarray(mask, dtype=bool), scores.shape)
    if np.any(allowed & (np.isnan(scores) | (scores == np.inf))):
        raise ValueError("a score that takes part is NaN or +inf")
    with np.errstate(invalid="ignore"):
        hidden = scores * allowed + np.where(allowed, 0.0, -np.inf)
        peak = np.max(hidden, axis=axis, keepdims=True)
        peak = np.where(peak == -np.inf, 0.0, peak)
        exponentials = np.exp(hidden - peak)
        totals = exponentials.sum(axis=axis, keepdims=True)
        return np.divide(exponentials, totals, out=np.zeros_like(exponentials), where=totals != 0)


@mistake("stable_softmax",
         misconception="NaN and +inf scores that take part are not rejected, so they silently turn the weights into NaN",
         hint="Before normalising, raise ValueError when an entry that takes part has a NaN or +inf score.")
def invalid_scores_not_rejected(scores, axis=-1, mask=None):
    scores = np.asarray(scores, dtype=float)
    allowed = np.ones(scores.shape, dtype=bool) if mask is None else np.broadcast_to(np.asarray(mask, dtype=bool), scores.shape)
    takes_part = allowed & (scores != -np.inf)
    hidden = np.where(takes_part, scores, -np.inf)
    peak = np.max(hidden, axis=axis, keepdims=True)
    peak = np.where(peak == -np.inf, 0.0, peak)
    with np.errstate(invalid="ignore"):
        exponentials = np.exp(hidden - peak)
        totals = exponentials.sum(axis=axis, keepdims=True)
        return np.divide(exponentials, totals, out=np.zeros_like(exponentials), where=totals != 0)


# --- causal_mask ------------------------------------------------------------


@mistake("causal_mask",
         misconception="the comparison is strict (j < i), so no query may attend to its own position",
         hint="A query at position i may attend to keys 0, 1, ..., i, including itself: the diagonal is True.")
def causal_mask_excludes_diagonal(n_queries, n_keys=None):
    if n_keys is None:
        n_keys = n_queries
    return np.arange(n_keys)[np.newaxis, :] < np.arange(n_queries)[:, np.newaxis]


@mistake("causal_mask",
         misconception="the mask is shifted by one (j <= i + 1), so each query also sees the next key",
         hint="Query i may attend to keys 0, 1, ..., i and no further: np.tril with k=0, or the comparison j <= i.")
def causal_mask_sees_next_key(n_queries, n_keys=None):
    if n_keys is None:
        n_keys = n_queries
    return np.tril(np.ones((n_queries, n_keys), dtype=bool), k=1)


@mistake("causal_mask",
         misconception="the upper triangle (j >= i) is kept, which lets each query see the future instead of the past",
         hint="Query i may attend to key j only when j <= i, the lower triangle as in np.tril.")
def causal_mask_upper_triangle(n_queries, n_keys=None):
    if n_keys is None:
        n_keys = n_queries
    return np.arange(n_keys)[np.newaxis, :] >= np.arange(n_queries)[:, np.newaxis]


@mistake("causal_mask",
         misconception="the mask is returned as a float array of 0.0 and 1.0 instead of a boolean array",
         hint="Return a boolean array, for example by building it from ones of dtype=bool or from a comparison.")
def causal_mask_as_floats(n_queries, n_keys=None):
    if n_keys is None:
        n_keys = n_queries
    return np.tril(np.ones((n_queries, n_keys)))


@mistake("causal_mask",
         misconception="n_keys is ignored, so the mask is always square (n_queries, n_queries)",
         hint="Use n_keys for the number of columns, and fall back to n_queries only when n_keys is None.")
def causal_mask_ignores_n_keys(n_queries, n_keys=None):
    return np.tril(np.ones((n_queries, n_queries), dtype=bool))


@mistake("causal_mask",
         misconception="the diagonal is aligned with the last key (j <= i + m - n) instead of the first, which differs whenever n != m",
         hint="Compare the indices themselves: query i may attend to key j when j <= i, whatever the numbers of queries and keys.")
def causal_mask_aligned_to_last_key(n_queries, n_keys=None):
    if n_keys is None:
        n_keys = n_queries
    return np.tril(np.ones((n_queries, n_keys), dtype=bool), k=n_keys - n_queries)


# --- attention_weights ------------------------------------------------------


@mistake("attention_weights",
         misconception="the scores are divided by d_k instead of sqrt(d_k)",
         hint="Scale the dot products by 1 / sqrt(d_k), the square root of the query and key width.")
def weights_scaled_by_d_k(Q, K, mask=None):
    Q = np.asarray(Q, dtype=float)
    K = np.asarray(K, dtype=float)
    if Q.shape[-1] != K.shape[-1]:
        raise ValueError("the last dimensions of Q and K differ")
    scores = Q @ np.swapaxes(K, -1, -2) / Q.shape[-1]
    return stable_softmax(scores, axis=-1, mask=mask)


@mistake("attention_weights",
         misconception="the scores are not scaled by 1 / sqrt(d_k) at all",
         hint="Divide Q K^T by sqrt(d_k) before the softmax, so the spread of the scores does not grow with the width.")
def weights_not_scaled(Q, K, mask=None):
    Q = np.asarray(Q, dtype=float)
    K = np.asarray(K, dtype=float)
    if Q.shape[-1] != K.shape[-1]:
        raise ValueError("the last dimensions of Q and K differ")
    return stable_softmax(Q @ np.swapaxes(K, -1, -2), axis=-1, mask=mask)


@mistake("attention_weights",
         misconception="Q and K are swapped (K Q^T), so the weights come out transposed with shape (m, n)",
         hint="Compute Q K^T so that row i contains query i's scores against every key, giving shape (n, m).")
def weights_with_query_and_key_swapped(Q, K, mask=None):
    Q = np.asarray(Q, dtype=float)
    K = np.asarray(K, dtype=float)
    if Q.shape[-1] != K.shape[-1]:
        raise ValueError("the last dimensions of Q and K differ")
    scores = K @ np.swapaxes(Q, -1, -2) / np.sqrt(Q.shape[-1])
    return stable_softmax(scores, axis=-1, mask=mask)


@mistake("attention_weights",
         misconception="the softmax is taken over the query axis (-2) instead of the keys, the last axis",
         hint="Each query's weights over the keys must sum to 1: normalise along axis=-1.")
def weights_normalised_over_queries(Q, K, mask=None):
    Q = np.asarray(Q, dtype=float)
    K = np.asarray(K, dtype=float)
    if Q.shape[-1] != K.shape[-1]:
        raise ValueError("the last dimensions of Q and K differ")
    scores = Q @ np.swapaxes(K, -1, -2) / np.sqrt(Q.shape[-1])
    return stable_softmax(scores, axis=-2, mask=mask)


@mistake("attention_weights",
         misconception="K.T reverses every axis, so batched keys are transposed in the wrong layout",
         hint="Swap only the last two axes of K (np.swapaxes(K, -1, -2)); .T also moves the batch axes.")
def keys_transposed_with_dot_t(Q, K, mask=None):
    Q = np.asarray(Q, dtype=float)
    K = np.asarray(K, dtype=float)
    if Q.shape[-1] != K.shape[-1]:
        raise ValueError("the last dimensions of Q and K differ")
    scores = Q @ K.T / np.sqrt(Q.shape[-1])
    return stable_softmax(scores, axis=-1, mask=mask)


# --- attention --------------------------------------------------------------


@mistake("attention",
         misconception="the weights are returned transposed, with shape (..., m, n) instead of (..., n, m)",
         hint="Return the weights exactly as attention_weights computes them, with one row per query.")
def attention_returns_transposed_weights(Q, K, V, mask=None):
    K = np.asarray(K, dtype=float)
    V = np.asarray(V, dtype=float)
    if K.shape[-2] != V.shape[-2]:
        raise ValueError("K and V have different numbers of rows (keys)")
    weights = attention_weights(Q, K, mask=mask)
    return weights @ V, np.swapaxes(weights, -1, -2)


@mistake("attention",
         misconception="the output combines the values with unnormalised exp scores, so it is not a convex combination and can leave the hull of the values",
         hint="Multiply V by the softmax weights, which sum to 1 for each query, not by exp of the raw scores.")
def attention_output_from_unnormalised_scores(Q, K, V, mask=None):
    Q = np.asarray(Q, dtype=float)
    K = np.asarray(K, dtype=float)
    V = np.asarray(V, dtype=float)
    if K.shape[-2] != V.shape[-2]:
        raise ValueError("K and V have different numbers of rows (keys)")
    weights = attention_weights(Q, K, mask=mask)
    scores = Q @ np.swapaxes(K, -1, -2) / np.sqrt(Q.shape[-1])
    unnormalised = np.exp(scores)
    if mask is not None:
        unnormalised = np.where(mask, unnormalised, 0.0)
    return unnormalised @ V, weights


@mistake("attention",
         misconception="the pair is returned in the wrong order, (weights, output) instead of (output, weights)",
         hint="Return the output first and the weights second.")
def attention_returns_weights_first(Q, K, V, mask=None):
    K = np.asarray(K, dtype=float)
    V = np.asarray(V, dtype=float)
    if K.shape[-2] != V.shape[-2]:
        raise ValueError("K and V have different numbers of rows (keys)")
    weights = attention_weights(Q, K, mask=mask)
    return weights, weights @ V


@mistake("attention",
         misconception="the mask is not passed on to attention_weights, so masked keys still receive weight",
         hint="Forward the mask argument to attention_weights.")
def attention_ignores_mask(Q, K, V, mask=None):
    K = np.asarray(K, dtype=float)
    V = np.asarray(V, dtype=float)
    if K.shape[-2] != V.shape[-2]:
        raise ValueError("K and V have different numbers of rows (keys)")
    weights = attention_weights(Q, K)
    return weights @ V, weights


# --- combine_values ---------------------------------------------------------


@mistake("combine_values",
         misconception="the weights combine the columns of V (the coordinates) instead of its rows (the value vectors)",
         hint="Each value vector is a row V[i]; add weights[i] * V[i] over i.")
def combine_values_over_coordinates(weights, V):
    weights = np.asarray(weights, dtype=float)
    V = np.asarray(V, dtype=float)
    output = np.zeros(V.shape[0])
    for i in range(len(weights)):
        output = output + weights[i] * V[:, i]
    return output


@mistake("combine_values",
         misconception="weights * V broadcasts the weights along the last axis, so weight j scales column j instead of row j",
         hint="Give the weights a trailing axis, weights[:, np.newaxis], so that weight i scales row V[i].")
def combine_values_weights_along_columns(weights, V):
    weights = np.asarray(weights, dtype=float)
    V = np.asarray(V, dtype=float)
    return np.sum(weights * V, axis=0)


@mistake("combine_values",
         misconception="the weighted rows are summed along axis 1, which adds up each vector's coordinates instead of adding the vectors",
         hint="Sum the weighted value vectors over the keys, axis 0, so that the result has length d_v.")
def combine_values_summed_over_coordinates(weights, V):
    weights = np.asarray(weights, dtype=float)
    V = np.asarray(V, dtype=float)
    return np.sum(weights[:, np.newaxis] * V, axis=1)


@mistake("combine_values",
         misconception="the weights are renormalised to sum to 1, which changes the result for weights that are not already normalised",
         hint="Use the weights exactly as given; the function computes sum_i weights[i] * V[i] for any weights.")
def combine_values_renormalises_weights(weights, V):
    weights = np.asarray(weights, dtype=float)
    V = np.asarray(V, dtype=float)
    weights = weights / weights.sum()
    output = np.zeros(V.shape[1])
    for weight, value in zip(weights, V):
        output = output + weight * value
    return output


# --- multi_head_attention ---------------------------------------------------


@mistake("multi_head_attention",
         misconception="each head scales its scores by sqrt(d_model), the full model width, instead of sqrt(d_head)",
         hint="Inside a head the queries and keys have width d_head = d_model // n_heads; scale by the square root of that width.")
def mha_scaled_by_sqrt_d_model(X, W_q, W_k, W_v, W_o, n_heads, mask=None):
    X = np.asarray(X, dtype=float)
    d_model = X.shape[1]
    if d_model % n_heads != 0:
        raise ValueError("n_heads does not divide d_model")
    Q, K, V = X @ W_q, X @ W_k, X @ W_v
    d_head = d_model // n_heads
    outputs = []
    for h in range(n_heads):
        columns = slice(h * d_head, (h + 1) * d_head)
        scores = Q[:, columns] @ K[:, columns].T / np.sqrt(d_model)
        outputs.append(stable_softmax(scores, axis=-1, mask=mask) @ V[:, columns])
    return np.concatenate(outputs, axis=1) @ W_o


@mistake("multi_head_attention",
         misconception="head h takes the interleaved columns h::n_heads instead of the contiguous block h*d_head:(h+1)*d_head",
         hint="Give head h the contiguous columns h*d_head up to (h+1)*d_head of Q, K and V.")
def mha_interleaved_heads(X, W_q, W_k, W_v, W_o, n_heads, mask=None):
    X = np.asarray(X, dtype=float)
    d_model = X.shape[1]
    if d_model % n_heads != 0:
        raise ValueError("n_heads does not divide d_model")
    Q, K, V = X @ W_q, X @ W_k, X @ W_v
    outputs = []
    for h in range(n_heads):
        output, _ = attention(Q[:, h::n_heads], K[:, h::n_heads], V[:, h::n_heads], mask=mask)
        outputs.append(output)
    return np.concatenate(outputs, axis=1) @ W_o


@mistake("multi_head_attention",
         misconception="the head outputs are concatenated but never multiplied by the output projection W_o",
         hint="After concatenating the heads in order, multiply the (n, d_model) result by W_o.")
def mha_without_output_projection(X, W_q, W_k, W_v, W_o, n_heads, mask=None):
    X = np.asarray(X, dtype=float)
    d_model = X.shape[1]
    if d_model % n_heads != 0:
        raise ValueError("n_heads does not divide d_model")
    Q, K, V = X @ W_q, X @ W_k, X @ W_v
    d_head = d_model // n_heads
    outputs = []
    for h in range(n_heads):
        columns = slice(h * d_head, (h + 1) * d_head)
        output, _ = attention(Q[:, columns], K[:, columns], V[:, columns], mask=mask)
        outputs.append(output)
    return np.concatenate(outputs, axis=1)


@mistake("multi_head_attention",
         misconception="the mask is not passed on to the heads, so every head attends to every key",
         hint="Forward the same mask to the attention call of every head.")
def mha_mask_not_passed_to_heads(X, W_q, W_k, W_v, W_o, n_heads, mask=None):
    X = np.asarray(X, dtype=float)
    d_model = X.shape[1]
    if d_model % n_heads != 0:
        raise ValueError("n_heads does not divide d_model")
    Q, K, V = X @ W_q, X @ W_k, X @ W_v
    d_head = d_model // n_heads
    outputs = []
    for h in range(n_heads):
        columns = slice(h * d_head, (h + 1) * d_head)
        output, _ = attention(Q[:, columns], K[:, columns], V[:, columns])
        outputs.append(output)
    return np.concatenate(outputs, axis=1) @ W_o
