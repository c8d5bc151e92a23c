"""Fast batch grading: ``python -m autograder grade ASSIGNMENT``.

Submissions are graded in parallel by worker processes, each with a
pre-started sandbox (one zygote forking a fresh child per submission), so no
Jupyter kernel starts.  Workers write the autograded notebooks that
``nbgrader generate_feedback`` reads.  One writer, the calling process,
stores the nbgrader gradebook rows (scores and comments, committed in
batches) and the grading records.  A student whose record matches the current submission is
skipped, so a batch killed part-way finishes when run again.
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import json
import logging
import os
import sqlite3
import sys
import time
from dataclasses import dataclass, field
from typing import Iterable, Optional

from .gradebook import BUSY_TIMEOUT_SECONDS, GradebookError, GradebookRows, check_gradebook, parse_timestamp
from .grading import SubmissionResult, grade_student_folder, grader_for, load_assignment
from .results import load_record, store_result
from .sandbox import Limits, Sandbox

log = logging.getLogger("autograder.batch")


class BatchError(Exception):
    """A problem with the batch as a whole, such as an unknown assignment."""


class CommitError(BatchError):
    """The gradebook refused a commit, so the pending students' scores are not stored."""

    def __init__(self, message: str, students: int):
        super().__init__(message)
        # How many graded students' scores this lost.
        self.students = students


def _lost_students_message(action: str, error, students: list) -> str:
    names = ", ".join(students[:5]) + (", ..." if len(students) > 5 else "")
    return (
        f"could not {action} the gradebook ({error}), so the scores of {len(students)} student(s) ({names}) are not "
        "stored; close any program that holds gradebook.db open (such as the formgrader) and run the command again"
    )


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
        if student_id.startswith("."):
            continue  # nbgrader skips hidden folders too
        folder = os.path.join(submitted, student_id, assignment_id)
        if os.path.isdir(folder) and (wanted is None or student_id in wanted):
            found.append((student_id, folder))
    if wanted:
        missing = sorted(wanted - {student for student, _ in found})
        hidden = [student for student in missing if student.startswith(".")]
        if hidden:
            raise BatchError(f"student folder(s) {', '.join(hidden)} start with a dot, and such folders are skipped, "
                             "as nbgrader skips them; rename the folder to grade it")
        if missing:
            raise BatchError(f"no submission of {assignment_id} for student(s) {', '.join(missing)} under submitted/")
    if not found:
        log.warning("no submission of %s under %s: expected folders submitted/<student>/%s/; "
                    "run `nbgrader collect` or check the assignment's name", assignment_id, submitted, assignment_id)
    # nbgrader reads folder names as glob patterns, so its feedback and autograde skip these students.
    for student_id, _ in found:
        if any(character in student_id for character in "[]*?"):
            log.warning("student folder %r contains a glob character ([, ], * or ?): this command grades it, but "
                        "nbgrader autograde and generate_feedback skip it; rename the folder", student_id)
    return found


def folder_digest(folder: str) -> str:
    """Return a SHA-256 over the notebooks and timestamp in a submission folder."""
    digest = hashlib.sha256()
    for name in sorted(os.listdir(folder)):
        if name.endswith(".ipynb") or name == "timestamp.txt":
            digest.update(name.encode())
            with open(os.path.join(folder, name), "rb") as handle:
                # In blocks, so that a huge notebook costs no memory here.
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
    return digest.hexdigest()


def grader_fingerprint(course_root: str, assignment_id: str, limits: Limits) -> str:
    """Return a SHA-256 over everything besides the submission that decides its scores.

    That is the assignment's package (cases, points, tolerances, catalogue),
    its reference solutions, the released notebook, the grading engine, the
    limits and the numpy and Python versions.  A record made under another
    fingerprint is stale, so a change to any of them regrades every student,
    with or without ``--force``, even after a run that was interrupted.
    """
    import importlib
    import platform

    import numpy

    from . import __file__ as engine_file

    spec = load_assignment(assignment_id)
    package = importlib.import_module(f"assignments.{assignment_id}")
    reference = importlib.import_module(spec.reference_module)
    # (label, path) pairs: the labels leave out where the course lives, so moving the course regrades no student.
    paths = []
    for label, module_file in (("assignment", package.__file__), ("reference", reference.__file__), ("engine", engine_file)):
        folder = os.path.dirname(module_file) if os.path.basename(module_file) == "__init__.py" else None
        if folder:
            paths += [(f"{label}/{name}", os.path.join(folder, name))
                      for name in sorted(os.listdir(folder)) if name.endswith((".py", ".json"))]
        else:
            paths.append((f"{label}/{os.path.basename(module_file)}", module_file))
    paths.append(("release", os.path.join(course_root, "release", assignment_id, f"{spec.notebook}.ipynb")))
    digest = hashlib.sha256(f"{limits!r} numpy {numpy.__version__} python {platform.python_version()}".encode())
    for label, path in paths:
        digest.update(label.encode())
        try:
            with open(path, "rb") as handle:
                digest.update(handle.read())
        except OSError:
            digest.update(b"missing")
    return digest.hexdigest()


