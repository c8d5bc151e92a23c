"""The student-side checks: the shipped files, their contents, and what check() and hint() print."""

import copy
import json
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import nbformat
import numpy as np
import pytest

from autograder import runner
from autograder.classroom import StudentRecipe, build_notebook, reference_sources
from autograder.compare import compare_outcomes
from autograder.grading import AssignmentGrader, _outcome_from_call, load_assignment
from autograder.leaks import load_secrets, scan_bytes
from autograder.student_files import (
    FILE_NAMES,
    MODULE_FILE_NAME,
    build_data,
    build_module_text,
    build_student_files,
    compare_student_files,
    render_data,
)
from autograder.student_runtime import DATA_FILE_NAME, VisibleChecks, decode_value, encode_value
from autograder.submission import load_submission, released_cell_sources

from conftest import ASSIGNMENTS, REPOSITORY

# Runs in a fresh interpreter without the autograder package: checks every
# graded function, defined from the reference source, and prints one JSON line.
RUN_CHECKS = textwrap.dedent(
    """
    import contextlib, io, json, os, sys
    sys.path.insert(0, os.getcwd())  # as a Jupyter kernel started in the notebook's folder
    import visible_checks
    namespace = {"__name__": "__main__"}
    exec(compile(open(sys.argv[1]).read(), "reference.py", "exec"), namespace)
    printed = {}
    for name in visible_checks._assignment_checks().functions:
        output = io.StringIO()
        with contextlib.redirect_stdout(output):
            visible_checks.check(name, namespace[name])
        printed[name] = output.getvalue()
    print(json.dumps({"printed": printed, "autograder": any(m.startswith("autograder") for m in sys.modules)}))
    """
)


@pytest.fixture(scope="module")
def checks():
    return {assignment_id: VisibleChecks(build_data(load_assignment(assignment_id))) for assignment_id in ASSIGNMENTS}


@pytest.fixture(scope="module")
def graders():
    return {assignment_id: AssignmentGrader(load_assignment(assignment_id)) for assignment_id in ASSIGNMENTS}


def namespace_with(spec, implementations: dict) -> dict:
    """Return a namespace holding the reference functions, with ``implementations`` in place of some."""
    sources = reference_sources(spec, frozenset(implementations))
    sources.update(implementations)
    namespace = {"np": np, "__name__": "__main__"}
    for name, source in sources.items():
        exec(compile(source, f"<{name}>", "exec"), namespace)
    return namespace


def test_committed_files_current():
    stale = compare_student_files(REPOSITORY)
    assert stale == [], "\n".join(entry.format() for entry in stale) + "\nrun python -m autograder student-files"


@pytest.mark.parametrize("assignment_id", ASSIGNMENTS)
def test_release_ships_student_files(assignment_id):
    for name in FILE_NAMES:
        source = REPOSITORY / "source" / assignment_id / name
        released = REPOSITORY / "release" / assignment_id / name
        assert released.read_bytes() == source.read_bytes(), f"{released} differs from {source}"


def test_builder_deterministic():
    for assignment_id in ASSIGNMENTS:
        assert build_student_files(assignment_id) == build_student_files(assignment_id)


@pytest.mark.parametrize("assignment_id", ASSIGNMENTS)
def test_student_files_leak_free(assignment_id):
    secrets = load_secrets(REPOSITORY)
    for name, text in build_student_files(assignment_id).items():
        findings = scan_bytes(f"source/{assignment_id}/{name}", text.encode(), secrets)
        assert findings == [], "\n".join(finding.format() for finding in findings)


@pytest.mark.parametrize("assignment_id", ASSIGNMENTS)
def test_module_has_no_reference_lines(assignment_id):
    spec = load_assignment(assignment_id)
    reference = (REPOSITORY / "solutions" / f"{assignment_id}.py").read_text()
    released = (REPOSITORY / "release" / assignment_id / f"{spec.notebook}.ipynb").read_text()
    # Lines long enough to identify the reference, less those the released notebook shows anyway.
    private = {
        line.strip() for line in reference.splitlines()
        if len(line.strip()) >= 20 and json.dumps(line.strip())[1:-1] not in released
    }
    module = build_module_text()
    data = build_student_files(assignment_id)[DATA_FILE_NAME]
    for text in (module, data):
        found = sorted(line for line in private if line in text)
        assert found == [], f"reference lines of {spec.reference_module} shipped: {found[:5]}"


