"""terraform/ wires the drift monitor as its code expects: the schedule's input, the alarm on the
monitor's own metric, the machine's placeholders and the Lambdas' environments."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import hcl2
from hcl2.utils import SerializationOptions

from contracts import monitoring
from lambdas.monitor_outcome import logic as outcome
from lambdas.monitor_plan.settings import Settings as PlanSettings
from ml import monitor_report
from statemachines import BY_NAME

TERRAFORM = Path(__file__).resolve().parents[2] / "terraform"
OPTIONS = SerializationOptions(with_comments=False, explicit_blocks=False, strip_string_quotes=True)


def parsed(name: str) -> dict[str, Any]:
    with (TERRAFORM / name).open() as handle:
        return dict(hcl2.load(handle, serialization_options=OPTIONS))


def resource(name: str, kind: str, label: str) -> dict[str, Any]:
    for block in parsed(name).get("resource", []):
        if label in block.get(kind, {}):
            return dict(block[kind][label])
    raise AssertionError(f"no {kind}.{label} in {name}")


def module_env(label: str) -> set[str]:
    """The environment of function ``label`` (local.lambdas, the one module call's map)."""
    [call] = [block["lambda"] for block in parsed("lambdas.tf")["module"] if "lambda" in block]
    assert call["environment_variables"] == "${try(each.value.environment, {})}"
    return set(local_value("lambdas")[label]["environment"])


def local_value(name: str) -> Any:
    for path in sorted(TERRAFORM.glob("*.tf")):
        for block in parsed(path.name).get("locals", []):
            if name in block:
                return block[name]
    raise AssertionError(f"no local.{name}")


def test_the_schedule_starts_the_machine_with_the_literal_context_attribute() -> None:
    schedule = resource("monitoring.tf", "aws_scheduler_schedule", "monitoring")
    [target] = schedule["target"]
    text = (TERRAFORM / "monitoring.tf").read_text()
    raw = re.search(r'input\s*=\s*"((?:[^"\\]|\\.)*)"', text)
    assert raw, "the schedule's input must be a literal JSON string (not jsonencode)"
    document = json.loads(raw[1].encode().decode("unicode_escape"))
    assert document == {"scheduled_time": "<aws.scheduler.scheduled-time>"}
    assert set(document) <= set(monitoring.INPUT_KEYS)
    assert target["arn"] == '${aws_sfn_state_machine.this["monitoring"].arn}'
    assert schedule["state"] == '${var.monitoring_enabled ? "ENABLED" : "DISABLED"}'


def test_the_drift_alarm_watches_the_monitors_metric_and_never_alarms_on_missing_data() -> None:
    # One resource creates every notifying alarm from local.alarms; the drift alarm is its
    # "drift-detected" entry.
    alarm = resource("monitoring.tf", "aws_cloudwatch_metric_alarm", "this")
    assert alarm["for_each"] == "${local.alarms}"
    assert "drift-detected = local.drift_alarm" in local_value("alarms")
    drift = local_value("drift_alarm")
    assert local_value("drift_metric_namespace") == monitor_report.METRIC_NAMESPACE
    assert drift["namespace"] == "${local.drift_metric_namespace}"
    assert drift["metric"] == monitor_report.DRIFT_DETECTED
    assert set(drift["dimensions"]) == {monitor_report.ENDPOINT_DIMENSION}
    assert drift["notify_ok"] is False
    assert (alarm["namespace"], alarm["metric_name"], alarm["dimensions"]) == (
        "${each.value.namespace}",
        "${each.value.metric}",
        "${each.value.dimensions}",
    )
    assert alarm["treat_missing_data"] == "notBreaching"
    assert alarm["alarm_actions"] == ["${aws_sns_topic.notifications.arn}"]


def test_the_machines_placeholders_and_the_lambdas_environments_match_their_code() -> None:
    machines = local_value("state_machines")
    assert set(machines["monitoring"]["template_vars"]) == BY_NAME["monitoring"].placeholders
    plan_env = {
        "ENDPOINT_NAME",
        "BUCKET",
        "MONITOR_CODE_URI",
        "WINDOW_MINUTES",
        "MIN_ROWS",
        "POLL_INTERVAL_SECONDS",
        "MAX_POLLS",
    }
    PlanSettings.from_env(dict.fromkeys(plan_env, "1"))  # every key it reads is there
    assert module_env("monitor_plan") == plan_env
    outcome_env = {"METRIC_NAMESPACE", "RETRAIN_ON_DRIFT", "RETRAIN_DATA_URI", "UPLOADS_QUEUE_URL"}
    outcome.Settings.from_env(dict.fromkeys(outcome_env, "x"))
    assert module_env("monitor_outcome") == outcome_env
