"""Hidden checks that run inside a Jupyter kernel.

The hidden region of each test cell in ``source/`` calls
:func:`check_hidden_cases`.  It runs during ``nbgrader validate`` and under a
stock nbgrader configuration; the project's own configuration never runs it,
because there the scores come from the isolated grader instead (see
``autograder.nbgrader_plugin``).
"""

from __future__ import annotations

import copy
import inspect

from . import runner
from .grading import AssignmentGrader, _outcome_from_call, load_assignment

_graders: dict = {}


def check_hidden_cases(assignment_id: str, function_name: str, function) -> None:
    """Run every case of ``function_name`` on ``function``; raise AssertionError with feedback on a failure."""
    if assignment_id not in _graders:
        _graders[assignment_id] = AssignmentGrader(load_assignment(assignment_id))
    grader = _graders[assignment_id]
    namespace = {function_name: function}
    outcomes = {}
    for number, name, args, kwargs in grader.calls():
        if name != function_name:
            continue
        call_args, call_kwargs = copy.deepcopy(args), copy.deepcopy(kwargs)
        outcomes[number] = _outcome_from_call(runner.call_case(namespace, name, call_args, call_kwargs, {}))
    try:
        code_cells = [(0, inspect.getsource(function))]
    except (OSError, TypeError):  # defined in a way inspect cannot read; the ban check is skipped
        code_cells = []
    (result,) = grader.score(outcomes, code_cells, only=function_name)
    if result.score < result.max_score:
        raise AssertionError("\n" + result.feedback())
    print(result.feedback())
