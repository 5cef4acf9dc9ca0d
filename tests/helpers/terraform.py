"""The Terraform binary for the tests that run it (offline: validate, plan, templatefile)."""

from __future__ import annotations

import shutil

import pytest


def terraform_binary() -> str:
    """The ``terraform`` on PATH; the test fails (never skips) when there is none."""
    binary = shutil.which("terraform")
    if binary is None:
        pytest.fail("terraform is not on PATH; install Terraform >= 1.10 to run these checks.")
    return binary
