# make demo / make test work on a fresh machine with only Python 3.11+ and make.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Every developer and CI install exactly these versions (pyproject.toml keeps
# the ranges for library users); `make lock` re-resolves them.
LOCK := requirements/dev.lock
PIP_VERSION := 26.3
LOCK_FLAGS := --quiet --no-emit-index-url --no-emit-find-links --strip-extras --extra dev

.PHONY: demo test lint lock bench clean

$(STAMP): pyproject.toml $(LOCK)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet pip==$(PIP_VERSION)
	$(BIN)/python -m pip install --quiet -c $(LOCK) -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/placement-opt demo

lint: $(STAMP)
	$(BIN)/ruff check placement_opt tests benchmarks scripts
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache

test: lint
	$(BIN)/python -m pytest -q -n 2 --nbmake tests $(wildcard notebooks/*.ipynb)
	$(BIN)/placement-opt bks --check

lock:
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet pip==$(PIP_VERSION) pip-tools
	$(BIN)/pip-compile $(LOCK_FLAGS) --upgrade --output-file $(LOCK) pyproject.toml

bench: $(STAMP)
	$(BIN)/python benchmarks/evaluator.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .import_linter_cache
