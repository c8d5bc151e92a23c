"""A student's view in a real browser: JupyterLab, headless Chromium and Playwright.

A released notebook is filled in as a student would fill it: the reference
for every function but one, and a catalogued mistake in that one.  JupyterLab
serves it on 127.0.0.1 and Chromium runs all its cells through the Run menu.
The checks must report success for the correct functions, the figures must
render as images, and the wrong function's check must name its misconception.

The test uses Debian's chromium and skips when it is missing.  Screenshots
go to ``test-artifacts/``.
"""

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import nbformat
import pytest

from autograder.classroom import StudentRecipe, build_notebook
from autograder.grading import load_assignment
from autograder.student_files import FILE_NAMES

from conftest import REPOSITORY, tool_environment

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
ARTIFACTS = REPOSITORY / "test-artifacts"
ASSIGNMENT = "ps02_attention"
# The last graded function, so that Run All, which stops at the first failing
# test cell, runs every other cell before it.
MISTAKE = "mha_without_output_projection"
STARTUP_SECONDS = 60
RUN_SECONDS = 120

pytestmark = pytest.mark.skipif(
    not CHROMIUM.is_file(), reason=f"Chromium not found at {CHROMIUM}; install Debian's chromium package"
)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def write_student_folder(folder: Path) -> tuple:
    """Write the released notebook, filled in with one catalogued mistake, and the check files."""
    spec = load_assignment(ASSIGNMENT)
    entry = next(entry for entry in spec.mistakes if entry.name == MISTAKE)
    release = REPOSITORY / "release" / ASSIGNMENT
    notebook = build_notebook(str(release / f"{spec.notebook}.ipynb"), spec,
                              StudentRecipe("browser", MISTAKE, {entry.function: entry.source}))
    nbformat.write(notebook, str(folder / f"{spec.notebook}.ipynb"))
    for name in FILE_NAMES:
        shutil.copy(release / name, folder / name)
    return spec, entry, notebook


def jupyter_environment(home: Path) -> dict:
    """Return an environment that keeps JupyterLab's settings, state and caches under ``home``."""
    environment = tool_environment()
    environment["HOME"] = str(home)
    for name in ("JUPYTER_CONFIG_DIR", "JUPYTER_RUNTIME_DIR", "JUPYTERLAB_SETTINGS_DIR",
                 "JUPYTERLAB_WORKSPACES_DIR", "IPYTHONDIR", "MPLCONFIGDIR"):
        environment[name] = str(home / name.lower())
    # Every cell stays in the page (no windowed rendering), and JupyterLab fetches no news or updates.
    settings = home / "jupyterlab_settings_dir"
    (settings / "@jupyterlab" / "notebook-extension").mkdir(parents=True)
    (settings / "@jupyterlab" / "notebook-extension" / "tracker.jupyterlab-settings").write_text(
        json.dumps({"windowingMode": "none"}))
    (settings / "@jupyterlab" / "apputils-extension").mkdir(parents=True)
    (settings / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False}))
    return environment