@pytest.mark.parametrize("assignment_id", ASSIGNMENTS)
def test_data_holds_only_visible_cases(assignment_id, graders):
    spec = load_assignment(assignment_id)
    grader = graders[assignment_id]
    data = json.loads(build_student_files(assignment_id)[DATA_FILE_NAME])
    assert [entry["name"] for entry in data["functions"]] == list(spec.function_names)

    for entry in data["functions"]:
        cases = [case for case in grader.cases if case.function == entry["name"]]
        visible = [case for case in cases if case.visible]
        assert [case["description"] for case in entry["cases"]] == [case.description for case in visible]
        assert entry["hidden_groups"] == [
            group for group, _ in spec.function(entry["name"]).groups
            if any(case.group == group and not case.visible for case in cases)
        ]

        # No shipped input or result equals an input of a hidden case, unless a visible case shows it too.
        visible_inputs = [value for case in grader.cases if case.visible for value in (*case.args, *case.kwargs.values())]
        hidden_inputs = [
            np.asarray(value) for case in grader.cases if not case.visible
            for value in (*case.args, *case.kwargs.values()) if np.asarray(value).size >= 3
        ]
        shipped = [decode_value(item) for case in entry["cases"] for item in (*case["args"], *case["kwargs"].values())]
        shipped += [decode_value(case["expected"]["value"]) for case in entry["cases"] if case["expected"]["status"] == "returned"]
        for value in shipped:
            for part in value if isinstance(value, tuple) else (value,):
                array = np.asarray(part)
                if array.dtype.kind not in "biuf" or array.size < 3:
                    continue
                for hidden in hidden_inputs:
                    same = hidden.shape == array.shape and np.array_equal(hidden, array, equal_nan=True)
                    public = any(np.asarray(shown).shape == array.shape and np.array_equal(np.asarray(shown), array, equal_nan=True)
                                 for shown in visible_inputs)
                    assert not same or public, f"{entry['name']}: a shipped array equals a hidden input"


def test_expected_errors_carry_no_reference_message():
    for assignment_id in ASSIGNMENTS:
        data = json.loads(build_student_files(assignment_id)[DATA_FILE_NAME])
        for entry in data["functions"]:
            for case in entry["cases"]:
                if case["expected"]["status"] == "raised":
                    assert set(case["expected"]["error"]) == {"type", "module"}


def test_values_round_trip():
    values = [
        None, True, 3, -0.0, float("nan"), float("-inf"), "text", [1, [2, 3]], (1.5, np.int64(6)),
        np.array([[1.0, np.nan], [np.inf, -2.5]]), np.array([True, False]), np.zeros((0, 3)), np.float64(2.0),
        np.arange(6, dtype=np.int32).reshape(2, 3),
    ]
    for value in values:
        text = json.dumps(encode_value(value), allow_nan=False)
        decoded = decode_value(json.loads(text))
        assert type(decoded) is type(value), value
        if isinstance(value, np.ndarray):
            assert decoded.dtype == value.dtype
            assert decoded.shape == value.shape
            np.testing.assert_array_equal(decoded, value)
        elif isinstance(value, float) and np.isnan(value):
            assert np.isnan(decoded)
        else:
            assert decoded == value


def test_render_puts_arrays_on_one_line():
    text = render_data({"value": encode_value(np.arange(12.0).reshape(3, 4))})
    assert '"shape": [3, 4]' in text
    assert '"data": [[0.0, 1.0, 2.0, 3.0], [4.0, 5.0, 6.0, 7.0], [8.0, 9.0, 10.0, 11.0]]' in text
    assert decode_value(json.loads(text)["value"]).shape == (3, 4)


