"""The instructor pipeline end to end, with real nbgrader and the SQLite gradebook.

One small class per assignment is autograded by ``nbgrader autograde`` with
the course configuration, then again by ``python -m autograder grade``; both
must store the scores the engine computes for the same code.
"""

import filecmp
import shutil
import json
import subprocess
import sys

import pytest

from autograder.classroom import StudentRecipe, catalogue_cells, reference_sources, strip_metadata, write_submission
from autograder.grading import AssignmentGrader, load_assignment
from autograder.report import gradebook_scores

from conftest import ASSIGNMENTS, REPOSITORY, run_nbgrader, tool_environment


def small_class(spec):
    """Six students: correct, two mistakes, raises at import, hostile, metadata stripped."""
    names = spec.function_names
    first, second = spec.mistakes[0], next(entry for entry in spec.mistakes if entry.function != spec.mistakes[0].function)
    last = names[-1]
    return [
        StudentRecipe("correct", "reference"),
        StudentRecipe("mistake_a", first.name, {first.function: first.source}),
        StudentRecipe("mistake_b", second.name, {second.function: second.source}),
        StudentRecipe(
            "import_error",
            "NameError before a definition",
            {last: "prepare_inputs()\n\n" + reference_sources(spec)[last]},
        ),
        StudentRecipe(
            "hostile",
            "no-op asserts and a mistake",
            {first.function: first.source},
            cells_before=["import numpy as np\nnp.testing.assert_allclose = lambda *a, **k: None\nnp.allclose = lambda *a, **k: True"],
        ),
        StudentRecipe("stripped", "metadata stripped", damage=strip_metadata),
    ]


def expected_scores(spec, recipe):
    """Scores the engine gives the recipe's code, graded in this process."""
    grader = AssignmentGrader(spec)
    result = grader.grade_trusted_cells(catalogue_cells(spec, recipe.implementations))
    return {function.name: function.score for function in result.functions}


@pytest.fixture(scope="module")
def graded_course(course):
    """The course with a small class autograded by stock nbgrader commands."""
    recipes = {}
    for assignment_id in ASSIGNMENTS:
        spec = load_assignment(assignment_id)
        recipes[assignment_id] = small_class(spec)
        for recipe in recipes[assignment_id]:
            write_submission(str(course), spec, recipe)
        completed = run_nbgrader(course, "autograde", assignment_id, "--force")
        assert "| ERROR]" not in completed.stdout + completed.stderr
    return course, recipes


def test_release_matches_source(course):
    for assignment_id in ASSIGNMENTS:
        spec = load_assignment(assignment_id)
        committed = REPOSITORY / "release" / assignment_id / f"{spec.notebook}.ipynb"
        regenerated = course / "release" / assignment_id / f"{spec.notebook}.ipynb"
        assert committed.is_file(), f"{committed} is missing; run nbgrader generate_assignment {assignment_id}"
        assert filecmp.cmp(committed, regenerated, shallow=False), f"{committed} is stale: regenerate it from source/"


@pytest.mark.parametrize("assignment_id", ASSIGNMENTS)
def test_source_notebook_validates(course, assignment_id):
    spec = load_assignment(assignment_id)
    completed = run_nbgrader(course, "validate", f"source/{assignment_id}/{spec.notebook}.ipynb", check=False)
    assert "Success! Your notebook passes all the tests." in completed.stdout, completed.stdout[-3000:]


@pytest.mark.parametrize("assignment_id", ASSIGNMENTS)
def test_release_stubs_fail_every_test(course, assignment_id):
    spec = load_assignment(assignment_id)
    completed = run_nbgrader(course, "validate", "--invert", f"release/{assignment_id}/{spec.notebook}.ipynb", check=False)
    assert "Success! The notebook does not pass any tests." in completed.stdout, completed.stdout[-3000:]


