"""``make traffic ROWS=n [SHIFT=<feature>=<factor>]`` and ``make monitor``: try the drift loop.

Traffic is drawn from the serving package's **test split**: the rows its evaluation scored, held
out from training, written by PrepareData to ``pipelines/<id>/prepare/test/test.csv`` (``<id>``:
the evaluation folder the package's ModelMetrics names). The evaluation's ``smoke_test`` rows are
a handful (one per class), far too few to look like traffic, and the baseline keeps per-feature
samples, not rows, so sending them would break the features' joint distribution. The split
expires with ``pipelines/`` (Terraform's ``expiring_data_days``): after that the command says so.

``make monitor`` starts the monitoring machine now, with the same input as its schedule.
"""

from __future__ import annotations

import argparse
import datetime as dt
import secrets
from typing import Any

from botocore.exceptions import ClientError

from contracts import s3_layout
from ops import executions, follow, traffic
from ops.aws import is_not_found
from ops.errors import NotFoundError
from ops.predict import invoke
from ops.serving import serving_contract
from ops.session import Command, Context, Result

#: The monitoring machine's input: what its schedule sends (the machine finds the endpoint).
MONITOR_INPUT: dict[str, Any] = {}


def test_split(s3: Any, evaluation_uri: str) -> tuple[str, str]:
    """The text of the test split beside ``evaluation_uri``'s run, and its URI."""
    bucket, _ = s3_layout.split_s3_uri(evaluation_uri)
    key = s3_layout.split_key(s3_layout.pipeline_execution_id(evaluation_uri), "test")
    uri = s3_layout.s3_uri(bucket, key)
    try:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except ClientError as err:
        if is_not_found(err):
            raise NotFoundError(
                f"the serving model's test split {uri} is gone: pipelines/ expires after "
                "Terraform's expiring_data_days. Train again (make train) for fresh traffic"
            ) from err
        raise
    return body.decode("utf-8"), uri


def run_traffic(ctx: Context) -> Result:
    endpoint = ctx.output("endpoint_name")
    contract = serving_contract(ctx.clients.sagemaker, ctx.clients.s3, endpoint)
    text, uri = test_split(ctx.clients.s3, contract.evaluation_uri)
    bodies = traffic.traffic(text, contract.feature_columns, ctx.args.rows, ctx.args.shift or "")
    sent = 0
    for body in bodies:
        invoke(ctx.clients.runtime, endpoint, body)
        sent += body.count("\n")
    shift = traffic.parse_shift(ctx.args.shift or "", contract.feature_columns)
    what = f"{shift.feature} x {shift.factor:g}" if shift else "unshifted"
    data = {
        "endpoint": endpoint,
        "test_split": uri,
        "rows": sent,
        "requests": len(bodies),
        "shift": {"feature": shift.feature, "factor": shift.factor} if shift else None,
    }
    return Result(
        data,
        f"sent {sent} rows of {uri} ({what}) to {endpoint} in {len(bodies)} requests: the "
        "endpoint's data capture records them for make monitor",
    )


def run_monitor(ctx: Context) -> Result:
    machine = ctx.output("monitoring_state_machine_arn")
    stamp = ctx.now().astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    name = f"monitor-now-{stamp}-{secrets.token_hex(2)}"
    arn = executions.start_execution(ctx.clients.sfn, machine, name, MONITOR_INPUT)
    data: dict[str, Any] = {"execution": name, "arn": arn}
    return follow.then_follow(ctx, data, f"started monitoring run {name}", arn, "run", "")


def add_traffic_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rows", required=True, help="rows to send (1..1000000)")
    parser.add_argument("--shift", default="", help=traffic.SHIFT_FORMAT)


def add_monitor_arguments(parser: argparse.ArgumentParser) -> None:
    follow.add_wait_arguments(parser, "monitoring run")


TRAFFIC = Command(
    "traffic",
    "send rows of the serving model's test split to the endpoint (SHIFT multiplies a feature)",
    run_traffic,
    add_traffic_arguments,
)
MONITOR = Command("monitor", "run the drift monitor now", run_monitor, add_monitor_arguments)
