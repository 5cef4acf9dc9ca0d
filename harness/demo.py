"""``make demo``: the whole system on this machine, against the AWS emulator.

    start the emulator (moto + our extensions + the local SageMaker executor)
      -> terraform apply of the real terraform/ (local settings from harness/terraform/)
      -> upload the CSV to s3://<bucket>/data/raw/<its name>, its label as the upload's metadata
         (EventBridge -> the uploads queue -> the training machine)
      -> follow the training run live: states entered, pipeline steps, tuning trials
      -> an Approved package's approval event -> the deployments queue -> follow the deployment
      -> summary, a prediction from the endpoint, an HTML report per run

``python -m harness.demo [--no-deploy] [--tuning-jobs N] [--keep] [--data CSV --label COLUMN]``
runs it. Without ``--data`` it trains on the seed data (data/raw/iris.csv, whose label column is
Terraform's ``label_column`` default). With it, the upload carries ``--label`` as its
``label-column`` metadata, exactly as ``make train`` uploads on AWS: nothing in the upload path is
special to the demo. ``--no-deploy`` makes runs register without deploying (``deploy=false``): the
package is approved, and its approval deploys nothing.

``python -m harness.demo up`` only starts the emulator in the background and applies Terraform
(``make local-up``), printing the environment to point the AWS CLI and ``make`` targets at it.
Exit code 0 when the run (and its deployment) succeeded, 1 when one failed (the failing state,
error and the logs to read are printed), 2 for a problem before the run started or an emulator
that stopped answering. First harness/preflight.py checks the machine; a failed run keeps its
history and logs in its directory (harness/evidence.py) and prints their paths, never a command
that could reach AWS. Where each runtime keeps its files: harness/stack.py.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from contracts import execution_input as input_schema
from emulator.containers import interpreters as container_interpreters
from emulator.process import (
    STATE_DIR,
    EmulatorError,
    is_healthy,
    previous_port,
    read_record,
    read_state,
    write_record,
)
from emulator.server import EVENTS_FILE
from harness import evidence, preflight, run_report, terraform_local
from harness.console import Console, rel
from harness.follow import EventTail, RunResult, follow
from harness.stack import (
    DEFAULT_DATA,
    REGION,
    DemoError,
    LocalDirs,
    LocalStack,
    claimed,
    emulator_answers,
    executions,
    start_stack,
    upload,
    wait_for_new_execution,
    workdir_for,
)
from harness.summary import predict, print_summary, read_evaluation

RUN_APPEAR_TIMEOUT = 60.0


def follow_deployment(
    stack: LocalStack, result: RunResult, known: set[str], console: Console
) -> None:
    """An Approved package's approval starts a deployment (or a skip, with deploy=false)."""
    outcome = (result.output or {}).get("outcome") or {}
    if outcome.get("approval_status") != "Approved":
        return
    arn = str(outcome.get("model_package_arn"))
    console.say()
    started = wait_for_new_execution(
        stack, "deployment", known, RUN_APPEAR_TIMEOUT, f"the approval of {arn}"
    )
    version = arn.rsplit("/", 1)[-1]
    console.step(f"Deployment {started['name']} started: model package version {version} approved")
    deployment = follow(stack, started["executionArn"], console)
    result.deployment = deployment
    if deployment.status != "SUCCEEDED":
        deployment.kept = evidence.keep(stack.client, stack.workdir, deployment.execution_arn)
        return
    finished = (deployment.output or {}).get("outcome") or {}
    if finished.get("status") == "SUCCEEDED" and result.evaluation is not None:
        endpoint = str((finished.get("deployment") or {}).get("endpoint_name"))
        result.prediction = predict(stack, endpoint, result.evaluation)


def run_once(
    stack: LocalStack, data: Path, console: Console, settings: dict[str, Any] | None = None
) -> RunResult:
    """Upload ``data`` (its dataset ``settings`` as metadata), follow the run it starts and the
    deployment its approval starts, to the end."""
    tail = EventTail(stack.pipeline_workdir / EVENTS_FILE)
    known_runs = executions(stack, "training")
    known_deployments = executions(stack, "deployment")
    uri = upload(stack, data, settings)
    console.step(f"Uploaded {rel(data)} to {uri}: the S3 trigger starts the run")
    started = wait_for_new_execution(
        stack, "training", known_runs, RUN_APPEAR_TIMEOUT, f"the upload of {uri}"
    )
    console.step(f"Run {started['name']} started")
    result = follow(stack, started["executionArn"], console, tail)
    read_evaluation(stack, result)
    if result.status == "SUCCEEDED":
        follow_deployment(stack, result, known_deployments, console)
    else:  # written while the emulator still holds them
        result.kept = evidence.keep(stack.client, stack.workdir, result.execution_arn)
    result.report = run_report.write_run_report(stack.workdir, result)
    print_summary(stack, result, console)
    return result


def succeeded(result: RunResult) -> bool:
    return result.status == "SUCCEEDED" and (
        result.deployment is None or result.deployment.status == "SUCCEEDED"
    )


def demo_variables(deploy: bool, tuning_jobs: int | None) -> dict[str, Any]:
    """The demo's Terraform variables over harness/terraform/local.tfvars.json."""
    variables: dict[str, Any] = {"deploy_endpoint": deploy}
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
            demo_variables(not args.no_deploy, args.tuning_jobs),
            console,
            detach=args.keep,
        )
        kept = args.keep
        if kept:  # recorded at once: make local-up and make local-down see it during the run
            _remember(stack, dirs.state_file)
        try:
            with emulator_answers(stack):
                settings = {"label_column": args.label} if args.label else None
                result = run_once(stack, args.data, console, settings)
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
    return 0 if succeeded(result) else 1


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
        help="the label column of --data (the upload carries it as its label-column metadata)",
    )
    parser.add_argument("--state-dir", type=Path, default=STATE_DIR, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def check_data(args: argparse.Namespace) -> None:
    """The demo's preconditions on DATA and LABEL, each refused with what to do."""
    if args.command == "up" and (args.data is not None or args.label is not None):
        raise DemoError(
            "make local-up takes no DATA or LABEL: with the session's environment set, "
            "make train DATA=<csv> LABEL=<column> uploads it and starts the run"
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
