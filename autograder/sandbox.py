"""Run a submission's code in an isolated process and collect plain outcomes.

:class:`Sandbox` owns one zygote (see :mod:`autograder.zygote`) and grades
one submission at a time through it.  The grader enforces every time limit
from outside.  When a cell or a call runs past its limit, or the student
process dies, the grader kills the child and records the cell or function as
timed out or crashed; then a fresh child continues without it.  A submission never
costs more than ``Limits.submission_seconds`` of wall time in total.
"""

from __future__ import annotations

import json
import logging
import math
import os
import pickle
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field

from . import child as child_protocol
from . import wire
from .compare import Outcome

log = logging.getLogger("autograder.sandbox")

# User ids given to student processes when the grader runs as root: one per
# sandbox slot, so concurrent students cannot signal or trace each other.
DEFAULT_SANDBOX_UID_BASE = 2_000_000_000
# Slots per grader process times distinct process ids: the span of user ids above the base.
SANDBOX_UID_SPAN = 64 * 4_000_000
# The largest valid user id; 4294967295 means "no user" to the kernel.
MAX_UID = 4_294_967_294


def sandbox_uid_base(environ=os.environ) -> int:
    """Return AUTOGRADER_SANDBOX_UID_BASE, or raise ValueError naming the value and the valid range."""
    text = environ.get("AUTOGRADER_SANDBOX_UID_BASE")
    if text is None:
        return DEFAULT_SANDBOX_UID_BASE
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 1000 <= value <= MAX_UID - SANDBOX_UID_SPAN:
        raise ValueError(
            f"AUTOGRADER_SANDBOX_UID_BASE={text!r} is invalid: expected an integer from 1000 to "
            f"{MAX_UID - SANDBOX_UID_SPAN}, so that every sandbox gets a user id of its own"
        )
    return value


try:
    SANDBOX_UID_BASE = sandbox_uid_base()
except ValueError:  # reported by Limits.from_environment, which every command calls first
    SANDBOX_UID_BASE = DEFAULT_SANDBOX_UID_BASE
# Frame size limits: headers (cell reports, notes) and, by default, results.
# The grader passes a limit per call, scaled from the size of the reference result.
HEADER_FRAME_BYTES = 1 << 20
DEFAULT_RESULT_BYTES = 8 << 20
# Polling interval and poll count of the frame reader (see Sandbox._receive_frame).
POLL_SECONDS = 0.0005
POLLS_BEFORE_BLOCKING = 20

_slot_lock = threading.Lock()
_next_slot = 0
_warned_unprivileged = False


@dataclass(frozen=True)
class Limits:
    """Resource limits for one submission's student process."""

    # Wall time allowed for one notebook cell and for one function call.
    cell_seconds: float = 10.0
    call_seconds: float = 5.0
    # Wall time for the whole submission, restarts included.
    submission_seconds: float = 60.0
    # Address space allowed beyond what the preloaded libraries already use.
    memory_bytes: int = 1 << 30
    max_processes: int = 1
    file_size_bytes: int = 16 << 20
    # Largest notebook file the grader reads; a larger one gets 0 with the reason.
    notebook_bytes: int = 64 << 20

    @classmethod
    def from_environment(cls, environ=os.environ) -> "Limits":
        """Read overrides such as AUTOGRADER_CALL_SECONDS=2 from the environment; raise ValueError for an invalid one."""
        sandbox_uid_base(environ)
        values = {}
        for name, kind in (("cell_seconds", float), ("call_seconds", float), ("submission_seconds", float),
                           ("memory_bytes", int), ("max_processes", int), ("file_size_bytes", int),
                           ("notebook_bytes", int)):
            text = environ.get(f"AUTOGRADER_{name.upper()}")
            if text is None:
                continue
            try:
                values[name] = kind(text)
            except ValueError:
                values[name] = None
            if values[name] is None or not 0 < values[name] < math.inf:
                raise ValueError(
                    f"AUTOGRADER_{name.upper()}={text!r} is invalid: expected a positive {'number' if kind is float else 'integer'}"
                )
        return cls(**values)


@dataclass
class CellReport:
    """The outcome of running one cell: an error dict, a timeout or a crash."""

    index: int
    status: str  # "ok", "raised", "timed_out", "crashed"
    error: dict = None
    detail: str = ""


@dataclass
class RunReport:
    """Everything the student process reported for one submission."""

    outcomes: dict = field(default_factory=dict)  # call number -> Outcome
    cells: dict = field(default_factory=dict)  # cell index -> CellReport
    notes: list = field(default_factory=list)
    restarts: int = 0
    elapsed: float = 0.0
    budget_exhausted: bool = False


