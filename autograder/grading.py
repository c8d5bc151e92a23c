"""Grade submissions of one assignment: cases, references, scores and feedback.

:class:`AssignmentGrader` is built once per assignment in the grader's own
process.  It generates the cases, computes the reference outcomes by calling
``solutions/`` on copies of the inputs, and then turns the outcomes of a
student's functions into scores per case group, feedback messages and named
misconceptions.  Student code never runs in this process except through
:meth:`AssignmentGrader.grade_trusted_cells`, which exists for reference
code, catalogue entries and tests.
"""

from __future__ import annotations

import ast
import copy
import functools
import importlib
import logging
import os
import time
from dataclasses import dataclass, field
from typing import Optional

from . import runner, wire
from .compare import PASSED, Outcome, Verdict, compare_outcomes, describe_error, raised_kind
from .sandbox import Limits, Sandbox
from .spec import AssignmentSpec, CatalogueEntry

log = logging.getLogger("autograder.grading")
from .submission import SubmissionError, defined_functions, find_notebook, load_submission, parse_cell, released_cell_sources


@dataclass
class GroupResult:
    name: str
    points: float
    earned: float
    cases: int
    failed: int
    # Feedback for the first failing case of the group, if any.
    message: str = ""


@dataclass
class FunctionResult:
    name: str
    score: float
    max_score: float
    # "passed", "partial", "failed", "missing", "timed_out", "crashed", "banned"
    status: str
    groups: list = field(default_factory=list)
    misconception: Optional[dict] = None
    advice: list = field(default_factory=list)
    elapsed: float = 0.0

    def feedback(self) -> str:
        """Return the student-facing feedback text for this function."""
        lines = [f"{self.name}: {_points(self.score)} of {_points(self.max_score)} points"]
        # A submission that could not be read ran no case, so its groups are not listed.
        ran = any(group.cases for group in self.groups)
        for group in self.groups if ran else ():
            if group.failed:
                lines.append(f"  {group.name} ({_points(group.points)} pt): not passed, {group.failed} of {group.cases} cases failed")
                lines.append(f"    {group.message}")
            else:
                lines.append(f"  {group.name} ({_points(group.points)} pt): passed ({group.cases} cases)")
        if self.misconception:
            lines.append(f"  Likely misconception: {self.misconception['misconception']}.")
            lines.append(f"  Hint: {self.misconception['hint']}")
        for note in self.advice:
            lines.append(f"  Note: {note}")
        if self.score == self.max_score:
            lines.append("  Well done: every case passed.")
        return "\n".join(lines)


@dataclass
class SubmissionResult:
    assignment: str
    student: str
    notebook: str
    functions: list = field(default_factory=list)
    warnings: list = field(default_factory=list)
    # Set when the submission could not be read at all; every score is then 0.
    error: Optional[str] = None
    elapsed: float = 0.0
    notes: list = field(default_factory=list)
    # SHA-256 of the graded folder, set by the batch writer to skip it next time.
    digest: str = ""

    @property
    def score(self) -> float:
        return float(sum(result.score for result in self.functions))

    @property
    def max_score(self) -> float:
        return float(sum(result.max_score for result in self.functions))

    @property
    def damaged(self) -> bool:
        return self.error is not None or bool(self.warnings)

    def function(self, name: str) -> FunctionResult:
        for result in self.functions:
            if result.name == name:
                return result
        raise KeyError(name)

    def to_json(self) -> dict:
        record = _plain(self)
        record["score"] = self.score
        record["max_score"] = self.max_score
        return record


def _plain(value):
    """Return a dataclass result as dicts and lists, like ``dataclasses.asdict`` without its deep copies.

    ``asdict`` copied every leaf and cost about a millisecond per record.
    """
    if hasattr(type(value), "__dataclass_fields__"):
        return {name: _plain(getattr(value, name)) for name in type(value).__dataclass_fields__}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    return value


def _points(value: float) -> str:
    return f"{value:g}"


def _copy_inputs(case) -> tuple:
    return copy.deepcopy(case.args), copy.deepcopy(case.kwargs)


