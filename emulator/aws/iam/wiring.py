"""The moto wiring of IAM enforcement: moto's authorization hook, wrapped.

    request ──► session_of(access key)      STS session?  no ──► the local user's key? ──► root
                       │ yes                                              else ──► refused (keys.py)
                       ▼
                the IAM action and resource (resources.py), the condition keys
                       ▼
                decide(identity policies of the role, resource policy)  ──► AccessDenied | go on
                       ▼
                passed_roles(action, params) ──► iam:PassRole with iam:PassedToService, each

moto calls ``ActionAuthenticatorMixin._authenticate_and_authorize_action`` from
``BaseResponse.call_action`` and the S3 handlers; ``install`` wraps it with ``authorize``, and
hands every other caller back to moto. The Step Functions interpreter's task clients are made
to act as the state machine's role (``sessions.install_task_credentials``).
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlparse

from emulator.aws.iam import keys, sessions
from emulator.aws.iam.backends import identity_policies, kms_key_arn, role_path, session_of
from emulator.aws.iam.decisions import access_denied, check, moto_errors
from emulator.aws.iam.policy import (
    Principal,
    Request,
    as_list,
    jwt_claims,
    trust_allows_web_identity,
    web_identity_context,
)
from emulator.aws.iam.resources import (
    iam_action,
    passed_roles,
    request_condition_keys,
    resource_arn,
)
from emulator.aws.iam.s3_kms import s3_kms_calls


def _scope(headers: Mapping[str, str], query: Mapping[str, Any]) -> list[str] | None:
    """``[key id, date, region, service, aws4_request]`` of a SigV4 header or presigned URL."""
    authorization = headers.get("Authorization") or ""
    if "Credential=" in authorization:
        return authorization.split("Credential=", 1)[1].split(",", 1)[0].strip().split("/")
    credential = query.get("X-Amz-Credential")
    if credential:
        value = credential[0] if isinstance(credential, list) else credential
        return str(value).split("/")
    return None


def _params(response: Any) -> dict[str, Any]:
    parsed = getattr(response, "params", None)
    if isinstance(parsed, Mapping) and parsed:
        return {**dict(getattr(response, "uri_match", None) or {}), **dict(parsed)}
    body = getattr(response, "body", None)
    if body:
        try:
            loaded = json.loads(body)
        except (TypeError, ValueError):
            loaded = None
        if isinstance(loaded, dict):
            return loaded
    query = getattr(response, "querystring", None) or {}
    flat = {k: (v[0] if isinstance(v, list) and len(v) == 1 else v) for k, v in query.items()}
    return {**dict(getattr(response, "uri_match", None) or {}), **flat}


def _protocol(response: Any) -> str:
    from moto.core.responses import get_service_model

    try:
        return str(get_service_model(response.boto3_service_name).protocol)
    except Exception:  # a service botocore does not know: the query protocol's XML error
        return "query"


def _check_web_identity(response: Any) -> None:
    """AssumeRoleWithWebIdentity: the role exists, trusts the token's registered provider, and
    the token's claims meet its conditions; the audience is one of the provider's client IDs.
    https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRoleWithWebIdentity.html
    The token's signature is NOT verified: moto cannot fetch the issuer's keys offline.
    """
    from moto.iam.models import iam_backends

    params = _params(response)
    role_arn = str(params.get("RoleArn") or "")
    denied = access_denied(
        "sts", "query", "Not authorized to perform sts:AssumeRoleWithWebIdentity"
    )
    try:
        claims = jwt_claims(str(params.get("WebIdentityToken") or ""))
        _, partition, _, _, account, _ = role_arn.split(":", 5)
        backend = iam_backends[account][partition]
        role = backend.get_role_by_arn(role_arn)
    except Exception as error:
        raise denied from error
    host = urlparse(str(claims.get("iss", ""))).netloc
    provider_arn = f"arn:{partition}:iam::{account}:oidc-provider/{host}"
    provider = backend.open_id_providers.get(provider_arn)
    if provider is None:
        raise denied
    audiences = set(map(str, as_list(claims.get("aud"))))
    if not audiences & set(provider.client_id_list):
        query_error, _ = moto_errors()
        raise query_error("InvalidIdentityToken", "Incorrect token audience")
    expiry = claims.get("exp")
    if isinstance(expiry, (int, float)) and expiry < datetime.datetime.now().timestamp():
        query_error, _ = moto_errors()
        raise query_error("ExpiredTokenException", "Token is expired")
    trust = json.loads(role.assume_role_policy_document)
    if not trust_allows_web_identity(trust, provider_arn, web_identity_context(claims)):
        raise denied


def _unknown_key(response: Any, signing_name: str) -> Exception:
    """AWS's answer to a key it has no record of, in the request's protocol (``keys.py``)."""
    from moto.core.request import determine_request_protocol
    from moto.core.responses import get_service_model

    if signing_name == "s3":
        key = (_scope(response.headers, getattr(response, "querystring", None) or {}) or [""])[0]
        return keys.unknown_key_error(signing_name, "rest-xml", access_key_id=key)
    try:
        model = get_service_model(response.boto3_service_name)
        # The protocol the request came in (CloudWatch: awsQuery from Terraform, JSON from boto3).
        protocol = determine_request_protocol(model, response.headers.get("Content-Type"))
        compatible = "awsQueryCompatible" in model.metadata
    except Exception:  # a service or wire format botocore does not know: the query error
        protocol, compatible = "query", False
    if compatible:
        # moto's call_action answers an HTTP exception with its body and status only, adding
        # the response's own headers: the query code rides there.
        name, value = keys.QUERY_ERROR_HEADER
        response.response_headers[name] = value
    return keys.unknown_key_error(signing_name, protocol, query_compatible=compatible)


def authorize(response: Any, iam_request_cls: type, resource: str = "*") -> bool:
    """Authorise one request (the hook's body); ``False``: not an STS session, not ours."""
    from moto.utilities.utils import get_partition

    query = getattr(response, "querystring", None) or {}
    if response.service_name == "sts" and response._get_action() == "AssumeRoleWithWebIdentity":
        _check_web_identity(response)
        return True
    scope = _scope(response.headers, query)
    if scope is None or len(scope) < 4:
        return False  # unsigned: as before (AWS refuses those; no client here sends them)
    token = response.headers.get("X-Amz-Security-Token") or query.get("X-Amz-Security-Token")
    if isinstance(token, list):
        token = token[0]
    session = session_of(scope[0])
    if session is None or token != session.session_token:
        if session is None and keys.is_local_user(scope[0], token):
            return False  # the configured local user: the account's root, as before
        raise _unknown_key(response, scope[3])
    query_error, _ = moto_errors()
    if session.expiration < datetime.datetime.now(session.expiration.tzinfo):
        raise query_error("ExpiredToken", "The security token included in the request is expired")
    region, signing_name = scope[2], scope[3]
    if signing_name == "s3":
        operation = str(response.data.get("Action") or "")
    else:
        operation = response._get_action()
    action = iam_action(signing_name, operation)
    if action == "sts:GetCallerIdentity":
        return True  # "No permissions are required to perform this operation."
    partition = get_partition(region)
    account = session.account_id
    params = _params(response)
    if signing_name == "s3":
        target = resource
    else:
        target = resource_arn(
            action,
            params,
            partition=partition,
            region=region,
            account=account,
            path=urlparse(getattr(response, "uri", "") or "").path,
            lookup=lambda kind, ident: (
                role_path(account, partition, ident)
                if kind == "role"
                else kms_key_arn(account, region, ident)
            ),
        )
    scheme = urlparse(getattr(response, "uri", "") or "").scheme
    principal = Principal(arn=session.arn, role_arn=session.role_arn, account=account)
    context = {
        # From the connection itself (the emulator's http listener is not TLS), except for the
        # emulator's own service calls (sessions.INTERNAL_KEYS).
        "aws:securetransport": (
            "true" if scheme == "https" or sessions.is_internal_key(scope[0]) else "false",
        ),
        "aws:principalarn": (session.role_arn,),
        "aws:principalaccount": (account,),
        "aws:requestedregion": (region,),
        "aws:principaltype": ("AssumedRole",),
        **request_condition_keys(action, params),
    }
    identity = identity_policies(session)
    service, protocol = signing_name, _protocol(response)
    check(Request(action, target, principal, context), identity, service, protocol)
    if signing_name == "s3":
        kms_context = {
            **context,
            "kms:viaservice": (f"s3.{region}.amazonaws.com",),
            "kms:calleraccount": (account,),
        }
        for kms_action, key_id in s3_kms_calls(response, account, partition):
            key_arn = kms_key_arn(account, region, key_id)
            if key_arn is not None:
                check(
                    Request(kms_action, key_arn, principal, kms_context), identity, "s3", protocol
                )
    passed = passed_roles(action, params)
    if passed is not None:
        to_service, roles = passed
        for role in roles:
            check(
                Request(
                    "iam:PassRole",
                    role,
                    principal,
                    {**context, "iam:passedtoservice": (to_service,)},
                ),
                identity,
                service,
                protocol,
            )
    return True


_installed = False


def install() -> None:
    """Wrap moto's authorization hook (safe to call more than once)."""
    global _installed
    if _installed:
        return
    from moto.core.authorization import ActionAuthenticatorMixin

    original = ActionAuthenticatorMixin._authenticate_and_authorize_action

    def hook(self: Any, iam_request_cls: type, resource: str = "*") -> None:
        if not authorize(self, iam_request_cls, resource):
            original(self, iam_request_cls, resource)

    ActionAuthenticatorMixin._authenticate_and_authorize_action = hook  # type: ignore[method-assign]
    sessions.install_task_credentials()
    _installed = True


def reset() -> None:
    """Forget the role sessions (the next task or service assumes its role afresh)."""
    sessions.forget_sessions()
