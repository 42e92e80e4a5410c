# Two commands on a fresh machine: `make demo` and `make test`. Everything installs into .venv with pip.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint venv up clean bench mutate fuzz

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip setuptools wheel
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/rectify demo

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .

# The long fuzz: schemathesis over both APIs at 200 examples per operation (and the other `fuzz` tests).
fuzz: $(STAMP)
	$(BIN)/python -m pytest -q -m fuzz --durations=0

bench: $(STAMP)
	$(BIN)/python -m bench.run

# Mutation testing of domain/ (mutmut, the domain unit tests; see docs/testing.md). Not part of `make test`.
mutate: $(STAMP)
	nice -n 10 $(BIN)/python tests/mutate.py $(MUTANTS)

up: $(STAMP)
	$(BIN)/rectify up

clean:
	rm -rf .rectify out .mutate
