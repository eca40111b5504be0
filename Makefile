# The two commands a newcomer types: `make demo` and `make test`. Everything else is set up here.
SHELL := /bin/bash
export UV_PYTHON_DOWNLOADS := never
export RUNTIME__DLTHUB_TELEMETRY := false
export DAGSTER_HOME ?= $(CURDIR)/data/dagster_home
VENV := .venv
BIN := $(VENV)/bin

.PHONY: setup demo test test-fast ui bench lint clean eval-zoo

$(BIN)/altor: pyproject.toml uv.lock
	@command -v uv >/dev/null 2>&1 || python3 -m pip install --quiet "uv==0.13.9"
	uv sync --frozen
	@touch $@

setup: $(BIN)/altor

demo: setup  ## generate the demo company, serve it, run every asset, print a summary
	$(BIN)/altor demo run --live-days 3

# Two test processes (pytest-xdist): most tests wait on servers, chDB or one-thread training, so
# the 2-core CI machine ran the suite in 13 min 19 s with two against 23 min 44 s with one.
test: setup  ## the whole suite, with the servers and browser it needs
	scripts/ensure_chromium.sh
	$(BIN)/pytest -q -n 2 --durations=25

test-fast: setup
	$(BIN)/pytest -q -n 2 -m "not slow"

ui: setup  ## Dagster's web UI over the demo warehouse
	scripts/ui.sh

TIER ?= small
bench: setup  ## figures and ratios of a tier (TIER=small|medium|large) -> bench/results/$(TIER).json
	$(BIN)/python -m altor_sim.bench.speed --tier $(TIER)

eval-zoo: setup  ## six different generated companies (+ ../shared/worlds/*), one table per world
	$(BIN)/altor eval --zoo --zoo-dir data/zoo

lint: setup
	$(BIN)/ruff check altor_pipelines altor_sim tests

clean:
	rm -rf data reports/*.html
