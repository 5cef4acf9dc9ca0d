"""The deployment settings Terraform gives the planning function (environment variables)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class AlarmSpec:
    """One rollback alarm, created per deployment on the new fleet's EndpointConfigName."""

    suffix: str
    metric: str
    statistic: str
    threshold: float
    period: int = 60
    evaluation_periods: int = 1
    comparison: str = "GreaterThanOrEqualToThreshold"


@dataclass(frozen=True)
class Settings:
    endpoint_name: str
    model_package_group: str
    name_prefix: str
    variant_name: str
    instance_type: str
    instance_count: int
    capture_percent: int
    capture_destination: str
    traffic: str
    canary_percent: int
    baking_seconds: int
    termination_wait_seconds: int
    max_execution_seconds: int
    alarms: tuple[AlarmSpec, ...]
    poll_interval_seconds: int
    max_polls: int

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        guardrails: dict[str, Any] = json.loads(environ["GUARDRAILS_JSON"])
        return cls(
            endpoint_name=environ["ENDPOINT_NAME"],
            model_package_group=environ["MODEL_PACKAGE_GROUP"],
            name_prefix=environ["MODEL_NAME_PREFIX"],
            variant_name=environ["VARIANT_NAME"],
            instance_type=environ["INSTANCE_TYPE"],
            instance_count=int(environ["INSTANCE_COUNT"]),
            capture_percent=int(environ["CAPTURE_PERCENT"]),
            capture_destination=environ["CAPTURE_DESTINATION"],
            traffic=str(guardrails["traffic"]),
            canary_percent=int(guardrails["canary_percent"]),
            baking_seconds=int(guardrails["baking_seconds"]),
            termination_wait_seconds=int(guardrails["termination_wait_seconds"]),
            max_execution_seconds=int(guardrails["max_execution_seconds"]),
            alarms=tuple(AlarmSpec(**alarm) for alarm in guardrails["alarms"]),
            poll_interval_seconds=int(environ["POLL_INTERVAL_SECONDS"]),
            max_polls=int(environ["MAX_POLLS"]),
        )
