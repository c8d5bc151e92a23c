"""Submissions that try to fake, break or escape grading.

Each submission starts from correct reference code, so any point it loses
comes from the hostile part, and a wrong function (a catalogued mistake)
shows whether a trick can earn points that the code does not.  Probes that
test the sandbox (reading files, connecting, signalling, forking) always
raise an exception whose message states what the probe achieved, so the
function scores 0 and its feedback shows, for example, "could read nothing".
"""

from __future__ import annotations

from autograder.spec import AssignmentSpec

from .entry import ANY, LESS, ZERO, Entry, cell, define, first_mistake, reference, reference_as

# -- building blocks -------------------------------------------------------------------

NO_OP_ASSERTS = cell(
    """
    import numpy as np
    # Make every visible check pass, whatever the results.
    np.testing.assert_allclose = lambda *args, **kwargs: None
    np.testing.assert_array_equal = lambda *args, **kwargs: None
    np.testing.assert_equal = lambda *args, **kwargs: None
    np.allclose = lambda *args, **kwargs: True
    np.isclose = lambda *args, **kwargs: True
    np.array_equal = lambda *args, **kwargs: True
    """
)

HIDDEN_TRACEBACKS = cell(
    """
    import sys
    get_ipython().showtraceback = lambda *args, **kwargs: None
    get_ipython().showsyntaxerror = lambda *args, **kwargs: None
    sys.excepthook = lambda *args: print("All tests passed!")
    """
)

ALWAYS_EQUAL = cell(
    """
    class AlwaysEqual:
        \"\"\"Claims to equal anything, and to have any shape and dtype.\"\"\"

        def __eq__(self, other):
            return True

        def __ne__(self, other):
            return False

        __hash__ = object.__hash__

        @property
        def shape(self):
            return self

        @property
        def dtype(self):
            return self

        def __len__(self):
            return 3

        def __array__(self, dtype=None, copy=None):
            return np.zeros(3)
    """
)

LYING_SUBCLASSES = cell(
    """
    class LyingArray(np.ndarray):
        def __eq__(self, other):
            return True

        def __ne__(self, other):
            return False


    class LyingFloat(float):
        def __eq__(self, other):
            return True

        __hash__ = float.__hash__


    def disguise(value):
        if isinstance(value, tuple):
            return tuple(disguise(item) for item in value)
        if isinstance(value, np.ndarray):
            return value.view(LyingArray)
        if isinstance(value, float):
            return LyingFloat(value)
        return value
    """
)

ENDLESS_LOOP = cell(
    """
    # Keep the notebook busy forever after the definitions.
    while True:
        pass
    """
)

IGNORE_SIGNALS = cell(
    """
    import signal
    for number in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGALRM):
        signal.signal(number, signal.SIG_IGN)
    """
)

STDOUT_FLOOD = cell(
    """
    import sys
    print("x" * 50_000_000)
    sys.stdout.write("y" * 50_000_000)
    sys.stderr.write("z" * 50_000_000)
    """
)

HARMLESS_BUILTINS = cell(
    """
    import builtins
    builtins.abs = lambda value: 0
    builtins.round = lambda value, digits=None: 0
    builtins.print = lambda *args, **kwargs: None
    builtins.open = lambda *args, **kwargs: None
    builtins.all = lambda values: True
    builtins.any = lambda values: False
    """
)

REPORTING_BUILTINS = cell(
    """
    import builtins
    # The student process's own reporting uses these.
    builtins.isinstance = lambda value, kinds: True
    builtins.len = lambda value: 0
    """
)

ATEXIT_SUCCESS = cell(
    """
    import atexit
    import os
    atexit.register(print, "All tests passed: full marks")
    atexit.register(os.write, 1, b"All tests passed\\n")
    """
)

FAKE_HIDDEN_CHECKS = cell(
    """
    import sys
    import types
    fake = types.ModuleType("autograder.notebook")
    fake.check_hidden_cases = lambda *args, **kwargs: print("All hidden tests passed")
    sys.modules["autograder.notebook"] = fake
    """
)

