# The README's two commands: `make run` (embedded defaults) and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: run test lint bench services clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.run-deps: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.test-deps: pyproject.toml $(VENV)/.run-deps
	$(BIN)/pip install -q -e '.[test]'
	touch $@

## run: SQLite, in-memory channel layer, storage under var/, worker in-process.
run: $(VENV)/.run-deps
	$(BIN)/python manage.py migrate --no-input -v 0
	$(BIN)/python manage.py seed_demo
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

## test: lint, then the suite on PostgreSQL + Redis, then the portable part on SQLite.
test: $(VENV)/.test-deps
	$(BIN)/python -m tests.suite

## bench: the benchmarks under bench/ (figures printed; see bench/results/).
bench: $(VENV)/.test-deps
	$(BIN)/pip install -q -e '.[test,bench]'
	npm ci --prefix bench/hocuspocus
	$(BIN)/python bench/fanout.py --servers moa,relay,hocuspocus --out bench/results/raw/fanout.json
	$(BIN)/python bench/opcost.py --out bench/results/raw/opcost.json
	$(BIN)/python bench/group_send.py --out bench/results/raw/group_send.json
	$(BIN)/python bench/connect.py --out bench/results/raw/connect.json
	$(BIN)/python bench/jobs.py --out bench/results/raw/jobs.json
	$(BIN)/python bench/video.py --out bench/results/raw/video.json
	$(BIN)/python bench/excel.py --out bench/results/raw/excel.json
	$(BIN)/python bench/hostile.py --concurrency 4 --out bench/results/raw/hostile.json

lint: $(VENV)/.test-deps
	$(BIN)/ruff check .
	$(BIN)/lint-imports

## services: check that PostgreSQL and Redis answer (what `make test` needs).
services: $(VENV)/.test-deps
	$(BIN)/python -m tests.services

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache test-artifacts