def _outcome_from_call(raw: dict) -> Outcome:
    if raw["status"] == "returned":
        return Outcome("returned", value=wire.decode(raw["payload"]), warnings=raw.get("warnings", 0), warning=raw.get("warning", ""))
    if raw["status"] == "raised":
        return Outcome("raised", error=raw["error"], warnings=raw.get("warnings", 0))
    return Outcome(raw["status"], detail=raw.get("type", ""))


def _same_result(outcome: Outcome, mistaken: Outcome, case) -> bool:
    """Return True when a student's outcome reproduces a catalogued mistake's outcome."""
    if mistaken.status == "raised":
        if outcome.status != "raised" or not raised_kind(outcome.error, mistaken.error):
            return False
        # Two messages fail the contract alike when they miss the same required text.
        missing = [text for text in case.message_contains if text not in outcome.error.get("message", "")]
        missing_too = [text for text in case.message_contains if text not in mistaken.error.get("message", "")]
        return missing == missing_too
    return compare_outcomes(outcome, mistaken, case).passed


def warning_advice(count: int, example: str) -> str:
    """Return the advice for a function that emitted ``count`` warnings on cases it got right."""
    quoted = f', such as "{example}"' if example else ""
    text = f"the function emitted {count} warning(s){quoted}, on cases it got right; the results are correct, but "
    # numpy's floating-point warnings read "invalid value encountered in divide" and the like.
    if not example or "encountered in" in example:
        return text + "np.errstate or np.where can avoid the invalid operation"
    return text + "the warning says what to change"


def grading_environment_advice(error: dict) -> str:
    """Return advice for an error that the grader's confinement causes and Jupyter would not, or ""."""
    kind, message = error.get("type"), str(error.get("message", ""))
    if kind == "PermissionError":
        return ("; the grader runs your code in a folder where nothing can be written, so remove file writes, "
                "such as savefig('figure.png'), from graded code")
    if kind == "ModuleNotFoundError":
        return ("; the grader has only numpy, matplotlib with PNG output, IPython.display and common standard "
                f"modules, so remove what needs the missing module ({message[:80]})")
    return ""


def explain_verdict(verdict: Verdict, outcome: Optional[Outcome]) -> str:
    """Return the verdict's message, with advice for a stub, an exhausted memory limit or a confinement error."""
    message = verdict.message
    error = outcome.error if verdict.problem == "raised" and outcome is not None and outcome.error else None
    if error and error.get("type") == "MemoryError":
        message += "; the memory limit was exceeded"
    if error and error.get("type") == "NotImplementedError":
        message += "; replace the `raise NotImplementedError()` line with your code"
    if error:
        message += grading_environment_advice(error)
    return message


# Spellings of a matrix product that the names in a ban do not cover on their own.
_MATMUL_ALIASES = ("__matmul__", "__rmatmul__", "multi_dot", "vecdot", "matvec", "vecmat", "asmatrix")


_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)


def _module_statements(statements: list, nested: bool = False):
    """Yield (statement, nested) for the statements that run at module level, in source order.

    Statements in if, for, while, with, try and match blocks run at module
    level too, but may not run at all: those are ``nested``.  Statements in
    function and class bodies are not yielded.
    """
    for statement in statements:
        yield statement, nested
        if isinstance(statement, _SCOPES):
            continue
        for field in ("body", "orelse", "finalbody"):
            yield from _module_statements(getattr(statement, field, None) or [], True)
        for handler in getattr(statement, "handlers", None) or []:
            yield from _module_statements(handler.body, True)
        for case in getattr(statement, "cases", None) or []:
            yield from _module_statements(case.body, True)


def _module_expressions(statement):
    """Yield the expression nodes of one statement that run in its own scope, outside nested bodies."""
    pending = [child for child in ast.iter_child_nodes(statement) if not isinstance(child, ast.stmt)]
    while pending:
        node = pending.pop()
        yield node
        if not isinstance(node, _SCOPES):
            pending.extend(child for child in ast.iter_child_nodes(node) if not isinstance(child, ast.stmt))


