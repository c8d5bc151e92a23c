"""Properties of the attention reference solutions and checks of the catalogue."""

import inspect
import warnings

import numpy as np
import pytest

import solutions.ps02_attention as reference
from assignments.ps02_attention import SPEC
from autograder.grading import AssignmentGrader, find_banned_usage
from solutions.ps02_attention import (
    attention,
    attention_weights,
    causal_mask,
    combine_values,
    multi_head_attention,
    stable_softmax,
)

WORKED_Q = np.array([[1.0, 0.0]])
WORKED_K = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
WORKED_V = np.array([[1.0, 0.0], [0.0, 2.0], [1.0, 1.0]])


def random_normal(seed, *shape):
    return np.random.default_rng(seed).normal(size=shape)


# --- stable_softmax -----------------------------------------------------------


@pytest.mark.parametrize("axis", [0, 1, 2, -1])
def test_softmax_slices_sum_to_one(axis):
    weights = stable_softmax(random_normal(1, 3, 4, 5), axis=axis)
    np.testing.assert_allclose(weights.sum(axis=axis), 1.0, rtol=1e-12)
    assert (weights >= 0).all()


def test_softmax_returns_float64_for_integers():
    weights = stable_softmax([[1, 2], [3, 4]])
    assert weights.dtype == np.float64


def test_softmax_known_values_near_1000():
    weights = stable_softmax([1000.0, 1001.0, 1002.0])
    np.testing.assert_allclose(weights, [0.09003057317038046, 0.24472847105479767, 0.6652409557748219], rtol=1e-12)


@pytest.mark.parametrize("shift", [-1e3, 7.5, 1e3, 1e5])
def test_softmax_shift_invariance(shift):
    scores = random_normal(2, 4, 6)
    per_row_shift = shift * np.arange(1, 5)[:, np.newaxis]
    np.testing.assert_allclose(stable_softmax(scores + per_row_shift), stable_softmax(scores), rtol=1e-9, atol=1e-15)


def test_softmax_masked_entries_exactly_zero():
    mask = np.random.default_rng(3).random((5, 7)) < 0.5
    mask[:, 0] = True
    weights = stable_softmax(random_normal(4, 5, 7), mask=mask)
    assert (weights[~mask] == 0.0).all()
    np.testing.assert_allclose(weights.sum(axis=-1), 1.0, rtol=1e-12)


def test_softmax_masked_equals_softmax_of_kept():
    scores = random_normal(5, 6)
    mask = np.array([True, False, True, True, False, True])
    weights = stable_softmax(scores, mask=mask)
    np.testing.assert_allclose(weights[mask], stable_softmax(scores[mask]), rtol=1e-12)


def test_softmax_fully_masked_slice_is_zero():
    mask = np.ones((6, 10), dtype=bool)
    mask[-1] = False
    weights = stable_softmax(random_normal(6, 6, 10), mask=mask)
    assert (weights[-1] == 0.0).all()
    np.testing.assert_allclose(weights[:-1].sum(axis=-1), 1.0, rtol=1e-12)


def test_softmax_all_neg_inf_slice_is_zero():
    weights = stable_softmax(np.full((2, 3), -np.inf), axis=0)
    assert (weights == 0.0).all()


def test_softmax_fully_masked_along_axis_zero():
    mask = np.array([[True, False], [True, False], [False, False]])
    weights = stable_softmax(random_normal(7, 3, 2), axis=0, mask=mask)
    assert (weights[:, 1] == 0.0).all()
    assert weights[:, 0].sum() == pytest.approx(1.0)


def test_softmax_mask_shape_b11m_broadcasts():
    mask = np.array([[True, True, False], [False, True, True]]).reshape(2, 1, 1, 3)
    weights = stable_softmax(random_normal(8, 2, 4, 5, 3), mask=mask)
    assert (weights[0, ..., 2] == 0.0).all()
    assert (weights[1, ..., 0] == 0.0).all()
    np.testing.assert_allclose(weights.sum(axis=-1), 1.0, rtol=1e-12)


