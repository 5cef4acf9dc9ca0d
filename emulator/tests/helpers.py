"""Small builders the emulator's tests share (the product's tests against the emulator too).

Each makes what a test needs through the AWS API, as a user of the emulator would: a role a
Lambda function can run as, a function, a queue, archives, and a bounded wait.
"""

from __future__ import annotations

import io
import json
import tarfile
import time
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

ACCOUNT = "123456789012"
#: A trust policy that lets Lambda assume the role (CreateFunction checks the role exists).
LAMBDA_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}
DEADLINE_SECONDS = 20.0


def zip_files(files: Mapping[str, str | bytes]) -> bytes:
    """A zip archive holding ``files`` (name -> content), as a function's code."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return out.getvalue()


def tar_gz(files: Mapping[str, Path | str | bytes]) -> bytes:
    """A ``.tar.gz`` holding ``files`` (name -> a file, or its content), as SageMaker ships a
    model artifact or a source directory."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as archive:
        for name, source in sorted(files.items()):
            data = source.read_bytes() if isinstance(source, Path) else source
            raw = data.encode("utf-8") if isinstance(data, str) else data
            info = tarfile.TarInfo(name)
            info.size = len(raw)
            archive.addfile(info, io.BytesIO(raw))
    return out.getvalue()


def lambda_role(iam: Any, name: str = "lambda") -> str:
    """The ARN of role ``name``, trusted by Lambda, created if it does not exist yet."""
    try:
        return str(iam.get_role(RoleName=name)["Role"]["Arn"])
    except iam.exceptions.NoSuchEntityException:
        created = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(LAMBDA_TRUST))
        return str(created["Role"]["Arn"])


def create_function(
    lam: Any,
    iam: Any,
    name: str = "f",
    source: str = "def handler(event, context):\n    return event\n",
) -> str:
    """A Python function ``name`` whose ``handler.handler`` is ``source``; its ARN."""
    created = lam.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=lambda_role(iam),
        Handler="handler.handler",
        Code={"ZipFile": zip_files({"handler.py": source})},
    )
    return str(created["FunctionArn"])


def eventually(probe: Callable[[], Any], what: str, timeout: float = DEADLINE_SECONDS) -> Any:
    """Poll ``probe`` until it returns something truthy, for at most ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not (result := probe()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)
    return result


def create_queue(sqs: Any, name: str) -> tuple[str, str]:
    """A new queue's URL and ARN."""
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
    return url, str(arn["Attributes"]["QueueArn"])


def received(sqs: Any, url: str) -> list[dict[str, Any]]:
    """The messages a receive returns now (up to 10, with their attributes)."""
    return list(
        sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
        ).get("Messages", [])
    )


def allow_rule_to_send(sqs: Any, queue_url: str, rule_arn: str) -> None:
    """A queue policy by which EventBridge may send to the queue for this rule only."""
    arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])
    statement = {
        "Effect": "Allow",
        "Principal": {"Service": "events.amazonaws.com"},
        "Action": "sqs:SendMessage",
        "Resource": arn["Attributes"]["QueueArn"],
        "Condition": {"ArnEquals": {"aws:SourceArn": rule_arn}},
    }
    policy = {"Version": "2012-10-17", "Statement": [statement]}
    sqs.set_queue_attributes(QueueUrl=queue_url, Attributes={"Policy": json.dumps(policy)})


#: A pipeline definition as the SageMaker Python SDK writes one, with concrete values: a
#: processing step, a Condition step on its property file, and behind each branch a tuning
#: step and a processing step that reads its best model.
PIPELINE_DEFINITION = Path(__file__).resolve().parent / "fixtures" / "pipeline_definition.json"


def pipeline_definition() -> dict[str, Any]:
    """A fresh copy of the fixture's definition (``PIPELINE_DEFINITION``)."""
    return dict(json.loads(PIPELINE_DEFINITION.read_text(encoding="utf-8")))
