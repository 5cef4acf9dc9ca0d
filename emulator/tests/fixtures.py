"""The fixtures for code that runs against the emulator in-process (moto's ``mock_aws`` with the
extensions installed): the emulator's own tests and the product's integration tests import them
into their ``conftest.py``, so each is defined once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from emulator import aws
from emulator.aws import core, lambda_, sagemaker, sqs
from emulator.aws.iam import keys

REGION = "us-east-1"
#: Clients the ``clients`` fixture makes before the test runs (others are made on first use).
SERVICES = (
    "cloudwatch",
    "events",
    "iam",
    "kms",
    "lambda",
    "logs",
    "s3",
    "sagemaker",
    "sns",
    "sqs",
    "stepfunctions",
    "sts",
)
#: How long a test's asynchronous deliveries and the SQS poller get to finish.
DEADLINE_SECONDS = 60.0


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The emulator's local user's credentials and a region; nothing of the machine's AWS
    configuration (no session token: the local user is a long-term key, ``aws/iam/keys.py``)."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": keys.DEFAULT_LOCAL_ACCESS_KEY_ID,
        "AWS_SECRET_ACCESS_KEY": keys.DEFAULT_LOCAL_SECRET_ACCESS_KEY,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
    }.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", keys.LOCAL_ACCESS_KEY_ID_ENV):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)


@pytest.fixture
def execute_state_machines() -> bool:
    """Whether Step Functions really executes the ASL. A module overrides this fixture with
    ``False`` to keep started executions RUNNING until stopped."""
    return True


@pytest.fixture
def emulator(aws_env: None, execute_state_machines: bool) -> Iterator[None]:
    """moto with the extensions installed (``emulator.aws.install_all``)."""
    aws.install_all()
    config = {
        "stepfunctions": {"execute_state_machine": execute_state_machines},
        # moto would sign every client with its own FOOBARKEY, a key the emulator never issued:
        # clients keep the local user's key from ``aws_env``.
        "core": {"mock_credentials": False},
    }
    with mock_aws(config=config):  # type: ignore[arg-type]
        yield
    sagemaker.set_pipeline_runner(None)
    sagemaker.set_processing_job_runner(None)
    core.clear_faults()


@pytest.fixture
def clients(emulator: None) -> Iterator[Callable[[str], Any]]:
    """``clients(service)``: one boto3 client per service for the whole test.

    They are made before the test runs: making a client reads ``os.environ``, which an
    in-process Lambda changes process-wide while it runs (``emulator/aws/lambda_.py``), so a
    client made mid-run could see another function's environment. Afterwards in-flight
    deliveries are awaited and the SQS poller stops before moto does, then starts again.
    """
    lambda_.clear_lambda_cache()
    factory: Callable[..., Any] = boto3.client
    made = {service: factory(service, region_name=REGION) for service in SERVICES}

    def client(service: str) -> Any:
        if service not in made:
            made[service] = factory(service, region_name=REGION)
        return made[service]

    yield client
    assert core.wait_for_deliveries(timeout=DEADLINE_SECONDS)
    assert sqs.reset(timeout=DEADLINE_SECONDS)
    sqs.install()
    lambda_.clear_lambda_cache()