@pytest.mark.parametrize(
    "scores,total",
    [
        ([1000.0, 1001.0, 1002.0], 1.0),
        ([-1000.0, -1001.0, -1002.0], 1.0),
        ([1e300, 0.0, -1e300], 1.0),
        ([1e300, 1e300, 1e300], 1.0),
        ([-1e300, -1e300, -5e299], 1.0),
        ([1.7e308, -1.7e308, 1.6e308], 1.0),
        ([-np.inf, 2.0, -np.inf], 1.0),
        ([-np.inf, -np.inf, -np.inf], 0.0),
    ],
)
def test_softmax_extreme_scores_finite_without_warnings(scores, total):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        weights = stable_softmax(np.array(scores))
    assert np.isfinite(weights).all()
    assert (weights >= 0).all()
    assert weights.sum() == pytest.approx(total)


def test_softmax_uniform_at_1e300():
    np.testing.assert_allclose(stable_softmax([1e300, 1e300, 1e300]), [1 / 3, 1 / 3, 1 / 3], rtol=1e-12)


@pytest.mark.parametrize("blocked", [np.nan, np.inf, -np.inf, 1e308])
def test_softmax_blocked_score_has_no_effect(blocked):
    scores = np.array([0.5, blocked, -1.0, 2.0])
    mask = np.array([True, False, True, True])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        weights = stable_softmax(scores, mask=mask)
    expected = stable_softmax(np.array([0.5, 0.0, -1.0, 2.0]), mask=mask)
    np.testing.assert_array_equal(weights, expected)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_softmax_rejects_invalid_taking_part(bad):
    with pytest.raises(ValueError):
        stable_softmax(np.array([0.0, bad, 1.0]))


def test_softmax_rejects_invalid_allowed_by_mask():
    with pytest.raises(ValueError):
        stable_softmax(np.array([0.0, np.inf, 1.0]), mask=np.array([False, True, True]))


def test_softmax_rejects_unbroadcastable_mask():
    with pytest.raises(ValueError):
        stable_softmax(np.zeros((2, 3)), mask=np.ones(4, dtype=bool))


def test_softmax_does_not_mutate_inputs():
    scores = np.array([[1.0, np.nan, 3.0]])
    mask = np.array([[True, False, True]])
    stable_softmax(scores, mask=mask)
    assert np.isnan(scores[0, 1])
    np.testing.assert_array_equal(mask, [[True, False, True]])


# --- causal_mask --------------------------------------------------------------


@pytest.mark.parametrize("n_queries,n_keys", [(1, 1), (4, 4), (3, 5), (5, 3), (6, 10), (0, 3)])
def test_causal_mask_matches_tril(n_queries, n_keys):
    mask = causal_mask(n_queries, n_keys)
    assert mask.dtype == np.bool_
    np.testing.assert_array_equal(mask, np.tril(np.ones((n_queries, n_keys), dtype=bool)))


def test_causal_mask_defaults_to_square():
    np.testing.assert_array_equal(causal_mask(4), np.tril(np.ones((4, 4), dtype=bool)))


# --- attention_weights and attention ------------------------------------------


def test_attention_worked_example():
    output, weights = attention(WORKED_Q, WORKED_K, WORKED_V)
    expected_weights = stable_softmax(np.array([1.0, 0.0, 1.0]) / np.sqrt(2.0))
    np.testing.assert_allclose(weights[0], expected_weights, rtol=1e-12)
    assert weights.sum() == pytest.approx(1.0)
    combination = weights[0, 0] * WORKED_V[0] + weights[0, 1] * WORKED_V[1] + weights[0, 2] * WORKED_V[2]
    np.testing.assert_allclose(output[0], combination, rtol=1e-12)


def test_attention_weights_scaled_by_sqrt_d_k():
    Q, K = random_normal(10, 3, 4), random_normal(11, 5, 4)
    expected = stable_softmax(Q @ K.T / 2.0)
    np.testing.assert_allclose(attention_weights(Q, K), expected, rtol=1e-12)


