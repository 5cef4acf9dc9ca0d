"""``make train`` and ``make start``: training runs, always through the uploads queue, so every
run (uploads, requests, CI) goes one at a time, in the order it arrived.

- ``make train DATA=<local csv or s3 URI> LABEL=<column>`` puts the file under ``data/raw/`` with
  its dataset settings as user metadata (``contracts.execution_input.UPLOAD_METADATA``): the run
  that upload starts trains with them. A local file is uploaded, an S3 object copied
  server-side.
- ``make start [DEPLOY=1]`` sends a training request (``contracts.training_request``) for the
  configured data; ``DEPLOY=1`` asks for deploy and auto-approval (honoured only where Terraform
  allows auto-approval: said before anything starts).

``WAIT=1`` follows the run live and then the deployment its approval starts, if any.
"""

from __future__ import annotations

import argparse
import json
import time
import uuid
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import Any

from botocore.exceptions import ClientError

from contracts import execution_input, s3_layout, training_request
from ops import deployments, executions, follow, render, uploads
from ops.aws import error_code
from ops.errors import ConfigError, Exit, NotFoundError, WaitTimeout
from ops.follow import Follower
from ops.session import Command, Context, Result


def parse_setting(text: str) -> tuple[str, Any]:
    """``KEY=VALUE`` with VALUE read as JSON (``3``, ``true``, ``0.9``), else as a string."""
    key, sep, raw = text.partition("=")
    if not sep or not key:
        raise ConfigError(f"expected KEY=VALUE (e.g. max_tuning_jobs=4), got {text!r}")
    try:
        return key, json.loads(raw)
    except json.JSONDecodeError:
        return key, raw


def check_input(payload: Any, bucket: str, name: str) -> None:
    """Refuse what the training machine's input check would refuse, in its words, before
    anything is sent."""
    found = execution_input.problems(payload, bucket=bucket, execution_name=name)
    if found:
        raise ConfigError(execution_input.cause(found))


def column_list(text: str | None) -> list[str] | None:
    """FEATURES / CLASS_ORDER: a JSON array, or names separated by commas."""
    if text is None:
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        return [part.strip() for part in text.split(",") if part.strip()]
    if not isinstance(value, list):
        raise ConfigError(f"expected a JSON array or comma-separated names, got {text!r}")
    return [str(item) for item in value]


def dataset_settings(args: argparse.Namespace) -> dict[str, Any]:
    return execution_input.dataset_settings(
        args.label, column_list(args.features), column_list(args.class_order)
    )


def destination_key(data: str) -> str:
    """``data/raw/<the file's name>``: the prefix whose uploads start runs."""
    name = (
        PurePosixPath(data.removeprefix("s3://")).name
        if data.startswith("s3://")
        else Path(data).name
    )
    if not name.lower().endswith(".csv"):
        raise ConfigError(
            f"DATA={data} is not a .csv file: the trigger starts runs only for .csv uploads "
            "under data/raw/ (rename or convert it)"
        )
    return s3_layout.DATA_RAW + name


def put_dataset(s3: Any, data: str, bucket: str, metadata: Mapping[str, str]) -> tuple[str, str]:
    """Upload or copy DATA to ``data/raw/<name>`` with ``metadata``: (its URI, the version)."""
    key = destination_key(data)
    uploads.check_metadata(metadata)
    if not data.startswith("s3://"):
        path = Path(data)
        if not path.is_file():
            raise NotFoundError(f"DATA={data}: no such file")
        return s3_layout.s3_uri(bucket, key), uploads.upload_file(s3, path, bucket, key, metadata)
    source_bucket, source_key = s3_layout.split_s3_uri(data)
    try:
        head = s3.head_object(Bucket=source_bucket, Key=source_key)
    except ClientError as err:
        raise NotFoundError(f"DATA={data} cannot be read ({error_code(err)})") from err
    source = {"Bucket": source_bucket, "Key": source_key}
    if head.get("VersionId") and head["VersionId"] != "null":
        source["VersionId"] = str(head["VersionId"])
    version = uploads.copy_object(s3, source, int(head["ContentLength"]), bucket, key, metadata)
    return s3_layout.s3_uri(bucket, key), version


