# The one interface to the project. `make` (or `make help`) lists the targets, by group.
# Every target creates the virtualenvs it needs, so a fresh clone works as is.

.DEFAULT_GOAL := help
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# The SageMaker XGBoost 1.7-1 and scikit-learn 1.2-1 images both run Python 3.9 (their
# Dockerfiles' PYTHON_VERSION): their environments are made with it (pyenv's or the system's;
# scripts/find-container-python.sh says which, and falls back to $(PYTHON) when there is none).
CONTAINER_PYTHON_VERSION := 3.9
CONTAINER_BASE_PYTHON ?= $(shell scripts/find-container-python.sh $(CONTAINER_PYTHON_VERSION) $(PYTHON))
XGB17_VENV := .venv-xgb17
XGB17_STAMP := $(XGB17_VENV)/.installed
SKLEARN12_VENV := .venv-sklearn12
SKLEARN12_STAMP := $(SKLEARN12_VENV)/.installed
CHECKOV_VENV := .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed
# The interpreters that stand in for SageMaker's container images (the emulator's
# emulator/containers/interpreters.py names the image each one serves). Every target that starts
# the emulator or runs a job depends on all of them; a new image's environment is one more stamp
# here (tests/unit/test_local_preflight.py checks the list against the emulator's).
CONTAINER_ENVS := $(XGB17_STAMP) $(SKLEARN12_STAMP)
# Checked first by every target that runs the local stack, before any virtualenv is created:
# terraform, a Python that can create virtualenvs (harness/preflight.py, standard library only).
LOCAL_PREFLIGHT = $(PYTHON) -m harness.preflight tools
# The report's browser test drives a real headless Chromium from the distribution (Debian's
# `chromium`; scripts/find-chromium.sh also accepts Google Chrome). `make browser` installs it.
FIND_CHROMIUM := scripts/find-chromium.sh
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# A local copy of the Terraform providers (filesystem mirror), if this machine has one.
export TF_PLUGIN_DIR ?= $(shell scripts/find-provider-mirror.sh)
PYTEST_ARGS ?=
# Test processes for `make test`: one test file per process at a time (module fixtures such as a
# Terraform apply run once). Much of a test's time is spent waiting (Terraform's propagation
# checks, polling loops), so more processes than cores still pays on a 2-core machine.
# --no-loadscope-reorder: files go out in collection order (testpaths: the end-to-end files,
# each minutes of Terraform apply, come first) instead of most tests first, which left the
# longest files, with one to five tests each, for the end of the run.
TEST_WORKERS ?= 3

.PHONY: help setup container-envs local-preflight browser test test-fast lint lint-workflows format \
        definitions check-definitions build checkov clean docs bench demo local-up local-down \
        local-status deploy plan destroy run-and-wait train start status logs models approve \
        reject predict report traffic monitor endpoint-down rollback

# `make help` lists each `target: ... ## text` under the `##@ <group>` line above it, the groups
# in this order. Colour only when stdout is a terminal and NO_COLOR is not set (https://no-color.org).
HELP_GROUPS := Start here|Local stack|AWS|Operations|Development

##@ Start here
help: ## Show this help: the targets by group
	@if [ -t 1 ] && [ -z "$${NO_COLOR+set}" ]; then on=$$'\033[36m'; head=$$'\033[1m'; off=$$'\033[0m'; \
	else on=; head=; off=; fi; \
	awk -v groups='$(HELP_GROUPS)' -v on="$$on" -v head="$$head" -v off="$$off" \
	  -f scripts/make-help.awk $(MAKEFILE_LIST)

$(STAMP): requirements.txt requirements-dev.txt requirements-lint.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip 'setuptools<82' wheel
	$(VENV)/bin/pip install --quiet -r requirements-dev.txt
	touch $@

# A container environment is made afresh when its requirements change (rm -rf removes a
# symlinked environment's link, never what it points to).
$(XGB17_STAMP): requirements-xgb17.txt
	rm -rf $(XGB17_VENV)
	$(CONTAINER_BASE_PYTHON) -m venv $(XGB17_VENV)
	$(XGB17_VENV)/bin/pip install --quiet --upgrade pip
	$(XGB17_VENV)/bin/pip install --quiet -r requirements-xgb17.txt
	touch $@

$(SKLEARN12_STAMP): requirements-sklearn12.txt
	rm -rf $(SKLEARN12_VENV)
	$(CONTAINER_BASE_PYTHON) -m venv $(SKLEARN12_VENV)
	$(SKLEARN12_VENV)/bin/pip install --quiet --upgrade pip
	$(SKLEARN12_VENV)/bin/pip install --quiet -r requirements-sklearn12.txt
	touch $@

