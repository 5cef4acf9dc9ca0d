"""``make models``: the Model Registry's versions with approval, accuracy, F1, and which serves."""

from __future__ import annotations

import argparse

from ops import packages, render
from ops.session import Command, Context, Result, positive


def run(ctx: Context) -> Result:
    group = ctx.output("model_package_group_name")
    endpoint = ctx.output("endpoint_name")
    listed = packages.summaries(ctx.clients.sagemaker, group)[: ctx.args.limit]
    found = [
        packages.describe(ctx.clients.sagemaker, ctx.clients.s3, s["ModelPackageArn"])
        for s in listed
    ]
    serving = packages.serving(ctx.clients.sagemaker, endpoint)
    data = {
        "group": group,
        "serving": serving,
        "packages": [{**p.as_dict(), "serving": p.arn == serving} for p in found],
    }
    if not found:
        return Result(data, f"Model package group {group} has no packages yet: run make train.")
    text = render.table(
        (
            "VERSION",
            "APPROVAL",
            "ACCURACY",
            "F1",
            "PROBLEM",
            "CREATED (UTC)",
            "SERVES",
            "EXECUTION",
        ),
        (
            (
                p.version,
                p.approval,
                render.fmt(p.accuracy),
                render.fmt(p.f1),
                p.problem_type,
                render.timestamp(p.created),
                endpoint if p.arn == serving else "",
                p.execution,
            )
            for p in found
        ),
    )
    return Result(data, text)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--limit", type=positive, default=20)


COMMAND = Command(
    "models",
    "Model Registry versions: approval, accuracy, F1, which one serves",
    run,
    add_arguments,
)
