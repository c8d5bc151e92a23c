"""The leak scan: the committed release is clean, and every planted kind of leak is found and located."""

import inspect
import io
import json
import shutil
import subprocess
import sys
import zipfile

import numpy as np
import pytest

from autograder.classroom import reference_sources
from autograder.grading import load_assignment
from autograder.leaks import HIDDEN_BEGIN, HIDDEN_END, load_secrets, scan_bytes, scan_paths, split_regions

from conftest import REPOSITORY, tool_environment

NOTEBOOK = "release/ps02_attention/attention.ipynb"


@pytest.fixture(scope="module")
def secrets():
    return load_secrets(REPOSITORY)


@pytest.fixture(scope="module")
def spec():
    return load_assignment("ps02_attention")


@pytest.fixture
def release_copy(tmp_path):
    shutil.copytree(REPOSITORY / "release", tmp_path / "release")
    return tmp_path


def edit_notebook(root, edit):
    path = root / NOTEBOOK
    document = json.loads(path.read_text())
    edit(document["cells"])
    path.write_text(json.dumps(document, indent=1))


def text_of(cell):
    source = cell["source"]
    return "".join(source) if isinstance(source, list) else source


def appended(cell, text):
    return text_of(cell) + "\n" + text


def release_cells():
    return json.loads((REPOSITORY / NOTEBOOK).read_text())["cells"]


def index_of(grade_id):
    """Return the index of the cell with ``grade_id`` (source and release notebooks share it)."""
    return next(index for index, cell in enumerate(release_cells()) if cell["metadata"].get("nbgrader", {}).get("grade_id") == grade_id)


def first_plain(cell_type):
    """Return the index of the first cell of ``cell_type`` without nbgrader metadata."""
    return next(index for index, cell in enumerate(release_cells()) if cell["cell_type"] == cell_type and "nbgrader" not in cell["metadata"])


def source_cell(grade_id):
    return json.loads((REPOSITORY / "source" / "ps02_attention" / "attention.ipynb").read_text())["cells"][index_of(grade_id)]


def hidden_arrays(spec):
    """Return (case number, array) for the hidden cases whose first input is a random float array."""
    found = []
    for number, case in enumerate(spec.build_cases()):
        value = case.args[0] if case.args else None
        if not case.visible and isinstance(value, np.ndarray) and value.dtype.kind == "f" and value.size >= 10 and np.isfinite(value).all():
            found.append((number, value))
    assert len(found) >= 3, "the tests need three hidden cases with random float inputs"
    return found


def located(findings, path, location, kind):
    return [finding for finding in findings if finding.path == path and finding.location.startswith(location) and finding.kind == kind]


def test_committed_release_clean(secrets):
    findings = scan_paths([REPOSITORY / "release"], secrets, relative_to=REPOSITORY)
    assert findings == [], "\n".join(finding.format() for finding in findings)


def test_cli_exit_status(release_copy):
    command = [sys.executable, "-m", "autograder", "--course", str(REPOSITORY), "leaks"]
    clean = subprocess.run(command + [str(release_copy / "release")], capture_output=True, text=True, env=tool_environment(), timeout=120)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "no leaks found" in clean.stdout
    code = first_plain("code")
    edit_notebook(release_copy, lambda cells: cells[code].update(execution_count=7))
    leaky = subprocess.run(command + [str(release_copy / "release")], capture_output=True, text=True, env=tool_environment(), timeout=120)
    assert leaky.returncode == 1
    assert f"cell {code}: execution count: execution_count is 7" in leaky.stdout
    assert "1 leak(s) found in 1 file(s)" in leaky.stdout


def test_finds_solution_region(release_copy, secrets):
    # The answer cell of the source, markers removed, in place of the stub.
    answer = index_of("stable_softmax")
    solution = text_of(source_cell("stable_softmax")).replace("### BEGIN SOLUTION", "").replace("### END SOLUTION", "")
    edit_notebook(release_copy, lambda cells: cells[answer].update(source=solution))
    findings = scan_paths([release_copy / "release"], secrets, relative_to=release_copy)
    hits = located(findings, NOTEBOOK, f"cell {answer} (grade_id stable_softmax), line ", "solution code")
    assert len(hits) == 1, findings
    assert f"the solution region of cell {answer} (grade_id stable_softmax) of source/ps02_attention/attention.ipynb" in hits[0].detail


def test_finds_hidden_tests(release_copy, secrets):
    test = index_of("test_stable_softmax")
    (hidden,), _ = split_regions(text_of(source_cell("test_stable_softmax")), HIDDEN_BEGIN, HIDDEN_END)
    edit_notebook(release_copy, lambda cells: cells[test].update(source=appended(cells[test], "\n".join(hidden))))
    findings = scan_paths([release_copy / "release"], secrets, relative_to=release_copy)
    assert located(findings, NOTEBOOK, f"cell {test} (grade_id test_stable_softmax), line ", "hidden test"), findings
    assert {finding.kind for finding in findings} == {"hidden test"}


