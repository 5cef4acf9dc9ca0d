"""Fixtures for tests against moto: fake credentials, the emulator with our extensions."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from moto import mock_aws

from emulator import aws
from emulator.aws import core, sagemaker


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)


@pytest.fixture
def emulator(aws_env: None) -> Iterator[None]:
    """moto with Step Functions really executing ASL, and the project's extensions."""
    aws.install_all()
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        yield
    sagemaker.set_pipeline_runner(None)
    core.clear_faults()
