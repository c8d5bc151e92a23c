"""Score tables read back from the nbgrader gradebook and the grading records."""

from __future__ import annotations

import os

from .results import load_records


def gradebook_url(course_root: str) -> str:
    from .gradebook import gradebook_path

    return "sqlite:///" + gradebook_path(course_root)


def gradebook_scores(course_root: str, assignment_id: str) -> dict:
    """Return {student: {function: (score, max_score)}} from the gradebook's test cells."""
    from nbgrader.api import Gradebook, MissingEntry

    scores: dict = {}
    with Gradebook(gradebook_url(course_root)) as gradebook:
        try:
            assignment = gradebook.find_assignment(assignment_id)
        except MissingEntry:
            return scores
        for submission in assignment.submissions:
            per_function = scores.setdefault(submission.student.id, {})
            for notebook in submission.notebooks:
                for grade in notebook.grades:
                    if grade.name.startswith("test_"):
                        per_function[grade.name[len("test_"):]] = (float(grade.score or 0.0), float(grade.max_score))
    return scores


def _record_notes(record: dict) -> str:
    notes = []
    if record.get("error"):
        notes.append("not graded: " + record["error"])
    for function in record.get("functions", []):
        if function.get("misconception"):
            notes.append(f"{function['name']}: {function['misconception']['name']}")
        elif function.get("status") in ("timed_out", "crashed", "missing", "banned"):
            notes.append(f"{function['name']}: {function['status'].replace('_', ' ')}")
    notes.extend(record.get("warnings", [])[:4])
    return "; ".join(notes)


def format_score_table(course_root: str, spec, scores: dict, descriptions: dict = None) -> str:
    """Return a text table: one row per student, one column per function, and notes."""
    names = spec.function_names
    records = {record["student"]: record for record in load_records(course_root, spec.assignment_id)}
    width = max(8, *(len(name) for name in names))
    header = f"{'student':<10}" + "".join(f"{name:>{width + 2}}" for name in names) + f"{'total':>10}"
    lines = [f"\n{spec.assignment_id} ({spec.notebook}.ipynb)", header, "-" * len(header)]
    for student in sorted(scores):
        row = scores[student]
        cells = []
        total = maximum = 0.0
        for name in names:
            score, max_score = row.get(name, (0.0, spec.function(name).points))
            total += score
            maximum += max_score
            marker = " " if score == max_score else "*"
            cells.append(f"{score:>{width}g}/{max_score:g}{marker}"[-(width + 2):].rjust(width + 2))
        lines.append(f"{student:<10}" + "".join(cells) + f"{total:>6g}/{maximum:g}")
        about = (descriptions or {}).get((spec.assignment_id, student))
        if about:
            lines.append(f"{'':<10}  {about}")
        notes = _record_notes(records.get(student, {}))
        if notes:
            lines.append(f"{'':<10}  -> {notes}")
        if about or notes:
            lines.append("")
    lines.append("(* marks a function below full marks)\n")
    return "\n".join(lines)