def _target_names(target) -> list:
    return [node.id for node in ast.walk(target) if isinstance(node, ast.Name)]


def _assigned(node) -> list:
    """Return (name, value node) for an assignment, pairing ``a, b = x, y`` element by element."""
    if isinstance(node, ast.Assign):
        pairs = []
        for target in node.targets:
            if isinstance(target, (ast.Tuple, ast.List)) and isinstance(node.value, (ast.Tuple, ast.List)) \
                    and len(target.elts) == len(node.value.elts):
                pairs += [(name, value) for element, value in zip(target.elts, node.value.elts) for name in _target_names(element)]
            else:
                # A plain name gets the value itself, so a lambda's parameters count as its locals.
                value = node.value if isinstance(target, ast.Name) else node
                pairs += [(name, value) for name in _target_names(target)]
        return pairs
    value = node.value if isinstance(node, ast.AnnAssign) and node.value is not None else node
    return [(name, value) for name in _target_names(node.target)]


@functools.lru_cache(maxsize=64)
def _module_bindings(source: str) -> tuple:
    """Return (name, node, nested) for every module-level binding in a cell, in source order.

    Bindings are defs, classes, assignments, imports, ``for`` and ``with``
    targets and ``:=`` expressions, including those inside if, try and other
    blocks, which are ``nested``: ``if True: def f(): ...`` binds ``f``, but
    ``if False: def f(): ...`` does not.  The node is what gives the name its
    value: a ``for`` target's iterable, for example.
    """
    tree = parse_cell(source)
    if tree is None:
        return ()
    bindings = []
    for node, nested in _module_statements(tree.body):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bindings.append((node.name, node, nested))
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            bindings += [(name, value, nested) for name, value in _assigned(node)]
        elif isinstance(node, (ast.For, ast.AsyncFor)):
            bindings += [(name, node.iter, True) for name in _target_names(node.target)]
        elif isinstance(node, (ast.With, ast.AsyncWith)):
            bindings += [(name, item.context_expr, nested) for item in node.items if item.optional_vars is not None
                         for name in _target_names(item.optional_vars)]
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            bindings += [((alias.asname or alias.name).split(".")[0], node, nested) for alias in node.names]
        if not isinstance(node, _SCOPES):
            # A := may sit in a branch of an expression that never runs.
            bindings += [(expression.target.id, expression.value, True) for expression in _module_expressions(node)
                         if isinstance(expression, ast.NamedExpr)]
    return tuple(bindings)


def _local_names(node) -> set:
    """Return the parameter and assigned names of a function and of the functions and lambdas inside it.

    They shadow any global of the same name.  Counting the parameters of
    nested lambdas too errs on the side of calling a name local.
    """
    if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
        return set()
    return _parameters(node) | {child.id for child in ast.walk(node) if isinstance(child, ast.Name) and isinstance(child.ctx, ast.Store)}


def _parameters(node) -> set:
    """Return the parameter names of every function and lambda in ``node``, itself included."""
    names = set()
    for child in ast.walk(node):
        if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            arguments = child.args
            names |= {argument.arg for argument in arguments.args + arguments.kwonlyargs + arguments.posonlyargs}
            names |= {argument.arg for argument in (arguments.vararg, arguments.kwarg) if argument is not None}
    return names


def find_banned_usage(code_cells: list, function_name: str, banned: tuple) -> list:
    """Return "name (line N of F)" for each banned operator or call that the function can reach.

    The function is its last plain module-level binding in the cells (a def,
    or an assignment such as a lambda) together with every binding after it
    inside an if, try, for or with block.  Module-level functions it refers
    to are followed too, also through default argument values and
    decorators, so a helper cannot hide a matrix product.  Dynamic lookups
    such as ``getattr(np, "d" + "ot")`` are not seen.
    """
    # A plain binding replaces the earlier ones. A binding in a block may not run, so it
    # is checked beside the plain one before it: "if False: def f()" must not hide the real f.
    bindings: dict = {}
    for _, code in code_cells:
        for name, node, nested in _module_bindings(code):
            if nested:
                bindings.setdefault(name, []).append(node)
            else:
                bindings[name] = [node]
    names = (set(banned) - {"@"}) | set(_MATMUL_ALIASES)
    found, seen, pending = [], set(), [function_name]
    while pending and len(seen) < 50:
        current = pending.pop()
        if current in seen or current not in bindings:
            continue
        seen.add(current)
        for node in bindings[current]:
            _scan_binding(node, current, banned, names, bindings, found, pending)
    return found


