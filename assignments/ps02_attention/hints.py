"""Hints that students reveal with ``hint("<function>")``: a next step, never the solution."""

HINTS = {
    "stable_softmax": (
        "First build a boolean array of the entries that take part (allowed by the mask and not -inf), "
        "and use np.where to put -inf everywhere else before you take the maximum. Reduce along `axis` "
        "with keepdims=True so that the max and the sum broadcast back, and divide only where the "
        "total is positive, so that a slice with nothing taking part stays all zeros."
    ),
    "causal_mask": (
        "Compare a column of query indices with a row of key indices: broadcasting turns "
        "np.arange(n_queries)[:, np.newaxis] and np.arange(n_keys)[np.newaxis, :] into a full grid. "
        "Remember that a query may attend to its own position."
    ),
    "attention_weights": (
        "Compute the scores of every query against every key with one matrix product, transposing "
        "only the last two axes of K with np.swapaxes. Scale by the square root of the query width, "
        "then hand the scores and the mask to your stable_softmax over the last axis."
    ),
    "attention": (
        "Check that K and V have the same number of rows (keys) before anything else. Then reuse "
        "attention_weights, pass the mask on, and multiply the weights by V; return the output first "
        "and the weights second."
    ),
    "combine_values": (
        "Start from a zero vector with one entry per column of V, and add each row V[i] scaled by "
        "weights[i], in a loop or with an elementwise product and a sum over axis 0. Use the weights "
        "exactly as given, even when they do not sum to 1."
    ),
    "multi_head_attention": (
        "Project X once with each of W_q, W_k and W_v, then give head h the contiguous block of "
        "d_head = d_model // n_heads columns starting at h * d_head. Call your attention on each block "
        "with the same mask, concatenate the head outputs in order along the columns, and finish "
        "with W_o."
    ),
}
