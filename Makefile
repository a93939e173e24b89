# cimkit — set-up, demo and tests in one command each (see README.md).
#   make demo   create .venv, install cimkit, run the main job on the sample city -> demo-output/
#   make test   create .venv if needed, install the dev extras: lint, format check, types, tests, docs
#   make docs   build the API reference site (strict) into site/
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
PIP := $(PY) -m pip
PYTEST_WORKERS ?= 2
OUTPUT ?= demo-output
# mkdocs-material prints a banner about its successor on every build; the build does not need it.
export NO_MKDOCS_2_WARNING := 1

.PHONY: demo test test-slow test-all lint typecheck docs bench sample-data doctest clean help postgis-server chromium node-deps js notebooks

help:
	@echo "make demo | test | test-slow | test-all | lint | typecheck | doctest | docs | bench | sample-data | notebooks | js | clean"

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

# Re-install when the project metadata changes (the stamp files live inside .venv).
$(VENV)/.installed-core: pyproject.toml | $(PY)
	$(PIP) install --quiet -e .
	@touch $@

$(VENV)/.installed-dev: pyproject.toml | $(PY)
	$(PIP) install --quiet -e '.[dev,dask,postgis]'
	@touch $@ $(VENV)/.installed-core

demo: $(VENV)/.installed-core
	$(BIN)/cimkit demo --output $(OUTPUT)

test: $(VENV)/.installed-dev postgis-server chromium node-deps
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy cimkit
	$(PY) -m pytest -n $(PYTEST_WORKERS) --dist loadgroup -m "not slow" -q --doctest-modules tests cimkit
	$(BIN)/mkdocs build --strict --quiet --site-dir site

# The PostGIS tests (tests/postgis) start a throwaway cluster with scripts/postgis-cluster.sh; they
# need PostgreSQL + PostGIS from the system, installed here when missing and possible (root with
# apt-get). This never fails the build: without them the tests skip and say why.
postgis-server:
	@if ! ls /usr/share/postgresql/*/extension/postgis.control >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    ver=$$(ls /usr/lib/postgresql 2>/dev/null | sort -V | tail -n 1); \
	    if [ -n "$$ver" ]; then pkgs="postgresql-$$ver-postgis-3"; else pkgs="postgresql postgis"; fi; \
	    echo "installing $$pkgs for the PostGIS tests"; \
	    apt-get install -y -q $$pkgs >/dev/null 2>&1 \
	      || { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q $$pkgs >/dev/null 2>&1; } \
	      || echo "PostGIS could not be installed: the PostGIS tests will skip"; \
	  else \
	    echo "PostGIS is not installed (needs root and apt-get): the PostGIS tests will skip"; \
	  fi; \
	fi

# The browser tests (tests/browser) drive Debian's Chromium through the playwright package
# (never `playwright install`); installed here when missing and possible, like PostGIS above.
# This never fails the build: without it the browser tests skip and say why.
chromium:
	@if ! command -v chromium >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing chromium for the browser tests"; \
	    apt-get install -y -q chromium >/dev/null 2>&1 \
	      || { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q chromium >/dev/null 2>&1; } \
	      || echo "chromium could not be installed: the browser tests will skip"; \
	  else \
	    echo "chromium is not installed (needs root and apt-get): the browser tests will skip"; \
	  fi; \
	fi

# js/node_modules from the lock file (three, esbuild; axe-core: the accessibility check of the
# browser tests; gltf-validator: the Khronos checks of tests/io/test_gltf.py), reinstalled when
# the lock file changes. Never fails the build: without npm those checks skip.
node-deps:
	@if [ ! -f js/node_modules/.package-lock.json ] || [ js/package-lock.json -nt js/node_modules/.package-lock.json ]; then \
	  if command -v npm >/dev/null 2>&1; then \
	    (cd js && npm ci --no-audit --no-fund --loglevel=error) \
	      || echo "npm ci failed: the accessibility check of the browser tests will skip"; \
	  else \
	    echo "npm is not installed: the accessibility check of the browser tests will skip"; \
	  fi; \
	fi

# Rebuild the viewer bundle cimkit ships (cimkit/viz/assets/cimkit-tileviewer.min.js) from
# js/src with the pinned three.js and esbuild of js/package-lock.json.
js:
	cd js && npm ci --no-audit --no-fund --loglevel=error && node build.mjs

test-slow: $(VENV)/.installed-dev
	$(PY) -m pytest -m slow -q

test-all: $(VENV)/.installed-dev
	$(PY) -m pytest -n $(PYTEST_WORKERS) --dist loadgroup -q

doctest: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/mypy cimkit
	$(PY) -m pytest --doctest-modules cimkit -q -p no:randomly

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(VENV)/.installed-dev
	$(BIN)/mypy cimkit

# The API reference (mkdocs-material + mkdocstrings, numpydoc) and the user docs; --strict fails
# on any warning (a broken cross-reference, a docstring griffe cannot parse, a missing page).
docs: $(VENV)/.installed-dev
	$(BIN)/mkdocs build --strict --site-dir site

# Benchmarks run cimkit and the named peer side by side; the peers are installed here only.
bench: $(VENV)/.installed-dev
	$(PIP) install --quiet -r benchmarks/requirements.txt
	$(PY) benchmarks/run_all.py --quick

sample-data: $(VENV)/.installed-core
	$(PY) -m cimkit.datasets.generator sample_data

# Re-execute notebooks/*.ipynb in a Jupyter kernel and save them with their outputs (a few minutes);
# tests/test_notebooks.py fails when the saved key numbers differ from a fresh run's.
notebooks: $(VENV)/.installed-dev
	$(PY) tests/test_notebooks.py

clean:
	rm -rf $(OUTPUT) site .pytest_cache .ruff_cache .mypy_cache
