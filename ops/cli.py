"""``python -m ops <command>``: argument parsing, client creation, messages and exit codes.

Exit codes: 0 ok, 1 AWS/operation failure, 2 usage or configuration problem. Every known
failure (no credentials, no outputs, no endpoint, AWS errors, an endpoint or emulator that stopped
answering) is one clear line on stderr.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, TextIO

import boto3
from botocore.exceptions import (
    ClientError,
    HTTPClientError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
)
from botocore.exceptions import ConnectionError as BotoConnectionError

from ops import commands, render
from ops.errors import (
    EMULATOR_LOG_ENV,
    ConfigError,
    EndpointUnreachable,
    OperationError,
    OpsError,
)
from ops.outputs import TERRAFORM_DIR, load_outputs, require, resolve_region

NO_CREDENTIALS = (
    "No AWS credentials found: configure a profile (aws configure / AWS_PROFILE) "
    "or run against the local emulator (make local-up)"
)
CREDENTIAL_CODES = frozenset(
    {"ExpiredToken", "ExpiredTokenException", "InvalidClientTokenId", "UnrecognizedClientException"}
)
DEFAULT_WAIT_SECONDS = 3600.0


class Clients:
    """boto3 clients of one session, each created on first use and then reused."""

    def __init__(self, region: str, endpoint_url: str | None) -> None:
        self._session = boto3.Session(region_name=region)
        self._endpoint_url = endpoint_url

    def _client(self, name: str) -> Any:
        return self._session.client(name, endpoint_url=self._endpoint_url)  # type: ignore[call-overload]

    @cached_property
    def sfn(self) -> Any:
        return self._client("stepfunctions")

    @cached_property
    def sagemaker(self) -> Any:
        return self._client("sagemaker")

    @cached_property
    def runtime(self) -> Any:
        return self._client("sagemaker-runtime")

    @cached_property
    def s3(self) -> Any:
        return self._client("s3")

    @cached_property
    def logs(self) -> Any:
        return self._client("logs")

    @cached_property
    def sqs(self) -> Any:
        return self._client("sqs")


@dataclass
class Context:
    args: argparse.Namespace
    outputs: Mapping[str, Any]
    clients: Clients
    now: Callable[[], dt.datetime]
    #: Prints a line now, before a long wait (the result is printed when the handler returns).
    emit: Callable[[str], None] = print


Handler = Callable[[Context], tuple[str, int]]


# ----------------------------------------------------------------------------- handlers


def cmd_start(ctx: Context) -> tuple[str, int]:
    arn = require(ctx.outputs, "state_machine_arn")
    payload = commands.execution_input(ctx.args.data, ctx.args.deploy, dict(ctx.args.set or []))
    name = commands.execution_name(ctx.now())
    commands.check_execution_input(payload, require(ctx.outputs, "bucket_name"), name)
    execution_arn = commands.start_execution(ctx.clients.sfn, arn, name, payload)
    text = (
        f"started {name}\n  input: {payload or '{} (Terraform defaults)'}\n  arn:   {execution_arn}"
    )
    if not ctx.args.wait:
        return text + "\nfollow it with `make status` / `make logs`", 0
    # The name first: if the wait fails (deadline, emulator gone, Ctrl-C) the user still has it.
    ctx.emit(f"{text}\nwaiting up to {ctx.args.timeout:.0f} s for it to end ...")
    described = commands.wait_for_execution(ctx.clients.sfn, execution_arn, ctx.args.timeout)
    return render.summary(described), 0 if described["status"] == "SUCCEEDED" else 1


def cmd_status(ctx: Context) -> tuple[str, int]:
    arn = require(ctx.outputs, "state_machine_arn")
    found = commands.latest_executions(ctx.clients.sfn, arn, ctx.args.limit)
    depths = commands.queue_depths(ctx.clients.sqs, ctx.outputs)
    parts = [render.executions(found), render.queues(depths)]
    endpoint, bucket = ctx.outputs.get("endpoint_name"), ctx.outputs.get("bucket_name")
    if endpoint and bucket:
        records = commands.deployment_history(ctx.clients.s3, str(bucket), str(endpoint))
        parts.append(render.deployments(records, str(endpoint), ctx.args.limit))
    return "\n\n".join(parts), 0


def cmd_rollback(ctx: Context) -> tuple[str, int]:
    for name in ("state_machine_arn", "bucket_name", "endpoint_name"):
        require(ctx.outputs, name)
    clients = ctx.clients
    result = commands.rollback(clients.sfn, clients.sagemaker, clients.s3, ctx.outputs, ctx.now())
    text = render.rollback(result)
    if not ctx.args.wait:
        return text + "\nfollow it with `make status`", 0
    ctx.emit(f"{text}\nwaiting up to {ctx.args.timeout:.0f} s for it to end ...")
    described = commands.wait_for_execution(clients.sfn, result.execution_arn, ctx.args.timeout)
    return render.summary(described), 0 if described["status"] == "SUCCEEDED" else 1


def cmd_logs(ctx: Context) -> tuple[str, int]:
    arn = require(ctx.outputs, "state_machine_arn")
    sfn = ctx.clients.sfn
    parts = []
    execution_arn = commands.resolve_execution(sfn, arn, ctx.args.execution)
    if execution_arn is None:
        parts.append("No executions yet: start one with `make start`.")
    else:
        try:
            events = commands.history(sfn, execution_arn)
        except ClientError as err:
            if err.response.get("Error", {}).get("Code") == "ExecutionDoesNotExist":
                raise OperationError(f"execution {execution_arn} does not exist") from err
            raise
        parts.append(f"== history of {execution_arn.rsplit(':', 1)[-1]}")
        parts.append(render.timeline(events))
    since = ctx.now() - dt.timedelta(minutes=ctx.args.since)
    groups = [
        commands.log_group_of_state_machine(sfn, arn),
        commands.log_group_of_function(ctx.outputs.get("trigger_function_arn")),
    ]
    for group in filter(None, groups):
        events_or_none = commands.recent_log_events(ctx.clients.logs, group, since, ctx.args.limit)
        parts.append(render.log_events(group, events_or_none))
    return "\n\n".join(parts), 0


def cmd_models(ctx: Context) -> tuple[str, int]:
    group = require(ctx.outputs, "model_package_group_name")
    found = commands.list_models(ctx.clients.sagemaker, ctx.clients.s3, group, ctx.args.limit)
    return render.models(found, group), 0


def cmd_approve(ctx: Context) -> tuple[str, int]:
    group = require(ctx.outputs, "model_package_group_name")
    result = commands.approve(ctx.clients.sagemaker, group, ctx.args.package, ctx.args.description)
    return render.approval(result), 0


def cmd_predict(ctx: Context) -> tuple[str, int]:
    endpoint = require(ctx.outputs, "endpoint_name")
    sagemaker = ctx.clients.sagemaker
    if commands.endpoint_status(sagemaker, endpoint) is None:
        raise commands.missing_endpoint(endpoint)
    # The served package's evaluation report names the features, the classes and a sample row.
    contract = commands.serving_contract(sagemaker, ctx.clients.s3, endpoint)
    row = ctx.args.row if ctx.args.row is not None else contract.default_row
    body = commands.parse_row(row, contract.feature_columns)
    found = commands.predict(sagemaker, ctx.clients.runtime, endpoint, body, contract.class_names)
    return (
        f"endpoint {endpoint}, label {contract.label_column}, row {body}\n"
        f"{render.predictions(found)}",
        0,
    )


def cmd_endpoint_down(ctx: Context) -> tuple[str, int]:
    endpoint = require(ctx.outputs, "endpoint_name")
    return render.teardown(commands.endpoint_down(ctx.clients.sagemaker, endpoint), endpoint), 0


# ----------------------------------------------------------------------------- parsing


def _arg(check: Callable[[str], Any]) -> Callable[[str], Any]:
    """An argparse ``type`` from a validator raising ConfigError (argparse then exits 2)."""

    def convert(text: str) -> Any:
        try:
            return check(text)
        except ConfigError as err:
            raise argparse.ArgumentTypeError(str(err)) from err

    return convert


def _data_uri(text: str) -> str:
    commands.execution_input(text, deploy=False)
    return text


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise ConfigError(f"expected a positive integer, got {text!r}")
    return int(text)


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--outputs", help="Terraform outputs JSON file (env MLOPS_TF_OUTPUTS)")
    common.add_argument(
        "--terraform-dir", type=Path, default=TERRAFORM_DIR, help="where to run terraform output"
    )
    common.add_argument("--region", help="AWS region (default: AWS_REGION, then the outputs)")
    common.add_argument("--endpoint-url", help="AWS endpoint, e.g. the local emulator")

    parser = argparse.ArgumentParser(
        prog="python -m ops", description="Day-2 operations of the training stack."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, handler: Handler, help_text: str) -> argparse.ArgumentParser:
        command = sub.add_parser(name, parents=[common], help=help_text, description=help_text)
        command.set_defaults(handler=handler)
        return command

    start = add("start", cmd_start, "start a training execution")
    start.add_argument("--data", type=_arg(_data_uri), help="s3:// URI of the training CSV")
    start.add_argument("--deploy", action="store_true", help="ask the run to deploy")
    start.add_argument(
        "--set",
        action="append",
        type=_arg(commands.parse_setting),
        metavar="KEY=VALUE",
        help="another execution input key (JSON value), e.g. max_tuning_jobs=4; repeatable",
    )
    start.add_argument("--wait", action="store_true", help="wait and print the result")
    start.add_argument("--timeout", type=float, default=DEFAULT_WAIT_SECONDS, help="seconds")

    status = add("status", cmd_status, "latest executions; failed ones with error and cause")
    status.add_argument("--limit", type=_arg(_positive), default=10)

    logs = add("logs", cmd_logs, "execution history timeline and recent CloudWatch logs")
    logs.add_argument("--execution", help="execution name or ARN (default: the latest)")
    logs.add_argument("--since", type=_arg(_positive), default=60, help="minutes of logs")
    logs.add_argument("--limit", type=_arg(_positive), default=50, help="log events per group")

    models = add("models", cmd_models, "Model Registry packages with approval and metrics")
    models.add_argument("--limit", type=_arg(_positive), default=20)

    approve = add("approve", cmd_approve, "approve the latest (or a given) model package")
    approve.add_argument("--package", help="model package ARN (default: the newest)")
    approve.add_argument("--description", default="Approved with `make approve`.")

    predict = add(
        "predict",
        cmd_predict,
        "send one CSV row to the endpoint; print each class's probability",
    )
    predict.add_argument(
        "--row",
        default=None,
        help="comma-separated feature values in the order of the served model's contract "
        "(default: the first smoke_test row of its evaluation report)",
    )

    add("endpoint-down", cmd_endpoint_down, "delete the endpoint, its config and model")

    rollback = add(
        "rollback",
        cmd_rollback,
        "redeploy the previously serving approved package (the guarded deployment path)",
    )
    rollback.add_argument("--wait", action="store_true", help="wait and print the result")
    rollback.add_argument("--timeout", type=float, default=DEFAULT_WAIT_SECONDS, help="seconds")
    return parser


# ----------------------------------------------------------------------------- main


def describe_client_error(err: ClientError) -> tuple[str, int]:
    error = err.response.get("Error", {})
    code = error.get("Code", "?")
    operation = getattr(err, "operation_name", "?")
    if code in CREDENTIAL_CODES:
        return (
            f"AWS rejected the credentials ({code}): refresh them (aws sso login / aws configure)"
            " or run against the local emulator (make local-up)",
            2,
        )
    return f"AWS error in {operation}: {code}: {error.get('Message', '')}".rstrip(": "), 1


def _say(line: str, out: TextIO) -> None:
    print(line, file=out, flush=True)


def unreachable(failure: Exception, env: Mapping[str, str]) -> EndpointUnreachable:
    """botocore's connection failure as one named error, with the emulator's log if known."""
    kwargs = getattr(failure, "kwargs", {})
    endpoint = kwargs.get("endpoint_url") or env.get("AWS_ENDPOINT_URL")
    return EndpointUnreachable(endpoint and endpoint.rstrip("/"), env.get(EMULATOR_LOG_ENV) or None)


def main(
    argv: Sequence[str] | None = None,
    env: Mapping[str, str] | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
    now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
) -> int:
    env = os.environ if env is None else env
    out = sys.stdout if out is None else out
    err = sys.stderr if err is None else err
    args = build_parser().parse_args(argv)
    try:
        outputs = load_outputs(args.outputs, env, args.terraform_dir)
        region = resolve_region(args.region, env, outputs)
        if region is None:
            raise ConfigError("No AWS region: pass --region or set AWS_REGION")
        clients = Clients(region, args.endpoint_url or env.get("AWS_ENDPOINT_URL"))
        context = Context(args, outputs, clients, now, emit=lambda line: _say(line, out))
        try:
            text, code = args.handler(context)
        except (BotoConnectionError, HTTPClientError) as failure:
            raise unreachable(failure, env) from failure
    except OpsError as failure:
        print(f"error: {failure}", file=err)
        return failure.exit_code
    except (NoCredentialsError, PartialCredentialsError):
        print(f"error: {NO_CREDENTIALS}", file=err)
        return 2
    except NoRegionError:
        print("error: No AWS region: pass --region or set AWS_REGION", file=err)
        return 2
    except ClientError as failure:
        message, code = describe_client_error(failure)
        print(f"error: {message}", file=err)
        return code
    print(text, file=out)
    return code
