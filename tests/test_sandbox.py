"""The student process: denied system calls, real plotting libraries, private case inputs."""

import os
import time

import numpy as np
import pytest

from autograder.classroom import catalogue_cells
from autograder.grading import AssignmentGrader, load_assignment
from autograder.sandbox import Limits, Sandbox

LIMITS = Limits(cell_seconds=5, call_seconds=2, submission_seconds=20)

SYSTEM_CALL_PROBE = '''
import ctypes
import os
import socket

libc = ctypes.CDLL(None, use_errno=True)

def attempt(action):
    try:
        result = action()
    except OSError as error:
        return type(error).__name__
    if isinstance(result, int) and result < 0:
        return "errno " + str(ctypes.get_errno())
    return "allowed"

def probe():
    return " | ".join([
        attempt(lambda: socket.socket(socket.AF_INET, socket.SOCK_STREAM)),
        attempt(lambda: socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)),
        attempt(lambda: socket.socketpair()),
        attempt(lambda: socket.socket(fileno=os.dup(3)).bind("\\0autograder-probe")),
        attempt(lambda: libc.shmget(0, 1 << 20, 0o1666)),
        attempt(lambda: libc.syscall(PIDFD_OPEN, os.getppid(), 0)),
        attempt(lambda: libc.ptrace(16, os.getppid(), 0, 0)),
    ])
'''

EXPECTED_PROBE = " | ".join(["PermissionError"] * 4 + ["errno 13"] * 3)

# Plotting idioms from student notebooks. Each must run as it does in Jupyter,
# including the idioms that measure or draw text, which open font files.
PLOTTING = '''
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib import cm
from matplotlib.colors import Normalize
from IPython.display import display, Markdown

version = matplotlib.__version__
fig, ax = plt.subplots(figsize=(4, 3))
line, = ax.plot([0, 1], [1, 0], color=cm.viridis(0.5))
low, high = ax.get_xlim()
label = f"{high:.2f}"
xs = np.linspace(*ax.get_xlim(), 100)
fig, (left, middle, right) = plt.subplots(1, 3)
x0, x1, y0, y1 = plt.axis()
with plt.style.context("ggplot"):
    plt.title("a figure")

class Clipped(Normalize):
    pass

def draw(ax: plt.Axes | None = None):
    return ax

display(Markdown("**done**"))
ax.set_title("Attention weights", fontweight="bold")
ax.set_xlabel(r"key $j$ with $\\alpha_{ij}$")
ax.text(0.5, 0.5, "code", family="monospace")
plt.tight_layout()
fig.canvas.draw()
import io
buffer = io.BytesIO()
fig.savefig(buffer, format="png")
assert buffer.getvalue().startswith(b"\\x89PNG")
plt.show()
plt.close("all")
'''


def run_cells(cells, calls):
    with Sandbox(LIMITS) as sandbox:
        return sandbox.run(cells, calls)


def test_system_calls_denied():
    cells = [(0, "PIDFD_OPEN = 434\n" + SYSTEM_CALL_PROBE)]
    outcome = run_cells(cells, [(0, "probe", (), {})]).outcomes[0]
    assert outcome.status == "returned"
    assert outcome.value == EXPECTED_PROBE


def test_plotting_cell_runs_without_error():
    report = run_cells([(0, "import numpy as np\n" + PLOTTING), (1, "def value():\n    return 1.5\n")], [(0, "value", (), {})])
    assert report.cells[0].status == "ok", report.cells[0].error
    assert report.outcomes[0].value == 1.5


@pytest.mark.parametrize("assignment_id", ["ps01_span", "ps02_attention"])
def test_answer_cell_plots_keep_marks(assignment_id):
    spec = load_assignment(assignment_id)
    grader = AssignmentGrader(spec)
    cells = catalogue_cells(spec, {})
    first_answer = next(position for position, (_, code) in enumerate(cells) if f"def {spec.function_names[0]}(" in code)
    index, code = cells[first_answer]
    cells[first_answer] = (index, PLOTTING + "\n" + code)
    with Sandbox(LIMITS) as sandbox:
        report = sandbox.run(cells, grader.calls(), result_limits=grader.result_limits)
    result = grader.score(report.outcomes, cells)
    assert report.cells[index].status == "ok", report.cells[index].error
    assert [function.score for function in result] == [function.points for function in spec.functions]


