# The two commands of the README: `make demo` and `make test`. Both set up a virtual
# environment in .venv first (only when pyproject.toml changed since the last set-up).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
SIZE ?= small
OUT ?= demo-out

.PHONY: setup demo test lint bench clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

# The web page's map library (MapLibre GL JS, pinned in package-lock.json) from the npm
# registry into src/resilientcity/web/node_modules (git-ignored; the app serves it from there).
WEB := src/resilientcity/web
$(WEB)/node_modules/.installed: $(WEB)/package.json $(WEB)/package-lock.json
	npm ci --prefix $(WEB) --no-audit --no-fund --ignore-scripts --loglevel=error
	touch $@

setup: $(VENV)/.installed $(WEB)/node_modules/.installed

demo: setup
	$(BIN)/resilientcity demo --size $(SIZE) --out $(OUT)

lint: setup
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports

test: lint
	$(BIN)/pytest

bench: setup
	$(BIN)/python benchmarks/bench_demo_city.py
	$(BIN)/python benchmarks/bench_impact.py
	$(BIN)/python benchmarks/bench_accessibility.py
	$(BIN)/python benchmarks/bench_recovery.py
	$(BIN)/python benchmarks/bench_assessment.py
	$(BIN)/python benchmarks/bench_decision.py
	$(BIN)/python benchmarks/bench_osm_import.py

clean:
	rm -rf $(VENV) $(OUT) .pytest_cache .mypy_cache .ruff_cache
