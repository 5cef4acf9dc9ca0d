"""``make destroy``: remove everything, in an order that finishes, then ``terraform destroy``.

The machines create what Terraform does not know: the endpoint, its configs and models (named
``<model_name_prefix>-v<version>-<hash>``, ``contracts.deployment.created_by_deployments``), the
rollback alarms of a deployment, the model packages, and every object in the bucket. The command
lists all of it, asks once (``YES=1`` does not), and deletes it:

1. runs still going (they would create more of it) are stopped;
2. the endpoint, waited for until it is gone: Terraform must not delete the SageMaker role while
   an endpoint that uses it exists;
3. the endpoint configs and models the deployments created, and their rollback alarms;
4. the model packages, then their group (SageMaker refuses to delete a group holding packages);
5. the endpoint's log group;
6. every object version and delete marker in the bucket. The bucket is versioned and Terraform
   does not set ``force_destroy`` on purpose: emptying it is this explicit, listed step, never a
   side effect of a Terraform change;
7. ``terraform destroy`` of the rest.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from contracts.deployment import created_by_deployments
from ops import endpoint as endpoints
from ops import packages
from ops.aws import error_code, is_not_found, pages
from ops.errors import NotFoundError, OperationError
from ops.serving import endpoint_status
from ops.session import Command, Context, Result

MACHINES = (
    "training_state_machine_arn",
    "deployment_state_machine_arn",
    "monitoring_state_machine_arn",
)
DELETE_BATCH = 1000  # DeleteObjects takes at most 1,000 keys per request
ENDPOINT_LOGS = "/aws/sagemaker/Endpoints/{endpoint}"


@dataclass
class Inventory:
    running: list[str] = field(default_factory=list)
    endpoint: str | None = None
    endpoint_configs: list[str] = field(default_factory=list)
    models: list[str] = field(default_factory=list)
    alarms: list[str] = field(default_factory=list)
    packages: list[str] = field(default_factory=list)
    group: str | None = None
    log_groups: list[str] = field(default_factory=list)
    bucket: str | None = None
    object_versions: int = 0
    delete_markers: int = 0
    bytes: int = 0

    def lines(self) -> list[str]:
        def some(items: list[str], what: str) -> str:
            return f"{len(items)} {what}" + (f": {', '.join(items)}" if items else "")

        return [
            some(self.running, "running executions (stopped first)"),
            f"endpoint: {self.endpoint or 'none'}",
            some(self.endpoint_configs, "endpoint configs the deployments created"),
            some(self.models, "models the deployments created"),
            some(self.alarms, "rollback alarms"),
            some(self.packages, "model packages"),
            f"model package group: {self.group or 'none'}",
            some(self.log_groups, "log groups"),
            f"bucket {self.bucket or '-'}: {self.object_versions} object versions "
            f"({self.bytes} bytes) and {self.delete_markers} delete markers (emptied "
            "explicitly: Terraform's bucket has no force_destroy)",
            "then terraform destroy: everything Terraform created",
        ]


def _list_names(call: Callable[..., Any], items: str, field_name: str, **kwargs: Any) -> list[str]:
    return [str(item[field_name]) for item in pages(call, items, **kwargs)]


def _running(sfn: Any, outputs: dict[str, Any]) -> list[str]:
    found = []
    for output in MACHINES:
        machine = outputs.get(output)
        if not machine:
            continue
        try:
            found += _list_names(
                sfn.list_executions,
                "executions",
                "executionArn",
                token="nextToken",
                stateMachineArn=machine,
                statusFilter="RUNNING",
            )
        except ClientError as err:
            if not is_not_found(err):
                raise
    return found


def _objects(s3: Any, bucket: str, inventory: Inventory) -> None:
    try:
        for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
            inventory.object_versions += len(page.get("Versions", []))
            inventory.bytes += sum(int(v.get("Size", 0)) for v in page.get("Versions", []))
            inventory.delete_markers += len(page.get("DeleteMarkers", []))
    except ClientError as err:
        if error_code(err) != "NoSuchBucket":
            raise
        return
    inventory.bucket = bucket


def inventory(ctx: Context) -> Inventory:
    """What the command will delete, read from the account (nothing is changed)."""
    clients, outputs = ctx.clients, dict(ctx.outputs)
    sagemaker = clients.sagemaker
    prefix, endpoint = ctx.output("model_name_prefix"), ctx.output("endpoint_name")
    group = ctx.output("model_package_group_name")
    found = Inventory(running=_running(clients.sfn, outputs))
    if endpoint_status(sagemaker, endpoint) is not None:
        found.endpoint = endpoint
    found.endpoint_configs = [
        name
        for name in _list_names(
            sagemaker.list_endpoint_configs,
            "EndpointConfigs",
            "EndpointConfigName",
            NameContains=prefix,
        )
        if created_by_deployments(prefix, name)
    ]
    found.models = [
        name
        for name in _list_names(sagemaker.list_models, "Models", "ModelName", NameContains=prefix)
        if created_by_deployments(prefix, name)
    ]
    found.alarms = _list_names(
        clients.cloudwatch.describe_alarms,
        "MetricAlarms",
        "AlarmName",
        AlarmNamePrefix=f"{endpoint}-rollback-",
    )
    try:
        found.packages = [str(s["ModelPackageArn"]) for s in packages.summaries(sagemaker, group)]
        found.group = group
    except NotFoundError:
        pass  # no group: nothing to delete there
    logs = ENDPOINT_LOGS.format(endpoint=endpoint)
    found.log_groups = [
        name
        for name in _list_names(
            clients.logs.describe_log_groups,
            "logGroups",
            "logGroupName",
            token="nextToken",
            logGroupNamePrefix=logs,
        )
        if name == logs
    ]
    _objects(clients.s3, ctx.output("bucket_name"), found)
    return found


def empty_bucket(s3: Any, bucket: str) -> int:
    """Delete every object version and delete marker, a page at a time; the count deleted."""
    deleted = 0
    while True:
        page = s3.list_object_versions(Bucket=bucket, MaxKeys=DELETE_BATCH)
        keys = [
            {"Key": item["Key"], "VersionId": item["VersionId"]}
            for item in [*page.get("Versions", []), *page.get("DeleteMarkers", [])]
        ]
        if not keys:
            return deleted
        answer = s3.delete_objects(Bucket=bucket, Delete={"Objects": keys, "Quiet": True})
        if answer.get("Errors"):
            first = answer["Errors"][0]
            raise OperationError(
                f"S3 refused to delete {len(answer['Errors'])} of {len(keys)} object versions "
                f"of {bucket}, e.g. {first.get('Key')} ({first.get('Code')}: "
                f"{first.get('Message')})"
            )
        deleted += len(keys)


def delete_all(ctx: Context, found: Inventory) -> None:
    """Delete what ``found`` lists, in the order of the module docstring."""
    clients, say = ctx.clients, ctx.say
    sagemaker = clients.sagemaker
    for arn in found.running:
        clients.sfn.stop_execution(executionArn=arn, cause="make destroy")
        say(f"stopped {arn.rsplit(':', 1)[-1]}")
    if found.endpoint:
        say(f"deleting endpoint {found.endpoint} (until it is gone) ...")
        endpoints.delete_endpoint(sagemaker, found.endpoint)
    for name in found.endpoint_configs:
        endpoints.delete_if_present(sagemaker.delete_endpoint_config, EndpointConfigName=name)
    for name in found.models:
        endpoints.delete_if_present(sagemaker.delete_model, ModelName=name)
    if found.alarms:
        clients.cloudwatch.delete_alarms(AlarmNames=found.alarms)
    for arn in found.packages:
        endpoints.delete_if_present(sagemaker.delete_model_package, ModelPackageName=arn)
    if found.group:
        endpoints.delete_if_present(
            sagemaker.delete_model_package_group, ModelPackageGroupName=found.group
        )
    for name in found.log_groups:
        clients.logs.delete_log_group(logGroupName=name)
    if found.bucket:
        say(f"emptying s3://{found.bucket} (every version and delete marker) ...")
        empty_bucket(clients.s3, found.bucket)
    say("deleted what the runs created")


def terraform_destroy(terraform_dir: Path) -> int:
    """``terraform destroy`` after the confirmation above (its output on stderr, so --json's
    stdout stays clean)."""
    return subprocess.run(
        ["terraform", f"-chdir={terraform_dir}", "destroy", "-input=false", "-auto-approve"],
        stdout=sys.stderr,
        check=False,
    ).returncode


def run(ctx: Context, terraform: Callable[[], int] | None = None) -> Result:
    found = inventory(ctx)
    ctx.say("make destroy deletes, in this order:")
    for line in found.lines():
        ctx.say(f"  - {line}")
    ctx.confirm("Delete all of it, then run terraform destroy?")
    delete_all(ctx, found)
    code = (terraform or (lambda: terraform_destroy(ctx.args.terraform_dir)))()
    if code != 0:
        raise OperationError(
            f"terraform destroy failed (exit {code}): what was deleted stays deleted; fix what "
            "it says and run make destroy again"
        )
    return Result(
        {"deleted": asdict(found), "terraform_destroy": "done"},
        "destroyed: nothing of the project is left in the account",
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--yes", action="store_true", help="do not ask for confirmation")


COMMAND = Command(
    "destroy", "list, then delete what the runs created, then terraform destroy", run, add_arguments
)
