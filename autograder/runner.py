"""Execute a submission's code cells and call its functions on case inputs.

The same code runs in two places: inside the sandboxed student process
(``autograder.sandbox``) and in the grader's own process for trusted code
(reference solutions, catalogue entries, tests).  Everything it reports is
plain data: an error is a dict of strings and integers, and a returned value
is encoded with :mod:`autograder.wire`.
"""

from __future__ import annotations

import sys
import time
import traceback
import warnings

from . import wire

CELL_FILENAME_PREFIX = "<cell "


class _SilentShell:
    """Stand-in for IPython's shell, so transformed magics run as no-ops."""

    def __getattr__(self, name):
        return lambda *args, **kwargs: None


def cell_filename(index: int) -> str:
    return f"{CELL_FILENAME_PREFIX}{index}>"


def describe_exception(error: BaseException, cell_sources: dict) -> dict:
    """Return a plain description of ``error`` with the student's line that raised it."""
    kind = type(error)
    try:
        message = str(error)
    except BaseException:  # a hostile __str__ must not escape
        message = "<message could not be read>"
    description = {
        "type": getattr(kind, "__name__", "?"),
        "module": str(getattr(kind, "__module__", "?")),
        "mro": [f"{getattr(base, '__module__', '?')}.{getattr(base, '__name__', '?')}" for base in kind.__mro__],
        "message": message[: wire.MAX_TEXT_CHARS],
        "cell": None,
        "line": None,
        "text": "",
    }
    # The innermost frame that belongs to the student's cells locates the error.
    for frame, line in traceback.walk_tb(error.__traceback__):
        filename = frame.f_code.co_filename
        if filename.startswith(CELL_FILENAME_PREFIX):
            index = int(filename[len(CELL_FILENAME_PREFIX) : -1])
            source_lines = cell_sources.get(index, "").splitlines()
            description["cell"] = index
            description["line"] = line
            description["text"] = source_lines[line - 1].strip()[:200] if 0 < line <= len(source_lines) else ""
    return description


def new_namespace() -> dict:
    """Return the globals a notebook starts with: a fresh ``__main__``-like dict."""
    return {"__name__": "__main__", "__builtins__": __builtins__, "get_ipython": _SilentShell}


def execute_cells(cells: list, skip: set, namespace: dict, report) -> None:
    """Run each ``(index, code)`` cell in order; a raising cell does not stop the rest.

    ``report(event, index, error)`` is called with "start" before and "done"
    after each cell, with ``error`` a description dict or None.
    """
    sources = {index: code for index, code in cells}
    for index, code in cells:
        if index in skip:
            continue
        report("start", index, None)
        error = None
        try:
            # dont_inherit: this module's __future__ imports must not change the student's code.
            compiled = compile(code, cell_filename(index), "exec", dont_inherit=True)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                exec(compiled, namespace)
        except BaseException as raised:  # SystemExit and KeyboardInterrupt too: a cell may not end grading
            error = describe_exception(raised, sources)
        report("done", index, error)


def call_case(namespace: dict, function_name: str, args: tuple, kwargs: dict, cell_sources: dict) -> dict:
    """Call the named function on one case and return a plain outcome dict.

    The outcome has ``status`` "missing", "not_callable", "raised" (with
    ``error``) or "returned" (with ``payload``, the encoded value),
    ``warnings``, the number of warnings the call emitted, and ``seconds``,
    the time the function ran.  A returned value that came with warnings
    has ``warning``, the first one as text.
    """
    function = namespace.get(function_name)
    if function is None:
        return {"status": "missing"}
    if not callable(function):
        return {"status": "not_callable", "type": type(function).__name__}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        started = time.perf_counter()
        try:
            value = function(*args, **kwargs)
        except BaseException as raised:  # the student's exception is a verdict, not a grader error
            seconds = time.perf_counter() - started
            return {"status": "raised", "error": describe_exception(raised, cell_sources), "warnings": len(caught), "seconds": seconds}
        seconds = time.perf_counter() - started
    try:
        payload = wire.encode(value)
    except BaseException as raised:
        return {"status": "raised", "error": describe_exception(raised, cell_sources), "warnings": len(caught), "seconds": seconds}
    outcome = {"status": "returned", "payload": payload, "warnings": len(caught), "seconds": seconds}
    if caught:
        outcome["warning"] = describe_warning(caught[0])
    return outcome


def describe_warning(caught) -> str:
    """Return "Category: message" of a recorded warning, short, whatever its message does."""
    try:
        text = f"{caught.category.__name__}: {caught.message}"
    except BaseException:  # a hostile __str__ must not escape
        text = "a warning whose message could not be read"
    return text[:200]


def raise_recursion_floor() -> None:
    """Keep deep student recursion from exhausting the C stack before RecursionError."""
    sys.setrecursionlimit(min(sys.getrecursionlimit(), 3000))
