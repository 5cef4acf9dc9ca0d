"""Lambda entry point: a batch of queued requests -> at most one execution at a time.

Thin by design: it reads the environment, owns the function's AWS clients, and hands both to
`logic.handle_batch`, whose partial batch response keeps waiting requests in the queue. One code,
two functions: REQUESTS=uploads (S3 uploads and training requests -> the training machine) and
REQUESTS=deployments (approvals and deployment requests -> the deployment machine).
Environment: STATE_MACHINE_ARN and NOTIFICATION_TOPIC_ARN (required), REQUESTS, ENDPOINT_NAME
(required for deployments), QUEUE_URL, RETRY_DELAY_SECONDS, DATA_PREFIX (default `data/raw/`),
LOG_LEVEL (default INFO); `logic.load_config` says what each means.
"""

from __future__ import annotations

import os
from functools import lru_cache

import boto3

# In the zip, the trigger's modules sit side by side at the root; in the repository they form
# the package `lambdas.trigger`. The relative import fails with ImportError outside a package.
try:
    from . import logic
except ImportError:
    import logic  # type: ignore[no-redef,import-not-found,unused-ignore]

logic.LOGGER.setLevel(logic.log_level(os.environ.get(logic.LOG_LEVEL_ENV)))


@lru_cache(maxsize=1)
def clients() -> logic.Clients:
    """The function's clients, created on first use and reused by warm invocations."""
    return logic.Clients(
        stepfunctions=boto3.client("stepfunctions"),
        sns=boto3.client("sns"),
        sqs=boto3.client("sqs"),
        s3=boto3.client("s3"),
        sagemaker=boto3.client("sagemaker"),
    )


def lambda_handler(event: dict[str, object], context: object) -> logic.BatchResponse:
    """Start, keep waiting, or report each queued request; see `logic.handle_batch`."""
    config = logic.load_config(os.environ)
    return logic.handle_batch(event, clients(), config)
