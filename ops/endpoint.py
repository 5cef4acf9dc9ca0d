"""``make endpoint-down``: delete the endpoint (the one thing that costs while idle), its config
and the config's models, and wait until the endpoint is gone."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from ops.aws import is_not_found
from ops.errors import WaitTimeout
from ops.session import Command, Context, Result

DELETE_TIMEOUT_SECONDS = 900.0
DELETE_POLL_SECONDS = 2.0


@dataclass
class Teardown:
    endpoint: str | None = None
    endpoint_config: str | None = None
    models: list[str] = field(default_factory=list)


def wait_until_gone(
    sagemaker: Any,
    endpoint_name: str,
    timeout: float = DELETE_TIMEOUT_SECONDS,
    *,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> None:
    """Poll DescribeEndpoint until it answers "not found"; WaitTimeout past ``timeout``."""
    deadline = clock() + timeout
    while True:
        try:
            status = sagemaker.describe_endpoint(EndpointName=endpoint_name)["EndpointStatus"]
        except ClientError as err:
            if is_not_found(err):
                return
            raise
        if clock() >= deadline:
            raise WaitTimeout(
                f"endpoint {endpoint_name} is still {status} after {timeout:.0f} s: its "
                "deletion goes on; run the command again later"
            )
        sleep(DELETE_POLL_SECONDS)


def delete_if_present(delete: Callable[..., Any], **kwargs: str) -> bool:
    try:
        delete(**kwargs)
    except ClientError as err:
        if is_not_found(err):
            return False
        raise
    return True


def delete_endpoint(sagemaker: Any, endpoint_name: str, **wait: Any) -> bool:
    """DeleteEndpoint (unless already deleting), then wait until it is gone: DeleteEndpoint
    only starts the deletion. False when there was no endpoint."""
    try:
        described = sagemaker.describe_endpoint(EndpointName=endpoint_name)
    except ClientError as err:
        if is_not_found(err):
            return False
        raise
    if described.get("EndpointStatus") != "Deleting":
        delete_if_present(sagemaker.delete_endpoint, EndpointName=endpoint_name)
    wait_until_gone(sagemaker, endpoint_name, **wait)
    return True


def endpoint_down(sagemaker: Any, endpoint_name: str, **wait: Any) -> Teardown:
    """Delete the endpoint, its config and the config's models. An empty ``Teardown`` means
    there was no endpoint; pieces already gone are skipped, so a re-run finishes the job."""
    done = Teardown()
    try:
        config_name = sagemaker.describe_endpoint(EndpointName=endpoint_name)["EndpointConfigName"]
    except ClientError as err:
        if is_not_found(err):
            return done
        raise
    models: list[str] = []
    try:
        config = sagemaker.describe_endpoint_config(EndpointConfigName=config_name)
        models = [v["ModelName"] for v in config.get("ProductionVariants", []) if "ModelName" in v]
    except ClientError as err:
        if not is_not_found(err):
            raise
        config_name = None
    delete_endpoint(sagemaker, endpoint_name, **wait)
    done.endpoint = endpoint_name
    if config_name and delete_if_present(
        sagemaker.delete_endpoint_config, EndpointConfigName=config_name
    ):
        done.endpoint_config = config_name
    done.models = [m for m in models if delete_if_present(sagemaker.delete_model, ModelName=m)]
    return done


def run(ctx: Context) -> Result:
    endpoint = ctx.output("endpoint_name")
    done = endpoint_down(ctx.clients.sagemaker, endpoint)
    if done.endpoint is None:
        text = f"endpoint {endpoint} does not exist: nothing to delete (no endpoint cost)."
    else:
        lines = [f"deleted endpoint {done.endpoint}"]
        if done.endpoint_config:
            lines.append(f"deleted endpoint config {done.endpoint_config}")
        lines += [f"deleted model {m}" for m in done.models]
        text = "\n".join(lines)
    return Result(asdict(done), text)


COMMAND = Command("endpoint-down", "delete the endpoint, its config and model", run)