class _ChildGone(Exception):
    """The student process closed its socket or sent an invalid frame."""


class _ResultTooLarge(Exception):
    """The student process sent a frame larger than the step allows."""


SLOTS_PER_PROCESS = 64


def _allocate_slot() -> int:
    """Return a slot number unique among the sandboxes of every live grader process."""
    global _next_slot
    with _slot_lock:
        local = _next_slot % SLOTS_PER_PROCESS
        _next_slot += 1
    # Process ids are unique among live processes, so parallel grader processes never share a uid.
    return (os.getpid() % 4_000_000) * SLOTS_PER_PROCESS + local


DIRECTORY_PREFIX = "autograder-sandbox-"
# Each submission creates a folder inside its sandbox's root folder, so a folder in use changes often.
STALE_SECONDS = 3600


def remove_stale_directories(parent: str = None) -> None:
    """Remove the folders of sandboxes whose grader process has died, such as a grader killed by SIGKILL.

    A folder's name carries the pid of the process that made it.  A folder
    whose pid is alive, whose name has no pid, or that changed in the last
    ``STALE_SECONDS`` is left alone: a grader in another pid namespace that
    shares the temporary folder may still use it.
    """
    parent = parent or tempfile.gettempdir()
    try:
        names = os.listdir(parent)
    except OSError:
        return
    for name in names:
        if not name.startswith(DIRECTORY_PREFIX):
            continue
        pid_text = name[len(DIRECTORY_PREFIX):].split("-", 1)[0]
        if not pid_text.isdigit():
            continue
        path = os.path.join(parent, name)
        try:
            # Run folders are made inside root/, so its time of change counts too.
            changed = max(os.stat(os.path.join(path, folder)).st_mtime for folder in (".", "root")
                          if os.path.isdir(os.path.join(path, folder)))
            if time.time() - changed < STALE_SECONDS:
                continue
            os.kill(int(pid_text), 0)
        except ProcessLookupError:
            shutil.rmtree(path, ignore_errors=True)
        except (OSError, OverflowError):
            pass


