"""Grade the hostile and damaged corpus (tests/corpus/) through the real sandbox.

Each entry becomes a student folder in a temporary copy of the course and
is graded with ``grade_student_folder`` in one sandbox shared by the module,
with short time limits.  Every entry must get its expected scores, reasons
and warnings, finish within the submission's time budget plus a small slack,
leave the course files it attacks unchanged, and leave no student process
behind.  The module needs root, because only then does the sandbox move
student code to a user and a root folder of its own.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from autograder.classroom import StudentRecipe, write_submission
from autograder.grading import (
    FunctionResult,
    GroupResult,
    SubmissionResult,
    grade_student_folder,
    grader_for,
    load_assignment,
)
from autograder.sandbox import Limits, Sandbox
from corpus import ANY, FULL, LESS, ZERO, corpus, hostile

REPOSITORY = Path(__file__).resolve().parents[1]
LIMITS = Limits(cell_seconds=2, call_seconds=1, submission_seconds=8)
# Time allowed beyond the submission budget for writing, reading and scoring one entry.
GRADING_SLACK_SECONDS = 4
VICTIM = "victim"
# The uids that this module's sandboxes gave their student processes, as
# each sandbox reports them; no process may be left running under them.
SANDBOX_UIDS: set = set()

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0, reason="the sandbox confines student code to its own user and root folder only when run as root"
)


def available_assignments() -> tuple:
    """Return the assignments whose source notebook exists."""
    found = []
    for assignment_id in ("ps01_span", "ps02_attention"):
        spec = load_assignment(assignment_id)
        if (REPOSITORY / "source" / assignment_id / f"{spec.notebook}.ipynb").is_file():
            found.append(assignment_id)
    return tuple(found)


ASSIGNMENTS = available_assignments()


def corpus_parameters() -> list:
    parameters = []
    for assignment_id in ASSIGNMENTS:
        for entry in corpus(load_assignment(assignment_id)):
            marks = [pytest.mark.xfail(strict=True, raises=entry.bug_raises, reason=entry.bug)] if entry.bug else []
            parameters.append(pytest.param(assignment_id, entry, id=f"{assignment_id}-{entry.id}", marks=marks))
    return parameters


# -- the course, the sandbox and the listeners ------------------------------------------------

BIN_DIRECTORY = Path(sys.executable).parent


def path_with_bin_directory() -> str:
    """Return PATH with the environment's bin folder first: nbgrader runs alembic from PATH to create a gradebook."""
    return f"{BIN_DIRECTORY}{os.pathsep}{os.environ.get('PATH', '')}"


def generate_release(course_root: Path, assignment_id: str) -> None:
    """Run ``nbgrader generate_assignment`` in the course copy, with the repository's source."""
    if not (course_root / "source").exists():
        shutil.copytree(REPOSITORY / "source", course_root / "source")
        shutil.copy(REPOSITORY / "nbgrader_config.py", course_root / "nbgrader_config.py")
    nbgrader = BIN_DIRECTORY / "nbgrader"
    command = [str(nbgrader)] if nbgrader.exists() else [sys.executable, "-m", "nbgrader"]
    completed = subprocess.run(
        command + ["generate_assignment", assignment_id, "--force"],
        cwd=course_root,
        env={**os.environ, "PATH": path_with_bin_directory()},
        capture_output=True,
        text=True,
        timeout=180,
    )
    if completed.returncode != 0:
        pytest.fail(f"nbgrader generate_assignment {assignment_id} failed:\n{completed.stdout[-3000:]}{completed.stderr[-3000:]}")


@pytest.fixture(scope="module")
def course_root(tmp_path_factory) -> Path:
    """A course folder with the release notebooks, a gradebook and one honest student."""
    root = tmp_path_factory.mktemp("course")
    for assignment_id in ASSIGNMENTS:
        spec = load_assignment(assignment_id)
        committed = REPOSITORY / "release" / assignment_id
        if (committed / f"{spec.notebook}.ipynb").is_file():
            shutil.copytree(committed, root / "release" / assignment_id)
        else:
            generate_release(root, assignment_id)
        write_submission(str(root), spec, StudentRecipe(VICTIM, "reference solution"))
    if not (root / "gradebook.db").exists():
        from nbgrader.api import Gradebook

        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("PATH", path_with_bin_directory())
            Gradebook(f"sqlite:///{root / 'gradebook.db'}").close()
    return root


