"""scripts/preflight.sh: what `make deploy|plan|destroy` checks before Terraform runs.

The script runs from a copy in a temporary repository layout, with a PATH of only the tools it
needs and no AWS configuration, so the checks see exactly what each case sets up. The credentials
check either fails offline before any request (no credentials) or talks to a moto server on
127.0.0.1; nothing here reaches AWS.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from moto.server import ThreadedMotoServer

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "preflight.sh"
BASH = shutil.which("bash") or "/bin/bash"
# External tools the script runs (everything else is a bash builtin).
TOOLS = ("dirname", "grep", "paste")
TIMEOUT = 60
EXIT_MISSING = 2
CI_BACKEND = {"TF_STATE_BUCKET": "state-bucket", "TF_STATE_KEY": "iris/terraform.tfstate"}

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A repository layout holding the script, an empty terraform/ and a bin/ for PATH."""
    (tmp_path / "scripts").mkdir()
    shutil.copy2(SCRIPT, tmp_path / "scripts" / "preflight.sh")
    (tmp_path / "terraform").mkdir()
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in TOOLS:
        found = shutil.which(tool)
        assert found, f"{tool} is not on PATH"
        (bin_dir / tool).symlink_to(found)
    return tmp_path


def with_terraform(repo: Path) -> None:
    """The script only asks whether `terraform` is on PATH; a stub answers that."""
    stub = repo / "bin" / "terraform"
    stub.write_text("#!/bin/sh\nexit 0\n")
    stub.chmod(0o755)


def ready(repo: Path) -> None:
    """Everything but credentials: terraform, a tfvars file and a backend file."""
    with_terraform(repo)
    (repo / "terraform" / "terraform.tfvars").write_text('region = "eu-west-1"\n')
    (repo / "terraform" / "backend.hcl").write_text('bucket = "state-bucket"\n')


def no_aws_env() -> dict[str, str]:
    """The caller's environment minus anything that could supply AWS credentials or settings."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AWS_", "TF_VAR_", "TF_STATE_", "TF_BACKEND_"))
        and key not in {"CI", "PATH", "HOME"}
    }
    env |= {
        "AWS_CONFIG_FILE": "/nonexistent/config",
        "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/credentials",
        # No instance-metadata lookup: without credentials the check fails before any request.
        "AWS_EC2_METADATA_DISABLED": "true",
        "PREFLIGHT_PYTHON": sys.executable,
    }
    return env


def run(repo: Path, action: str = "deploy", **extra: str) -> subprocess.CompletedProcess[str]:
    env = no_aws_env() | {"PATH": str(repo / "bin"), "HOME": str(repo)} | extra
    return subprocess.run(
        [BASH, str(repo / "scripts" / "preflight.sh"), action],
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )


@pytest.fixture(scope="module")
def sts_endpoint() -> Iterator[str]:
    """A moto server: any access key is a valid identity there."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


# The emulator's local user: the moto server above runs in this process, where another test
# file may have installed the emulator's extensions, which refuse keys they never issued.
FAKE_KEYS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


# ---- everything missing -------------------------------------------------------------------------


def test_nothing_configured_lists_every_missing_item_and_exits_2(repo: Path) -> None:
    result = run(repo, "plan")
    assert result.returncode == EXIT_MISSING, result.stdout + result.stderr
    errors = result.stderr
    assert "✗ terraform is not on PATH" in errors
    assert "✗ terraform/terraform.tfvars is missing" in errors
    assert (
        "✗ terraform/backend.hcl is missing and TF_STATE_BUCKET TF_STATE_KEY AWS_REGION" in errors
    )
    assert "✗ no usable AWS credentials (NoCredentialsError" in errors
    assert errors.rstrip().endswith("make plan: fix the above first.")


def test_missing_credentials_fail_offline_and_fast(repo: Path) -> None:
    ready(repo)
    result = run(repo)
    assert result.returncode == EXIT_MISSING
    assert "✓ variables: terraform/terraform.tfvars" in result.stdout
    assert "✓ backend: terraform/backend.hcl" in result.stdout
    (line,) = [line for line in result.stderr.splitlines() if line.startswith("✗")]
    assert "no usable AWS credentials (NoCredentialsError: Unable to locate credentials)" in line
    assert "aws configure" in line


def test_a_missing_python_is_reported_not_crashed_on(repo: Path) -> None:
    ready(repo)
    result = run(repo, PREFLIGHT_PYTHON=str(repo / "no-such-python"))
    assert result.returncode == EXIT_MISSING
    assert "no-such-python not found: run make setup" in result.stderr


# ---- variables: a tfvars file, TF_VAR_* or CI=true ----------------------------------------------


