# The one interface to the project. `make` (or `make help`) lists the targets.
# Every target creates the virtualenv it needs, so a fresh clone works as is.

.DEFAULT_GOAL := help
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# The SageMaker XGBoost 1.7-1 container runs Python 3.8: prove train.py there when we can
# (the pinned 1.7 stack also installs on 3.11, the fallback).
XGB17_BASE_PYTHON ?= $(shell scripts/find-container-python.sh $(PYTHON))
XGB17_VENV := .venv-xgb17
XGB17_STAMP := $(XGB17_VENV)/.installed
CHECKOV_VENV := .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed
# A local copy of the Terraform providers (filesystem mirror), if this machine has one.
export TF_PLUGIN_DIR ?= $(shell scripts/find-provider-mirror.sh)
PYTEST_ARGS ?=

.PHONY: help setup test test-fast lint format definitions check-definitions build \
        checkov terraform-check clean

help: ## Show this help
	@awk 'BEGIN {FS = ":.*## "; printf "Usage: make <target>\n\nTargets:\n"} \
	  /^[a-zA-Z0-9_-]+:.*## / {printf "  \033[36m%-18s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip 'setuptools<82' wheel
	$(VENV)/bin/pip install --quiet -r requirements-dev.txt
	touch $@

$(XGB17_STAMP): requirements-xgb17.txt
	$(XGB17_BASE_PYTHON) -m venv $(XGB17_VENV)
	$(XGB17_VENV)/bin/pip install --quiet --upgrade pip
	$(XGB17_VENV)/bin/pip install --quiet -r requirements-xgb17.txt
	touch $@

$(CHECKOV_STAMP): requirements-checkov.txt
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet --upgrade pip
	$(CHECKOV_VENV)/bin/pip install --quiet -r requirements-checkov.txt
	touch $@

setup: $(STAMP) $(XGB17_STAMP) $(CHECKOV_STAMP) ## Create the virtualenvs (main, xgboost 1.7, checkov)

build: $(STAMP) ## Build build/sourcedir.tar.gz (train.py) and build/trigger.zip (Lambda)
	$(PY) -m devtools.build

definitions: $(STAMP) ## Regenerate the committed ASL and SageMaker pipeline definition
	$(PY) -m statemachines
	$(PY) -m ml.pipeline

check-definitions: $(STAMP) ## Fail if a committed generated file is stale
	$(PY) -m statemachines --check
	$(PY) -m ml.pipeline --check

lint: $(STAMP) ## Ruff, mypy, definition staleness, terraform fmt
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy ml statemachines lambdas local devtools
	$(MAKE) --no-print-directory check-definitions
	terraform fmt -check -recursive terraform

format: $(STAMP) ## Apply ruff fixes and formatting, terraform fmt
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .
	terraform fmt -recursive terraform

checkov: $(CHECKOV_STAMP) ## Static security checks of terraform/ (own venv: checkov pins an old boto3)
	$(CHECKOV_VENV)/bin/checkov --directory terraform --framework terraform --quiet --compact --skip-download

test: $(STAMP) $(XGB17_STAMP) build ## Run every test (unit, integration, Terraform, checkov, xgboost 1.7)
	$(MAKE) --no-print-directory checkov
	XGB17_PYTHON=$(CURDIR)/$(XGB17_VENV)/bin/python $(PY) -m pytest $(PYTEST_ARGS)

test-fast: $(STAMP) build ## Unit tests only
	$(PY) -m pytest tests/unit -m "not xgb17" $(PYTEST_ARGS)

clean: ## Remove build outputs and caches (keeps the virtualenvs)
	rm -rf build .pytest_cache .mypy_cache .ruff_cache
	find . -name __pycache__ -type d -not -path './.venv*' -prune -exec rm -rf {} +
