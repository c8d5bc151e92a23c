"""Class summary for the instructor: what to re-teach.

Built from the gradebook (scores) and the grading records (case groups and
misconceptions), so it covers submissions graded by ``nbgrader autograde``
and by ``python -m autograder grade`` alike.
"""

from __future__ import annotations

from collections import Counter

from .grading import load_assignment
from .report import gradebook_scores
from .results import load_records


def build_class_report(course_root: str, assignment_id: str) -> dict:
    """Return pass rates per function and case group, and misconception counts."""
    spec = load_assignment(assignment_id)
    scores = gradebook_scores(course_root, assignment_id)
    records = load_records(course_root, assignment_id)
    functions = []
    for function_spec in spec.functions:
        name = function_spec.name
        points = [scores[student][name][0] for student in scores if name in scores[student]]
        full = sum(1 for value in points if value >= function_spec.points)
        groups = []
        for group_name, group_points in function_spec.groups:
            passed = total = 0
            for record in records:
                for function in record.get("functions", []):
                    if function["name"] != name:
                        continue
                    for group in function.get("groups", []):
                        # An unreadable submission counts as failing every group, as its scores are 0.
                        if group["name"] == group_name:
                            total += 1
                            passed += not record.get("error") and group["failed"] == 0
            groups.append({"group": group_name, "points": group_points, "passed": passed, "students": total})
        misconceptions = Counter(
            function["misconception"]["name"]
            for record in records
            for function in record.get("functions", [])
            if function["name"] == name and function.get("misconception")
        )
        functions.append(
            {
                "function": name,
                "max_score": function_spec.points,
                "students": len(points),
                "full_marks": full,
                "mean_score": round(sum(points) / len(points), 3) if points else 0.0,
                "groups": groups,
                "misconceptions": [{"name": key, "count": count} for key, count in misconceptions.most_common()],
            }
        )
    catalogue = {entry.name: entry.misconception for entry in spec.mistakes}
    overall = Counter()
    for function in functions:
        for item in function["misconceptions"]:
            overall[item["name"]] += item["count"]
    return {
        "assignment": assignment_id,
        "students": len(scores),
        "damaged": sum(1 for record in records if record.get("error") or record.get("warnings")),
        "unreadable": sum(1 for record in records if record.get("error")),
        "functions": functions,
        "top_misconceptions": [
            {"name": name, "count": count, "misconception": catalogue.get(name, "")} for name, count in overall.most_common(10)
        ],
    }


def format_class_report(report: dict) -> str:
    """Return the report as text tables."""
    lines = [
        f"{report['assignment']}: {report['students']} students, {report['damaged']} damaged submissions "
        f"({report['unreadable']} unreadable, graded 0; the others repaired or with warnings)",
        "",
    ]
    lines.append(f"{'function / case group':<44}{'pass rate':>14}{'mean':>10}")
    for function in report["functions"]:
        rate = f"{function['full_marks']}/{function['students']}"
        lines.append(f"{function['function']:<44}{rate:>14}{function['mean_score']:>7g}/{function['max_score']:g}")
        for group in function["groups"]:
            share = f"{group['passed']}/{group['students']}"
            lines.append(f"  {group['group'] + ' (' + format(group['points'], 'g') + ' pt)':<42}{share:>14}")
    lines.append("")
    if report["top_misconceptions"]:
        lines.append("Most frequent misconceptions:")
        for item in report["top_misconceptions"]:
            lines.append(f"  {item['count']:>4} x {item['name']}: {item['misconception']}")
    else:
        lines.append("No catalogued misconception was recognised.")
    return "\n".join(lines)