def test_finds_marker(release_copy, secrets):
    test = index_of("test_stable_softmax")
    edit_notebook(release_copy, lambda cells: cells[test].update(source=appended(cells[test], HIDDEN_BEGIN)))
    findings = scan_paths([release_copy / "release"], secrets, relative_to=release_copy)
    assert located(findings, NOTEBOOK, f"cell {test} (grade_id test_stable_softmax), line ", "nbgrader marker"), findings


def test_finds_solutions_code(release_copy, secrets):
    import solutions.ps02_attention

    # The reference's numpydoc docstring appears only in solutions/, never in source/.
    reference = inspect.getsource(solutions.ps02_attention.stable_softmax)
    markdown = first_plain("markdown")
    edit_notebook(release_copy, lambda cells: cells[markdown].update(source=appended(cells[markdown], reference)))
    findings = scan_paths([release_copy / "release"], secrets, relative_to=release_copy)
    hits = located(findings, NOTEBOOK, f"cell {markdown}, line ", "solutions/ code")
    assert hits, findings
    assert "solutions/ps02_attention.py" in hits[0].detail


def test_finds_reformatted_code(release_copy, secrets, spec):
    # Whitespace changes (indentation, spaces around operators) do not hide copied code.
    lines = reference_sources(spec)["attention_weights"].splitlines()
    reformatted = "\n".join(" ".join(line.replace(" = ", "=").split()) for line in lines)
    edit_notebook(release_copy, lambda cells: cells.insert(1, {"cell_type": "markdown", "id": "planted", "metadata": {}, "source": reformatted}))
    findings = scan_paths([release_copy / "release"], secrets, relative_to=release_copy)
    assert located(findings, NOTEBOOK, "cell 1, line ", "solutions/ code"), findings


def test_finds_alternative(release_copy, secrets, spec):
    entry = next(item for item in spec.alternatives if item.function == "stable_softmax")
    answer = index_of("stable_softmax")
    edit_notebook(release_copy, lambda cells: cells[answer].update(source=entry.source))
    findings = scan_paths([release_copy / "release"], secrets, relative_to=release_copy)
    hits = located(findings, NOTEBOOK, f"cell {answer} (grade_id stable_softmax), line ", "correct alternative")
    assert hits, findings
    assert entry.name in hits[0].detail


def test_finds_printed_hidden_input(release_copy, secrets, spec):
    number, value = hidden_arrays(spec)[0]
    code = first_plain("code")
    output = {"output_type": "stream", "name": "stdout", "text": repr(value) + "\n"}
    edit_notebook(release_copy, lambda cells: cells[code].update(outputs=[output]))
    findings = scan_paths([release_copy / "release"], secrets, relative_to=release_copy)
    assert located(findings, NOTEBOOK, f"cell {code}", "cell output"), findings
    hits = located(findings, NOTEBOOK, f"cell {code}, output 0, line 1", "hidden case data")
    assert hits, findings
    assert any(f"ps02_attention case {number} of " in hit.detail for hit in hits), hits


def test_finds_rounded_hidden_input(release_copy, secrets, spec):
    # Printed with 4 decimals and without numpy's layout: found as a run of numbers.
    number, value = hidden_arrays(spec)[1]
    values = [item for item in value.ravel() if abs(item) >= 0.1][:5]
    text = "Scores used by the grader: " + ", ".join(f"{item:.4f}" for item in values)
    markdown = first_plain("markdown")
    edit_notebook(release_copy, lambda cells: cells[markdown].update(source=appended(cells[markdown], text)))
    findings = scan_paths([release_copy / "release"], secrets, relative_to=release_copy)
    hits = located(findings, NOTEBOOK, f"cell {markdown}, line ", "hidden case data")
    assert hits, findings
    assert any(f"ps02_attention case {number} of " in hit.detail for hit in hits), hits


def test_visible_input_not_reported(release_copy, secrets, spec):
    case = next(case for case in spec.build_cases() if case.visible and np.asarray(case.args[0]).size > 3)
    code = first_plain("code")
    output = {"output_type": "stream", "name": "stdout", "text": repr(np.asarray(case.args[0])) + "\n"}
    edit_notebook(release_copy, lambda cells: cells[code].update(outputs=[output]))
    findings = scan_paths([release_copy / "release"], secrets, relative_to=release_copy)
    assert [finding.kind for finding in findings] == ["cell output"]


def test_finds_outputs_and_counts(release_copy, secrets):
    test = index_of("test_causal_mask")
    output = {"output_type": "execute_result", "execution_count": 2, "metadata": {}, "data": {"text/plain": "3"}}
    edit_notebook(release_copy, lambda cells: cells[test].update(outputs=[output], execution_count=2))
    findings = scan_paths([release_copy / "release"], secrets, relative_to=release_copy)
    assert located(findings, NOTEBOOK, f"cell {test} (grade_id test_causal_mask)", "cell output")
    assert located(findings, NOTEBOOK, f"cell {test} (grade_id test_causal_mask)", "execution count")
    assert len(findings) == 2, findings


