# Two commands on a fresh machine: `make demo` and `make test`. Everything installs into .venv with pip.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint types venv up clean bench mutate fuzz browser screenshots pdf-libs

# The browser tests drive Debian's chromium (Playwright never downloads a browser here) and need CJK fonts,
# or Chinese renders as boxes in the screenshots.
CHROMIUM := /usr/bin/chromium
CJK_FONT := /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip setuptools wheel
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP) pdf-libs
	$(BIN)/rectify demo

browser:
	@if [ ! -x $(CHROMIUM) ] || [ ! -e $(CJK_FONT) ]; then \
		if [ "$$(id -u)" = 0 ]; then \
			apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium fonts-noto-cjk; \
		else \
			echo "The browser tests need the Debian packages chromium and fonts-noto-cjk:"; \
			echo "    sudo apt-get install chromium fonts-noto-cjk"; \
			echo "(or run make test as root, which installs them)"; \
			exit 1; \
		fi; \
	fi

# The bulletins' PDF is made by WeasyPrint, which needs Debian's Pango (Chromium pulls most of it in, not all).
PANGO := libpangoft2-1.0.so.0

pdf-libs:
	@if ! /sbin/ldconfig -p 2>/dev/null | grep -q $(PANGO); then \
		if [ "$$(id -u)" = 0 ]; then \
			apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
				libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0; \
		else \
			echo "The bulletins' PDF needs Debian's Pango: sudo apt-get install libpango-1.0-0 libpangoft2-1.0-0"; \
			echo "(or run make as root, which installs it)"; \
			exit 1; \
		fi; \
	fi

# The suite on one pytest-xdist worker per core (at most 4): its tests mostly wait on servers, and each worker starts
# its own (PostgreSQL, Temporal, receivers, uvicorn, Chromium) on ports and folders of its own. A test module stays
# on one worker (loadscope: its module fixtures start once), in collection order (the browser modules last on each
# worker: see tests/conftest.py). TEST_WORKERS=0 runs it in one process.
TEST_WORKERS ?= $(shell n=$$(nproc 2>/dev/null || echo 2); [ $$n -gt 4 ] && n=4; echo $$n)
PARALLEL := -n $(TEST_WORKERS) --dist loadscope

test: $(STAMP) browser pdf-libs
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	@$(MAKE) --no-print-directory types
	$(BIN)/python -m pytest -q $(PARALLEL)

# The pages' pictures in docs/screenshots (README), taken by the browser tests at desktop and phone width.
screenshots: $(STAMP) browser
	RECTIFY_SCREENSHOTS=$(CURDIR)/docs/screenshots $(BIN)/python -m pytest -q tests/browser -k photographed

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	@$(MAKE) --no-print-directory types

# Types (basedpyright: strict on domain/, basic elsewhere). The root is the package `rectify`, which the editable
# install serves through an import hook no checker follows: the checker reads it through build/types/rectify, a link.
types: $(STAMP)
	@mkdir -p build/types && ln -sfn ../.. build/types/rectify
	$(BIN)/basedpyright

# The long fuzz: schemathesis over both APIs at 200 examples per operation (and the other `fuzz` tests).
fuzz: $(STAMP)
	$(BIN)/python -m pytest -q -m fuzz --durations=0

# The benchmarks (bench/run.py; about an hour and a half at the default sizes, most of it the timer curve in real
# time), then docs/performance.md and its curve written from bench/results.json.
bench: $(STAMP)
	$(BIN)/python -m bench.run
	$(BIN)/python -m bench.report

# Mutation testing of domain/ (mutmut, the domain unit tests; see docs/testing.md). Not part of `make test`.
mutate: $(STAMP)
	nice -n 10 $(BIN)/python tests/mutate.py $(MUTANTS)

up: $(STAMP) pdf-libs
	$(BIN)/rectify up

clean:
	rm -rf .rectify out .mutate build/types
