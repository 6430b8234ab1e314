# Two commands do all set-up: `make demo` (install + main job on the demo data), `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: setup demo test lint

setup: $(VENV)/.installed

# torch is pinned so pip takes the CPU build (an unpinned torch may pull a multi-GB CUDA build).
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

demo: setup
	$(BIN)/interestlens demo --out out/demo

test: setup
	$(BIN)/python -m pytest

lint: setup
	$(BIN)/ruff check .
