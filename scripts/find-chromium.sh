#!/usr/bin/env bash
# Print the headless browser the report's browser test drives (tests/integration/
# test_report_browser.py), or nothing: $CHROMIUM, else Debian's chromium, else Google Chrome (as
# CI images ship it). Ubuntu's chromium-browser is left out: it is a wrapper that installs a snap.
set -uo pipefail

if [[ -n "${CHROMIUM:-}" ]]; then
  [[ -x "$CHROMIUM" ]] && echo "$CHROMIUM"
  exit 0
fi
for name in chromium google-chrome-stable google-chrome; do
  if path=$(command -v "$name" 2>/dev/null); then
    echo "$path"
    exit 0
  fi
done
exit 0
