"""Hidden and visible cases for the attention assignment.

Every array comes from a fixed seed, so the list is the same on every call.
Arrays stay small because the whole list runs for every submission.
"""

import numpy as np

from autograder.spec import Case

# Worked example of the notebook: one query, three keys and three 2-D values.
WORKED_Q = [[1.0, 0.0]]
WORKED_K = [[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]
WORKED_V = [[1.0, 0.0], [0.0, 2.0], [1.0, 1.0]]


def _normal(seed, *shape):
    return np.random.default_rng(seed).normal(size=shape)


def _random_mask(seed, shape, keep_row_alive=True):
    """Return a random boolean mask; with ``keep_row_alive`` every last-axis slice keeps a True."""
    mask = np.random.default_rng(seed).random(shape) < 0.6
    if keep_row_alive:
        mask[..., 0] = True
    return mask


def _worked_scores():
    # q K^T / sqrt(d_k) for the worked example, as one row of scores.
    return np.array(WORKED_K) @ np.array(WORKED_Q[0]) / np.sqrt(2.0)


def _stable_softmax_cases():
    cases = []

    def add(group, description, *args, **kwargs):
        options = {key: kwargs.pop(key) for key in ("raises", "visible") if key in kwargs}
        cases.append(Case("stable_softmax", group, description, args=args, kwargs=kwargs, **options))

    add("basic cases", "the scaled scores of the worked example: one query over three keys",
        _worked_scores(), visible=True)
    add("basic cases", "a batch of 2 x 3 x 4 random scores, normalised along the last axis",
        _normal(202, 2, 3, 4))

    add("other axes", "a 4 x 5 matrix normalised along axis=0", _normal(203, 4, 5), axis=0, visible=True)
    add("other axes", "a 2 x 3 x 4 batch normalised along axis=1", _normal(204, 2, 3, 4), axis=1)

    add("masking", "a 4 x 5 matrix with a key mask of shape (5,) that blocks two keys",
        _normal(205, 4, 5), mask=np.array([True, False, True, True, False]))
    scores = _normal(206, 5, 6)
    mask = _random_mask(207, (5, 6))
    scores[~mask] = np.where(np.arange(int((~mask).sum())) % 2 == 0, np.nan, np.inf)
    add("masking", "a 5 x 6 matrix with a full (n, m) mask whose blocked entries contain NaN and +inf",
        scores, mask=mask)
    scores = _normal(208, 3, 4)
    scores[0, 1] = -np.inf
    scores[2, [0, 3]] = -np.inf
    add("masking", "a 3 x 4 matrix with some -inf scores and no mask", scores)

    mask = np.ones((6, 10), dtype=bool)
    mask[-1] = False
    mask[1, 5:] = False
    add("fully masked rows", "6 queries over 10 keys where the last query's keys are all masked",
        _normal(209, 6, 10), mask=mask, visible=True)
    scores = _normal(210, 4, 3)
    scores[:, 1] = -np.inf
    mask = np.ones((4, 3), dtype=bool)
    mask[:, 2] = False
    add("fully masked rows",
        "normalising along axis=0 where one column is all -inf and another is fully masked",
        scores, axis=0, mask=mask)

    add("extreme values", "the row [1000, 1001, 1002], which overflows exp without a shift",
        np.array([1000.0, 1001.0, 1002.0]), visible=True)
    add("extreme values", "rows of scores near -1e3, +-1e300 and mixtures of them",
        np.array([
            [-1000.0, -1001.0, -1002.0],
            [1e300, 0.0, -1e300],
            [-1e300, -1e300, -5e299],
            [1e300, 1e300, 1e300],
        ]))
    add("extreme values", "scores near the largest float, with a mask",
        np.array([[1.7e308, -1.7e308, 1.6e308], [-1.7e308, -1.7e308, 0.0]]),
        mask=np.array([[True, True, True], [True, True, False]]))

    scores = _normal(211, 3, 4)
    scores[1, 2] = np.nan
    add("error handling", "a NaN score that takes part (no mask)", scores, raises="ValueError")
    scores = _normal(212, 3, 4)
    scores[0, 0] = np.inf
    mask = np.ones((3, 4), dtype=bool)
    mask[0, 1] = False
    add("error handling", "a +inf score that the mask lets take part", scores, mask=mask,
        raises="ValueError")

    add("integer and list inputs", "a list of integer scores", [3, 1, 4, 1, 5])
    add("integer and list inputs", "an integer matrix with a nested list as the mask",
        np.array([[2, 7, 1], [8, 2, 8]]), mask=[[True, False, True], [False, True, True]])
    return cases


def _causal_mask_cases():
    return [
        Case("causal_mask", "basic cases", "4 queries with the default number of keys",
             args=(4,), visible=True),
        Case("causal_mask", "basic cases", "3 queries and 3 keys given explicitly", args=(3, 3)),
        Case("causal_mask", "basic cases", "a single query and a single key", args=(1,)),
        Case("causal_mask", "rectangular shapes", "3 queries over 5 keys", args=(3, 5), visible=True),
        Case("causal_mask", "rectangular shapes", "5 queries over 3 keys", args=(5, 3)),
        Case("causal_mask", "rectangular shapes", "6 queries over 10 keys given as numpy integers",
             args=(np.int64(6),), kwargs={"n_keys": np.int64(10)}),
    ]


def _attention_weights_cases():
    cases = []

    def add(group, description, *args, **kwargs):
        options = {key: kwargs.pop(key) for key in ("raises", "visible") if key in kwargs}
        cases.append(Case("attention_weights", group, description, args=args, kwargs=kwargs, **options))

    add("basic cases", "the worked example: one query, three keys of width 2",
        np.array(WORKED_Q), np.array(WORKED_K), visible=True)
    add("basic cases", "4 queries and 6 keys of width 3", _normal(301, 4, 3), _normal(302, 6, 3))
    add("basic cases", "a single query and a single key of width 5", _normal(303, 1, 5), _normal(304, 1, 5))

    add("shapes and batching", "a batch of 2: queries (2, 3, 4) and keys (2, 5, 4)",
        _normal(305, 2, 3, 4), _normal(306, 2, 5, 4))
    add("shapes and batching", "batch and head dimensions: queries (2, 3, 4, 2) and keys (2, 3, 5, 2)",
        _normal(307, 2, 3, 4, 2), _normal(308, 2, 3, 5, 2))
    add("shapes and batching", "batched queries (2, 4, 3) against one shared set of keys (5, 3)",
        _normal(309, 2, 4, 3), _normal(310, 5, 3))

    add("masking", "a key mask of shape (m,) that blocks the third key",
        _normal(311, 4, 3), _normal(312, 5, 3), mask=np.array([True, True, False, True, True]))
    add("masking", "a causal (n, n) mask on 5 queries and 5 keys",
        _normal(313, 5, 4), _normal(314, 5, 4), mask=np.tril(np.ones((5, 5), dtype=bool)), visible=True)
    add("masking", "a (b, 1, 1, m) padding mask with batch and head dimensions",
        _normal(315, 2, 3, 4, 2), _normal(316, 2, 3, 6, 2),
        mask=np.array([[True] * 6, [True, True, True, True, False, False]]).reshape(2, 1, 1, 6))

    mask = np.ones((6, 10), dtype=bool)
    mask[-1] = False
    add("fully masked rows", "6 queries over 10 keys where the last query's keys are all masked",
        _normal(317, 6, 3), _normal(318, 10, 3), mask=mask)
    add("fully masked rows", "a (b, 1, 1, m) mask that blocks every key of the second batch element",
        _normal(319, 2, 2, 3, 2), _normal(320, 2, 2, 4, 2),
        mask=np.array([[True] * 4, [False] * 4]).reshape(2, 1, 1, 4))

    add("error handling", "queries of width 3 with keys of width 4",
        _normal(321, 2, 3), _normal(322, 5, 4), raises="ValueError")
    add("error handling", "batched queries of width 2 with batched keys of width 3",
        _normal(323, 2, 4, 2), _normal(324, 2, 4, 3), raises="ValueError")
    return cases


def _attention_cases():
    cases = []

    def add(group, description, *args, **kwargs):
        options = {key: kwargs.pop(key) for key in ("raises", "visible") if key in kwargs}
        cases.append(Case("attention", group, description, args=args, kwargs=kwargs, **options))

    add("basic cases", "the worked example: one query, three keys, three 2-D values",
        np.array(WORKED_Q), np.array(WORKED_K), np.array(WORKED_V), visible=True)
    add("basic cases", "4 queries, 6 keys of width 3 and values of width 2",
        _normal(401, 4, 3), _normal(402, 6, 3), _normal(403, 6, 2))
    add("basic cases", "3 queries and 3 keys with values wider than the keys",
        _normal(404, 3, 2), _normal(405, 3, 2), _normal(406, 3, 5))

    add("shapes and batching", "a batch of 2: queries (2, 3, 4), keys (2, 5, 4), values (2, 5, 3)",
        _normal(407, 2, 3, 4), _normal(408, 2, 5, 4), _normal(409, 2, 5, 3))
    add("shapes and batching", "batch and head dimensions (2, 2, ...) with 4 queries and 3 keys",
        _normal(410, 2, 2, 4, 3), _normal(411, 2, 2, 3, 3), _normal(412, 2, 2, 3, 2))

    add("masking", "a causal mask on 5 queries and 5 keys",
        _normal(413, 5, 3), _normal(414, 5, 3), _normal(415, 5, 2),
        mask=np.tril(np.ones((5, 5), dtype=bool)), visible=True)
    add("masking", "a (b, 1, 1, m) padding mask with batch and head dimensions",
        _normal(416, 2, 3, 4, 2), _normal(417, 2, 3, 5, 2), _normal(418, 2, 3, 5, 3),
        mask=np.array([[True] * 5, [True, True, False, True, False]]).reshape(2, 1, 1, 5))

    mask = np.ones((6, 10), dtype=bool)
    mask[-1] = False
    add("fully masked rows", "6 queries over 10 keys where the last query's keys are all masked",
        _normal(419, 6, 3), _normal(420, 10, 3), _normal(421, 10, 2), mask=mask, visible=True)
    middle_blocked = np.tril(np.ones((4, 4), dtype=bool))
    middle_blocked[1] = False
    add("fully masked rows", "a causal mask whose second query may attend to no key",
        _normal(428, 4, 3), _normal(429, 4, 3), _normal(430, 4, 2), mask=middle_blocked)

    add("error handling", "5 keys but only 4 values",
        _normal(422, 3, 2), _normal(423, 5, 2), _normal(424, 4, 3), raises="ValueError")
    add("error handling", "queries of width 2 with keys of width 3",
        _normal(425, 3, 2), _normal(426, 4, 3), _normal(427, 4, 2), raises="ValueError")

    add("integer and list inputs", "the worked example given as nested lists of integers",
        [[1, 0]], [[1, 0], [0, 1], [1, 1]], [[1, 0], [0, 2], [1, 1]])
    add("integer and list inputs", "integer arrays with a list as the mask",
        np.array([[1, 2], [0, -1]]), np.array([[2, 0], [1, 1], [0, 3]]), np.array([[1, 5], [2, 2], [0, 1]]),
        mask=[True, False, True])
    return cases


def _combine_values_cases():
    cases = []

    def add(group, description, *args, **kwargs):
        options = {key: kwargs.pop(key) for key in ("raises", "visible") if key in kwargs}
        cases.append(Case("combine_values", group, description, args=args, kwargs=kwargs, **options))

    weights = np.exp([1.0, 0.0, 1.0] / np.sqrt(2.0))
    weights = weights / weights.sum()
    add("basic cases", "the worked example: three 2-D values and their softmax weights",
        weights, np.array(WORKED_V), visible=True)
    weights = np.random.default_rng(501).dirichlet(np.ones(5))
    add("basic cases", "5 value vectors of width 3 with random convex weights", weights, _normal(502, 5, 3))
    weights = np.random.default_rng(503).dirichlet(np.ones(4))
    add("basic cases", "4 value vectors of width 4 with random convex weights", weights, _normal(504, 4, 4))
    add("basic cases", "weights that put everything on one value vector",
        np.array([0.0, 1.0, 0.0]), _normal(505, 3, 2), visible=True)

    add("general weights", "weights that are negative and do not sum to 1",
        np.array([2.0, -0.5, 0.25]), _normal(506, 3, 3))
    add("general weights", "a single value vector of width 6", np.array([0.3]), _normal(507, 1, 6))

    add("integer and list inputs", "the worked example values as a nested list of integers",
        [0.25, 0.25, 0.5], [[1, 0], [0, 2], [1, 1]])
    add("integer and list inputs", "integer weights with an integer matrix of values",
        np.array([1, 2, 3]), np.array([[1, 0, 2], [0, 1, 1], [3, 1, 0]]))
    return cases


def _multi_head_attention_cases():
    cases = []

    def add(group, description, d_model, n, n_heads, seed, **kwargs):
        options = {key: kwargs.pop(key) for key in ("raises", "visible") if key in kwargs}
        rng = np.random.default_rng(seed)
        X = rng.normal(size=(n, d_model))
        projections = [rng.normal(size=(d_model, d_model)) / np.sqrt(d_model) for _ in range(4)]
        cases.append(Case("multi_head_attention", group, description,
                          args=(X, *projections, n_heads), kwargs=kwargs, **options))

    add("basic cases", "one head of width 4 over 3 positions", 4, 3, 1, 601, visible=True)
    add("basic cases", "two heads of width 2 over 5 positions", 4, 5, 2, 602, visible=True)
    add("basic cases", "one head of width 3 over 4 positions", 3, 4, 1, 611)

    add("several heads", "four heads of width 2 over 4 positions", 8, 4, 4, 603)
    add("several heads", "three heads of width 1 over 5 positions", 3, 5, 3, 604)
    add("several heads", "two heads of width 3 over 6 positions", 6, 6, 2, 605)

    add("masking", "two heads with a causal mask over 5 positions", 4, 5, 2, 606,
        mask=np.tril(np.ones((5, 5), dtype=bool)))
    add("masking", "four heads with a key padding mask of shape (n,)", 8, 4, 4, 607,
        mask=np.array([True, True, True, False]))

    mask = np.tril(np.ones((5, 5), dtype=bool))
    mask[2] = False
    add("fully masked rows", "two heads where the third position may attend to no key", 6, 5, 2, 608,
        mask=mask)

    add("error handling", "4 heads for a model width of 6", 6, 3, 4, 609, raises="ValueError")
    add("error handling", "2 heads for a model width of 5", 5, 3, 2, 610, raises="ValueError")
    return cases


def build_cases():
    """Return every case of the assignment, grouped by function in notebook order."""
    return (
        _stable_softmax_cases()
        + _causal_mask_cases()
        + _attention_weights_cases()
        + _attention_cases()
        + _combine_values_cases()
        + _multi_head_attention_cases()
    )
