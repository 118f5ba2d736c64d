# Every target creates the project virtual environment it needs on first use.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
TERRAFORM ?= terraform
TF_DIR ?= terraform
PACKAGE ?= dist/deploy.zip
SERVERS ?= servers.json
# Extra terraform flags, e.g. TF_ARGS="-var-file=staging.tfvars".
TF_ARGS ?=

.PHONY: help dev emulate package deploy destroy rollback verify pgadmin-servers test test-fast lint fmt clean

## help: list the targets with what each does (also what a bare `make` does)
help:
	@sed -n 's/^## \([a-z-]*\): /\1\t/p' $(MAKEFILE_LIST) | awk -F'\t' '{printf "  make %-16s %s\n", $$1, $$2}'

$(VENV)/.dev: pyproject.toml
	@echo "Installing the service and its tools into $(VENV) (first run, or pyproject.toml changed: about a minute)"
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

## emulate: build a package for this machine and run it under the local Lambda on http://127.0.0.1:9000
emulate: $(VENV)/.dev
	$(PY) build.py --python-version local --output dist/local.zip --max-size 100000000
	$(PY) -m devtools.lambda_emulator --package dist/local.zip --port 9000

## package: $(PACKAGE) for Lambda (python3.12, x86_64); ARGS="--arch arm64" etc.
package: $(VENV)/.dev
	$(PY) build.py --output $(PACKAGE) $(ARGS)

## deploy: package (ARGS too, e.g. ARGS="--arch arm64"), then terraform apply in $(TF_DIR) (shows the plan and asks first)
deploy: package
	@echo "Deploying $(PACKAGE) with the settings in $(TF_DIR)/terraform.tfvars."
	$(TERRAFORM) -chdir=$(TF_DIR) init -input=false
	$(TERRAFORM) -chdir=$(TF_DIR) apply -var package_file=$(abspath $(PACKAGE)) $(TF_ARGS)

## destroy: terraform destroy in $(TF_DIR); refuses first while deletion protection is on, keeps what a final snapshot needs (no package needed)
destroy:
	$(TERRAFORM) -chdir=$(TF_DIR) init -input=false >/dev/null
	TERRAFORM=$(TERRAFORM) TF_DIR=$(TF_DIR) sh $(TF_DIR)/scripts/destroy.sh $(TF_ARGS)

## rollback: point the Function URL's `live` alias at the version before the one it serves
rollback:
	TERRAFORM=$(TERRAFORM) TF_DIR=$(TF_DIR) sh $(TF_DIR)/scripts/rollback.sh

## verify: check a deployment: make verify URL=https://<id>.lambda-url.<region>.on.aws [TOKEN=<Firebase ID token>]
verify: $(VENV)/.dev
	@test -n "$(URL)" || { echo "usage: make verify URL=<function URL> [TOKEN=<Firebase ID token>]"; exit 2; }
	$(PY) -m handler verify $(URL) $(if $(TOKEN),--token $(TOKEN))

## pgadmin-servers: write $(SERVERS) for pgAdmin's import from the Terraform outputs (no password)
pgadmin-servers: $(VENV)/.dev
	$(TERRAFORM) -chdir=$(TF_DIR) output -json | $(PY) -m handler pgadmin-servers > $(SERVERS).tmp
	mv $(SERVERS).tmp $(SERVERS)
	@echo "Wrote $(SERVERS): in pgAdmin, Tools > Import/Export Servers. The password is in the"
	@echo "database_master_secret_arn secret (see docs/deploy.md)."

## test: lint, then every test: service, runtime, browser, package, Terraform (plan, moto apply, checkov)
test: lint
	$(PY) -m pytest

## test-fast: every test but the slow ones (Terraform, package builds, browser, fuzzer): two or three minutes
test-fast: $(VENV)/.test
	$(PY) -m pytest -m "not slow"

## lint: ruff and terraform fmt, checking only
lint: $(VENV)/.test
	@command -v $(TERRAFORM) >/dev/null || { echo "make test needs Terraform 1.11 or later on PATH (terraform fmt, plan and apply tests): install it, or set TERRAFORM=/path/to/terraform"; exit 2; }
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(TERRAFORM) fmt -check -recursive $(TF_DIR)

## fmt: rewrite sources in the project's style (format first: it fixes what --fix cannot)
fmt: $(VENV)/.test
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format .
	$(TERRAFORM) fmt -recursive $(TF_DIR)

## clean: remove the virtual environment and build outputs
clean:
	rm -rf $(VENV) dist build .pytest_cache .ruff_cache

.PHONY: bench-ttft bench-soak
## bench-ttft: time to first token over the floor in issue 26's scenarios (RUNS=9: about 2 min)
bench-ttft: $(VENV)/.test
	$(PY) bench/ttft.py --runs $(or $(RUNS),9) $(ARGS)
## bench-soak: RSS under 30 minutes of mixed chats and REST calls, beside a /health-only baseline (ARGS="--short": 2 min)
bench-soak: $(VENV)/.test
	$(PY) bench/soak.py $(ARGS)