@pytest.mark.parametrize("assignment_id", ASSIGNMENTS)
def test_module_runs_without_autograder(assignment_id, tmp_path):
    for name in FILE_NAMES:
        shutil.copy(REPOSITORY / "release" / assignment_id / name, tmp_path / name)
    script = tmp_path / "run_checks.py"
    script.write_text(RUN_CHECKS)
    completed = subprocess.run(
        [sys.executable, "-I", str(script), str(REPOSITORY / "solutions" / f"{assignment_id}.py")],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    report = json.loads(completed.stdout.strip().splitlines()[-1])
    assert report["autograder"] is False
    spec = load_assignment(assignment_id)
    for name in spec.function_names:
        printed = report["printed"][name]
        assert f"{name} passed all" in printed, printed
        assert "does not guarantee full marks" in printed, printed
        assert "hidden cases" in printed, printed


@pytest.mark.parametrize("assignment_id", ASSIGNMENTS)
def test_check_agrees_with_grader(assignment_id, checks, graders):
    """On the visible cases, check() gives every mistake the grader's verdicts and misconception."""
    spec = load_assignment(assignment_id)
    grader = graders[assignment_id]
    for entry in spec.mistakes:
        namespace = namespace_with(spec, {entry.function: entry.source})
        report = checks[assignment_id].check(entry.function, namespace[entry.function])

        visible = [number for number, case in enumerate(grader.cases) if case.function == entry.function and case.visible]
        outcomes = {}
        for number in visible:
            case = grader.cases[number]
            args, kwargs = copy.deepcopy(case.args), copy.deepcopy(case.kwargs)
            outcomes[number] = _outcome_from_call(runner.call_case(namespace, entry.function, args, kwargs, {}))
        verdicts = [compare_outcomes(outcomes[number], grader.expected[number], grader.cases[number]) for number in visible]
        assert [result.verdict.problem for result in report.results] == [verdict.problem for verdict in verdicts], entry.name
        for result, verdict, number in zip(report.results, verdicts, visible):
            if verdict.problem == "raised":
                # Only the location differs: the student's cell in place of the grader's cell number.
                error = outcomes[number].error
                assert (result.outcome.error["type"], result.outcome.error["message"]) == (error["type"], error["message"])
            else:
                assert result.verdict.message == verdict.message, entry.name

        failures = [(number, outcomes[number]) for number, verdict in zip(visible, verdicts) if not verdict.passed]
        matched = grader._match_misconception(entry.function, failures) if failures else None
        shown = report.misconception["name"] if report.misconception else None
        assert shown == (matched.name if matched else None), entry.name


def test_mistakes_caught_by_visible_cases_are_named(checks):
    """A mistake that fails a visible case is named, unless another mistake gives the same results there."""
    spec = load_assignment("ps02_attention")
    named = {}
    for entry in spec.mistakes:
        report = checks["ps02_attention"].check(entry.function, namespace_with(spec, {entry.function: entry.source})[entry.function])
        if report.failed:
            named[entry.name] = report.misconception["name"] if report.misconception else None
    assert named["mha_without_output_projection"] == "mha_without_output_projection"
    assert named["fully_masked_rows_give_nan"] == "fully_masked_rows_give_nan"
    assert all(named.values()), named


def test_report_for_reference(checks):
    spec = load_assignment("ps02_attention")
    namespace = namespace_with(spec, {})
    report = checks["ps02_attention"].check("stable_softmax", namespace["stable_softmax"])
    text = report.format()
    assert report.passed
    assert text.startswith("stable_softmax passed all 4 visible cases.")
    assert "fully masked rows" in text
    assert "extreme values" in text
    assert "does not guarantee full marks" in text
    assert "Likely misconception" not in text


def test_report_for_stub_and_missing(checks):
    def stable_softmax(scores, axis=-1, mask=None):
        raise NotImplementedError()

    stub = checks["ps02_attention"].check("stable_softmax", stable_softmax)
    assert not stub.passed
    assert "is not implemented yet" in stub.format()
    missing = checks["ps02_attention"].check("causal_mask", None)
    assert not missing.passed
    assert missing.results == []
    assert "causal_mask is not defined yet" in missing.format()
    not_callable = checks["ps02_attention"].check("causal_mask", 3)
    assert "is not a function but a int" in not_callable.format()


def test_report_locates_student_line(checks, tmp_path):
    # traceback reads the line from the file, as it reads a cell's line from IPython's cache.
    path = tmp_path / "student_cell.py"
    path.write_text("def causal_mask(n_queries, n_keys=None):\n    width = n_keys + 1\n    return width\n")
    namespace = {}
    exec(compile(path.read_text(), str(path), "exec"), namespace)
    report = checks["ps02_attention"].check("causal_mask", namespace["causal_mask"])
    message = report.results[0].verdict.message
    assert message.startswith("raised TypeError: unsupported operand"), message
    assert "(cell student_cell.py, line 2: width = n_keys + 1)" in message
    assert "If you are stuck, run hint(\"causal_mask\")" in report.format()


def test_report_for_banned_operator(checks, tmp_path):
    # inspect needs the source in a file, as IPython keeps each cell's source.
    path = tmp_path / "student_cell.py"
    path.write_text("import numpy as np\n\ndef combine_values(weights, V):\n    return np.asarray(weights, dtype=float) @ np.asarray(V, dtype=float)\n")
    namespace = {}
    exec(compile(path.read_text(), str(path), "exec"), namespace)
    report = checks["ps02_attention"].check("combine_values", namespace["combine_values"])
    assert report.failed == []
    assert not report.passed
    assert report.banned == ["the @ operator (line 2 of combine_values)"]
    text = report.format()
    assert "the grader will not count them" in text
    assert "combine_values must not use the @ operator" in text
    assert "Rewrite combine_values without them" in text
    assert "Fix the first failing case first" not in text


def test_report_notes_warnings(checks):
    spec = load_assignment("ps02_attention")
    namespace = namespace_with(spec, {})
    reference = namespace["causal_mask"]

    def causal_mask(n_queries, n_keys=None):
        np.log(np.zeros(1))  # RuntimeWarning: divide by zero
        return reference(n_queries, n_keys)

    report = checks["ps02_attention"].check("causal_mask", causal_mask)
    assert report.passed
    text = " ".join(report.format().split())
    assert "emitted 2 warning(s)" in text
    assert 'such as "RuntimeWarning: divide by zero encountered in log"' in text


def test_hints_read_as_hints(checks):
    for assignment_id in ASSIGNMENTS:
        spec = load_assignment(assignment_id)
        for name in spec.function_names:
            text = checks[assignment_id].hint(name)
            sentences = [part for part in re.split(r"(?<=[.!?])\s+", text) if part]
            assert 2 <= len(sentences) <= 3, f"{name}: {text}"


def test_unknown_function_rejected(checks):
    with pytest.raises(ValueError, match="not a graded function of ps02_attention"):
        checks["ps02_attention"].check("softmax", lambda scores: scores)
    with pytest.raises(ValueError, match="the graded functions are stable_softmax, causal_mask"):
        checks["ps02_attention"].hint("softmax")


@pytest.mark.parametrize("assignment_id", ASSIGNMENTS)
def test_grader_skips_check_import(assignment_id, tmp_path):
    """The sandbox cannot import visible_checks, so a released setup cell runs without that import."""
    spec = load_assignment(assignment_id)
    release = REPOSITORY / "release" / assignment_id / f"{spec.notebook}.ipynb"
    notebook = build_notebook(str(release), spec, StudentRecipe("student", "reference"))
    path = tmp_path / f"{spec.notebook}.ipynb"
    nbformat.write(notebook, str(path))
    submission = load_submission(str(path), set(spec.function_names), released_cell_sources(str(release), set(spec.function_names)))
    code = "\n".join(source for _, source in submission.code_cells)
    assert "import numpy as np" in code
    assert "visible_checks" not in code
    assert "check(" not in code


@pytest.mark.parametrize("assignment_id", ASSIGNMENTS)
def test_check_cell_follows_each_answer(assignment_id):
    spec = load_assignment(assignment_id)
    notebook = nbformat.read(REPOSITORY / "release" / assignment_id / f"{spec.notebook}.ipynb", as_version=4)
    cells = notebook.cells
    assert "from visible_checks import check, hint" in cells[1].source
    for index, cell in enumerate(cells):
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in spec.function_names:
            assert cells[index + 1].source == f'check("{grade_id}")', grade_id
            assert cells[index + 2].metadata["nbgrader"]["grade_id"] == f"test_{grade_id}"


def execute(notebook, folder: Path):
    """Run every cell of ``notebook`` in a kernel whose working folder is ``folder``, continuing after errors."""
    from nbclient import NotebookClient

    client = NotebookClient(notebook, timeout=120, kernel_name="python3", allow_errors=True,
                            resources={"metadata": {"path": str(folder)}})
    client.execute()
    return notebook


def output_text(cell) -> str:
    return "".join(output.get("text", "") for output in cell.outputs if output.output_type == "stream")


@pytest.mark.timeout(300)
@pytest.mark.parametrize("assignment_id", ASSIGNMENTS)
def test_released_notebook_runs(assignment_id, tmp_path):
    """With stubs, each check prints the next step and each figure its fallback; with the reference, all pass and draw."""
    spec = load_assignment(assignment_id)
    release = REPOSITORY / "release" / assignment_id
    for name in FILE_NAMES:
        shutil.copy(release / name, tmp_path / name)

    stubs = execute(nbformat.read(release / f"{spec.notebook}.ipynb", as_version=4), tmp_path)
    solved = execute(build_notebook(str(release / f"{spec.notebook}.ipynb"), spec, StudentRecipe("student", "reference")), tmp_path)

    figure_cells = [index for index, cell in enumerate(stubs.cells) if cell.cell_type == "code" and "plt.show()" in cell.source]
    assert figure_cells
    for index, cell in enumerate(stubs.cells):
        if cell.cell_type != "code":
            continue
        errors = [output.ename for output in cell.outputs if output.output_type == "error"]
        nbgrader = cell.metadata.get("nbgrader", {})
        if nbgrader.get("grade") or nbgrader.get("solution"):
            continue
        assert errors == [], f"cell {index} raised {errors} with the stubs"
        if cell.source.startswith('check("'):
            assert "is not implemented yet" in output_text(cell), output_text(cell)
    for index in figure_cells:
        assert output_text(stubs.cells[index]).startswith("Implement "), output_text(stubs.cells[index])

    for index, cell in enumerate(solved.cells):
        if cell.cell_type != "code":
            continue
        assert [output.ename for output in cell.outputs if output.output_type == "error"] == [], f"cell {index}"
        if cell.source.startswith('check("'):
            assert " passed all " in output_text(cell), output_text(cell)
    for index in figure_cells:
        images = [output for output in solved.cells[index].outputs if "image/png" in output.get("data", {})]
        assert len(images) == 1, f"figure cell {index} drew {len(images)} images"
        assert output_text(solved.cells[index]) == ""