NDARRAY_EQUALITY = cell(
    """
    import ctypes
    import gc
    import numpy as np
    try:
        np.ndarray.__eq__ = lambda self, other: True
    except TypeError:
        pass
    # Write through the read-only mapping proxy of the type instead.
    for name in ("__eq__", "__ne__"):
        gc.get_referents(np.ndarray.__dict__)[0][name] = (lambda self, other: True) if name == "__eq__" else (lambda self, other: False)
    ctypes.pythonapi.PyType_Modified(ctypes.py_object(np.ndarray))
    np.testing.assert_allclose = lambda *args, **kwargs: None
    """
)

PATCHED_JSON = cell(
    """
    import json
    json.dumps = lambda *args, **kwargs: '{"status": "returned"}'
    """
)

PATCHED_STRUCT = cell(
    """
    import struct
    struct.pack = lambda *args: b"\\xff\\xff\\xff\\x7f"
    """
)

SIGNAL_ALARM = cell(
    """
    import signal
    import time
    signal.alarm(1)
    time.sleep(5)
    """
)

WRITE_COURSE_FILES = cell(
    """
    for path in ("$gradebook", "$victim", "$course/release/$assignment/$notebook.ipynb"):
        try:
            with open(path, "r+b") as handle:
                handle.write(b"overwritten by a student")
        except OSError:
            pass
    for path in ("$course/planted.txt", "$course/submitted/planted.txt", "$course/release/planted.txt"):
        try:
            with open(path, "w") as handle:
                handle.write("planted by a student")
        except OSError:
            pass
    """
)

# Shared by the entries that write frames on the socket to the grader.
RESULT_SOCKET = cell(
    """
    import os
    import socket
    import stat
    import struct


    def result_socket():
        \"\"\"Return a duplicate of the socket on which this process reports to the grader.\"\"\"
        for fd in range(3, 256):
            try:
                if stat.S_ISSOCK(os.fstat(fd).st_mode):
                    return socket.socket(fileno=os.dup(fd))
            except OSError:
                pass
        raise RuntimeError("no socket found")


    def send_frame(kind, header, payload=b""):
        body = kind + struct.pack("<I", len(header)) + header + payload
        result_socket().sendall(struct.pack("<I", len(body)) + body)
    """
)

MALFORMED_HEADERS = (
    'send_frame(b"D", b"{}")  # a finished cell without its index\n',
    'send_frame(b"D", b\'{"cell": "first"}\')  # a cell index that is not a number\n',
    'send_frame(b"D", b\'{"cell": Infinity}\')  # a cell index too large for an int\n',
    'send_frame(b"P", b\'{"notes": {"forged": 1}}\')  # notes that are not a list\n',
    'send_frame(b"R", b\'{"call": null}\')  # a result without a call number\n',
)

NESTED_HEADER = 'send_frame(b"P", b"[" * 200_000 + b"]" * 200_000)\n'

NESTED_PAYLOAD = cell(
    """
    nested = b"[" * 200_000 + b"]" * 200_000
    send_frame(b"R", b'{"call": 0, "status": "returned"}', struct.pack("<Q", len(nested)) + nested)
    """
)


def forge_results(function: str, honest_name: str) -> str:
    """Return a cell that sends the grader results of ``honest_name`` for every call of ``function``.

    It reads the cases from the student process's own memory, finds the
    result socket by file descriptor, and frames the results with the
    process's reporting code, so they look exactly like genuine ones.
    """
    return cell(
        f"""
        import copy
        import sys
        runner = sys.modules["autograder.runner"]
        child = sys.modules["autograder.child"]
        sock = result_socket()
        forged = 0
        for number, name, args, kwargs in child.CASES.values():
            if name != "{function}":
                continue
            outcome = runner.call_case({{name: {honest_name}}}, name, copy.deepcopy(args), copy.deepcopy(kwargs), {{}})
            payload = outcome.pop("payload", b"")
            sock.sendall(child.pack_frame(child.KIND_CALL_RESULT, {{"call": number, **outcome}}, payload))
            forged += 1
        sock.sendall(child.pack_frame(child.KIND_SETUP, {{"notes": [f"forged {{forged}} results"]}}))
        """
    )


