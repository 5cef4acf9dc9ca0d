"""``make demo``: the whole system on this machine, against the AWS emulator.

    start the emulator (moto + our extensions + the local SageMaker executor)
      -> terraform apply of the real terraform/ (local settings from harness/terraform/)
      -> upload the CSV to s3://<bucket>/data/raw/<its name>  (EventBridge -> Lambda -> run)
      -> follow the run live: states entered, pipeline steps, tuning trials
      -> summary, a prediction from the endpoint, an HTML report

``python -m harness.demo [--no-deploy] [--tuning-jobs N] [--keep] [--data CSV --label COLUMN]``
runs it. Without ``--data`` it trains on the seed data (data/raw/iris.csv, whose label column is
Terraform's ``label_column`` default). With it, the label column is applied as the Terraform
variable ``label_column`` (local tfvars): S3-triggered runs take their dataset settings from
Terraform's defaults, exactly as on AWS, so nothing in the upload path is special to the demo.
The prediction sends the first smoke_test row of the run's evaluation report (a row of the
file's own test split) and prints one probability per class, named by the dataset contract.

``python -m harness.demo up`` only starts the emulator in the background and applies Terraform
(``make local-up``), printing the environment to point the AWS CLI and ``make`` targets at it.
Exit code 0 when the run succeeded, 1 when it failed (the failing state, error and the logs to
read are printed), 2 for a problem before the run started or an emulator that stopped answering.
First harness/preflight.py checks the machine; a failed run keeps its history and logs in its
directory (harness/evidence.py) and prints their paths, never a command that could reach AWS.

Each runtime has its own directory, emulator process and port, so they never disturb each other:

    .local/session/   make local-up (and make demo KEEP=1, which becomes that session)
    .local/demo/      make demo: wiped and rebuilt by every demo, never a session's
    .local/emulator.json   the background session's pid, port and log (make local-down)

A directory is claimed with an exclusive lock (``<dir>.lock``) while it is rebuilt and used, so
a second ``make demo`` (or ``make local-up``) refuses with one line instead of wiping it.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import shutil
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import boto3
from botocore.config import Config
from botocore.exceptions import ConnectionError as BotoConnectionError
from botocore.exceptions import HTTPClientError

from contracts import execution_input as input_schema
from emulator.containers import interpreters as container_interpreters
from emulator.process import (
    STATE_DIR,
    STATE_FILE,
    Emulator,
    EmulatorError,
    gone_message,
    is_healthy,
    previous_port,
    read_record,
    read_state,
    write_record,
)
from emulator.server import EVENTS_FILE
from harness import evidence, preflight, run_report, terraform_local
from ops import commands

ROOT = Path(__file__).resolve().parents[1]
DEMO_DIR = STATE_DIR / "demo"
SESSION_DIR = STATE_DIR / "session"
DEFAULT_DATA = ROOT / "data" / "raw" / "iris.csv"
REGION = terraform_local.REGION
RUN_APPEAR_TIMEOUT = 60.0
RUN_TIMEOUT = 30 * 60.0
POLL_SECONDS = 0.5


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
                f"another {what} is using {_rel(workdir)} (lock {_rel(lock)}): "
                "wait for it to finish or stop it (Ctrl-C / make local-down)"
            ) from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextlib.contextmanager
def emulator_answers(stack: LocalStack) -> Iterator[None]:
    """Turn botocore's connection failures into one EmulatorError line naming the log."""
    try:
        yield
    except UNREACHABLE:
        raise stack.emulator.gone() or EmulatorError(
            gone_message(stack.endpoint_url, stack.emulator.log_path, None)
        ) from None


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

    def client(self, service: str) -> Any:
        return boto3.client(  # type: ignore[call-overload]
            service,
            endpoint_url=self.endpoint_url,
            region_name=REGION,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            config=Config(retries={"max_attempts": 3}),
        )