def test_finds_leak_in_any_file(release_copy, secrets, spec):
    # Supporting files next to the notebooks, such as a student-side checker and its data.
    body = reference_sources(spec)["multi_head_attention"]
    (release_copy / "release" / "ps02_attention" / "extra.py").write_text("import numpy as np\n\n\n" + body)
    number, value = hidden_arrays(spec)[0]
    (release_copy / "release" / "ps02_attention" / "data.npy").write_bytes(b"\x93NUMPY\x00" + value.astype(float).tobytes())
    findings = scan_paths([release_copy / "release"], secrets, relative_to=release_copy)
    assert located(findings, "release/ps02_attention/extra.py", "line 4", "solutions/ code"), findings
    hits = located(findings, "release/ps02_attention/data.npy", "byte 7", "hidden case data")
    assert hits, findings
    # Another case may have the same data (the same seed), so any of the hits may name it.
    assert any(f"ps02_attention case {number} of " in hit.detail for hit in hits), hits


def test_finds_leak_in_json(release_copy, secrets, spec):
    # Case data stored for a student-side checker, as a flat list of floats.
    number, value = hidden_arrays(spec)[2]
    document = {"cases": [{"args": [{"shape": list(value.shape), "data": value.ravel().tolist()}]}]}
    (release_copy / "release" / "ps02_attention" / "cases.json").write_text(json.dumps(document, indent=1))
    findings = scan_paths([release_copy / "release"], secrets, relative_to=release_copy)
    hits = located(findings, "release/ps02_attention/cases.json", "line ", "hidden case data")
    assert hits, findings
    assert any(f"ps02_attention case {number} of " in hit.detail for hit in hits), hits


def test_finds_leak_in_zip(secrets, spec):
    notebook = json.loads((REPOSITORY / NOTEBOOK).read_text())
    answer = index_of("attention_weights")
    notebook["cells"][answer]["source"] = reference_sources(spec)["attention_weights"]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("course/ps02_attention/attention.ipynb", json.dumps(notebook))
        archive.writestr("course/requirements.txt", "numpy\n")
    findings = scan_bytes("dist/course-student.zip", buffer.getvalue(), secrets)
    path = "dist/course-student.zip!course/ps02_attention/attention.ipynb"
    assert located(findings, path, f"cell {answer} (grade_id attention_weights), line ", "solution code"), findings
    assert {finding.path for finding in findings} == {path}


def feedback_page(code: str) -> str:
    """A page shaped like nbconvert's classic HTML: highlighted code split into spans."""
    highlighted = "\n".join(
        " ".join(f'<span class="n">{word.replace("&", "&amp;").replace("<", "&lt;")}</span>' for word in line.split(" "))
        for line in code.splitlines()
    )
    return (
        "<html><head><style>.n { color: black; }\ndiv { margin: 0 }</style></head><body>\n"
        '<div class="cell border-box-sizing code_cell rendered" id="cell-id=code-02">\n<pre>import numpy as np</pre>\n</div>\n'
        '<div class="cell border-box-sizing code_cell rendered" id="cell-id=stable_softmax">\n'
        f'<div class="highlight"><pre><span></span>{highlighted}\n</pre></div>\n</div>\n</body></html>\n'
    )


def test_finds_leak_in_feedback(tmp_path, secrets):
    (hidden,), _ = split_regions(text_of(source_cell("test_stable_softmax")), HIDDEN_BEGIN, HIDDEN_END)
    page = tmp_path / "feedback" / "alice" / "ps02_attention" / "attention.html"
    page.parent.mkdir(parents=True)
    page.write_text(feedback_page("\n".join(hidden)))
    findings = scan_paths([tmp_path / "feedback"], secrets, relative_to=tmp_path)
    hits = located(findings, "feedback/alice/ps02_attention/attention.html", "cell 1 (id stable_softmax), line 7", "hidden test")
    assert hits, findings


def test_feedback_shows_own_code(tmp_path, secrets, spec):
    # The feedback of a student who wrote the reference solution shows it, which is no leak.
    code = reference_sources(spec)["stable_softmax"]
    page = tmp_path / "feedback" / "bob" / "ps02_attention" / "attention.html"
    page.parent.mkdir(parents=True)
    page.write_text(feedback_page(code))
    assert scan_paths([tmp_path / "feedback"], secrets, relative_to=tmp_path)

    submitted = tmp_path / "submitted" / "bob" / "ps02_attention"
    submitted.mkdir(parents=True)
    notebook = {"cells": [{"cell_type": "code", "metadata": {}, "source": code, "outputs": [], "execution_count": None}],
                "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    (submitted / "attention.ipynb").write_text(json.dumps(notebook))
    assert scan_paths([tmp_path / "feedback"], secrets, relative_to=tmp_path) == []
