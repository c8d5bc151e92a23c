"""The student bundle: contents, determinism, the leak gate, and a run in a fresh student environment.

``test_bundle_runs_in_student_venv`` is the slow test of the suite (about a
minute): it creates a virtual environment with pip and runs every notebook.
"""

import hashlib
import json
import os
import shutil
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

from autograder.bundle import build_bundle, course_id, project_version, write_bundle
from autograder.leaks import load_secrets

from conftest import ASSIGNMENTS, REPOSITORY

# Executes notebooks inside the student environment and prints one JSON report.
RUN_NOTEBOOKS = textwrap.dedent(
    """
    import json, os, sys
    import nbformat
    from jupyter_client.kernelspec import KernelSpecManager
    from nbclient import NotebookClient

    report = {"kernel": KernelSpecManager().get_kernel_spec("python3").argv, "notebooks": {}}
    for path in sys.argv[1:]:
        nb = nbformat.read(path, as_version=4)
        client = NotebookClient(nb, timeout=300, kernel_name="python3", allow_errors=True,
                                resources={"metadata": {"path": os.path.dirname(path)}})
        client.execute()
        cells = []
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            nbgrader = cell.metadata.get("nbgrader", {})
            errors = [output for output in cell.outputs if output.output_type == "error"]
            cells.append({
                "index": index,
                "grade_id": nbgrader.get("grade_id"),
                "answer": bool(nbgrader.get("solution")),
                "test": bool(nbgrader.get("grade")) and not nbgrader.get("solution"),
                "executed": cell.execution_count is not None,
                "errors": [(error.ename, error.evalue, "\\n".join(error.traceback)[-2000:]) for error in errors],
            })
        report["notebooks"][path] = cells
    print(json.dumps(report))
    """
)


@pytest.fixture(scope="module")
def secrets():
    return load_secrets(REPOSITORY)


def test_bundle_contents(tmp_path, secrets):
    path, findings = write_bundle(REPOSITORY, secrets, tmp_path)
    assert findings == []
    assert path.name == f"{course_id(REPOSITORY)}-{project_version(REPOSITORY)}-student.zip" == "span-attention-0.1.0-student.zip"
    folder = "span-attention-0.1.0"
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        released = sorted(
            f"{folder}/{file.relative_to(REPOSITORY / 'release').as_posix()}"
            for file in (REPOSITORY / "release").rglob("*")
            if file.is_file()
        )
        assert names == sorted(released + [f"{folder}/MANIFEST.json", f"{folder}/requirements.txt"])
        for name in released:
            assert archive.read(name) == (REPOSITORY / "release" / name.split("/", 1)[1]).read_bytes()

        requirements = archive.read(f"{folder}/requirements.txt").decode().splitlines()
        assert [line.split(">")[0] for line in requirements if not line.startswith("#")] == ["numpy", "matplotlib", "jupyter"]

        manifest = json.loads(archive.read(f"{folder}/MANIFEST.json"))
        assert manifest["course"] == "span-attention"
        assert manifest["version"] == "0.1.0"
        listed = {entry["path"]: entry["sha256"] for entry in manifest["files"]}
        assert sorted(listed) == sorted(name.split("/", 1)[1] for name in names if not name.endswith("MANIFEST.json"))
        for relative, digest in listed.items():
            assert hashlib.sha256(archive.read(f"{folder}/{relative}")).hexdigest() == digest

        for info in archive.infolist():
            assert info.date_time == (1980, 1, 1, 0, 0, 0)
            assert info.external_attr >> 16 == 0o100644


def test_bundle_deterministic(tmp_path, secrets):
    first, _ = write_bundle(REPOSITORY, secrets, tmp_path / "first")
    second, _ = write_bundle(REPOSITORY, secrets, tmp_path / "second")
    assert first.read_bytes() == second.read_bytes()
    assert build_bundle(REPOSITORY).data == first.read_bytes()


