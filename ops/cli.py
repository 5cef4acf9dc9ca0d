"""``python -m ops [global options] COMMAND [options]``: parsing, clients, what is printed where,
and the exit code (``ops.errors.Exit``, one table for every command).

Global options (``--outputs``, ``--terraform-dir``, ``--region``, ``--endpoint-url``, ``--json``)
are accepted before or after the command. Every command first prints, on stderr, the account,
region and endpoint it targets; ``--json`` prints one JSON object on stdout (progress, questions
and errors go to stderr). A known failure is one line on stderr; Ctrl-C is one line and exit 130.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO

from botocore.exceptions import (
    ClientError,
    HTTPClientError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
)
from botocore.exceptions import ConnectionError as BotoConnectionError

from ops import (
    approval,
    destroy,
    endpoint,
    logs,
    models,
    monitoring,
    predict,
    report,
    rollback,
    status,
    training,
)
from ops.errors import EMULATOR_LOG_ENV, ConfigError, EndpointUnreachable, Exit, OpsError
from ops.outputs import TERRAFORM_DIR, load_outputs, resolve_region
from ops.session import Clients, Command, Context, identify

COMMANDS: tuple[Command, ...] = (
    training.TRAIN,
    training.START,
    status.COMMAND,
    logs.COMMAND,
    models.COMMAND,
    approval.APPROVE,
    approval.REJECT,
    rollback.COMMAND,
    predict.COMMAND,
    report.COMMAND,
    monitoring.TRAFFIC,
    monitoring.MONITOR,
    endpoint.COMMAND,
    destroy.COMMAND,
)
NO_CREDENTIALS = (
    "No AWS credentials found: configure a profile (aws configure / AWS_PROFILE) "
    "or run against the local emulator (make local-up)"
)
NO_REGION = "No AWS region: pass --region or set AWS_REGION"
CREDENTIAL_CODES = frozenset(
    {"ExpiredToken", "ExpiredTokenException", "InvalidClientTokenId", "UnrecognizedClientException"}
)
INTERRUPTED = "interrupted: what was already started goes on (make status shows it)"


def add_global_options(parser: argparse.ArgumentParser, *, after: bool) -> None:
    """The options every command takes. After the command they default to SUPPRESS, so one
    given there overrides the same one given before it, and one not given changes nothing."""

    def default(value: Any) -> Any:
        return argparse.SUPPRESS if after else value

    parser.add_argument(
        "--outputs",
        default=default(None),
        help="Terraform outputs JSON file (env MLOPS_TF_OUTPUTS)",
    )
    parser.add_argument(
        "--terraform-dir",
        type=Path,
        default=default(TERRAFORM_DIR),
        help="where to run terraform output (and destroy)",
    )
    parser.add_argument(
        "--region", default=default(None), help="AWS region (default: AWS_REGION, then the outputs)"
    )
    parser.add_argument(
        "--endpoint-url",
        default=default(None),
        help="AWS endpoint, e.g. the local emulator (env AWS_ENDPOINT_URL)",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        default=default(False),
        help="print the result as one JSON object on stdout",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m ops", description="Operations of the training and deployment stack."
    )
    add_global_options(parser, after=False)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        child = sub.add_parser(command.name, help=command.help, description=command.help)
        add_global_options(child, after=True)
        command.add_arguments(child)
        child.set_defaults(handler=command)
    return parser


def describe_client_error(err: ClientError) -> tuple[str, int]:
    error = err.response.get("Error", {})
    code = error.get("Code", "?")
    operation = getattr(err, "operation_name", "?")
    if code in CREDENTIAL_CODES:
        return (
            f"AWS rejected the credentials ({code}): refresh them (aws sso login / aws configure)"
            " or run against the local emulator (make local-up)",
            Exit.USAGE,
        )
    return f"AWS error in {operation}: {code}: {error.get('Message', '')}".rstrip(": "), Exit.FAILED


def unreachable(failure: Exception, env: Mapping[str, str]) -> EndpointUnreachable:
    """botocore's connection failure as one named error, with the emulator's log if known."""
    kwargs = getattr(failure, "kwargs", {})
    endpoint_url = kwargs.get("endpoint_url") or env.get("AWS_ENDPOINT_URL")
    return EndpointUnreachable(
        endpoint_url and endpoint_url.rstrip("/"), env.get(EMULATOR_LOG_ENV) or None
    )


def context(
    args: argparse.Namespace,
    env: Mapping[str, str],
    streams: dict[str, TextIO],
    now: Callable[[], dt.datetime],
) -> Context:
    """Outputs, region, clients and target: everything a command runs with (may raise)."""
    outputs = load_outputs(args.outputs, env, args.terraform_dir)
    region = resolve_region(args.region, env, outputs)
    if region is None:
        raise ConfigError(NO_REGION)
    clients = Clients(region, args.endpoint_url or env.get("AWS_ENDPOINT_URL") or None)
    target = identify(clients)
    print(target.line(), file=streams["err"], flush=True)
    return Context(
        args=args,
        outputs=outputs,
        clients=clients,
        target=target,
        now=now,
        progress=streams["err"] if args.json else streams["out"],
        ask=streams["err"],
        stdin=streams["in"],
    )


def execute(
    args: argparse.Namespace,
    env: Mapping[str, str],
    streams: dict[str, TextIO],
    now: Callable[[], dt.datetime],
) -> tuple[Any, str, int]:
    """(data, text, exit code) of the command, every known failure as one line."""
    try:
        try:
            ctx = context(args, env, streams, now)
            result = args.handler.run(ctx)
        except (BotoConnectionError, HTTPClientError) as failure:
            raise unreachable(failure, env) from failure
    except OpsError as failure:
        return None, f"error: {failure}", failure.exit_code
    except (NoCredentialsError, PartialCredentialsError):
        return None, f"error: {NO_CREDENTIALS}", Exit.USAGE
    except NoRegionError:
        return None, f"error: {NO_REGION}", Exit.USAGE
    except ClientError as failure:
        message, code = describe_client_error(failure)
        return None, f"error: {message}", code
    return result.data, result.text, result.code


def main(
    argv: Sequence[str] | None = None,
    env: Mapping[str, str] | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
    stdin: TextIO | None = None,
    now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
) -> int:
    streams = {"out": out or sys.stdout, "err": err or sys.stderr, "in": stdin or sys.stdin}
    args = build_parser().parse_args(argv)
    try:
        data, text, code = execute(args, os.environ if env is None else env, streams, now)
    except KeyboardInterrupt:
        data, text, code = None, INTERRUPTED, Exit.INTERRUPTED
    failed = data is None and code != Exit.OK
    if failed:
        print(text, file=streams["err"])
    if args.json:
        document = {"command": args.command, "exit_code": int(code)}
        document.update({"error": text} if failed else {"result": data})
        print(json.dumps(document, indent=2, default=str), file=streams["out"])
    elif not failed:
        print(text, file=streams["out"])
    return int(code)
