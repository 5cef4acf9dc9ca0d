"""Lambda entry point: smoke-test the endpoint the state machine just deployed.

Invoked by the ``SmokeTest`` task with ``{"endpoint_name", "statistics_uri"}`` (the package's
ModelMetrics statistics URI, so a run's deployment and an approval event's deployment read the
same report). Reads the report, invokes the endpoint with its ``smoke_test.body`` and answers
``{"passed", "rows", "description"}`` (``logic.judge``). A failed check is an answer, not a
function error: only a crash of this function itself is retried by the state machine.
Permissions: s3:GetObject on evaluation/*, sagemaker:InvokeEndpoint on the one endpoint.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

import boto3
from botocore.exceptions import ClientError

# In the zip, handler.py and logic.py sit side by side at the root; in the repository they form
# the package `lambdas.smoke_test`.
try:
    from . import logic
except ImportError:
    import logic  # type: ignore[no-redef,import-not-found,unused-ignore]


@lru_cache(maxsize=1)
def clients() -> tuple[Any, Any]:
    return boto3.client("s3"), boto3.client("sagemaker-runtime")


def _error_text(error: ClientError) -> tuple[str, Any, str]:
    info = error.response.get("Error", {})
    status = error.response.get("OriginalStatusCode") or error.response.get(
        "ResponseMetadata", {}
    ).get("HTTPStatusCode")
    message = error.response.get("OriginalMessage") or info.get("Message", "")
    return info.get("Code", "Error"), status, str(message)


def lambda_handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    s3, runtime = clients()
    try:
        bucket, key = logic.parse_s3_uri(event["statistics_uri"])
        try:
            report = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
        except ClientError as error:
            code, _, message = _error_text(error)
            raise logic.SmokeTestUnavailable(
                f"could not read the evaluation report s3://{bucket}/{key}: {code}: {message}"
            ) from error
        except ValueError as error:
            raise logic.SmokeTestUnavailable(
                f"the evaluation report s3://{bucket}/{key} is not JSON"
            ) from error
        spec = logic.smoke_test_spec(report)
    except logic.SmokeTestUnavailable as error:
        return logic.verdict([f"no smoke test could be run: {error}"], 0)
    rows = len(spec["probabilities"])
    try:
        answer = runtime.invoke_endpoint(
            EndpointName=event["endpoint_name"],
            ContentType=spec["content_type"],
            Accept="application/json",
            Body=spec["body"].encode("utf-8"),
        )["Body"].read()
    except ClientError as error:
        return logic.verdict([logic.endpoint_error(*_error_text(error))], rows)
    return logic.verdict(logic.judge(answer.decode("utf-8", "replace"), spec), rows)
