"""Shared fixtures: a temporary nbgrader course built from this repository."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from autograder.grading import assignment_ids
from autograder.release import tool_environment  # noqa: F401  (re-exported for the tests)

REPOSITORY = Path(__file__).resolve().parent.parent
ASSIGNMENTS = tuple(assignment_ids())


def run_nbgrader(course: Path, *arguments: str, check: bool = True) -> subprocess.CompletedProcess:
    """Run real nbgrader in ``course`` and return the completed process."""
    completed = subprocess.run(
        [sys.executable, "-m", "nbgrader", *arguments],
        cwd=course,
        env=tool_environment(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    if check and completed.returncode != 0:
        raise AssertionError(f"nbgrader {' '.join(arguments)} failed:\n{completed.stdout[-3000:]}\n{completed.stderr[-3000:]}")
    return completed


def make_course(destination: Path) -> Path:
    """Copy the course files into ``destination`` and regenerate its release with nbgrader."""
    destination.mkdir(parents=True, exist_ok=True)
    shutil.copytree(REPOSITORY / "source", destination / "source")
    shutil.copy(REPOSITORY / "nbgrader_config.py", destination / "nbgrader_config.py")
    for assignment_id in ASSIGNMENTS:
        run_nbgrader(destination, "generate_assignment", assignment_id, "--force")
    return destination


@pytest.fixture(scope="session")
def course(tmp_path_factory) -> Path:
    """A course directory with a fresh gradebook and a release generated from source/."""
    return make_course(tmp_path_factory.mktemp("course"))


@pytest.fixture(scope="session")
def release_root() -> Path:
    """The committed release/ folder, generated on the fly when missing."""
    if all((REPOSITORY / "release" / assignment_id).is_dir() for assignment_id in ASSIGNMENTS):
        return REPOSITORY
    return None


def pytest_configure(config):
    os.environ.setdefault("PYTHONHASHSEED", "0")