def find_upload_run(sfn: Any, machine: str, uri: str, version: str, seen: set[str]) -> str | None:
    """The run whose input names exactly this upload (``data_uri`` and ``data_version_id``)."""
    listed = sfn.list_executions(stateMachineArn=machine, maxResults=50)["executions"]
    for item in sorted(listed, key=lambda e: e["startDate"], reverse=True):
        arn = str(item["executionArn"])
        if arn in seen:
            continue
        seen.add(arn)
        described = sfn.describe_execution(executionArn=arn)
        try:
            given = json.loads(described.get("input") or "{}")
        except json.JSONDecodeError:
            continue
        if (
            isinstance(given, dict)
            and given.get("data_uri") == uri
            and (not version or given.get("data_version_id") == version)
        ):
            return arn
    return None


def wait_for_upload_run(ctx: Context, uri: str, version: str, deadline: float) -> str:
    sfn, machine = ctx.clients.sfn, ctx.output("training_state_machine_arn")
    seen: set[str] = set()
    ctx.say("  waiting for the trigger to start its run (after the runs ahead of it) ...")
    while True:
        found = find_upload_run(sfn, machine, uri, version, seen)
        if found:
            return found
        if time.monotonic() >= deadline:
            raise WaitTimeout(
                f"no run of {uri} (version {version}) started within {ctx.args.timeout:.0f} s: "
                "is Terraform's enable_auto_trigger on? make status shows the uploads queue"
            )
        time.sleep(ctx.args.poll)


def follow_run(ctx: Context, data: dict[str, Any], arn: str, deadline: float) -> Result:
    """Follow the training run, then the deployment its approval starts (if it deploys)."""
    follower = Follower(ctx.clients.sfn, ctx.clients.sagemaker, ctx.say, interval=ctx.args.poll)
    run = follower.follow(arn, max(deadline - time.monotonic(), 1.0), queued="the runs ahead")
    data["run"] = run.as_dict()
    lines = [render.finished(run)]
    outcome = run.outcome
    if run.status != "SUCCEEDED":
        return Result(data, "\n".join(lines), Exit.FAILED)
    if outcome.get("approval_status") == "Approved" and outcome.get("deploy"):
        package = ctx.clients.sagemaker.describe_model_package(
            ModelPackageName=outcome["model_package_arn"]
        )
        name, deploy_arn = deployments.approval_execution(ctx.outputs, package)
        ctx.say(f"the package is Approved with deploy=true: following its deployment {name}")
        deployment = follower.follow(
            deploy_arn, max(deadline - time.monotonic(), 1.0), queued="the deployments before it"
        )
        data["deployment"] = deployment.as_dict()
        lines.append(render.finished(deployment))
        if deployment.status != "SUCCEEDED":
            return Result(data, "\n".join(lines), Exit.FAILED)
    elif outcome.get("approval_status") == "PendingManualApproval":
        lines.append("  it waits for approval: make approve (shows it beside the serving model)")
    return Result(data, "\n".join(lines))


def run_train(ctx: Context) -> Result:
    bucket = ctx.output("bucket_name")
    settings = dataset_settings(ctx.args)
    check_input(settings, bucket, "train")
    deadline = time.monotonic() + ctx.args.timeout
    metadata = execution_input.metadata_for_settings(settings)
    uri, version = put_dataset(ctx.clients.s3, ctx.args.data, bucket, metadata)
    how = "copied server-side" if ctx.args.data.startswith("s3://") else "uploaded"
    data: dict[str, Any] = {"data_uri": uri, "version_id": version, "metadata": metadata}
    text = (
        f"{how} {ctx.args.data} to {uri} (version {version}) with "
        + ", ".join(f"{k}={v}" for k, v in metadata.items())
        + ": the upload starts a run with these settings"
    )
    if not ctx.args.wait:
        return Result(data, text + "\nfollow it with `make status` (or WAIT=1 next time)")
    ctx.say(text)
    arn = wait_for_upload_run(ctx, uri, version, deadline)
    return follow_run(ctx, data, arn, deadline)


