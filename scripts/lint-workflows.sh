#!/usr/bin/env bash
# Offline checks of the GitHub Actions configuration: every workflow against GitHub's schema
# (vendored by check-jsonschema), dependabot.yml against its schema, and a zizmor security audit
# that must report zero findings (suppress one only inline, `# zizmor: ignore[rule]` + reason).
#
# usage: scripts/lint-workflows.sh [<.github dir>]   (default: this repository's .github)
# Tools come from $LINT_BIN (default .venv/bin, installed from requirements-lint.txt), else PATH.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
github_dir="${1:-$root/.github}"
bin="${LINT_BIN:-$root/.venv/bin}"

tool() {
  if [[ -x "$bin/$1" ]]; then
    echo "$bin/$1"
  elif command -v "$1" >/dev/null; then
    command -v "$1"
  else
    echo "$1 not found in $bin or on PATH: pip install -r requirements-lint.txt" >&2
    return 1
  fi
}
check_jsonschema="$(tool check-jsonschema)"
zizmor="$(tool zizmor)"

shopt -s nullglob
workflows=("$github_dir"/workflows/*.yml "$github_dir"/workflows/*.yaml)
if [[ ${#workflows[@]} -eq 0 ]]; then
  echo "no workflows in $github_dir/workflows" >&2
  exit 1
fi

"$check_jsonschema" --builtin-schema vendor.github-workflows "${workflows[@]}"
for dependabot in "$github_dir"/dependabot.yml "$github_dir"/dependabot.yaml; do
  if [[ -f "$dependabot" ]]; then
    "$check_jsonschema" --builtin-schema vendor.dependabot "$dependabot"
  fi
done
# --offline: no GitHub API calls (the online audits need a token); any finding fails the lint.
"$zizmor" --offline --no-progress "$github_dir"
