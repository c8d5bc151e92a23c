"""The batch's gradebook writer reads timestamps exactly as nbgrader does."""

import pytest
from nbgrader.utils import parse_utc

from autograder.gradebook import parse_timestamp

TIMESTAMPS = [
    "2026-12-01 12:00:00.000000 UTC",
    "2026-12-01 12:00:00 UTC",
    "2026-12-01 12:00:00.123456 America/New_York",
    "2026-12-01 12:00:00.5 Europe/Berlin",
    "2026-12-01 12:00:00 -0500",
    "2026-12-01 12:00:00 +0930",
    "2026-12-01 12:00:00",
    "2026-12-01T12:00:00Z",
    "2026-12-01T12:00:00+02:00",
    "Tue Dec  1 12:00:00 2026",
    "2026-12-01",
]


@pytest.mark.parametrize("text", TIMESTAMPS)
def test_timestamp_matches_nbgrader(text):
    assert parse_timestamp(text) == parse_utc(text)


@pytest.mark.parametrize("text", ["not a date", "2026-13-45 99:00:00 UTC", "", "2026-12-01 12:00:00 Mars/Olympus"])
def test_invalid_timestamp_is_none(text):
    try:
        expected = parse_utc(text)
    except Exception:  # nbgrader raises; the batch ignores the timestamp instead
        expected = None
    assert parse_timestamp(text) == expected


def test_locked_gradebook_named_in_error(tmp_path, monkeypatch):
    import sqlite3

    from autograder import gradebook

    path = tmp_path / gradebook.GRADEBOOK_FILE
    with sqlite3.connect(path) as setup:
        setup.execute("CREATE TABLE assignment (name TEXT)")
        setup.execute("INSERT INTO assignment VALUES ('ps01_span')")
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    monkeypatch.setattr(gradebook, "BUSY_TIMEOUT_SECONDS", 0.2)
    try:
        with pytest.raises(gradebook.GradebookError, match="close any program that holds it locked"):
            gradebook.check_gradebook(str(tmp_path), "ps01_span")
    finally:
        holder.rollback()
        holder.close()
    gradebook.check_gradebook(str(tmp_path), "ps01_span")