@pytest.fixture(scope="module")
def sandbox():
    """One sandbox for the whole module, with short limits."""
    shared = Sandbox(LIMITS)
    SANDBOX_UIDS.add(shared.uid)
    yield shared
    shared.close()


@pytest.fixture(scope="module")
def listeners():
    """A TCP listener on 127.0.0.1 and an abstract Unix listener that no student may reach."""
    tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    tcp.bind(("127.0.0.1", 0))
    tcp.listen(8)
    tcp.setblocking(False)
    unix_name = f"autograder-corpus-{os.getpid()}"
    unix = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    unix.bind("\0" + unix_name)
    unix.listen(8)
    unix.setblocking(False)
    yield {"tcp": tcp, "unix": unix, "tcp_port": tcp.getsockname()[1], "unix_name": unix_name}
    tcp.close()
    unix.close()


# -- helpers ------------------------------------------------------------------------------------


def placeholders(course: Path, assignment_id: str, listening: dict) -> dict:
    """Return the values of the ``$name`` placeholders that corpus code may use."""
    notebook = load_assignment(assignment_id).notebook
    victim_relative = f"submitted/{VICTIM}/{assignment_id}/{notebook}.ipynb"
    return {
        "course": str(course),
        "repository": str(REPOSITORY),
        "assignment": assignment_id,
        "notebook": notebook,
        "gradebook": str(course / "gradebook.db"),
        "victim": str(course / victim_relative),
        "victim_relative": victim_relative,
        "grader_pid": str(os.getpid()),
        "tcp_port": str(listening["tcp_port"]),
        "unix_name": listening["unix_name"],
    }


def fill(text: str, values: dict) -> str:
    """Replace each known ``$name`` in ``text``, leaving any other ``$`` as it is."""
    pattern = re.compile(r"\$(" + "|".join(map(re.escape, values)) + r")\b")
    return pattern.sub(lambda match: values[match.group(1)], text)


def write_entry(course: Path, spec, entry, values: dict) -> Path:
    """Write the entry's submission under ``submitted/`` and return its folder."""
    recipe = StudentRecipe(
        entry.id,
        entry.summary,
        implementations={name: fill(source, values) for name, source in entry.implementations.items()},
        cells_before=[fill(code, values) for code in entry.cells_before],
        cells_after=[fill(code, values) for code in entry.cells_after],
        damage=entry.damage,
        raw_bytes=entry.raw_bytes,
        file_name=entry.file_name,
    )
    path = Path(write_submission(str(course), spec, recipe))
    for name in entry.extra_copies:
        shutil.copy(path, path.parent / name)
    return path.parent


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else "missing"


def sandbox_processes() -> list:
    """Return "pid (command)" of every live process whose real uid is in ``SANDBOX_UIDS``."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            status = Path(f"/proc/{name}/status").read_text()
        except OSError:  # the process ended while we looked
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        if int(fields.get("Uid", "-1 ").split()[0]) in SANDBOX_UIDS and "zombie" not in fields.get("State", ""):
            found.append(f"{name} ({fields.get('Name', '?').strip()})")
    return found


def wait_for_no_sandbox_process(seconds: float = 3.0) -> list:
    """Return the sandbox processes still alive after waiting up to ``seconds`` for them to end."""
    deadline = time.monotonic() + seconds
    while True:
        left = sandbox_processes()
        if not left or time.monotonic() >= deadline:
            return left
        time.sleep(0.05)


def pending_connection(listener: socket.socket) -> bool:
    try:
        connection, _ = listener.accept()
    except BlockingIOError:
        return False
    connection.close()
    return True


SUBPROCESS_GRADER = """
import json, resource, sys
from autograder.grading import grade_student_folder, grader_for
from autograder.sandbox import Limits, Sandbox

