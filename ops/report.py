"""``make report [RUN=<execution>|PACKAGE=<arn>]``: fetch a run's HTML report to
``.local/reports/<run>/report.html``, print the path, and open it when a browser is available.

Where a report is: beside the evaluation a package's ModelMetrics names
(``evaluation/<id>/report.html``, also the ``report_uri`` of a run's outcome, for a success as
for a gate refusal), or, for a run that failed before evaluation,
``reports/training/<run>/report.html``.
"""

from __future__ import annotations

import argparse
import os
import sys
import webbrowser
from collections.abc import Callable
from pathlib import Path
from typing import Any

from contracts import s3_layout
from ops import executions
from ops.aws import exists, statistics_uri
from ops.errors import NotFoundError
from ops.outputs import ROOT
from ops.packages import describe
from ops.session import Command, Context, Result

REPORTS_DIR = ROOT / ".local" / "reports"
MACHINE = "training"


def report_of_evaluation(evaluation_uri: str) -> str:
    """``.../evaluation/<id>/evaluation.json`` -> ``.../evaluation/<id>/report.html``."""
    return evaluation_uri.rsplit("/", 1)[0] + "/" + s3_layout.REPORT_FILE


def candidates_of_run(ctx: Context) -> tuple[str, list[str]]:
    """The run's name and where its report may be, most specific first."""
    sfn = ctx.clients.sfn
    arn = executions.resolve(sfn, ctx.output("training_state_machine_arn"), ctx.args.run)
    described = executions.describe(sfn, arn)
    if described is None:
        raise NotFoundError(f"run {arn.rsplit(':', 1)[-1]} does not exist")
    name = str(described["name"])
    found = []
    if described["status"] != "RUNNING":
        uri = executions.outcome_of(sfn, described).get("report_uri")
        if uri:
            found.append(str(uri))
    bucket = ctx.output("bucket_name")
    found.append(s3_layout.s3_uri(bucket, s3_layout.failure_report_key(MACHINE, name)))
    return name, found


def candidates_of_package(ctx: Context, arn: str) -> tuple[str, list[str]]:
    package = describe(ctx.clients.sagemaker, ctx.clients.s3, arn)
    uri = statistics_uri(ctx.clients.sagemaker.describe_model_package(ModelPackageName=arn))
    if not uri:
        raise NotFoundError(f"model package {arn} names no evaluation (ModelMetrics)")
    name = package.execution or f"{arn.rsplit('/', 2)[-2]}-v{package.version}"
    return name, [report_of_evaluation(uri)]


def browser_available(env: dict[str, str] | None = None) -> bool:
    """A graphical browser can open without taking over this terminal (a Linux box without a
    display would fall back to a text browser, so it does not count)."""
    env = dict(os.environ) if env is None else env
    if sys.platform.startswith("linux"):
        return bool(env.get("DISPLAY") or env.get("WAYLAND_DISPLAY"))
    return True


def fetch(s3: Any, uri: str, target: Path) -> None:
    bucket, key = s3_layout.split_s3_uri(uri)
    target.parent.mkdir(parents=True, exist_ok=True)
    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    target.write_bytes(body)


def run(
    ctx: Context, opener: Callable[[str], bool] = webbrowser.open, env: dict[str, str] | None = None
) -> Result:
    if ctx.args.package:
        name, candidates = candidates_of_package(ctx, ctx.args.package)
    else:
        name, candidates = candidates_of_run(ctx)
    uri = next((c for c in candidates if exists(ctx.clients.s3, c)), None)
    if uri is None:
        raise NotFoundError(
            f"no report for {name} yet: looked at {', '.join(candidates)} (a run's report is "
            "written when its evaluation or its failure is)"
        )
    target = Path(ctx.args.output_dir) / name / s3_layout.REPORT_FILE
    fetch(ctx.clients.s3, uri, target)
    opened = False
    if not ctx.args.no_open and browser_available(env):
        try:
            opened = bool(opener(target.resolve().as_uri()))
        except webbrowser.Error:
            opened = False
    data = {"run": name, "report_uri": uri, "path": str(target), "opened": opened}
    text = f"report of {name}: {target}" + ("" if opened else "\n  (open it in a browser)")
    return Result(data, text)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--run", help="execution name or ARN (default: the latest run)")
    which.add_argument("--package", help="model package ARN: the report of its evaluation")
    parser.add_argument("--no-open", action="store_true", help="only fetch, never open")
    parser.add_argument("--output-dir", default=str(REPORTS_DIR), help=argparse.SUPPRESS)


COMMAND = Command(
    "report", "fetch a run's HTML report to .local/reports/ and open it", run, add_arguments
)