def _scan_binding(node, current: str, banned: tuple, names: set, bindings: dict, found: list, pending: list) -> None:
    """Add to ``found`` the banned products in one binding of ``current``, and queue the globals it uses."""
    first_line = getattr(node, "lineno", 1)
    local = _local_names(node)
    # Default values and decorators are evaluated outside the function, so their names are
    # globals even when a parameter has the same name, unless a lambda inside them binds it.
    outside = set()
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
        evaluated = node.args.defaults + [value for value in node.args.kw_defaults if value is not None]
        evaluated += getattr(node, "decorator_list", [])
        for value in evaluated:
            inner = _parameters(value)
            outside |= {id(name) for name in ast.walk(value) if isinstance(name, ast.Name) and name.id not in inner}
    for child in ast.walk(node):
        where = f"line {getattr(child, 'lineno', first_line) - first_line + 1} of {current}"
        if "@" in banned and isinstance(child, (ast.BinOp, ast.AugAssign)) and isinstance(child.op, ast.MatMult):
            found.append(f"the @ operator ({where})")
        elif isinstance(child, ast.Attribute) and child.attr in names:
            found.append(f"{child.attr} ({where})")
        elif isinstance(child, ast.Name) and isinstance(child.ctx, ast.Load) and (child.id not in local or id(child) in outside):
            if child.id in names:
                found.append(f"{child.id} ({where})")
            elif child.id in bindings and child.id != current:
                pending.append(child.id)
        elif isinstance(child, ast.alias) and ({child.name.split(".")[-1], child.asname} & names):
            found.append(f"{child.name} ({where})")


