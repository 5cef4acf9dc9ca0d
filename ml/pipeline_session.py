"""The SageMaker SDK, sandboxed: a pipeline session and a context in which it cannot go online.

``ml/pipeline.py`` builds the committed definition with the SDK; nothing of that may depend on
the machine (AWS profiles, credentials, the SDK's config files) or reach the network.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import warnings
from collections.abc import Iterator, Mapping
from typing import Any

import boto3
from sagemaker.workflow.pipeline_context import PipelineSession

# The session needs some region; it only leaks into the `sagemaker_region` hyperparameter,
# which ml/pipeline.py's _strip_run_specific_hyperparameters() removes.
_GENERATION_REGION = "us-east-1"


def _offline_boto_session(region: str = _GENERATION_REGION) -> boto3.Session:
    """A boto3 session with dummy credentials, so no credential provider chain runs."""
    return boto3.Session(
        aws_access_key_id="offline",
        aws_secret_access_key="offline",  # dummy: no request is ever signed
        region_name=region,
    )


class OfflinePipelineSession(PipelineSession):
    """PipelineSession whose default bucket is a plain name, never looked up or created.

    The stock ``default_bucket()`` calls S3 (head/create bucket) even when a name is given; the
    estimator asks for it while staging code, which here is already an S3 tarball.
    """

    def __init__(self, bucket: str, region: str = _GENERATION_REGION) -> None:
        boto_session = _offline_boto_session(region)
        # An explicit config stops the SDK from reading user/system config files, which would
        # make the output depend on the machine. It is then emptied: the SDK re-validates a
        # non-empty config against its JSON schema on every lookup (seconds per build).
        super().__init__(
            boto_session=boto_session,
            default_bucket=bucket,
            sagemaker_config={"SchemaVersion": "1.0"},
        )
        self.sagemaker_config: dict[str, Any] = {}
        self._offline_bucket = bucket

    def default_bucket(self) -> str:
        return self._offline_bucket


# Settings that could make boto3 read a profile (and fail on a missing one) or real credentials.
_AWS_ENV_OVERRIDES: Mapping[str, str | None] = {
    "AWS_PROFILE": None,
    "AWS_DEFAULT_PROFILE": None,
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
}


@contextlib.contextmanager
def offline() -> Iterator[None]:
    """Run SDK code with no way out: sockets refuse to connect, AWS config is ignored.

    A refused socket turns any hidden SDK call into a loud error. boto3's default session is
    replaced too, because the Estimator builds a client with ``boto3.client(...)``
    (TensorBoardApp) instead of the session it was given, which would otherwise look for
    credentials (profiles, the EC2 metadata service).
    """

    def refuse(*_args: Any, **_kwargs: Any) -> None:
        raise RuntimeError("network access attempted while generating the pipeline definition")

    saved_env = {name: os.environ.get(name) for name in _AWS_ENV_OVERRIDES}
    original_connect = socket.socket.connect
    original_default = boto3.DEFAULT_SESSION
    _set_env(_AWS_ENV_OVERRIDES)
    socket.socket.connect = refuse  # type: ignore[method-assign]
    boto3.DEFAULT_SESSION = _offline_boto_session()
    try:
        yield
    finally:
        socket.socket.connect = original_connect  # type: ignore[method-assign]
        boto3.DEFAULT_SESSION = original_default
        _set_env(saved_env)


def _set_env(values: Mapping[str, str | None]) -> None:
    """Set environment variables; ``None`` removes one."""
    for name, value in values.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@contextlib.contextmanager
def quiet_sdk() -> Iterator[None]:
    """Hide the SDK's expected chatter (no-wait notices, popped job names) during generation."""
    sdk_logger = logging.getLogger("sagemaker")
    level = sdk_logger.level
    sdk_logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            # UserWarning: "no wait, no logs" notices; FutureWarning: the SDK's v2 deprecation.
            warnings.simplefilter("ignore", UserWarning)
            warnings.simplefilter("ignore", FutureWarning)
            yield
    finally:
        sdk_logger.setLevel(level)