def _zygote_environment() -> dict:
    kept = ("PATH", "HOME", "LANG", "LC_ALL", "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "PYTHONPATH", "VIRTUAL_ENV", "MPLCONFIGDIR")
    environment = {name: os.environ[name] for name in kept if name in os.environ}
    environment.update({"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "MPLBACKEND": "Agg"})
    return environment


class Sandbox:
    """One zygote and the isolated children it forks, used by one thread at a time."""

    def __init__(self, limits: Limits = Limits()):
        self.limits = limits
        self.slot = _allocate_slot()
        self.uid = SANDBOX_UID_BASE + self.slot
        remove_stale_directories()
        self.base_directory = tempfile.mkdtemp(prefix=f"{DIRECTORY_PREFIX}{os.getpid()}-")
        os.chmod(self.base_directory, 0o711)
        # The student process's root directory: one run folder at a time, and read-only
        # copies of the font files matplotlib opens to draw text (see zygote.expose_fonts).
        self.root_directory = os.path.join(self.base_directory, "root")
        os.mkdir(self.root_directory)
        os.chmod(self.root_directory, 0o755)
        self._zygote = None
        self._control = None
        # The calls of the current run, and the calls the running zygote holds.
        self._cases = []
        self._zygote_cases = None
        self._warn_if_unprivileged()

    def _warn_if_unprivileged(self) -> None:
        global _warned_unprivileged
        if os.geteuid() != 0 and not _warned_unprivileged:
            _warned_unprivileged = True
            log.warning(
                "the grader is not running as root, so student code cannot be moved to an unprivileged user "
                "or a private root directory: it runs as uid %d and can read any file that user can read",
                os.getuid(),
            )

    # -- zygote lifecycle ---------------------------------------------------

    def _start_zygote(self) -> None:
        grader_end, zygote_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        self._zygote = subprocess.Popen(
            [sys.executable, "-m", "autograder.zygote", str(zygote_end.fileno()), str(os.getpid()), self.root_directory],
            pass_fds=(zygote_end.fileno(),),
            env=_zygote_environment(),
            cwd=self.base_directory,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        zygote_end.close()
        self._control = grader_end
        self._zygote_cases = None

    def _request_fork(self, child_end: socket.socket) -> bytes:
        if self._zygote_cases is not self._cases:
            cases = pickle.dumps(self._cases, protocol=pickle.HIGHEST_PROTOCOL)
            self._control.sendall(b"c" + struct.pack("<Q", len(cases)) + cases)
            child_protocol._receive_exactly(self._control, 1)
            self._zygote_cases = self._cases
        socket.send_fds(self._control, [b"f"], [child_end.fileno()])
        return child_protocol._receive_exactly(self._control, 8)

    def _fork_child(self) -> tuple:
        if self._zygote is None or self._zygote.poll() is not None:
            self._start_zygote()
        grader_end, child_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            pid_bytes = self._request_fork(child_end)
        except (OSError, EOFError):
            # The zygote died (for example killed by the instructor); start a new one once.
            self._start_zygote()
            pid_bytes = self._request_fork(child_end)
        child_end.close()
        (pid,) = struct.unpack("<q", pid_bytes)
        return pid, grader_end

    def close(self) -> None:
        if self._control is not None:
            self._control.close()
            self._control = None
        if self._zygote is not None:
            try:
                self._zygote.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._zygote.kill()
                self._zygote.wait()
            self._zygote = None
        shutil.rmtree(self.base_directory, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    # -- one submission -----------------------------------------------------

    def _prepare_workdir(self, submission_path: str) -> str:
        workdir = tempfile.mkdtemp(prefix="run-", dir=self.root_directory)
        if submission_path and os.path.isfile(submission_path):
            shutil.copy(submission_path, os.path.join(workdir, os.path.basename(submission_path)))
        # The folder stays owned by the grader: student code may read the copy of
        # its notebook but cannot write anything, so it cannot fill the disk.
        os.chmod(workdir, 0o755)
        for name in os.listdir(workdir):
            os.chmod(os.path.join(workdir, name), 0o644)
        return workdir

    def run(self, code_cells: list, calls: list, submission_path: str = "", result_limits: dict = None,
            known_results: dict = None) -> RunReport:
        """Run ``code_cells`` then every call ``(number, function, args, kwargs)``.

        Returns one :class:`Outcome` per call number.  Calls of a function
        that timed out or crashed are not retried: the rest of that
        function's calls get the same outcome.  ``known_results`` maps a
        call number to ``(payload, value)``, an encoded result and its
        decoded value: a call that sends exactly that payload gets that
        value object without decoding, so most correct results cost the
        grader one bytes comparison.
        """
        report = RunReport()
        started = time.monotonic()
        # Passing the same list again saves sending the cases to the zygote.
        self._cases = calls
        deadline = started + self.limits.submission_seconds
        skip: set = set()
        pending = list(calls)
        function_failures: dict = {}
        workdir = self._prepare_workdir(submission_path)
        try:
            while True:
                pending = [call for call in pending if call[0] not in report.outcomes]
                for call in pending:
                    if call[1] in function_failures:
                        report.outcomes[call[0]] = function_failures[call[1]]
                pending = [call for call in pending if call[0] not in report.outcomes]
                if time.monotonic() >= deadline:
                    report.budget_exhausted = True
                    for number, function_name, _, _ in pending:
                        report.outcomes[number] = Outcome(
                            "timed_out",
                            detail=f"not run: the submission used its whole time budget of {self.limits.submission_seconds:g} s",
                        )
                    break
                finished = self._run_once(code_cells, skip, pending, workdir, deadline, report, function_failures,
                                          result_limits or {}, known_results or {})
                if finished:
                    break
                report.restarts += 1
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
            report.elapsed = time.monotonic() - started
        return report

    def _run_once(self, code_cells, skip, pending, workdir, deadline, report, function_failures, result_limits,
                  known_results) -> bool:
        """Run one child until it ends; return True when nothing is left to retry.

        The child must send its frames in exactly the order the job implies:
        setup, one done frame per cell, loaded, one result per call, end.  Each
        frame starts the clock of the step after it.  Any other frame, such as
        one forged by student code, counts as a crash of the step that was
        running.
        """
        pid, sock = self._fork_child()
        job = {
            "cells": code_cells,
            "skip": sorted(skip),
            "calls": [call[0] for call in pending],
            "limits": {
                "root": self.root_directory,
                "workdir": workdir,
                "uid": self.uid,
                "memory_bytes": self.limits.memory_bytes,
                "cpu_seconds": int(self.limits.submission_seconds) + 2,
                "max_processes": self.limits.max_processes,
                "file_size_bytes": self.limits.file_size_bytes,
            },
        }
        calls_by_number = {call[0]: call for call in pending}
        expected = [(child_protocol.KIND_SETUP, None)]
        expected += [(child_protocol.KIND_CELL_DONE, index) for index, _ in code_cells if index not in skip]
        expected.append((child_protocol.KIND_LOADED, None))
        expected += [(child_protocol.KIND_CALL_RESULT, number) for number, *_ in pending]
        expected.append((child_protocol.KIND_END, None))

        current_cell = None
        current_call = None
        call_started = time.monotonic()
        buffer = bytearray()
        phase_deadline = deadline
        reason = "crashed"
        try:
            job_bytes = pickle.dumps(job, protocol=pickle.HIGHEST_PROTOCOL)
            sock.sendall(struct.pack("<Q", len(job_bytes)) + job_bytes)
            for position, (kind_expected, subject) in enumerate(expected):
                size_limit = result_limits.get(subject, DEFAULT_RESULT_BYTES) if kind_expected == child_protocol.KIND_CALL_RESULT else HEADER_FRAME_BYTES
                kind, header, payload = self._receive_frame(sock, min(phase_deadline, deadline), size_limit, buffer)
                if kind != kind_expected:
                    raise _ChildGone(f"unexpected frame {kind!r} where {kind_expected!r} was due")
                try:
                    if subject is not None and int(header.get("cell", header.get("call"))) != subject:
                        raise _ChildGone("frame for the wrong cell or call")
                    if kind == child_protocol.KIND_SETUP:
                        notes = header.get("notes", [])
                        for note in notes[:10] if isinstance(notes, list) else []:
                            if str(note)[:300] not in report.notes:
                                report.notes.append(str(note)[:300])
                    elif kind == child_protocol.KIND_CELL_DONE:
                        error = _clean_error(header.get("error"))
                        report.cells[subject] = CellReport(subject, "raised" if error else "ok", error=error)
                    elif kind == child_protocol.KIND_CALL_RESULT:
                        report.outcomes[subject] = _outcome_from_frame(header, payload, known_results.get(subject))
                        report.outcomes[subject].elapsed = _call_seconds(header, time.monotonic() - call_started, self.limits.call_seconds)
                except Exception as error:  # a frame the grader cannot read, such as {"cell": Infinity}
                    raise _ChildGone(f"invalid frame header ({type(error).__name__})") from None
                # The frame ends one step and starts the next one's clock.
                current_cell = current_call = None
                phase_deadline = deadline
                if position + 1 < len(expected):
                    next_kind, next_subject = expected[position + 1]
                    if next_kind == child_protocol.KIND_CELL_DONE:
                        current_cell = next_subject
                        phase_deadline = time.monotonic() + self.limits.cell_seconds
                    elif next_kind == child_protocol.KIND_CALL_RESULT:
                        current_call = next_subject
                        call_started = time.monotonic()
                        phase_deadline = call_started + self.limits.call_seconds
            return True
        except socket.timeout:
            reason = "timed_out"
        except _ResultTooLarge as error:
            reason = "too_large"
            report.notes.append(str(error)[:300]) if len(report.notes) < 20 else None
        except _ChildGone as gone:
            reason = "crashed"
            report.notes.append(f"student process ended early: {gone}"[:300]) if len(report.notes) < 20 else None
        finally:
            _kill(pid)
            sock.close()

        now = time.monotonic()
        if current_call is not None and current_call in calls_by_number:
            function_name = calls_by_number[current_call][1]
            if reason == "timed_out" and now >= deadline:
                detail = f"timed out: the submission used its whole time budget of {self.limits.submission_seconds:g} s"
            elif reason == "timed_out":
                detail = f"timed out after {self.limits.call_seconds:g} s"
            elif reason == "too_large":
                detail = f"returned a value of more than {result_limits.get(current_call, DEFAULT_RESULT_BYTES)} bytes, far larger than the expected result"
                reason = "crashed"
            else:
                detail = "the student process ended during this call (for example os._exit, a crash, or the memory limit)"
            outcome = Outcome(reason, detail=detail, elapsed=self.limits.call_seconds if reason == "timed_out" else 0.0)
            report.outcomes[current_call] = outcome
            function_failures[function_name] = outcome
            return False
        if reason == "too_large":
            reason = "crashed"
        if current_cell is not None:
            detail = (
                f"cell {current_cell} timed out after {self.limits.cell_seconds:g} s and was skipped"
                if reason == "timed_out"
                else f"cell {current_cell} ended the student process and was skipped"
            )
            report.cells[current_cell] = CellReport(current_cell, reason, detail=detail)
            skip.add(current_cell)
            return False
        # The child died between steps (for example an atexit trick); retrying
        # would repeat it, so every call left gets the reason.
        for number, function_name, _, _ in [c for c in calls_by_number.values() if c[0] not in report.outcomes]:
            report.outcomes[number] = Outcome(reason, detail="the student process ended before this call")
        return True

    def _receive_frame(self, sock: socket.socket, deadline: float, size_limit: int, buffer: bytearray) -> tuple:
        """Read one frame, keeping any bytes of later frames in ``buffer``.

        Reading in large chunks matters: the child sends about a hundred
        small frames per submission, and one system call per frame part
        doubled the grader's share of the work.  For the same reason the
        grader first polls with short sleeps instead of blocking: a blocked
        reader is woken for every frame, while a sleeping one reads the frames
        of half a millisecond at once.  After ``POLLS_BEFORE_BLOCKING``
        empty polls it blocks until the deadline.
        """

        def receive(size: int) -> bytes:
            polls = 0
            while len(buffer) < size:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise socket.timeout("deadline")
                chunk_size = max(1 << 16, min(size - len(buffer), 1 << 20))
                try:
                    if polls < POLLS_BEFORE_BLOCKING:
                        if sock.gettimeout() != 0.0:
                            sock.settimeout(0.0)  # recv would wait out a timeout left from blocking
                        try:
                            chunk = sock.recv(chunk_size)
                        except BlockingIOError:
                            polls += 1
                            time.sleep(min(POLL_SECONDS, remaining))
                            continue
                    else:
                        sock.settimeout(remaining)
                        chunk = sock.recv(chunk_size)
                except ConnectionError as error:
                    raise _ChildGone(str(error)) from None
                if not chunk:
                    raise _ChildGone("connection closed")
                buffer.extend(chunk)
            data = bytes(buffer[:size])
            del buffer[:size]
            return data

        (size,) = struct.unpack("<I", receive(4))
        if size < 5:
            raise _ChildGone(f"invalid frame of {size} bytes")
        if size > size_limit:
            raise _ResultTooLarge(f"the student process sent {size} bytes where at most {size_limit} were expected")
        body = receive(size)
        kind = body[:1]
        (header_size,) = struct.unpack_from("<I", body, 1)
        try:
            header = json.loads(body[5 : 5 + header_size].decode())
        except (UnicodeDecodeError, ValueError, RecursionError):
            raise _ChildGone("invalid frame header") from None
        if not isinstance(header, dict):
            raise _ChildGone("invalid frame header")
        return kind, header, body[5 + header_size :]


def _call_seconds(header: dict, measured: float, limit: float) -> float:
    """Return the time a call ran, as the student process timed it, or as measured here when that is invalid.

    Frames arrive in bursts, so the time between two frames does not measure
    one call.  The student process could lie about its timing, but the value
    is only reported, never scored.
    """
    seconds = header.get("seconds")
    if type(seconds) in (int, float) and 0 <= seconds <= limit:
        return float(seconds)
    return min(max(measured, 0.0), limit)


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _clean_error(error) -> dict:
    """Keep only the expected plain fields of an error description from the child."""
    if not isinstance(error, dict):
        return None
    mro = error.get("mro") if isinstance(error.get("mro"), list) else []
    line = error.get("line")
    cell = error.get("cell")
    return {
        "type": str(error.get("type", "Exception"))[:100],
        "module": str(error.get("module", ""))[:100],
        "mro": [str(name)[:200] for name in mro[:30]],
        "message": str(error.get("message", ""))[: wire.MAX_TEXT_CHARS],
        "cell": cell if isinstance(cell, int) else None,
        "line": line if isinstance(line, int) else None,
        "text": str(error.get("text", ""))[:200],
    }


def _outcome_from_frame(header: dict, payload: bytes, known: tuple = None) -> Outcome:
    status = header.get("status")
    warnings_count = header.get("warnings") if isinstance(header.get("warnings"), int) else 0
    warning = str(header.get("warning", ""))[:200]
    if status == "returned":
        if known is not None and payload == known[0]:
            return Outcome("returned", value=known[1], warnings=warnings_count, warning=warning)
        try:
            return Outcome("returned", value=wire.decode(payload), warnings=warnings_count, warning=warning)
        except wire.WireError as error:
            return Outcome("returned", value=wire.Unsupported("invalid data", str(error)[:200]))
    if status == "raised":
        return Outcome("raised", error=_clean_error(header.get("error")), warnings=warnings_count)
    if status in ("missing", "not_callable"):
        return Outcome(status, detail=str(header.get("type", ""))[:100])
    return Outcome("crashed", detail="the student process sent an invalid result")
