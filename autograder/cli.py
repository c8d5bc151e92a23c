"""Command-line interface: ``python -m autograder COMMAND``.

Exit status: 0 when the command did all its work; 1 when some of it failed
(for ``grade``: a submission could not be graded because of a grader error;
damaged and timed-out submissions are graded, with 0 where due, and do not
count as failures); 2 for invalid usage, such as an unknown assignment.  The checks
(``release --check``, ``release --summary``, ``leaks``, ``adequacy``) exit with
1 when they find a problem.  ``release`` and ``bundle`` exit with 1 without
writing anything when the leak scan finds a leak.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys

EXAMPLES = """examples:
  python -m autograder demo                                  whole instructor pipeline on a demo class
  python -m autograder grade ps02_attention                  grade submitted/*/ps02_attention in parallel
  python -m autograder grade ps01_span --student alice --json grades.json
  python -m autograder grade ps02_attention --scheduler tcp://10.0.0.5:8786
  python -m autograder report ps02_attention                 pass rates and frequent misconceptions
  python -m autograder report ps02_attention --format json
  python -m autograder release                               regenerate release/ from source/ with nbgrader
  python -m autograder release --check                       exit 1 with the differences when release/ is stale
  python -m autograder release --summary                     points and hidden cases per function and case group
  python -m autograder leaks                                 scan release/, feedback/ and dist/ for instructor-only material
  python -m autograder adequacy                              validate sources, grade stubs and the catalogue
  python -m autograder bundle                                write dist/<course>-<version>-student.zip
  python -m autograder student-files                         rebuild source/<assignment>/visible_checks.*
  python -m autograder student-files --check                 exit 1 when those files are stale
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

    release = commands.add_parser("release", help="regenerate release/ from source/ with nbgrader, in a temporary copy")
    mode = release.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true", help="only compare a fresh generation with release/; exit 1 when it is stale")
    mode.add_argument("--summary", action="store_true", help="print points and hidden cases per function and case group")

    leaks = commands.add_parser("leaks", help="scan student-facing files for solutions, hidden tests and hidden case data")
    leaks.add_argument("paths", nargs="*", metavar="PATH", help="files or folders to scan (default: release/, feedback/ and dist/*-student.zip)")

    adequacy = commands.add_parser("adequacy", help="check that stubs fail, mistakes are caught and alternatives pass")
    adequacy.add_argument("--no-validate", action="store_true", help="skip nbgrader validate of the source notebooks")

    bundle = commands.add_parser("bundle", help="write the leak-scanned student zip to dist/")
    bundle.add_argument("--output", metavar="DIR", help="folder to write the zip to (default: dist/ of the course)")

    student_files = commands.add_parser(
        "student-files", help="rebuild the visible checks (check() and hint() in the notebooks) under source/"
    )
    student_files.add_argument("--check", action="store_true", help="only compare with a fresh build; exit 1 when stale")
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
    except (BatchError, ValueError) as error:
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


def _run_release(arguments) -> int:
    from .release import ReleaseError, check_release, regenerate_release

    if arguments.summary:
        return _run_summary(arguments)
    try:
        if arguments.check:
            differences = check_release(arguments.course)
        else:
            from .leaks import format_findings, load_secrets, scan_paths

            secrets = load_secrets(arguments.course)
            differences, findings = regenerate_release(
                arguments.course, scan=lambda generated: scan_paths([generated], secrets, relative_to=generated.parent)
            )
            if findings:
                print(format_findings(findings))
                print("release/ was left unchanged: the generated notebooks contain the leaks above", file=sys.stderr)
                return 1
    except ReleaseError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    for difference in differences:
        print(difference.format())
    if arguments.check:
        if differences:
            print(f"release/ is stale: {len(differences)} file(s) differ; run python -m autograder release", file=sys.stderr)
            return 1
        print("release/ is current")
    else:
        print(f"release/ regenerated: {len(differences)} file(s) changed")
    return 0


def _run_summary(arguments) -> int:
    from .grading import load_assignment
    from .grading import assignment_ids
    from .release import summarize_assignment

    notes, problems = [], []
    for assignment_id in assignment_ids():
        lines, noted, found = summarize_assignment(load_assignment(assignment_id), arguments.course)
        print("\n".join(lines) + "\n")
        notes.extend(noted)
        problems.extend(found)
    for note in notes:
        print(f"note: {note}")
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    return 1 if problems else 0


def _run_leaks(arguments) -> int:
    from .leaks import default_paths, format_findings, load_secrets, scan_paths

    paths = arguments.paths or default_paths(arguments.course)
    missing = [path for path in arguments.paths if not os.path.exists(path)]
    if missing:
        print(f"error: not found: {', '.join(missing)}", file=sys.stderr)
        return 2
    if not paths:
        print(f"error: {arguments.course} has no release/, feedback/ or dist/*-student.zip to scan", file=sys.stderr)
        return 2
    findings = scan_paths(paths, load_secrets(arguments.course), relative_to=arguments.course)
    print(format_findings(findings))
    return 1 if findings else 0


def _run_adequacy(arguments) -> int:
    from .adequacy import check_adequacy
    from .grading import load_assignment
    from .grading import assignment_ids

    specs = [load_assignment(assignment_id) for assignment_id in assignment_ids()]
    reports = check_adequacy(arguments.course, specs, validate=not arguments.no_validate)
    gaps = []
    for report in reports:
        print(report.format() + "\n")
        gaps.extend(report.gaps())
    for gap in gaps:
        print(f"gap: {gap}")
    print(f"{len(gaps)} gap(s) found" if gaps else "no gaps found")
    return 1 if gaps else 0


def _run_bundle(arguments) -> int:
    from .bundle import BundleError, write_bundle
    from .leaks import format_findings, load_secrets

    try:
        path, findings = write_bundle(arguments.course, load_secrets(arguments.course), arguments.output)
    except BundleError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    if findings:
        print(format_findings(findings))
        print("the bundle was not written: it contains the leaks above", file=sys.stderr)
        return 1
    print(f"wrote {path}")
    return 0


def _run_student_files(arguments) -> int:
    from .leaks import format_findings, load_secrets, scan_bytes
    from .grading import assignment_ids
    from .student_files import StudentFilesError, build_student_files, compare_student_files, write_student_files

    try:
        if arguments.check:
            stale = compare_student_files(arguments.course)
            for entry in stale:
                print(entry.format())
            if stale:
                print(f"{len(stale)} student file(s) are stale; run python -m autograder student-files", file=sys.stderr)
                return 1
            print("student files are current")
            return 0
        files = {assignment_id: build_student_files(assignment_id) for assignment_id in assignment_ids()}
    except StudentFilesError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1

    secrets = load_secrets(arguments.course)
    findings = [
        finding
        for assignment_id, named in files.items()
        for name, text in named.items()
        for finding in scan_bytes(f"source/{assignment_id}/{name}", text.encode("utf-8"), secrets)
    ]
    if findings:
        print(format_findings(findings))
        print("nothing was written: the student files would contain the leaks above", file=sys.stderr)
        return 1
    changed = write_student_files(arguments.course, files)
    for path in changed:
        print(f"wrote {path}")
    print(f"student files rebuilt: {len(changed)} file(s) changed")
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
    if arguments.command == "release":
        return _run_release(arguments)
    if arguments.command == "leaks":
        return _run_leaks(arguments)
    if arguments.command == "adequacy":
        return _run_adequacy(arguments)
    if arguments.command == "bundle":
        return _run_bundle(arguments)
    if arguments.command == "student-files":
        return _run_student_files(arguments)
    return 2


if __name__ == "__main__":
    sys.exit(main())
