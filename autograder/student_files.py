"""Build the files behind ``check(name)`` and ``hint(name)`` in the student notebooks.

Each ``source/<assignment>/`` folder gets two files, which
``nbgrader generate_assignment`` copies into ``release/<assignment>/``:

* ``visible_checks.py``: one self-contained module, needing only numpy,
  made of the grader's comparison code (``wire.py``, ``compare.py``, three
  functions of ``grading.py``) and the student-side runtime
  (``student_runtime.py``), copied verbatim;
* ``visible_checks.json``: the visible cases of every graded function, with
  their inputs, the reference results on them, the catalogued mistakes'
  results on them, the names of the case groups that have hidden cases, and
  the function's hint from ``assignments/<assignment>/hints.py``.

Nothing else is shipped: no reference code, no hidden case, no expected
result of a hidden case.  The same assignments and solutions always give
the same files.
"""

from __future__ import annotations

import ast
import importlib
import json
import math
import textwrap
from dataclasses import dataclass
from pathlib import Path

from .compare import Outcome, compare_outcomes
from .grading import AssignmentGrader, assignment_ids, load_assignment
from .student_runtime import DATA_FORMAT, DATA_FILE_NAME, encode_outcome, encode_value
from .submission import STUDENT_CHECK_MODULE

MODULE_NAME = STUDENT_CHECK_MODULE
MODULE_FILE_NAME = f"{MODULE_NAME}.py"
FILE_NAMES = (MODULE_FILE_NAME, DATA_FILE_NAME)

# Modules copied whole into the generated module, in this order; the runtime
# comes last.  Any other definition that they import from this package is
# copied too, with the definitions it needs in turn.
WHOLE_MODULES = ("wire.py", "compare.py")
RUNTIME_MODULE = "student_runtime.py"

# Floats in a committed data file may differ from a fresh build by this much,
# because LAPACK and BLAS round differently on different processors.
DATA_RTOL = 1e-12
DATA_ATOL = 1e-14


class StudentFilesError(Exception):
    """An assignment lacks what the student files need, such as a hint."""


# -- the module ---------------------------------------------------------------------------------


def _package_folder() -> Path:
    return Path(__file__).resolve().parent


def _bound_names(node) -> list:
    """Return (bound name, import key) for each alias of an import statement."""
    if isinstance(node, ast.Import):
        return [(alias.asname or alias.name.split(".")[0], ("import", alias.name, alias.asname)) for alias in node.names]
    return [(alias.asname or alias.name, ("from", node.module, alias.name, alias.asname)) for alias in node.names]


@dataclass
class _ParsedModule:
    """One module of this package: its lines, top-level statements and imports."""

    file_name: str
    lines: list
    tree: ast.Module
    # Top-level definition name -> (first line index, end line index), comments above included.
    definitions: dict
    # Name imported from a sibling module -> that module's file name.
    relative: dict
    # Name bound by an absolute import -> import key, for _format_imports.
    absolute: dict

    @classmethod
    def read(cls, file_name: str) -> "_ParsedModule":
        text = (_package_folder() / file_name).read_text(encoding="utf-8")
        lines, tree = text.splitlines(), ast.parse(text)
        definitions, relative, absolute = {}, {}, {}
        for node in tree.body:
            if isinstance(node, ast.ImportFrom) and node.level:
                for alias in node.names:
                    relative[alias.asname or alias.name] = f"{node.module}.py"
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                if getattr(node, "module", None) != "__future__":
                    absolute.update(_bound_names(node))
            else:
                if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                    names = [node.name]
                elif isinstance(node, (ast.Assign, ast.AnnAssign)):
                    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                    names = [target.id for target in targets if isinstance(target, ast.Name)]
                else:
                    continue
                start = min([node.lineno] + [decorator.lineno for decorator in getattr(node, "decorator_list", [])]) - 1
                while start > 0 and lines[start - 1].lstrip().startswith("#"):
                    start -= 1
                for name in names:
                    definitions[name] = (start, node.end_lineno)
        return cls(file_name, lines, tree, definitions, relative, absolute)

    def body(self) -> list:
        """Return the module's lines less its docstring and import statements."""
        dropped = set()
        for position, node in enumerate(self.tree.body):
            is_docstring = position == 0 and isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
            if is_docstring or isinstance(node, (ast.Import, ast.ImportFrom)):
                dropped.update(range(node.lineno - 1, node.end_lineno))
        kept = [line for number, line in enumerate(self.lines) if number not in dropped]
        return _strip_blank_ends(kept)

    def definition(self, name: str) -> list:
        start, end = self.definitions[name]
        return self.lines[start:end]


