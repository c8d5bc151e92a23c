"""Check that the tests of every assignment are adequate.

Four properties, each of which a careless edit of ``source/`` or
``assignments/`` can break without any other test noticing:

1. every source notebook passes ``nbgrader validate`` (the reference
   solutions pass the visible and hidden tests in a real kernel);
2. the released stubs fail every graded function: grading the released
   notebook through the engine leaves each function below its maximum;
3. every catalogued mistake is caught by at least one hidden case of its
   function, so that a student cannot pass it by satisfying the visible
   asserts alone.  A mistake that only uses a banned operation is caught by
   the ban check instead;
4. every correct alternative of the catalogue gets full marks.
"""

from __future__ import annotations

import copy
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from . import runner
from .classroom import catalogue_cells
from .compare import compare_outcomes
from .grading import AssignmentGrader, _outcome_from_call
from .release import ReleaseError, run_nbgrader
from .submission import SubmissionError, load_submission, released_cell_sources

VALIDATE_SUCCESS = "Success! Your notebook passes all the tests."


@dataclass
class FunctionReport:
    """Adequacy of the tests of one graded function."""

    name: str
    max_score: float
    stub_score: float = 0.0
    # Catalogued mistake name -> how it is caught: "case N" for each hidden
    # case it fails, and "ban check".  The list is empty when nothing hidden catches it.
    mistakes: dict = field(default_factory=dict)
    # Correct alternative name -> "" when it gets full marks, else the feedback.
    alternatives: dict = field(default_factory=dict)

    @property
    def mistakes_caught(self) -> int:
        return sum(bool(caught) for caught in self.mistakes.values())

    @property
    def alternatives_accepted(self) -> int:
        return sum(not problem for problem in self.alternatives.values())

    def gaps(self) -> list:
        found = []
        if self.stub_score >= self.max_score:
            found.append(f"{self.name}: the released stub scores {self.stub_score:g} of {self.max_score:g} points")
        for name, caught in self.mistakes.items():
            if not caught:
                found.append(f"{self.name}: mistake {name} passes every hidden case; add a hidden case that it fails")
        for name, problem in self.alternatives.items():
            if problem:
                found.append(f"{self.name}: correct alternative {name} loses points:\n    " + problem.replace("\n", "\n    "))
        return found


@dataclass
class AssignmentReport:
    assignment: str
    notebook: str
    validated: bool = False
    validate_output: str = ""
    stub_error: str = ""
    functions: list = field(default_factory=list)

    def gaps(self) -> list:
        found = []
        if not self.validated:
            found.append(f"source/{self.assignment}/{self.notebook}: nbgrader validate failed:\n    "
                         + self.validate_output.strip().replace("\n", "\n    "))
        if self.stub_error:
            found.append(self.stub_error)
        for function in self.functions:
            found.extend(f"{self.assignment}: {gap}" for gap in function.gaps())
        return found

    def format(self) -> str:
        lines = [f"{self.assignment} ({self.notebook}): nbgrader validate {'passed' if self.validated else 'FAILED'}"]
        lines.append(f"  {'function':<24} {'stub score':>14} {'mistakes caught':>16} {'alternatives accepted':>22}")
        for function in self.functions:
            lines.append(
                f"  {function.name:<24} {f'{function.stub_score:g} of {function.max_score:g}':>14} "
                f"{f'{function.mistakes_caught} of {len(function.mistakes)}':>16} "
                f"{f'{function.alternatives_accepted} of {len(function.alternatives)}':>22}"
            )
        return "\n".join(lines)


def failing_hidden_cases(grader: AssignmentGrader, code_cells: list, function: str) -> list:
    """Return the numbers of the hidden cases of ``function`` that the code fails, trusted and in this process."""
    namespace = runner.new_namespace()
    runner.execute_cells(code_cells, set(), namespace, lambda *event: None)
    sources = dict(code_cells)
    failing = []
    for number, case in enumerate(grader.cases):
        if case.function != function or case.visible:
            continue
        args, kwargs = copy.deepcopy(case.args), copy.deepcopy(case.kwargs)
        outcome = _outcome_from_call(runner.call_case(namespace, function, args, kwargs, sources))
        if not compare_outcomes(outcome, grader.expected[number], case).passed:
            failing.append(number)
    return failing


def validate_notebooks(paths: list) -> dict:
    """Run ``nbgrader validate`` on each notebook in turn; return {path: (passed, output)}.

    Each run starts in an empty temporary folder, so no gradebook or course
    configuration is involved.
    """

    def validate(path: Path) -> tuple:
        with tempfile.TemporaryDirectory(prefix="validate-") as folder:
            try:
                completed = run_nbgrader(Path(folder), "validate", str(Path(path).resolve()))
            except ReleaseError as error:
                return False, str(error)
        output = completed.stdout + completed.stderr
        return VALIDATE_SUCCESS in output, output[-3000:]

    # Two at a time: each run starts a Jupyter kernel that runs every hidden case.
    # One at a time: two kernels started together can pick the same free port
    # (jupyter_client 8 chooses ports before binding them), which fails the run.
    return {path: validate(path) for path in paths}


def check_assignment(spec, course_root, validation: tuple = (True, "")) -> AssignmentReport:
    """Grade the released stubs and the catalogue of one assignment through the engine."""
    release = Path(course_root) / "release" / spec.assignment_id / f"{spec.notebook}.ipynb"
    report = AssignmentReport(spec.assignment_id, f"{spec.notebook}.ipynb", *validation)
    grader = AssignmentGrader(spec, str(release))
    names = set(spec.function_names)

    stub_scores = {}
    try:
        stub = load_submission(str(release), names, released_cell_sources(str(release), names))
        result = grader.grade_trusted_cells(stub.code_cells, student="released stub")
        stub_scores = {function.name: function.score for function in result.functions}
    except (OSError, SubmissionError) as error:
        report.stub_error = f"{release}: cannot grade the released notebook ({error})"

    for function in spec.functions:
        entry = FunctionReport(function.name, function.points, stub_scores.get(function.name, function.points))
        for mistake in (item for item in spec.mistakes if item.function == function.name):
            cells = catalogue_cells(spec, {function.name: mistake.source})
            graded = grader.grade_trusted_cells(cells).function(function.name)
            caught = [f"case {number}" for number in failing_hidden_cases(grader, cells, function.name)]
            if graded.status == "banned":
                caught.append("ban check")
            entry.mistakes[mistake.name] = caught
        for alternative in (item for item in spec.alternatives if item.function == function.name):
            graded = grader.grade_trusted_cells(catalogue_cells(spec, {function.name: alternative.source})).function(function.name)
            entry.alternatives[alternative.name] = "" if graded.score == graded.max_score else graded.feedback()
        report.functions.append(entry)
    return report


def check_adequacy(course_root, specs: list, validate: bool = True) -> list:
    """Return one :class:`AssignmentReport` per spec; ``validate=False`` skips nbgrader validate."""
    course_root = Path(course_root)
    notebooks = [course_root / "source" / spec.assignment_id / f"{spec.notebook}.ipynb" for spec in specs]
    missing = [path for path in notebooks if not path.is_file()]
    validation = {path: (False, f"{path} is missing") for path in missing}
    if validate:
        validation.update(validate_notebooks([path for path in notebooks if path.is_file()]))
    else:
        validation.update({path: (True, "not run") for path in notebooks if path.is_file()})
    return [check_assignment(spec, course_root, validation[path]) for spec, path in zip(specs, notebooks)]
