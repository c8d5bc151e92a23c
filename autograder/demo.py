"""The instructor pipeline on a demo class, end to end.

``python -m autograder demo`` regenerates ``release/`` with nbgrader, writes
a class of about a dozen students per assignment into ``submitted/`` (correct,
correct in other styles, catalogued mistakes, hostile and damaged
notebooks), runs ``nbgrader autograde`` on both assignments, prints a table
of every student's score for every function, and writes feedback with
``nbgrader generate_feedback`` and a CSV with ``nbgrader export``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time

from .classroom import (
    StudentRecipe,
    answer_cell_to_markdown,
    combine,
    delete_test_cell,
    duplicate_answer_cell,
    reference_sources,
    strip_metadata,
    write_submission,
)
from .grading import assignment_ids, load_assignment
from .release import tool_environment
from .report import format_score_table, gradebook_scores


NOOP_ASSERTS = """import numpy as np
# Try to make every visible assert pass.
np.testing.assert_allclose = lambda *args, **kwargs: None
np.allclose = lambda *args, **kwargs: True
np.isclose = lambda *args, **kwargs: True
"""

HIDE_TRACEBACKS = """try:
    get_ipython().showtraceback = lambda *args, **kwargs: None
except Exception:
    pass
import atexit
atexit.register(print, "All tests passed!")
"""

ENDLESS_LOOP = """# Keep the notebook busy forever after the definitions.
while True:
    pass