@pytest.mark.parametrize("assignment_id", ASSIGNMENTS)
def test_test_cell_points_match_spec(course, assignment_id):
    import nbformat

    spec = load_assignment(assignment_id)
    nb = nbformat.read(course / "source" / assignment_id / f"{spec.notebook}.ipynb", as_version=4)
    points = {
        cell.metadata["nbgrader"]["grade_id"]: cell.metadata["nbgrader"]["points"]
        for cell in nb.cells
        if cell.metadata.get("nbgrader", {}).get("grade")
    }
    assert points == {f"test_{function.name}": function.points for function in spec.functions}


@pytest.mark.parametrize("assignment_id", ASSIGNMENTS)
def test_autograde_scores_match_engine(graded_course, assignment_id):
    course, recipes = graded_course
    spec = load_assignment(assignment_id)
    scores = gradebook_scores(str(course), assignment_id)
    for recipe in recipes[assignment_id]:
        expected = expected_scores(spec, recipe)
        stored = {name: score for name, (score, _) in scores[recipe.student_id].items()}
        assert stored == expected, f"{recipe.student_id} ({recipe.summary})"


@pytest.mark.parametrize("assignment_id", ASSIGNMENTS)
def test_class_shows_expected_losses(graded_course, assignment_id):
    course, recipes = graded_course
    spec = load_assignment(assignment_id)
    scores = gradebook_scores(str(course), assignment_id)
    full = {function.name: function.points for function in spec.functions}
    assert {name: score for name, (score, _) in scores["correct"].items()} == full
    assert {name: score for name, (score, _) in scores["stripped"].items()} == full
    for student, entry in (("mistake_a", spec.mistakes[0]), ("hostile", spec.mistakes[0])):
        assert scores[student][entry.function][0] < full[entry.function]
        others = {name for name, (score, _) in scores[student].items() if score < full[name]}
        assert others == {entry.function}
    assert scores["import_error"][spec.function_names[-1]][0] == 0


