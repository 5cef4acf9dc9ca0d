"""``make approve`` and ``make reject``: a package's fate, decided with its metrics beside the
serving model's.

Approve shows the candidate's accuracy, F1 and API fingerprint beside the serving package's, and
asks before it acts (``YES=1`` does not ask):

- a package waiting for approval (or rejected before) becomes Approved: the registry's event
  reaches the deployments queue and deploys it;
- an Approved package that does not serve gets a ``manual`` deployment request on the queue;
- a package whose API (features, their order, the classes) differs from the serving model's is
  refused unless ``ACCEPT_API_CHANGE=1``, which records the acceptance in the approval
  description the deployment checks (``contracts.deployment.API_CHANGE_ACCEPTED``).

``latest`` is the newest package waiting for approval: never a rejected one.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Any

from contracts import deployment as requests
from contracts.notifications import package_version
from ops import deployments, follow, packages, render
from ops.errors import ConfigError
from ops.packages import APPROVED, REJECTED, Package
from ops.session import Command, Context, Result

LATEST = "latest"


@dataclass
class Comparison:
    candidate: Package
    serving: Package | None

    @property
    def api_matches(self) -> bool | None:
        """Whether the candidate answers the endpoint's clients as the serving model does
        (None: nothing serves, or a fingerprint is unknown)."""
        if self.serving is None:
            return None
        if not self.candidate.api_fingerprint or not self.serving.api_fingerprint:
            return None
        return self.candidate.api_fingerprint == self.serving.api_fingerprint

    def text(self) -> str:
        c, s = self.candidate, self.serving
        header = f"model package {package_version(c.arn)} ({c.arn}): {c.approval}"
        rows = [
            ("accuracy", render.fmt(c.accuracy), render.fmt(s.accuracy) if s else None),
            ("F1", render.fmt(c.f1), render.fmt(s.f1) if s else None),
            (
                "API fingerprint",
                (c.api_fingerprint or "?")[:12],
                (s.api_fingerprint or "?")[:12] if s else None,
            ),
        ]
        serving = f"SERVING {package_version(s.arn)}" if s else "SERVING (nothing)"
        verdict = {
            True: "the API matches the serving model's",
            False: "the API DIFFERS from the serving model's (features, order or classes)",
            None: "no serving model to compare the API with"
            if s is None
            else "API unknown for one of the two",
        }[self.api_matches]
        return "\n".join([header, render.table(("", "CANDIDATE", serving), rows), verdict])

    def as_dict(self) -> dict[str, Any]:
        return {
            "candidate": self.candidate.as_dict(),
            "serving": self.serving.as_dict() if self.serving else None,
            "api_matches": self.api_matches,
        }


def compare(ctx: Context, arn: str) -> Comparison:
    sagemaker, s3 = ctx.clients.sagemaker, ctx.clients.s3
    candidate = packages.describe(sagemaker, s3, arn)
    serving_arn = packages.serving(sagemaker, ctx.output("endpoint_name"))
    serving = packages.describe(sagemaker, s3, serving_arn) if serving_arn else None
    return Comparison(candidate, serving)


def chosen(ctx: Context) -> str:
    wanted = ctx.args.package or LATEST
    if wanted == LATEST:
        return packages.latest_pending(
            ctx.clients.sagemaker, ctx.output("model_package_group_name")
        )
    return str(wanted)


def approval_description(text: str, accept_api_change: bool) -> str:
    return f"{requests.API_CHANGE_ACCEPTED} {text}" if accept_api_change else text


def check_api(comparison: Comparison, accept_api_change: bool) -> None:
    if comparison.api_matches is False and not accept_api_change:
        raise ConfigError(
            f"model package {package_version(comparison.candidate.arn)} changes the endpoint's "
            "API (its features, their order or its classes differ from the serving model's): "
            "clients sending today's rows would get wrong answers. Approve it knowingly with "
            "ACCEPT_API_CHANGE=1 (make approve PACKAGE=... ACCEPT_API_CHANGE=1)"
        )


def approve(ctx: Context) -> Result:
    comparison = compare(ctx, chosen(ctx))
    candidate = comparison.candidate
    ctx.say(comparison.text())
    accept = bool(ctx.args.accept_api_change)
    check_api(comparison, accept)
    serving = comparison.serving is not None and comparison.serving.arn == candidate.arn
    data: dict[str, Any] = {"comparison": comparison.as_dict()}
    if candidate.approval == APPROVED and serving:
        data["action"] = "none"
        return Result(
            data, f"{package_version(candidate.arn)} is Approved and serves: nothing to do"
        )
    endpoint = ctx.output("endpoint_name")
    ctx.confirm(
        f"Approve model package {package_version(candidate.arn)} and deploy it to {endpoint}?"
    )
    description = approval_description(
        ctx.args.description or f"Approved with make approve by {ctx.target.caller}", accept
    )
    sagemaker = ctx.clients.sagemaker
    if candidate.approval != APPROVED:
        sagemaker.update_model_package(
            ModelPackageArn=candidate.arn,
            ModelApprovalStatus=APPROVED,
            ApprovalDescription=description,
        )
        described = sagemaker.describe_model_package(ModelPackageName=candidate.arn)
        name, arn = deployments.approval_execution(ctx.outputs, described)
        data["action"] = "approved"
        text = (
            f"Approved {package_version(candidate.arn)} (was {candidate.approval}): the "
            f"registry's approval event deploys it ({name})"
        )
    else:
        if accept and not requests.api_change_accepted(
            {"ApprovalDescription": candidate.approval_description}
        ):
            sagemaker.update_model_package(
                ModelPackageArn=candidate.arn, ApprovalDescription=description
            )
        described = sagemaker.describe_model_package(ModelPackageName=candidate.arn)
        sent = deployments.send_request(
            ctx.clients.sqs, ctx.outputs, described, requests.MANUAL, ctx.target.caller
        )
        name, arn = sent.execution_name, sent.execution_arn
        data["action"] = "deployment requested"
        text = (
            f"{package_version(candidate.arn)} is Approved but does not serve: a manual "
            f"deployment request is queued ({name})"
        )
    data["deployment_execution"] = {"name": name, "arn": arn}
    return follow.then_follow(ctx, data, text, arn, "deployment", "the deployments before it")


def reject(ctx: Context) -> Result:
    arn = chosen(ctx)
    sagemaker = ctx.clients.sagemaker
    package = packages.describe(sagemaker, ctx.clients.s3, arn)
    version = package_version(arn)
    data: dict[str, Any] = {"package": package.as_dict()}
    if package.approval == REJECTED:
        data["action"] = "none"
        return Result(data, f"{version} is already Rejected: nothing to do")
    ctx.confirm(f"Reject model package {version} ({package.approval})?")
    description = ctx.args.description or f"Rejected with make reject by {ctx.target.caller}"
    sagemaker.update_model_package(
        ModelPackageArn=arn, ModelApprovalStatus=REJECTED, ApprovalDescription=description
    )
    data["action"] = "rejected"
    endpoint = ctx.output("endpoint_name")
    text = f"Rejected {version} (was {package.approval}): {description}"
    data["still_serving"] = packages.serving(sagemaker, endpoint) == arn
    if data["still_serving"]:
        text += (
            f"\n{version} still serves on endpoint {endpoint}: `make rollback` redeploys the "
            "previously serving approved package (the guarded path); `make endpoint-down` "
            "stops the endpoint"
        )
    return Result(data, text)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--package",
        help=f"model package ARN, or {LATEST} (the newest waiting for approval; the default)",
    )
    parser.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    parser.add_argument("--description", help="the approval (or rejection) description")


def add_approve_arguments(parser: argparse.ArgumentParser) -> None:
    add_arguments(parser)
    parser.add_argument(
        "--accept-api-change",
        action="store_true",
        help="approve a package whose features, order or classes differ from the serving model's",
    )
    follow.add_wait_arguments(parser, "deployment")


APPROVE = Command(
    "approve",
    "approve a package (default: the newest waiting) after comparing it with the serving one",
    approve,
    add_approve_arguments,
)
REJECT = Command("reject", "reject a package (default: the newest waiting)", reject, add_arguments)