"""


def demo_class(spec) -> list:
    """Return the demo students of one assignment, built from its catalogue."""
    names = spec.function_names
    alternatives = {name: [entry for entry in spec.alternatives if entry.function == name] for name in names}
    recipes = [StudentRecipe("s01", "reference solution", expected={name: "full" for name in names})]
    for number in (0, 1):
        chosen = {name: entries[number % len(entries)].source for name, entries in alternatives.items() if entries}
        styles = sorted({entries[number % len(entries)].style for entries in alternatives.values() if entries})
        recipes.append(
            StudentRecipe(f"s0{number + 2}", "correct, other styles: " + ", ".join(styles), chosen, expected={name: "full" for name in names})
        )

    # One catalogued mistake per student, each in a different function.
    student = 4
    for name in names:
        entry = next((mistake for mistake in spec.mistakes if mistake.function == name), None)
        if entry is None or student > 8:
            continue
        expected = {other: "full" for other in names if other != name}
        expected[name] = "partial"
        recipes.append(StudentRecipe(f"s{student:02d}", f"mistake: {entry.name}", {name: entry.source}, expected=expected))
        student += 1

    first_mistake = spec.mistakes[0]
    hostile_expected = {name: "full" for name in names}
    hostile_expected[first_mistake.function] = "partial"
    recipes.append(
        StudentRecipe(
            "s09",
            f"hostile: no-op asserts, hidden tracebacks, fake atexit message, and {first_mistake.name}",
            {first_mistake.function: first_mistake.source},
            cells_before=[NOOP_ASSERTS, HIDE_TRACEBACKS],
            expected=hostile_expected,
        )
    )
    recipes.append(
        StudentRecipe("s10", "damaged: every cell's metadata stripped (correct code)", damage=strip_metadata, expected={name: "full" for name in names})
    )
    last = names[-1]
    broken_expected = {name: "full" for name in names}
    broken_expected[last] = "zero"
    recipes.append(
        StudentRecipe(
            "s11",
            f"raises at import: the {last} cell calls an undefined helper before its def",
            {last: "prepare_inputs()  # NameError: never defined\n\n" + reference_sources(spec)[last]},
            expected=broken_expected,
        )
    )
    recipes.append(
        StudentRecipe(
            "s12",
            f"damaged: renamed notebook, duplicated {names[0]} cell, {names[1]} cell turned into markdown, "
            f"test cell of {names[2]} deleted, endless loop at the end",
            damage=combine(duplicate_answer_cell(names[0]), answer_cell_to_markdown(names[1]), delete_test_cell(names[2])),
            cells_after=[ENDLESS_LOOP],
            file_name=f"{spec.notebook}_final_v2.ipynb",
            expected={name: "full" for name in names},
        )
    )
    return recipes


def _nbgrader(*arguments: str, course_root: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "nbgrader", *arguments]
    print("$ nbgrader " + " ".join(arguments), flush=True)
    completed = subprocess.run(command, cwd=course_root, capture_output=True, text=True, env=tool_environment())
    if completed.returncode != 0:
        sys.stderr.write(completed.stdout[-4000:] + completed.stderr[-4000:])
    return completed


def run_demo(course_root: str = ".") -> int:
    """Run the whole pipeline; return 0 when every step succeeded."""
    started = time.monotonic()
    course_root = os.path.abspath(course_root)
    for folder in ("submitted", "autograded", "feedback", ".grading"):
        shutil.rmtree(os.path.join(course_root, folder), ignore_errors=True)
    for name in ("gradebook.db", "grades.csv"):
        if os.path.exists(os.path.join(course_root, name)):
            os.remove(os.path.join(course_root, name))

    assignments = assignment_ids()
    failures = 0
    print("1. Regenerating release/ from source/ with nbgrader", flush=True)
    for assignment_id in assignments:
        failures += _nbgrader("generate_assignment", assignment_id, "--force", course_root=course_root).returncode != 0

    print("\n2. Writing the demo class into submitted/", flush=True)
    descriptions = {}
    for assignment_id in assignments:
        spec = load_assignment(assignment_id)
        for recipe in demo_class(spec):
            write_submission(course_root, spec, recipe)
            descriptions[(assignment_id, recipe.student_id)] = recipe.summary
        print(f"   {assignment_id}: {len(demo_class(spec))} students", flush=True)

    print("\n3. Autograding with nbgrader (student code runs in the sandbox)", flush=True)
    for assignment_id in assignments:
        failures += _nbgrader("autograde", assignment_id, "--force", course_root=course_root).returncode != 0

    print("\n4. Scores from the gradebook", flush=True)
    for assignment_id in assignments:
        spec = load_assignment(assignment_id)
        scores = gradebook_scores(course_root, assignment_id)
        print(format_score_table(course_root, spec, scores, descriptions))

    fast_assignment = assignments[-1]
    print(f"5. Regrading {fast_assignment} with the fast path (no Jupyter kernel; a sandbox pool)", flush=True)
    before = gradebook_scores(course_root, fast_assignment)
    print(f"$ python -m autograder grade {fast_assignment} --force", flush=True)
    fast_started = time.monotonic()
    # stderr is passed through, so a terminal shows the progress bar.
    completed = subprocess.run(
        [sys.executable, "-m", "autograder", "grade", fast_assignment, "--force"],
        cwd=course_root,
        stdout=subprocess.PIPE,
        text=True,
    )
    print(completed.stdout.strip())
    failures += completed.returncode != 0
    after = gradebook_scores(course_root, fast_assignment)
    same = "identical to" if after == before else "DIFFERENT from"
    print(f"   {time.monotonic() - fast_started:.1f} s; scores {same} nbgrader autograde's\n", flush=True)
    failures += after != before

    print("6. Feedback and export", flush=True)
    for assignment_id in assignments:
        failures += _nbgrader("generate_feedback", assignment_id, "--force", course_root=course_root).returncode != 0
    failures += _nbgrader("export", "--to", "grades.csv", course_root=course_root).returncode != 0

    print(
        f"\nDone in {time.monotonic() - started:.0f} s.\n"
        f"  release notebooks:   {os.path.join(course_root, 'release')}\n"
        f"  demo submissions:    {os.path.join(course_root, 'submitted')}\n"
        f"  autograded copies:   {os.path.join(course_root, 'autograded')}\n"
        f"  feedback (HTML):     {os.path.join(course_root, 'feedback')}\n"
        f"  grades (CSV):        {os.path.join(course_root, 'grades.csv')}\n"
        f"  gradebook (SQLite):  {os.path.join(course_root, 'gradebook.db')}\n"
        f"  grading records:     {os.path.join(course_root, '.grading')}"
    )
    return 1 if failures else 0