def test_fast_grade_equals_nbgrader(graded_course, tmp_path):
    course, _ = graded_course
    for assignment_id in ASSIGNMENTS:
        before = gradebook_scores(str(course), assignment_id)
        json_path = tmp_path / f"{assignment_id}.json"
        completed = subprocess.run(
            [sys.executable, "-m", "autograder", "grade", assignment_id, "--force", "--workers", "2", "--json", str(json_path)],
            cwd=course,
            env=tool_environment(),
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert completed.returncode == 0, completed.stderr[-3000:]
        after = gradebook_scores(str(course), assignment_id)
        assert after == before
        records = json.loads(json_path.read_text())["records"]
        assert {(record["student"], record["function"]) for record in records} == {
            (student, name) for student, row in before.items() for name in row
        }
        for record in records:
            assert record["score"] == before[record["student"]][record["function"]][0]


def test_feedback_and_export_after_fast_grade(graded_course):
    course, _ = graded_course
    for assignment_id in ASSIGNMENTS:
        run_nbgrader(course, "generate_feedback", assignment_id, "--force")
    run_nbgrader(course, "export", "--to", "grades.csv")
    spec = load_assignment("ps02_attention")
    html = (course / "feedback" / "mistake_a" / "ps02_attention" / f"{spec.notebook}.html").read_text()
    assert spec.mistakes[0].misconception.split(";")[0] in html or "Likely misconception" in html
    csv_text = (course / "grades.csv").read_text()
    assert "mistake_a" in csv_text
    assert "ps02_attention" in csv_text


GRADEBOOK_ROWS = {
    "student": "SELECT st.id, st.first_name, st.last_name, st.email, st.lms_user_id FROM student st "
    "JOIN submitted_assignment sa ON sa.student_id = st.id JOIN assignment a ON sa.assignment_id = a.id WHERE a.name = ?",
    "submitted_assignment": "SELECT sa.student_id, sa.timestamp, sa.extension FROM submitted_assignment sa "
    "JOIN assignment a ON sa.assignment_id = a.id WHERE a.name = ?",
    "submitted_notebook": "SELECT sa.student_id, nb.name, sn.flagged, sn.late_submission_penalty FROM submitted_notebook sn "
    "JOIN submitted_assignment sa ON sn.assignment_id = sa.id JOIN notebook nb ON sn.notebook_id = nb.id "
    "JOIN assignment a ON sa.assignment_id = a.id WHERE a.name = ?",
    "grade": "SELECT sa.student_id, nb.name, bc.name, bc.type, g.auto_score, g.manual_score, g.extra_credit, g.needs_manual_grade "
    "FROM grade g JOIN submitted_notebook sn ON g.notebook_id = sn.id JOIN submitted_assignment sa ON sn.assignment_id = sa.id "
    "JOIN notebook nb ON sn.notebook_id = nb.id JOIN base_cell bc ON g.cell_id = bc.id "
    "JOIN assignment a ON sa.assignment_id = a.id WHERE a.name = ?",
    "comment": "SELECT sa.student_id, nb.name, bc.name, bc.type, c.auto_comment, c.manual_comment "
    "FROM comment c JOIN submitted_notebook sn ON c.notebook_id = sn.id JOIN submitted_assignment sa ON sn.assignment_id = sa.id "
    "JOIN notebook nb ON sn.notebook_id = nb.id JOIN base_cell bc ON c.cell_id = bc.id "
    "JOIN assignment a ON sa.assignment_id = a.id WHERE a.name = ?",
}


def gradebook_rows(course, assignment_id) -> dict:
    """Every gradebook row of an assignment's submissions, without the generated ids."""
    import sqlite3

    with sqlite3.connect(course / "gradebook.db") as connection:
        return {table: sorted(connection.execute(query, (assignment_id,)).fetchall(), key=repr) for table, query in GRADEBOOK_ROWS.items()}


def test_fast_grade_creates_nbgrader_rows(graded_course, tmp_path):
    """Submissions the gradebook has never seen get the rows ``nbgrader autograde`` creates."""
    course, recipes = graded_course
    assignment_id = "ps02_attention"
    fresh = tmp_path / "course"
    fresh.mkdir()
    shutil.copytree(REPOSITORY / "source", fresh / "source")
    shutil.copy(REPOSITORY / "nbgrader_config.py", fresh / "nbgrader_config.py")
    run_nbgrader(fresh, "generate_assignment", assignment_id, "--force")
    shutil.copytree(course / "submitted", fresh / "submitted", ignore=shutil.ignore_patterns("ps01_*"))
    completed = subprocess.run(
        [sys.executable, "-m", "autograder", "grade", assignment_id, "--workers", "2", "--no-progress"],
        cwd=fresh, env=tool_environment(), capture_output=True, text=True, timeout=300,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    expected = gradebook_rows(course, assignment_id)
    found = gradebook_rows(fresh, assignment_id)
    assert len(found["grade"]) == len(recipes[assignment_id]) * len(load_assignment(assignment_id).function_names)
    for table in GRADEBOOK_ROWS:
        assert found[table] == expected[table], table


def test_notebook_without_answers_graded_by_nbgrader(tmp_path):
    import nbformat

    from conftest import make_course

    course = make_course(tmp_path / "course")
    spec = load_assignment("ps01_span")
    write_submission(str(course), spec, StudentRecipe("good", ""))
    for student, cells in (("empty", []), ("printer", [nbformat.v4.new_code_cell("print(1)")])):
        folder = course / "submitted" / student / "ps01_span"
        folder.mkdir(parents=True)
        notebook = nbformat.v4.new_notebook()
        notebook.cells = cells
        nbformat.write(notebook, str(folder / f"{spec.notebook}.ipynb"))
    completed = run_nbgrader(course, "autograde", "ps01_span")
    assert "KeyError" not in completed.stderr
    scores = gradebook_scores(str(course), "ps01_span")
    assert sorted(scores) == ["empty", "good", "printer"]
    for student in ("empty", "printer"):
        assert (course / "autograded" / student / "ps01_span" / f"{spec.notebook}.ipynb").exists()
        assert all(score == 0 for score, _ in scores[student].values())
    assert all(score == maximum for score, maximum in scores["good"].values())