def runtime_processes(runtime: Path) -> list:
    """Return the pids of processes whose command line names ``runtime``, such as kernels."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if str(runtime) in command:
            pids.append(int(entry.name))
    return pids


def request(url: str, method: str = "GET", timeout: float = 5.0) -> int:
    with urllib.request.urlopen(urllib.request.Request(url, method=method), timeout=timeout) as response:
        return response.status


@pytest.fixture
def jupyterlab(tmp_path):
    """Start JupyterLab on 127.0.0.1 in a folder holding the student's notebook; stop it and its kernels after."""
    folder = tmp_path / "student"
    folder.mkdir()
    spec, entry, notebook = write_student_folder(folder)
    home = tmp_path / "home"
    environment = jupyter_environment(home)
    port, token = free_port(), secrets.token_hex(16)
    log = open(tmp_path / "jupyterlab.log", "w")
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root", "--ip=127.0.0.1", f"--port={port}",
         "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={folder}",
         "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"],
        cwd=folder, env=environment, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            if server.poll() is not None:
                pytest.fail(f"JupyterLab exited with status {server.returncode}:\n{(tmp_path / 'jupyterlab.log').read_text()[-3000:]}")
            try:
                if request(f"{base}/api/status?token={token}") == 200:
                    break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"JupyterLab did not answer within {STARTUP_SECONDS} s")
            time.sleep(0.5)
        yield {"url": f"{base}/lab/tree/{spec.notebook}.ipynb?token={token}", "spec": spec, "entry": entry,
               "notebook": notebook}
    finally:
        # /api/shutdown stops the kernels, then the server.
        try:
            request(f"{base}/api/shutdown?token={token}", method="POST")
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait(timeout=10)
        log.close()
        leftover = runtime_processes(home / "jupyter_runtime_dir")
        for pid in leftover:
            os.kill(pid, signal.SIGKILL)
        assert leftover == [], f"processes left running after JupyterLab stopped: {leftover}"


def cell_texts(page) -> list:
    """Return the output text of every cell in notebook order ("" for cells without output)."""
    return page.eval_on_selector_all(
        ".jp-Notebook .jp-Cell",
        "cells => cells.map(cell => Array.from(cell.querySelectorAll('.jp-OutputArea-output'))"
        ".map(output => output.innerText).join('\\n'))",
    )


def test_browser_shows_checks(jupyterlab):
    from playwright.sync_api import sync_playwright

    spec, entry, notebook = jupyterlab["spec"], jupyterlab["entry"], jupyterlab["notebook"]
    check_cells = {
        cell.source.strip()[len('check("'):-len('")')]: index
        for index, cell in enumerate(notebook.cells)
        if cell.cell_type == "code" and cell.source.strip().startswith('check("')
    }
    assert sorted(check_cells) == sorted(spec.function_names)
    ARTIFACTS.mkdir(exist_ok=True)

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(jupyterlab["url"])
            page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=STARTUP_SECONDS * 1000)

            # Run All acts on the active notebook, so focus it first: without this, the
            # menu command was seen once to run nothing on a loaded machine.
            page.locator(".jp-Notebook .jp-Cell").first.click()
            page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
            page.locator(".lm-Menu-item[data-command='runmenu:run-all']").click()

            # Run All stops at the failing test cell right after the wrong function's check.
            wrong_check = page.locator(".jp-Notebook .jp-Cell").nth(check_cells[entry.function])
            wrong_check.locator(".jp-OutputArea-output").first.wait_for(timeout=RUN_SECONDS * 1000)
            page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=RUN_SECONDS * 1000)

            wrong_check.scroll_into_view_if_needed()
            page.screenshot(path=str(ARTIFACTS / "browser-check-mistake.png"))
            figures = page.locator(".jp-OutputArea-output img")
            figures.last.scroll_into_view_if_needed()
            page.screenshot(path=str(ARTIFACTS / "browser-figure.png"))

            texts = cell_texts(page)
            image_sizes = figures.evaluate_all("images => images.map(image => [image.naturalWidth, image.naturalHeight])")
        finally:
            browser.close()

    assert len(texts) == len(notebook.cells)
    for name, index in check_cells.items():
        if name == entry.function:
            continue
        assert f"{name} passed all" in texts[index], f"check of {name}: {texts[index]!r}"
        assert "does not guarantee full marks" in texts[index], texts[index]
    # The report wraps long lines, so compare with whitespace collapsed.
    wrong = " ".join(texts[check_cells[entry.function]].split())
    assert f"{entry.function} failed" in wrong, wrong
    assert f"Likely misconception: {entry.misconception}." in wrong, wrong
    assert f"Hint: {entry.hint}" in wrong, wrong

    # The heatmap and the convex hull figure, both drawn from the student's functions.
    assert len(image_sizes) == 2, texts
    for width, height in image_sizes:
        assert width > 100
        assert height > 100
