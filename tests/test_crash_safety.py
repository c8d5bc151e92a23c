"""A grader killed with SIGKILL mid-batch finishes the batch when run again.

Each test starts grading a class whose second student hangs in a cell,
kills the grading process while that student is being graded, checks that no
sandbox process outlives it, and runs the same command again.  Every student
must then be graded exactly once, with no score left unset.
"""

import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from autograder.classroom import StudentRecipe, write_submission
from autograder.grading import load_assignment
from autograder.sandbox import SANDBOX_UID_BASE

from conftest import make_course, tool_environment

ASSIGNMENT = "ps01_span"
STUDENTS = ("a_first", "b_hangs", "c_third", "d_fourth")


def write_class(course):
    spec = load_assignment(ASSIGNMENT)
    for student in STUDENTS:
        cells_after = ["while True:\n    pass\n"] if student == "b_hangs" else []
        write_submission(str(course), spec, StudentRecipe(student, "", cells_after=cells_after))
    return spec


def live_processes() -> dict:
    """Return {pid: (parent pid, uid, args)} of every process that is not a zombie."""
    listing = subprocess.run(["ps", "-eo", "pid=,ppid=,uid=,stat=,args="], capture_output=True, text=True).stdout
    processes = {}
    for line in listing.splitlines():
        pid, parent, uid, state, *args = line.split()
        if not state.startswith("Z"):
            processes[int(pid)] = (int(parent), int(uid), " ".join(args))
    return processes


def descendants(root: int) -> set:
    processes = live_processes()
    found, frontier = set(), {root}
    while frontier:
        frontier = {pid for pid, (parent, _, _) in processes.items() if parent in frontier} - found
        found |= frontier
    return found


