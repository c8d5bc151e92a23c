"""Regenerate ``release/`` from ``source/`` with nbgrader, and check that it is current.

nbgrader's ``generate_assignment`` runs in a temporary copy of the course, one
copy per assignment, so the repository never gets a ``gradebook.db`` and the
assignments can be generated in parallel.  The generated tree is then compared
with the committed ``release/`` file by file, and notebook by notebook cell by
cell, before it is copied over it.
"""

from __future__ import annotations

import difflib
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger("autograder.release")

# Lines of a changed cell's source diff shown in a difference report.
MAX_DIFF_LINES = 12


class ReleaseError(Exception):
    """nbgrader failed, or the course directory lacks what a release needs."""


@dataclass
class Difference:
    """One file of ``release/`` that differs from a fresh generation."""

    # Path relative to the course root, such as "release/ps02_attention/attention.ipynb".
    path: str
    # "added" (only in the fresh generation), "removed" (only in the committed
    # release) or "changed" (in both, with different bytes).
    change: str
    details: list = field(default_factory=list)

    def format(self) -> str:
        headline = {
            "added": f"{self.path}: missing from the committed release (regeneration adds it)",
            "removed": f"{self.path}: not generated from source/ (regeneration removes it)",
            "changed": f"{self.path}: differs from a fresh generation",
        }[self.change]
        return "\n".join([headline] + [f"  {detail}" for detail in self.details])


def package_root() -> Path:
    """Return the folder that contains the ``autograder`` package."""
    return Path(__file__).resolve().parent.parent


def tool_environment() -> dict:
    """Return os.environ with this interpreter's bin folder first on PATH.

    nbgrader runs ``alembic`` by name when it creates a gradebook, and the
    course's ``nbgrader_config.py`` and the hidden tests import this package,
    so its folder goes first on PYTHONPATH.
    """
    environment = dict(os.environ)
    environment["PATH"] = os.path.dirname(sys.executable) + os.pathsep + environment.get("PATH", "")
    python_path = [str(package_root())] + ([environment["PYTHONPATH"]] if environment.get("PYTHONPATH") else [])
    environment["PYTHONPATH"] = os.pathsep.join(python_path)
    return environment