$(CHECKOV_STAMP): requirements-checkov.txt
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet --upgrade pip
	$(CHECKOV_VENV)/bin/pip install --quiet -r requirements-checkov.txt
	touch $@

##@ Development
setup: $(STAMP) $(CONTAINER_ENVS) $(CHECKOV_STAMP) browser ## Create every virtualenv (main, container images, checkov), install Chromium

container-envs: $(CONTAINER_ENVS) ## Create the interpreters that stand in for SageMaker's container images

local-preflight: ## Check terraform and Python before anything is installed or started
	@$(LOCAL_PREFLIGHT)

browser: ## Install Chromium for the report's browser test, unless one is there (Debian: apt-get)
	@found="$$($(FIND_CHROMIUM))"; if [ -n "$$found" ]; then echo "browser: $$found"; else \
	  command -v apt-get >/dev/null || { echo "no apt-get here: install Chromium, then set CHROMIUM=<its path>" >&2; exit 1; }; \
	  $(SUDO) apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium; fi

build: $(STAMP) ## Build build/sourcedir.tar.gz (train.py) and build/trigger.zip (Lambda)
	$(PY) -m devtools.build

definitions: $(STAMP) ## Regenerate the committed ASL, pipeline definition and Terraform execution settings
	$(PY) -m statemachines
	$(PY) -m ml.pipeline
	$(PY) -m devtools.execution_input_tf
	$(PY) -m devtools.s3_layout_tf

docs: $(STAMP) ## Regenerate the tables in docs/reference.md (Terraform variables, execution input)
	$(PY) -m devtools.reference

check-definitions: $(STAMP) ## Fail if a committed generated file is stale
	$(PY) -m statemachines --check
	$(PY) -m ml.pipeline --check
	$(PY) -m devtools.execution_input_tf --check
	$(PY) -m devtools.s3_layout_tf --check

lint: $(STAMP) ## Ruff, mypy, import contracts, definition staleness, terraform fmt, workflows, no tracker refs
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) -m devtools.check_refs
	$(VENV)/bin/mypy contracts ml statemachines lambdas emulator harness devtools ops bench scripts/wait_for_execution.py
	$(VENV)/bin/lint-imports
	$(MAKE) --no-print-directory check-definitions
	terraform fmt -check -recursive terraform
	$(MAKE) --no-print-directory lint-workflows

lint-workflows: $(STAMP) ## GitHub workflows: JSON schema and zizmor (offline)
	LINT_BIN=$(VENV)/bin scripts/lint-workflows.sh

format: $(STAMP) ## Apply ruff fixes and formatting, terraform fmt
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .
	terraform fmt -recursive terraform

checkov: $(CHECKOV_STAMP) ## Static security checks of terraform/ (own venv: checkov pins an old boto3)
	$(CHECKOV_VENV)/bin/checkov --directory terraform --framework terraform --quiet --compact --skip-download

test-fast: $(STAMP) build ## Unit tests only
	$(PY) -m pytest tests/unit -m "not xgb17 and not sklearn12" $(PYTEST_ARGS)

# Not part of `make test`: a measurement of minutes (docs/local.md, "Benchmark"). BENCH_ARGS passes
# options (--rows, --samples); being over a target is reported, and still exits 0.
BENCH_ARGS ?=

bench: $(STAMP) $(CONTAINER_ENVS) ## Time and peak memory of prepare/train vs baselines, endpoint latency
	$(PY) -m bench $(BENCH_ARGS)

# ------------------------------------------------------------------------- local runtime
DEMO_ARGS ?=

##@ Start here
# make demo works in .local/demo/ with its own emulator and port: it never touches a running
# make local-up session (.local/session/). KEEP=1 makes the demo that session (refused if one runs).
# DATA=<local .csv> LABEL=<its label column> runs the same system on your file
# (docs/own-data.md); without them it runs the seed data, data/raw/iris.csv.
demo: local-preflight $(STAMP) $(CONTAINER_ENVS) build ## Run the whole system locally (DATA=<local csv> LABEL=<column> for your own data)
	$(PY) -m harness.demo $(if $(filter 0 false no,$(DEPLOY)),--no-deploy) \
	  $(if $(TUNING_JOBS),--tuning-jobs $(TUNING_JOBS)) $(if $(filter 1 true yes,$(KEEP)),--keep) \
	  $(if $(DATA),--data '$(DATA)') $(if $(LABEL),--label '$(LABEL)') $(DEMO_ARGS)