@dataclass
class RunResult:
    """What a demo run did, for the summary, the report and the tests."""

    execution_arn: str
    execution_name: str
    status: str
    states: list[str]
    error: str | None = None
    cause: str | None = None
    output: dict[str, Any] | None = None
    evaluation: dict[str, Any] | None = None
    trials: list[dict[str, Any]] = field(default_factory=list)
    prediction: dict[str, Any] | None = None
    report: Path | None = None
    seconds: float = 0.0
    kept: evidence.Kept | None = None

    failing_state: str | None = None


# ----------------------------------------------------------------------------- output


class Console:
    """Line-oriented progress output (works the same in a terminal, a pipe and a CI log)."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stdout

    def say(self, text: str = "") -> None:
        print(text, file=self.stream, flush=True)

    def step(self, text: str) -> None:
        self.say(f"▶ {text}")

    @contextlib.contextmanager
    def timed(self, text: str) -> Iterator[None]:
        started = time.monotonic()
        print(f"▶ {text} ...", end="", file=self.stream, flush=True)
        try:
            yield
        except BaseException:
            self.say(" failed")
            raise
        self.say(f" done ({time.monotonic() - started:.1f} s)")


def progress_bar(done: int, total: int, width: int = 20) -> str:
    total = max(total, 1)
    filled = min(width, round(width * done / total))
    return "[" + "#" * filled + "." * (width - filled) + f"] {done}/{total}"


def describe_event(event: dict[str, Any]) -> str | None:
    """One line for a local SageMaker executor event (``None``: not worth a line)."""
    kind = event.get("type")
    if kind == "step_started":
        return f"    pipeline step {event['step']} started"
    if kind == "step_finished":
        line = f"    pipeline step {event['step']}: {event['status']}"
        if event.get("seconds") is not None:
            line += f" ({float(event['seconds']):.1f} s)"
        if event.get("failure_reason"):
            line += f" - {event['failure_reason']}"
        return line
    if kind == "trial_finished":
        params = " ".join(f"{k}={_short(v)}" for k, v in sorted(event.get("params", {}).items()))
        if event.get("objective") is not None:
            outcome = f"{event.get('objective_metric', 'objective')}={event['objective']:.4f}"
        else:
            outcome = f"{event.get('status')}: {event.get('failure_reason') or 'no metric'}"
        bar = progress_bar(int(event.get("trial", 0)), int(event.get("of", 0)))
        return f"      trial {bar}  {params}  {outcome}"
    return None


def _short(value: Any) -> str:
    """Numbers (also numbers as text, as tuners pass them) with four significant digits."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    return str(int(number)) if number.is_integer() else f"{number:.4g}"


#: States a run passes through once per poll; the live view shows them once per loop.
POLL_STATES = frozenset(
    {
        "WaitForPipeline",
        "DescribePipeline",
        "CountPoll",
        "PipelineStatus",
        "WaitForEndpoint",
        "DescribeEndpoint",
        "CountEndpointPoll",
        "EndpointStatus",
    }
)


def path_summary(states: list[str]) -> str:
    """The states taken, each once, with how often the polling ones ran: ``A → B (x7) → C``."""
    counts: dict[str, int] = {}
    for state in states:
        counts[state] = counts.get(state, 0) + 1
    return " → ".join(f"{s} (x{n})" if n > 1 else s for s, n in counts.items())


# ----------------------------------------------------------------------------- stack


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
    console.say(f"  emulator: {emulator.endpoint_url}  (log: {_rel(workdir / 'emulator.log')})")
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
    console.say(
        f"  bucket: {outputs['bucket_name']}  state machine: {outputs['state_machine_arn']}"
    )
    return LocalStack(emulator, workdir, outputs)


def upload(stack: LocalStack, data: Path, key: str | None = None) -> str:
    """Upload ``data`` under the trigger's prefix (``data/raw/<its name>``)."""
    key = key or f"data/raw/{data.name}"
    s3 = stack.client("s3")
    s3.upload_file(str(data), stack.outputs["bucket_name"], key)
    return f"s3://{stack.outputs['bucket_name']}/{key}"


