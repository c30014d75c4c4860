# make help — the targets. Each sets up .venv from the repository's own files when needed.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.DEFAULT_GOAL := help
.PHONY: help setup demo test lint docs bench mutation mutation-sample mutation-rerun live-refresh indexes schema ci clean

help:  ## list targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)  ## create .venv and install the package with dev tools

demo: $(STAMP)  ## a real check: Medicare, chronic low back pain, physician, March 2024
	$(BIN)/coverage-lookup check --coverage medicare --dx M54.50 --cpt 97810 \
		--provider physician --date 2024-03-01

test: $(STAMP)  ## the whole test suite
	$(BIN)/python -m pytest -q -p no:cacheprovider

lint: $(STAMP)  ## ruff and mypy
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/ruff format --check src tests bench scripts
	$(BIN)/mypy

docs: $(STAMP)  ## build the documentation site (strict)
	$(BIN)/python scripts/gen_docs.py --check
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict -q -d site

bench: $(STAMP)  ## benchmarks: cold start (vs `import pydantic`), check cost (per coverage, per diagnosis, new day), refresh throughput, plan import (vs csv.reader) and --plan-id cost, batch (vs the csv module; vs check()), web API (vs check())
	$(BIN)/python bench/cold_start.py
	$(BIN)/python bench/check_cost.py
	$(BIN)/python bench/refresh_throughput.py
	$(BIN)/python bench/plan_import.py
	$(BIN)/python bench/batch.py
	$(BIN)/python bench/web_api.py
	$(BIN)/python bench/web_api.py --connections 4

mutation: $(STAMP)  ## mutation testing of the modules that decide answers or guard data (slow; not in CI) -> bench/mutation.md
	PATH="$(CURDIR)/$(BIN):$$PATH" COVERAGE_LOOKUP_EXAMPLES_SCALE=0.2 $(BIN)/mutmut run --max-children 2 || true
	$(BIN)/python scripts/mutation_report.py

mutation-sample: $(STAMP)  ## a seeded random sample of the mutants not yet checked, and every survivor again (about an hour)
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python scripts/mutation_sample.py --per-module 130 || true
	$(BIN)/python scripts/mutation_report.py

mutation-rerun: $(STAMP)  ## run the surviving mutants again, after writing tests for them -> bench/mutation.md
	PATH="$(CURDIR)/$(BIN):$$PATH" COVERAGE_LOOKUP_EXAMPLES_SCALE=0.2 $(BIN)/mutmut run --max-children 2 \
		$$($(BIN)/mutmut results | awk -F': ' '/: survived$$/ {print $$1}') || true
	$(BIN)/python scripts/mutation_report.py

live-refresh: $(STAMP)  ## OPT-IN, not in CI: re-check the real sources over the internet (state in $$COVERAGE_LOOKUP_HOME)
	$(BIN)/coverage-lookup refresh

indexes: $(STAMP)  ## regenerate the compact ICD-10-CM and state indexes
	$(BIN)/python scripts/build_indexes.py

schema: $(STAMP)  ## regenerate the JSON Schema for data files
	$(BIN)/coverage-lookup schema > schema/rule-file.schema.json

ci: lint docs test  ## what CI runs

clean:
	rm -rf $(VENV) site .pytest_cache .mypy_cache .ruff_cache mutants