def test_case_inputs_copied_per_call():
    shared = np.ones(3)
    cells = [(0, "def total_then_clear(values):\n    result = float(values.sum())\n    values[:] = 0.0\n    return result\n")]
    calls = [(0, "total_then_clear", (shared,), {}), (1, "total_then_clear", (shared,), {})]
    outcomes = run_cells(cells, calls).outcomes
    assert outcomes[0].value == 3.0
    assert outcomes[1].value == 3.0


def test_stale_sandbox_folders_removed(tmp_path):
    import subprocess
    import sys

    from autograder.sandbox import DIRECTORY_PREFIX, remove_stale_directories

    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(finished.stdout)
    stale = tmp_path / f"{DIRECTORY_PREFIX}{dead_pid}-abc"
    live = tmp_path / f"{DIRECTORY_PREFIX}{os.getpid()}-abc"
    unnamed = tmp_path / f"{DIRECTORY_PREFIX}abc"
    recent = tmp_path / f"{DIRECTORY_PREFIX}{dead_pid}-recent"
    busy = tmp_path / f"{DIRECTORY_PREFIX}{dead_pid}-busy"
    for folder in (stale, live, unnamed, recent, busy):
        (folder / "root" / "run-1").mkdir(parents=True)
    for folder in (stale, live, unnamed, busy):
        os.utime(folder, (0, 0))
    os.utime(stale / "root", (0, 0))
    remove_stale_directories(str(tmp_path))
    assert not stale.exists()
    assert live.exists()
    assert unnamed.exists()
    assert recent.exists()
    # A grader in another pid namespace looks dead, but its root folder keeps changing.
    assert busy.exists()



def nested_finally(depth: int) -> str:
    """Return a cell of nested try/finally blocks, whose bytecode doubles with each level."""
    lines = []
    for level in range(depth):
        lines += [" " * level + "try:", " " * level + " x = 1", " " * level + "finally:"]
    lines.append(" " * depth + "x = 2")
    return "\n".join(lines) + "\n"


def test_costly_compile_stays_in_student_process():
    # About 1 KB of source that takes seconds and gigabytes to compile: the cost must fall on
    # the confined student process, within the cell time limit, and not on the grader.
    cells = [(0, nested_finally(20)), (1, "def value():\n    return 3\n")]
    limits = Limits(cell_seconds=1, call_seconds=2, submission_seconds=20)
    started = time.monotonic()
    with Sandbox(limits) as sandbox:
        report = sandbox.run(cells, [(0, "value", (), {})])
    assert report.cells[0].status in ("timed_out", "raised")
    assert report.outcomes[0].value == 3
    assert time.monotonic() - started < 10


def test_font_copies_read_only():
    cells = [(0, """
import matplotlib
from matplotlib import font_manager

def append_to_font():
    path = font_manager.findfont("DejaVu Sans")
    with open(path, "ab") as handle:
        handle.write(b"x")
    return path
""")]
    outcome = run_cells(cells, [(0, "append_to_font", (), {})]).outcomes[0]
    assert outcome.status == "raised"
    assert outcome.error["type"] in ("PermissionError", "OSError")


def test_call_time_measured_by_student_process():
    from autograder.sandbox import _call_seconds

    cells = [(0, "import time\ndef slow():\n    time.sleep(0.2)\n    return 1\ndef quick():\n    return 2\n")]
    outcomes = run_cells(cells, [(0, "slow", (), {}), (1, "quick", (), {})]).outcomes
    assert 0.2 <= outcomes[0].elapsed < 1.0
    assert 0 < outcomes[1].elapsed < 0.1
    assert _call_seconds({"seconds": 1e9}, 0.5, 5.0) == 0.5
    assert _call_seconds({"seconds": float("nan")}, 0.5, 5.0) == 0.5
    assert _call_seconds({"seconds": True}, 0.5, 5.0) == 0.5
    assert _call_seconds({"seconds": 0.25}, 0.5, 5.0) == 0.25
