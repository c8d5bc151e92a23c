"""Fast batch grading: ``python -m autograder grade ASSIGNMENT``.

Submissions are graded in parallel by a pool of pre-started sandboxes (one
zygote per worker thread, each forking a fresh child per submission), so no
Jupyter kernel starts.  One writer, the calling thread, stores every result:
the nbgrader gradebook (scores and comments, one transaction per student),
the autograded notebook that ``nbgrader generate_feedback`` reads, and the
grading record.  A student whose record matches the current submission is
skipped, so a batch killed part-way finishes when run again.
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import json
import logging
import os
import sys
import time
from dataclasses import dataclass, field
from typing import Iterable, Optional

from sqlalchemy import text

from .grading import SubmissionResult, grade_student_folder, grader_for
from .results import load_record, store_result
from .sandbox import Limits, Sandbox

log = logging.getLogger("autograder.batch")


class BatchError(Exception):
    """A problem with the batch as a whole, such as an unknown assignment."""


@dataclass
class BatchSummary:
    graded: int = 0
    skipped: int = 0
    timed_out: int = 0
    damaged: int = 0
    errors: int = 0
    elapsed: float = 0.0
    records: list = field(default_factory=list)

    def format(self) -> str:
        rate = self.graded / self.elapsed if self.elapsed > 0 else 0.0
        return (
            f"graded {self.graded}, skipped {self.skipped} (already graded), timed out {self.timed_out}, "
            f"damaged {self.damaged}, errors {self.errors}, elapsed {self.elapsed:.1f} s ({rate:.1f} submissions/s)"
        )


def submission_folders(course_root: str, assignment_id: str, students: Optional[Iterable[str]] = None) -> list:
    """Return [(student_id, folder)] for every submission of an assignment."""
    submitted = os.path.join(course_root, "submitted")
    if not os.path.isdir(submitted):
        raise BatchError(f"no submitted/ folder in {os.path.abspath(course_root)}; collect submissions first")
    wanted = set(students) if students else None
    found = []
    for student_id in sorted(os.listdir(submitted)):
        folder = os.path.join(submitted, student_id, assignment_id)
        if os.path.isdir(folder) and (wanted is None or student_id in wanted):
            found.append((student_id, folder))
    if wanted:
        missing = sorted(wanted - {student for student, _ in found})
        if missing:
            raise BatchError(f"no submission of {assignment_id} for student(s) {', '.join(missing)} under submitted/")
    return found


def folder_digest(folder: str) -> str:
    """Return a SHA-256 over the notebooks and timestamp in a submission folder."""
    digest = hashlib.sha256()
    for name in sorted(os.listdir(folder)):
        if name.endswith(".ipynb") or name == "timestamp.txt":
            digest.update(name.encode())
            with open(os.path.join(folder, name), "rb") as handle:
                digest.update(handle.read())
    return digest.hexdigest()


# -- grading workers ---------------------------------------------------------------------


_worker_state: dict = {}


def _start_worker(course_root: str, assignment_id: str, limits: Limits, parent_pid: int) -> None:
    import atexit

    from .zygote import die_with_parent

    # A grader killed mid-batch must not leave workers (and their sandboxes) behind.
    die_with_parent(parent_pid)
    _worker_state["grader"] = grader_for(assignment_id, course_root)
    _worker_state["sandbox"] = Sandbox(limits)
    atexit.register(_worker_state["sandbox"].close)


def _grade_in_worker(student_id: str, folder: str) -> SubmissionResult:
    return grade_student_folder(_worker_state["grader"], folder, _worker_state["sandbox"], student_id)


class LocalPool:
    """Worker processes that each own a sandbox and grade one submission at a time.

    Reading notebooks and comparing results is Python work, so it runs in
    separate processes rather than threads; the main process only writes.
    Workers are started with "spawn", so they hold no gradebook connection.
    """

    def __init__(self, workers: int, limits: Limits):
        self.workers = workers
        self.limits = limits
        self._executor = None

    def grade(self, course_root: str, assignment_id: str, jobs: list):
        import multiprocessing

        self._executor = concurrent.futures.ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_worker,
            initargs=(course_root, assignment_id, self.limits, os.getpid()),
        )
        futures = {self._executor.submit(_grade_in_worker, student_id, folder): (student_id, folder) for student_id, folder in jobs}
        for future in concurrent.futures.as_completed(futures):
            yield futures[future], future

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None


# -- the writer ------------------------------------------------------------------------------


def _timestamp(folder: str) -> Optional[str]:
    path = os.path.join(folder, "timestamp.txt")
    if os.path.isfile(path):
        with open(path, encoding="utf-8", errors="replace") as handle:
            return handle.read().strip() or None
    return None


_UPDATE_GRADE = text(
    "UPDATE grade SET auto_score = :score, needs_manual_grade = (manual_score IS NOT NULL) "
    "WHERE notebook_id IN (SELECT id FROM submitted_notebook WHERE assignment_id = :submission) "
    "AND cell_id IN (SELECT id FROM base_cell WHERE name = :cell)"
)
_UPDATE_COMMENT = text(
    "UPDATE comment SET auto_comment = :comment "
    "WHERE notebook_id IN (SELECT id FROM submitted_notebook WHERE assignment_id = :submission) "
    "AND cell_id IN (SELECT id FROM base_cell WHERE name = :cell)"
)


class GradebookWriter:
    """Stores results in the gradebook, the autograded folder and the records."""

    def __init__(self, course_root: str, assignment_id: str):
        from nbgrader.api import Gradebook, MissingEntry

        from .report import gradebook_url

        self.course_root = course_root
        self.assignment_id = assignment_id
        self.gradebook = Gradebook(gradebook_url(course_root))
        try:
            assignment = self.gradebook.find_assignment(assignment_id)
        except MissingEntry:
            self.gradebook.close()
            raise BatchError(
                f"assignment {assignment_id!r} is not in the gradebook; run `nbgrader generate_assignment {assignment_id}` first"
            ) from None
        self.notebook_ids = [notebook.name for notebook in assignment.notebooks]

    def close(self) -> None:
        self.gradebook.close()

    def write(self, student_id: str, folder: str, result: SubmissionResult, digest: str) -> None:
        from .feedback_notebook import write_autograded_notebook

        write_autograded_notebook(self.course_root, self.assignment_id, student_id, folder, result)
        self._write_gradebook(student_id, folder, result)
        result.digest = digest
        store_result(self.course_root, result)

    def _write_gradebook(self, student_id: str, folder: str, result: SubmissionResult) -> None:
        gradebook = self.gradebook
        gradebook.update_or_create_student(student_id)
        timestamp = _timestamp(folder)
        if timestamp:
            submission = gradebook.update_or_create_submission(self.assignment_id, student_id, timestamp=timestamp)
        else:
            submission = gradebook.update_or_create_submission(self.assignment_id, student_id)
        try:
            # Plain UPDATE statements: the ORM would lazy-load every cell.
            for function in result.functions:
                gradebook.db.execute(
                    _UPDATE_GRADE, {"score": function.score, "submission": submission.id, "cell": f"test_{function.name}"}
                )
                gradebook.db.execute(
                    _UPDATE_COMMENT, {"comment": function.feedback(), "submission": submission.id, "cell": function.name}
                )
            gradebook.db.commit()
        except Exception:
            gradebook.db.rollback()
            raise


# -- progress -----------------------------------------------------------------------------------


class Progress:
    """A tqdm bar on a terminal, plain log lines (every 5 s) otherwise."""

    def __init__(self, total: int, enabled: bool):
        self.total = total
        self.done = 0
        self._last_line = time.monotonic()
        self._bar = None
        if enabled and sys.stderr.isatty():
            from tqdm import tqdm

            self._bar = tqdm(total=total, unit="submission", desc="grading", file=sys.stderr)

    def advance(self, student_id: str) -> None:
        self.done += 1
        if self._bar is not None:
            self._bar.update(1)
            return
        now = time.monotonic()
        if now - self._last_line >= 5 or self.done == self.total:
            self._last_line = now
            log.info("graded %d of %d submissions (last: %s)", self.done, self.total, student_id)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


# -- the command ----------------------------------------------------------------------------------


def json_records(result: SubmissionResult) -> list:
    """Return one machine-readable record per function of a result."""
    records = []
    for function in result.functions:
        diagnosis = [group.message for group in function.groups if group.failed and group.message]
        if function.misconception:
            diagnosis.append(f"likely misconception: {function.misconception['misconception']}")
        records.append(
            {
                "student": result.student,
                "function": function.name,
                "score": function.score,
                "max_score": function.max_score,
                "status": function.status,
                "diagnosis": "; ".join(diagnosis) or result.error or "",
                "misconception": function.misconception["name"] if function.misconception else None,
                "elapsed": round(function.elapsed, 4),
            }
        )
    return records


def grade_batch(
    course_root: str,
    assignment_id: str,
    workers: Optional[int] = None,
    students: Optional[list] = None,
    json_path: Optional[str] = None,
    scheduler: Optional[str] = None,
    force: bool = False,
    limits: Optional[Limits] = None,
    progress: bool = True,
) -> BatchSummary:
    """Grade every submission of ``assignment_id`` and store the results."""
    started = time.monotonic()
    course_root = os.path.abspath(course_root)
    try:
        grader_for(assignment_id, course_root)
    except KeyError as error:
        raise BatchError(str(error.args[0])) from None
    folders = submission_folders(course_root, assignment_id, students)
    writer = GradebookWriter(course_root, assignment_id)
    summary = BatchSummary()

    jobs = []
    digests = {}
    for student_id, folder in folders:
        digest = folder_digest(folder)
        digests[student_id] = digest
        record = load_record(course_root, assignment_id, student_id)
        if not force and record is not None and record.get("digest") == digest:
            summary.skipped += 1
            continue
        jobs.append((student_id, folder))

    limits = limits or Limits.from_environment()
    if scheduler:
        from .distributed import DaskPool

        pool = DaskPool(scheduler, limits)
    else:
        pool = LocalPool(workers or os.cpu_count() or 1, limits)
    bar = Progress(len(jobs), progress)
    try:
        for (student_id, folder), future in pool.grade(course_root, assignment_id, jobs):
            try:
                result = future.result()
                writer.write(student_id, folder, result, digests[student_id])
            except Exception:
                summary.errors += 1
                log.exception("grading %s/%s failed; the other submissions go on", student_id, assignment_id)
                bar.advance(student_id)
                continue
            summary.graded += 1
            summary.timed_out += any(function.status == "timed_out" for function in result.functions)
            summary.damaged += result.damaged
            summary.records.extend(json_records(result))
            bar.advance(student_id)
    finally:
        bar.close()
        pool.close()
        writer.close()
    summary.elapsed = time.monotonic() - started
    if json_path:
        with open(json_path, "w", encoding="utf-8") as handle:
            json.dump({"assignment": assignment_id, "summary": summary.format(), "records": summary.records}, handle, indent=1)
    return summary
