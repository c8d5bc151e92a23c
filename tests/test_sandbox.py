"""The student process: sockets are denied and display libraries are inert stand-ins."""

import pytest

from autograder.classroom import catalogue_cells
from autograder.grading import AssignmentGrader, load_assignment
from autograder.sandbox import Limits, Sandbox

LIMITS = Limits(cell_seconds=5, call_seconds=2, submission_seconds=20)

SOCKET_PROBE = '''
import socket

def probe():
    found = []
    for attempt in (
        lambda: socket.socket(socket.AF_INET, socket.SOCK_STREAM),
        lambda: socket.socket(socket.AF_UNIX, socket.SOCK_STREAM),
        lambda: socket.socketpair(),
    ):
        try:
            attempt().close()
            found.append("opened")
        except OSError as error:
            found.append(type(error).__name__)
    return " ".join(found)
'''

PLOTTING = '''
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib import cm
import matplotlib.colors as colors
from IPython.display import display, Markdown

fig, ax = plt.subplots(figsize=(4, 3))
ax.plot([0, 1], [1, 0], color=cm.viridis(0.5))
ax.set_xlim(0, ax.get_xlim()[1] * 2)
fig, axes = plt.subplots(2, 2)
for row in axes:
    row[0].imshow([[0, 1]])
with plt.style.context("ggplot"):
    plt.title("a figure")
display(Markdown("**done**"))
plt.show()
plt.close(fig)
'''


def run_probe(cells, calls):
    with Sandbox(LIMITS) as sandbox:
        return sandbox.run(cells, calls)


def test_student_process_cannot_open_sockets():
    report = run_probe([(0, SOCKET_PROBE)], [(0, "probe", (), {})])
    outcome = report.outcomes[0]
    assert outcome.status == "returned"
    assert outcome.value == "PermissionError PermissionError PermissionError"


def test_plotting_cell_runs_without_error():
    report = run_probe([(0, PLOTTING), (1, "def value():\n    return 1.5\n")], [(0, "value", (), {})])
    assert report.cells[0].status == "ok", report.cells[0].error
    assert report.outcomes[0].value == 1.5


@pytest.mark.parametrize("assignment_id", ["ps01_span", "ps02_attention"])
def test_plots_in_answer_cells_keep_full_marks(assignment_id):
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