def test_attention_output_is_explicit_combination():
    Q, K, V = random_normal(12, 4, 3), random_normal(13, 6, 3), random_normal(14, 6, 2)
    output, weights = attention(Q, K, V)
    for i in range(4):
        combination = sum(weights[i, j] * V[j] for j in range(6))
        np.testing.assert_allclose(output[i], combination, rtol=1e-12)


def test_attention_output_in_convex_hull():
    # Three 2-D values span a triangle.  The barycentric coordinates of each
    # output must equal its weights, which are >= 0 and sum to 1.
    Q, K = random_normal(15, 8, 2), random_normal(16, 3, 2)
    output, weights = attention(Q, K, WORKED_V)
    assert (weights >= 0).all()
    np.testing.assert_allclose(weights.sum(axis=-1), 1.0, rtol=1e-12)
    system = np.vstack([WORKED_V.T, np.ones(3)])
    for i in range(8):
        barycentric = np.linalg.solve(system, np.append(output[i], 1.0))
        assert (barycentric >= -1e-12).all()
        np.testing.assert_allclose(barycentric, weights[i], atol=1e-12)


def test_attention_batch_matches_loop():
    Q, K, V = random_normal(17, 2, 3, 4, 2), random_normal(18, 2, 3, 5, 2), random_normal(19, 2, 3, 5, 3)
    output, weights = attention(Q, K, V)
    assert output.shape == (2, 3, 4, 3)
    assert weights.shape == (2, 3, 4, 5)
    for b in range(2):
        for h in range(3):
            single_output, single_weights = attention(Q[b, h], K[b, h], V[b, h])
            np.testing.assert_allclose(output[b, h], single_output, rtol=1e-12)
            np.testing.assert_allclose(weights[b, h], single_weights, rtol=1e-12)


def test_attention_broadcasts_shared_keys():
    Q, K = random_normal(20, 2, 4, 3), random_normal(21, 5, 3)
    weights = attention_weights(Q, K)
    assert weights.shape == (2, 4, 5)
    np.testing.assert_allclose(weights[1], attention_weights(Q[1], K), rtol=1e-12)


def test_attention_causal_mask_blocks_future():
    Q, K, V = random_normal(22, 5, 3), random_normal(23, 5, 3), random_normal(24, 5, 2)
    output, weights = attention(Q, K, V, mask=causal_mask(5))
    assert (np.triu(weights, k=1) == 0.0).all()
    np.testing.assert_allclose(output[0], V[0], rtol=1e-12)


def test_attention_fully_masked_query_gets_zero_row():
    mask = np.ones((6, 10), dtype=bool)
    mask[-1] = False
    output, weights = attention(random_normal(25, 6, 3), random_normal(26, 10, 3), random_normal(27, 10, 2), mask=mask)
    assert (weights[-1] == 0.0).all()
    assert (output[-1] == 0.0).all()
    assert np.isfinite(output).all()


def test_attention_accepts_integer_lists():
    output, weights = attention([[1, 0]], [[1, 0], [0, 1], [1, 1]], [[1, 0], [0, 2], [1, 1]])
    assert output.dtype == np.float64
    assert weights.dtype == np.float64
    np.testing.assert_allclose(output, attention(WORKED_Q, WORKED_K, WORKED_V)[0], rtol=1e-12)


def test_attention_weights_rejects_width_mismatch():
    with pytest.raises(ValueError):
        attention_weights(np.zeros((2, 3)), np.zeros((4, 2)))


def test_attention_rejects_key_value_mismatch():
    with pytest.raises(ValueError):
        attention(np.zeros((2, 3)), np.zeros((4, 3)), np.zeros((5, 2)))


# --- combine_values -------------------------------------------------------------


def test_combine_values_matches_matrix_product():
    weights, V = np.random.default_rng(28).dirichlet(np.ones(5)), random_normal(29, 5, 3)
    np.testing.assert_allclose(combine_values(weights, V), weights @ V, rtol=1e-12)