@pytest.mark.parametrize(
    ("tfvars_file", "env", "expected"),
    [
        pytest.param(True, {}, "✓ variables: terraform/terraform.tfvars", id="file"),
        pytest.param(
            False,
            {"TF_VAR_region": "eu-west-1", "TF_VAR_notification_email": ""},
            "✓ variables: TF_VAR_* environment (TF_VAR_notification_email TF_VAR_region)",
            id="tf-var-environment",
        ),
        pytest.param(False, {"CI": "true"}, "✓ variables: CI=true", id="ci"),
        pytest.param(
            False, {"CI": "1"}, "✗ terraform/terraform.tfvars is missing", id="ci-not-true"
        ),
        pytest.param(False, {}, "✗ terraform/terraform.tfvars is missing", id="none"),
    ],
)
def test_variables_come_from_the_file_or_the_environment(
    repo: Path, tfvars_file: bool, env: dict[str, str], expected: str
) -> None:
    with_terraform(repo)
    if tfvars_file:
        (repo / "terraform" / "terraform.tfvars").write_text("\n")
    result = run(repo, **env)
    assert expected in result.stdout + result.stderr


# ---- backend: the file, else all of TF_STATE_BUCKET, TF_STATE_KEY, AWS_REGION -------------------


def test_backend_file_wins(repo: Path) -> None:
    (repo / "terraform" / "backend.hcl").write_text("\n")
    result = run(repo)
    assert "✓ backend: terraform/backend.hcl" in result.stdout
    assert "backend" not in result.stderr


def test_backend_file_location_follows_the_makefile(repo: Path) -> None:
    (repo / "elsewhere.hcl").write_text("\n")
    result = run(repo, TF_BACKEND_FILE=str(repo / "elsewhere.hcl"))
    assert f"✓ backend: {repo / 'elsewhere.hcl'}" in result.stdout


def test_backend_from_the_environment(repo: Path) -> None:
    result = run(repo, **CI_BACKEND, AWS_REGION="eu-west-1")
    assert "✓ backend: s3://state-bucket/iris/terraform.tfstate in eu-west-1" in result.stdout
    assert "backend" not in result.stderr


def test_partial_backend_environment_names_what_is_unset(repo: Path) -> None:
    result = run(repo, TF_STATE_BUCKET="state-bucket")
    assert result.returncode == EXIT_MISSING
    assert "backend.hcl is missing and TF_STATE_KEY AWS_REGION not set" in result.stderr


# ---- credentials, against a local STS -----------------------------------------------------------


def test_ready_on_a_workstation(repo: Path, sts_endpoint: str) -> None:
    ready(repo)
    result = run(repo, "deploy", AWS_ENDPOINT_URL=sts_endpoint, **FAKE_KEYS)
    assert result.returncode == 0, result.stderr
    assert "✓ AWS credentials: arn:aws:sts::" in result.stdout
    assert result.stderr == ""


def test_ready_in_ci_without_files(repo: Path, sts_endpoint: str) -> None:
    """The deploy and plan workflows: TF_VAR_* and TF_STATE_* from repository variables."""
    with_terraform(repo)
    ci = {"CI": "true", "TF_VAR_region": "eu-west-1", "AWS_REGION": "eu-west-1", **CI_BACKEND}
    result = run(repo, "plan", AWS_ENDPOINT_URL=sts_endpoint, **FAKE_KEYS, **ci)
    assert result.returncode == 0, result.stderr
    assert "✓ backend: s3://state-bucket/" in result.stdout


def test_unreachable_sts_fails_within_the_connect_timeout(repo: Path) -> None:
    ready(repo)
    # Port 1 on loopback refuses at once; an unroutable endpoint would hit the 5 s timeout.
    result = run(repo, AWS_ENDPOINT_URL="http://127.0.0.1:1", **FAKE_KEYS)
    assert result.returncode == EXIT_MISSING
    assert "no usable AWS credentials (EndpointConnectionError" in result.stderr


# ---- through make -------------------------------------------------------------------------------


def test_make_deploy_without_credentials_stops_before_terraform(tmp_path: Path) -> None:
    """`make deploy` on this repository: the preflight stops it, nothing else runs.

    The environment has no credentials at all, so this can never reach an account even on a
    workstation with a backend.hcl and tfvars; `-o` keeps make from (re)installing the venv.
    """
    env = no_aws_env() | {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "TF_BACKEND_FILE": str(tmp_path / "backend.hcl"),
    }
    for key in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL"):
        env.pop(key, None)
    result = subprocess.run(
        ["make", "--no-print-directory", "-o", ".venv/.installed", "deploy"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert result.returncode == EXIT_MISSING
    assert "✗ no usable AWS credentials" in result.stderr
    assert "make deploy: fix the above first." in result.stderr
    assert "definitions" not in result.stdout
    assert "terraform-init" not in result.stdout + result.stderr
