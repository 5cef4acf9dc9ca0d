"""Deploy from an empty account, as the deploy role, exactly as .github/workflows/deploy.yml does.

    fresh emulator (HTTPS listener: the bootstrap's state bucket denies insecure transport)
      └─ terraform/bootstrap/ applied with root credentials (an administrator's first step)
           OIDC provider, deploy role (web identity trust), state bucket
      └─ AssumeRoleWithWebIdentity with a GitHub-shaped OIDC token
           (moto cannot verify the JWT's signature offline; the emulator checks the role's trust
           conditions, aud and sub, against its claims: emulator/aws/iam/)
      └─ in a scratch checkout, with the role's credentials and the workflow's environment:
           make check-definitions; make build; make deploy AUTO_APPROVE=1;
           make run-and-wait NAME=deploy-<sha>-1 TIMEOUT=5400
           (Terraform's S3 backend in the bootstrap's state bucket, on the emulator)
      └─ the post-deploy execution SUCCEEDED

Every call of the apply and the run is authorised against the deploy role's policies
(PowerUserAccess + the bootstrap's project-scoped IAM policy): a call they do not allow fails
the apply with AccessDenied, as on AWS.

What differs from the workflow, and why (none of it touches authorisation):
- harness/terraform/deploy_role_override.tf is copied into the checkout's terraform/: path-style S3
  and no EC2 metadata lookups, which an emulator on 127.0.0.1 needs; endpoint and CA come from
  AWS_ENDPOINT_URL and AWS_CA_BUNDLE.
- The emulator's timing variables (poll intervals, tuning jobs, baking period) from
  harness/terraform/local.tfvars.json are passed as TF_VAR_*, so the run takes minutes, not an hour.
- The shared virtualenvs are linked, not built (the test proves the deploy, not `make setup`).
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from emulator.process import Emulator
from harness import terraform_local

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
REGION = "us-east-1"
REPOSITORY = "example-org/iris-mlops"
ENVIRONMENT = "production"  # deploy.yml's `environment:`, which the role's trust requires
STATE_KEY = "iris-mlops/terraform.tfstate"
GITHUB_ISSUER = "https://token.actions.githubusercontent.com"
#: Timing only (see the module docstring); read from the one file that holds them.
TIMING_VARIABLES = (
    "pipeline_poll_interval_seconds",
    "endpoint_poll_interval_seconds",
    "max_tuning_jobs",
    "parallel_tuning_jobs",
    "deployment_baking_seconds",
)
APPLY_TIMEOUT = 1200
RUN_TIMEOUT = 1800


def github_oidc_token(repository: str, environment: str) -> str:
    """The claims GitHub puts in a deploy job's token (aud as configure-aws-credentials asks
    for it), in an unsigned JWT."""
    claims = {
        "iss": GITHUB_ISSUER,
        "aud": "sts.amazonaws.com",
        "sub": f"repo:{repository}:environment:{environment}",
        "repository": repository,
        "environment": environment,
        "iat": int(time.time()),
        "exp": int(time.time()) + 600,
    }

    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    return f"{part({'alg': 'RS256', 'typ': 'JWT'})}.{part(claims)}.unsigned"


def web_identity_credentials(emulator: Emulator, role_arn: str, token: str) -> dict[str, str]:
    """What aws-actions/configure-aws-credentials does: AssumeRoleWithWebIdentity (unsigned)."""
    sts = boto3.client(
        "sts",
        region_name=REGION,
        endpoint_url=emulator.tls_endpoint_url,
        verify=str(emulator.ca_bundle),
        aws_access_key_id="unused",
        aws_secret_access_key="unused",
    )
    creds = sts.assume_role_with_web_identity(
        RoleArn=role_arn,
        RoleSessionName="deploy-1-1",
        WebIdentityToken=token,
        DurationSeconds=7200,
    )["Credentials"]
    return {
        "AWS_ACCESS_KEY_ID": creds["AccessKeyId"],
        "AWS_SECRET_ACCESS_KEY": creds["SecretAccessKey"],
        "AWS_SESSION_TOKEN": creds["SessionToken"],
    }


def scratch_checkout(dest: Path) -> Path:
    """The repository's files as CI checks them out, plus the emulator override."""
    files = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "-z"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    for name in filter(None, (f.decode() for f in files)):
        source = ROOT / name
        if name.startswith(".venv") or not source.is_file():
            continue
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
    for venv in (".venv", ".venv-xgb17"):
        if (ROOT / venv).exists():
            (dest / venv).symlink_to((ROOT / venv).resolve(), target_is_directory=True)
    # The linked virtualenvs are current: make must not rebuild them from these copies.
    for requirements in dest.glob("requirements*.txt"):
        os.utime(requirements, (0, 0))
    override = terraform_local.DEPLOY_ROLE_OVERRIDE_FILE
    shutil.copy2(override, dest / "terraform" / override.name)
    return dest