class AssignmentGrader:
    """Cases, reference outcomes and scoring rules of one assignment."""

    def __init__(self, spec: AssignmentSpec, release_notebook: Optional[str] = None):
        self.spec = spec
        self.cases = list(spec.build_cases())
        self.function_names = spec.function_names
        self.released_sources = (
            released_cell_sources(release_notebook, set(self.function_names))
            if release_notebook and os.path.isfile(release_notebook)
            else set()
        )
        self._check_cases()
        reference = importlib.import_module(spec.reference_module)
        self.reference_namespace = {name: value for name, value in vars(reference).items() if not name.startswith("__")}
        self.expected = {number: self._reference_outcome(number, case) for number, case in enumerate(self.cases)}
        # A student result may be at most 16 times the reference's encoded size (1 MiB at least),
        # so a submission that returns huge arrays cannot fill the grader's memory.
        encoded = {number: wire.encode(outcome.value) for number, outcome in self.expected.items()}
        self.result_limits = {number: max(1 << 20, 16 * len(payload)) for number, payload in encoded.items()}
        # A student result that arrives byte for byte as the reference's is the reference's value
        # object, and passes without a comparison where the reference passes against itself.
        self.known_results = {
            number: (encoded[number], outcome.value)
            for number, outcome in self.expected.items()
            if outcome.status == "returned" and compare_outcomes(outcome, outcome, self.cases[number]).passed
        }
        self._mistake_namespaces: dict = {}
        self._mistake_outcomes: dict = {}
        self._mistake_failures: dict = {}
        # One list for every submission, so the sandbox sends the cases to its zygote only once.
        self._calls = [(number, case.function, case.args, case.kwargs) for number, case in enumerate(self.cases)]
        self._case_numbers = {
            function: [number for number, case in enumerate(self.cases) if case.function == function]
            for function in self.function_names
        }

    def _check_cases(self) -> None:
        for case in self.cases:
            spec = self.spec.function(case.function)
            if case.group not in dict(spec.groups):
                raise ValueError(f"case {case.description!r} of {case.function} names unknown group {case.group!r}")
        for spec in self.spec.functions:
            used = {case.group for case in self.cases if case.function == spec.name}
            empty = [name for name, _ in spec.groups if name not in used]
            if empty:
                raise ValueError(f"{spec.name}: case groups without cases: {', '.join(empty)}")

    def _reference_outcome(self, number: int, case) -> Outcome:
        args, kwargs = _copy_inputs(case)
        outcome = _outcome_from_call(runner.call_case(self.reference_namespace, case.function, args, kwargs, {}))
        if case.raises and (outcome.status != "raised" or outcome.error["type"] != case.raises):
            raise ValueError(f"case {number} of {case.function} ({case.description}): the reference did not raise {case.raises}")
        if not case.raises and outcome.status != "returned":
            detail = describe_error(outcome.error) if outcome.error else outcome.status
            raise ValueError(f"case {number} of {case.function} ({case.description}): the reference failed: {detail}")
        return outcome

    # -- calls ----------------------------------------------------------------

    def calls(self) -> list:
        """Return every case as a call ``(number, function, args, kwargs)``; the list is shared, so do not change it."""
        return self._calls

    # -- catalogue ------------------------------------------------------------

    def _mistake_outcome(self, entry: CatalogueEntry, number: int) -> Outcome:
        key = (entry.name, number)
        if key not in self._mistake_outcomes:
            namespace = self._mistake_namespaces.get(entry.name)
            if namespace is None:
                namespace = {"__builtins__": __builtins__, **self.reference_namespace}
                exec(compile(entry.source, f"<mistake {entry.name}>", "exec"), namespace)
                self._mistake_namespaces[entry.name] = namespace
            args, kwargs = _copy_inputs(self.cases[number])
            self._mistake_outcomes[key] = _outcome_from_call(runner.call_case(namespace, entry.function, args, kwargs, {}))
        return self._mistake_outcomes[key]

    def _mistake_fails(self, entry: CatalogueEntry, number: int) -> bool:
        """Return True when the catalogued mistake gets case ``number`` wrong (computed once)."""
        key = (entry.name, number)
        if key not in self._mistake_failures:
            mistaken = self._mistake_outcome(entry, number)
            self._mistake_failures[key] = not compare_outcomes(mistaken, self.expected[number], self.cases[number]).passed
        return self._mistake_failures[key]

    def _match_misconception(self, function_name: str, failures: list) -> Optional[CatalogueEntry]:
        """Return the catalogued mistake whose outputs the student's failing outputs match most often."""
        best, best_count = None, 0
        for entry in self.spec.mistakes:
            if entry.function != function_name:
                continue
            count = 0
            for number, outcome in failures:
                if outcome is None or outcome.status not in ("returned", "raised"):
                    continue
                case = self.cases[number]
                mistaken = self._mistake_outcome(entry, number)
                if not self._mistake_fails(entry, number):
                    continue
                if _same_result(outcome, mistaken, case):
                    count += 1
            if count > best_count:
                best, best_count = entry, count
        return best

    # -- scoring ----------------------------------------------------------------

    def score(self, outcomes: dict, code_cells: list, only: Optional[str] = None) -> list:
        """Turn outcomes per call number into one :class:`FunctionResult` per function.

        With ``only``, score just that function.
        """
        results = []
        for spec in self.spec.functions:
            if only is not None and spec.name != only:
                continue
            try:
                results.append(self._score_function(spec, outcomes, code_cells))
            except Exception as error:  # one malformed result must not cost the other functions
                log.exception("could not score %s", spec.name)
                groups = [GroupResult(name, float(points), 0.0, 0, 0, "") for name, points in spec.groups]
                results.append(FunctionResult(
                    spec.name, 0.0, spec.points, "failed", groups,
                    advice=[f"the grader could not judge this function's results ({type(error).__name__}); ask your instructor"],
                ))
        return results

    def _score_function(self, spec, outcomes: dict, code_cells: list) -> FunctionResult:
        numbers = self._case_numbers[spec.name]
        verdicts = {number: self._judge(outcomes.get(number), number) for number in numbers}
        failures = [(number, outcomes.get(number)) for number in numbers if not verdicts[number].passed]

        groups = []
        for group_name, points in spec.groups:
            members = [number for number in numbers if self.cases[number].group == group_name]
            failed = [number for number in members if not verdicts[number].passed]
            message = ""
            if failed:
                first = failed[0]
                message = f"for {self.cases[first].description}: {self._explain(verdicts[first], outcomes.get(first))}"
            groups.append(GroupResult(group_name, float(points), 0.0 if failed else float(points), len(members), len(failed), message))

        banned = find_banned_usage(code_cells, spec.name, spec.banned) if spec.banned else []
        status = self._status(spec.name, verdicts, groups)
        if banned:
            for group in groups:
                group.earned = 0.0
                if not group.failed:
                    group.message = "not counted, because the function uses a matrix product (see the note below)"
                    group.failed = group.cases
            status = "banned"

        misconception = None
        if failures and status not in ("missing", "banned"):
            entry = self._match_misconception(spec.name, failures)
            if entry is not None:
                misconception = {"name": entry.name, "misconception": entry.misconception, "hint": entry.hint}

        advice = []
        warned = [outcomes[number] for number in numbers if number in outcomes and verdicts[number].passed]
        count = sum(outcome.warnings for outcome in warned)
        if count:
            example = next((outcome.warning for outcome in warned if outcome.warning), "")
            advice.append(warning_advice(count, example))
        if banned:
            advice.append(f"{spec.name} must not use {', '.join(banned)}. {spec.banned_reason}")
        elapsed = sum(outcomes[number].elapsed for number in numbers if number in outcomes)
        return FunctionResult(
            name=spec.name,
            score=float(sum(group.earned for group in groups)),
            max_score=spec.points,
            status=status,
            groups=groups,
            misconception=misconception,
            advice=advice,
            elapsed=elapsed,
        )

    def _judge(self, outcome: Optional[Outcome], number: int) -> Verdict:
        if outcome is None:
            return Verdict(False, "crashed", "this case was not run")
        if outcome.status == "returned" and number in self.known_results and outcome.value is self.known_results[number][1]:
            return PASSED
        return compare_outcomes(outcome, self.expected[number], self.cases[number])

    @staticmethod
    def _explain(verdict: Verdict, outcome: Optional[Outcome]) -> str:
        return explain_verdict(verdict, outcome)

    @staticmethod
    def _status(name: str, verdicts: dict, groups: list) -> str:
        problems = {verdict.problem for verdict in verdicts.values()}
        if "missing" in problems:
            return "missing"
        if "timed_out" in problems:
            return "timed_out"
        if "crashed" in problems:
            return "crashed"
        earned = sum(group.earned for group in groups)
        if all(verdict.passed for verdict in verdicts.values()):
            return "passed"
        return "partial" if earned > 0 else "failed"

    # -- entry points -------------------------------------------------------------

    def grade_trusted_cells(self, code_cells: list, student: str = "", notebook: str = "") -> SubmissionResult:
        """Grade trusted code in this process, without isolation: for tests and catalogue checks."""
        started = time.monotonic()
        namespace = runner.new_namespace()
        sources = dict(code_cells)
        runner.execute_cells(code_cells, set(), namespace, lambda *event: None)
        outcomes = {}
        for number, function_name, args, kwargs in self.calls():
            call_args, call_kwargs = copy.deepcopy(args), copy.deepcopy(kwargs)
            outcomes[number] = _outcome_from_call(runner.call_case(namespace, function_name, call_args, call_kwargs, sources))
        result = SubmissionResult(self.spec.assignment_id, student, notebook)
        result.functions = self.score(outcomes, code_cells)
        result.elapsed = time.monotonic() - started
        return result

    def grade_notebook(self, path: str, sandbox: Sandbox, student: str = "") -> SubmissionResult:
        """Grade one submitted notebook file in ``sandbox``; an unreadable file gets 0 with the reason."""
        started = time.monotonic()
        result = SubmissionResult(self.spec.assignment_id, student, os.path.basename(path))
        try:
            submission = load_submission(path, set(self.function_names), self.released_sources, sandbox.limits.notebook_bytes)
        except SubmissionError as error:
            return self.zero_result(student, os.path.basename(path), str(error))
        result.warnings.extend(submission.warnings)
        report = sandbox.run(submission.code_cells, self.calls(), submission_path=path, result_limits=self.result_limits,
                             known_results=self.known_results)
        result.notes.extend(report.notes)
        for cell in report.cells.values():
            if cell.status in ("timed_out", "crashed"):
                result.warnings.append(cell.detail)
        result.functions = self.score(report.outcomes, submission.code_cells)
        self._explain_missing(result, report)
        result.elapsed = time.monotonic() - started
        return result

    def _explain_missing(self, result: SubmissionResult, report) -> None:
        """Add the errors of cells that failed to a missing function's feedback."""
        failed_cells = [cell for cell in report.cells.values() if cell.status != "ok"]
        if not failed_cells:
            return
        for function in result.functions:
            if function.status != "missing":
                continue
            reasons = []
            for cell in failed_cells[:3]:
                if cell.error:
                    reasons.append(f"cell {cell.index} raised {describe_error(cell.error)}{grading_environment_advice(cell.error)}")
                else:
                    reasons.append(cell.detail)
            function.advice.append("it may not have been defined because " + "; ".join(reasons))

    def zero_result(self, student: str, notebook: str, reason: str) -> SubmissionResult:
        """Return a result with every function at 0, for a submission that cannot be read."""
        result = SubmissionResult(self.spec.assignment_id, student, notebook, error=reason)
        for spec in self.spec.functions:
            groups = [GroupResult(name, float(points), 0.0, 0, 0, "") for name, points in spec.groups]
            result.functions.append(
                FunctionResult(spec.name, 0.0, spec.points, "missing", groups, advice=[f"not graded: {reason}"])
            )
        return result


