"""Pre-started process that forks one sandboxed child per submission.

The grader starts this module as a fresh interpreter (arguments: the
control socket's descriptor, the grader's pid and the children's root
directory), so the children it forks contain no grader state: no reference
solutions, no expected results, no gradebook connection.  It imports the
libraries that student code may use once, before any privilege is dropped,
because a child confined to its root directory can no longer import
anything new.

Protocol on the control socket (file descriptor in ``argv[1]``): to fork,
the grader sends the byte ``f`` with one file descriptor attached, the
child's end of a fresh socket pair; the zygote forks and replies with the
child's pid as 8 bytes.  The child talks to the grader only through that
socket pair.  To set the cases, the grader sends the byte ``c``, an 8-byte
length and the pickled list of calls; the zygote replies with one byte.
Children inherit the cases, so a job names its calls by number.
"""

from __future__ import annotations

import gc
import os
import pickle
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
    "matplotlib", "matplotlib.pyplot", "matplotlib.backends.backend_agg", "IPython.display",
)


def _preload() -> None:
    import importlib

    for name in PRELOADED_MODULES:
        try:
            importlib.import_module(name)
        except ImportError:  # optional libraries: a missing one is simply unavailable to students
            pass
    from . import child

    # Not dumpable: a process of the same user can neither trace it nor take its descriptors.
    child._libc.prctl(child.PR_SET_DUMPABLE, 0, 0, 0, 0)
    child.ZYGOTE_PID = os.getpid()
    child.MEMORY_BASE = child._vm_size_bytes()
    os.environ.clear()
    os.environ.update(child.CHILD_ENVIRONMENT)
    # Objects loaded so far are never collected, so a child's garbage collector does not copy their pages.
    gc.collect()
    gc.freeze()


PR_SET_PDEATHSIG = 1
# Limit on the font bytes copied into a sandbox's root directory. matplotlib's own fonts are copied first.
FONT_COPY_LIMIT_BYTES = 64 << 20


def _font_files() -> list:
    """Return the font files the preloaded matplotlib may open, its own first; [] without matplotlib."""
    if "matplotlib.font_manager" not in sys.modules:
        return []
    import matplotlib
    from matplotlib import font_manager

    own = os.path.join(matplotlib.get_data_path(), "fonts")
    files = [os.path.join(folder, name) for folder, _, names in sorted(os.walk(own)) for name in sorted(names)]
    listed = [entry.fname for entry in font_manager.fontManager.ttflist + font_manager.fontManager.afmlist]
    # A listed path may be a symbolic link, and matplotlib opens both the path and its target.
    return list(dict.fromkeys(files + listed + [os.path.realpath(path) for path in listed]))


def expose_fonts(root: str) -> int:
    """Copy the font files in matplotlib's font list into ``root``, each at its own path; return the bytes copied.

    A child confined to ``root`` cannot open files outside it, and matplotlib
    opens a font file whenever it measures text, so ``plt.tight_layout()``,
    ``fig.canvas.draw()`` and ``savefig`` failed with "Failed to find font".
    The copies are read-only for students.  Past ``FONT_COPY_LIMIT_BYTES``
    the remaining fonts are left out, and only text in them fails to draw.
    """
    import shutil

    copied = 0
    for path in _font_files():
        target = os.path.join(root, os.path.abspath(path).lstrip(os.sep))
        try:
            size = os.path.getsize(path)
            if copied + size > FONT_COPY_LIMIT_BYTES or os.path.exists(target):
                continue
            folder = os.path.dirname(target)
            missing = []
            while not os.path.isdir(folder):
                missing.append(folder)
                folder = os.path.dirname(folder)
            for folder in reversed(missing):
                os.mkdir(folder)
                os.chmod(folder, 0o755)
            shutil.copyfile(path, target)
            os.chmod(target, 0o644)
            copied += size
        except OSError:  # an unreadable or vanished font only fails to draw, as before
            continue
    return copied


def die_with_parent(parent_pid: int) -> None:
    """Ask the kernel to SIGKILL this process when its parent ends, and check it has not already."""
    import ctypes

    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent_pid:
        os._exit(0)


def serve(control_fd: int) -> None:
    from . import child

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
        if message == b"c":
            for fd in fds:
                os.close(fd)
            (size,) = struct.unpack("<Q", child._receive_exactly(control, 8))
            calls = pickle.loads(child._receive_exactly(control, size))  # sent by the grader
            child.CASES = {call[0]: call for call in calls}
            gc.freeze()
            control.sendall(b"c")
            continue
        child_end = fds[0]
        pid = os.fork()
        if pid == 0:
            control.close()
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            child.run_child(child_end)
            os._exit(0)
        os.close(child_end)
        control.sendall(struct.pack("<q", pid))


if __name__ == "__main__":
    die_with_parent(int(sys.argv[2]))
    _preload()
    if len(sys.argv) > 3 and os.geteuid() == 0:  # only a root grader confines children to the root directory
        expose_fonts(sys.argv[3])
    serve(int(sys.argv[1]))