def test_combine_values_one_hot_selects_row():
    V = random_normal(30, 4, 2)
    np.testing.assert_array_equal(combine_values([0.0, 0.0, 1.0, 0.0], V), V[2])


def test_combine_values_uses_no_matrix_product():
    banned = SPEC.function("combine_values").banned
    assert find_banned_usage(reference_cells(), "combine_values", banned) == []


# --- multi_head_attention ---------------------------------------------------------


def random_projections(seed, d_model):
    rng = np.random.default_rng(seed)
    return [rng.normal(size=(d_model, d_model)) for _ in range(4)]


def test_multi_head_one_head_equals_single_head():
    X = random_normal(31, 5, 4)
    W_q, W_k, W_v, W_o = random_projections(32, 4)
    mask = causal_mask(5)
    single, _ = attention(X @ W_q, X @ W_k, X @ W_v, mask=mask)
    np.testing.assert_allclose(multi_head_attention(X, W_q, W_k, W_v, W_o, 1, mask=mask), single @ W_o, rtol=1e-12)


def test_multi_head_heads_use_column_blocks():
    X = random_normal(33, 4, 6)
    W_q, W_k, W_v, W_o = random_projections(34, 6)
    heads = [attention((X @ W_q)[:, block], (X @ W_k)[:, block], (X @ W_v)[:, block])[0]
             for block in (slice(0, 2), slice(2, 4), slice(4, 6))]
    expected = np.concatenate(heads, axis=1) @ W_o
    np.testing.assert_allclose(multi_head_attention(X, W_q, W_k, W_v, W_o, 3), expected, rtol=1e-12)


def test_multi_head_fully_masked_row_is_zero():
    mask = causal_mask(4)
    mask[2] = False
    output = multi_head_attention(random_normal(35, 4, 4), *random_projections(36, 4), 2, mask=mask)
    assert (output[2] == 0.0).all()


def test_multi_head_rejects_indivisible_width():
    with pytest.raises(ValueError):
        multi_head_attention(np.zeros((3, 6)), *random_projections(37, 6), 4)


# --- cases and catalogue ------------------------------------------------------


@pytest.fixture(scope="module")
def grader():
    return AssignmentGrader(SPEC)


def reference_cells():
    # The reference module as one cell, so that catalogue entries can call
    # the other graded functions by name.
    return [(0, inspect.getsource(reference))]


def test_cases_are_deterministic():
    first, second = SPEC.build_cases(), SPEC.build_cases()
    assert len(first) == len(second)
    for one, other in zip(first, second):
        for left, right in zip(one.args, other.args):
            np.testing.assert_array_equal(np.asarray(left), np.asarray(right))


def test_reference_scores_full_marks(grader):
    result = grader.grade_trusted_cells(reference_cells())
    assert result.score == result.max_score


@pytest.mark.parametrize("entry", SPEC.alternatives, ids=lambda entry: entry.name)
def test_alternative_passes_every_case(grader, entry):
    result = grader.grade_trusted_cells(reference_cells() + [(1, entry.source)])
    function = result.function(entry.function)
    assert function.score == function.max_score, function.feedback()


@pytest.mark.parametrize("entry", SPEC.mistakes, ids=lambda entry: entry.name)
def test_mistake_loses_points(grader, entry):
    result = grader.grade_trusted_cells(reference_cells() + [(1, entry.source)])
    function = result.function(entry.function)
    assert function.score < function.max_score
    assert function.misconception is not None
    assert function.misconception["name"] == entry.name


def test_catalogue_sizes():
    for name in SPEC.function_names:
        assert sum(entry.function == name for entry in SPEC.alternatives) >= 3, name
    assert len(SPEC.mistakes) >= 15


def test_combine_values_matrix_product_is_banned(grader):
    cheat = "import numpy as np\ndef combine_values(weights, V):\n    return np.asarray(weights, dtype=float) @ np.asarray(V, dtype=float)\n"
    result = grader.grade_trusted_cells(reference_cells() + [(1, cheat)])
    assert result.function("combine_values").score == 0.0
    assert result.function("combine_values").status == "banned"
