#!/usr/bin/env bash
# Print the interpreter for the container images' virtualenvs: Python <version> (what SageMaker's
# XGBoost 1.7-1 and scikit-learn 1.2-1 images run: 3.9) when this machine has one, else the given
# fallback (default python3).
# Usage: scripts/find-container-python.sh <version> [fallback]
version="${1:?usage: find-container-python.sh <version> [fallback]}"
fallback="${2:-python3}"
for candidate in "python${version}" "$(pyenv prefix "${version}" 2>/dev/null)/bin/python"; do
  if exe=$("$candidate" -c 'import sys; print(sys.executable)' 2>/dev/null); then
    echo "$exe"
    exit 0
  fi
done
echo "$fallback"