def load_assignment(assignment_id: str) -> AssignmentSpec:
    """Import ``assignments.<assignment_id>`` and return its ``SPEC``."""
    try:
        module = importlib.import_module(f"assignments.{assignment_id}")
    except ModuleNotFoundError as error:
        if error.name and error.name.startswith(f"assignments.{assignment_id}"):
            known = ", ".join(assignment_ids()) or "none"
            raise KeyError(
                f"unknown assignment {assignment_id!r}: there is no assignments/{assignment_id}/ package "
                f"(known assignments: {known})"
            ) from None
        raise
    return module.SPEC


def assignment_ids() -> list:
    """Return the ids of the packages under ``assignments/`` that declare a SPEC, sorted."""
    import pkgutil

    package = importlib.import_module("assignments")
    found = []
    for module in pkgutil.iter_modules(package.__path__):
        if module.ispkg and hasattr(importlib.import_module(f"assignments.{module.name}"), "SPEC"):
            found.append(module.name)
    return sorted(found)


_graders: dict = {}


def grader_for(assignment_id: str, course_root: str = ".") -> AssignmentGrader:
    """Return the cached :class:`AssignmentGrader` of an assignment."""
    key = (assignment_id, os.path.abspath(course_root))
    if key not in _graders:
        spec = load_assignment(assignment_id)
        release = os.path.join(course_root, "release", assignment_id, f"{spec.notebook}.ipynb")
        _graders[key] = AssignmentGrader(spec, release)
    return _graders[key]


def grade_student_folder(grader: AssignmentGrader, folder: str, sandbox: Sandbox, student: str) -> SubmissionResult:
    """Find the notebook in a student's folder (renamed or not) and grade it."""
    expected = f"{grader.spec.notebook}.ipynb"
    try:
        path, warning = find_notebook(folder, expected)
    except SubmissionError as error:
        return grader.zero_result(student, expected, str(error))
    result = grader.grade_notebook(path, sandbox, student)
    if warning:
        result.warnings.insert(0, warning)
    return result


__all__ = [
    "AssignmentGrader",
    "FunctionResult",
    "GroupResult",
    "Limits",
    "Sandbox",
    "SubmissionResult",
    "grade_student_folder",
    "grader_for",
    "load_assignment",
]
