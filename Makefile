# Every target creates the project virtual environment it needs on first use.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
TERRAFORM ?= terraform

.PHONY: dev emulate package test lint fmt clean

$(VENV)/.dev: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

$(VENV)/.test: $(VENV)/.dev
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

## dev: run the service on http://127.0.0.1:8080 (embedded PostgreSQL, offline model by default)
dev: $(VENV)/.dev
	$(PY) -m handler serve

## emulate: run the function under the local Lambda emulator on http://127.0.0.1:9000
emulate: $(VENV)/.dev
	$(PY) -m handler.lambda_runtime.emulator --task-root . --port 9000

## package: dist/deploy.zip for Lambda (python3.12, x86_64); ARGS="--arch arm64" etc.
package: $(VENV)/.dev
	$(PY) build.py $(ARGS)

## test: every test: service, runtime, package and Terraform plans
test: $(VENV)/.test
	$(PY) -m pytest

## lint: ruff and terraform fmt, checking only
lint: $(VENV)/.test
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

## fmt: rewrite sources in the project's style
fmt: $(VENV)/.test
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format .

clean:
	rm -rf $(VENV) dist build .pytest_cache .ruff_cache
