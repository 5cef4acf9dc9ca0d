"""Terraform outputs: where the CLI learns resource names, and which region they live in.

Sources, first match wins: ``--outputs FILE``, ``$MLOPS_TF_OUTPUTS``, else
``terraform -chdir=<dir> output -json`` (``<repo>/terraform`` unless ``--terraform-dir``).
A file may hold ``terraform output -json`` (``{"name": {"value": ...}}``) or plain values
(``{"name": ...}``, what ``python -m harness.terraform_local`` prints).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ops.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]
TERRAFORM_DIR = ROOT / "terraform"
OUTPUTS_ENV = "MLOPS_TF_OUTPUTS"
TERRAFORM_TIMEOUT = 120.0
NOT_FOUND = "Terraform outputs not found: run `make deploy` first, or pass --outputs"

Runner = Callable[..., "subprocess.CompletedProcess[str]"]


def parse_outputs(text: str, source: str) -> dict[str, Any]:
    """Output name -> value, from either JSON shape; an empty object means no state."""
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as err:
        raise ConfigError(f"{source} is not JSON ({err.msg} at line {err.lineno})") from err
    if not isinstance(raw, dict):
        raise ConfigError(f"{source} must hold a JSON object of Terraform outputs")
    if not raw:
        raise ConfigError(f"{NOT_FOUND} ({source} has no outputs)")
    return {
        name: item["value"] if isinstance(item, dict) and "value" in item else item
        for name, item in raw.items()
    }


def terraform_reason(text: str) -> str:
    """The ``Error:`` line of Terraform's output (warnings and boxes around it are noise)."""
    lines = [line.strip(" \u2502\u2577\u2575") for line in text.splitlines()]
    lines = [line for line in lines if line]
    errors = [line.removeprefix("Error: ") for line in lines if line.startswith("Error:")]
    return (errors or lines[-1:] or ["terraform output failed"])[0]


def load_outputs(
    path: str | None,
    env: Mapping[str, str],
    terraform_dir: Path = TERRAFORM_DIR,
    runner: Runner = subprocess.run,
) -> dict[str, Any]:
    """The outputs from ``path``, ``$MLOPS_TF_OUTPUTS`` or ``terraform output -json``."""
    chosen = path or env.get(OUTPUTS_ENV)
    if chosen:
        file = Path(chosen)
        if not file.is_file():
            raise ConfigError(f"{NOT_FOUND} ({file} does not exist)")
        return parse_outputs(file.read_text(encoding="utf-8"), str(file))
    if shutil.which("terraform") is None:
        raise ConfigError(f"{NOT_FOUND} (terraform is not installed)")
    try:
        result = runner(
            ["terraform", f"-chdir={terraform_dir}", "output", "-json", "-no-color"],
            capture_output=True,
            text=True,
            check=False,
            timeout=TERRAFORM_TIMEOUT,
        )
    except subprocess.TimeoutExpired as err:
        raise ConfigError(f"terraform output took over {TERRAFORM_TIMEOUT:.0f} s") from err
    if result.returncode != 0:
        raise ConfigError(f"{NOT_FOUND} ({terraform_reason(result.stderr or result.stdout)})")
    return parse_outputs(result.stdout or "{}", f"terraform output in {terraform_dir}")


def require(outputs: Mapping[str, Any], name: str) -> str:
    """One output as a non-empty string, or a message naming what is missing."""
    value = outputs.get(name)
    if not isinstance(value, str) or not value:
        raise ConfigError(
            f"Terraform output `{name}` is missing: re-run `make deploy` (or fix --outputs)"
        )
    return value


def region_from_arn(arn: str | None) -> str | None:
    """``arn:aws:states:eu-west-1:...`` -> ``eu-west-1``."""
    parts = (arn or "").split(":")
    return parts[3] if len(parts) > 4 and parts[0] == "arn" and parts[3] else None


def resolve_region(
    explicit: str | None, env: Mapping[str, str], outputs: Mapping[str, Any]
) -> str | None:
    """``--region``, then ``AWS_REGION``, ``AWS_DEFAULT_REGION``, then the outputs' ``stack_region``
    (or the region in one of their ARNs)."""
    for candidate in (explicit, env.get("AWS_REGION"), env.get("AWS_DEFAULT_REGION")):
        if candidate:
            return candidate
    if isinstance(outputs.get("stack_region"), str) and outputs["stack_region"]:
        return str(outputs["stack_region"])
    for name in ("training_state_machine_arn", "notification_topic_arn"):
        region = region_from_arn(outputs.get(name))
        if region:
            return region
    return None