def record_key(submission_digest: str, fingerprint: str) -> str:
    """Return the key a record stores: the submission's digest combined with the grader's fingerprint."""
    return hashlib.sha256(f"{submission_digest} {fingerprint}".encode()).hexdigest() if submission_digest else ""


# -- grading workers ---------------------------------------------------------------------


_worker_state: dict = {}


def _start_worker(course_root: str, assignment_id: str, limits: Limits, parent_pid: int) -> None:
    import atexit

    from .zygote import die_with_parent

    # A grader killed mid-batch must not leave workers (and their sandboxes) behind.
    die_with_parent(parent_pid)
    _worker_state["grader"] = grader_for(assignment_id, course_root)
    _worker_state["course_root"] = course_root
    _worker_state["sandbox"] = Sandbox(limits)
    atexit.register(_worker_state["sandbox"].close)


def _grade_in_worker(student_id: str, folder: str) -> SubmissionResult:
    from .feedback_notebook import write_autograded_notebook

    grader = _worker_state["grader"]
    result = grade_student_folder(grader, folder, _worker_state["sandbox"], student_id)
    write_autograded_notebook(_worker_state["course_root"], grader.spec.assignment_id, student_id, folder, result)
    return result


class LocalPool:
    """Worker processes that each own a sandbox and grade one submission at a time.

    Reading notebooks and comparing results is Python work, so it runs in
    separate processes rather than threads; the main process only writes.
    Workers are started with "spawn", so they hold no gradebook connection.

    A worker that dies (the out-of-memory killer, a signal) breaks the whole
    process pool.  The pool is then started again, and the submissions that
    were being graded are graded again one at a time, so that a submission
    that kills its worker a second time is reported as an error alone and
    the others are graded.
    """

    # Workers write each autograded notebook themselves, in parallel.
    writes_notebooks = True

    def __init__(self, workers: int, limits: Limits):
        self.workers = workers
        self.limits = limits
        self._executor = None

    def _start(self, course_root: str, assignment_id: str) -> None:
        import multiprocessing

        self._executor = concurrent.futures.ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_worker,
            initargs=(course_root, assignment_id, self.limits, os.getpid()),
        )

    def grade(self, course_root: str, assignment_id: str, jobs: list):
        from collections import deque
        from concurrent.futures.process import BrokenProcessPool

        self._start(course_root, assignment_id)
        waiting = deque(jobs)
        # Submissions in flight when a worker died, graded again one at a time.
        suspects: deque = deque()
        running: dict = {}  # future -> (job, graded alone)

        def submit_more() -> None:
            if suspects:
                if not running:
                    job = suspects.popleft()
                    running[self._executor.submit(_grade_in_worker, *job)] = (job, True)
                return
            # A few jobs per worker are in flight at a time, so memory does not grow with the class.
            while waiting and len(running) < 4 * self.workers:
                job = waiting.popleft()
                running[self._executor.submit(_grade_in_worker, *job)] = (job, False)

        def finished():
            submit_more()
            while running:
                done, _ = concurrent.futures.wait(running, return_when=concurrent.futures.FIRST_COMPLETED)
                if any(isinstance(future.exception(), BrokenProcessPool) for future in done):
                    # Every job in flight fails with the pool; some may have finished just before.
                    done, _ = concurrent.futures.wait(running)
                broken = []
                for future in done:
                    job, alone = running.pop(future)
                    if isinstance(future.exception(), BrokenProcessPool):
                        broken.append((job, alone))
                    else:
                        yield job, future
                if broken:
                    yield from self._recover(course_root, assignment_id, broken, suspects)
                submit_more()

        return finished()

    def _recover(self, course_root: str, assignment_id: str, broken: list, suspects) -> Iterable:
        """Start a new pool; queue the broken jobs as suspects, or fail the one that was graded alone."""
        self._executor.shutdown(wait=True, cancel_futures=True)
        self._start(course_root, assignment_id)
        retried = [job for job, alone in broken if not alone]
        if retried:
            log.warning("a grading worker died; the %d submission(s) in flight (%s) are graded again one at a time",
                        len(retried), ", ".join(student for student, _ in retried))
            suspects.extend(retried)
        for job, alone in broken:
            if not alone:
                continue
            failed = concurrent.futures.Future()
            failed.set_exception(BatchError(
                f"the grading worker died twice while grading {job[0]}/{assignment_id}, the second time with no other "
                "submission in flight (for example killed by the out-of-memory killer); it is not graded"
            ))
            yield job, failed

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None