def workflow_env(
    emulator: Emulator, credentials: dict[str, str], state_bucket: str
) -> dict[str, str]:
    """deploy.yml's job environment, with the emulator as AWS."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("AWS_", "TF_VAR_")) and name not in ("TF_WORKSPACE", "MAKEFLAGS")
    }
    timing = json.loads(terraform_local.LOCAL_VARS_FILE.read_text())
    env.update(
        {
            "CI": "true",
            "PIP_DISABLE_PIP_VERSION_CHECK": "1",
            "TF_IN_AUTOMATION": "1",
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            "TF_STATE_BUCKET": state_bucket,
            "TF_STATE_KEY": STATE_KEY,
            "TF_VAR_region": REGION,
            "TF_VAR_notification_email": "",
            **{f"TF_VAR_{name}": str(timing[name]) for name in TIMING_VARIABLES},
            **credentials,
            "AWS_ENDPOINT_URL": emulator.tls_endpoint_url,
            "AWS_CA_BUNDLE": str(emulator.ca_bundle),
            "CHECKPOINT_DISABLE": "1",
        }
    )
    return env


def make(checkout: Path, env: dict[str, str], *args: str, timeout: int) -> str:
    result = subprocess.run(
        ["make", "--no-print-directory", *args],
        cwd=checkout,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    output = result.stdout + result.stderr
    if result.returncode != 0:
        denied = [
            line
            for line in output.splitlines()
            if any(mark in line for mark in ("AccessDenied", "Error", "::error::"))
        ]
        pytest.fail(
            f"make {' '.join(args)} exited {result.returncode}:\n"
            + "\n".join(denied[:20] or output.splitlines()[-40:])
        )
    return output


@pytest.fixture
def emulator(tmp_path: Path) -> Iterator[Emulator]:
    emu = Emulator.start(
        tls=True,
        pipeline_workdir=tmp_path / "pipelines",
        log_path=tmp_path / "emulator.log",
    )
    try:
        yield emu
    finally:
        emu.stop()


def test_deploy_from_an_empty_account_as_the_deploy_role(
    emulator: Emulator, tmp_path: Path
) -> None:
    bootstrap = terraform_local.apply_bootstrap(
        emulator,
        tmp_path / "bootstrap",
        {"github_repository": REPOSITORY, "deploy_environment": ENVIRONMENT, "region": REGION},
    )
    credentials = web_identity_credentials(
        emulator, bootstrap["deploy_role_arn"], github_oidc_token(REPOSITORY, ENVIRONMENT)
    )
    env = workflow_env(emulator, credentials, bootstrap["state_bucket_name"])
    checkout = scratch_checkout(tmp_path / "checkout")
    dry_run = make(checkout, env, "-n", "deploy", "AUTO_APPROVE=1", timeout=60)
    assert "pip install" not in dry_run, "make would rebuild the shared virtualenv"

    make(checkout, env, "check-definitions", timeout=300)
    make(checkout, env, "build", timeout=300)
    make(checkout, env, "deploy", "AUTO_APPROVE=1", timeout=APPLY_TIMEOUT)
    sha = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    output = make(
        checkout,
        env,
        "run-and-wait",
        f"NAME=deploy-{sha[:12]}-1",
        "TIMEOUT=5400",
        timeout=RUN_TIMEOUT,
    )
    assert "SUCCEEDED" in output, output[-3000:]

    # The main root's state lives in the bootstrap's bucket, written by the deploy role.
    root = emulator.client("s3")
    state = json.loads(
        root.get_object(Bucket=bootstrap["state_bucket_name"], Key=STATE_KEY)["Body"].read()
    )
    assert state["resources"], "the remote state holds no resources"
