"""Apply the real ``terraform/`` to the local emulator, without touching ``terraform/``.

    workdir/terraform/       copy of terraform/*.tf + harness/terraform/local_override.tf
    workdir/{ml,statemachines} -> symlinks to the repo's (the module reads ../ml, ../statemachines)
    terraform init (offline mirror via scripts/terraform-init.sh, local backend)
    terraform apply -var-file=harness/terraform/local.tfvars.json -var build_dir=<repo>/build ...
    with AWS_ENDPOINT_URL=<emulator> and fake credentials in the environment

The local settings live in ``harness/terraform/``: ``local_override.tf`` (provider ``skip_*``
settings, path-style S3, local backend: Terraform merges ``*_override.tf`` over the module) and
``local.tfvars.json`` (the demo's variable values). ``make build`` must have run first.

``apply_bootstrap()`` does the same for ``terraform/bootstrap/`` (``bootstrap_override.tf``):
the OIDC provider, the CI roles and the state bucket, applied with the emulator's root
credentials as an administrator applies it on AWS. ``deploy_role_override.tf`` is for applying
``terraform/`` as the deploy role through the Makefile (the e2e test copies it).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

ROOT = Path(__file__).resolve().parents[1]
TERRAFORM_DIR = ROOT / "terraform"
LOCAL_TF_DIR = ROOT / "harness" / "terraform"
OVERRIDE_FILE = LOCAL_TF_DIR / "local_override.tf"
BOOTSTRAP_DIR = TERRAFORM_DIR / "bootstrap"
BOOTSTRAP_OVERRIDE_FILE = LOCAL_TF_DIR / "bootstrap_override.tf"
#: The roles terraform/ creates, read by the bootstrap's deploy-role policy (one list).
ROLE_LIST_FILE = TERRAFORM_DIR / "iam_roles.json"
DEPLOY_ROLE_OVERRIDE_FILE = LOCAL_TF_DIR / "deploy_role_override.tf"
LOCAL_VARS_FILE = LOCAL_TF_DIR / "local.tfvars.json"
INIT_SCRIPT = ROOT / "scripts" / "terraform-init.sh"
MIRROR_SCRIPT = ROOT / "scripts" / "find-provider-mirror.sh"
BUILD_DIR = ROOT / "build"
#: Folders the module reads through ``${path.module}/../<name>``: the scripts' code bundles
#: (ml/, and the contracts/ modules a bundle lists), the ASL and the seed data.
SIBLINGS = ("ml", "contracts", "statemachines", "data")
REGION = "us-east-1"
TIMEOUT = 600.0


class HasEndpoint(Protocol):
    @property
    def endpoint_url(self) -> str: ...


class TerraformError(RuntimeError):
    """A terraform command failed; the message carries its output."""


@dataclass
class Workspace:
    """A prepared working copy of ``terraform/`` for one emulator."""

    root: Path
    endpoint_url: str

    @property
    def module_dir(self) -> Path:
        return self.root / "terraform"


def terraform_env(endpoint_url: str, base: dict[str, str] | None = None) -> dict[str, str]:
    """The environment that points the aws provider (and the AWS CLI) at the emulator."""
    env = dict(os.environ if base is None else base)
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_CONFIG_FILE", "TF_WORKSPACE"):
        env.pop(name, None)
    env.update(
        {
            "AWS_ENDPOINT_URL": endpoint_url,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            "TF_IN_AUTOMATION": "1",
            "TF_INPUT": "0",
            "CHECKPOINT_DISABLE": "1",
        }
    )
    if not env.get("TF_PLUGIN_DIR"):
        mirror = subprocess.run(
            [str(MIRROR_SCRIPT)], capture_output=True, text=True, check=False
        ).stdout.strip()
        if mirror:
            env["TF_PLUGIN_DIR"] = mirror
    return env


def var_args(variables: dict[str, Any]) -> list[str]:
    """``-var name=value`` arguments; non-strings as JSON (Terraform parses HCL/JSON values)."""
    args: list[str] = []
    for name, value in sorted(variables.items()):
        text = value if isinstance(value, str) else json.dumps(value)
        args += ["-var", f"{name}={text}"]
    return args


def prepare(
    workdir: Path,
    endpoint_url: str,
    *,
    source_dir: Path = TERRAFORM_DIR,
    override: Path = OVERRIDE_FILE,
    siblings: tuple[str, ...] = SIBLINGS,
) -> Workspace:
    """Copy the module and the local override into ``workdir`` (kept across calls: state)."""
    module_dir = workdir / "terraform"
    module_dir.mkdir(parents=True, exist_ok=True)
    for stale in module_dir.glob("*.tf"):
        stale.unlink()  # a file removed from terraform/ must not linger in the copy
    for source in source_dir.glob("*.tf"):
        shutil.copy2(source, module_dir / source.name)
    # The root's local modules (source = "./modules/<name>"), copied afresh like the files.
    shutil.rmtree(module_dir / "modules", ignore_errors=True)
    if (source_dir / "modules").is_dir():
        shutil.copytree(source_dir / "modules", module_dir / "modules")
    shutil.copy2(override, module_dir / override.name)
    lock = source_dir / ".terraform.lock.hcl"
    if lock.exists():
        shutil.copy2(lock, module_dir / lock.name)
    for name in siblings:
        link = workdir / name
        if not link.exists():
            link.symlink_to(ROOT / name, target_is_directory=True)
    return Workspace(workdir, endpoint_url)


def _run(
    args: list[str], ws: Workspace, *, ok_codes: tuple[int, ...] = (0,)
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        args,
        cwd=ws.root,
        env=terraform_env(ws.endpoint_url),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    if result.returncode not in ok_codes:
        raise TerraformError(
            f"{' '.join(args[:3])} exited {result.returncode}\n{result.stdout}\n{result.stderr}"
        )
    return result


def init(ws: Workspace) -> None:
    if (ws.module_dir / ".terraform" / "terraform.tfstate").exists():
        return
    # Offline from the provider mirror when there is one; the override's local backend needs
    # the backend initialised.
    env_backend = ["env", "TF_INIT_BACKEND=true"]
    _run([*env_backend, str(INIT_SCRIPT), str(ws.module_dir)], ws)


def init_ahead(workdir: Path) -> Future[None]:
    """``terraform init`` of the working copy in a thread, while the emulator starts: init needs
    no endpoint (the override's backend is local; providers come from the mirror or the
    registry). ``apply`` then finds the copy initialised; ``result()`` raises its TerraformError."""
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="terraform-init")
    future = executor.submit(lambda: init(prepare(Path(workdir), endpoint_url="")))
    executor.shutdown(wait=False)
    return future


def _plan_args(variables: dict[str, Any]) -> list[str]:
    merged = {"build_dir": str(BUILD_DIR), **variables}
    return ["-input=false", "-no-color", f"-var-file={LOCAL_VARS_FILE}", *var_args(merged)]


def outputs(ws: Workspace) -> dict[str, Any]:
    result = _run(["terraform", f"-chdir={ws.module_dir}", "output", "-json"], ws)
    return {name: item["value"] for name, item in json.loads(result.stdout).items()}


def apply(
    emulator: HasEndpoint, workdir: Path, variables: dict[str, Any] | None = None
) -> dict[str, Any]:
    """``terraform apply`` the real module to the emulator; returns the outputs' values."""
    ws = prepare(Path(workdir), emulator.endpoint_url)
    init(ws)
    result = _run(
        [
            "terraform",
            f"-chdir={ws.module_dir}",
            "apply",
            "-auto-approve",
            *_plan_args(variables or {}),
        ],
        ws,
    )
    (ws.root / "apply.log").write_text(result.stdout)  # per-resource timings, for debugging
    return outputs(ws)