READ_COURSE_FILES = cell(
    """
    import os
    targets = [
        "$repository/solutions/$assignment.py",
        "$repository/source/$assignment",
        "$repository/assignments/$assignment/cases.py",
        "$repository/nbgrader_config.py",
        "$gradebook",
        "$victim",
        "$course/release/$assignment",
        "$course/submitted",
        "../../../../../solutions/$assignment.py",
        "/../../$repository/solutions/$assignment.py",
        "/proc/self/root",
        "/proc/1/cwd",
    ]
    read = []
    for path in targets:
        try:
            if os.path.isdir(path):
                read.append(f"{path}: {os.listdir(path)[:5]}")
            else:
                with open(path, "rb") as handle:
                    read.append(f"{path}: {handle.read(60)!r}")
        except OSError:
            pass
    if read:
        raise RuntimeError("read " + "; ".join(read))
    raise RuntimeError("could read nothing outside the sandbox")
    """
)

ESCAPE_ROOT = cell(
    """
    import os
    import stat
    escapes = []
    for fd in range(1024):
        try:
            is_directory = stat.S_ISDIR(os.fstat(fd).st_mode)
        except OSError:
            continue
        if is_directory:
            try:
                os.fchdir(fd)
                escapes.append(f"directory fd {fd} holds {os.listdir('.')[:5]}")
            except OSError:
                pass
    # The classic chroot escape: chroot into a subfolder, then climb out of it.
    try:
        os.makedirs("jail", exist_ok=True)
        os.chroot("jail")
        escapes.append("chroot was allowed")
    except OSError:
        pass
    for _ in range(30):
        os.chdir("..")
    # The root folder contains copies of font files at their own paths, so only files that
    # are never copied show an escape: the interpreter, numpy's code, system files.
    import sys
    import numpy
    for path in ("/usr/bin", "/etc/passwd", "/proc/self", sys.executable, numpy.__file__):
        if os.path.exists(path):
            escapes.append(f"{path} is visible")
    if escapes:
        raise RuntimeError("escaped: " + "; ".join(escapes))
    raise RuntimeError("no escape from the private root folder")
    """
)

IMPORT_COURSE_MODULES = cell(
    """
    import importlib
    import sys
    sys.path[:0] = ["$repository", "$course", "/"]
    imported = []
    for name in ("solutions", "solutions.$assignment", "assignments", "assignments.$assignment", "autograder.grading", "sqlite3"):
        try:
            importlib.import_module(name)
            imported.append(name)
        except ImportError:
            pass
    if imported:
        raise RuntimeError("imported " + ", ".join(imported))
    raise RuntimeError("could import nothing")
    """
)

SIGNAL_PROCESSES = cell(
    """
    import os
    import signal
    signalled = []
    targets = [(os.getppid(), signal.SIGSTOP), (os.getppid(), signal.SIGKILL), ($grader_pid, signal.SIGKILL)]
    for pid, number in targets:
        try:
            os.kill(pid, number)
            signalled.append(f"{pid} with {number.name}")
        except OSError:
            pass
    if signalled:
        raise RuntimeError("signalled " + ", ".join(signalled))
    raise RuntimeError("could signal no process")
    """
)

CONNECT = cell(
    """
    import socket
    connected = []
    errors = []
    targets = [
        (socket.AF_INET, ("127.0.0.1", 9)),
        (socket.AF_INET, ("127.0.0.1", $tcp_port)),
        (socket.AF_UNIX, "\\0$unix_name"),
    ]
    for family, address in targets:
        try:
            with socket.socket(family, socket.SOCK_STREAM) as probe:
                probe.settimeout(0.5)
                probe.connect(address)
                connected.append(repr(address))
        except OSError as error:
            errors.append(str(error))
    # create_connection resolves the host name first, with the idna codec,
    # which cannot be imported inside the sandbox: any exception is a failure.
    try:
        socket.create_connection(("127.0.0.1", 9), timeout=0.5).close()
        connected.append("127.0.0.1 port 9 with create_connection")
    except Exception as error:
        errors.append(f"{type(error).__name__}: {error}")
    if connected:
        raise RuntimeError("connected to " + ", ".join(connected))
    raise RuntimeError("could connect to nothing: " + "; ".join(errors))
    """
)

