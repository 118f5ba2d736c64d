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

.PHONY: help dev auth-emulator emulate package deploy destroy rollback verify pgadmin-servers test test-fast test-one lint fmt clean

## help: list the targets with what each does (also what a bare `make` does)
help:
	@sed -n 's/^## \([a-z-]*\): /\1\t/p' $(MAKEFILE_LIST) | awk -F'\t' '{printf "  make %-16s %s\n", $$1, $$2}' \
		| sed -e 's|$$(PACKAGE)|$(PACKAGE)|g' -e 's|$$(TF_DIR)|$(TF_DIR)|g' -e 's|$$(SERVERS)|$(SERVERS)|g' \
		-e 's|$$(FIREBASE_DIR)|$(FIREBASE_DIR)|g'

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
	@# The allocator setting the function has too (devtools/native_heap.py).
	MALLOC_MMAP_THRESHOLD_=131072 $(PY) -m handler serve

## emulate: build a package for this machine and run it under the local Lambda on http://127.0.0.1:9000
emulate: $(VENV)/.dev
	@test -z "$$FIREBASE_AUTH_EMULATOR_HOST" || { echo "make emulate: unset FIREBASE_AUTH_EMULATOR_HOST (the local Lambda checks signatures as Lambda does; .venv/bin/python -m handler emulator-token signs for it)"; exit 2; }
	$(PY) build.py --python-version local --output dist/local.zip --max-size 100000000
	$(PY) -m devtools.lambda_emulator --package dist/local.zip --port 9000

## package: $(PACKAGE) for Lambda (python3.12, x86_64); ARGS="--arch arm64" etc.
package: $(VENV)/.dev
	$(PY) build.py --output $(PACKAGE) $(ARGS)

## deploy: check the AWS CLI, package (ARGS too, e.g. ARGS="--arch arm64"), terraform apply in $(TF_DIR) (shows the plan and asks first), then migrate inside the function (MIGRATE=no skips)
deploy: deploy-preflight package
	@echo "Deploying $(PACKAGE) with the settings in $(TF_DIR)/terraform.tfvars."
	$(TERRAFORM) -chdir=$(TF_DIR) init -input=false
	$(TERRAFORM) -chdir=$(TF_DIR) apply -var package_file=$(abspath $(PACKAGE)) $(TF_ARGS)
	@# Once per deploy, inside the VPC: containers only check the schema (MIGRATE=no skips it).
	@if [ "$(MIGRATE)" = no ]; then echo "Not migrating (MIGRATE=no): run make admin ARGS=migrate before the new version serves."; \
	else $(MAKE) --no-print-directory admin ARGS=migrate; fi

## destroy: terraform destroy in $(TF_DIR); refuses first while deletion protection is on, keeps what a final snapshot needs (no package needed)
destroy:
	$(TERRAFORM) -chdir=$(TF_DIR) init -input=false >/dev/null
	TERRAFORM=$(TERRAFORM) TF_DIR=$(TF_DIR) sh $(TF_DIR)/scripts/destroy.sh $(TF_ARGS)

## rollback: serve the version before the live one, and keep serving it through later deploys; CLEAR=1 serves the newest again
rollback:
	TERRAFORM=$(TERRAFORM) TF_DIR=$(TF_DIR) AWS_CLI=$(AWS_CLI) CLEAR=$(CLEAR) sh $(TF_DIR)/scripts/rollback.sh

# The AWS CLI Terraform calls for the public URL's second permission (terraform
# variable aws_cli); checked before anything is built or applied.
AWS_CLI ?= aws
.PHONY: deploy-preflight
deploy-preflight:
	@AWS_CLI=$(AWS_CLI) sh $(TF_DIR)/scripts/preflight.sh

## verify: check a deployment: make verify URL=https://<id>.lambda-url.<region>.on.aws [TOKEN=<Firebase ID token>]
verify: $(VENV)/.dev
	@test -n "$(URL)" || { echo "usage: make verify URL=<function URL> [TOKEN=<Firebase ID token>]"; exit 2; }
	@# The token reaches the command through the environment (make exports TOKEN), never its echo.
	@echo "$(PY) -m handler verify $(URL)$(if $(TOKEN), --token (TOKEN, not shown))"
	@$(PY) -m handler verify $(URL) $(if $(TOKEN),--token "$$TOKEN")

