"""Scan student-facing files for instructor-only material.

Student-facing files are the ``release/`` tree, the student bundle zip and the
feedback HTML under ``feedback/``.  A finding is any of:

* solution-region text (``### BEGIN SOLUTION`` ... ``### END SOLUTION``) or
  hidden-test text of a ``source/`` notebook, or a cell that nbgrader replaces
  whole (a solution cell without markers);
* code from ``solutions/`` or a correct alternative of the catalogue;
* an input of a hidden (non-visible) case, as numpy or Python prints it;
* an nbgrader region marker left in the text;
* a cell output or an execution count in a notebook.

Code is matched as runs of consecutive significant lines, compared with all
whitespace removed.  A line is significant when it is at least
``MIN_LINE_CHARS`` long without whitespace.  For the regions of ``source/``,
lines that the same notebooks show outside their regions (such as a
signature repeated in a docstring) do not count either.  Code from
``solutions/`` and the catalogue is matched with all its lines, so that a
reference pasted into a public cell of ``source/`` is still found.

A feedback page shows the student's own submission, so lines and values that
also occur in ``submitted/<student>/<assignment>/`` are not findings there.
"""

from __future__ import annotations

import bisect
import io
import json
import re
import zipfile
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import numpy as np

SOLUTION_BEGIN = "### BEGIN SOLUTION"
SOLUTION_END = "### END SOLUTION"
HIDDEN_BEGIN = "### BEGIN HIDDEN TESTS"
HIDDEN_END = "### END HIDDEN TESTS"
MARKERS = (SOLUTION_BEGIN, SOLUTION_END, HIDDEN_BEGIN, HIDDEN_END)

# Lines that nbgrader writes into released answer cells (its default stubs).
STUB_LINES = ("# YOUR CODE HERE", "raise NotImplementedError()", "YOUR ANSWER HERE")

# A line shorter than this without whitespace ("else:", "return X") is too
# common to identify its source.
MIN_LINE_CHARS = 12
# Consecutive significant lines that make a finding.  A secret region with
# fewer significant lines counts when all of them appear in a row.
RUN_LINES = 3
# Consecutive printed numbers of one hidden input that make a finding.  Only
# numbers printed with at least MIN_SIGNIFICANT_DIGITS digits take part.
RUN_NUMBERS = 3
MIN_SIGNIFICANT_DIGITS = 3
# A printed array or list of a hidden input is searched for verbatim when it
# has at least this many elements and characters.  It must also carry at
# least MIN_PRINTED_BITS of information: elements times log2 of the number of
# distinct values.  Visible code may contain [1.0, 1.0, 1.0] or a short 0/1
# pattern by chance, so such inputs are not searched for.
MIN_PRINTED_ELEMENTS = 3
MIN_PRINTED_CHARS = 10
MIN_PRINTED_BITS = 8.0

NUMBER = re.compile(r"(?<![\w.])[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?(?![\w.])")


@dataclass(frozen=True)
class Finding:
    """One piece of instructor-only material found in a student-facing file."""

    path: str
    # "cell 3 (grade_id stable_softmax), line 12", or "line 40" for other files.
    location: str
    # "solution code", "hidden test", "solutions/ code", "correct alternative",
    # "hidden case data", "nbgrader marker", "cell output" or "execution count".
    kind: str
    detail: str

    def format(self) -> str:
        return f"{self.path}: {self.location}: {self.kind}: {self.detail}"


@dataclass
class SecretCode:
    """Instructor-only code, as its significant lines with whitespace removed."""

    kind: str
    label: str
    lines: list = field(default_factory=list)
    # True for the regions of source/: lines that the notebooks show in public are skipped.
    skips_public: bool = True

    @property
    def run(self) -> int:
        return min(RUN_LINES, len(self.lines))


@dataclass
class HiddenValue:
    """One input of a hidden case: its printed forms and its distinctive float values."""

    label: str
    printed: tuple = ()
    # Flattened (C order) float values, with None where a value is too round
    # to identify, such as 0.0 or 1000.0.
    numbers: tuple = ()
    # float64 bytes of the array, to find it in binary files such as .npy.
    raw: bytes = b""


