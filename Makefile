# The two set-up commands of the README: `make run` (install + demo) and `make test` (install + tests).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test install bench lint clean

run: install
	$(BIN)/arbsniper run --demo

test: install
	$(BIN)/python -m pytest -q

bench: install
	$(BIN)/arbsniper bench

lint: install
	$(BIN)/ruff check src tests
	$(BIN)/mypy

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	@echo "[1/3] creating the virtual environment in $(VENV) ..."
	$(PYTHON) -m venv $(VENV)
	@echo "[2/3] upgrading pip ..."
	$(BIN)/python -m pip install -q --upgrade pip
	@echo "[3/3] installing arbsniper and its dependencies (about a minute; pip shows each package) ..."
	$(BIN)/python -m pip install --progress-bar on -e '.[dev]'
	touch $@

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache .mypy_cache