def run_nbgrader(course: Path, *arguments: str, timeout: float = 600) -> subprocess.CompletedProcess:
    """Run ``nbgrader ARGUMENTS`` in ``course``, raising ReleaseError when it fails or times out."""
    command = [sys.executable, "-m", "nbgrader", *arguments]
    log.info("running nbgrader %s in %s", " ".join(arguments), course)
    try:
        completed = subprocess.run(
            command, cwd=course, env=tool_environment(), capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        raise ReleaseError(f"nbgrader {' '.join(arguments)} timed out after {timeout:g} s") from None
    if completed.returncode != 0:
        output = (completed.stdout[-3000:] + completed.stderr[-3000:]).strip()
        raise ReleaseError(f"nbgrader {' '.join(arguments)} failed with exit status {completed.returncode}:\n{output}")
    return completed


def source_assignments(course_root) -> list:
    """Return the assignment ids of the course: the folders under ``source/``, sorted."""
    source = Path(course_root) / "source"
    if not source.is_dir():
        raise ReleaseError(f"{source} is missing: the course directory must contain source/<assignment>/")
    return sorted(entry.name for entry in source.iterdir() if entry.is_dir() and not entry.name.startswith("."))


def generate_release(course_root, destination, assignments=None) -> Path:
    """Generate the release of every assignment into ``destination/release``; return that folder.

    Each assignment gets its own temporary course under ``destination``,
    with its ``source/`` folder and the course's ``nbgrader_config.py``.
    """
    course_root = Path(course_root).resolve()
    destination = Path(destination).resolve()
    assignments = source_assignments(course_root) if assignments is None else list(assignments)
    config = course_root / "nbgrader_config.py"
    if not config.is_file():
        raise ReleaseError(f"{config} is missing")
    release = destination / "release"
    release.mkdir(parents=True, exist_ok=True)

    def generate(assignment_id: str) -> None:
        course = destination / "courses" / assignment_id
        shutil.copytree(course_root / "source" / assignment_id, course / "source" / assignment_id)
        shutil.copy(config, course / "nbgrader_config.py")
        run_nbgrader(course, "generate_assignment", assignment_id)
        generated = course / "release" / assignment_id
        if not generated.is_dir():
            raise ReleaseError(f"nbgrader generate_assignment {assignment_id} wrote no release/{assignment_id}/")
        shutil.move(str(generated), str(release / assignment_id))

    workers = max(1, min(len(assignments), os.cpu_count() or 1))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for future in [pool.submit(generate, assignment_id) for assignment_id in assignments]:
            future.result()
    return release


def _files_under(root: Path) -> dict:
    """Return {relative posix path: absolute path} of every file under ``root``."""
    if not root.is_dir():
        return {}
    return {path.relative_to(root).as_posix(): path for path in sorted(root.rglob("*")) if path.is_file()}


def compare_release(generated: Path, committed: Path) -> list:
    """Return the differences between a generated release folder and the committed one."""
    fresh = _files_under(Path(generated))
    current = _files_under(Path(committed))
    differences = []
    for name in sorted(set(fresh) | set(current)):
        path = f"release/{name}"
        if name not in current:
            differences.append(Difference(path, "added"))
        elif name not in fresh:
            differences.append(Difference(path, "removed"))
        else:
            old, new = current[name].read_bytes(), fresh[name].read_bytes()
            if old != new:
                details = diff_notebooks(old, new) if name.endswith(".ipynb") else ["the file contents differ"]
                differences.append(Difference(path, "changed", details))
    return differences


def _grade_id(cell: dict):
    metadata = cell.get("metadata") if isinstance(cell.get("metadata"), dict) else {}
    nbgrader = metadata.get("nbgrader") if isinstance(metadata.get("nbgrader"), dict) else {}
    return nbgrader.get("grade_id")


def describe_cell(index: int, cell: dict) -> str:
    """Return "cell N (grade_id X)", or "cell N (id X)" for a cell without a grade id."""
    grade_id = _grade_id(cell)
    if grade_id:
        return f"cell {index} (grade_id {grade_id})"
    if cell.get("id"):
        return f"cell {index} (id {cell['id']})"
    return f"cell {index}"


def _source(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def _cell_key(cell: dict) -> str:
    # Cell ids survive edits of a cell's source; nbformat 4.4 cells have none.
    return cell.get("id") or f"{cell.get('cell_type')}:{_source(cell)}"


def _changed_keys(old, new, prefix: str) -> list:
    """Return the dotted paths of the leaves that differ between two JSON values."""
    if old == new:
        return []
    if not isinstance(old, dict) or not isinstance(new, dict):
        return [prefix]
    changed = []
    for key in sorted(set(old) | set(new)):
        changed += _changed_keys(old.get(key), new.get(key), f"{prefix}.{key}")
    return changed


def _cell_changes(old: dict, new: dict) -> list:
    """Return the parts of a cell that differ, with a short diff of the source."""
    changes = []
    for key in sorted(set(old) | set(new)):
        if key == "source":
            continue
        changes.extend(f"{path} differs" for path in _changed_keys(old.get(key), new.get(key), key))
    if _source(old) != _source(new):
        diff = list(
            difflib.unified_diff(
                _source(old).splitlines(), _source(new).splitlines(), "committed", "regenerated", n=0, lineterm=""
            )
        )[2:]
        changed_lines = [line for line in diff if not line.startswith("@@")]
        lines = [f"    {line}" for line in changed_lines[:MAX_DIFF_LINES]]
        if len(changed_lines) > MAX_DIFF_LINES:
            lines.append(f"    ... {len(changed_lines) - MAX_DIFF_LINES} more changed lines")
        changes.insert(0, "source differs\n" + "\n".join(lines))
    return changes


def diff_notebooks(old_bytes: bytes, new_bytes: bytes) -> list:
    """Describe how a committed notebook differs from its regenerated version, cell by cell."""
    try:
        old = json.loads(old_bytes.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        return [f"the committed notebook is not valid notebook JSON ({error})"]
    new = json.loads(new_bytes.decode("utf-8"))
    details = []
    for key in sorted((set(old) | set(new)) - {"cells"}):
        if old.get(key) != new.get(key):
            details.append(f"notebook {key} differs")
    old_cells, new_cells = old.get("cells", []), new.get("cells", [])
    matcher = difflib.SequenceMatcher(a=[_cell_key(cell) for cell in old_cells], b=[_cell_key(cell) for cell in new_cells], autojunk=False)
    for tag, old_start, old_end, new_start, new_end in matcher.get_opcodes():
        pairs = []
        if tag == "equal" or (tag == "replace" and old_end - old_start == new_end - new_start):
            pairs = list(zip(range(old_start, old_end), range(new_start, new_end)))
        else:
            for index in range(old_start, old_end):
                details.append(f"{describe_cell(index, old_cells[index])}: not in the regenerated notebook (removed)")
            for index in range(new_start, new_end):
                details.append(f"{describe_cell(index, new_cells[index])}: missing from the committed notebook (added)")
        for old_index, new_index in pairs:
            changes = _cell_changes(old_cells[old_index], new_cells[new_index])
            if not changes:
                continue
            where = describe_cell(old_index, old_cells[old_index])
            if new_index != old_index:
                where += f", cell {new_index} after regeneration"
            details.extend(f"{where}: {change}" for change in changes)
    if not details:
        details.append("the notebook content is the same, but its JSON formatting differs")
    return details


def install_release(generated: Path, committed: Path) -> list:
    """Make ``committed`` an exact copy of ``generated`` and return the differences it removed."""
    generated, committed = Path(generated), Path(committed)
    differences = compare_release(generated, committed)
    for difference in differences:
        name = difference.path[len("release/"):]
        target = committed / name
        if difference.change == "removed":
            target.unlink()
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(generated / name, target)
    # Folders left empty by removed files, deepest first.
    if committed.is_dir():
        for folder in sorted((path for path in committed.rglob("*") if path.is_dir()), key=lambda path: len(path.parts), reverse=True):
            if not any(folder.iterdir()):
                folder.rmdir()
    return differences


def check_release(course_root) -> list:
    """Generate the release into a temporary folder and compare it with ``release/``."""
    course_root = Path(course_root)
    with tempfile.TemporaryDirectory(prefix="release-") as temporary:
        generated = generate_release(course_root, temporary)
        return compare_release(generated, course_root / "release")


def regenerate_release(course_root, scan=None) -> tuple:
    """Regenerate ``release/``; return (differences applied, leak findings).

    ``scan`` maps a generated release folder to leak findings.  When it finds
    any, the committed ``release/`` is left untouched.
    """
    course_root = Path(course_root)
    with tempfile.TemporaryDirectory(prefix="release-") as temporary:
        generated = generate_release(course_root, temporary)
        findings = scan(generated) if scan is not None else []
        if findings:
            return [], findings
        return install_release(generated, course_root / "release"), []


# -- summary ---------------------------------------------------------------------------


def notebook_points(path: Path) -> dict:
    """Return {grade_id: points} of the graded test cells of a notebook."""
    document = json.loads(Path(path).read_text(encoding="utf-8"))
    points = {}
    for cell in document.get("cells", []):
        nbgrader = cell.get("metadata", {}).get("nbgrader", {})
        if nbgrader.get("grade") and not nbgrader.get("solution"):
            points[nbgrader.get("grade_id")] = float(nbgrader.get("points", 0))
    return points


def summarize_assignment(spec, course_root) -> tuple:
    """Return (lines, notes, problems) for one assignment.

    ``lines`` is the points table.  A note names a case group without a
    hidden case, whose points a student earns by passing the visible asserts.
    A problem is a test cell of ``source/`` whose points differ from the
    points of its function, which nbgrader would then score out of the wrong
    maximum.
    """
    cases = list(spec.build_cases())
    total = sum(function.points for function in spec.functions)
    lines = [f"{spec.assignment_id} ({spec.notebook}.ipynb): {len(spec.functions)} functions, {total:g} points"]
    lines.append(f"  {'function / case group':<36} {'points':>6} {'hidden cases':>13} {'visible cases':>14}")
    notes, problems = [], []
    for function in spec.functions:
        mine = [case for case in cases if case.function == function.name]
        hidden = sum(not case.visible for case in mine)
        lines.append(f"  {function.name:<36} {function.points:>6g} {hidden:>13} {len(mine) - hidden:>14}")
        for group, points in function.groups:
            members = [case for case in mine if case.group == group]
            hidden = sum(not case.visible for case in members)
            lines.append(f"    {group:<34} {points:>6g} {hidden:>13} {len(members) - hidden:>14}")
            if hidden == 0:
                notes.append(f"{spec.assignment_id}: group {group!r} of {function.name} has no hidden case")

    notebook = Path(course_root) / "source" / spec.assignment_id / f"{spec.notebook}.ipynb"
    if notebook.is_file():
        in_notebook = notebook_points(notebook)
        for function in spec.functions:
            test_id = f"test_{function.name}"
            if in_notebook.get(test_id) != function.points:
                problems.append(
                    f"{notebook}: test cell {test_id} is worth {in_notebook.get(test_id)} points, "
                    f"but the groups of {function.name} add up to {function.points:g}"
                )
    else:
        problems.append(f"{notebook} is missing")
    return lines, notes, problems