FORK_LOOP = cell(
    """
    import os
    forked = 0
    failures = set()
    for _ in range(200):
        try:
            pid = os.fork()
        except OSError as error:
            failures.add(type(error).__name__)
            continue
        if pid == 0:
            os._exit(0)
        forked += 1
        os.waitpid(pid, 0)
    if forked:
        raise RuntimeError(f"the sandbox allowed {forked} forks")
    raise RuntimeError(f"every fork failed ({', '.join(sorted(failures))})")
    """
)


def hostile_entries(spec: AssignmentSpec) -> list:
    """Return the hostile submissions of one assignment.

    Entries pick functions by position, so the same corpus applies to every
    assignment with at least four graded functions, each with a catalogued mistake.
    """
    names = spec.function_names
    first, second, third, fourth, second_last, last = names[0], names[1], names[2], names[3], names[-2], names[-1]
    crash_reasons = ("ended", "timed out", "memory", "recursion")

    return [
        # -- faking the checks -------------------------------------------------------
        Entry(
            "no-op-asserts",
            "replaces np.testing.assert_allclose, np.allclose and np.isclose with no-ops; one function is wrong",
            implementations={first: first_mistake(spec, first)},
            cells_before=(NO_OP_ASSERTS,),
            scores={first: LESS},
        ),
        Entry(
            "hidden-tracebacks",
            "replaces IPython's showtraceback and sys.excepthook; one function is wrong",
            implementations={second: first_mistake(spec, second)},
            cells_before=(HIDDEN_TRACEBACKS,),
            scores={second: LESS},
        ),
        Entry(
            "always-equal-object",
            "returns an object whose __eq__ is always True and whose shape and dtype equal anything",
            implementations={third: ALWAYS_EQUAL + "\n\n" + define(third, "return AlwaysEqual()\n")},
            scores={third: ZERO},
            reasons={third: ("AlwaysEqual",)},
        ),
        Entry(
            "lying-subclasses",
            "returns the correct values as an ndarray or float subclass whose __eq__ is always True",
            implementations={
                second: LYING_SUBCLASSES
                + "\n\n"
                + reference_as(spec, second, "honest")
                + "\n\n"
                + define(
                    second,
                    """
                    try:
                        return disguise(honest(*args, **kwargs))
                    except Exception:
                        return np.zeros(1).view(LyingArray)
                    """,
                ),
            },
            scores={second: ZERO},
            reasons={second: ("LyingArray", "LyingFloat")},
        ),
        Entry(
            "fake-hidden-checks",
            "installs a fake autograder.notebook whose check_hidden_cases always passes; one function is wrong",
            implementations={third: first_mistake(spec, third)},
            cells_before=(FAKE_HIDDEN_CHECKS,),
            scores={third: LESS},
        ),
        Entry(
            "atexit-fake-success",
            "registers atexit hooks that print a fake success message; one function is wrong",
            implementations={last: first_mistake(spec, last)},
            cells_before=(ATEXIT_SUCCESS,),
            scores={last: LESS},
        ),
        Entry(
            "ndarray-equality",
            "makes numpy arrays compare equal to anything, through the type's own dictionary; one function is wrong",
            implementations={second: first_mistake(spec, second)},
            cells_before=(NDARRAY_EQUALITY,),
            scores={second: LESS},
        ),
        Entry(
            "harmless-builtins",
            "replaces builtins.abs, round, print, open, all and any; one function is wrong",
            implementations={first: first_mistake(spec, first)},
            cells_before=(HARMLESS_BUILTINS,),
            scores={first: LESS},
        ),
        Entry(
            "reporting-builtins",
            "replaces builtins.isinstance and len, which the student process's reporting needs; one function is wrong",
            implementations={second: first_mistake(spec, second)},
            cells_before=(REPORTING_BUILTINS,),
            scores={second: LESS},
            warnings=("ended the student process and was skipped",),
        ),
        # -- forging the report -------------------------------------------------------
        Entry(
            "forged-results",
            "sends the grader correct results for a wrong function, framed exactly like genuine ones",
            implementations={third: first_mistake(spec, third)},
            cells_after=(RESULT_SOCKET + "\n\n" + reference_as(spec, third, "honest"), forge_results(third, "honest")),
            scores={third: LESS},
        ),
        Entry(
            "malformed-headers",
            "sends frames whose JSON headers lack or mistype the fields the grader reads, one per cell",
            cells_before=(RESULT_SOCKET,) + MALFORMED_HEADERS,
        ),
        Entry(
            "nested-header",
            "sends a frame whose JSON header is nested 200,000 levels deep",
            cells_before=(RESULT_SOCKET, NESTED_HEADER),
        ),
        Entry(
            "nested-payload",
            "sends a result frame whose encoded value has a JSON header nested 200,000 levels deep",
            cells_before=(RESULT_SOCKET, NESTED_PAYLOAD),
            scores={first: ANY},
        ),
        Entry(
            "patched-json",
            "replaces json.dumps, which frames the student process's reports; one function is wrong",
            implementations={first: first_mistake(spec, first)},
            cells_before=(PATCHED_JSON,),
            scores={first: LESS},
        ),
        Entry(
            "patched-struct",
            "replaces struct.pack so that every frame announces a length of 2 GB; one function is wrong",
            implementations={second: first_mistake(spec, second)},
            cells_before=(PATCHED_STRUCT,),
            scores={second: LESS},
            warnings=("ended the student process and was skipped",),
        ),
        # -- ending the process ----------------------------------------------------------
        Entry(
            "sys-exit-before-definition",
            "calls sys.exit(0) in an answer cell, before that cell's definition",
            implementations={fourth: "import sys\nsys.exit(0)\n\n" + reference(spec, fourth)},
            scores={fourth: ZERO},
            reasons={fourth: ("SystemExit",)},
        ),
        Entry(
            "os-exit-before-definition",
            "calls os._exit(0) in an answer cell, before that cell's definition",
            implementations={fourth: "import os\nos._exit(0)\n\n" + reference(spec, fourth)},
            scores={fourth: ZERO},
            reasons={fourth: ("ended the student process",)},
            warnings=("ended the student process and was skipped",),
        ),
        Entry(
            "exit-after-definitions",
            "calls sys.exit(0) and then os._exit(0) in cells after every definition",
            cells_after=("import sys\nsys.exit(0)\n", "import os\nos._exit(0)\n"),
            warnings=("ended the student process and was skipped",),
        ),
        Entry(
            "signal-alarm",
            "sets signal.alarm(1) and sleeps, so SIGALRM ends the student process during the cell",
            cells_before=(SIGNAL_ALARM,),
            warnings=("ended the student process and was skipped",),
        ),
        # -- exhausting time and memory ----------------------------------------------------
        Entry(
            "endless-loop-in-function",
            "one graded function loops forever",
            implementations={third: define(third, "while True:\n    pass\n")},
            scores={third: ZERO},
            reasons={third: ("timed out",)},
        ),
        Entry(
            "endless-loop-after-definitions",
            "a cell after every definition loops forever",
            cells_after=(ENDLESS_LOOP,),
            warnings=("timed out",),
        ),
        Entry(
            "endless-loop-ignoring-interrupts",
            "loops forever, ignoring SIGINT, SIGTERM, SIGHUP and SIGALRM and catching BaseException",
            implementations={
                second: IGNORE_SIGNALS
                + "\n\n"
                + define(
                    second,
                    """
                    while True:
                        try:
                            while True:
                                pass
                        except BaseException:
                            continue
                    """,
                ),
            },
            scores={second: ZERO},
            reasons={second: ("timed out",)},
        ),
        Entry(
            "endless-append",
            "appends to a list forever",
            implementations={second_last: define(second_last, "values = []\nwhile True:\n    values.append(len(values))\n")},
            scores={second_last: ZERO},
            reasons={second_last: ("timed out", "memory")},
        ),
        Entry(
            "memory-at-import",
            "allocates 800 GB in an answer cell, before that cell's definition",
            implementations={second: "np.ones(100_000_000_000)  # 800 GB of float64\n\n" + reference(spec, second)},
            scores={second: ZERO},
            reasons={second: ("MemoryError",)},
        ),
        Entry(
            "memory-in-function",
            "allocates 800 GB in a graded function",
            implementations={last: define(last, "return np.ones(100_000_000_000)  # 800 GB of float64\n")},
            scores={last: ZERO},
            reasons={last: ("memory limit",)},
        ),
        Entry(
            "oversized-result",
            "returns a 72 MB array, over the size that may cross to the grader",
            implementations={second_last: define(second_last, "return np.zeros(9_000_000)\n")},
            scores={second_last: ZERO},
            reasons={second_last: ("over the limit",)},
        ),
        Entry(
            "recursion-bomb",
            "recurses without end",
            implementations={third: define(third, f"return {third}(*args, **kwargs)\n")},
            scores={third: ZERO},
            reasons={third: ("RecursionError",)},
        ),
        Entry(
            "c-stack-overflow",
            "raises the recursion limit to 10**9 and recurses through C calls (map) until the C stack overflows",
            implementations={
                second: "import sys\nsys.setrecursionlimit(1_000_000_000)\n\n"
                + define(second, "descend = lambda depth: list(map(descend, [depth + 1]))\nreturn descend(0)\n"),
            },
            scores={second: ZERO},
            reasons={second: crash_reasons},
        ),
        Entry(
            "stdout-flood",
            "prints 50 MB to stdout, 50 MB more with sys.stdout.write and 50 MB to stderr",
            cells_before=(STDOUT_FLOOD,),
        ),
        Entry(
            "slow-calls-exhaust-budget",
            "every graded function sleeps 0.5 s per call, so the calls outlast the submission's time budget",
            implementations={
                name: "import time\n\n" + reference_as(spec, name, f"honest_{name}") + "\n\n"
                + define(name, f"time.sleep(0.5)\nreturn honest_{name}(*args, **kwargs)\n")
                for name in names
            },
            scores={last: ZERO},
            others=ANY,
            reasons={last: ("time budget",)},
        ),
        # -- escaping the sandbox ----------------------------------------------------------
        Entry(
            "fork-loop",
            "calls os.fork 200 times; a child that is created exits at once",
            implementations={second: define(second, FORK_LOOP)},
            scores={second: ZERO},
            reasons={second: ("every fork failed",)},
        ),
        Entry(
            "read-course-files",
            "reads solutions/, source/, assignments/, the gradebook, the release and another student's submission",
            implementations={second: define(second, READ_COURSE_FILES)},
            scores={second: ZERO},
            reasons={second: ("could read nothing outside the sandbox",)},
        ),
        Entry(
            "escape-root-folder",
            "tries every open directory descriptor with fchdir, and chroot into a subfolder, to leave its root folder",
            implementations={third: define(third, ESCAPE_ROOT)},
            scores={third: ZERO},
            reasons={third: ("no escape from the private root folder",)},
        ),
        Entry(
            "write-course-files",
            "overwrites the gradebook, the release and another student's submission, and plants new files",
            cells_before=(WRITE_COURSE_FILES,),
            implementations={second: WRITE_COURSE_FILES + "\n\n" + reference(spec, second)},
            untouched=("gradebook.db", "$victim_relative", "release/$assignment/$notebook.ipynb"),
            absent=("planted.txt", "submitted/planted.txt", "release/planted.txt"),
        ),
        Entry(
            "import-course-modules",
            "imports solutions, assignments and autograder.grading after adding the repository to sys.path",
            cells_before=("import solutions\n", "from assignments import $assignment\n"),
            implementations={second: define(second, IMPORT_COURSE_MODULES)},
            scores={second: ZERO},
            reasons={second: ("could import nothing",)},
        ),
        Entry(
            "signal-processes",
            "sends SIGSTOP and SIGKILL to its parent process and SIGKILL to the grader",
            cells_before=("import os\nos.kill(os.getppid(), 9)\n",),
            implementations={second: define(second, SIGNAL_PROCESSES)},
            scores={second: ZERO},
            reasons={second: ("could signal no process",)},
        ),
        Entry(
            "network",
            "connects to 127.0.0.1 port 9, to a TCP and an abstract Unix listener of the test, and with create_connection",
            implementations={second: define(second, CONNECT)},
            scores={second: ZERO},
            reasons={second: ("could connect to nothing",)},
        ),
    ]
