"""Command-line interface: ``python -m autograder COMMAND``."""

from __future__ import annotations

import argparse
import logging
import sys

EXAMPLES = """examples:
  python -m autograder demo                 # whole instructor pipeline on a demo class
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m autograder",
        description="Hardened grading for the span and attention course.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--course", default=".", help="course directory (the nbgrader root); default: the current directory")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser("demo", help="regenerate release/, build a demo class, autograde it with nbgrader, print scores")
    return parser


def main(argv=None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    arguments = build_parser().parse_args(argv)
    if arguments.command == "demo":
        from .demo import run_demo

        return run_demo(arguments.course)
    return 2


if __name__ == "__main__":
    sys.exit(main())