def test_bundle_refuses_leak(tmp_path, secrets):
    course = tmp_path / "course"
    shutil.copytree(REPOSITORY / "release", course / "release")
    shutil.copy(REPOSITORY / "nbgrader_config.py", course / "nbgrader_config.py")
    shutil.copy(REPOSITORY / "pyproject.toml", course / "pyproject.toml")
    notebook = course / "release" / "ps01_span" / "span.ipynb"
    document = json.loads(notebook.read_text())
    code = next(index for index, cell in enumerate(document["cells"]) if cell["cell_type"] == "code")
    document["cells"][code]["execution_count"] = 1
    notebook.write_text(json.dumps(document))

    path, findings = write_bundle(course, secrets)
    assert path is None
    assert [(finding.path, finding.location, finding.kind) for finding in findings] == [
        ("dist/span-attention-0.1.0-student.zip!span-attention-0.1.0/ps01_span/span.ipynb", f"cell {code}", "execution count")
    ]
    assert not (course / "dist").exists()


def student_environment(folder: Path) -> dict:
    """Return an environment with only the student virtual environment on PATH and no user Jupyter files."""
    environment = {key: value for key, value in os.environ.items() if not key.startswith(("PYTHON", "JUPYTER", "VIRTUAL_ENV"))}
    environment["PATH"] = str(folder / "venv" / "bin") + os.pathsep + environment.get("PATH", "")
    environment["JUPYTER_PREFER_ENV_PATH"] = "1"
    for name in ("JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "IPYTHONDIR", "MPLCONFIGDIR"):
        environment[name] = str(folder / "home" / name.lower())
    return environment


@pytest.mark.timeout(900)
def test_bundle_runs_in_student_venv(tmp_path, secrets):
    path, findings = write_bundle(REPOSITORY, secrets, tmp_path / "dist")
    assert findings == []
    unpacked = tmp_path / "student"
    with zipfile.ZipFile(path) as archive:
        archive.extractall(unpacked)
    (folder,) = unpacked.iterdir()

    environment = student_environment(tmp_path)
    subprocess.run([sys.executable, "-m", "venv", str(tmp_path / "venv")], check=True, timeout=300)
    python = str(tmp_path / "venv" / "bin" / "python")
    # The bundle's requirements, with jupyter narrowed to the kernel and the notebook runner.
    requirements = [line for line in (folder / "requirements.txt").read_text().splitlines() if line and not line.startswith("#")]
    packages = [line for line in requirements if line != "jupyter"] + ["ipykernel", "nbclient"]
    installed = subprocess.run(
        [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *packages],
        env=environment, capture_output=True, text=True, timeout=600,
    )
    assert installed.returncode == 0, installed.stdout[-3000:] + installed.stderr[-3000:]

    notebooks = sorted(str(notebook) for notebook in folder.rglob("*.ipynb"))
    assert len(notebooks) == len(ASSIGNMENTS)
    completed = subprocess.run(
        [python, "-c", RUN_NOTEBOOKS, *notebooks], cwd=folder, env=environment, capture_output=True, text=True, timeout=600
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    report = json.loads(completed.stdout.strip().splitlines()[-1])

    # The kernel is this environment's Python: "python" resolves to the runner's interpreter.
    assert report["kernel"][0] in ("python", "python3") or report["kernel"][0].startswith(str(tmp_path / "venv")), report["kernel"]
    for notebook, cells in report["notebooks"].items():
        assert all(cell["executed"] for cell in cells), notebook
        for cell in cells:
            where = f"{Path(notebook).name} cell {cell['index']} ({cell['grade_id']})"
            for name, value, traceback in cell["errors"]:
                assert name == "NotImplementedError", f"{where} raised {name}: {value}\n{traceback}"
                assert cell["answer"] or cell["test"], f"{where} is not an answer or test cell but raised {name}"
        failing_tests = {cell["grade_id"] for cell in cells if cell["test"] and cell["errors"]}
        assert failing_tests == {cell["grade_id"] for cell in cells if cell["test"]}, notebook
