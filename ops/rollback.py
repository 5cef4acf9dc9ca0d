"""``make rollback [WAIT=1]``: redeploy the previously serving approved package.

The previous package is the newest one the endpoint's deployment history records as deployed,
other than the one serving now. The command sends a ``rollback`` request to the deployments
queue: the deployment takes the same guarded path as any (blue/green with the rollback alarms,
the smoke test), and governance holds (only a package still Approved is deployed).
"""

from __future__ import annotations

import argparse
from typing import Any

from contracts import deployment as requests
from contracts.notifications import package_version
from ops import deployments, follow, packages
from ops.errors import ConfigError, NotFoundError
from ops.packages import APPROVED
from ops.session import Command, Context, Result


def run(ctx: Context) -> Result:
    sagemaker = ctx.clients.sagemaker
    endpoint = ctx.output("endpoint_name")
    records = deployments.history(ctx.clients.s3, ctx.output("bucket_name"), endpoint)
    serving = packages.serving(sagemaker, endpoint)
    target = deployments.previous_target(records, serving)
    if target is None:
        now = f"it serves {serving}" if serving else "it serves no model package"
        raise NotFoundError(
            f"nothing to roll back to: the deployment history of endpoint {endpoint} names no "
            f"other package that was deployed successfully ({now}). Approve a version to deploy "
            "it (make approve PACKAGE=...)."
        )
    package = packages.describe(sagemaker, ctx.clients.s3, target.model_package_arn)
    if package.approval != APPROVED:
        raise ConfigError(
            f"the previous package {target.model_package_arn} (version "
            f"{target.model_package_version}, deployed {target.started}) is {package.approval} "
            "now: only an Approved package is deployed. Approve it first (make approve "
            "PACKAGE=...)."
        )
    described = sagemaker.describe_model_package(ModelPackageName=target.model_package_arn)
    sent = deployments.send_request(
        ctx.clients.sqs, ctx.outputs, described, requests.ROLLBACK, ctx.target.caller
    )
    data: dict[str, Any] = {
        "target": target.as_dict(),
        "serving": serving,
        "deployment_execution": {"name": sent.execution_name, "arn": sent.execution_arn},
    }
    text = (
        f"rolling back to model package {package_version(target.model_package_arn)} "
        f"({target.model_package_arn}), deployed {target.started[:19].replace('T', ' ')} UTC "
        f"by {target.execution}\n  serving now: {serving or 'no model package'}\n"
        f"queued {sent.execution_name}: the same guarded path as an approval (blue/green, "
        "rollback alarms, smoke test)"
    )
    return follow.then_follow(
        ctx, data, text, sent.execution_arn, "deployment", "the deployments before it"
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    follow.add_wait_arguments(parser, "deployment")


COMMAND = Command(
    "rollback",
    "redeploy the previously serving approved package (the guarded deployment path)",
    run,
    add_arguments,
)