def wait_for_new_run(stack: LocalStack, known: set[str], timeout: float) -> dict[str, Any]:
    """The execution the upload's trigger started (any execution not in ``known``)."""
    sfn = stack.client("stepfunctions")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runs = sfn.list_executions(stateMachineArn=stack.outputs["state_machine_arn"])
        fresh = [r for r in runs["executions"] if r["executionArn"] not in known]
        if fresh:
            return dict(fresh[0])
        time.sleep(POLL_SECONDS)
    kept = evidence.keep(stack.client, stack.workdir, None)
    raise DemoError(
        f"the upload did not start a run within {timeout:.0f} s: the S3 -> EventBridge -> "
        "Lambda trigger did not fire. Its logs: " + "; ".join(evidence.lines(kept, stack.workdir))
    )


def executions(stack: LocalStack) -> set[str]:
    sfn = stack.client("stepfunctions")
    runs = sfn.list_executions(stateMachineArn=stack.outputs["state_machine_arn"])
    return {r["executionArn"] for r in runs["executions"]}


# ----------------------------------------------------------------------------- following


class EventTail:
    """New lines of the executor's events file, for one pipeline execution or all."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = path.stat().st_size if path.exists() else 0

    def read(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        with self.path.open(encoding="utf-8") as handle:
            handle.seek(self.offset)
            text = handle.read()
        complete, _, _partial = text.rpartition("\n")
        if not complete:
            return []
        self.offset += len(complete.encode("utf-8")) + 1
        return [json.loads(line) for line in complete.splitlines() if line.strip()]


def follow(
    stack: LocalStack,
    execution_arn: str,
    console: Console,
    tail: EventTail,
    *,
    timeout: float = RUN_TIMEOUT,
) -> RunResult:
    """Print each state as it is entered and the pipeline's progress until the run ends."""
    sfn = stack.client("stepfunctions")
    started = time.monotonic()
    seen = 0
    states: list[str] = []
    trials: list[dict[str, Any]] = []
    while True:
        described = sfn.describe_execution(executionArn=execution_arn)
        history = commands.history(sfn, execution_arn)
        for event in history[seen:]:
            details = event.get("stateEnteredEventDetails")
            if details:
                name = details["name"]
                if name not in POLL_STATES or name not in states:
                    console.say(f"  → {name}")
                states.append(name)
        seen = len(history)
        for event in tail.read():
            if event.get("type") == "trial_finished":
                trials.append(event)
            line = describe_event(event)
            if line:
                console.say(line)
        if described["status"] != "RUNNING":
            break
        if time.monotonic() - started > timeout:
            kept = evidence.keep(stack.client, stack.workdir, execution_arn)
            raise DemoError(
                f"the run was still RUNNING after {timeout:.0f} s: {execution_arn}. Its logs: "
                + "; ".join(evidence.lines(kept, stack.workdir))
            )
        time.sleep(POLL_SECONDS)
    output = described.get("output")
    return RunResult(
        execution_arn=execution_arn,
        execution_name=described["name"],
        status=described["status"],
        states=states,
        error=described.get("error"),
        cause=described.get("cause"),
        output=json.loads(output) if output else None,
        trials=trials,
        seconds=time.monotonic() - started,
        failing_state=commands.failed_state(history)
        if described["status"] != "SUCCEEDED"
        else None,
    )


# ----------------------------------------------------------------------------- results


def read_evaluation(stack: LocalStack, uri: str) -> dict[str, Any]:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    body = stack.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    return dict(json.loads(body))


def predict(
    stack: LocalStack, endpoint: str, evaluation: dict[str, Any], evaluation_uri: str
) -> dict[str, Any]:
    """Send the report's first smoke row (one of the file's own test rows) to the endpoint;
    the class names and the row come from the report's dataset contract, as ``make predict``'s."""
    contract = commands.contract_of(evaluation, "(this run's package)", evaluation_uri)
    row = contract.default_row
    found = commands.predict(
        stack.client("sagemaker"),
        stack.client("sagemaker-runtime"),
        endpoint,
        row,
        contract.class_names,
    )[0]
    return {
        "row": row,
        "probabilities": found.probabilities,
        "class_names": contract.class_names,
        "label": found.label,
        "label_column": contract.label_column,
    }


