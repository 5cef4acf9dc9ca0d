"""The emulator's front door (local/aws/core.py): injected faults, idempotency tokens."""

from __future__ import annotations

import json
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

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


# Idempotency tokens: an SDK resends the same ClientRequestToken on every attempt of a call, so a
# retry after a lost answer must get the first answer, not a "must be unique" refusal (a terraform
# apply on a fresh emulator once failed exactly so, aws_sagemaker_pipeline on CreatePipeline).

PIPELINE_DEFINITION = json.dumps({"Version": "2020-12-01", "Steps": []})
ROLE_ARN = "arn:aws:iam::123456789012:role/pipeline"


def _create_pipeline(sm: Any, token: str, name: str = "retried") -> str:
    return str(
        sm.create_pipeline(
            PipelineName=name,
            PipelineDisplayName=name,
            PipelineDefinition=PIPELINE_DEFINITION,
            RoleArn=ROLE_ARN,
            ClientRequestToken=token,
        )["PipelineArn"]
    )


def test_a_create_retried_with_its_idempotency_token_gets_the_first_answer(
    emulator: None,
) -> None:
    sm = boto3.client("sagemaker", config=Config(retries={"total_max_attempts": 1}))
    token = uuid.uuid4().hex
    first = _create_pipeline(sm, token)
    assert _create_pipeline(sm, token) == first
    assert [p["PipelineArn"] for p in sm.list_pipelines()["PipelineSummaries"]] == [first]


def test_a_second_create_with_a_new_token_is_still_refused(emulator: None) -> None:
    sm = boto3.client("sagemaker", config=Config(retries={"total_max_attempts": 1}))
    _create_pipeline(sm, uuid.uuid4().hex)
    with pytest.raises(ClientError) as caught:
        _create_pipeline(sm, uuid.uuid4().hex)
    assert "must be unique" in caught.value.response["Error"]["Message"]


def test_a_token_reused_with_other_parameters_is_carried_out_not_replayed(
    emulator: None,
) -> None:
    sm = boto3.client("sagemaker", config=Config(retries={"total_max_attempts": 1}))
    token = uuid.uuid4().hex
    first = _create_pipeline(sm, token, "first")
    second = _create_pipeline(sm, token, "second")
    assert first != second and second.endswith("/second")


def test_a_refused_call_is_not_replayed_to_its_retry(emulator: None) -> None:
    sm = boto3.client("sagemaker", config=Config(retries={"total_max_attempts": 1}))
    token = uuid.uuid4().hex
    core.inject_fault("sagemaker", "CreatePipeline", "InternalFailure", "boom", status=500)
    with pytest.raises(ClientError):
        _create_pipeline(sm, token)
    assert sm.list_pipelines()["PipelineSummaries"] == []
    assert _create_pipeline(sm, token).endswith("/retried")


def test_concurrent_attempts_with_one_token_carry_the_call_out_once(emulator: None) -> None:
    sm = boto3.client("sagemaker", config=Config(retries={"total_max_attempts": 1}))
    token = uuid.uuid4().hex
    with ThreadPoolExecutor(4) as pool:
        arns = set(pool.map(lambda _: _create_pipeline(sm, token), range(4)))
    assert len(arns) == 1
    assert len(sm.list_pipelines()["PipelineSummaries"]) == 1


def test_a_delete_retried_with_its_token_succeeds_again(emulator: None) -> None:
    sm = boto3.client("sagemaker", config=Config(retries={"total_max_attempts": 1}))
    arn = _create_pipeline(sm, uuid.uuid4().hex)
    token = uuid.uuid4().hex
    for _ in range(2):
        answer = sm.delete_pipeline(PipelineName="retried", ClientRequestToken=token)
        assert answer["PipelineArn"] == arn
    with pytest.raises(ClientError):
        sm.delete_pipeline(PipelineName="retried", ClientRequestToken=uuid.uuid4().hex)
