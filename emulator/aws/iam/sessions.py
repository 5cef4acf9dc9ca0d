"""Role sessions the emulator's services act with, assumed from the emulator's own STS.

Step Functions tasks run as the state machine's role, Lambda functions as their execution role,
SageMaker jobs as their RoleArn: each is a real STS session, so the role's policies decide what
it may do. The access keys of these sessions are the emulator's own (``INTERNAL_KEYS``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from emulator import credentials as local_user
from emulator.aws.iam.backends import session_of
from emulator.aws.iam.policy import trust_allows_service

# Step Functions tasks run as the state machine's role. moto's interpreter builds every task's
# client with ``boto_client_for(region, service, state_credentials)`` and fixed keys "ak"/"sk"
# (the account's root here); on AWS, Step Functions assumes the execution role (or the task's
# ``Credentials.RoleArn``) and calls the service with that session, so its policy decides.
# https://docs.aws.amazon.com/step-functions/latest/dg/procedure-create-iam-role.html
#: role ARN -> (credentials, expiry in monotonic seconds)
_task_sessions: dict[str, tuple[dict[str, str], float]] = {}
#: Access keys of those sessions. Their requests come from the emulator's own interpreter over
#: its loopback (plain http); on AWS, Step Functions calls services over TLS, so for them
#: ``aws:SecureTransport`` is true. No caller outside the emulator ever sees these keys.
INTERNAL_KEYS: set[str] = set()
TASK_SESSION_SECONDS = 3600


def assumable_by(service: str, role_arn: str) -> bool:
    """The role exists and trusts ``service`` with ``aws:SourceAccount`` = its account (the
    state machine's ARN, ``aws:SourceArn``, is not known where the client is built)."""
    from moto.iam.models import iam_backends

    try:
        _, partition, _, _, account, _ = role_arn.split(":", 5)
        role = iam_backends[account][partition].get_role_by_arn(role_arn)
        trust = json.loads(role.assume_role_policy_document)
        return trust_allows_service(trust, service, {"aws:sourceaccount": (account,)})
    except Exception:  # malformed ARN, no such role, unreadable trust policy
        return False


def task_credentials(
    root_client: Callable[[str, str], Any], region: str, role_arn: str
) -> dict[str, str]:
    """A session of ``role_arn`` for a task, assumed with the root client, reused for an hour."""
    import time

    cached = _task_sessions.get(role_arn)
    if (
        cached is not None
        and cached[1] > time.monotonic() + 60
        and session_of(cached[0]["aws_access_key_id"]) is not None  # not lost in a reset
    ):
        return cached[0]
    creds = root_client(region, "sts").assume_role(
        RoleArn=role_arn, RoleSessionName="StepFunctions", DurationSeconds=TASK_SESSION_SECONDS
    )["Credentials"]
    session = {
        "aws_access_key_id": creds["AccessKeyId"],
        "aws_secret_access_key": creds["SecretAccessKey"],
        "aws_session_token": creds["SessionToken"],
    }
    _task_sessions[role_arn] = (session, time.monotonic() + TASK_SESSION_SECONDS)
    INTERNAL_KEYS.add(session["aws_access_key_id"])
    return session


# Other services act as a role too: Lambda runs a function with its execution role's
# credentials ("Lambda assumes the execution role ... and passes the credentials to the
# function's runtime", https://docs.aws.amazon.com/lambda/latest/dg/lambda-intro-execution-role.html),
# with the function's name as the session name; EventBridge calls a target as the target's
# RoleArn (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-identity-based.html).
#: (service, role ARN, session name) -> (credentials, expiry in monotonic seconds)
_service_sessions: dict[tuple[str, str, str], tuple[dict[str, str], float]] = {}
#: AssumeRole's longest session: a warm function keeps the clients it made with them.
SERVICE_SESSION_SECONDS = 43200


def service_role_credentials(
    service: str, role_arn: str, session_name: str, region: str
) -> dict[str, str] | None:
    """Credentials of ``role_arn`` for ``service`` acting as it, from AssumeRole on the
    emulator's STS, reused while valid; ``None`` when the role does not exist or does not trust
    ``service`` (the caller keeps its known fallback, as Step Functions tasks do)."""
    import time

    from moto.sts.models import sts_backends
    from moto.utilities.utils import get_partition

    if not assumable_by(service, role_arn):
        return None
    key = (service, role_arn, session_name)
    cached = _service_sessions.get(key)
    if (
        cached is not None
        and cached[1] > time.monotonic() + 300
        and session_of(cached[0]["aws_access_key_id"]) is not None  # not lost in a reset
    ):
        return cached[0]
    account = role_arn.split(":")[4]
    assumed = sts_backends[account][get_partition(region)].assume_role(
        region_name=region,
        role_session_name=session_name,
        role_arn=role_arn,
        policy=None,  # type: ignore[arg-type]  # moto's own AssumeRole passes None when absent
        duration=SERVICE_SESSION_SECONDS,
        external_id=None,  # type: ignore[arg-type]
    )
    session = {
        "aws_access_key_id": assumed.access_key_id,
        "aws_secret_access_key": assumed.secret_access_key,
        "aws_session_token": assumed.session_token,
    }
    _service_sessions[key] = (session, time.monotonic() + SERVICE_SESSION_SECONDS)
    # The service calls AWS over TLS; here its calls reach the emulator over loopback.
    INTERNAL_KEYS.add(session["aws_access_key_id"])
    return session


def root_client(original: Callable[..., Any]) -> Callable[[str, str], Any]:
    """moto's interpreter client factory, signed as the configured local user (the root)."""

    def make(region: str, service: str) -> Any:
        import boto3

        client = original(region, service)
        return boto3.client(
            service,  # type: ignore[call-overload]
            region_name=region,
            endpoint_url=client.meta.endpoint_url,
            config=client.meta.config,
            aws_access_key_id=local_user.local_access_key_id(),
            aws_secret_access_key=local_user.local_secret_access_key(),
        )

    return make


def _task_client_factory(original: Callable[..., Any]) -> Callable[..., Any]:
    def boto_client_for(region: str, service: str, state_credentials: Any = None) -> Any:
        import boto3

        role_arn = getattr(state_credentials, "role_arn", None)
        client = original(region, service, state_credentials)
        if not role_arn or not assumable_by("states.amazonaws.com", role_arn):
            # A role Step Functions cannot assume (missing, or not trusting
            # states.amazonaws.com) keeps the account's root: a known gap, since on AWS
            # CreateStateMachine refuses such a role; tests/helpers/stack.py still builds its
            # state machine with one. moto signs that client with a made-up key ("ak"), which
            # the emulator refuses like any unknown key: it is the local user's instead.
            creds: Mapping[str, str | None] = {
                "aws_access_key_id": local_user.local_access_key_id(),
                "aws_secret_access_key": local_user.local_secret_access_key(),
                "aws_session_token": None,
            }
        else:
            creds = task_credentials(root_client(original), region, role_arn)
        return boto3.client(
            service,  # type: ignore[call-overload]
            region_name=region,
            endpoint_url=client.meta.endpoint_url,
            config=client.meta.config,
            aws_access_key_id=creds["aws_access_key_id"],
            aws_secret_access_key=creds["aws_secret_access_key"],
            aws_session_token=creds["aws_session_token"],
        )

    return boto_client_for


def install_task_credentials() -> None:
    """Replace ``boto_client_for`` in every interpreter module that imported it."""
    import importlib
    import pkgutil
    import sys

    from moto.stepfunctions.parser.asl.utils import boto_client

    original = boto_client.boto_client_for
    replacement = _task_client_factory(original)
    package = importlib.import_module("moto.stepfunctions.parser.asl.component.state.exec")
    for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        importlib.import_module(info.name)
    boto_client.boto_client_for = replacement  # type: ignore[assignment]
    for name, module in list(sys.modules.items()):
        if name.startswith("moto.stepfunctions.parser") and (
            getattr(module, "boto_client_for", None) is original
        ):
            module.boto_client_for = replacement  # type: ignore[attr-defined]


def is_internal_key(access_key_id: str) -> bool:
    """Whether the key is one of the emulator's own service sessions (see ``INTERNAL_KEYS``)."""
    return access_key_id in INTERNAL_KEYS


def forget_sessions() -> None:
    """Forget the sessions (the next task or service assumes its role afresh)."""
    _task_sessions.clear()
    _service_sessions.clear()
    INTERNAL_KEYS.clear()