test: local-preflight $(STAMP) $(CONTAINER_ENVS) build browser ## Run every test (unit, integration, Terraform, checkov, end to end, the report in Chromium)
	$(MAKE) --no-print-directory checkov
	XGB17_PYTHON=$(CURDIR)/$(XGB17_VENV)/bin/python \
	  SKLEARN12_PYTHON=$(CURDIR)/$(SKLEARN12_VENV)/bin/python CHROMIUM="$$($(FIND_CHROMIUM))" \
	  $(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder $(PYTEST_ARGS)

##@ Local stack
local-up: local-preflight $(STAMP) $(CONTAINER_ENVS) build ## Start the emulator in the background and apply terraform/ to it (.local/session/)
	$(PY) -m harness.demo up

local-down: $(STAMP) ## Stop the background emulator (its state is lost; the next local-up keeps the port)
	$(PY) -m emulator down

local-status: $(STAMP) ## Is the background emulator running? (else: where its log is)
	$(PY) -m emulator status

# ------------------------------------------------------------------------- AWS
# Operations read names from Terraform outputs and talk to AWS (or to the emulator when
# AWS_ENDPOINT_URL is set, as `make local-up` prints); each prints the account, region and
# endpoint it targets first (docs/operations.md). JSON=1 prints the result as one JSON object
# (a global option, given before the command); OPS_ARGS passes more options.
OPS = $(PY) -m ops $(if $(call is_true,$(JSON)),--json)
OPS_ARGS ?=
TF_ROOT := terraform

# Remote state: terraform/backend.hcl on a workstation (docs/aws.md, "Deploy"); without it,
# the TF_STATE_BUCKET, TF_STATE_KEY and AWS_REGION environment variables (the CI workflows).
# $${...} is expanded by the shell, so values from the environment are never parsed by make.
TF_BACKEND_FILE ?= $(TF_ROOT)/backend.hcl
TF_BACKEND_ARGS = $(if $(wildcard $(TF_BACKEND_FILE)),\
  -backend-config=$(abspath $(TF_BACKEND_FILE)),\
  -backend-config="bucket=$${TF_STATE_BUCKET}" -backend-config="key=$${TF_STATE_KEY}" \
  -backend-config="region=$${AWS_REGION}" -backend-config=use_lockfile=true \
  -backend-config=encrypt=true)
TF_INIT = TF_INIT_BACKEND=true scripts/terraform-init.sh $(TF_ROOT) $(TF_BACKEND_ARGS)
PREFLIGHT = TF_BACKEND_FILE=$(TF_BACKEND_FILE) scripts/preflight.sh
# GitHub Actions sets CI=true; its logs show colour codes as raw escape sequences.
TF_COLOR := $(if $(filter true,$(CI)),-no-color)
is_true = $(filter 1 true yes,$(1))
is_false = $(filter 0 false no,$(1))
# `make plan PLAN_OUT=tfplan` saves the plan as terraform/tfplan and its text as PLAN_TEXT.
PLAN_OUT ?=
PLAN_TEXT ?= plan.txt
# run-and-wait: NAME (required), INPUT (JSON), TIMEOUT and POLL in seconds.
INPUT ?= {}
TIMEOUT ?= 5400
POLL ?= 30

##@ AWS
deploy: $(STAMP) ## Regenerate definitions, build, terraform init + apply (AUTO_APPROVE=1: no prompt)
	$(PREFLIGHT) deploy
	$(MAKE) --no-print-directory definitions build
	$(TF_INIT)
	terraform -chdir=$(TF_ROOT) apply -input=false $(TF_COLOR) \
	  $(if $(call is_true,$(AUTO_APPROVE)),-auto-approve)

plan: $(STAMP) ## terraform plan (PLAN_OUT=tfplan: save it + plan.txt; LOCK=false: read-only role)
	$(PREFLIGHT) plan
	$(MAKE) --no-print-directory build
	$(TF_INIT)
	terraform -chdir=$(TF_ROOT) plan -input=false $(TF_COLOR) \
	  $(if $(call is_false,$(LOCK)),-lock=false) $(if $(PLAN_OUT),-out=$(PLAN_OUT))
	$(if $(PLAN_OUT),terraform -chdir=$(TF_ROOT) show -no-color $(PLAN_OUT) > $(PLAN_TEXT))

destroy: $(STAMP) ## List, then delete what the runs created and terraform destroy the rest (asks once; YES=1: no question)
	$(PREFLIGHT) destroy
	$(MAKE) --no-print-directory build
	$(TF_INIT)
	$(OPS) --terraform-dir $(TF_ROOT) destroy $(if $(call is_true,$(YES)),--yes) $(OPS_ARGS)

run-and-wait: $(STAMP) ## Start execution NAME of the deployed state machine, wait up to TIMEOUT s
	$(if $(NAME),,$(error run-and-wait needs NAME=<execution name>))
	arn="$$(terraform -chdir=$(TF_ROOT) output -raw training_state_machine_arn)"; \
	$(PY) scripts/wait_for_execution.py --state-machine-arn "$$arn" --name '$(NAME)' \
	  --input '$(INPUT)' --poll-seconds $(POLL) --timeout-seconds $(TIMEOUT)

##@ Operations
train: $(STAMP) ## Train on your data: DATA=<local csv or s3://...> LABEL=<column> (WAIT=1: follow the run)
	$(if $(DATA),,$(error make train needs DATA=<local .csv or s3://...> and LABEL=<its label column>))
	$(if $(LABEL),,$(error make train needs LABEL=<the label column of DATA>))
	$(OPS) train --data '$(DATA)' --label '$(LABEL)' $(if $(FEATURES),--features '$(FEATURES)') \
	  $(if $(CLASS_ORDER),--class-order '$(CLASS_ORDER)') $(if $(call is_true,$(WAIT)),--wait) $(OPS_ARGS)

start: $(STAMP) ## Queue a training run on the configured data (DEPLOY=1: deploy it; WAIT=1: follow it)
	$(OPS) start $(if $(call is_true,$(DEPLOY)),--deploy) $(if $(call is_true,$(WAIT)),--wait) $(OPS_ARGS)

status: $(STAMP) ## Latest runs of both machines (why failed ones failed), queues, deployment history
	$(OPS) status $(OPS_ARGS)

logs: $(STAMP) ## Timeline of the latest (or EXECUTION=...) run and recent log events (MACHINE=deployment)
	$(OPS) logs $(if $(EXECUTION),--execution '$(EXECUTION)') $(if $(MACHINE),--machine '$(MACHINE)') $(OPS_ARGS)

models: $(STAMP) ## Model Registry: versions, approval status, accuracy, F1, and which one serves
	$(OPS) models $(OPS_ARGS)

approve: $(STAMP) ## Approve PACKAGE=<arn|latest> beside the serving model, asks first (YES=1, ACCEPT_API_CHANGE=1, WAIT=1)
	$(OPS) approve $(if $(PACKAGE),--package '$(PACKAGE)') $(if $(call is_true,$(YES)),--yes) \
	  $(if $(call is_true,$(ACCEPT_API_CHANGE)),--accept-api-change) $(if $(call is_true,$(WAIT)),--wait) $(OPS_ARGS)

reject: $(STAMP) ## Reject PACKAGE=<arn|latest> (REASON=<why>), asks first (YES=1)
	$(OPS) reject $(if $(PACKAGE),--package '$(PACKAGE)') $(if $(REASON),--description '$(REASON)') \
	  $(if $(call is_true,$(YES)),--yes) $(OPS_ARGS)

rollback: $(STAMP) ## Redeploy the previously serving approved package, guarded (WAIT=1: follow it)
	$(OPS) rollback $(if $(call is_true,$(WAIT)),--wait) $(OPS_ARGS)

predict: $(STAMP) ## Invoke the endpoint with ROW (default: a test row from the served model's evaluation report)
	$(OPS) predict $(if $(ROW),--row '$(ROW)') $(OPS_ARGS)

report: $(STAMP) ## Fetch the latest (or RUN=<execution>, PACKAGE=<arn>) run's report to .local/reports/ and open it
	$(OPS) report $(if $(RUN),--run '$(RUN)') $(if $(PACKAGE),--package '$(PACKAGE)') $(OPS_ARGS)

traffic: $(STAMP) ## Send ROWS=<n> rows of the serving model's test split to the endpoint (SHIFT=<feature>=<factor>)
	$(if $(ROWS),,$(error make traffic needs ROWS=<how many rows>))
	$(OPS) traffic --rows '$(ROWS)' $(if $(SHIFT),--shift '$(SHIFT)') $(OPS_ARGS)

monitor: $(STAMP) ## Run the drift monitor now (WAIT=1: follow it)
	$(OPS) monitor $(if $(call is_true,$(WAIT)),--wait) $(OPS_ARGS)

endpoint-down: $(STAMP) ## Delete the endpoint (and its config and model) to stop its cost
	$(OPS) endpoint-down $(OPS_ARGS)

##@ Development
clean: ## Remove build outputs and caches (keeps the virtualenvs)
	rm -rf build .pytest_cache .mypy_cache .ruff_cache
	find . -name __pycache__ -type d -not -path './.venv*' -prune -exec rm -rf {} +