@dataclass
class Secrets:
    """Everything a student-facing file must not contain, with lookup tables."""

    code: list
    public_lines: frozenset
    values: list
    # {(skips_public, run length): {tuple of lines: [SecretCode, ...]}}
    code_runs: dict = field(default_factory=dict)
    number_index: list = field(default_factory=list)
    number_keys: list = field(default_factory=list)

    def __post_init__(self) -> None:
        for secret in self.code:
            if not secret.lines:
                continue
            table = self.code_runs.setdefault((secret.skips_public, secret.run), {})
            for start in range(len(secret.lines) - secret.run + 1):
                owners = table.setdefault(tuple(secret.lines[start : start + secret.run]), [])
                if secret not in owners:
                    owners.append(secret)
        entries = []
        for value_number, value in enumerate(self.values):
            for position, number in enumerate(value.numbers):
                if number is not None:
                    entries.append((number, value_number, position))
        entries.sort()
        self.number_index = entries
        self.number_keys = [entry[0] for entry in entries]


# -- loading the secrets ----------------------------------------------------------------


def normalize_line(line: str) -> str:
    """Return ``line`` without any whitespace, so that reformatting does not hide it."""
    return "".join(line.split())


def _cell_source(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def _nbgrader(cell: dict) -> dict:
    metadata = cell.get("metadata") if isinstance(cell.get("metadata"), dict) else {}
    return metadata.get("nbgrader") if isinstance(metadata.get("nbgrader"), dict) else {}


def describe_cell(index: int, cell: dict) -> str:
    """Return "cell N (grade_id X)", or "cell N" for a cell without a grade id."""
    grade_id = _nbgrader(cell).get("grade_id")
    return f"cell {index} (grade_id {grade_id})" if grade_id else f"cell {index}"


def split_regions(source: str, begin: str, end: str) -> tuple:
    """Return (regions, outside): the line lists inside each begin/end pair, and the other lines.

    The marker lines belong to neither.  An unclosed region runs to the end,
    as nbgrader treats it.
    """
    regions, outside, current = [], [], None
    for line in source.splitlines():
        stripped = line.strip()
        if stripped == begin:
            current = []
            regions.append(current)
        elif stripped == end:
            current = None
        elif current is not None:
            current.append(line)
        else:
            outside.append(line)
    return regions, outside


def _source_notebook_secrets(course_root: Path) -> tuple:
    """Return (secret code, public lines) of every notebook under ``source/``."""
    secrets, public = [], set()
    for notebook in sorted((course_root / "source").glob("*/*.ipynb")):
        relative = notebook.relative_to(course_root).as_posix()
        cells = json.loads(notebook.read_text(encoding="utf-8")).get("cells", [])
        for index, cell in enumerate(cells):
            source = _cell_source(cell)
            where = f"{describe_cell(index, cell)} of {relative}"
            solutions, rest = split_regions(source, SOLUTION_BEGIN, SOLUTION_END)
            hidden, rest = split_regions("\n".join(rest), HIDDEN_BEGIN, HIDDEN_END)
            if _nbgrader(cell).get("solution") and not solutions:
                # nbgrader replaces a solution cell without markers by its stub.
                solutions, rest = [source.splitlines()], []
            for region in solutions:
                secrets.append(SecretCode("solution code", f"the solution region of {where}", region))
            for region in hidden:
                secrets.append(SecretCode("hidden test", f"the hidden tests of {where}", region))
            public.update(normalize_line(line) for line in rest)
    return secrets, public


def _instructor_code(course_root: Path, specs: list) -> list:
    secrets = []
    for path in sorted((course_root / "solutions").rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        secrets.append(SecretCode("solutions/ code", path.relative_to(course_root).as_posix(), text.splitlines(), False))
    for spec in specs:
        for entry in spec.alternatives:
            label = f"the correct alternative {entry.name} of {entry.function} in assignments/{spec.assignment_id}"
            secrets.append(SecretCode("correct alternative", label, entry.source.splitlines(), False))
    return secrets


def _printed_forms(array: np.ndarray, as_list=None) -> set:
    """Return the whitespace-collapsed forms in which numpy and Python print ``array``."""
    with np.printoptions(precision=8, threshold=1000, edgeitems=3, linewidth=75, suppress=False, legacy=False):
        forms = {repr(array), str(array), str(array.tolist())}
    if as_list is not None:
        forms.add(repr(as_list))
    return {" ".join(form.split()) for form in forms}


def significant_digits(text: str) -> int:
    """Return the number of significant digits in a printed number such as "-0.0301" (3)."""
    mantissa = re.split("[eE]", text.lstrip("+-"))[0].replace(".", "")
    return len(mantissa.lstrip("0").rstrip("0")) if "." in text or "e" in text.lower() else 0


def _distinctive(value: float):
    if not np.isfinite(value) or significant_digits(repr(float(value))) < MIN_SIGNIFICANT_DIGITS:
        return None
    return float(value)


def _leaves(value, path: str):
    """Yield (path, array, original) for every array-like part of a case input."""
    if isinstance(value, np.ndarray):
        if value.dtype.kind in "biuf":
            yield path, value, None
        elif value.dtype.kind == "O":
            for index, item in enumerate(value.flat):
                yield from _leaves(item, f"{path}[{index}]")
    elif isinstance(value, (list, tuple)):
        try:
            array = np.asarray(value)
        except ValueError:  # ragged nesting
            array = None
        if array is not None and array.dtype.kind in "biuf":
            yield path, array, value
        else:
            for index, item in enumerate(value):
                yield from _leaves(item, f"{path}[{index}]")
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves(item, f"{path}[{key!r}]")
    elif isinstance(value, str) and len(value) >= MIN_PRINTED_CHARS:
        yield path, value, None


def _case_inputs(case):
    for position, value in enumerate(case.args):
        yield from _leaves(value, f"argument {position + 1}")
    for name, value in case.kwargs.items():
        yield from _leaves(value, f"argument {name}")


def _information_bits(array: np.ndarray) -> float:
    distinct = len(np.unique(array))
    return float(array.size * np.log2(distinct)) if distinct > 1 else 0.0


def _hidden_values(specs: list) -> list:
    """Return the inputs of every hidden case, less those that a visible case shows as well.

    Values are compared as float64, so the integer-list form of a visible
    float array counts as visible too.
    """
    visible_printed, visible_arrays, hidden = set(), set(), []
    for spec in specs:
        for number, case in enumerate(spec.build_cases()):
            for path, leaf, original in _case_inputs(case):
                if isinstance(leaf, str):
                    printed, key = {leaf, repr(leaf)}, ("str", leaf)
                elif leaf.size < MIN_PRINTED_ELEMENTS:
                    continue
                else:
                    printed = _printed_forms(leaf, original) if _information_bits(leaf) >= MIN_PRINTED_BITS else set()
                    key = (leaf.shape, leaf.astype(np.float64).tobytes())
                if case.visible:
                    visible_printed.update(printed)
                    visible_arrays.add(key)
                    continue
                label = f"{spec.assignment_id} case {number} of {case.function} ({case.group}: {case.description}), {path}"
                hidden.append((label, leaf, printed, key))

    values, seen = [], set()
    for label, leaf, printed, key in hidden:
        if key in visible_arrays or key in seen:
            continue
        seen.add(key)
        printed = tuple(sorted(form for form in printed - visible_printed if len(form) >= MIN_PRINTED_CHARS))
        numbers, raw = (), b""
        if not isinstance(leaf, str) and leaf.dtype.kind == "f":
            flat = leaf.astype(np.float64).ravel()
            numbers = tuple(_distinctive(value) for value in flat)
            raw = flat.tobytes()
        values.append(HiddenValue(label, printed, numbers, raw))
    return values


def load_secrets(course_root=".", specs=None) -> Secrets:
    """Collect the instructor-only material of a course.

    ``specs`` defaults to the SPEC of every package under ``assignments/``.
    """
    from .grading import load_assignment
    from .grading import assignment_ids

    course_root = Path(course_root).resolve()
    if specs is None:
        specs = [load_assignment(assignment_id) for assignment_id in assignment_ids()]
    code, public = _source_notebook_secrets(course_root)
    code += _instructor_code(course_root, specs)
    public.update(normalize_line(line) for line in STUB_LINES)
    for secret in code:
        secret.lines = [
            line for line in map(normalize_line, secret.lines)
            if len(line) >= MIN_LINE_CHARS and not (secret.skips_public and line in public)
        ]
    return Secrets([secret for secret in code if secret.lines], frozenset(public), _hidden_values(specs))


# -- scanning text --------------------------------------------------------------------------


@dataclass
class TextUnit:
    """Text to scan: its lines with their numbers, and where it sits in the file."""

    # "cell 3 (grade_id x)", "cell 3 (grade_id x), output 1" or "" for a whole file.
    where: str
    lines: list  # [(line number, text), ...]


def _location(where: str, line: int) -> str:
    return f"{where}, line {line}" if where else f"line {line}"


def _excerpt(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= 80 else text[:77] + "..."


def _scan_code(path: str, unit: TextUnit, secrets: Secrets, own_lines: frozenset) -> list:
    """Find runs of instructor-only code lines in one text unit."""
    long_lines = []
    for number, text in unit.lines:
        line = normalize_line(text)
        if len(line) >= MIN_LINE_CHARS and line not in own_lines:
            long_lines.append((number, line, text))
    without_public = [item for item in long_lines if item[1] not in secrets.public_lines]
    findings = []
    for (skips_public, run), table in sorted(secrets.code_runs.items(), reverse=True):
        significant = without_public if skips_public else long_lines
        start = 0
        while start + run <= len(significant):
            owners = table.get(tuple(line for _, line, _ in significant[start : start + run]))
            if not owners:
                start += 1
                continue
            end = start + 1
            while end + run <= len(significant) and table.get(tuple(line for _, line, _ in significant[end : end + run])):
                end += 1
            count = end - start + run - 1
            first_number, _, first_text = significant[start]
            for kind in sorted({owner.kind for owner in owners}):
                labels = " and ".join(owner.label for owner in owners if owner.kind == kind)
                findings.append(
                    Finding(path, _location(unit.where, first_number), kind,
                            f"{count} consecutive line(s) from {labels}, starting {_excerpt(first_text)!r}")
                )
            start = end + run - 1
    return findings


class _Collapsed:
    """A text with whitespace runs collapsed to one space, mapped back to line numbers."""

    def __init__(self, unit: TextUnit):
        pieces, self.starts, self.numbers = [], [], []
        length = 0
        for number, text in unit.lines:
            collapsed = " ".join(text.split())
            if not collapsed:
                continue
            if pieces:
                pieces.append(" ")
                length += 1
            self.starts.append(length)
            self.numbers.append(number)
            pieces.append(collapsed)
            length += len(collapsed)
        self.text = "".join(pieces)

    def line_at(self, offset: int) -> int:
        return self.numbers[max(0, bisect.bisect_right(self.starts, offset) - 1)] if self.numbers else 0


def _tolerance(token: str, value: float) -> float:
    """Return half a unit in the last printed place of ``token``."""
    mantissa, _, exponent = token.lower().partition("e")
    decimals = len(mantissa.partition(".")[2])
    return 0.5 * 10.0 ** (int(exponent or 0) - decimals) * (1 + 1e-9) + abs(value) * 1e-15


def _scan_values(path: str, unit: TextUnit, secrets: Secrets, own_text: str) -> list:
    """Find printed hidden case inputs in one text unit."""
    findings = []
    collapsed = _Collapsed(unit)
    for value in secrets.values:
        for form in value.printed:
            offset = collapsed.text.find(form)
            if offset >= 0 and form not in own_text:
                findings.append(Finding(path, _location(unit.where, collapsed.line_at(offset)), "hidden case data",
                                        f"the input {value.label}, printed as {_excerpt(form)!r}"))
                break

    # Runs of printed numbers: each token's candidates are (value, position) pairs.
    tokens = []
    for number, text in unit.lines:
        for match in NUMBER.finditer(text):
            tokens.append((number, match.group()))
    candidates = []
    for _, token in tokens:
        found = set()
        if significant_digits(token) >= MIN_SIGNIFICANT_DIGITS:
            number = float(token)
            tolerance = _tolerance(token, number)
            low = bisect.bisect_left(secrets.number_keys, number - tolerance)
            high = bisect.bisect_right(secrets.number_keys, number + tolerance)
            found = {(entry[1], entry[2]) for entry in secrets.number_index[low:high]}
        candidates.append(found)
    reported = set()
    index = 0
    while index + RUN_NUMBERS <= len(tokens):
        # Several inputs can hold the same numbers (generated from the same seed), so every match counts.
        runs = {}
        for value_number, position in sorted(candidates[index]):
            length = 0
            while index + length < len(tokens) and (value_number, position + length) in candidates[index + length]:
                length += 1
            if length >= RUN_NUMBERS:
                runs[value_number] = max(length, runs.get(value_number, 0))
        if not runs:
            index += 1
            continue
        unreported = sorted(value_number for value_number in runs if value_number not in reported)
        if unreported:
            reported.update(unreported)
            labels = " and ".join(secrets.values[value_number].label for value_number in unreported)
            findings.append(Finding(path, _location(unit.where, tokens[index][0]), "hidden case data",
                                    f"{max(runs.values())} consecutive values of the input {labels}, starting {tokens[index][1]}"))
        index += max(runs.values())
    return findings


def _scan_markers(path: str, unit: TextUnit) -> list:
    findings = []
    for number, text in unit.lines:
        for marker in MARKERS:
            if marker in text:
                findings.append(Finding(path, _location(unit.where, number), "nbgrader marker", f"{marker!r} left in the text"))
    return findings


def scan_units(path: str, units: list, secrets: Secrets, own: tuple = (frozenset(), "")) -> list:
    """Scan text units of one file for instructor-only code, hidden data and markers."""
    own_lines, own_text = own
    findings = []
    for unit in units:
        findings += _scan_markers(path, unit)
        findings += _scan_code(path, unit, secrets, own_lines)
        findings += _scan_values(path, unit, secrets, own_text)
    return findings


# -- reading files ------------------------------------------------------------------------------


def _numbered(text: str, first: int = 1) -> list:
    return [(first + offset, line) for offset, line in enumerate(text.splitlines())]


def _output_text(output: dict) -> str:
    parts = []
    if "text" in output:
        parts.append(_cell_source({"source": output["text"]}))
    for mime, data in sorted((output.get("data") or {}).items()):
        if not (mime.startswith("text/") or mime.endswith("json")):
            continue
        if isinstance(data, list):
            data = "".join(str(part) for part in data)
        elif not isinstance(data, str):
            data = json.dumps(data)
        parts.append(data)
    if output.get("traceback"):
        parts.append("\n".join(output["traceback"]))
    return "\n".join(parts)


def notebook_units(document: dict, path: str) -> tuple:
    """Return (text units, findings): the cells of a notebook, and its outputs and execution counts."""
    units, findings = [], []
    for index, cell in enumerate(document.get("cells", [])):
        where = describe_cell(index, cell)
        units.append(TextUnit(where, _numbered(_cell_source(cell))))
        if cell.get("cell_type") != "code":
            continue
        outputs = cell.get("outputs") or []
        if outputs:
            kinds = ", ".join(sorted({str(output.get("output_type")) for output in outputs}))
            findings.append(Finding(path, where, "cell output", f"{len(outputs)} output(s) ({kinds}); clear the outputs"))
        if cell.get("execution_count") is not None:
            findings.append(Finding(path, where, "execution count", f"execution_count is {cell['execution_count']}; clear it"))
        for number, output in enumerate(outputs):
            units.append(TextUnit(f"{where}, output {number}", _numbered(_output_text(output))))
    return units, findings


class _HtmlText(HTMLParser):
    """Collect the visible text of an HTML page by line, and where each notebook cell starts."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.lines: dict = {}
        self.cells: list = []  # (line, "cell N (id X)")
        self._skipped = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self._skipped += 1
        elif tag == "div":
            attributes = dict(attrs)
            classes = (attributes.get("class") or "").split()
            # nbconvert's classic template uses "cell", its lab template "jp-Cell".
            if "cell" in classes or "jp-Cell" in classes:
                name = f"cell {len(self.cells)}"
                cell_id = (attributes.get("id") or "").removeprefix("cell-id=")
                self.cells.append((self.getpos()[0], f"{name} (id {cell_id})" if cell_id else name))

    def handle_endtag(self, tag):
        if tag in ("script", "style") and self._skipped:
            self._skipped -= 1

    def handle_data(self, data):
        if self._skipped:
            return
        line = self.getpos()[0]
        for offset, piece in enumerate(data.split("\n")):
            self.lines.setdefault(line + offset, []).append(piece)


def html_units(text: str) -> list:
    """Return the visible text of an HTML page as one unit per notebook cell (or one for the page)."""
    parser = _HtmlText()
    parser.feed(text)
    parser.close()
    lines = sorted((number, "".join(pieces)) for number, pieces in parser.lines.items())
    if not parser.cells:
        return [TextUnit("", lines)]
    starts = [start for start, _ in parser.cells]
    units = [TextUnit("", [])] + [TextUnit(name, []) for _, name in parser.cells]
    for number, line in lines:
        units[bisect.bisect_right(starts, number)].lines.append((number, line))
    return units


def _is_binary(data: bytes) -> bool:
    return b"\x00" in data[:8192]


def scan_bytes(path: str, data: bytes, secrets: Secrets, own: tuple = (frozenset(), "")) -> list:
    """Scan the contents of one student-facing file, named ``path`` in the findings."""
    lowered = path.lower()
    if lowered.endswith(".zip"):
        return scan_zip(path, data, secrets)
    if _is_binary(data):
        return [
            Finding(path, f"byte {data.find(value.raw)}", "hidden case data", f"the float64 bytes of the input {value.label}")
            for value in secrets.values
            if len(value.raw) >= 8 * MIN_PRINTED_ELEMENTS and value.raw in data
        ]
    text = data.decode("utf-8", errors="replace")
    if lowered.endswith(".ipynb"):
        try:
            document = json.loads(text)
        except json.JSONDecodeError:
            document = None
        if isinstance(document, dict) and isinstance(document.get("cells"), list):
            units, findings = notebook_units(document, path)
            return findings + scan_units(path, units, secrets, own)
    if lowered.endswith((".html", ".htm")):
        return scan_units(path, html_units(text), secrets, own)
    return scan_units(path, [TextUnit("", _numbered(text))], secrets, own)


def scan_zip(path: str, data: bytes, secrets: Secrets) -> list:
    """Scan every member of a zip archive; members are named ``archive!member``."""
    findings = []
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as error:
        return [Finding(path, "archive", "unreadable", f"not a valid zip file ({error})")]
    with archive:
        for member in sorted(archive.namelist()):
            if not member.endswith("/"):
                findings += scan_bytes(f"{path}!{member}", archive.read(member), secrets)
    return findings


def _own_submission(path: Path) -> tuple:
    """Return (lines, text) of the submission behind a feedback page, or empty ones.

    ``feedback/<student>/<assignment>/page.html`` belongs to the notebooks in
    ``submitted/<student>/<assignment>/`` of the same course.
    """
    parts = path.resolve().parts
    if len(parts) < 4 or parts[-4] != "feedback":
        return frozenset(), ""
    folder = Path(*parts[:-4]) / "submitted" / parts[-3] / parts[-2]
    lines, texts = set(), []
    for notebook in sorted(folder.glob("*.ipynb")):
        try:
            cells = json.loads(notebook.read_text(encoding="utf-8")).get("cells", [])
        except (OSError, UnicodeDecodeError, json.JSONDecodeError, AttributeError):
            continue
        for cell in cells if isinstance(cells, list) else []:
            source = _cell_source(cell) if isinstance(cell, dict) else ""
            lines.update(normalize_line(line) for line in source.splitlines())
            texts.append(" ".join(source.split()))
    return frozenset(lines), "\n".join(texts)


def default_paths(course_root=".") -> list:
    """Return the student-facing paths of a course that exist: release/, feedback/ and dist/*-student.zip."""
    root = Path(course_root)
    paths = [root / "release", root / "feedback"] + sorted((root / "dist").glob("*-student.zip"))
    return [path for path in paths if path.exists()]


def scan_paths(paths, secrets: Secrets, relative_to=None) -> list:
    """Scan files and folders (every file under them) and return all findings.

    Paths in findings are relative to ``relative_to`` when they lie under it.
    """
    findings = []
    for argument in paths:
        root = Path(argument)
        if not root.exists():
            raise FileNotFoundError(f"{root} does not exist")
        files = [root] if root.is_file() else sorted(path for path in root.rglob("*") if path.is_file())
        for file in files:
            name = file.as_posix()
            if relative_to is not None:
                try:
                    name = file.resolve().relative_to(Path(relative_to).resolve()).as_posix()
                except ValueError:
                    pass
            findings += scan_bytes(name, file.read_bytes(), secrets, _own_submission(file))
    return findings


def format_findings(findings: list) -> str:
    """Return the findings one per line, followed by a count."""
    lines = [finding.format() for finding in findings]
    files = len({finding.path for finding in findings})
    lines.append(f"{len(findings)} leak(s) found in {files} file(s)" if findings else "no leaks found")
    return "\n".join(lines)
