#!/usr/bin/env bash
# Initialise a Terraform root, offline when a local provider mirror is available.
#
# usage: scripts/terraform-init.sh <dir> [extra `terraform init` arguments...]
#
# Provider source:
#   TF_PLUGIN_DIR=<dir>  use this filesystem mirror (layout <host>/<namespace>/<type>/...);
#                        otherwise the first of Terraform's implied local mirror directories that
#                        holds hashicorp/aws is used; otherwise the registry (normal init).
# Backend:
#   TF_INIT_BACKEND=false  skip the backend (offline checks: fmt/validate/checkov). Default when
#                          initialising from a mirror.
#   TF_INIT_BACKEND=true   configure the backend; pass -backend-config=... as extra arguments.
#                          Default when initialising from the registry.
set -euo pipefail

if [[ $# -lt 1 || ! -d "$1" ]]; then
  echo "usage: $0 <terraform dir> [terraform init args...]" >&2
  exit 2
fi
root_dir="$1"
shift

has_aws_provider() {
  [[ -d "$1/registry.terraform.io/hashicorp/aws" ]]
}

find_mirror() {
  if [[ -n "${TF_PLUGIN_DIR:-}" ]]; then
    if ! has_aws_provider "$TF_PLUGIN_DIR"; then
      echo "TF_PLUGIN_DIR=$TF_PLUGIN_DIR has no registry.terraform.io/hashicorp/aws" >&2
      return 1
    fi
    echo "$TF_PLUGIN_DIR"
    return 0
  fi
  # Terraform's implied local mirror directories (CLI configuration docs, Linux/macOS).
  local candidates=(
    "$HOME/.terraform.d/plugins"
    "$HOME/.local/share/terraform/plugins"
    "/usr/local/share/terraform/plugins"
    "/usr/share/terraform/plugins"
  )
  local data_dirs="${XDG_DATA_DIRS:-}"
  local entry
  IFS=':' read -r -a xdg_dirs <<<"$data_dirs"
  for entry in "${xdg_dirs[@]}"; do
    [[ -n "$entry" ]] && candidates+=("$entry/terraform/plugins")
  done
  for entry in "${candidates[@]}"; do
    if has_aws_provider "$entry"; then
      echo "$entry"
      return 0
    fi
  done
  return 0
}

mirror="$(find_mirror)"
init_args=(-input=false -no-color)
if [[ -n "$mirror" ]]; then
  backend="${TF_INIT_BACKEND:-false}"
  init_args+=("-plugin-dir=$mirror")
  echo "terraform-init: providers from $mirror (offline), backend=$backend" >&2
else
  backend="${TF_INIT_BACKEND:-true}"
  echo "terraform-init: providers from the registry, backend=$backend" >&2
fi
case "$backend" in
  true | false) init_args+=("-backend=$backend") ;;
  *)
    echo "TF_INIT_BACKEND must be true or false, got '$backend'" >&2
    exit 2
    ;;
esac

exec terraform -chdir="$root_dir" init "${init_args[@]}" "$@"
