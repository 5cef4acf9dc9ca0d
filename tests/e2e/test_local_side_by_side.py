"""`make demo` next to a running `make local-up` session, as people run them.

The session is a real `make local-up` (emulator in the background, the real Terraform applied);
the demo is a real `make demo` (its own emulator, apply and run, with the cheapest settings).
Afterwards the session's files, its emulator, its record and its resources are as they were,
and a run in the session still trains (its pipeline work directory was not wiped).
"""

from __future__ import annotations

import hashlib
import io
import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from contracts import training_request
from emulator import process as emulator_module
from harness import demo
from harness.demo import Console, LocalDirs
from ops.executions import describe, execution_arn

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
CHEAP = ["--tuning-jobs", "1"]


def _snapshot(directory: Path) -> dict[str, str]:
    """Every file's digest, but the emulator's log (the running session appends to it)."""
    return {
        str(path.relative_to(directory)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(directory.rglob("*"))
        if path.is_file() and path.name != "emulator.log"
    }


def _client(endpoint_url: str, service: str) -> Any:
    return boto3.client(  # type: ignore[call-overload]
        service,
        endpoint_url=endpoint_url,
        region_name=demo.REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def _wait_for_run(sfn: Any, arn: str, timeout: float) -> dict[str, Any]:
    """DescribeExecution once the run exists (the trigger starts it) and has ended."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        described = describe(sfn, arn)
        if described is not None and described["status"] != "RUNNING":
            return described
        time.sleep(2)
    raise AssertionError(f"{arn} had not ended after {timeout:.0f} s")


@pytest.fixture
def session(tmp_path: Path) -> Iterator[LocalDirs]:
    """A `make local-up` session in its own state directory, stopped afterwards."""
    dirs = LocalDirs(tmp_path)
    out = io.StringIO()
    code = demo.main(["up", "--state-dir", str(tmp_path), *CHEAP], Console(out))
    assert code == 0, out.getvalue()
    try:
        yield dirs
    finally:
        emulator_module.down(dirs.state_file)


def test_demo_next_to_a_running_session_leaves_it_intact_and_usable(session: LocalDirs) -> None:
    record = emulator_module.read_state(session.state_file)
    assert record is not None
    outputs = json.loads((session.session / "outputs.json").read_text())
    s3 = _client(record["endpoint_url"], "s3")
    s3.put_object(Bucket=outputs["bucket_name"], Key="notes/mine.txt", Body=b"kept")
    before = _snapshot(session.session)

    out = io.StringIO()
    code = demo.main(["--state-dir", str(session.root), "--no-deploy", *CHEAP], Console(out))

    assert code == 0, out.getvalue()
    assert f"emulator: {record['endpoint_url']}  (" not in out.getvalue(), "its own emulator"
    assert (session.demo / "emulator.log").exists(), "the demo worked in its own directory"
    assert emulator_module.read_state(session.state_file) == record
    assert emulator_module.is_healthy(record["endpoint_url"])
    assert _snapshot(session.session) == before
    kept = s3.get_object(Bucket=outputs["bucket_name"], Key="notes/mine.txt")["Body"].read()
    assert kept == b"kept"

    # Still usable: a run requested as `make start` requests one (a training request on the
    # session's uploads queue) trains to the end (no deploy: the cheap path).
    request_id = str(uuid.uuid4())
    _client(record["endpoint_url"], "sqs").send_message(
        QueueUrl=outputs["uploads_queue_url"],
        MessageBody=training_request.message(
            {"deploy": False}, reason="after-the-demo", requested_by="e2e", request_id=request_id
        ),
        MessageGroupId=training_request.UPLOADS_GROUP,
        MessageDeduplicationId=request_id,
    )
    name = training_request.execution_name("after-the-demo", request_id)
    arn = execution_arn(outputs["training_state_machine_arn"], name)
    sfn = _client(record["endpoint_url"], "stepfunctions")
    described = _wait_for_run(sfn, arn, timeout=900)
    assert described["status"] == "SUCCEEDED", (described.get("error"), described.get("cause"))
    assert (session.session / "pipelines").is_dir()
