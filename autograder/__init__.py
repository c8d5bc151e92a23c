"""Hardened autograder for the span and attention course notebooks."""

__version__ = "0.1.0"
