"""Guarded deployment: the ASL's deployment path, Terraform's settings and alarms,
and the smoke-test Lambda's handler, without AWS."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

import botocore.session
import hcl2
import pytest
from botocore.exceptions import ClientError

from lambdas.smoke_test import handler
from statemachines.training_pipeline import build_definition

ROOT = Path(__file__).resolve().parents[2]
TERRAFORM_DIR = ROOT / "terraform"
GUARDRAILS_TF = TERRAFORM_DIR / "deployment_guardrails.tf"
SETTINGS = re.compile(r"\$\.guardrails\.settings\.([a-z_]+)")


def states() -> dict[str, Any]:
    found: dict[str, Any] = build_definition()["States"]
    return found


def variable_defaults() -> dict[str, Any]:
    """Every main-root variable's default (the execution settings' are generated)."""
    found: dict[str, Any] = {}
    for path in sorted(TERRAFORM_DIR.glob("*.tf")):
        with path.open() as handle:
            parsed = hcl2.load(handle)
        for block in parsed.get("variable", []):
            found.update({name.strip('"'): body.get("default") for name, body in block.items()})
    return found


def guardrail_keys() -> set[str]:
    text = GUARDRAILS_TF.read_text(encoding="utf-8")
    block = text[text.index("deployment_guardrails = {") :]
    block = block[: block.index("\n  }")]
    return set(re.findall(r"^\s+([a-z_]+)\s+=", block, re.M)) - {"deployment_guardrails"}


def test_every_update_is_a_blue_green_canary_with_automatic_rollback() -> None:
    parameters = states()["UpdateEndpoint"]["Parameters"]
    config = parameters["DeploymentConfig"]
    policy = config["BlueGreenUpdatePolicy"]
    assert policy["TrafficRoutingConfiguration"] == {
        "Type": "CANARY",
        "CanarySize": {
            "Type": "CAPACITY_PERCENT",
            "Value.$": "$.guardrails.settings.canary_percent",
        },
        "WaitIntervalInSeconds.$": "$.guardrails.settings.baking_seconds",
    }
    assert config["AutoRollbackConfiguration"] == {"Alarms.$": "$.guardrails.settings.alarms"}
    model = botocore.session.get_session().get_service_model("sagemaker")
    members = model.shape_for("UpdateEndpointInput").members
    assert set(config) <= set(members["DeploymentConfig"].members)
    blue_green = members["DeploymentConfig"].members["BlueGreenUpdatePolicy"].members
    assert {key.removesuffix(".$") for key in policy} <= set(blue_green)


def test_the_restore_and_a_first_create_carry_no_deployment_config() -> None:
    # The restore runs while the alarms may still be in ALARM because of the failed model.
    assert "DeploymentConfig" not in states()["RestorePreviousConfig"]["Parameters"]
    assert "DeploymentConfig" not in states()["CreateEndpoint"]["Parameters"]


def test_the_asl_reads_only_settings_terraform_provides() -> None:
    used = set(SETTINGS.findall(json.dumps(build_definition())))
    assert used
    assert used == guardrail_keys()


def test_the_rollback_alarms_are_the_endpoint_alarms_terraform_creates() -> None:
    text = GUARDRAILS_TF.read_text(encoding="utf-8")
    assert re.search(r'alarm_name\s+= "\$\{local.name\}-endpoint-\$\{each.key\}"', text)
    assert '{ AlarmName = "${local.name}-endpoint-${key}" }' in text
    assert "for_each = local.endpoint_alarms" in text
    for metric in ("Invocation5XXErrors", "Invocation4XXErrors", "ModelLatency"):
        assert f'metric    = "{metric}"' in text
    # ModelLatency is reported in microseconds.
    assert "threshold = var.endpoint_latency_threshold_ms * 1000" in text


def test_the_defaults_satisfy_sagemakers_constraints() -> None:
    defaults = variable_defaults()
    model = botocore.session.get_session().get_service_model("sagemaker")
    wait = model.shape_for("WaitIntervalInSeconds").metadata
    termination = model.shape_for("TerminationWaitInSeconds").metadata
    timeout = model.shape_for("MaximumExecutionTimeoutInSeconds").metadata
    baking = defaults["deployment_baking_seconds"]
    assert wait["min"] <= baking <= wait["max"]
    terminate = defaults["deployment_termination_wait_seconds"]
    assert termination["min"] <= terminate <= termination["max"]
    # terraform/deployment_guardrails.tf: min(28800, max(600, 1800 + 2 x baking + termination))
    maximum = min(28800, max(600, 1800 + 2 * baking + terminate))
    assert timeout["min"] <= maximum <= timeout["max"]
    assert maximum > baking + terminate
    # At most 50% of the fleet, in whole instances, at least one.
    count, percent = defaults["endpoint_instance_count"], defaults["deployment_canary_percent"]
    assert percent <= 50
    assert count * percent % 100 == 0 and count * percent // 100 >= 1
    # The state machine waits out both baking periods.
    polls = defaults["endpoint_poll_interval_seconds"] * defaults["endpoint_max_polls"]
    assert polls >= 2 * baking + terminate


def test_the_smoke_test_runs_only_once_the_new_config_serves() -> None:
    choice = states()["EndpointStatus"]["Choices"]
    first, second = choice[0], choice[1]
    assert first["Next"] == "ReadSmokeTestSource"
    assert {
        "Variable": "$.endpoint.EndpointConfigName",
        "StringEqualsPath": "$.deployment_names.name",
    } in first["And"]
    # InService on any other config: SageMaker rolled the update back.
    assert second == {
        "Variable": "$.endpoint.EndpointStatus",
        "StringEquals": "InService",
        "Next": "FindTrippedAlarms",
    }
    verdict = states()["SmokeTestVerdict"]
    assert verdict["Choices"][0]["Next"] == "Deployed"
    assert verdict["Choices"][1]["Next"] == "DeleteUnverifiedEndpoint"
    assert verdict["Default"] == "StartRestore"


def test_every_attempt_is_recorded_before_it_ends() -> None:
    found = states()
    assert found["Deployed"]["Next"] == "NoteDeployed"
    assert found["NoteDeployed"]["Next"] == "RecordDeployment"
    for name in ("RecordDeployment", "RecordFailedDeployment"):
        parameters = found[name]["Parameters"]
        assert parameters["Key.$"].startswith("States.Format('deployments/${endpoint_name}/")
        assert parameters["Body.$"] == "States.JsonToString($.record)"


# ---- the handler, with fake clients ----------------------------------------------------------

REPORT = {
    "dataset_contract": {"class_names": ["a", "b"]},
    "smoke_test": {"body": "1,2\n", "probabilities": [[0.25, 0.75]], "tolerance": 1e-4},
}


class FakeS3:
    def __init__(self, body: bytes | None) -> None:
        self.body = body

    def get_object(self, Bucket: str, Key: str) -> dict[str, Any]:
        if self.body is None:
            raise ClientError(
                {"Error": {"Code": "NoSuchKey", "Message": "The specified key does not exist."}},
                "GetObject",
            )
        return {"Body": io.BytesIO(self.body)}


class FakeRuntime:
    def __init__(self, answer: bytes | ClientError) -> None:
        self.answer = answer
        self.calls: list[dict[str, Any]] = []

    def invoke_endpoint(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(kwargs)
        if isinstance(self.answer, ClientError):
            raise self.answer
        return {"Body": io.BytesIO(self.answer)}


def run(monkeypatch: pytest.MonkeyPatch, s3: FakeS3, runtime: FakeRuntime) -> dict[str, Any]:
    monkeypatch.setattr(handler, "clients", lambda: (s3, runtime))
    event = {"endpoint_name": "ep", "statistics_uri": "s3://b/evaluation/x/evaluation.json"}
    return handler.lambda_handler(event, None)


def test_the_handler_sends_the_reports_rows_and_passes_a_matching_answer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    runtime = FakeRuntime(b"[[0.25, 0.75]]")
    verdict = run(monkeypatch, FakeS3(json.dumps(REPORT).encode()), runtime)
    assert verdict["passed"] is True
    [call] = runtime.calls
    assert call["EndpointName"] == "ep"
    assert call["Body"] == b"1,2\n"
    assert call["ContentType"] == "text/csv"


def test_a_model_error_is_described_with_its_status(monkeypatch: pytest.MonkeyPatch) -> None:
    error = ClientError(
        {
            "Error": {"Code": "ModelError", "Message": "Received server error (500) ..."},
            "OriginalStatusCode": 500,
            "OriginalMessage": "unable to evaluate payload provided",
        },
        "InvokeEndpoint",
    )
    verdict = run(monkeypatch, FakeS3(json.dumps(REPORT).encode()), FakeRuntime(error))
    assert verdict == {
        "passed": False,
        "rows": 1,
        "description": "the endpoint answered 500 ModelError: unable to evaluate payload provided",
    }


def test_a_missing_report_fails_without_invoking(monkeypatch: pytest.MonkeyPatch) -> None:
    runtime = FakeRuntime(b"[]")
    verdict = run(monkeypatch, FakeS3(None), runtime)
    assert verdict["passed"] is False
    assert verdict["description"].startswith(
        "no smoke test could be run: could not read the evaluation report "
        "s3://b/evaluation/x/evaluation.json: NoSuchKey"
    )
    assert runtime.calls == []
