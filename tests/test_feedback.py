"""Feedback that teaches: named misconceptions on known cases, warnings, and no leaks.

The cases here come from public bug reports about attention code; each test
states the right result and checks the diagnosis a student would read.
"""

import dataclasses
import html
import json
import re
import subprocess
import sys

import numpy as np
import pytest

from autograder.classroom import StudentRecipe, catalogue_cells, write_submission
from autograder.grading import AssignmentGrader, load_assignment
from autograder.spec import Case, FunctionSpec
from solutions import ps02_attention as reference

from conftest import REPOSITORY, make_course, run_nbgrader, tool_environment

SPEC = load_assignment("ps02_attention")
MISTAKES = {entry.name: entry for entry in SPEC.mistakes}


def diagnose(function_name, source, case):
    """Grade ``source`` for ``function_name`` on the single ``case``; return the function result."""
    spec = dataclasses.replace(
        SPEC,
        functions=(FunctionSpec(function_name, (("bug report", 1.0),)),),
        build_cases=lambda: [case],
    )
    grader = AssignmentGrader(spec)
    return grader.grade_trusted_cells(catalogue_cells(SPEC, {function_name: source})).function(function_name)


def last_row_masked_case():
    rng = np.random.default_rng(7)
    mask = np.ones((6, 10), dtype=bool)
    mask[-1] = False
    return rng.normal(size=(6, 4)), rng.normal(size=(10, 4)), rng.normal(size=(10, 3)), mask


def test_fully_masked_row_gives_zero_weights():
    Q, K, V, mask = last_row_masked_case()
    output, weights = reference.attention(Q, K, V, mask=mask)
    assert not np.isnan(weights).any()
    assert np.array_equal(weights[-1], np.zeros(10))
    assert np.array_equal(output[-1], np.zeros(3))
    np.testing.assert_allclose(weights[:-1].sum(axis=-1), 1.0, rtol=1e-12)


def test_fully_masked_row_nan_named():
    Q, K, _, mask = last_row_masked_case()
    scores = Q @ K.T / 2.0
    case = Case("stable_softmax", "bug report", "a query row whose keys are all masked", (scores,), {"mask": mask})
    result = diagnose("stable_softmax", MISTAKES["fully_masked_rows_give_nan"].source, case)
    assert result.score == 0
    assert result.misconception["name"] == "fully_masked_rows_give_nan"
    assert "NaN" in result.feedback()


def test_large_scores_give_finite_weights():
    weights = reference.stable_softmax(np.array([1000.0, 1001.0, 1002.0]))
    np.testing.assert_allclose(weights, [0.0900306, 0.2447285, 0.6652410], rtol=1e-6)
    assert np.isfinite(weights).all()
    assert weights.sum() == pytest.approx(1.0)


def test_missing_max_subtraction_named_overflow():
    case = Case("stable_softmax", "bug report", "scores near 1000", (np.array([[1000.0, 1001.0, 1002.0]]),))
    result = diagnose("stable_softmax", MISTAKES["softmax_without_max_subtraction"].source, case)
    assert result.score == 0
    assert result.misconception["name"] == "softmax_without_max_subtraction"
    assert "overflow" in result.feedback().lower()


def test_inverted_causal_mask_named():
    case = Case("causal_mask", "bug report", "4 queries and 4 keys", (4,))
    result = diagnose("causal_mask", MISTAKES["causal_mask_upper_triangle"].source, case)
    assert result.score == 0
    assert result.misconception["name"] == "causal_mask_upper_triangle"
    assert MISTAKES["causal_mask_upper_triangle"].misconception in result.feedback()


def test_inverted_mask_polarity_named():
    rng = np.random.default_rng(3)
    scores = rng.normal(size=(4, 4))
    inverted = ~np.tril(np.ones((4, 4), dtype=bool))
    inverted[0, 0] = True
    case = Case("stable_softmax", "bug report", "a causal mask", (scores,), {"mask": np.tril(np.ones((4, 4), dtype=bool))})
    result = diagnose("stable_softmax", MISTAKES["mask_polarity_inverted"].source, case)
    assert result.misconception["name"] == "mask_polarity_inverted"
    assert "mask" in result.feedback()


@pytest.mark.parametrize("mistake", ["weights_normalised_over_queries", "weights_scaled_by_d_k"])
def test_three_queries_five_keys_named(mistake):
    rng = np.random.default_rng(11)
    case = Case("attention_weights", "bug report", "3 queries and 5 keys with d_k = 4", (rng.normal(size=(3, 4)), rng.normal(size=(5, 4))))
    result = diagnose("attention_weights", MISTAKES[mistake].source, case)
    assert result.score == 0
    assert result.misconception["name"] == mistake


