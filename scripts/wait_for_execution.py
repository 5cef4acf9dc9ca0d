"""Start a Step Functions execution and wait for its outcome, with a deadline (deploy workflow).

    start_execution(name, input) ──► poll DescribeExecution every --poll-seconds
        ├─ SUCCEEDED                          ──► exit 0
        ├─ FAILED / TIMED_OUT / ABORTED       ──► exit 1 (error and cause printed)
        └─ still RUNNING at --timeout-seconds ──► exit 4 (the execution keeps running)
    the endpoint stops answering (the local emulator died) ──► exit 1, one line naming its log

The console link and the outcome go to stdout and, when set, to `$GITHUB_STEP_SUMMARY`
(Markdown), so a deploy's result is one click away from the workflow run.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import ConnectionError as BotoConnectionError
from botocore.exceptions import HTTPClientError

# The codes of the one exit-code table every operation uses (ops/errors.py, docs/operations.md;
# tests/unit/test_wait_for_execution.py holds the two equal): this script runs from its own
# directory in CI, outside the package.
EXIT_SUCCEEDED = 0
EXIT_FAILED = 1
EXIT_DEADLINE = 4
TERMINAL_STATUSES = {"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"}
DEFAULT_TIMEOUT_SECONDS = 90 * 60
DEFAULT_POLL_SECONDS = 30
# Step Functions caps error and cause at 256 and 32768 characters; a summary needs far less.
MAX_CAUSE_CHARS = 4000
#: Set by `make local-up` (as ops/cli.py reads it): where the emulator writes its log.
EMULATOR_LOG_ENV = "MLOPS_EMULATOR_LOG"


@dataclass(frozen=True)
class Outcome:
    """Where an execution ended up when we stopped watching it."""

    execution_arn: str
    status: str
    error: str = ""
    cause: str = ""
    deadline_exceeded: bool = False

    @property
    def exit_code(self) -> int:
        if self.deadline_exceeded:
            return EXIT_DEADLINE
        return EXIT_SUCCEEDED if self.status == "SUCCEEDED" else EXIT_FAILED


def region_of(arn: str) -> str:
    """`arn:aws:states:<region>:<account>:execution:...` -> `<region>`."""
    parts = arn.split(":")
    if len(parts) < 6 or parts[0] != "arn":
        raise ValueError(f"not an ARN: {arn!r}")
    return parts[3]


def console_url(execution_arn: str) -> str:
    region = region_of(execution_arn)
    return (
        f"https://{region}.console.aws.amazon.com/states/home?region={region}"
        f"#/v2/executions/details/{execution_arn}"
    )


def start_execution(sfn: Any, state_machine_arn: str, name: str, payload: str) -> str:
    """Start a named execution; the name makes a deploy traceable to its commit and attempt."""
    response = sfn.start_execution(stateMachineArn=state_machine_arn, name=name, input=payload)
    return str(response["executionArn"])


def wait_for_execution(
    sfn: Any,
    execution_arn: str,
    timeout_seconds: float,
    poll_seconds: float,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Outcome:
    """Poll until the execution is terminal or the deadline passes (never longer)."""
    deadline = clock() + timeout_seconds
    while True:
        described = sfn.describe_execution(executionArn=execution_arn)
        status = str(described["status"])
        if status in TERMINAL_STATUSES:
            return Outcome(
                execution_arn=execution_arn,
                status=status,
                error=str(described.get("error", "")),
                cause=str(described.get("cause", ""))[:MAX_CAUSE_CHARS],
            )
        remaining = deadline - clock()
        if remaining <= 0:
            return Outcome(execution_arn=execution_arn, status=status, deadline_exceeded=True)
        sleep(min(poll_seconds, remaining))


def summary_markdown(outcome: Outcome, timeout_seconds: float) -> str:
    """The step-summary block: link, status and, on failure, the error and cause."""
    lines = [
        "### Step Functions execution",
        "",
        f"- Execution: [`{outcome.execution_arn.rsplit(':', 1)[-1]}`]"
        f"({console_url(outcome.execution_arn)})",
        f"- Status: **{outcome.status}**",
    ]
    if outcome.deadline_exceeded:
        lines.append(
            f"- Still {outcome.status} after {timeout_seconds:.0f} s: the deploy job stopped "
            "waiting; the execution keeps running (follow it in the console)."
        )
    if outcome.error:
        lines.append(f"- Error: `{outcome.error}`")
    if outcome.cause:
        lines += ["- Cause:", "", "```", outcome.cause, "```"]
    return "\n".join(lines) + "\n"


def report(outcome: Outcome, timeout_seconds: float, summary_path: Path | None) -> None:
    print(f"execution: {outcome.execution_arn}")
    print(f"console:   {console_url(outcome.execution_arn)}")
    print(f"status:    {outcome.status}")
    if outcome.deadline_exceeded:
        print(f"::error::still {outcome.status} after {timeout_seconds:.0f} s", file=sys.stderr)
    if outcome.error or outcome.cause:
        # GitHub renders ::error:: lines as annotations on the run page.
        print(f"::error::{outcome.error}: {outcome.cause}".replace("\n", " "), file=sys.stderr)
    if summary_path is not None:
        with summary_path.open("a", encoding="utf-8") as handle:
            handle.write(summary_markdown(outcome, timeout_seconds))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--state-machine-arn", help="start a new execution of this state machine")
    target.add_argument("--execution-arn", help="wait for an execution that is already running")
    parser.add_argument("--name", help="execution name (required with --state-machine-arn)")
    parser.add_argument("--input", default="{}", help="execution input JSON (default: {})")
    parser.add_argument("--timeout-seconds", type=float, default=DEFAULT_TIMEOUT_SECONDS)
    parser.add_argument("--poll-seconds", type=float, default=DEFAULT_POLL_SECONDS)
    parser.add_argument(
        "--summary-file",
        type=Path,
        default=Path(os.environ["GITHUB_STEP_SUMMARY"])
        if os.environ.get("GITHUB_STEP_SUMMARY")
        else None,
        help="Markdown summary to append to (default: $GITHUB_STEP_SUMMARY when set)",
    )
    args = parser.parse_args(argv)
    if args.state_machine_arn and not args.name:
        parser.error("--name is required with --state-machine-arn")
    if args.timeout_seconds < 0 or args.poll_seconds <= 0:
        parser.error("--timeout-seconds must be >= 0 and --poll-seconds > 0")
    json.loads(args.input)  # fail before starting anything when the input is not JSON
    return args


def unreachable_line(failure: Exception, env: dict[str, str] | os._Environ[str]) -> str:
    """botocore's connection failure as one line (the same words as `make start`'s)."""
    where = getattr(failure, "kwargs", {}).get("endpoint_url") or env.get("AWS_ENDPOINT_URL") or ""
    where = where.rstrip("/") or "the AWS endpoint"
    log = env.get(EMULATOR_LOG_ENV)
    if log:
        return (
            f"error: the emulator at {where} is not answering (stopped or crashed): "
            f"its log is {log}; start a new one with make local-up"
        )
    return (
        f"error: cannot reach {where}: is the emulator running (make local-up)? "
        "is the region right?"
    )


def main(argv: list[str] | None = None, sfn: Any = None) -> int:
    args = parse_args(argv)
    try:
        return _start_and_wait(args, sfn)
    except (BotoConnectionError, HTTPClientError) as failure:
        print(unreachable_line(failure, os.environ), file=sys.stderr)
        return EXIT_FAILED


def _start_and_wait(args: argparse.Namespace, sfn: Any) -> int:
    arn = args.state_machine_arn or args.execution_arn
    if sfn is None:
        sfn = boto3.client("stepfunctions", region_name=region_of(arn))
    if args.state_machine_arn:
        execution_arn = start_execution(sfn, args.state_machine_arn, args.name, args.input)
        print(f"started:   {execution_arn}")
        print(f"console:   {console_url(execution_arn)}", flush=True)
    else:
        execution_arn = args.execution_arn
    outcome = wait_for_execution(sfn, execution_arn, args.timeout_seconds, args.poll_seconds)
    report(outcome, args.timeout_seconds, args.summary_file)
    return outcome.exit_code


if __name__ == "__main__":
    sys.exit(main())