def destroy(emulator: HasEndpoint, workdir: Path, variables: dict[str, Any] | None = None) -> None:
    """``terraform destroy`` of what ``apply`` created from ``workdir`` (the last step of
    ``make destroy``, on the emulator); TerraformError with its output when it fails."""
    ws = prepare(Path(workdir), emulator.endpoint_url)
    init(ws)
    result = _run(
        [
            "terraform",
            f"-chdir={ws.module_dir}",
            "destroy",
            "-auto-approve",
            *_plan_args(variables or {}),
        ],
        ws,
    )
    (ws.root / "destroy.log").write_text(result.stdout)


def apply_bootstrap(
    emulator: HasEndpoint,
    workdir: Path,
    variables: dict[str, Any],
    *,
    source_dir: Path = BOOTSTRAP_DIR,
) -> dict[str, Any]:
    """``terraform apply`` ``terraform/bootstrap/`` to the emulator (root credentials, local
    state in ``workdir``); returns its outputs. ``variables`` must name ``github_repository``."""
    ws = prepare(
        Path(workdir),
        emulator.endpoint_url,
        source_dir=source_dir,
        override=BOOTSTRAP_OVERRIDE_FILE,
        siblings=(),
    )
    # The bootstrap reads the main root's role list as ``${path.module}/../iam_roles.json``.
    shutil.copy2(ROLE_LIST_FILE, ws.root / ROLE_LIST_FILE.name)
    if not (ws.module_dir / ".terraform").exists():
        _run(["env", "TF_INIT_BACKEND=true", str(INIT_SCRIPT), str(ws.module_dir)], ws)
    result = _run(
        [
            "terraform",
            f"-chdir={ws.module_dir}",
            "apply",
            "-auto-approve",
            "-input=false",
            "-no-color",
            *var_args(variables),
        ],
        ws,
    )
    (ws.root / "apply.log").write_text(result.stdout)
    return outputs(ws)


def plan_is_clean(
    emulator: HasEndpoint, workdir: Path, variables: dict[str, Any] | None = None
) -> bool:
    """Whether a plan after ``apply`` shows no changes (``-detailed-exitcode`` 0, not 2)."""
    ws = prepare(Path(workdir), emulator.endpoint_url)
    init(ws)
    result = _run(
        [
            "terraform",
            f"-chdir={ws.module_dir}",
            "plan",
            "-detailed-exitcode",
            *_plan_args(variables or {}),
        ],
        ws,
        ok_codes=(0, 2),
    )
    return result.returncode == 0


def plan_changes(
    emulator: HasEndpoint, workdir: Path, variables: dict[str, Any] | None = None
) -> str:
    """The plan's text (for a failing ``plan_is_clean`` assertion message)."""
    ws = prepare(Path(workdir), emulator.endpoint_url)
    result = _run(
        ["terraform", f"-chdir={ws.module_dir}", "plan", *_plan_args(variables or {})], ws
    )
    return result.stdout


def main() -> int:
    """``python -m harness.terraform_local``: apply to the background emulator (``local-up``)."""
    from emulator.process import read_state

    state = read_state()
    if state is None:
        raise SystemExit("no emulator running: python -m emulator up")

    @dataclass
    class _Running:
        endpoint_url: str

    workdir = ROOT / ".local" / "terraform"
    print(json.dumps(apply(_Running(state["endpoint_url"]), workdir), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())


__all__ = [
    "TerraformError",
    "apply",
    "apply_bootstrap",
    "destroy",
    "init_ahead",
    "plan_changes",
    "plan_is_clean",
    "prepare",
    "terraform_env",
]
