"""Regressions found by attacking the grader: each test names the attack it stops."""

import json
import os
import subprocess
import sys

import nbformat
import numpy as np
import pytest

from autograder.classroom import StudentRecipe, catalogue_cells, write_submission
from autograder.grading import AssignmentGrader, find_banned_usage, grade_student_folder, grader_for, load_assignment
from autograder.sandbox import Limits, Sandbox

from conftest import REPOSITORY, make_course, run_nbgrader, tool_environment

BAN = ("@", "dot", "matmul", "einsum", "inner", "tensordot", "vdot")


@pytest.mark.parametrize(
    "cells",
    [
        [(0, "combine_columns = lambda X, w: X @ w\n")],
        [(0, "def combine_columns(X, w):\n    return X.__matmul__(w)\n")],
        [(0, "import numpy as np\ndef combine_columns(X, w):\n    return np.linalg.multi_dot([X, w])\n")],
        [(0, "def _product(a, b):\n    return a @ b\n\ndef combine_columns(X, w):\n    return _product(X, w)\n")],
        [(0, "from numpy import dot\ndef combine_columns(X, w):\n    return dot(X, w)\n")],
        [(0, "def combine_columns(X, w):\n    return sum(w[j] * X[:, j] for j in range(len(w)))\n"), (1, "combine_columns = lambda X, w: X @ w\n")],
        [(0, "if True:\n    def combine_columns(X, w):\n        return X @ w\n")],
        [(0, "try:\n    def combine_columns(X, w):\n        return X @ w\nexcept Exception:\n    pass\n")],
        [(0, "(combine_columns := lambda X, w: X @ w)\n")],
        [(0, "def _product(a, b):\n    return a @ b\n\ndef combine_columns(X, w, _product=_product):\n    return _product(X, w)\n")],
        [(0, "for combine_columns in [lambda X, w: X @ w]:\n    pass\n")],
        [(0, "def _wrap(function):\n    return lambda X, w: X @ w\n\n@_wrap\ndef combine_columns(X, w):\n    return X[:, 0] * w[0]\n")],
        [(0, "def combine_columns(X, w):\n    return X @ w\n"), (1, "if False:\n    def combine_columns(X, w):\n        return X[:, 0] * w[0]\n")],
        [(0, "from numpy import dot as d\ndef combine_columns(X, w):\n    return d(X, w)\n")],
        [(0, "import numpy as np\ndef combine_columns(X, w):\n    return np.matvec(X, w)\n")],
    ],
    ids=["lambda", "dunder", "multi_dot", "helper", "imported-name", "rebound-later", "inside-if", "inside-try", "walrus",
         "default-argument", "for-target", "decorator", "decoy-never-runs", "renamed-import", "matvec"],
)
def test_ban_sees_indirect_products(cells):
    assert find_banned_usage(cells, "combine_columns", BAN) != []


EXPLICIT_SUM = "def combine_columns(X, w):\n    return sum(map(lambda k: w[k] * X[:, k], range(len(w))))\n"


@pytest.mark.parametrize(
    "cells",
    [
        [(0, EXPLICIT_SUM), (1, "for k in range(2):\n    print(np.eye(2) @ np.ones(2))\n")],
        [(0, "import functools\ndef combine_columns(X, w):\n    return functools.reduce(lambda total, inner: total + inner, [w[j] * X[:, j] for j in range(len(w))])\n")],
        [(0, "a = np.eye(2)\nb = a @ a\ndef combine_columns(X, w, mul=lambda a, b: a * b):\n    return sum(mul(w[j], X[:, j]) for j in range(len(w)))\n")],
        [(0, "ZERO, reference = 0.0, np.ones(2) @ np.ones(2)\ndef combine_columns(X, w):\n    return ZERO + sum(w[j] * X[:, j] for j in range(len(w)))\n")],
        [(0, "def combine_columns(X, w):\n    return X @ w\n"), (1, EXPLICIT_SUM)],
    ],
    ids=["lambda-parameter-like-loop", "parameter-named-inner", "default-lambda", "unpacked-constant", "fixed-later"],
)
def test_ban_passes_explicit_sums(cells):
    assert find_banned_usage(cells, "combine_columns", BAN) == []


