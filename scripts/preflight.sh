#!/usr/bin/env bash
# Check what `make deploy|plan|destroy` needs before Terraform runs, and say what is missing.
#
# usage: scripts/preflight.sh [deploy|plan|destroy]   exit 0: ready, exit 2: something is missing
#
# Rules (the same on a workstation and in CI; every missing item is reported, not just the first):
#   terraform    on PATH.
#   variables    terraform/terraform.tfvars exists, OR the environment supplies them: any TF_VAR_*
#                variable is set, or CI=true (a workflow passes TF_VAR_* and otherwise relies on
#                the defaults of terraform/'s variables, which are all complete).
#   backend      $TF_BACKEND_FILE (default terraform/backend.hcl) exists, OR TF_STATE_BUCKET,
#                TF_STATE_KEY and AWS_REGION are all set (the Makefile then passes them as
#                -backend-config=...). With the file present, the variables are ignored.
#   credentials  sts:GetCallerIdentity succeeds (any principal may call it). It fails fast offline:
#                no credentials fail before any request, and a request gets a 5 s connect timeout
#                and no retries. $PREFLIGHT_PYTHON (default .venv/bin/python) runs the check.
set -uo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
action="${1:-deploy}"
backend_file="${TF_BACKEND_FILE:-terraform/backend.hcl}"
python="${PREFLIGHT_PYTHON:-.venv/bin/python}"
problems=0

missing() {
  echo "✗ $*" >&2
  problems=1
}

if ! command -v terraform >/dev/null; then
  missing "terraform is not on PATH: install Terraform >= 1.10" \
    "(https://developer.hashicorp.com/terraform/install)."
fi

if [[ -f terraform/terraform.tfvars ]]; then
  echo "✓ variables: terraform/terraform.tfvars"
elif compgen -e | grep -q '^TF_VAR_'; then
  echo "✓ variables: TF_VAR_* environment ($(compgen -e | grep '^TF_VAR_' | paste -sd ' ' -))"
elif [[ "${CI:-}" == "true" ]]; then
  echo "✓ variables: CI=true, the defaults of terraform/'s variables"
else
  missing "terraform/terraform.tfvars is missing: cp terraform/terraform.tfvars.example" \
    "terraform/terraform.tfvars and edit it (or export TF_VAR_<name> variables)."
fi

if [[ -f "$backend_file" ]]; then
  echo "✓ backend: $backend_file"
else
  unset_vars=()
  for name in TF_STATE_BUCKET TF_STATE_KEY AWS_REGION; do
    [[ -n "${!name:-}" ]] || unset_vars+=("$name")
  done
  if [[ ${#unset_vars[@]} -eq 0 ]]; then
    echo "✓ backend: s3://${TF_STATE_BUCKET}/${TF_STATE_KEY} in ${AWS_REGION} (environment)"
  else
    missing "$backend_file is missing and ${unset_vars[*]} not set: write the file with" \
      "terraform -chdir=terraform/bootstrap output -raw backend_config_hcl > $backend_file" \
      "(see docs/aws.md, 'Deploy'), or export TF_STATE_BUCKET, TF_STATE_KEY and AWS_REGION."
  fi
fi

if [[ ! -x "$python" ]]; then
  missing "$python not found: run make setup (or set PREFLIGHT_PYTHON) to check AWS credentials."
elif identity="$("$python" - <<'PY' 2>&1
import os
import sys

import boto3
from botocore.config import Config

# Any region will do for GetCallerIdentity; prefer the one Terraform will use.
session = boto3.Session()
region = session.region_name or os.environ.get("AWS_REGION") or "us-east-1"
config = Config(connect_timeout=5, read_timeout=10, retries={"max_attempts": 1})
try:
    arn = session.client("sts", region_name=region, config=config).get_caller_identity()["Arn"]
except Exception as error:  # every failure means the same thing here: no usable credentials
    sys.exit(f"{type(error).__name__}: {error}")
print(arn)
PY
)"; then
  echo "✓ AWS credentials: $identity"
else
  missing "no usable AWS credentials ($identity): configure a profile (aws configure," \
    "AWS_PROFILE) or export AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY."
fi

if [[ $problems -ne 0 ]]; then
  echo "make $action: fix the above first." >&2
  exit 2
fi
