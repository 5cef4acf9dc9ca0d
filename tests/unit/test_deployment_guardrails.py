"""Guarded deployment without AWS: Terraform's guardrail document, the deployment plan's
UpdateEndpoint request and rollback alarms built from it (checked against botocore's models),
and the deployment machine's path through a guarded update."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path
from typing import Any

import botocore.session
import hcl2
import pytest

from emulator.aws.validation import validate_structure
from lambdas.deployment_plan import logic
from lambdas.deployment_plan.settings import Settings
from statemachines import BY_NAME

ROOT = Path(__file__).resolve().parents[2]
TERRAFORM_DIR = ROOT / "terraform"
SESSION = botocore.session.get_session()


def variable_defaults() -> dict[str, Any]:
    found: dict[str, Any] = {}
    for path in sorted(TERRAFORM_DIR.glob("*.tf")):
        with path.open() as handle:
            parsed = hcl2.load(handle)
        for block in parsed.get("variable", []):
            for name, body in block.items():
                default = body.get("default")
                quoted = isinstance(default, str) and default.startswith('"')
                found[name.strip('"')] = json.loads(default) if quoted else default
    return found


def max_execution_seconds(defaults: dict[str, Any]) -> int:
    # terraform/deployment_guardrails.tf: min(28800, max(600, 1800 + 2 x baking + termination))
    baking = defaults["deployment_baking_seconds"]
    return int(
        min(28800, max(600, 1800 + 2 * baking + defaults["deployment_termination_wait_seconds"]))
    )


def _resolve(value: Any, defaults: dict[str, Any]) -> Any:
    """Terraform's guardrail expressions with the variables' defaults (the forms the file uses)."""
    if not isinstance(value, str):
        return value
    if value.startswith('"'):
        return json.loads(value)
    if value == "${local.deployment_max_execution_seconds}":
        return max_execution_seconds(defaults)
    match = re.fullmatch(r"\$\{var\.([a-z0-9_]+)( \* (\d+))?\}", value)
    assert match, f"unexpected expression in the guardrail document: {value}"
    resolved = defaults[match.group(1)]
    return resolved * int(match.group(3)) if match.group(3) else resolved


def guardrail_document() -> dict[str, Any]:
    """local.deployment_guardrails as the planning function receives it (GUARDRAILS_JSON)."""
    with (TERRAFORM_DIR / "deployment_guardrails.tf").open() as handle:
        parsed = hcl2.load(handle)
    [document] = [
        b["deployment_guardrails"] for b in parsed["locals"] if "deployment_guardrails" in b
    ]
    defaults = variable_defaults()
    resolved = {k: _resolve(v, defaults) for k, v in document.items() if k != "alarms"}
    resolved["alarms"] = [
        {k: _resolve(v, defaults) for k, v in a.items()} for a in document["alarms"]
    ]
    return resolved


def settings(**changes: Any) -> Settings:
    environ = {
        "GUARDRAILS_JSON": json.dumps(guardrail_document()),
        "ENDPOINT_NAME": "iris-mlops-endpoint",
        "MODEL_PACKAGE_GROUP": "iris-mlops-models",
        "MODEL_NAME_PREFIX": "iris-mlops",
        "VARIANT_NAME": "AllTraffic",
        "INSTANCE_TYPE": "ml.m5.large",
        "INSTANCE_COUNT": "2",
        "CAPTURE_PERCENT": "20",
        "CAPTURE_DESTINATION": "s3://bucket/monitoring/capture",
        "POLL_INTERVAL_SECONDS": "30",
        "MAX_POLLS": "120",
    }
    return dataclasses.replace(Settings.from_env(environ), **changes)


def invalid(service: str, operation: str, params: dict[str, Any]) -> str:
    """Every constraint of botocore's model ``params`` breaks (botocore's own ParamValidator
    checks no maximum; the emulator's front door checks them all)."""
    model = SESSION.get_service_model(service).operation_model(operation)
    return "; ".join(
        f"{v.path}: {v.constraint}" for v in validate_structure(model.input_shape, params)
    )


@pytest.mark.parametrize("traffic", ["ALL_AT_ONCE", "CANARY"])
def test_the_update_request_satisfies_sagemakers_model(traffic: str) -> None:
    plan = settings(traffic=traffic)
    alarms = [logic.alarm_name(plan, "cfg-v3-0123abcd", a.suffix) for a in plan.alarms]
    config = logic.deployment_config(plan, alarms)
    request = {
        "EndpointName": plan.endpoint_name,
        "EndpointConfigName": "cfg",
        "DeploymentConfig": config,
    }
    assert invalid("sagemaker", "UpdateEndpoint", request) == ""
    routing = config["BlueGreenUpdatePolicy"]["TrafficRoutingConfiguration"]
    assert routing["Type"] == traffic
    assert ("CanarySize" in routing) == (traffic == "CANARY")
    assert config["AutoRollbackConfiguration"] == {"Alarms": [{"AlarmName": a} for a in alarms]}


def test_a_value_beyond_sagemakers_bounds_is_caught_by_the_check() -> None:
    config = logic.deployment_config(settings(baking_seconds=3601), ["alarm"])
    request = {"EndpointName": "e", "EndpointConfigName": "c", "DeploymentConfig": config}
    assert "waitIntervalInSeconds" in invalid("sagemaker", "UpdateEndpoint", request)


class RecordingCloudWatch:
    def __init__(self) -> None:
        self.alarms: list[dict[str, Any]] = []

    def put_metric_alarm(self, **kwargs: Any) -> None:
        self.alarms.append(kwargs)


