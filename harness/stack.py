"""The local stack: the emulator with the real Terraform applied to it, and where each local
runtime keeps its files.

Each runtime has its own directory, emulator process and port, so they never disturb each other:

    .local/session/   make local-up (and make demo KEEP=1, which becomes that session)
    .local/demo/      make demo: wiped and rebuilt by every demo, never a session's
    .local/emulator.json   the background session's pid, port and log (make local-down)

A directory is claimed with an exclusive lock (``<dir>.lock``) while it is rebuilt and used, so
a second ``make demo`` (or ``make local-up``) refuses with one line instead of wiping it.
"""

from __future__ import annotations

import contextlib
import fcntl
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ConnectionError as BotoConnectionError
from botocore.exceptions import HTTPClientError

from contracts import execution_input, s3_layout
from emulator.process import STATE_DIR, STATE_FILE, Emulator, EmulatorError, gone_message
from harness import evidence, terraform_local
from harness.console import Console, rel

ROOT = Path(__file__).resolve().parents[1]
DEMO_DIR = STATE_DIR / "demo"
SESSION_DIR = STATE_DIR / "session"
DEFAULT_DATA = ROOT / "data" / "raw" / "iris.csv"
REGION = terraform_local.REGION
POLL_SECONDS = 0.5
#: The machines a local stack runs, by Terraform output.
MACHINE_OUTPUTS = {
    "training": "training_state_machine_arn",
    "deployment": "deployment_state_machine_arn",
}


class DemoError(RuntimeError):
    """Something went wrong before the run could start (exit code 2)."""


#: botocore's ways of saying the endpoint did not answer (refused, closed, timed out).
UNREACHABLE = (BotoConnectionError, HTTPClientError)


@dataclass(frozen=True)
class LocalDirs:
    """Where each local runtime keeps its state (see the module docstring): one place."""

    root: Path = STATE_DIR

    @property
    def session(self) -> Path:
        return self.root / SESSION_DIR.name

    @property
    def demo(self) -> Path:
        return self.root / DEMO_DIR.name

    @property
    def state_file(self) -> Path:
        return self.root / STATE_FILE.name


def workdir_for(dirs: LocalDirs, *, keep: bool, session: dict[str, Any] | None) -> Path:
    """The directory a demo may wipe: never a running session's (refuses with what to do)."""
    if not keep:
        return dirs.demo
    if session is not None:
        raise DemoError(
            f"a make local-up session is running at {session['endpoint_url']}: KEEP=1 would "
            "replace it; run make demo without KEEP=1 (it uses its own emulator) or "
            "make local-down first"
        )
    return dirs.session


@contextlib.contextmanager
def claimed(workdir: Path, what: str) -> Iterator[None]:
    """Hold ``<workdir>.lock`` exclusively, or refuse: two runtimes never share a directory."""
    workdir.parent.mkdir(parents=True, exist_ok=True)
    lock = workdir.with_name(workdir.name + ".lock")
    with lock.open("a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise DemoError(
                f"another {what} is using {rel(workdir)} (lock {rel(lock)}): "
                "wait for it to finish or stop it (Ctrl-C / make local-down)"
            ) from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@dataclass
class LocalStack:
    """The emulator with the real Terraform applied to it."""

    emulator: Emulator
    workdir: Path
    outputs: dict[str, Any]

    @property
    def endpoint_url(self) -> str:
        return self.emulator.endpoint_url

    @property
    def pipeline_workdir(self) -> Path:
        return self.workdir / "pipelines"

    def machine(self, name: str) -> str:
        """The ARN of the ``training`` or ``deployment`` state machine."""
        return str(self.outputs[MACHINE_OUTPUTS[name]])

    def client(self, service: str) -> Any:
        return boto3.client(  # type: ignore[call-overload]
            service,
            endpoint_url=self.endpoint_url,
            region_name=REGION,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            config=Config(retries={"max_attempts": 3}),
        )


@contextlib.contextmanager
def emulator_answers(stack: LocalStack) -> Iterator[None]:
    """Turn botocore's connection failures into one EmulatorError line naming the log."""
    try:
        yield
    except UNREACHABLE:
        raise stack.emulator.gone() or EmulatorError(
            gone_message(stack.endpoint_url, stack.emulator.log_path, None)
        ) from None


def start_stack(
    workdir: Path,
    variables: dict[str, Any],
    console: Console,
    *,
    detach: bool = False,
    port: int = 0,
) -> LocalStack:
    """Start the emulator (on ``port``, 0: any free one) and apply the real Terraform to it."""
    workdir.mkdir(parents=True, exist_ok=True)
    if not (ROOT / "build" / "sourcedir.tar.gz").exists():
        raise DemoError("build/ is missing: run `make build` (make demo does it for you)")
    initialised = terraform_local.init_ahead(workdir / "terraform")  # while the emulator starts
    with console.timed("Starting the AWS emulator (moto, with the local SageMaker executor)"):
        emulator = Emulator.start(
            log_path=workdir / "emulator.log",
            pipeline_workdir=workdir / "pipelines",
            detach=detach,
            port=port,
        )
    console.say(f"  emulator: {emulator.endpoint_url}  (log: {rel(workdir / 'emulator.log')})")
    try:
        with console.timed("terraform apply of terraform/ against the emulator"):
            initialised.result()
            outputs = terraform_local.apply(emulator, workdir / "terraform", variables)
    except terraform_local.TerraformError as error:
        gone = emulator.gone()  # the apply failed because the emulator died: say that, once
        emulator.stop()
        if gone is not None:
            raise gone from error
        raise
    except BaseException:
        emulator.stop()
        raise
    console.say(f"  bucket: {outputs['bucket_name']}  endpoint: {outputs['endpoint_name']}")
    return LocalStack(emulator, workdir, outputs)


def upload(stack: LocalStack, data: Path, settings: Mapping[str, Any] | None = None) -> str:
    """Upload ``data`` under the trigger's prefix with its dataset settings as metadata."""
    key = f"{s3_layout.DATA_RAW}{data.name}"
    extra = {"Metadata": execution_input.metadata_for_settings(settings or {})}
    stack.client("s3").upload_file(str(data), stack.outputs["bucket_name"], key, ExtraArgs=extra)
    return f"s3://{stack.outputs['bucket_name']}/{key}"


def executions(stack: LocalStack, machine: str) -> set[str]:
    sfn = stack.client("stepfunctions")
    runs = sfn.list_executions(stateMachineArn=stack.machine(machine))
    return {r["executionArn"] for r in runs["executions"]}


def wait_for_new_execution(
    stack: LocalStack, machine: str, known: set[str], timeout: float, what: str
) -> dict[str, Any]:
    """The execution of ``machine`` that is not in ``known`` (the one a request started)."""
    sfn = stack.client("stepfunctions")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runs = sfn.list_executions(stateMachineArn=stack.machine(machine))
        fresh = [r for r in runs["executions"] if r["executionArn"] not in known]
        if fresh:
            return dict(fresh[0])
        time.sleep(POLL_SECONDS)
    kept = evidence.keep(stack.client, stack.workdir, None)
    raise DemoError(
        f"{what} did not start a {machine} execution within {timeout:.0f} s: its queue's "
        "trigger did not fire. Its logs: " + "; ".join(evidence.lines(kept, stack.workdir))
    )