def request_input(args: argparse.Namespace) -> dict[str, Any]:
    """Only the keys asked for: the training machine merges them over Terraform's defaults."""
    payload: dict[str, Any] = dict(args.set or [])
    if args.deploy:
        payload.update(deploy=True, auto_approve=True)
    return payload


def auto_approval_note(outputs: Mapping[str, Any]) -> str | None:
    allowed = outputs.get("auto_approve_allowed")
    if allowed is True or str(allowed).lower() == "true":
        return None
    if allowed is None:
        return (
            "DEPLOY=1 asks for auto-approval, but the Terraform outputs do not say whether "
            "allow_auto_approve is on: if it is off, the package waits for make approve"
        )
    return (
        "DEPLOY=1 asks for auto-approval, but Terraform's allow_auto_approve is false: the "
        "run registers its package PendingManualApproval, and make approve deploys it"
    )


def run_start(ctx: Context) -> Result:
    payload = request_input(ctx.args)
    request_id = ctx.args.request_id or str(uuid.uuid4())
    name = training_request.execution_name(ctx.args.reason, request_id)
    check_input(payload, ctx.output("bucket_name"), name)
    note = auto_approval_note(ctx.outputs) if ctx.args.deploy else None
    if note:
        ctx.say(note)
    deadline = time.monotonic() + ctx.args.timeout
    body = training_request.message(
        payload, reason=ctx.args.reason, requested_by=ctx.target.caller, request_id=request_id
    )
    ctx.clients.sqs.send_message(
        QueueUrl=ctx.output("uploads_queue_url"),
        MessageBody=body,
        MessageGroupId=training_request.UPLOADS_GROUP,
        MessageDeduplicationId=training_request.deduplication_id(request_id),
    )
    arn = executions.execution_arn(ctx.output("training_state_machine_arn"), name)
    data: dict[str, Any] = {
        "request_id": request_id,
        "execution": name,
        "arn": arn,
        "input": payload,
        "note": note,
    }
    shown = json.dumps(payload) if payload else "{} (Terraform's defaults)"
    text = f"queued training request {request_id}: run {name}, input {shown}"
    if not ctx.args.wait:
        return Result(data, text + "\nfollow it with `make status` (or WAIT=1 next time)")
    ctx.say(text)
    return follow_run(ctx, data, arn, deadline)


def add_train_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", required=True, help="a local .csv, or an s3:// URI of one")
    parser.add_argument("--label", required=True, help="its label column")
    parser.add_argument("--features", help="feature columns in order: JSON array or a,b,c")
    parser.add_argument("--class-order", help="class names in label-index order")
    follow.add_wait_arguments(parser, "run (then its deployment)")


def add_start_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--deploy",
        action="store_true",
        help="deploy and auto-approve (where Terraform allows auto-approval)",
    )
    parser.add_argument(
        "--set",
        action="append",
        type=_setting,
        metavar="KEY=VALUE",
        help="another execution input key (JSON value), e.g. max_tuning_jobs=4",
    )
    parser.add_argument("--request-id", help="the request's unique id (default: a new UUID)")
    parser.add_argument("--reason", default="make-start", help="why: part of the run's name")
    follow.add_wait_arguments(parser, "run (then its deployment)")


def _setting(text: str) -> tuple[str, Any]:
    try:
        return parse_setting(text)
    except ConfigError as err:
        raise argparse.ArgumentTypeError(str(err)) from err


TRAIN = Command(
    "train",
    "train on your CSV (local or s3://) with LABEL: upload, then the run",
    run_train,
    add_train_arguments,
)
START = Command(
    "start",
    "queue a training run on the configured data (DEPLOY=1: deploy it)",
    run_start,
    add_start_arguments,
)