def test_rollback_alarms_watch_the_new_fleets_model_metrics_only() -> None:
    cloudwatch = RecordingCloudWatch()
    names = logic.create_rollback_alarms(cloudwatch, settings(), "iris-mlops-v3-0123abcd")
    assert len(names) == len(cloudwatch.alarms) == 2
    for alarm in cloudwatch.alarms:
        assert invalid("cloudwatch", "PutMetricAlarm", alarm) == ""
        dimensions = {d["Name"]: d["Value"] for d in alarm["Dimensions"]}
        assert dimensions["EndpointConfigName"] == "iris-mlops-v3-0123abcd"  # only the new fleet
    by_metric = {a["MetricName"]: a for a in cloudwatch.alarms}
    # 4XX counts the callers' mistakes: a client sending bad rows must not veto a deployment.
    assert set(by_metric) == {"Invocation5XXErrors", "ModelLatency"}
    defaults = variable_defaults()
    # ModelLatency is reported in microseconds.
    assert (
        by_metric["ModelLatency"]["Threshold"] == defaults["endpoint_latency_threshold_ms"] * 1000
    )


def test_the_variant_name_a_user_sets_names_the_fleet_and_its_alarms() -> None:
    """var.endpoint_variant_name reaches the plan (VARIANT_NAME), which names the production
    variant and the rollback alarms' VariantName dimension: a renamed variant is still watched."""
    with (TERRAFORM_DIR / "lambdas.tf").open() as handle:
        [functions] = [b["lambdas"] for b in hcl2.load(handle)["locals"] if "lambdas" in b]
    plan_environment = functions["deployment_plan"]["environment"]
    assert plan_environment["VARIANT_NAME"] == "${var.endpoint_variant_name}"
    renamed = settings(variant_name="Blue")
    [variant] = logic.production_variants(renamed, "iris-mlops-v3-0123abcd")
    assert variant["VariantName"] == "Blue"
    cloudwatch = RecordingCloudWatch()
    logic.create_rollback_alarms(cloudwatch, renamed, "iris-mlops-v3-0123abcd")
    for alarm in cloudwatch.alarms:
        assert {"Name": "VariantName", "Value": "Blue"} in alarm["Dimensions"]


def test_terraform_refuses_a_variant_name_sagemaker_would_refuse() -> None:
    """The variable's validation is botocore's VariantName pattern, anchored: a name SageMaker
    would refuse at the deployment is refused at `terraform plan` instead."""
    with (TERRAFORM_DIR / "variables.tf").open() as handle:
        [body] = [
            b['"endpoint_variant_name"']
            for b in hcl2.load(handle)["variable"]
            if '"endpoint_variant_name"' in b
        ]
    [validation] = body["validation"]
    [terraform_regex] = re.findall(r'regex\("(.*)", var', validation["condition"])
    pattern = SESSION.get_service_model("sagemaker").shape_for("VariantName").metadata["pattern"]
    assert terraform_regex == f"^{pattern}$"
    for name, accepted in (("AllTraffic", True), ("blue-2", True), ("All_Traffic", False)):
        assert bool(re.fullmatch(pattern, name)) is accepted, name
    assert not re.fullmatch(pattern, "x" * 64)


def test_the_defaults_satisfy_sagemakers_constraints() -> None:
    defaults = variable_defaults()
    model = SESSION.get_service_model("sagemaker")
    wait = model.shape_for("WaitIntervalInSeconds").metadata
    termination = model.shape_for("TerminationWaitInSeconds").metadata
    timeout = model.shape_for("MaximumExecutionTimeoutInSeconds").metadata
    baking = defaults["deployment_baking_seconds"]
    terminate = defaults["deployment_termination_wait_seconds"]
    assert wait["min"] <= baking <= wait["max"]
    assert termination["min"] <= terminate <= termination["max"]
    maximum = max_execution_seconds(defaults)
    assert timeout["min"] <= maximum <= timeout["max"]
    assert maximum > baking + terminate
    assert defaults["deployment_traffic"] == "ALL_AT_ONCE"  # one instance is enough
    assert defaults["endpoint_instance_count"] == 1
    # The deployment machine waits out both baking periods and the termination wait.
    polls = defaults["endpoint_poll_interval_seconds"] * defaults["endpoint_max_polls"]
    assert polls >= 2 * baking + terminate


def states() -> dict[str, Any]:
    found: dict[str, Any] = BY_NAME["deployment"].build()["States"]
    return found


def test_the_update_carries_the_plans_config_and_the_restore_and_create_carry_none() -> None:
    found = states()
    assert found["UpdateEndpoint"]["Parameters"]["DeploymentConfig.$"] == "$.deployment_config"
    # The restore runs while the alarms may still be in ALARM because of the failed model.
    assert "DeploymentConfig" not in json.dumps(found["RestorePreviousConfig"]["Parameters"])
    assert "DeploymentConfig" not in json.dumps(found["CreateEndpoint"]["Parameters"])


def test_the_smoke_test_runs_only_once_the_new_config_serves() -> None:
    first, second = states()["EndpointStatus"]["Choices"][:2]
    assert first["Next"] == "SmokeTest"
    assert {
        "Variable": "$.endpoint.EndpointConfigName",
        "StringEqualsPath": "$.names.config",
    } in first["And"]
    # InService on any other config: SageMaker rolled the update back.
    assert second == {
        "Variable": "$.endpoint.EndpointStatus",
        "StringEquals": "InService",
        "Next": "RolledBack",
    }
    verdict = states()["SmokeTestVerdict"]
    assert [c["Next"] for c in verdict["Choices"]] == ["Deployed", "DeleteUnverifiedEndpoint"]
    assert verdict["Default"] == "RestorePreviousConfig"