def test_masked_nan_does_not_change_row():
    scores = np.array([[0.5, np.nan, 1.5, -0.25]])
    mask = np.array([[True, False, True, True]])
    weights = reference.stable_softmax(scores, mask=mask)
    expected = reference.stable_softmax(np.array([[0.5, 0.0, 1.5, -0.25]]), mask=mask)
    np.testing.assert_array_equal(weights, expected)
    case = Case("stable_softmax", "bug report", "a NaN score at a masked position", (scores,), {"mask": mask})
    result = diagnose("stable_softmax", MISTAKES["masked_nan_leaks_through_multiplication"].source, case)
    assert result.misconception["name"] == "masked_nan_leaks_through_multiplication"


WARNING_SOFTMAX = '''
def stable_softmax(scores, axis=-1, mask=None):
    scores = np.asarray(scores, dtype=float)
    keep = np.ones(scores.shape, dtype=bool) if mask is None else np.broadcast_to(np.asarray(mask, dtype=bool), scores.shape)
    keep = keep & (scores != -np.inf)
    if (keep & ~np.isfinite(scores)).any():
        raise ValueError("NaN or +inf score that takes part")
    hidden = np.where(keep, scores, -np.inf)
    top = hidden.max(axis=axis, keepdims=True)
    exp = np.exp(hidden - top)          # -inf - (-inf) is NaN on fully masked slices
    weights = exp / exp.sum(axis=axis, keepdims=True)
    return np.nan_to_num(weights, nan=0.0)
'''


def test_runtime_warning_keeps_full_marks():
    grader = AssignmentGrader(SPEC)
    result = grader.grade_trusted_cells(catalogue_cells(SPEC, {"stable_softmax": WARNING_SOFTMAX})).function("stable_softmax")
    assert result.score == result.max_score, result.feedback()
    assert any("warning" in note for note in result.advice)


def test_correct_alternatives_get_no_misconception():
    grader = AssignmentGrader(SPEC)
    for entry in SPEC.alternatives:
        result = grader.grade_trusted_cells(catalogue_cells(SPEC, {entry.function: entry.source})).function(entry.function)
        assert "misconception" not in result.feedback().lower(), entry.name


# -- a graded class: leaks, report, export --------------------------------------------


