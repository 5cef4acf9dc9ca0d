#!/usr/bin/env bash
# Print the interpreter for the xgboost 1.7 virtualenv: Python 3.8 (what SageMaker's XGBoost 1.7-1
# container runs) when this machine has one, else the given fallback (default python3).
fallback="${1:-python3}"
for candidate in python3.8 "$(pyenv prefix 3.8 2>/dev/null)/bin/python"; do
  if exe=$("$candidate" -c 'import sys; print(sys.executable)' 2>/dev/null); then
    echo "$exe"
    exit 0
  fi
done
echo "$fallback"