def test_ban_ignores_local_names():
    source = (
        "def combine_columns(X, w):\n"
        "    dot = 0.0\n"
        "    inner = X[:, 0] * w[0]\n"
        "    for j in range(1, len(w)):\n"
        "        inner = inner + w[j] * X[:, j]\n"
        "    return inner\n"
    )
    assert find_banned_usage([(0, source)], "combine_columns", BAN) == []


def test_huge_int_costs_one_function():
    spec = load_assignment("ps01_span")
    grader = AssignmentGrader(spec)
    huge = (
        "def span_coefficients(X, y):\n"
        "    X = np.asarray(X, dtype=float)\n"
        "    return np.zeros(X.shape[1]), 10**399\n"
    )
    result = grader.grade_trusted_cells(catalogue_cells(spec, {"span_coefficients": huge}))
    assert result.function("span_coefficients").score == 0
    others = [function for function in result.functions if function.name != "span_coefficients"]
    assert all(function.score == function.max_score for function in others)


def test_deeply_nested_notebook_gets_reason(tmp_path):
    folder = tmp_path / "student" / "ps01_span"
    folder.mkdir(parents=True)
    (folder / "span.ipynb").write_text("[" * 100_000 + "]" * 100_000)
    grader = grader_for("ps01_span", str(REPOSITORY))
    with Sandbox(Limits(cell_seconds=2, call_seconds=1, submission_seconds=8)) as sandbox:
        result = grade_student_folder(grader, str(folder), sandbox, "student")
    assert result.score == 0
    assert "nested too deeply" in result.error


def test_symlinked_notebook_rejected(tmp_path):
    folder = tmp_path / "student" / "ps01_span"
    folder.mkdir(parents=True)
    os.symlink(REPOSITORY / "source" / "ps01_span" / "span.ipynb", folder / "span.ipynb")
    grader = grader_for("ps01_span", str(REPOSITORY))
    with Sandbox(Limits(cell_seconds=2, call_seconds=1, submission_seconds=8)) as sandbox:
        result = grade_student_folder(grader, str(folder), sandbox, "student")
    assert result.score == 0
    assert "symbolic link" in result.error


@pytest.mark.skipif(os.geteuid() != 0, reason="only a root grader confines student code to a read-only folder")
def test_student_cannot_write_files(tmp_path):
    spec = load_assignment("ps01_span")
    writer = (
        "try:\n"
        "    with open('filler.bin', 'wb') as handle:\n"
        "        handle.write(b'x' * 1024)\n"
        "    WROTE = True\n"
        "except OSError:\n"
        "    WROTE = False\n"
        "def combine_columns(X, w):\n"
        "    import numpy as np\n"
        "    X = np.asarray(X, dtype=float)\n"
        "    w = np.asarray(w, dtype=float)\n"
        "    if WROTE:\n"
        "        return None\n"
        "    return sum(w[j] * X[:, j] for j in range(X.shape[1]))\n"
    )
    course = make_course(tmp_path / "course")
    write_submission(str(course), spec, StudentRecipe("writer", "", {"combine_columns": writer}))
    grader = grader_for("ps01_span", str(course))
    with Sandbox(Limits(cell_seconds=2, call_seconds=1, submission_seconds=8)) as sandbox:
        result = grade_student_folder(grader, str(course / "submitted" / "writer" / "ps01_span"), sandbox, "writer")
    assert result.function("combine_columns").score == result.function("combine_columns").max_score