@pytest.fixture(scope="module")
def feedback_course(tmp_path_factory):
    """A class of alternatives and mistakes, graded by the fast path, with feedback generated."""
    course = make_course(tmp_path_factory.mktemp("feedback"))
    # Every function comes from the catalogue, so no notebook holds reference code.
    styles = []
    for offset in range(3):
        chosen = {}
        for name in SPEC.function_names:
            options = [entry for entry in SPEC.alternatives if entry.function == name]
            chosen[name] = options[offset % len(options)].source
        styles.append(chosen)
    students = [StudentRecipe(f"alt_{number}", "", styles[number]) for number in range(3)]
    for number, entry in enumerate(SPEC.mistakes[:8]):
        students.append(StudentRecipe(f"bad_{entry.name}", "", {**styles[number % 3], entry.function: entry.source}))
    for recipe in students:
        write_submission(str(course), SPEC, recipe)
    completed = subprocess.run(
        [sys.executable, "-m", "autograder", "grade", SPEC.assignment_id, "--no-progress"],
        cwd=course, env=tool_environment(), capture_output=True, text=True, timeout=300,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    run_nbgrader(course, "generate_feedback", SPEC.assignment_id, "--force")
    return course, students


def html_text(path):
    """Return the visible text of an HTML page, with syntax-highlighting tags removed."""
    return html.unescape(re.sub(r"<[^>]+>", "", path.read_text(encoding="utf-8")))


def hidden_input_values():
    """Distinctive numbers from the inputs of hidden cases, as numpy would print them."""
    grader = AssignmentGrader(SPEC)
    values = set()
    for case in grader.cases:
        if case.visible:
            continue
        for argument in list(case.args) + list(case.kwargs.values()):
            array = np.asarray(argument) if not isinstance(argument, (str, type(None))) else np.array([])
            if array.dtype.kind != "f":
                continue
            for value in array.ravel()[:6]:
                if np.isfinite(value) and abs(value) > 1e-3 and len(f"{abs(value):.8f}".strip("0.")) >= 7:
                    values.add(f"{value:.8f}")
    return values


def test_feedback_never_shows_hidden_tests(feedback_course):
    course, students = feedback_course
    pages = sorted((course / "feedback").rglob("*.html"))
    assert len(pages) == len(students)
    for page in pages:
        text = html_text(page)
        assert "check_hidden_cases" not in text, page
        assert "BEGIN HIDDEN TESTS" not in text, page


def test_feedback_never_shows_reference_code(feedback_course):
    course, _ = feedback_course
    shared = set()
    for entry in SPEC.mistakes + SPEC.alternatives:
        shared |= {line.strip() for line in entry.source.splitlines()}
    shared |= {line.strip() for line in (REPOSITORY / "release" / "ps02_attention" / "attention.ipynb").read_text().splitlines()}
    reference_lines = {
        line.strip()
        for line in (REPOSITORY / "solutions" / "ps02_attention.py").read_text().splitlines()
        if len(line.strip()) > 30 and not line.strip().startswith(("#", '"""'))
    }
    distinctive = [line for line in reference_lines - shared if not any(line in other for other in shared)]
    assert distinctive, "no reference line is distinctive enough to search for"
    for page in (course / "feedback").rglob("*.html"):
        text = html_text(page)
        leaked = [line for line in distinctive if line in text]
        assert leaked == [], f"{page} shows reference code: {leaked[:3]}"


def test_feedback_never_shows_hidden_inputs(feedback_course):
    course, _ = feedback_course
    values = hidden_input_values()
    assert len(values) > 20
    documents = [html_text(page) for page in (course / "feedback").rglob("*.html")]
    documents += [path.read_text() for path in (course / ".grading").rglob("*.json")]
    for document in documents:
        leaked = [value for value in values if value in document]
        assert leaked == []


def test_feedback_names_misconception(feedback_course):
    course, students = feedback_course
    for recipe in students:
        if not recipe.student_id.startswith("bad_"):
            continue
        entry = MISTAKES[recipe.student_id[len("bad_"):]]
        text = html_text(course / "feedback" / recipe.student_id / SPEC.assignment_id / f"{SPEC.notebook}.html")
        assert "Likely misconception" in text, recipe.student_id
        assert entry.misconception in text, recipe.student_id


def test_report_counts_misconceptions(feedback_course):
    course, students = feedback_course
    completed = subprocess.run(
        [sys.executable, "-m", "autograder", "report", SPEC.assignment_id, "--format", "json"],
        cwd=course, env=tool_environment(), capture_output=True, text=True, timeout=120,
    )
    assert completed.returncode == 0, completed.stderr
    report = json.loads(completed.stdout)
    assert report["students"] == len(students)
    assert [item["function"] for item in report["functions"]] == list(SPEC.function_names)
    counted = {item["name"]: item["count"] for item in report["top_misconceptions"]}
    expected = {}
    for recipe in students:
        if recipe.student_id.startswith("bad_"):
            name = recipe.student_id[len("bad_"):]
            expected[name] = expected.get(name, 0) + 1
    # A mistake in stable_softmax also shows in the student's own attention_weights,
    # which calls it, so the report may count more than the planted mistakes.
    for name, count in expected.items():
        assert counted.get(name, 0) >= count, name
    assert set(counted) <= set(MISTAKES)
    for function in report["functions"]:
        for group in function["groups"]:
            assert 0 <= group["passed"] <= group["students"] == len(students)


def test_report_text_lists_groups(feedback_course):
    course, _ = feedback_course
    completed = subprocess.run(
        [sys.executable, "-m", "autograder", "report", SPEC.assignment_id],
        cwd=course, env=tool_environment(), capture_output=True, text=True, timeout=120,
    )
    assert completed.returncode == 0
    assert "fully masked rows" in completed.stdout
    assert "Most frequent misconceptions" in completed.stdout


def test_export_shows_partial_scores(feedback_course):
    course, _ = feedback_course
    run_nbgrader(course, "export", "--to", "grades.csv")
    rows = (course / "grades.csv").read_text().splitlines()
    header = rows[0].split(",")
    scores = [float(row.split(",")[header.index("raw_score")]) for row in rows[1:]]
    assert any(score != int(score) for score in scores), "no partial score was exported"
    assert max(scores) == SPEC_TOTAL


SPEC_TOTAL = sum(function.points for function in SPEC.functions)


def test_repair_warnings_name_student(tmp_path, caplog):
    from autograder.classroom import strip_metadata
    from autograder.feedback_notebook import write_autograded_notebook

    course = make_course(tmp_path / "course")
    spec = load_assignment("ps02_attention")
    write_submission(str(course), spec, StudentRecipe("stripped", "", damage=strip_metadata))
    folder = course / "submitted" / "stripped" / "ps02_attention"
    result = AssignmentGrader(spec).zero_result("stripped", f"{spec.notebook}.ipynb", "not graded in this test")
    # A result with an error stands for an unreadable submission, which the writer does not read.
    result.error = None
    with caplog.at_level("WARNING", logger="autograder.nbgrader"):
        write_autograded_notebook(str(course), "ps02_attention", "stripped", str(folder), result)
    messages = [record.getMessage() for record in caplog.records]
    assert messages, "a stripped notebook should produce repair warnings"
    assert all(message.startswith("stripped/ps02_attention: ") for message in messages)
