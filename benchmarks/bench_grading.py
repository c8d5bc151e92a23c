"""Benchmark: stock ``nbgrader autograde`` against ``python -m autograder grade``.

Generates a class of N submissions (correct, correct in other styles,
catalogued mistakes, hostile and damaged notebooks), grades the same class
with stock nbgrader (a Jupyter kernel per submission, no project
configuration) and with the project's batch command, in one run on one
machine, and prints submissions per second, the ratio, peak memory of each
process tree, and the floor: the time to call the reference functions on
every hidden case in one process, with no isolation.

    .venv/bin/python benchmarks/bench_grading.py --students 200
    .venv/bin/python benchmarks/bench_grading.py --students 10000 --skip-stock

The figures recorded for this repository are in benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPOSITORY))

from autograder.classroom import StudentRecipe, build_notebook, strip_metadata  # noqa: E402
from autograder.grading import AssignmentGrader, load_assignment  # noqa: E402
from autograder.release import tool_environment  # noqa: E402

STOCK_CONFIG = """c = get_config()
c.CourseDirectory.course_id = "benchmark"
"""

HOSTILE_CELL = """import numpy as np
np.testing.assert_allclose = lambda *args, **kwargs: None
np.allclose = lambda *args, **kwargs: True
"""


def class_recipes(spec) -> list:
    """Return the mix of submission kinds, cycled over the class: 8 of the 13 are correct."""
    alternatives = list(spec.alternatives)
    mistakes = list(spec.mistakes)
    recipes = [StudentRecipe("", "reference")]
    for entry in alternatives[:6]:
        recipes.append(StudentRecipe("", f"alternative {entry.name}", {entry.function: entry.source}))
    for entry in mistakes[:4]:
        recipes.append(StudentRecipe("", f"mistake {entry.name}", {entry.function: entry.source}))
    recipes.append(StudentRecipe("", "hostile", {mistakes[0].function: mistakes[0].source}, cells_before=[HOSTILE_CELL]))
    recipes.append(StudentRecipe("", "metadata stripped", damage=strip_metadata))
    # NOTE: a notebook with a duplicated answer cell and an answer cell turned into
    # markdown is left out: stock nbgrader 0.9.6 aborts the whole batch on it ("use an
    # old version of the nbgrader metadata format"), so the stock run could not finish.
    return recipes


def write_class(course: Path, spec, students: int) -> None:
    """Write N submissions: the kinds in turn, each solution cell signed with a comment naming the student.

    The signature makes every notebook unique, as in a real class, so that
    no cache keyed by a cell's text helps one student with another's work.
    """
    import nbformat

    release = course / "release" / spec.assignment_id / f"{spec.notebook}.ipynb"
    variants = []
    for recipe in class_recipes(spec):
        nb = build_notebook(str(release), spec, recipe)
        variants.append(json.loads(nbformat.writes(nb)))
    answer = re.compile(r"^def (" + "|".join(map(re.escape, spec.function_names)) + r")\(", re.MULTILINE)
    for number in range(students):
        student = f"student{number:05d}"
        nb = copy.deepcopy(variants[number % len(variants)])
        for cell in nb["cells"]:
            source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
            if answer.search(source):
                cell["source"] = source + f"\n# submitted by {student}\n"
        folder = course / "submitted" / student / spec.assignment_id
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{spec.notebook}.ipynb").write_text(json.dumps(nb, indent=1))
        (folder / "timestamp.txt").write_text("2026-12-01 12:00:00.000000 UTC")


def make_course(root: Path, spec, config_text: str, students: int) -> Path:
    root.mkdir(parents=True)
    shutil.copytree(REPOSITORY / "source", root / "source")
    (root / "nbgrader_config.py").write_text(config_text)
    subprocess.run(
        [sys.executable, "-m", "nbgrader", "generate_assignment", spec.assignment_id, "--force"],
        cwd=root, env=tool_environment(), check=True, capture_output=True,
    )
    write_class(root, spec, students)
    return root


def _tree_rss_kib(root_pid: int) -> int:
    """Sum VmRSS over a process and its descendants, from /proc."""
    children: dict = {}
    rss: dict = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status") as status:
                fields = dict(line.split(":", 1) for line in status if ":" in line)
        except OSError:
            continue
        pid, parent = int(entry), int(fields.get("PPid", "0").strip())
        children.setdefault(parent, []).append(pid)
        rss[pid] = int(fields.get("VmRSS", "0 kB").split()[0]) if "VmRSS" in fields else 0
    total, stack = 0, [root_pid]
    while stack:
        pid = stack.pop()
        total += rss.get(pid, 0)
        stack.extend(children.get(pid, []))
    return total


def timed_run(command: list, cwd: Path) -> dict:
    """Run a command, sampling the memory of its process tree; return seconds, machine CPU seconds and peak MiB."""
    started = time.monotonic()
    busy = busy_cpu_seconds()
    process = subprocess.Popen(command, cwd=cwd, env=tool_environment(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    peak = 0
    stop = threading.Event()

    def sample():
        nonlocal peak
        while not stop.is_set():
            peak = max(peak, _tree_rss_kib(process.pid))
            stop.wait(0.25)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, stderr = process.communicate()
    stop.set()
    sampler.join()
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({process.returncode}):\n{stderr[-3000:]}")
    return {"seconds": time.monotonic() - started, "cpu_seconds": busy_cpu_seconds() - busy, "peak_mib": peak / 1024}


def measure_floor(spec, repeats: int = 30) -> float:
    """Median seconds to call the reference on every hidden case once, in one process."""
    grader = AssignmentGrader(spec)
    namespace = grader.reference_namespace
    timings = []
    for _ in range(repeats):
        started = time.perf_counter()
        for case in grader.cases:
            args, kwargs = copy.deepcopy(case.args), copy.deepcopy(case.kwargs)
            try:
                namespace[case.function](*args, **kwargs)
            except Exception:  # the documented ValueError cases
                pass
        timings.append(time.perf_counter() - started)
    return statistics.median(timings)


def measure_isolation(repeats: int = 100) -> float:
    """Median seconds to fork, confine and end one sandboxed child that runs nothing."""
    from autograder.sandbox import Sandbox

    timings = []
    with Sandbox() as sandbox:
        sandbox.run([], [])
        for _ in range(repeats):
            started = time.perf_counter()
            sandbox.run([], [])
            timings.append(time.perf_counter() - started)
    return statistics.median(timings)


def busy_cpu_seconds() -> float:
    """Return the CPU seconds all processes of the machine have used since boot, from /proc/stat, or 0 without it."""
    try:
        with open("/proc/stat") as stat:
            fields = stat.readline().split()
    except OSError:
        return 0.0
    # user, nice, system, irq and softirq; idle, iowait and time stolen by the hypervisor are left out.
    return sum(int(fields[index]) for index in (1, 2, 3, 6, 7)) / os.sysconf("SC_CLK_TCK")


def measure_sandboxed_reference(spec, repeats: int = 300) -> dict:
    """Time the reference cells and every hidden case in one fresh sandboxed process, one run after another.

    This is the floor's work done as the fast path does it: a forked,
    confined child that runs the cells and the calls and sends the results,
    without reading a notebook, comparing or storing anything.  Returns the
    median wall time of a run and the machine's CPU time per run, which
    also counts the zygote's fork and the child's exit.
    """
    from autograder.classroom import catalogue_cells
    from autograder.sandbox import Sandbox

    grader = AssignmentGrader(spec)
    cells = catalogue_cells(spec, {})
    timings = []
    with Sandbox() as sandbox:
        sandbox.run(cells, grader.calls(), result_limits=grader.result_limits, known_results=grader.known_results)
        busy = busy_cpu_seconds()
        for _ in range(repeats):
            started = time.perf_counter()
            sandbox.run(cells, grader.calls(), result_limits=grader.result_limits, known_results=grader.known_results)
            timings.append(time.perf_counter() - started)
        cpu = (busy_cpu_seconds() - busy) / repeats
    return {"seconds": statistics.median(timings), "cpu_seconds": cpu}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--assignment", default="ps02_attention", help="assignment id (default: ps02_attention)")
    parser.add_argument("--students", type=int, default=200, help="class size (default: 200)")
    parser.add_argument("--workers", type=int, default=os.cpu_count(), help="workers of the fast path (default: CPUs)")
    parser.add_argument("--skip-stock", action="store_true", help="do not run stock nbgrader (for very large classes)")
    parser.add_argument("--output", help="also write the figures as JSON to this path")
    arguments = parser.parse_args()

    spec = load_assignment(arguments.assignment)
    figures = {
        "assignment": arguments.assignment,
        "students": arguments.students,
        "workers": arguments.workers,
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, {platform.platform()}",
    }
    with tempfile.TemporaryDirectory(prefix="autograder-benchmark-") as scratch:
        scratch = Path(scratch)
        floor = measure_floor(spec)
        figures["floor_seconds_per_submission"] = floor
        figures["isolation_seconds_per_submission"] = measure_isolation()
        sandboxed = measure_sandboxed_reference(spec)
        figures["sandboxed_reference_seconds_per_submission"] = sandboxed["seconds"]
        figures["sandboxed_reference_cpu_seconds_per_submission"] = sandboxed["cpu_seconds"]
        # The fast path with N workers cannot beat this CPU time spread over N cores.
        figures["sandboxed_reference_over_floor_per_worker"] = sandboxed["cpu_seconds"] / arguments.workers / floor

        fast_course = make_course(scratch / "fast", spec, (REPOSITORY / "nbgrader_config.py").read_text(), arguments.students)
        fast = timed_run(
            [sys.executable, "-m", "autograder", "grade", arguments.assignment, "--workers", str(arguments.workers), "--no-progress"],
            fast_course,
        )
        figures["fast"] = {**fast, "per_second": arguments.students / fast["seconds"]}
        figures["fast_cpu_seconds_per_submission"] = fast["cpu_seconds"] / arguments.students
        # The machine's time per submission against the floor, which runs in one process.
        figures["fast_over_floor"] = (fast["seconds"] / arguments.students) / floor
        # The same per core: time per submission on one worker against the floor.
        figures["fast_over_floor_per_core"] = (fast["seconds"] * arguments.workers / arguments.students) / floor

        if not arguments.skip_stock:
            stock_course = make_course(scratch / "stock", spec, STOCK_CONFIG, arguments.students)
            stock = timed_run([sys.executable, "-m", "nbgrader", "autograde", arguments.assignment], stock_course)
            figures["stock"] = {**stock, "per_second": arguments.students / stock["seconds"]}
            figures["ratio"] = figures["fast"]["per_second"] / figures["stock"]["per_second"]

    print(json.dumps(figures, indent=1))
    if arguments.output:
        Path(arguments.output).write_text(json.dumps(figures, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