assignment_id, course_root, folder, student, limits = sys.argv[1:6]
grader = grader_for(assignment_id, course_root)
baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
with Sandbox(Limits(**json.loads(limits))) as sandbox:
    result = grade_student_folder(grader, folder, sandbox, student)
record = result.to_json()
record["sandbox_uid"] = sandbox.uid
record["rss_growth_kib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - baseline
print(json.dumps(record))
"""


def grade_in_subprocess(
    assignment_id: str, course: Path, folder: Path, student: str, environment: dict, limits: Limits = LIMITS
) -> tuple:
    """Grade a folder in a separate grader process.

    Returns the result and how much the grader's peak RSS grew while grading, in MiB.
    """
    limits_json = json.dumps({name: getattr(limits, name) for name in ("cell_seconds", "call_seconds", "submission_seconds")})
    completed = subprocess.run(
        [sys.executable, "-c", SUBPROCESS_GRADER, assignment_id, str(course), str(folder), student, limits_json],
        env={**os.environ, **environment},
        capture_output=True,
        timeout=90,
    )
    assert completed.returncode == 0, completed.stderr.decode("utf-8", "replace")[-3000:]
    record = json.loads(completed.stdout.decode("ascii").splitlines()[-1])
    SANDBOX_UIDS.add(record["sandbox_uid"])
    functions = [FunctionResult(**{**item, "groups": [GroupResult(**group) for group in item["groups"]]}) for item in record["functions"]]
    result_fields = ("assignment", "student", "notebook", "warnings", "error", "elapsed", "notes")
    result = SubmissionResult(functions=functions, **{name: record[name] for name in result_fields})
    return result, record["rss_growth_kib"] / 1024


def grade_entry(assignment_id: str, entry, course: Path, folder: Path, shared: Sandbox) -> SubmissionResult:
    if entry.locale:
        # A C locale without UTF-8 mode: the grader's and the student's default encoding is ASCII.
        locale_environment = {"LANG": entry.locale, "LC_ALL": entry.locale, "PYTHONUTF8": "0", "PYTHONCOERCECLOCALE": "0"}
        result, _ = grade_in_subprocess(assignment_id, course, folder, entry.id, locale_environment)
        return result
    return grade_student_folder(grader_for(assignment_id, str(course)), str(folder), shared, entry.id)


def contains_all(text: str, phrases: tuple) -> list:
    """Return the phrases missing from ``text`` (case-insensitive)."""
    return [phrase for phrase in phrases if phrase.lower() not in text.lower()]


# -- the corpus ------------------------------------------------------------------------------------


@pytest.mark.timeout(90)
@pytest.mark.parametrize("assignment_id, entry", corpus_parameters())
def test_corpus_entry(assignment_id, entry, course_root, sandbox, listeners):
    spec = load_assignment(assignment_id)
    values = placeholders(course_root, assignment_id, listeners)
    folder = write_entry(course_root, spec, entry, values)
    untouched = {path: digest(course_root / path) for path in (fill(name, values) for name in entry.untouched)}

    started = time.monotonic()
    result = grade_entry(assignment_id, entry, course_root, folder, sandbox)
    elapsed = time.monotonic() - started

    report = "\n".join(function.feedback() for function in result.functions)
    context = f"{entry.id}: {entry.summary}\nwarnings: {result.warnings}\nerror: {result.error}\nnotes: {result.notes}\n{report}"

    # Scores and reasons per function.
    for function in result.functions:
        expected = entry.scores.get(function.name, entry.others)
        got = f"{function.name} got {function.score:g} of {function.max_score:g}\n{context}"
        if expected == FULL:
            assert function.score == function.max_score, got
        elif expected == ZERO:
            assert function.score == 0, got
        elif expected == LESS:
            assert function.score < function.max_score, got
        elif expected != ANY:
            assert function.score == pytest.approx(float(expected)), got
        reasons = entry.reasons.get(function.name)
        if reasons:
            feedback = function.feedback().lower()
            assert any(phrase.lower() in feedback for phrase in reasons), f"none of {reasons} in the feedback of {function.name}\n{context}"

    # Warnings, the reason a file was unreadable, and notes.
    assert not contains_all("\n".join(result.warnings), entry.warnings), context
    if entry.error:
        assert result.error is not None, context
        assert not contains_all(result.error, entry.error), context
    else:
        assert result.error is None, context
    assert not contains_all("\n".join(result.notes), entry.notes), context

    # Files the submission attacked.
    for path, before in untouched.items():
        assert digest(course_root / path) == before, f"{path} changed\n{context}"
    for path in entry.absent:
        assert not (course_root / fill(path, values)).exists(), f"{path} was created\n{context}"

    # Time, connections and processes.
    if not entry.locale:  # a separate grader process also spends time starting up
        assert elapsed <= LIMITS.submission_seconds + GRADING_SLACK_SECONDS, f"took {elapsed:.1f} s\n{context}"
    assert not pending_connection(listeners["tcp"]), context
    assert not pending_connection(listeners["unix"]), context
    assert wait_for_no_sandbox_process() == [], context


# -- around the corpus --------------------------------------------------------------------------


def test_placeholders_are_known(listeners, tmp_path):
    known = set(placeholders(tmp_path, ASSIGNMENTS[0], listeners))
    texts = [value for value in vars(hostile).values() if isinstance(value, str)]
    texts += [item for value in vars(hostile).values() if isinstance(value, tuple) for item in value if isinstance(item, str)]
    used = {name for text in texts for name in re.findall(r"\$([a-z_]+)", text)}
    assert used <= known, f"unknown placeholders: {sorted(used - known)}"


@pytest.mark.timeout(90)
def test_batch_continues_after_unreadable(course_root, sandbox):
    assignment_id = ASSIGNMENTS[-1]
    spec = load_assignment(assignment_id)
    grader = grader_for(assignment_id, str(course_root))
    recipes = [
        StudentRecipe("batch-empty", "empty file", raw_bytes=b""),
        StudentRecipe("batch-corrupt", "corrupt file", raw_bytes=b"{\"cells\": ["),
        StudentRecipe("batch-honest", "reference solution"),
    ]
    results = []
    for recipe in recipes:
        folder = Path(write_submission(str(course_root), spec, recipe)).parent
        results.append(grade_student_folder(grader, str(folder), sandbox, recipe.student_id))

    assert results[0].score == 0
    assert "is empty" in results[0].error
    assert results[1].score == 0
    assert "is not valid notebook JSON" in results[1].error
    assert results[2].score == results[2].max_score
    assert results[2].error is None


@pytest.mark.timeout(120)
def test_grader_memory_bounded_for_large_results(course_root):
    assignment_id = ASSIGNMENTS[-1]
    spec = load_assignment(assignment_id)
    huge = {name: f"def {name}(*args, **kwargs):\n    return np.zeros(8_000_000)  # 64 MB, just under the cap\n" for name in spec.function_names}
    folder = Path(write_submission(str(course_root), spec, StudentRecipe("huge-results", "64 MB results", huge))).parent
    # Measured at about 0.5 s per 64 MB result on a 2-core machine, so some 24 results fit in 12 s.
    limits = Limits(cell_seconds=2, call_seconds=1, submission_seconds=12)
    result, growth_mib = grade_in_subprocess(assignment_id, course_root, folder, "huge-results", {}, limits)

    assert result.score == 0
    # Receiving and decoding one result briefly keeps a few copies of it, but a
    # grader that kept only verdicts would stay within this bound.
    assert growth_mib < 512, f"the grader's peak RSS grew by {growth_mib:.0f} MiB"


def test_no_sandbox_process_left(sandbox):
    sandbox.close()
    assert wait_for_no_sandbox_process() == []