def _strip_blank_ends(lines: list) -> list:
    lines = list(lines)
    while lines and not lines[0].strip():
        lines.pop(0)
    while lines and not lines[-1].strip():
        lines.pop()
    return lines


def _names_used(lines: list) -> set:
    return {node.id for node in ast.walk(ast.parse("\n".join(lines))) if isinstance(node, ast.Name)}


def _format_imports(imports: dict) -> list:
    """Return import lines: standard library first, then numpy, each group sorted."""
    plain, grouped = [], {}
    for key in imports.values():
        if key[0] == "import":
            plain.append(f"import {key[1]}" + (f" as {key[2]}" if key[2] else ""))
        else:
            grouped.setdefault(key[1], []).append(key[2] + (f" as {key[3]}" if key[3] else ""))
    froms = [f"from {module} import {', '.join(sorted(set(names)))}" for module, names in grouped.items()]

    def third_party(line: str) -> bool:
        return line.split()[1].split(".")[0] == "numpy"

    standard = sorted(line for line in plain if not third_party(line)) + sorted(line for line in froms if not third_party(line))
    numpy_lines = sorted(line for line in plain + froms if third_party(line))
    return standard + ([""] if standard and numpy_lines else []) + numpy_lines


def _resolve_definitions(modules: dict, whole: tuple) -> dict:
    """Return {file name: names} of the definitions that the whole modules import, with their own needs."""
    needed: dict = {}
    pending = []
    for file_name in whole:
        module = modules[file_name]
        used = _names_used(module.body())
        pending += [(module.relative[name], name) for name in sorted(used & set(module.relative))]
    while pending:
        file_name, name = pending.pop(0)
        if file_name in whole or name in needed.get(file_name, ()):
            continue
        if file_name not in modules:
            modules[file_name] = _ParsedModule.read(file_name)
        module = modules[file_name]
        if name not in module.definitions:
            raise StudentFilesError(f"the generated module needs {name} from autograder/{file_name}, which does not define it")
        needed.setdefault(file_name, []).append(name)
        for used in sorted(_names_used(module.definition(name))):
            if used in module.definitions:
                pending.append((file_name, used))
            elif used in module.relative:
                pending.append((module.relative[used], used))
    return needed


def build_module_text() -> str:
    """Return the source of ``visible_checks.py``."""
    whole = WHOLE_MODULES + (RUNTIME_MODULE,)
    modules = {file_name: _ParsedModule.read(file_name) for file_name in whole}
    needed = _resolve_definitions(modules, whole)

    parts = [(file_name, None) for file_name in WHOLE_MODULES]
    parts += [(file_name, needed[file_name]) for file_name in needed]
    parts.append((RUNTIME_MODULE, None))
    sections, imports = [], {}
    for file_name, names in parts:
        module = modules[file_name]
        if names is None:
            body = module.body()
        else:
            # Definitions in source order, so that each copy reads like its original.
            ordered = sorted(set(names), key=lambda name: module.definitions[name])
            body = []
            for name in ordered:
                body += module.definition(name) + ["", ""]
            body = _strip_blank_ends(body)
        used = _names_used(body)
        imports.update({bound: key for bound, key in module.absolute.items() if bound in used})
        label = f"autograder/{file_name}" + ("" if names is None else f" ({', '.join(sorted(set(names)))})")
        sections.append(f"# --- from {label} " + "-" * max(3, 88 - len(label)) + "\n\n\n" + "\n".join(body))

    sources = "".join(f"autograder/{file_name}, " for file_name, _ in parts[:-1])
    header = (
        '"""Instant feedback on the visible cases of this assignment: check("name") and hint("name").\n'
        "\n"
        "Generated by `python -m autograder student-files` from\n"
        + textwrap.fill(f"{sources}and autograder/{RUNTIME_MODULE}.", 92)
        + "\nEdit those files and regenerate instead of editing this one.  It needs only\n"
        f"numpy, and reads the cases from {DATA_FILE_NAME} in its own folder.\n"
        '"""\n'
        "\n"
        "from __future__ import annotations\n"
        "\n"
        + "\n".join(_format_imports(imports))
        + "\n"
    )
    return header + "\n\n" + "\n\n\n".join(sections) + "\n"