# -- the writer ------------------------------------------------------------------------------


def _read_timestamp(folder: str) -> Optional[str]:
    path = os.path.join(folder, "timestamp.txt")
    if os.path.isfile(path):
        with open(path, encoding="utf-8", errors="replace") as handle:
            return handle.read().strip() or None
    return None


class GradebookWriter:
    """Stores results in the gradebook, the autograded folder and the records.

    Gradebook rows (see :mod:`autograder.gradebook`) are committed in
    batches by :meth:`flush`.  A student's record, which lets a later run
    skip the student, is written only after the commit that contains its
    scores, so a crash never leaves a skipped student ungraded.
    """

    def __init__(self, course_root: str, assignment_id: str, commit_every: int = 25, commit_seconds: float = 2.0):
        self.course_root = course_root
        self.assignment_id = assignment_id
        self.commit_every = commit_every
        self.commit_seconds = commit_seconds
        try:
            self.rows = GradebookRows(course_root, assignment_id, load_assignment(assignment_id).notebook)
        except GradebookError as error:
            raise BatchError(str(error)) from None
        self._uncommitted: list = []
        self._last_commit = time.monotonic()

    @property
    def pending(self) -> int:
        return len(self._uncommitted)

    def close(self) -> None:
        """Close the gradebook; rows not flushed yet are rolled back."""
        self.rows.close()

    def write(self, student_id: str, folder: str, result: SubmissionResult, digest: str, write_notebook: bool = True) -> None:
        """Write one student's rows in the open transaction; raise when they could not be written."""
        if write_notebook:
            from .feedback_notebook import write_autograded_notebook

            write_autograded_notebook(self.course_root, self.assignment_id, student_id, folder, result)
        timestamp = self._timestamp(student_id, folder, result)
        try:
            self.rows.write(student_id, timestamp, result)
        except Exception:
            # The rollback also drops the uncommitted rows of earlier students, so they are
            # written again and only this student's rows are lost.
            self.rows.rollback()
            try:
                for pending_id, pending_timestamp, pending in self._uncommitted:
                    self.rows.write(pending_id, pending_timestamp, pending)
            except Exception as error:
                # Their rows are gone too, so no record may claim them: the batch stops.
                students = [pending_id for pending_id, _, _ in self._uncommitted] + [student_id]
                self._uncommitted = []
                self.rows.rollback()
                raise CommitError(_lost_students_message("write", error, students), len(students)) from None
            raise
        result.digest = digest
        self._uncommitted.append((student_id, timestamp, result))

    def due(self) -> bool:
        return len(self._uncommitted) >= self.commit_every or time.monotonic() - self._last_commit >= self.commit_seconds

    def flush(self) -> list:
        """Commit the pending rows, then store their records; return the committed results.

        Raise CommitError when the gradebook refuses the commit.  A record
        that cannot be written is logged and skipped: the scores are stored,
        and the student is graded again next time.
        """
        if not self._uncommitted:
            return []
        try:
            self.rows.commit()
        except Exception as error:
            students = [student for student, _, _ in self._uncommitted]
            raise CommitError(_lost_students_message("commit", error, students), len(students)) from None
        committed = [result for _, _, result in self._uncommitted]
        for student_id, _, result in self._uncommitted:
            try:
                store_result(self.course_root, result)
            except OSError as error:
                log.warning("%s/%s: the scores are stored, but not the grading record (%s); it is graded again next time",
                            student_id, self.assignment_id, error)
        self._uncommitted = []
        self._last_commit = time.monotonic()
        return committed

    def _timestamp(self, student_id: str, folder: str, result: SubmissionResult):
        text = _read_timestamp(folder)
        if not text:
            return None
        parsed = parse_timestamp(text)
        if parsed is None:
            warning = (
                f"timestamp.txt is not a valid date ({text[:60]!r}); the submission is stored without a timestamp, "
                "so it cannot be checked for lateness"
            )
            log.warning("%s/%s: %s", student_id, self.assignment_id, warning)
            result.warnings.append(warning)
        return parsed


