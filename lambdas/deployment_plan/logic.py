"""Plan one deployment request: governance first, then the endpoint, then every request body.

    request ─► DescribeModelPackage ─► not Approved / another group ──► refuse
                                   ─► registered Approved by a deploy=false run ─► skip
            ─► DescribeEndpoint ──► absent ───────────────────────────► deploy (create)
                                 ─► serves / is updating to the package ─► skip
                                 ─► a different API, not accepted ─────► refuse
                                 ─► Creating/Updating/.../Deleting ────► wait (bounded)
                                 ─► Failed ────────────────────────────► delete_failed
                                 ─► InService ─────────────────────────► deploy (guarded update)

A guarded update creates its rollback alarms on the NEW fleet's EndpointConfigName: SageMaker's
guardrails count both fleets' errors toward an endpoint-level alarm, and "if your old fleet trips
the alarm during the deployment, SageMaker terminates your deployment"; alarms on the
EndpointConfigName dimension, which only the new fleet publishes, watch the new model alone
(https://docs.aws.amazon.com/sagemaker/latest/dg/deployment-guardrails-configuration.html).
The finish Lambda deletes them when the attempt ends.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from contracts import deployment as requests

try:
    from .settings import Settings
except ImportError:  # in the zip, the modules sit side by side at the root
    from settings import Settings  # type: ignore[no-redef,import-not-found,unused-ignore]

BUSY = frozenset({"Creating", "Updating", "SystemUpdating", "RollingBack", "Deleting"})
NOT_DEPLOYABLE = "ModelPackageNotDeployable"
API_CHANGE = "ApiChangeNotAccepted"
NOT_UPDATABLE = "EndpointNotUpdatable"
#: botocore: EndpointConfigName and ModelName are at most 63 characters of
#: ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}.
NAME_MAX = 63


@dataclass(frozen=True)
class Clients:
    sagemaker: Any
    cloudwatch: Any


@dataclass
class Endpoint:
    status: str | None
    config: str | None
    serving_package: str | None
    pending_package: str | None


def _package_of_config(sagemaker: Any, config_name: str | None) -> str | None:
    if not config_name:
        return None
    config = sagemaker.describe_endpoint_config(EndpointConfigName=config_name)
    model = sagemaker.describe_model(ModelName=config["ProductionVariants"][0]["ModelName"])
    return (model.get("PrimaryContainer") or {}).get("ModelPackageName")


def describe_endpoint(sagemaker: Any, name: str) -> Endpoint:
    try:
        endpoint = sagemaker.describe_endpoint(EndpointName=name)
    except ClientError as error:
        if "Could not find endpoint" in str(error):
            return Endpoint(None, None, None, None)
        raise
    pending = (endpoint.get("PendingDeploymentSummary") or {}).get("EndpointConfigName")
    return Endpoint(
        status=endpoint["EndpointStatus"],
        config=endpoint.get("EndpointConfigName"),
        serving_package=_package_of_config(sagemaker, endpoint.get("EndpointConfigName")),
        pending_package=_package_of_config(sagemaker, pending),
    )


def resource_name(prefix: str, version: Any, execution_name: str) -> str:
    """``<prefix>-v<version>-<8 hex of the execution>``, within SageMaker's 63 characters."""
    tail = f"-v{version}-{hashlib.sha256(execution_name.encode()).hexdigest()[:8]}"
    return prefix[: NAME_MAX - len(tail)].rstrip("-") + tail


def production_variants(settings: Settings, model_name: str) -> list[dict[str, Any]]:
    return [
        {
            "VariantName": settings.variant_name,
            "ModelName": model_name,
            "InstanceType": settings.instance_type,
            "InitialInstanceCount": settings.instance_count,
        }
    ]


def data_capture(settings: Settings) -> dict[str, Any]:
    return {
        "EnableCapture": settings.capture_percent > 0,
        "InitialSamplingPercentage": settings.capture_percent,
        "DestinationS3Uri": settings.capture_destination,
        "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
        "CaptureContentTypeHeader": {
            "CsvContentTypes": ["text/csv"],
            "JsonContentTypes": ["application/json"],
        },
    }


def alarm_name(settings: Settings, config_name: str, suffix: str) -> str:
    return f"{settings.endpoint_name}-rollback-{config_name}-{suffix}"


