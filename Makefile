# The two entry points: `make demo` runs the instructor pipeline on a demo
# class, `make test` runs the test suite.  Both create .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test venv clean

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,distributed]'
	touch $@

demo: venv
	$(BIN)/python -m autograder demo

test: venv
	$(BIN)/python -m pytest

clean:
	rm -rf submitted autograded feedback export gradebook.db .grading
