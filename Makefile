# werkbot: `make demo` to try it, `make test` to run every check CI runs.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-dev
DEMO_STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck pytest fuzz bench clean services

$(DEMO_STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "need $(PYTHON) (Python 3.11+)"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[all]'
	touch $@

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $@ $(DEMO_STAMP)

demo: $(DEMO_STAMP)
	$(VENV)/bin/werkbot demo

# System services the tests use: PostgreSQL, Chromium, Node + Prism (installed when missing).
services:
	bash scripts/install-test-services.sh

lint: $(STAMP)
	$(VENV)/bin/ruff check .

typecheck: $(STAMP)
	$(VENV)/bin/mypy

# pytest exits 5 when it collected no test: make treats that (like any non-zero) as failure.
pytest: $(STAMP) services
	$(VENV)/bin/pytest -q -p no:cacheprovider

test: lint typecheck pytest


# The property-based tests with 100,000 examples each (make test runs 200 each).
fuzz: $(STAMP)
	WERKBOT_FUZZ_EXAMPLES=100000 $(VENV)/bin/pytest -q -p no:cacheprovider --timeout=0 -m fuzz tests/fuzz

# The pipeline benchmark (bench/README.md): werkbot next to bare aiohttp, aiogram and PTB.
bench: $(STAMP)
	bash scripts/install-test-services.sh --bench
	$(PY) -m bench.run $(BENCH_ARGS)

clean:
	rm -rf $(VENV) var node_modules