# -- the data --------------------------------------------------------------------------------------


def load_hints(spec) -> dict:
    """Return ``HINTS`` of ``assignments/<assignment>/hints.py``, checked against the graded functions."""
    try:
        module = importlib.import_module(f"assignments.{spec.assignment_id}.hints")
    except ModuleNotFoundError:
        raise StudentFilesError(f"assignments/{spec.assignment_id}/hints.py is missing: it must define HINTS") from None
    hints = getattr(module, "HINTS", None)
    if not isinstance(hints, dict):
        raise StudentFilesError(f"assignments/{spec.assignment_id}/hints.py must define HINTS as a dict")
    missing = [name for name in spec.function_names if not str(hints.get(name, "")).strip()]
    unknown = sorted(set(hints) - set(spec.function_names))
    if missing or unknown:
        problems = ([f"no hint for {', '.join(missing)}"] if missing else []) + (
            [f"hints for functions that are not graded: {', '.join(unknown)}"] if unknown else [])
        raise StudentFilesError(f"assignments/{spec.assignment_id}/hints.py: " + "; ".join(problems))
    return hints


def _expected_outcome(outcome: Outcome) -> dict:
    """Return the reference outcome without the reference's own exception message."""
    if outcome.status == "raised":
        return {"status": "raised", "error": {"type": outcome.error["type"], "module": outcome.error["module"]}}
    return encode_outcome(outcome)


def _mistaken_outcome(outcome: Outcome, case) -> dict:
    """Return a mistake's outcome; of its exception message only the required texts it contains."""
    data = encode_outcome(outcome)
    if outcome.status == "raised":
        message = outcome.error.get("message", "")
        data["error"]["message"] = "\n".join(text for text in case.message_contains if text in message)
    return data


def build_data(spec) -> dict:
    """Return the visible checks data of one assignment."""
    hints = load_hints(spec)
    grader = AssignmentGrader(spec)
    functions = []
    for function in spec.functions:
        numbers = [number for number, case in enumerate(grader.cases) if case.function == function.name]
        visible = [number for number in numbers if grader.cases[number].visible]
        if not visible:
            raise StudentFilesError(f"{spec.assignment_id}: {function.name} has no visible case to check")
        hidden_groups = [
            group for group, _ in function.groups
            if any(grader.cases[number].group == group and not grader.cases[number].visible for number in numbers)
        ]

        cases = []
        for number in visible:
            case = grader.cases[number]
            if case.project is not None:
                raise StudentFilesError(
                    f"{spec.assignment_id}: the visible case {case.description!r} of {function.name} projects its "
                    "result, which the student-side check cannot do; make it hidden or drop the projection"
                )
            cases.append({
                "group": case.group,
                "description": case.description,
                "args": [encode_value(value) for value in case.args],
                "kwargs": {key: encode_value(value) for key, value in case.kwargs.items()},
                "rtol": case.rtol,
                "atol": case.atol,
                "message_contains": list(case.message_contains),
                "expected": _expected_outcome(grader.expected[number]),
            })

        # A mistake's outcome is kept only where it fails, as the grader matches only there.
        mistakes = []
        for entry in spec.mistakes:
            if entry.function != function.name:
                continue
            outcomes = {}
            for position, number in enumerate(visible):
                mistaken = grader._mistake_outcome(entry, number)
                if not compare_outcomes(mistaken, grader.expected[number], grader.cases[number]).passed:
                    outcomes[str(position)] = _mistaken_outcome(mistaken, grader.cases[number])
            if outcomes:
                mistakes.append({"name": entry.name, "misconception": entry.misconception, "hint": entry.hint, "outcomes": outcomes})

        functions.append({
            "name": function.name,
            "hint": " ".join(hints[function.name].split()),
            "hidden_groups": hidden_groups,
            "banned": list(function.banned),
            "banned_reason": function.banned_reason,
            "cases": cases,
            "mistakes": mistakes,
        })
    return {"format": DATA_FORMAT, "assignment": spec.assignment_id, "notebook": spec.notebook, "functions": functions}