def create_rollback_alarms(cloudwatch: Any, settings: Settings, config_name: str) -> list[str]:
    """The new fleet's rollback alarms (PutMetricAlarm is an upsert: a replan repeats it)."""
    names = []
    for spec in settings.alarms:
        name = alarm_name(settings, config_name, spec.suffix)
        cloudwatch.put_metric_alarm(
            AlarmName=name,
            AlarmDescription=f"Rollback alarm of {config_name} on {settings.endpoint_name}: "
            f"{spec.metric} of the new fleet only.",
            Namespace="AWS/SageMaker",
            MetricName=spec.metric,
            Dimensions=[
                {"Name": "EndpointName", "Value": settings.endpoint_name},
                {"Name": "VariantName", "Value": settings.variant_name},
                {"Name": "EndpointConfigName", "Value": config_name},
            ],
            Statistic=spec.statistic,
            Period=spec.period,
            EvaluationPeriods=spec.evaluation_periods,
            Threshold=spec.threshold,
            ComparisonOperator=spec.comparison,
            TreatMissingData="notBreaching",
        )
        names.append(name)
    return names


def deployment_config(settings: Settings, alarms: list[str]) -> dict[str, Any]:
    """UpdateEndpoint's blue/green DeploymentConfig (ALL_AT_ONCE by default, or CANARY)."""
    routing: dict[str, Any] = {
        "Type": settings.traffic,
        "WaitIntervalInSeconds": settings.baking_seconds,
    }
    if settings.traffic == "CANARY":
        routing["CanarySize"] = {"Type": "CAPACITY_PERCENT", "Value": settings.canary_percent}
    return {
        "BlueGreenUpdatePolicy": {
            "TrafficRoutingConfiguration": routing,
            "TerminationWaitInSeconds": settings.termination_wait_seconds,
            "MaximumExecutionTimeoutInSeconds": settings.max_execution_seconds,
        },
        "AutoRollbackConfiguration": {"Alarms": [{"AlarmName": name} for name in alarms]},
    }


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Planner:
    """One planning: the request, the package, the endpoint, and the answer."""

    def __init__(self, event: Mapping[str, Any], clients: Clients, settings: Settings) -> None:
        state = event["state"]
        self.execution_name = str(event["execution_name"])
        self.clients = clients
        self.settings = settings
        notes: list[str] = []
        if isinstance(state, Mapping) and "request" in state:  # a replan after a wait
            self.request = dict(state["request"])
            self.busy = int(state["polls"]["busy"]["count"]) + 1
            self.started = str(state["deployment"]["started"])
            notes = list(state["deployment"].get("notes", []))
        else:
            self.request = dict(state)
            self.busy = 0
            self.started = _now()
        self.package: dict[str, Any] = {"arn": self.request.get("model_package_arn")}
        self.deployment: dict[str, Any] = {
            "endpoint_name": settings.endpoint_name,
            "started": self.started,
            "reason": self.request.get("reason"),
            "requested_by": self.request.get("requested_by", ""),
            "mode": None,
            "previous_config": None,
            "config": None,
            "alarms": [],
            "model_package_arn": self.package["arn"],
            "model_package_version": None,
            "notes": notes,
        }

    def answer(self, action: str, reason: str = "", **extra: Any) -> dict[str, Any]:
        return {
            "request": self.request,
            "action": action,
            "reason": reason,
            "error": extra.pop("error", None),
            "cause": extra.pop("cause", None),
            "package": self.package,
            "deployment": self.deployment,
            "settings": {
                "poll_interval_seconds": self.settings.poll_interval_seconds,
                "max_polls": self.settings.max_polls,
            },
            "polls": {
                "busy": {"count": self.busy},
                "endpoint": {"count": 0},
                "restore": {"count": 0},
            },
            **extra,
        }

    def refuse(self, error: str, cause: str) -> dict[str, Any]:
        return self.answer("refuse", cause, error=error, cause=cause)

    def plan(self) -> dict[str, Any]:
        arn = self.package["arn"]
        if not isinstance(arn, str) or not arn:
            return self.refuse(NOT_DEPLOYABLE, "The deployment request names no model package.")
        try:
            package = self.clients.sagemaker.describe_model_package(ModelPackageName=arn)
        except ClientError as error:
            if "does not exist" in str(error) or "ValidationException" in str(error):
                return self.refuse(NOT_DEPLOYABLE, f"Model package {arn} does not exist.")
            raise
        self.package.update(
            version=package.get("ModelPackageVersion"),
            statistics_uri=package["ModelMetrics"]["ModelQuality"]["Statistics"]["S3Uri"],
            fingerprint=(package.get("CustomerMetadataProperties") or {}).get("api_fingerprint"),
        )
        self.deployment["model_package_version"] = package.get("ModelPackageVersion")
        refusal = self.governance(package)
        if refusal is not None:
            return refusal
        return self.for_endpoint(package)

    def governance(self, package: Mapping[str, Any]) -> dict[str, Any] | None:
        arn = self.package["arn"]
        group = package.get("ModelPackageGroupName")
        status = package.get("ModelApprovalStatus")
        if status != "Approved" or group != self.settings.model_package_group:
            return self.refuse(
                NOT_DEPLOYABLE,
                f"Model package {arn} is {status} in group {group}: only Approved packages of "
                f"{self.settings.model_package_group} are deployed.",
            )
        if (
            self.request.get("reason") == requests.APPROVAL
            and requests.metadata_flag(package, "deploy") is False
            and requests.approved_at_registration(package)
        ):
            run = (package.get("CustomerMetadataProperties") or {}).get("sfn_execution", "?")
            return self.answer(
                "skip",
                f"Model package {arn} was registered Approved by run {run} with deploy=false: it "
                f"is not deployed. To deploy it: make approve PACKAGE={arn}",
            )
        return None

    def for_endpoint(self, package: Mapping[str, Any]) -> dict[str, Any]:
        arn = self.package["arn"]
        endpoint = describe_endpoint(self.clients.sagemaker, self.settings.endpoint_name)
        if arn in (endpoint.serving_package, endpoint.pending_package) and endpoint.status not in (
            "Failed",
            "Deleting",
        ):
            return self.answer(
                "skip",
                f"Endpoint {self.settings.endpoint_name} already serves, or is being updated to, "
                f"model package {arn}.",
            )
        if endpoint.status in BUSY:
            if self.busy >= self.settings.max_polls:
                return self.refuse(
                    NOT_UPDATABLE,
                    f"Endpoint {self.settings.endpoint_name} was still {endpoint.status} after "
                    f"{self.busy} checks {self.settings.poll_interval_seconds} s apart; model "
                    f"package {arn} was not deployed. Approve it again (make approve "
                    f"PACKAGE={arn}) once the endpoint is InService.",
                )
            return self.answer("wait", f"endpoint is {endpoint.status}")
        if endpoint.status == "Failed":
            self.deployment["notes"].append(
                f"endpoint {self.settings.endpoint_name} was Failed: deleted and created again"
            )
            return self.answer("delete_failed", "the endpoint is Failed: delete it, then create it")
        refusal = self.api_check(package, endpoint)
        if refusal is not None:
            return refusal
        return self.deploy(endpoint)

    def api_check(self, package: Mapping[str, Any], endpoint: Endpoint) -> dict[str, Any] | None:
        """A different endpoint API needs an approval that says it accepts the change."""
        if endpoint.serving_package is None or self.request.get("reason") == requests.ROLLBACK:
            return None
        serving = self.clients.sagemaker.describe_model_package(
            ModelPackageName=endpoint.serving_package
        )
        theirs = (serving.get("CustomerMetadataProperties") or {}).get("api_fingerprint")
        ours = self.package.get("fingerprint")
        if theirs is None or ours is None or theirs == ours:
            return None
        if requests.api_change_accepted(package):
            self.deployment["notes"].append("API change accepted by the approval")
            return None
        arn = self.package["arn"]
        return self.refuse(
            API_CHANGE,
            f"Model package {arn} changes the endpoint's API: its features, their order or its "
            f"classes differ from the serving package {endpoint.serving_package}'s, so clients "
            "would get wrong answers. If that is intended, approve it accepting the change: make "
            f"approve PACKAGE={arn} ACCEPT_API_CHANGE=1",
        )

    def deploy(self, endpoint: Endpoint) -> dict[str, Any]:
        name = resource_name(
            self.settings.name_prefix, self.package["version"], self.execution_name
        )
        mode = "create" if endpoint.status is None else "update"
        self.deployment.update(mode=mode, previous_config=endpoint.config, config=name)
        extra: dict[str, Any] = {
            "names": {"model": name, "config": name},
            "endpoint_config": {
                "production_variants": production_variants(self.settings, name),
                "data_capture": data_capture(self.settings),
            },
        }
        if mode == "update":
            alarms = create_rollback_alarms(self.clients.cloudwatch, self.settings, name)
            self.deployment["alarms"] = alarms
            extra["deployment_config"] = deployment_config(self.settings, alarms)
        return self.answer("deploy", f"{mode} endpoint {self.settings.endpoint_name}", **extra)


def plan(event: Mapping[str, Any], clients: Clients, settings: Settings) -> dict[str, Any]:
    return Planner(event, clients, settings).plan()
