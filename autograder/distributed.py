"""Send grading work to a Dask cluster: ``grade --scheduler ADDRESS``.

Each task carries one submission's files as bytes, so workers need no
shared filesystem; they need this package (with ``assignments/`` and
``solutions/``) installed, and they grade in their own sandboxes.  Results
come back to the coordinating process, which alone writes the gradebook.
Install the extra with ``pip install .[distributed]``.
"""

from __future__ import annotations

import os
import tempfile
import threading

from .sandbox import Limits, Sandbox

_local = threading.local()
_graders: dict = {}
_graders_lock = threading.Lock()


def _worker_sandbox(limits: Limits) -> Sandbox:
    sandbox = getattr(_local, "sandbox", None)
    if sandbox is None or sandbox.limits != limits:
        sandbox = Sandbox(limits)
        _local.sandbox = sandbox
    return sandbox


def _worker_grader(assignment_id: str, released_sources: frozenset):
    from .grading import AssignmentGrader, load_assignment

    key = (assignment_id, hash(released_sources))
    with _graders_lock:
        if key not in _graders:
            grader = AssignmentGrader(load_assignment(assignment_id))
            grader.released_sources = set(released_sources)
            _graders[key] = grader
        return _graders[key]


def grade_files_on_worker(assignment_id: str, student_id: str, files: dict, released_sources: frozenset, limits: Limits):
    """Grade one submission, given as {file name: bytes}, on a Dask worker.

    A notebook over the size limit arrives as its size alone and is
    recreated as a sparse file of that size, which the grader rejects with
    the same reason as on the coordinator's machine.
    """
    from .grading import grade_student_folder

    grader = _worker_grader(assignment_id, released_sources)
    with tempfile.TemporaryDirectory(prefix="autograder-task-") as folder:
        for name, content in files.items():
            with open(os.path.join(folder, os.path.basename(name)), "wb") as handle:
                if isinstance(content, int):
                    handle.truncate(content)
                else:
                    handle.write(content)
        return grade_student_folder(grader, folder, _worker_sandbox(limits), student_id)


def _submission_files(folder: str, notebook_bytes: int) -> dict:
    """Return {name: bytes} of a submission folder's notebooks and timestamp, or the size of an oversized notebook."""
    files = {}
    for name in sorted(os.listdir(folder)):
        path = os.path.join(folder, name)
        if not os.path.isfile(path) or not (name.endswith(".ipynb") or name == "timestamp.txt"):
            continue
        size = os.path.getsize(path)
        if name.endswith(".ipynb") and size > notebook_bytes:
            files[name] = size
            continue
        with open(path, "rb") as handle:
            files[name] = handle.read()
    return files


class DaskPool:
    """Grades submissions as Dask tasks and yields their futures as they finish."""

    def __init__(self, scheduler: str, limits: Limits):
        try:
            from distributed import Client
        except ImportError:
            from .batch import BatchError

            raise BatchError("--scheduler needs Dask: install the extra with `pip install .[distributed]`") from None
        self.limits = limits
        self.client = Client(scheduler)

    def grade(self, course_root: str, assignment_id: str, jobs: list):
        from distributed import as_completed

        from .grading import grader_for

        released = frozenset(grader_for(assignment_id, course_root).released_sources)
        released_future = self.client.scatter(released, broadcast=True)
        # A few tasks per worker thread are in flight, so the files held here do not grow with the class.
        window = max(8, 4 * sum(self.client.nthreads().values()))
        waiting = iter(jobs)
        futures: dict = {}
        completed = as_completed()

        def submit_next() -> None:
            for student_id, folder in waiting:
                try:
                    files = _submission_files(folder, self.limits.notebook_bytes)
                except OSError:  # the folder changed since it was listed; grade what is left
                    files = {}
                future = self.client.submit(
                    grade_files_on_worker, assignment_id, student_id, files, released_future, self.limits, pure=False
                )
                futures[future] = (student_id, folder)
                completed.add(future)
                return

        def finished():
            for _ in range(window):
                submit_next()
            for future in completed:
                yield futures.pop(future), future
                submit_next()

        return finished()

    def close(self) -> None:
        self.client.close()