def test_json_records_have_elapsed(tmp_path):
    spec = load_assignment("ps01_span")
    course = make_course(tmp_path / "course")
    write_submission(str(course), spec, StudentRecipe("one", ""))
    json_path = tmp_path / "grades.json"
    completed = subprocess.run(
        [sys.executable, "-m", "autograder", "grade", "ps01_span", "--json", str(json_path), "--no-progress"],
        cwd=course, env=tool_environment(), capture_output=True, text=True, timeout=300,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    records = json.loads(json_path.read_text())["records"]
    assert all(record["elapsed"] > 0 for record in records)


def test_deleted_answer_never_shows_solution(tmp_path):
    spec = load_assignment("ps01_span")
    course = make_course(tmp_path / "course")

    def delete_answer(nb):
        nb.cells = [cell for cell in nb.cells if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") != "predict"]

    write_submission(str(course), spec, StudentRecipe("deleter", "", damage=delete_answer))
    completed = subprocess.run(
        [sys.executable, "-m", "autograder", "grade", "ps01_span", "--no-progress"],
        cwd=course, env=tool_environment(), capture_output=True, text=True, timeout=300,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    run_nbgrader(course, "generate_feedback", "ps01_span", "--force")
    autograded = (course / "autograded" / "deleter" / "ps01_span" / "span.ipynb").read_text()
    feedback = (course / "feedback" / "deleter" / "ps01_span" / "span.html").read_text()
    for text in (autograded, feedback):
        assert "BEGIN SOLUTION" not in text
        assert "NotImplementedError" in text


@pytest.mark.parametrize(
    "variable, value",
    [("AUTOGRADER_CALL_SECONDS", "-3"), ("AUTOGRADER_CELL_SECONDS", "inf"), ("AUTOGRADER_SANDBOX_UID_BASE", "abc"),
     ("AUTOGRADER_SANDBOX_UID_BASE", "4294967000")],
)
def test_invalid_limit_is_usage_error(tmp_path, variable, value):
    environment = tool_environment()
    environment[variable] = value
    completed = subprocess.run(
        [sys.executable, "-m", "autograder", "grade", "ps01_span"],
        cwd=REPOSITORY, env=environment, capture_output=True, text=True, timeout=120,
    )
    assert completed.returncode == 2
    assert f"{variable}={value!r} is invalid" in completed.stderr
    assert "Traceback" not in completed.stderr


def test_identical_results_skip_comparison():
    spec = load_assignment("ps01_span")
    grader = AssignmentGrader(spec)
    name = spec.function_names[0]
    # The same function, nudged by one part in 10**15 (within tolerance) or by 10% (outside it).
    nudged = f"_exact_{name} = {name}\ndef {name}(*args, **kwargs):\n    return _exact_{name}(*args, **kwargs) * SCALE\n"
    results = {}
    for label, scale in (("exact", None), ("close", "(1 + 1e-15)"), ("wrong", "1.1")):
        cells = catalogue_cells(spec, {})
        if scale:
            cells.append((len(cells), f"SCALE = {scale}\n" + nudged))
        with Sandbox(Limits()) as sandbox:
            report = sandbox.run(cells, grader.calls(), result_limits=grader.result_limits, known_results=grader.known_results)
        results[label] = (report, grader.score(report.outcomes, cells))
    numbers = [number for number, case in enumerate(grader.cases) if case.function == name and number in grader.known_results]
    exact_report, exact_scores = results["exact"]
    assert numbers
    assert all(exact_report.outcomes[number].value is grader.known_results[number][1] for number in numbers)
    assert exact_scores[0].score == exact_scores[0].max_score
    close_report, close_scores = results["close"]
    assert any(close_report.outcomes[number].value is not grader.known_results[number][1] for number in numbers)
    assert close_scores[0].score == close_scores[0].max_score
    _, wrong_scores = results["wrong"]
    assert wrong_scores[0].score < wrong_scores[0].max_score


def test_oversized_notebook_gets_reason(tmp_path):
    spec = load_assignment("ps01_span")
    course = make_course(tmp_path / "course")
    write_submission(str(course), spec, StudentRecipe("plain", ""))

    def add_large_output(nb):
        image = nbformat.v4.new_output("display_data", data={"image/png": "A" * 400_000})
        next(cell for cell in nb.cells if cell.cell_type == "code").outputs.append(image)

    write_submission(str(course), spec, StudentRecipe("plotter", "", damage=add_large_output))
    environment = tool_environment()
    environment["AUTOGRADER_NOTEBOOK_BYTES"] = "300000"
    json_path = tmp_path / "grades.json"
    completed = subprocess.run(
        [sys.executable, "-m", "autograder", "grade", "ps01_span", "--json", str(json_path), "--no-progress"],
        cwd=course, env=environment, capture_output=True, text=True, timeout=300,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    records = json.loads(json_path.read_text())["records"]
    plotter = [record for record in records if record["student"] == "plotter"]
    plain = [record for record in records if record["student"] == "plain"]
    assert plotter
    assert all(record["score"] == 0 for record in plotter)
    assert all("more than the 0.3 MiB the grader reads" in record["diagnosis"] for record in plotter)
    assert all("Clear All Outputs" in record["diagnosis"] for record in plotter)
    assert all(record["score"] == record["max_score"] for record in plain)
    autograded = course / "autograded" / "plotter" / "ps01_span" / "span.ipynb"
    assert "A" * 1000 not in autograded.read_text()


def test_file_write_feedback_explains_grader():
    spec = load_assignment("ps01_span")
    grader = AssignmentGrader(spec)
    name = spec.function_names[0]
    cells = catalogue_cells(spec, {})
    cells.append((len(cells), f"_exact = {name}\ndef {name}(*args, **kwargs):\n    open('figure.png', 'w').close()\n    return _exact(*args, **kwargs)\n"))
    with Sandbox(Limits()) as sandbox:
        report = sandbox.run(cells, grader.calls(), result_limits=grader.result_limits, known_results=grader.known_results)
    function = grader.score(report.outcomes, cells)[0]
    assert function.score == 0
    assert "raised PermissionError" in function.feedback()
    assert "remove file writes" in function.feedback()


def test_extra_notebook_copy_named(tmp_path):
    import shutil

    spec = load_assignment("ps01_span")
    course = make_course(tmp_path / "course")
    write_submission(str(course), spec, StudentRecipe("copier", ""))
    folder = course / "submitted" / "copier" / "ps01_span"
    shutil.copy(folder / f"{spec.notebook}.ipynb", folder / f"{spec.notebook} (1).ipynb")
    grader = grader_for("ps01_span", str(course))
    with Sandbox(Limits()) as sandbox:
        result = grade_student_folder(grader, str(folder), sandbox, "copier")
    assert result.warnings[0] == f"graded {spec.notebook}.ipynb; {spec.notebook} (1).ipynb in the same folder was not graded"
    assert result.score == result.max_score


@pytest.mark.parametrize(
    "warning_line, expected",
    [
        ("np.log(np.zeros(1))", 'such as "RuntimeWarning: divide by zero encountered in log"'),
        ("warnings.warn('More than 20 figures have been opened.', RuntimeWarning)",
         'such as "RuntimeWarning: More than 20 figures have been opened."'),
    ],
    ids=["numpy", "other"],
)
def test_warning_advice_quotes_warning(warning_line, expected):
    spec = load_assignment("ps01_span")
    grader = AssignmentGrader(spec)
    name = spec.function_names[0]
    cells = catalogue_cells(spec, {})
    cells.append((len(cells), f"import warnings\n_exact = {name}\ndef {name}(*args, **kwargs):\n    {warning_line}\n"
                              "    return _exact(*args, **kwargs)\n"))
    with Sandbox(Limits()) as sandbox:
        report = sandbox.run(cells, grader.calls(), result_limits=grader.result_limits, known_results=grader.known_results)
    function = grader.score(report.outcomes, cells)[0]
    assert function.score == function.max_score
    (advice,) = function.advice
    assert expected in advice
    assert ("np.errstate" in advice) == ("encountered in" in expected)