def render_data(data: dict) -> str:
    """Return the data as indented JSON, with the entries of each array on one line."""
    arrays = []

    def lift(value):
        if isinstance(value, dict):
            if value.get("type") == "array":
                arrays.extend([value["shape"], value["data"]])
                return {**value, "shape": f"@array {len(arrays) - 2}@", "data": f"@array {len(arrays) - 1}@"}
            return {key: lift(item) for key, item in value.items()}
        if isinstance(value, list):
            return [lift(item) for item in value]
        return value

    text = json.dumps(lift(data), indent=1, ensure_ascii=False, allow_nan=False)
    for index, entries in enumerate(arrays):
        text = text.replace(f'"@array {index}@"', json.dumps(entries, separators=(", ", ": "), allow_nan=False), 1)
    return text + "\n"


# -- files ------------------------------------------------------------------------------------------


def build_student_files(assignment_id: str) -> dict:
    """Return {file name: text} of the student files of one assignment."""
    spec = load_assignment(assignment_id)
    return {MODULE_FILE_NAME: build_module_text(), DATA_FILE_NAME: render_data(build_data(spec))}


def _same_data(committed, fresh, where: str) -> str:
    """Return where two data values first differ beyond round-off, or "" when they agree."""
    if isinstance(fresh, dict):
        if not isinstance(committed, dict) or list(committed) != list(fresh):
            return where or "the top level"
        for key in fresh:
            found = _same_data(committed[key], fresh[key], f"{where}.{key}" if where else key)
            if found:
                return found
        return ""
    if isinstance(fresh, list):
        if not isinstance(committed, list) or len(committed) != len(fresh):
            return where
        for index, (old, new) in enumerate(zip(committed, fresh)):
            found = _same_data(old, new, f"{where}[{index}]")
            if found:
                return found
        return ""
    if isinstance(fresh, float) and isinstance(committed, float):
        return "" if math.isclose(committed, fresh, rel_tol=DATA_RTOL, abs_tol=DATA_ATOL) else where
    if type(committed) is not type(fresh) or committed != fresh:
        return where
    return ""


@dataclass
class StaleFile:
    """A student file that differs from a fresh build, or is missing."""

    path: str
    detail: str

    def format(self) -> str:
        return f"{self.path}: {self.detail}"


def compare_student_files(course_root, assignments=None) -> list:
    """Return a StaleFile for each student file under ``source/`` that differs from a fresh build.

    The module must match byte for byte.  The data may differ only in floats,
    by round-off (``DATA_RTOL``, ``DATA_ATOL``).
    """
    stale = []
    for assignment_id in assignment_ids() if assignments is None else assignments:
        for name, fresh in build_student_files(assignment_id).items():
            relative = f"source/{assignment_id}/{name}"
            path = Path(course_root) / relative
            if not path.is_file():
                stale.append(StaleFile(relative, "missing"))
                continue
            committed = path.read_text(encoding="utf-8")
            if committed == fresh:
                continue
            if name == DATA_FILE_NAME:
                try:
                    where = _same_data(json.loads(committed), json.loads(fresh), "")
                except json.JSONDecodeError as error:
                    where = f"not valid JSON ({error})"
                if where:
                    stale.append(StaleFile(relative, f"differs from a fresh build at {where}"))
            else:
                stale.append(StaleFile(relative, "differs from a fresh build"))
    return stale


def write_student_files(course_root, files_by_assignment: dict) -> list:
    """Write {assignment: {name: text}} under ``source/``; return the paths whose content changed."""
    changed = []
    for assignment_id, files in files_by_assignment.items():
        folder = Path(course_root) / "source" / assignment_id
        if not folder.is_dir():
            raise StudentFilesError(f"{folder} is missing: the course must contain source/{assignment_id}/")
        for name, text in files.items():
            path = folder / name
            if not path.is_file() or path.read_text(encoding="utf-8") != text:
                path.write_text(text, encoding="utf-8")
                changed.append(f"source/{assignment_id}/{name}")
    return changed


__all__ = [
    "FILE_NAMES",
    "MODULE_NAME",
    "StudentFilesError",
    "build_data",
    "build_module_text",
    "build_student_files",
    "compare_student_files",
    "render_data",
    "write_student_files",
]
