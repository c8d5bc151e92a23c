"""Grading on a Dask cluster stores the same scores as grading locally."""

import pytest

from autograder.batch import grade_batch
from autograder.classroom import StudentRecipe, write_submission
from autograder.grading import load_assignment
from autograder.report import gradebook_scores
from autograder.sandbox import Limits

from conftest import make_course

distributed = pytest.importorskip("distributed")


def test_dask_scores_equal_local(tmp_path):
    spec = load_assignment("ps01_span")
    course = make_course(tmp_path / "course")
    recipes = [StudentRecipe("correct", "")]
    recipes += [StudentRecipe(f"bad_{entry.name}", "", {entry.function: entry.source}) for entry in spec.mistakes[::7]]
    recipes.append(StudentRecipe("hangs", "", cells_after=["while True:\n    pass\n"]))
    for recipe in recipes:
        write_submission(str(course), spec, recipe)
    limits = Limits(cell_seconds=2, call_seconds=2, submission_seconds=20)

    local = grade_batch(str(course), spec.assignment_id, workers=2, limits=limits, progress=False, json_path=str(tmp_path / "local.json"))
    assert local.graded == len(recipes)
    assert local.errors == 0
    local_scores = gradebook_scores(str(course), spec.assignment_id)

    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    try:
        remote = grade_batch(
            str(course), spec.assignment_id, scheduler=cluster.scheduler_address, force=True, limits=limits, progress=False,
            json_path=str(tmp_path / "remote.json"),
        )
    finally:
        cluster.close()
    assert remote.graded == len(recipes)
    assert remote.errors == 0
    assert gradebook_scores(str(course), spec.assignment_id) == local_scores
    assert len(local.records) == len(recipes) * len(spec.function_names)
    assert sorted((record["student"], record["function"], record["score"]) for record in remote.records) == sorted(
        (record["student"], record["function"], record["score"]) for record in local.records
    )


def test_rerun_skips_graded_students(tmp_path):
    spec = load_assignment("ps01_span")
    course = make_course(tmp_path / "course")
    for student in ("one", "two"):
        write_submission(str(course), spec, StudentRecipe(student, ""))
    first = grade_batch(str(course), spec.assignment_id, workers=1, progress=False)
    assert (first.graded, first.skipped) == (2, 0)
    second = grade_batch(str(course), spec.assignment_id, workers=1, progress=False)
    assert (second.graded, second.skipped) == (0, 2)
    write_submission(str(course), spec, StudentRecipe("two", "", {spec.function_names[0]: spec.mistakes[0].source}))
    third = grade_batch(str(course), spec.assignment_id, workers=1, progress=False)
    assert (third.graded, third.skipped) == (1, 1)
