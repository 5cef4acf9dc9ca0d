"""The emulator's front door (local/aws/core.py): injected faults."""

from __future__ import annotations

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from local.aws import core

pytestmark = pytest.mark.integration


def test_injected_fault_fails_the_next_calls_only(emulator: None) -> None:
    sm = boto3.client("sagemaker", config=Config(retries={"total_max_attempts": 1}))
    fault = core.inject_fault("sagemaker", "ListEndpoints", times=2)
    for _ in range(2):
        with pytest.raises(ClientError) as caught:
            sm.list_endpoints()
        assert caught.value.response["Error"]["Code"] == "ThrottlingException"
    assert sm.list_endpoints()["Endpoints"] == []
    assert fault.remaining == 0
