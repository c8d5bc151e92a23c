"""The adequacy report: stubs fail, mistakes are caught by hidden cases, alternatives pass."""

import dataclasses
import json
import shutil

import pytest

from autograder.adequacy import check_adequacy, check_assignment, validate_notebooks
from autograder.classroom import reference_sources
from autograder.grading import load_assignment
from autograder.spec import CatalogueEntry

from conftest import ASSIGNMENTS, REPOSITORY


@pytest.mark.parametrize("assignment_id", ASSIGNMENTS)
def test_adequacy_passes(assignment_id):
    spec = load_assignment(assignment_id)
    (report,) = check_adequacy(REPOSITORY, [spec], validate=False)
    assert report.gaps() == []
    assert [function.name for function in report.functions] == list(spec.function_names)
    for function in report.functions:
        assert function.stub_score < function.max_score
        assert len(function.mistakes) == sum(entry.function == function.name for entry in spec.mistakes)
        assert function.mistakes_caught == len(function.mistakes)
        assert len(function.alternatives) > 0
        assert function.alternatives_accepted == len(function.alternatives)


def test_table_lists_every_function():
    spec = load_assignment("ps02_attention")
    (report,) = check_adequacy(REPOSITORY, [spec], validate=False)
    table = report.format()
    assert "mistakes caught" in table
    assert "alternatives accepted" in table
    for function in spec.functions:
        mistakes = sum(entry.function == function.name for entry in spec.mistakes)
        assert f"{function.name} " in table
        assert f"{mistakes} of {mistakes}" in table.split(f"  {function.name} ")[1].splitlines()[0]


def test_reports_uncaught_mistake():
    spec = load_assignment("ps02_attention")
    # A "mistake" that is the reference itself passes every hidden case.
    disguised = CatalogueEntry("causal_mask", "reference_in_disguise", reference_sources(spec)["causal_mask"], misconception="none", hint="none")
    lenient = dataclasses.replace(spec, mistakes=(disguised,), alternatives=())
    report = check_assignment(lenient, REPOSITORY)
    assert report.gaps() == [
        "ps02_attention: causal_mask: mistake reference_in_disguise passes every hidden case; add a hidden case that it fails"
    ]


def test_visible_only_catch_is_gap():
    spec = load_assignment("ps02_attention")
    # Wrong only for n_queries == 4, the size of the visible case: every hidden case passes.
    source = reference_sources(spec)["causal_mask"].replace(
        "    return", "    if n_queries == 4 and n_keys in (None, 4):\n        return np.ones((4, 4), dtype=bool)\n    return", 1
    )
    entry = CatalogueEntry("causal_mask", "wrong_for_visible_size", source, misconception="none", hint="none")
    report = check_assignment(dataclasses.replace(spec, mistakes=(entry,), alternatives=()), REPOSITORY)
    function = next(function for function in report.functions if function.name == "causal_mask")
    assert function.mistakes == {"wrong_for_visible_size": []}


def test_reports_rejected_alternative():
    spec = load_assignment("ps02_attention")
    wrong = next(entry for entry in spec.mistakes if entry.function == "causal_mask")
    posing = CatalogueEntry("causal_mask", "posing_as_alternative", wrong.source, style="loop")
    report = check_assignment(dataclasses.replace(spec, mistakes=(), alternatives=(posing,)), REPOSITORY)
    (gap,) = report.gaps()
    assert gap.startswith("ps02_attention: causal_mask: correct alternative posing_as_alternative loses points:")


def test_reports_stub_with_solution(tmp_path):
    spec = load_assignment("ps02_attention")
    shutil.copytree(REPOSITORY / "release", tmp_path / "release")
    path = tmp_path / "release" / "ps02_attention" / "attention.ipynb"
    document = json.loads(path.read_text())
    for cell in document["cells"]:
        if cell["metadata"].get("nbgrader", {}).get("grade_id") == "causal_mask":
            cell["source"] = reference_sources(spec)["causal_mask"]
    path.write_text(json.dumps(document))
    report = check_assignment(dataclasses.replace(spec, mistakes=(), alternatives=()), tmp_path)
    assert report.gaps() == ["ps02_attention: causal_mask: the released stub scores 2 of 2 points"]


def test_validate_reports_failure(tmp_path):
    source = REPOSITORY / "source" / "ps02_attention" / "attention.ipynb"
    broken = tmp_path / "attention.ipynb"
    document = json.loads(source.read_text())
    for cell in document["cells"]:
        if cell["metadata"].get("nbgrader", {}).get("grade_id") == "causal_mask":
            cell["source"] = "def causal_mask(n_queries, n_keys=None):\n    return None\n"
    broken.write_text(json.dumps(document))
    results = validate_notebooks([source, broken])
    assert results[source][0], results[source][1]
    passed, output = results[broken]
    assert not passed
    assert "causal_mask" in output
