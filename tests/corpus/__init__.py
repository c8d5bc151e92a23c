"""A corpus of hostile and damaged submissions, each with the grade it must get.

Every entry is an :class:`Entry` record: how the submission differs from the
reference notebook and what grading it must produce.  The corpus applies to
any assignment: entries choose graded functions by position and wrong code
from the assignment's catalogue of mistakes.  ``tests/test_hostile_corpus.py``
builds each entry with ``autograder.classroom`` and grades it in the sandbox.
"""

from .damaged import damaged_entries
from .entry import ANY, FULL, LESS, ZERO, Entry
from .hostile import hostile_entries


def corpus(spec) -> list:
    """Return every entry of the corpus for the assignment ``spec``."""
    return hostile_entries(spec) + damaged_entries(spec)


__all__ = ["ANY", "FULL", "LESS", "ZERO", "Entry", "corpus", "damaged_entries", "hostile_entries"]