def complete(stack: LocalStack, result: RunResult, console: Console) -> RunResult:
    """Add the evaluation and a prediction to a run that succeeded."""
    output = result.output or {}
    if output.get("evaluation_uri"):
        result.evaluation = read_evaluation(stack, output["evaluation_uri"])
    deployment = output.get("deployment") or {}
    if deployment.get("deployed") and result.evaluation is not None:
        result.prediction = predict(
            stack, deployment["endpoint_name"], result.evaluation, output["evaluation_uri"]
        )
    return result


def print_summary(stack: LocalStack, result: RunResult, console: Console) -> None:
    console.say()
    if result.status != "SUCCEEDED":
        console.say(f"✘ Run {result.execution_name} {result.status} after {result.seconds:.0f} s")
        console.say(f"  failed in state: {result.failing_state}")
        console.say(f"  error: {result.error}")
        console.say(f"  cause: {result.cause}")
        console.say("  logs:")
        for line in evidence.lines(result.kept or evidence.Kept(), stack.workdir, _rel):
            console.say(f"    {line}")
        if result.report:
            console.say(f"  report: {_rel(result.report)}")
        return
    output = result.output or {}
    console.say(f"✔ Run {result.execution_name} SUCCEEDED in {result.seconds:.0f} s")
    console.say(f"  path: {path_summary(result.states)}")
    if output.get("label_column"):
        classes = ", ".join(output.get("class_names") or [])
        console.say(
            f"  label {output['label_column']} ({output.get('problem_type')}): classes {classes}"
        )
    if "accuracy" in output:
        f1 = commands.f1_of(result.evaluation)
        console.say(
            f"  accuracy {output['accuracy']:.4f}"
            + (f"   F1 {f1:.4f}" if f1 is not None else "")
            + f"   (threshold {output['accuracy_threshold']})"
        )
    if result.evaluation:
        params = result.evaluation.get("model", {}).get("hyperparameters", {})
        console.say(
            "  best hyperparameters: "
            + " ".join(f"{k}={_short(v)}" for k, v in sorted(params.items()))
        )
    if output.get("model_package_arn"):
        console.say(
            f"  model package: {output['model_package_arn']} ({output.get('approval_status')})"
        )
    deployment = output.get("deployment") or {}
    if deployment.get("deployed"):
        console.say(f"  endpoint: {deployment['endpoint_name']} (InService)")
    else:
        console.say(f"  endpoint: not deployed ({deployment.get('reason', 'n/a')})")
    if result.prediction:
        console.say(f"  prediction for {prediction_line(result.prediction)}")
    if result.report:
        console.say(f"  report: {_rel(result.report)}")


def prediction_line(prediction: dict[str, Any]) -> str:
    """``<row>: <label>  [name=p, ...]``: every class by the contract's name, with its
    probability, so the line reads without knowing the dataset."""
    shown = ", ".join(
        f"{name}={p:.3f}"
        for name, p in zip(prediction["class_names"], prediction["probabilities"], strict=True)
    )
    return f"{prediction['row']}: {prediction['label']}  [{shown}]"


