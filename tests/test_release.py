"""The release pipeline: regeneration, the staleness check, the summary and the CI workflow."""

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from autograder.classroom import reference_sources
from autograder.grading import load_assignment
from autograder.grading import assignment_ids
from autograder.release import compare_release, diff_notebooks

from conftest import ASSIGNMENTS, REPOSITORY, tool_environment

WORKFLOW = REPOSITORY / ".github" / "workflows" / "release.yml"
CLI_COMMANDS = ("release --check", "leaks", "adequacy", "bundle")


def run_cli(*arguments, course=REPOSITORY) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "autograder", "--course", str(course), *arguments],
        cwd=REPOSITORY,
        env=tool_environment(),
        capture_output=True,
        text=True,
        timeout=600,
    )


def cell_index(document, grade_id="test_stable_softmax"):
    return next(index for index, cell in enumerate(document["cells"]) if cell["metadata"].get("nbgrader", {}).get("grade_id") == grade_id)


@pytest.fixture
def stale_course(course, tmp_path) -> Path:
    """A copy of the course whose release/ has one changed cell, one extra file and one missing file."""
    copy = tmp_path / "course"
    shutil.copytree(course / "source", copy / "source")
    shutil.copy(REPOSITORY / "nbgrader_config.py", copy / "nbgrader_config.py")
    shutil.copytree(course / "release", copy / "release")

    notebook = copy / "release" / "ps02_attention" / "attention.ipynb"
    document = json.loads(notebook.read_text())
    document["cells"][cell_index(document)]["source"] = "assert True\n"
    notebook.write_text(json.dumps(document, indent=1) + "\n")
    (copy / "release" / "ps02_attention" / "notes.txt").write_text("left over\n")
    (copy / "release" / "ps01_span" / "span.ipynb").unlink()
    return copy


def test_committed_release_current():
    completed = run_cli("release", "--check")
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "release/ is current" in completed.stdout


def test_check_reports_stale_release(stale_course):
    completed = run_cli("release", "--check", course=stale_course)
    assert completed.returncode == 1, completed.stdout + completed.stderr
    output = completed.stdout
    assert "release/ps02_attention/attention.ipynb: differs from a fresh generation" in output
    index = cell_index(json.loads((REPOSITORY / "release" / "ps02_attention" / "attention.ipynb").read_text()))
    assert f"cell {index} (grade_id test_stable_softmax): source differs" in output
    assert "-assert True" in output
    assert "release/ps02_attention/notes.txt: not generated from source/ (regeneration removes it)" in output
    assert "release/ps01_span/span.ipynb: missing from the committed release (regeneration adds it)" in output
    assert "release/ is stale: 3 file(s) differ" in completed.stderr


def test_release_regenerates_identically(stale_course, course):
    completed = run_cli("release", course=stale_course)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "release/ regenerated: 3 file(s) changed" in completed.stdout
    # Two separate nbgrader runs (the fixture's and this one) give the same bytes.
    assert compare_release(stale_course / "release", course / "release") == []
    assert compare_release(stale_course / "release", REPOSITORY / "release") == []
    assert not (stale_course / "gradebook.db").exists()


def test_release_refuses_leaky_generation(course, tmp_path):
    copy = tmp_path / "course"
    shutil.copytree(course / "source", copy / "source")
    shutil.copytree(REPOSITORY / "solutions", copy / "solutions")
    shutil.copy(REPOSITORY / "nbgrader_config.py", copy / "nbgrader_config.py")
    shutil.copytree(course / "release", copy / "release")
    # A public cell that holds the reference implementation, as a careless edit might add.
    notebook = copy / "source" / "ps02_attention" / "attention.ipynb"
    document = json.loads(notebook.read_text())
    reference = reference_sources(load_assignment("ps02_attention"))["stable_softmax"]
    document["cells"].insert(5, {"cell_type": "code", "execution_count": None, "id": "pasted", "metadata": {}, "outputs": [], "source": reference})
    notebook.write_text(json.dumps(document, indent=1) + "\n")
    before = (copy / "release" / "ps02_attention" / "attention.ipynb").read_bytes()

    completed = run_cli("release", course=copy)
    assert completed.returncode == 1, completed.stdout + completed.stderr
    assert "release/ps02_attention/attention.ipynb: cell 5, line " in completed.stdout
    assert ": solutions/ code: " in completed.stdout
    assert "release/ was left unchanged" in completed.stderr
    assert (copy / "release" / "ps02_attention" / "attention.ipynb").read_bytes() == before


def test_notebook_diff_names_cells():
    committed = json.loads((REPOSITORY / "release" / "ps02_attention" / "attention.ipynb").read_text())
    changed = json.loads(json.dumps(committed))
    answer = cell_index(committed, "stable_softmax")
    removed = cell_index(committed, "causal_mask")
    del changed["cells"][removed]
    changed["cells"][answer]["metadata"]["nbgrader"]["points"] = 9
    details = diff_notebooks(json.dumps(committed).encode(), json.dumps(changed).encode())
    assert f"cell {answer} (grade_id stable_softmax): metadata.nbgrader.points differs" in details
    assert f"cell {removed} (grade_id causal_mask): not in the regenerated notebook (removed)" in details
    assert len(details) == 2


def test_summary_lists_every_function():
    completed = run_cli("release", "--summary")
    assert completed.returncode == 0, completed.stdout + completed.stderr
    output = completed.stdout
    for assignment_id in ASSIGNMENTS:
        spec = load_assignment(assignment_id)
        cases = spec.build_cases()
        total = sum(function.points for function in spec.functions)
        assert f"{assignment_id} ({spec.notebook}.ipynb): {len(spec.functions)} functions, {total:g} points" in output
        for function in spec.functions:
            hidden = sum(1 for case in cases if case.function == function.name and not case.visible)
            assert re.search(rf"^  {function.name} +{function.points:g} +{hidden} ", output, re.MULTILINE), function.name
            for group, points in function.groups:
                group_hidden = sum(1 for case in cases if case.function == function.name and case.group == group and not case.visible)
                assert re.search(rf"^    {re.escape(group)} +{points:g} +{group_hidden} ", output, re.MULTILINE), (function.name, group)


def test_spec_assignments_match_source():
    assert assignment_ids() == sorted(ASSIGNMENTS)
    assert sorted(path.name for path in (REPOSITORY / "source").iterdir() if path.is_dir()) == sorted(ASSIGNMENTS)


def test_workflow_runs_release_commands():
    workflow = yaml.safe_load(WORKFLOW.read_text())
    # YAML 1.1 reads the key "on" as True.
    triggers = workflow.get("on", workflow.get(True))
    assert "push" in triggers
    assert set(workflow["jobs"]) == {"release"}
    steps = workflow["jobs"]["release"]["steps"]
    uses = [step["uses"].split("@")[0] for step in steps if "uses" in step]
    assert uses[:2] == ["actions/checkout", "actions/setup-python"]
    commands = [step["run"].strip() for step in steps if "run" in step]
    setup = re.compile(r"^(make venv|python -m pip install .*)$")
    cli = re.compile(r"^\.venv/bin/python -m autograder (.+)$")
    for command in commands:
        assert "\n" not in command, command
        assert setup.match(command) or cli.match(command), f"unexpected command in {WORKFLOW.name}: {command}"
    assert [cli.match(command).group(1) for command in commands if cli.match(command)] == list(CLI_COMMANDS)
    assert commands.index("make venv") < commands.index(".venv/bin/python -m autograder release --check")
