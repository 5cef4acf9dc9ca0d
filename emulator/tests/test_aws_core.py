"""The emulator's front door (emulator/aws/core.py): injected faults, idempotency tokens."""

from __future__ import annotations

import json
import socket
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from emulator.aws import core

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


def test_a_reset_account_forgets_its_tokens(emulator: None) -> None:
    """moto's reset (``mock_aws`` starting, the server's /moto-api/reset) empties every account:
    a token answered before it must not replay a pipeline that no longer exists."""
    from moto.core.base_backend import BackendDict

    sm = boto3.client("sagemaker", config=Config(retries={"total_max_attempts": 1}))
    token = uuid.uuid4().hex
    _create_pipeline(sm, token)
    BackendDict.reset()
    _create_pipeline(sm, token)
    assert len(sm.list_pipelines()["PipelineSummaries"]) == 1


def test_a_replay_is_no_way_around_authorisation(emulator: None) -> None:
    """Another principal sending the same token and parameters is authorised afresh."""
    root = boto3.Session(region_name="us-east-1")
    trust = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}],
    }
    role = root.client("iam").create_role(
        RoleName="nothing-allowed", AssumeRolePolicyDocument=json.dumps(trust)
    )["Role"]["Arn"]
    creds = root.client("sts").assume_role(RoleArn=role, RoleSessionName="stranger")["Credentials"]
    stranger = boto3.client(
        "sagemaker",
        region_name="us-east-1",
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
        config=Config(retries={"total_max_attempts": 1}),
    )
    token = uuid.uuid4().hex
    _create_pipeline(root.client("sagemaker"), token)
    with pytest.raises(ClientError) as denied:
        _create_pipeline(stranger, token)
    assert denied.value.response["Error"]["Code"] == "AccessDeniedException"


class _AnswerLosingProxy:
    """A TCP proxy to the emulator that, once, forwards a CreatePipeline and then closes the
    client's connection without its answer: what an SDK sees when a loaded machine loses the
    answer of a call that was carried out (connection reset, timeout)."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.dropped = 0
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.listener.getsockname()[1])
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._relay, args=(client,), daemon=True).start()

    def _relay(self, client: socket.socket) -> None:
        with client, socket.create_connection(("127.0.0.1", self.upstream_port)) as upstream:
            request = _read_request(client)
            upstream.sendall(request)
            answer = b"".join(iter(lambda: upstream.recv(65536), b""))  # the server closes
            if b"SageMaker.CreatePipeline" in request and self.dropped == 0:
                self.dropped += 1
                return  # carried out, answer lost
            client.sendall(answer)

    def close(self) -> None:
        self.listener.close()


def _read_request(client: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        data += client.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        body += client.recv(65536)
    return head + b"\r\n\r\n" + body


def test_terraform_like_retry_after_a_lost_answer_succeeds_on_the_server(tmp_path: Path) -> None:
    """The flake: the SDK resent CreatePipeline (same ClientRequestToken) after losing the answer
    of the attempt that had created the pipeline, and the emulator refused the retry."""
    from emulator.process import Emulator

    log = tmp_path / "emulator.log"
    with Emulator.start(pipeline_workdir=None, log_path=log) as emu:
        retries = Config(retries={"mode": "standard", "total_max_attempts": 3})

        def client(endpoint_url: str) -> Any:
            return emu.client("sagemaker", endpoint_url=endpoint_url, config=retries)

        proxy = _AnswerLosingProxy(emu.port)
        try:
            arn = _create_pipeline(client(f"http://127.0.0.1:{proxy.port}"), uuid.uuid4().hex)
        finally:
            proxy.close()
        assert proxy.dropped == 1  # the first answer really was lost, and retried
        assert arn.endswith("/retried")
        assert len(client(emu.endpoint_url).list_pipelines()["PipelineSummaries"]) == 1
    # The log says how each attempt was answered (the flake's log could not: "POST / 200").
    lines = log.read_text().splitlines()
    answered = [line for line in lines if "SageMaker.CreatePipeline" in line and '" 200 ' in line]
    assert len(answered) == 2, lines
    assert any("replayed" in line and "sagemaker CreatePipeline" in line for line in lines), lines