def _rel(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


# ----------------------------------------------------------------------------- entry points


def run_once(stack: LocalStack, data: Path, console: Console) -> RunResult:
    """Upload ``data`` to the trigger prefix and follow the run it starts to the end."""
    tail = EventTail(stack.pipeline_workdir / EVENTS_FILE)
    known = executions(stack)
    uri = upload(stack, data)
    console.step(f"Uploaded {_rel(data)} to {uri}: the S3 trigger starts the run")
    started = wait_for_new_run(stack, known, RUN_APPEAR_TIMEOUT)
    console.step(f"Run {started['name']} started")
    result = follow(stack, started["executionArn"], console, tail)
    if result.status == "SUCCEEDED":
        result = complete(stack, result, console)
    else:  # written while the emulator still holds them
        result.kept = evidence.keep(stack.client, stack.workdir, result.execution_arn)
    history = commands.history(stack.client("stepfunctions"), result.execution_arn)
    result.report = run_report.write_run_report(stack.workdir, result, history)
    print_summary(stack, result, console)
    return result


def demo_variables(
    deploy: bool, tuning_jobs: int | None, label_column: str | None = None
) -> dict[str, Any]:
    """The demo's Terraform variables over harness/terraform/local.tfvars.json. ``label_column``
    becomes Terraform's default for every run (the S3 trigger passes no dataset settings)."""
    variables: dict[str, Any] = {"deploy_endpoint": deploy}
    if label_column is not None:
        variables["label_column"] = label_column
    if tuning_jobs is not None:
        variables["max_tuning_jobs"] = tuning_jobs
        variables["parallel_tuning_jobs"] = min(tuning_jobs, 2)
    return variables


def run(args: argparse.Namespace, console: Console) -> int:
    dirs = LocalDirs(args.state_dir)
    workdir = workdir_for(dirs, keep=args.keep, session=read_state(dirs.state_file))
    with claimed(workdir, "make local-up session" if args.keep else "make demo"):
        if workdir.exists():
            shutil.rmtree(workdir)  # a demo starts from nothing, like a fresh account
        stack = start_stack(
            workdir,
            demo_variables(not args.no_deploy, args.tuning_jobs, args.label),
            console,
            detach=args.keep,
        )
        kept = args.keep
        if kept:  # recorded at once: make local-up and make local-down see it during the run
            _remember(stack, dirs.state_file)
        try:
            with emulator_answers(stack):
                result = run_once(stack, args.data, console)
        except EmulatorError:
            kept = False  # nothing left to keep
            raise
        finally:
            if kept:
                console.say()
                console.say("The emulator keeps running (make local-down stops it):")
                for line in environment_lines(stack):
                    console.say(f"  {line}")
            else:
                stack.emulator.stop()
    return 0 if result.status == "SUCCEEDED" else 1


def environment_lines(stack: LocalStack) -> list[str]:
    outputs_file = stack.workdir / "outputs.json"
    outputs_file.write_text(json.dumps(stack.outputs, indent=2) + "\n")
    return [
        f"export AWS_ENDPOINT_URL={stack.endpoint_url}",
        f"export AWS_DEFAULT_REGION={REGION} AWS_ACCESS_KEY_ID=testing "
        "AWS_SECRET_ACCESS_KEY=testing",
        f"export MLOPS_TF_OUTPUTS={outputs_file.resolve()} "
        f"MLOPS_EMULATOR_LOG={(stack.workdir / 'emulator.log').resolve()}",
        "then, in that shell: make status | make models | make predict | "
        f"aws --endpoint-url {stack.endpoint_url} s3 ls s3://{stack.outputs['bucket_name']}/",
    ]


def _remember(stack: LocalStack, state_file: Path) -> None:
    """Record the detached emulator where ``python -m emulator down`` finds it."""
    write_record(state_file, stack.emulator, workdir=str(stack.workdir))


def restart_note(record: dict[str, Any] | None, port: int) -> str | None:
    """What a restart lost, in one line (``None`` on a first start)."""
    if record is None:
        return None
    old = int(record.get("port") or 0)
    where = f"same port {port}" if port and port == old else f"port {old} was taken, new port"
    return (
        f"restarting the session ({where}): the previous emulator's state (buckets, uploads, "
        "runs, models, endpoints) was in memory only and is gone; Terraform is applied again "
        "to an empty account, so upload your data again"
    )


def up(args: argparse.Namespace, console: Console) -> int:
    """``make local-up``: the emulator in the background, Terraform applied, no run."""
    dirs = LocalDirs(args.state_dir)
    running = read_state(dirs.state_file)
    if running is not None:
        health = "" if is_healthy(running["endpoint_url"]) else " but not answering"
        raise DemoError(
            f"a make local-up session is already running at {running['endpoint_url']}"
            f"{health}: use it, or make local-down first"
        )
    workdir = dirs.session
    with claimed(workdir, "make local-up session"):
        record = read_record(dirs.state_file)
        port = previous_port(record)
        note = restart_note(record, port)
        if note:
            console.step(note)
        if workdir.exists():
            shutil.rmtree(workdir)
        stack = start_stack(
            workdir, demo_variables(True, args.tuning_jobs), console, detach=True, port=port
        )
        _remember(stack, dirs.state_file)
    console.say()
    console.say(
        "The emulator runs in the background (make local-down stops it). Point tools at it:"
    )
    for line in environment_lines(stack):
        console.say(f"  {line}")
    return 0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m harness.demo",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("command", nargs="?", choices=["run", "up"], default="run")
    parser.add_argument(
        "--no-deploy", action="store_true", help="register the model but do not deploy an endpoint"
    )
    parser.add_argument(
        "--tuning-jobs",
        type=_positive,
        default=None,
        help="tuning trials (default: harness/terraform/local.tfvars.json)",
    )
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep the emulator running afterwards (make local-down stops it)",
    )
    parser.add_argument(
        "--data",
        type=Path,
        default=None,
        help="a local CSV to train on (default: the seed data, data/raw/iris.csv); needs --label",
    )
    parser.add_argument(
        "--label",
        default=None,
        help="the label column of --data (becomes Terraform's label_column for the demo)",
    )
    parser.add_argument("--state-dir", type=Path, default=STATE_DIR, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def check_data(args: argparse.Namespace) -> None:
    """The demo's preconditions on DATA and LABEL, each refused with what to do."""
    if args.command == "up" and (args.data is not None or args.label is not None):
        raise DemoError(
            "make local-up takes no DATA or LABEL: upload the file to the session's "
            "s3://<bucket>/data/raw/ and start runs with make start "
            "(make start OPS_ARGS='--set label_column=\"<column>\"')"
        )
    if args.data is None:
        if args.label is not None:
            raise DemoError(
                f"LABEL={args.label} names a column of DATA, but no DATA was given: pass "
                "DATA=<path to a local .csv> too (make demo with neither runs the seed data)"
            )
        args.data = DEFAULT_DATA
        return
    if not args.data.is_file():
        raise DemoError(f"DATA={args.data}: no such file")
    if args.data.suffix.lower() != ".csv":
        raise DemoError(
            f"DATA={args.data} is not a .csv file: the S3 trigger starts runs only for .csv "
            "uploads under data/raw/ (rename or convert it)"
        )
    if not args.label:
        raise DemoError(
            f"DATA={args.data} needs LABEL=<its label column>: the one dataset setting "
            "(docs/own-data.md)"
        )
    problems = input_schema.problems({"label_column": args.label}, bucket="-")
    if problems:
        raise DemoError(f"LABEL: {'; '.join(problems)}")


def check_machine() -> None:
    """terraform, Python and every container interpreter, before the emulator starts."""
    problems = preflight.missing(interpreters=container_interpreters.interpreters())
    if problems:
        raise DemoError("\n✘ ".join(problem.line() for problem in problems))


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be >= 1")
    return value


def main(argv: list[str] | None = None, console: Console | None = None) -> int:
    args = parse_args(argv)
    console = console or Console()
    commands: dict[str, Callable[[argparse.Namespace, Console], int]] = {"run": run, "up": up}
    try:
        check_data(args)
        check_machine()
        return commands[args.command](args, console)
    except (DemoError, EmulatorError, terraform_local.TerraformError) as error:
        console.say()
        console.say(f"✘ {error}")
        return 2
    except KeyboardInterrupt:
        console.say("\ninterrupted: the emulator was stopped")
        return 130


if __name__ == "__main__":
    sys.exit(main())
