"""Every catalogued implementation, graded through the engine in this process.

Correct alternatives must get full marks with no misconception message;
each catalogued mistake must lose points on the function it targets, and
only there, and its diagnosis must name it.
"""

import pytest

from autograder.classroom import catalogue_cells
from autograder.grading import AssignmentGrader, load_assignment

from conftest import ASSIGNMENTS

SPECS = {assignment_id: load_assignment(assignment_id) for assignment_id in ASSIGNMENTS}


@pytest.fixture(scope="module")
def graders():
    return {assignment_id: AssignmentGrader(spec) for assignment_id, spec in SPECS.items()}


def entries(kind):
    return [
        pytest.param(assignment_id, entry, id=f"{assignment_id}-{entry.name}")
        for assignment_id, spec in SPECS.items()
        for entry in getattr(spec, kind)
    ]


@pytest.mark.parametrize("assignment_id", ASSIGNMENTS)
def test_reference_gets_full_marks(graders, assignment_id):
    result = graders[assignment_id].grade_trusted_cells(catalogue_cells(SPECS[assignment_id], {}))
    for function in result.functions:
        assert function.score == function.max_score, function.feedback()


@pytest.mark.parametrize("assignment_id, entry", entries("alternatives"))
def test_alternative_gets_full_marks(graders, assignment_id, entry):
    result = graders[assignment_id].grade_trusted_cells(catalogue_cells(SPECS[assignment_id], {entry.function: entry.source}))
    function = result.function(entry.function)
    assert function.score == function.max_score, function.feedback()
    assert function.misconception is None


@pytest.mark.parametrize("assignment_id, entry", entries("mistakes"))
def test_mistake_loses_points_and_is_named(graders, assignment_id, entry):
    result = graders[assignment_id].grade_trusted_cells(catalogue_cells(SPECS[assignment_id], {entry.function: entry.source}))
    function = result.function(entry.function)
    assert function.score < function.max_score, f"{entry.name} got full marks"
    others = [other.name for other in result.functions if other.name != entry.function and other.score < other.max_score]
    assert others == [], f"{entry.name} also cost points on {others}"
    if function.status == "banned":
        assert "must not use" in function.feedback()
    else:
        assert function.misconception is not None, function.feedback()
        assert function.misconception["name"] == entry.name
        assert entry.misconception in function.feedback()


@pytest.mark.parametrize("assignment_id", ASSIGNMENTS)
def test_every_function_has_three_alternatives(assignment_id):
    spec = SPECS[assignment_id]
    for name in spec.function_names:
        styles = {entry.style for entry in spec.alternatives if entry.function == name}
        assert len(styles) >= 3, f"{name} has alternatives in styles {sorted(styles)}"


def test_catalogue_has_enough_mistakes():
    assert sum(len(spec.mistakes) for spec in SPECS.values()) >= 25
    for spec in SPECS.values():
        for name in spec.function_names:
            assert any(entry.function == name for entry in spec.mistakes), f"no catalogued mistake for {name}"


@pytest.mark.parametrize("assignment_id", ASSIGNMENTS)
def test_mistake_names_unique(assignment_id):
    names = [entry.name for entry in SPECS[assignment_id].mistakes + SPECS[assignment_id].alternatives]
    assert len(names) == len(set(names))
