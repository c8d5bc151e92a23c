"""Pre-started process that forks one sandboxed child per submission.

The grader starts this module as a fresh interpreter, so the children it
forks contain no grader state: no reference solutions, no expected results,
no gradebook connection.  It imports the libraries that student code may
use once, before any privilege is dropped, because a child confined to an
empty root directory can no longer import anything new.

Protocol on the control socket (file descriptor in ``argv[1]``): the grader
sends one byte with one file descriptor attached, the child's end of a fresh
socket pair; the zygote forks, and replies with the child's pid as 8 bytes.
The child talks to the grader only through that socket pair.
"""

from __future__ import annotations

import os
import signal
import socket
import struct
import sys

# Libraries student code may import; everything else is unavailable inside
# the sandbox.  Keep numpy single-threaded so one child is one process.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")
os.environ.setdefault("MPLBACKEND", "Agg")

PRELOADED_MODULES = (
    "numpy", "numpy.linalg", "numpy.random", "numpy.fft", "numpy.testing", "numpy.polynomial",
    "math", "cmath", "itertools", "functools", "collections", "collections.abc", "typing",
    "dataclasses", "warnings", "random", "statistics", "operator", "copy", "string", "re",
    "fractions", "decimal", "numbers", "time", "json", "textwrap", "pickle", "traceback",
    "matplotlib", "matplotlib.pyplot", "IPython.core.display",
)


def _preload() -> None:
    import importlib

    for name in PRELOADED_MODULES:
        try:
            importlib.import_module(name)
        except ImportError:  # optional libraries: a missing one is simply unavailable to students
            pass
    from . import child  # noqa: F401  (the child's entry point must be in memory before forking)


PR_SET_PDEATHSIG = 1


def die_with_parent(parent_pid: int) -> None:
    """Ask the kernel to SIGKILL this process when its parent ends, and check it has not already."""
    import ctypes

    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent_pid:
        os._exit(0)


def serve(control_fd: int) -> None:
    control = socket.socket(fileno=control_fd)
    # Children are reaped automatically; the grader detects their end by EOF.
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    while True:
        try:
            message, fds, _, _ = socket.recv_fds(control, 1, 1)
        except OSError:
            return
        if not message:
            return
        child_end = fds[0]
        zygote_pid = os.getpid()
        pid = os.fork()
        if pid == 0:
            control.close()
            os.environ["AUTOGRADER_ZYGOTE_PID"] = str(zygote_pid)
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            from .child import run_child

            run_child(child_end)
            os._exit(0)
        os.close(child_end)
        control.sendall(struct.pack("<q", pid))


if __name__ == "__main__":
    die_with_parent(int(sys.argv[2]))
    _preload()
    serve(int(sys.argv[1]))