def wait_for(condition, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError("timed out waiting for the grader to reach the middle of the batch")


def gradebook_rows(course):
    with sqlite3.connect(course / "gradebook.db") as connection:
        submissions = connection.execute(
            "SELECT sa.student_id FROM submitted_assignment sa JOIN assignment a ON sa.assignment_id = a.id WHERE a.name = ?",
            (ASSIGNMENT,),
        ).fetchall()
        unset = connection.execute(
            "SELECT COUNT(*) FROM grade g JOIN submitted_notebook sn ON g.notebook_id = sn.id "
            "JOIN submitted_assignment sa ON sn.assignment_id = sa.id WHERE g.auto_score IS NULL"
        ).fetchone()[0]
    return sorted(student for (student,) in submissions), unset


def kill_mid_batch(command, course, reached_middle):
    """Start ``command``, SIGKILL it mid-batch, and return the processes it left alive."""
    environment = tool_environment()
    environment["AUTOGRADER_CELL_SECONDS"] = "60"
    process = subprocess.Popen(command, cwd=course, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    def sandbox_running() -> bool:
        started = descendants(process.pid)
        return any(uid >= SANDBOX_UID_BASE for pid, (_, uid, _) in live_processes().items() if pid in started)

    try:
        wait_for(lambda: reached_middle() and sandbox_running(), timeout=120)
        started_by_grader = descendants(process.pid)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    time.sleep(1.0)
    alive = live_processes()
    return sorted(alive[pid][2] for pid in started_by_grader if pid in alive)


def run_again(command, course):
    environment = tool_environment()
    environment["AUTOGRADER_CELL_SECONDS"] = "2"
    completed = subprocess.run(command, cwd=course, env=environment, capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stdout[-2000:] + completed.stderr[-2000:]


@pytest.fixture()
def crash_course(tmp_path):
    course = make_course(tmp_path / "course")
    write_class(course)
    return course


def test_fast_grade_finishes_after_kill(crash_course):
    command = [sys.executable, "-m", "autograder", "grade", ASSIGNMENT, "--workers", "1", "--no-progress"]
    records = crash_course / ".grading" / ASSIGNMENT

    def reached_middle():
        return (crash_course / "autograded" / "a_first" / ASSIGNMENT / "span.ipynb").exists()

    left_behind = kill_mid_batch(command, crash_course, reached_middle)
    assert not (crash_course / "autograded" / "c_third").exists(), "the batch finished before the kill"
    assert left_behind == []

    run_again(command, crash_course)
    students, unset = gradebook_rows(crash_course)
    assert students == sorted(STUDENTS)
    assert unset == 0
    assert sorted(path.stem for path in records.glob("*.json")) == sorted(STUDENTS)


def test_nbgrader_autograde_finishes_after_kill(crash_course):
    command = [sys.executable, "-m", "nbgrader", "autograde", ASSIGNMENT]
    autograded = crash_course / "autograded"

    def reached_middle():
        return (autograded / "b_hangs" / ASSIGNMENT / ".autograde-incomplete").exists()

    left_behind = kill_mid_batch(command, crash_course, reached_middle)
    assert left_behind == []

    run_again(command, crash_course)
    students, unset = gradebook_rows(crash_course)
    assert students == sorted(STUDENTS)
    assert unset == 0
    for student in STUDENTS:
        assert not (autograded / student / ASSIGNMENT / ".autograde-incomplete").exists()
        assert (autograded / student / ASSIGNMENT / "span.ipynb").exists()


def test_writer_failure_keeps_other_students(crash_course):
    """The writer rolls back a failed student's rows and keeps the pending rows of the others."""
    from autograder.batch import GradebookWriter
    from autograder.grading import grader_for

    grader = grader_for(ASSIGNMENT, str(crash_course))
    folder = crash_course / "submitted" / "a_first" / ASSIGNMENT
    good = grader.zero_result("", "span.ipynb", "unreadable")

    class Unwritable:
        name = good.functions[0].name
        score = 0.0

        def feedback(self):
            raise RuntimeError("cannot render this feedback")

    writer = GradebookWriter(str(crash_course), ASSIGNMENT, commit_every=100, commit_seconds=1000)
    for student in ("a_first", "b_hangs", "c_third"):
        result = grader.zero_result(student, "span.ipynb", "unreadable")
        result.functions[0].score = 1.0
        if student == "b_hangs":
            result.functions = [Unwritable()]
            with pytest.raises(RuntimeError):
                writer.write(student, str(folder), result, "digest", write_notebook=False)
        else:
            writer.write(student, str(folder), result, "digest", write_notebook=False)
    writer.flush()
    writer.close()

    students, _ = gradebook_rows(crash_course)
    assert students == ["a_first", "c_third"]
    with sqlite3.connect(crash_course / "gradebook.db") as connection:
        scores = connection.execute(
            "SELECT sa.student_id, g.auto_score FROM grade g JOIN submitted_notebook sn ON g.notebook_id = sn.id "
            "JOIN submitted_assignment sa ON sn.assignment_id = sa.id JOIN base_cell bc ON g.cell_id = bc.id "
            "WHERE bc.name = ?",
            (f"test_{good.functions[0].name}",),
        ).fetchall()
    assert sorted(scores) == [("a_first", 1.0), ("c_third", 1.0)]
    records = crash_course / ".grading" / ASSIGNMENT
    assert sorted(path.stem for path in records.glob("*.json")) == ["a_first", "c_third"]


def test_dead_worker_costs_no_student(crash_course):
    environment = tool_environment()
    environment["AUTOGRADER_CELL_SECONDS"] = "3"
    command = [sys.executable, "-m", "autograder", "grade", ASSIGNMENT, "--workers", "2", "--no-progress"]
    process = subprocess.Popen(command, cwd=crash_course, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def grading_worker():
        processes = live_processes()
        started = descendants(process.pid)
        # A worker is a direct child of the grader whose own descendants include a sandboxed child.
        for pid in started:
            parent, _, _ = processes.get(pid, (0, 0, ""))
            if parent == process.pid and any(processes[child][1] >= SANDBOX_UID_BASE
                                             for child in descendants(pid) if child in processes):
                return pid
        return None

    found = []
    try:
        wait_for(lambda: found.append(grading_worker()) or found[-1] is not None, timeout=120)
        os.kill(found[-1], signal.SIGKILL)
        _, stderr = process.communicate(timeout=300)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, stderr[-3000:]
    assert "a grading worker died" in stderr
    students, unset = gradebook_rows(crash_course)
    assert students == sorted(STUDENTS)
    assert unset == 0


def test_second_death_alone_reports_submission():
    from collections import deque

    from autograder.batch import BatchError, LocalPool
    from autograder.sandbox import Limits

    pool = LocalPool(1, Limits())
    pool._start("/nonexistent-course", ASSIGNMENT)
    suspects = deque()
    try:
        broken = [(("e_alone", "folder-e"), True), (("f_other", "folder-f"), False)]
        results = list(pool._recover("/nonexistent-course", ASSIGNMENT, broken, suspects))
    finally:
        pool.close()
    assert [job for job, _ in results] == [("e_alone", "folder-e")]
    with pytest.raises(BatchError, match="died twice while grading e_alone"):
        results[0][1].result()
    assert list(suspects) == [("f_other", "folder-f")]


def test_lost_pending_rows_stop_batch(crash_course):
    """When the earlier students' rows cannot be written again either, none of them gets a record."""
    from autograder.batch import CommitError, GradebookWriter
    from autograder.grading import grader_for
    from autograder.results import load_record

    grader = grader_for(ASSIGNMENT, str(crash_course))
    folder = crash_course / "submitted" / "a_first" / ASSIGNMENT
    writer = GradebookWriter(str(crash_course), ASSIGNMENT, commit_every=100, commit_seconds=1000)
    writer.write("a_first", str(folder), grader.zero_result("a_first", "span.ipynb", "unreadable"), "digest", write_notebook=False)
    original = writer.rows.write

    def locked(*arguments):
        raise sqlite3.OperationalError("database is locked")

    writer.rows.write = locked
    with pytest.raises(CommitError, match=r"scores of 2 student\(s\) \(a_first, c_third\)") as raised:
        writer.write("c_third", str(folder), grader.zero_result("c_third", "span.ipynb", "unreadable"), "digest", write_notebook=False)
    assert raised.value.students == 2
    writer.rows.write = original
    assert writer.flush() == []
    writer.close()
    assert load_record(str(crash_course), ASSIGNMENT, "a_first") is None
    assert gradebook_rows(crash_course)[0] == []