## pgadmin-servers: write $(SERVERS) for pgAdmin's import from the Terraform outputs (no password)
pgadmin-servers: $(VENV)/.dev
	$(TERRAFORM) -chdir=$(TF_DIR) output -json | $(PY) -m handler pgadmin-servers > $(SERVERS).tmp
	mv $(SERVERS).tmp $(SERVERS)
	@echo "Wrote $(SERVERS): in pgAdmin, Tools > Import/Export Servers. The password is in the"
	@echo "database_master_secret_arn secret (see docs/deploy.md)."

## admin: an operator command inside the deployed function, no tunnel: make admin ARGS="grant super_user <uid>" (or ARGS=migrate)
.PHONY: admin
AWS ?= aws
admin: $(VENV)/.dev
	@test -n "$(ARGS)" || { echo 'usage: make admin ARGS="grant super_user <uid>" (or ARGS=migrate)'; exit 2; }
	$(PY) -m devtools.lambda_admin --aws "$(AWS)" \
		--function "$$($(TERRAFORM) -chdir=$(TF_DIR) output -raw function_name)" \
		--qualifier "$$($(TERRAFORM) -chdir=$(TF_DIR) output -raw function_alias)" \
		--region "$$($(TERRAFORM) -chdir=$(TF_DIR) output -raw region)" $(ARGS)

# Local sign-in: the Firebase Auth emulator (npm firebase-tools; Node 20+, no Java for auth
# alone), installed into $(FIREBASE_DIR) from devtools/firebase/package.json (docs/local-sign-in.md).
FIREBASE_DIR ?= .tools/firebase
NPM ?= npm

$(FIREBASE_DIR)/.installed: devtools/firebase/package.json
	@command -v $(NPM) >/dev/null || { echo "the Auth emulator needs Node.js 20+ and npm on PATH (Debian: apt-get install nodejs npm)"; exit 2; }
	@echo "Installing firebase-tools into $(FIREBASE_DIR) (first run: a few minutes)"
	mkdir -p $(FIREBASE_DIR)
	cp devtools/firebase/package.json $(FIREBASE_DIR)/package.json
	$(NPM) install --prefix $(FIREBASE_DIR) --no-audit --no-fund --loglevel=error
	touch $@

## auth-emulator: the Firebase Auth emulator on 127.0.0.1:9099, project demo-debugflow, for make dev's emulator mode
auth-emulator: $(FIREBASE_DIR)/.installed
	$(FIREBASE_DIR)/node_modules/.bin/firebase emulators:start --only auth --project demo-debugflow --config devtools/firebase/firebase.json

# Two pytest-xdist workers: the slow tests mostly wait on subprocesses (terraform, pip,
# Chromium). Each file runs on one worker, longest first (tests/work_units.py).
# WORKERS=0 runs everything in one process.
WORKERS ?= 2
PARALLEL = $(if $(filter 0,$(WORKERS)),,-n $(WORKERS) --dist loadfile --no-loadscope-reorder)

## test: lint, then every test: service, runtime, browser, package, Terraform (plan, moto apply, checkov)
test: lint
	$(PY) -m pytest $(PARALLEL)

## test-fast: every test but the slow ones (Terraform, package builds, browser, fuzzer): about 3 minutes on 2 cores
test-fast: $(VENV)/.test
	$(PY) -m pytest $(PARALLEL) -m "not slow"

## test-one: one test file or test, e.g. make test-one T=tests/test_ops.py::test_health (installs pytest first)
test-one: $(VENV)/.test
	@test -n "$(T)" || { echo "usage: make test-one T=tests/test_ops.py::test_health"; exit 2; }
	$(PY) -m pytest -q $(T)

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

.PHONY: bench-fleet
## bench-fleet: N packaged Lambda containers chat at once against one PostgreSQL (max_connections 40), directly and through pgbouncer; ARGS="--n 20 60 --rounds 2" etc.
bench-fleet: $(VENV)/.test
	$(PY) bench/fleet.py $(ARGS)

.PHONY: bench-ttft bench-soak
## bench-ttft: time to first token over the floor in issue 26's scenarios (RUNS=9: about 2 min)
bench-ttft: $(VENV)/.test
	$(PY) bench/ttft.py --runs $(or $(RUNS),9) $(ARGS)
## bench-soak: RSS under 30 minutes of mixed chats and REST calls, beside a /health-only baseline (ARGS="--short": 2 min)
bench-soak: $(VENV)/.test
	$(PY) bench/soak.py $(ARGS)

.PHONY: bench-pooled
## bench-pooled: REST and chat latency direct to PostgreSQL and through pgbouncer (transaction mode), with ratios; ARGS="--seconds 2 --chats 3" for a short run
bench-pooled: $(VENV)/.test
	$(PY) bench/pooled.py $(ARGS)
