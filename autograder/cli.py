"""Command-line interface: ``python -m autograder COMMAND``.

Exit status: 0 when the command did all its work; 1 when some of it failed
(for ``grade``: a submission could not be graded because of a grader error;
damaged and timed-out submissions are graded, with 0 where due, and do not
count as failures); 2 for invalid usage, such as an unknown assignment.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys

EXAMPLES = """examples:
  python -m autograder demo                                  whole instructor pipeline on a demo class
  python -m autograder grade ps02_attention                  grade submitted/*/ps02_attention in parallel
  python -m autograder grade ps01_span --student alice --json grades.json
  python -m autograder grade ps02_attention --scheduler tcp://10.0.0.5:8786
  python -m autograder report ps02_attention                 pass rates and frequent misconceptions
  python -m autograder report ps02_attention --format json
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m autograder",
        description="Hardened grading for the span and attention course.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--course", default=".", help="course directory (the nbgrader root); default: the current directory")
    parser.add_argument("-v", "--verbose", action="store_true", help="log every step, not only warnings")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    commands.add_parser("demo", help="regenerate release/, build a demo class, autograde it with nbgrader, print scores")

    grade = commands.add_parser("grade", help="grade every submission of an assignment into the nbgrader gradebook")
    grade.add_argument("assignment", help="assignment id, for example ps02_attention")
    grade.add_argument("--workers", type=int, default=None, help="parallel sandboxes (default: the number of CPUs)")
    grade.add_argument("--student", action="append", metavar="ID", help="grade only this student (repeatable)")
    grade.add_argument("--json", metavar="PATH", help="also write one record per student and function to PATH")
    grade.add_argument("--scheduler", metavar="ADDRESS", help="send the grading work to this Dask scheduler")
    grade.add_argument("--force", action="store_true", help="regrade students whose submission was already graded")
    grade.add_argument("--no-progress", action="store_true", help="log lines instead of a progress bar")

    report = commands.add_parser("report", help="class summary: pass rates per function and case group, misconceptions")
    report.add_argument("assignment", help="assignment id")
    report.add_argument("--format", choices=("text", "json"), default="text", help="output format (default: text)")
    return parser


def _run_grade(arguments) -> int:
    from .batch import BatchError, grade_batch

    if arguments.workers is not None and arguments.workers < 1:
        print(f"error: --workers must be at least 1, got {arguments.workers}", file=sys.stderr)
        return 2
    try:
        summary = grade_batch(
            arguments.course,
            arguments.assignment,
            workers=arguments.workers,
            students=arguments.student,
            json_path=arguments.json,
            scheduler=arguments.scheduler,
            force=arguments.force,
            progress=not arguments.no_progress,
        )
    except BatchError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(summary.format())
    return 1 if summary.errors else 0


def _run_report(arguments) -> int:
    from .class_report import build_class_report, format_class_report

    try:
        report = build_class_report(arguments.course, arguments.assignment)
    except KeyError as error:
        print(f"error: {error.args[0]}", file=sys.stderr)
        return 2
    if arguments.format == "json":
        print(json.dumps(report, indent=1))
    else:
        print(format_class_report(report))
    return 0


def main(argv=None) -> int:
    arguments = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if arguments.verbose or arguments.command == "grade" else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    if arguments.command == "demo":
        from .demo import run_demo

        return run_demo(arguments.course)
    if arguments.command == "grade":
        return _run_grade(arguments)
    if arguments.command == "report":
        return _run_report(arguments)
    return 2


if __name__ == "__main__":
    sys.exit(main())
