#!/usr/bin/env bash
# Print the first Terraform provider filesystem mirror on this machine that holds hashicorp/aws
# (the directory that contains registry.terraform.io/), or nothing.
#
# Order: $TF_PLUGIN_DIR, Terraform's implied local mirror directories, then a shallow search of
# the usual places an image keeps offline tools (/opt, /usr/local, /usr/share). With nothing
# found, terraform init uses the registry as usual.
set -uo pipefail

has_aws() { [[ -d "$1/registry.terraform.io/hashicorp/aws" ]]; }

if [[ -n "${TF_PLUGIN_DIR:-}" ]]; then
  has_aws "$TF_PLUGIN_DIR" && echo "$TF_PLUGIN_DIR"
  exit 0
fi
candidates=("$HOME/.terraform.d/plugins" "$HOME/.local/share/terraform/plugins"
            /usr/local/share/terraform/plugins /usr/share/terraform/plugins)
IFS=':' read -r -a xdg <<<"${XDG_DATA_DIRS:-}"
for dir in "${xdg[@]}"; do [[ -n "$dir" ]] && candidates+=("$dir/terraform/plugins"); done
for dir in "${candidates[@]}"; do
  if has_aws "$dir"; then echo "$dir"; exit 0; fi
done
found=$(find /opt /usr/local /usr/share -maxdepth 5 -type d -path '*/registry.terraform.io/hashicorp/aws' \
  -print -quit 2>/dev/null)
[[ -n "$found" ]] && dirname "$(dirname "$(dirname "$found")")"
exit 0
