"""Build the student bundle: ``dist/<course>-<version>-student.zip``.

The zip contains one folder, ``<course>-<version>/``, with everything under
``release/<assignment>/`` for every assignment, a ``requirements.txt`` for
students and a ``MANIFEST.json`` that lists the SHA-256 of every other file.
The same inputs always give the same bytes: entries are sorted and every
entry has the same timestamp and permissions.
"""

from __future__ import annotations

import ast
import hashlib
import io
import json
import os
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

# The earliest timestamp a zip entry can hold; every entry gets it.
ZIP_TIMESTAMP = (1980, 1, 1, 0, 0, 0)
# Regular file, rw-r--r--, in the upper half of external_attr as Unix zip tools write it.
ZIP_FILE_MODE = 0o100644 << 16
# Packages a student installs; versions come from pyproject.toml where it pins them.
STUDENT_PACKAGES = ("numpy", "matplotlib", "jupyter")


class BundleError(Exception):
    """The bundle cannot be built: a missing input or a leak."""


@dataclass
class Bundle:
    name: str
    data: bytes
    manifest: dict


def course_id(course_root) -> str:
    """Return ``c.CourseDirectory.course_id`` from the course's ``nbgrader_config.py``."""
    path = Path(course_root) / "nbgrader_config.py"
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (OSError, SyntaxError) as error:
        raise BundleError(f"cannot read the course id from {path}: {error}") from None
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Attribute)
            and node.targets[0].attr == "course_id"
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)
        ):
            return node.value.value
    raise BundleError(f"{path} sets no c.CourseDirectory.course_id to a string")


def _pyproject(course_root) -> dict:
    path = Path(course_root) / "pyproject.toml"
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise BundleError(f"cannot read {path}: {error}") from None


def project_version(course_root) -> str:
    """Return ``[project] version`` from the course's ``pyproject.toml``."""
    version = _pyproject(course_root).get("project", {}).get("version")
    if not isinstance(version, str):
        raise BundleError(f"{Path(course_root) / 'pyproject.toml'} has no [project] version")
    return version


def student_requirements(course_root) -> str:
    """Return the text of the students' requirements.txt.

    Each package keeps the version range that ``pyproject.toml`` gives it, so
    students get the versions the course is tested with.
    """
    declared = {}
    for requirement in _pyproject(course_root).get("project", {}).get("dependencies", []):
        name = re.match(r"[A-Za-z0-9._-]+", requirement).group()
        declared[name.lower()] = requirement
    lines = ["# The packages the course notebooks need: pip install -r requirements.txt"]
    lines += [declared.get(package, package) for package in STUDENT_PACKAGES]
    return "\n".join(lines) + "\n"


def bundle_folder(course_root) -> str:
    """Return ``<course>-<version>``, the folder the zip unpacks into."""
    return f"{course_id(course_root)}-{project_version(course_root)}"


def _zip_entry(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=ZIP_TIMESTAMP)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.create_system = 3  # Unix, so that unzip reads the file mode from external_attr
    info.external_attr = ZIP_FILE_MODE
    return info


def build_bundle(course_root) -> Bundle:
    """Build the student zip of a course in memory."""
    course_root = Path(course_root)
    folder_name = bundle_folder(course_root)
    release = course_root / "release"
    files = {}
    assignments = sorted(entry for entry in release.iterdir() if entry.is_dir()) if release.is_dir() else []
    if not assignments:
        raise BundleError(f"{release} is missing or contains no assignment folder; run python -m autograder release first")
    for folder in assignments:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                files[path.relative_to(release).as_posix()] = path.read_bytes()
    files["requirements.txt"] = student_requirements(course_root).encode("utf-8")

    manifest = {
        "course": course_id(course_root),
        "version": project_version(course_root),
        "files": [
            {"path": path, "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
            for path, data in sorted(files.items())
        ],
    }
    files["MANIFEST.json"] = (json.dumps(manifest, indent=1, sort_keys=True) + "\n").encode("utf-8")

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path, data in sorted(files.items()):
            archive.writestr(_zip_entry(f"{folder_name}/{path}"), data, compresslevel=9)
    return Bundle(f"{folder_name}-student.zip", buffer.getvalue(), manifest)


def write_bundle(course_root, secrets, output=None) -> tuple:
    """Build the bundle, scan it for leaks and write it unless the scan finds any.

    Returns (path, findings); ``path`` is None when findings kept the bundle
    from being written.  ``output`` defaults to ``dist/`` of the course.
    """
    from .leaks import scan_zip

    bundle = build_bundle(course_root)
    folder = Path(output) if output is not None else Path(course_root) / "dist"
    target = folder / bundle.name
    findings = scan_zip(os.path.relpath(target, course_root), bundle.data, secrets)
    if findings:
        return None, findings
    folder.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(target.name + ".tmp")
    temporary.write_bytes(bundle.data)
    os.replace(temporary, target)
    return target, []
