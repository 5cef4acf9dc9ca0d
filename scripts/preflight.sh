#!/usr/bin/env bash
# Check what `make deploy|plan|destroy` needs before Terraform runs, and say what is missing.
set -uo pipefail
cd "$(dirname "$0")/.."
action="${1:-deploy}"
problems=0

if ! command -v terraform >/dev/null; then
  echo "✗ terraform is not on PATH: install Terraform >= 1.10 (https://developer.hashicorp.com/terraform/install)." >&2
  problems=1
fi
if [[ ! -f terraform/terraform.tfvars ]]; then
  echo "✗ terraform/terraform.tfvars is missing: cp terraform/terraform.tfvars.example terraform/terraform.tfvars and edit it." >&2
  problems=1
fi
if [[ ! -f terraform/backend.hcl ]]; then
  echo "✗ terraform/backend.hcl is missing: it names the remote state bucket made by terraform/bootstrap (see README, 'Deploy to AWS')." >&2
  problems=1
fi
if ! .venv/bin/python - <<'PY' 2>/dev/null; then
import boto3
boto3.client("sts").get_caller_identity()
PY
  echo "✗ no usable AWS credentials: configure a profile (aws configure, AWS_PROFILE) or export AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY." >&2
  problems=1
fi
if [[ $problems -ne 0 ]]; then
  echo "make $action: fix the above first." >&2
  exit 2
fi
