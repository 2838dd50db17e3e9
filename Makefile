# Portico — the two commands that matter: `make serve` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: serve test check format bench bench-update clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Runtime install (editable), redone when pyproject.toml changes
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

# Install with the test extra (pytest, pytest-xdist, httpx, hypothesis, aiosmtpd, ruff, mypy,
# import-linter)
$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@ $(VENV)/.installed

serve: $(VENV)/.installed
	$(BIN)/portico migrate
	$(BIN)/portico demo --if-empty
	$(BIN)/portico serve --host $${HOST:-127.0.0.1} --port $${PORT:-8000}

# Three workers on two cores (one test file each at a time; the suite waits on servers and
# subprocesses as much as it computes: 497 s against 546 s with two), then the timed tests
# alone on a quiet machine
test: $(VENV)/.installed-test
	$(BIN)/python -m pytest -n $${PYTEST_WORKERS:-3} --dist loadfile -m "not serial"
	$(BIN)/python -m pytest -m serial

check: $(VENV)/.installed-test
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy .
	$(BIN)/lint-imports

format: $(VENV)/.installed-test
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Results to var/bench/ (ignored); bench-update rewrites the committed bench/results/
bench: $(VENV)/.installed-test
	$(BIN)/python -m bench

bench-update: $(VENV)/.installed-test
	$(BIN)/python -m bench --update

clean:
	rm -rf $(VENV) var/portico.sqlite3*