def _graded_digest(student_id: str, folder: str, digest: str) -> str:
    """Return the digest taken before grading, or "" when the folder changed since, so it is graded again."""
    try:
        unchanged = folder_digest(folder) == digest
    except OSError:
        unchanged = False
    if not unchanged:
        log.warning("%s: the submission folder changed while it was graded; it is graded again next time", student_id)
        return ""
    return digest


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
                "elapsed": round(function.elapsed, 6),
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
    limits = limits or Limits.from_environment()
    course_root = os.path.abspath(course_root)
    try:
        grader_for(assignment_id, course_root)
    except KeyError as error:
        raise BatchError(str(error.args[0])) from None
    folders = submission_folders(course_root, assignment_id, students)
    try:
        check_gradebook(course_root, assignment_id)
    except GradebookError as error:
        raise BatchError(str(error)) from None
    summary = BatchSummary()
    fingerprint = grader_fingerprint(course_root, assignment_id, limits)

    jobs = []
    digests = {}
    for student_id, folder in folders:
        try:
            digest = folder_digest(folder)
        except OSError:  # the folder changed since it was listed; grading reports what is there
            digest = ""
        digests[student_id] = digest
        record = load_record(course_root, assignment_id, student_id)
        if not force and digest and record is not None and record.get("digest") == record_key(digest, fingerprint):
            summary.skipped += 1
            continue
        jobs.append((student_id, folder))

    if scheduler:
        from .distributed import DaskPool

        pool = DaskPool(scheduler, limits)
    else:
        pool = LocalPool(workers or os.cpu_count() or 1, limits)
    bar = Progress(len(jobs), progress)
    writer = None
    writes_notebooks = getattr(pool, "writes_notebooks", False)
    processed = 0

    def count(committed: list) -> None:
        for result in committed:
            summary.graded += 1
            summary.timed_out += any(function.status == "timed_out" for function in result.functions)
            summary.damaged += result.damaged
            if json_path:
                summary.records.extend(json_records(result))

    try:
        results = pool.grade(course_root, assignment_id, jobs)
        # The workers start while the gradebook opens here.
        writer = GradebookWriter(course_root, assignment_id)
        for (student_id, folder), future in results:
            processed += 1
            try:
                result = future.result()
                graded = _graded_digest(student_id, folder, digests[student_id])
                writer.write(student_id, folder, result, record_key(graded, fingerprint), write_notebook=not writes_notebooks)
            except CommitError:
                raise  # the gradebook lost earlier students' rows too, so the batch stops (handled below)
            except BatchError as error:  # a known cause, such as a worker that died twice
                summary.errors += 1
                log.error("%s/%s is not graded: %s; the other submissions go on", student_id, assignment_id, error)
            except sqlite3.Error as error:
                summary.errors += 1
                log.error("%s/%s: the scores could not be written to the gradebook (%s), for example because another "
                          "program held it locked for %g s; the other submissions go on, and a new run grades this one",
                          student_id, assignment_id, error, BUSY_TIMEOUT_SECONDS)
            except Exception:
                summary.errors += 1
                log.exception("grading %s/%s failed; the other submissions go on", student_id, assignment_id)
            bar.advance(student_id)
            if writer.due():
                count(writer.flush())
        count(writer.flush())
    except CommitError as error:
        # Without a gradebook nothing more can be stored: the lost and remaining students count as errors.
        log.error("%s", error)
        summary.errors += error.students + len(jobs) - processed
    finally:
        bar.close()
        try:
            if writer is not None:
                writer.close()
        finally:
            pool.close()
    summary.elapsed = time.monotonic() - started
    if json_path:
        with open(json_path, "w", encoding="utf-8") as handle:
            json.dump({"assignment": assignment_id, "summary": summary.format(), "records": summary.records}, handle, indent=1)
    return summary
