"""The monitoring settings Terraform gives the planning function (environment variables)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Settings:
    endpoint_name: str
    bucket: str
    #: s3://<bucket>/code/monitor-<hash>/: the monitor's code bundle (ml/code_bundles.json).
    code_uri: str
    window_minutes: int
    min_rows: int
    poll_interval_seconds: int
    max_polls: int

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        return cls(
            endpoint_name=environ["ENDPOINT_NAME"],
            bucket=environ["BUCKET"],
            code_uri=environ["MONITOR_CODE_URI"],
            window_minutes=int(environ["WINDOW_MINUTES"]),
            min_rows=int(environ["MIN_ROWS"]),
            poll_interval_seconds=int(environ["POLL_INTERVAL_SECONDS"]),
            max_polls=int(environ["MAX_POLLS"]),
        )
