"""IAM decisions as the emulator's services ask for them, with AWS's denial wording and errors.

``check`` decides one request of an STS session (raising the protocol's AccessDenied);
``service_decision`` / ``service_delivery_decision`` and ``topic_key_decision`` decide for a
service principal delivering for a customer (EventBridge targets, CloudWatch alarm actions);
``role_decision`` for a service acting as a role (a target's RoleArn).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from emulator.aws.iam.backends import identity_policies, kms_key_arn, resource_policy_of
from emulator.aws.iam.policy import (
    Decision,
    Principal,
    Request,
    UnsupportedCondition,
    decide,
    decide_for_service,
    denial_message,
)
from emulator.aws.iam.sessions import assumable_by


def moto_errors() -> tuple[type[Exception], type[Exception]]:
    from moto.core.exceptions import AccessDeniedError, JsonRESTError

    class QueryAccessDenied(AccessDeniedError):
        """moto's own class (status 403), with our code and message, in the query protocol's
        error document: ``<ErrorResponse><Error>`` (moto's base renders ``<Errors>``, which
        botocore reads but the Go SDK, hence Terraform, does not).
        https://docs.aws.amazon.com/IAM/latest/APIReference/CommonErrors.html
        """

        def __init__(self, error_type: str, message: str) -> None:
            super(AccessDeniedError, self).__init__(error_type, message)
            from xml.sax.saxutils import escape

            self.description = (
                '<?xml version="1.0" encoding="UTF-8"?>\n<ErrorResponse><Error>'
                f"<Type>Sender</Type><Code>{escape(error_type)}</Code>"
                f"<Message>{escape(message)}</Message></Error>"
                "<RequestId>00000000-0000-0000-0000-000000000000</RequestId></ErrorResponse>"
            )

    class JsonAccessDenied(JsonRESTError):
        code = 403

    return QueryAccessDenied, JsonAccessDenied


def access_denied(service: str, protocol: str, message: str) -> Exception:
    """The error each protocol's clients parse as access denied (SNS names it its own way:
    https://docs.aws.amazon.com/sns/latest/api/CommonErrors.html)."""
    query_error, json_error = moto_errors()
    if protocol == "rest-xml":  # S3's <Error> document, status 403
        from moto.s3.exceptions import S3ClientError

        return S3ClientError("AccessDenied", message)
    if protocol in ("json", "rest-json"):
        return json_error("AccessDeniedException", message)
    return query_error("AuthorizationError" if service == "sns" else "AccessDenied", message)


def service_decision(
    service: str, action: str, resource: str, *, source_arn: str, source_account: str
) -> Decision:
    """May ``service`` do ``action`` on ``resource`` (its resource policy on the emulator), for
    the rule/alarm ``source_arn`` of ``source_account``? For delivery code (EventBridge targets,
    CloudWatch alarm actions) to call before it delivers."""
    policy = resource_policy_of(resource, source_account)
    context = {"aws:sourcearn": (source_arn,), "aws:sourceaccount": (source_account,)}
    return decide_for_service(service, action, resource, policy, context)


#: The KMS actions SNS performs with a topic's key when a message is published to it; a service
#: principal publishing (EventBridge, CloudWatch alarms) must be allowed both by the key policy.
#: SNS developer guide, "Enable compatibility between event sources from AWS services and
#: encrypted topics": https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html#compatibility-with-aws-services
SNS_PUBLISH_KMS_ACTIONS = ("kms:GenerateDataKey", "kms:Decrypt")


def topic_key_decision(service: str, topic_arn: str) -> tuple[Decision, str]:
    """May ``service`` publish to ``topic_arn`` as far as the topic's KMS key is concerned?

    SNS makes the KMS calls for the publisher. They carry no ``aws:SourceAccount`` or
    ``aws:SourceArn``: the guide's statement has no condition, and published guidance says a
    key policy conditioned on them drops EventBridge's deliveries; the strict reading is that
    the request context has neither (see terraform/notifications.tf). An unencrypted topic, or
    one whose key the emulator does not know, needs nothing here.
    """
    from moto.sns.models import sns_backends

    _, _, _, region, account, _ = topic_arn.split(":", 5)
    try:
        key_id = sns_backends[account][region].topics[topic_arn].kms_master_key_id
    except Exception:  # no such topic: the publish itself fails
        return Decision.ALLOW, ""
    key_arn = kms_key_arn(account, region, str(key_id)) if key_id else None
    if key_arn is None:
        return Decision.ALLOW, ""
    policy = resource_policy_of(key_arn, account)
    for action in SNS_PUBLISH_KMS_ACTIONS:
        decision = decide_for_service(service, action, key_arn, policy, {})
        if decision is not Decision.ALLOW:
            reason = "an explicit deny in" if decision is Decision.EXPLICIT_DENY else "no"
            return decision, (
                f"{service} is not authorized to perform: {action} on resource: {key_arn} "
                f"because {reason} key policy allows it (KMS.AccessDeniedException)"
            )
    return Decision.ALLOW, ""


def service_delivery_decision(
    service: str, action: str, resource: str, *, source_arn: str, source_account: str
) -> tuple[Decision, str]:
    """``service_decision`` with AWS's denial wording, for delivery code to log."""
    decision = service_decision(
        service, action, resource, source_arn=source_arn, source_account=source_account
    )
    if decision is Decision.EXPLICIT_DENY:
        why = "with an explicit deny in a resource-based policy"
    else:
        why = f"because no resource-based policy allows the {action} action"
    return (
        decision,
        f"{service} is not authorized to perform: {action} on resource: {resource} {why}",
    )


def check(
    request: Request,
    identity: list[dict[str, Any]],
    service: str,
    protocol: str,
) -> None:
    """Raise the service's AccessDenied unless AWS's evaluation allows ``request``."""
    resource_policy = (
        resource_policy_of(request.resource, request.principal.account)
        if request.resource != "*"
        else None
    )
    is_key = request.action.startswith("kms:") and resource_policy is not None
    try:
        decision = decide(request, identity, resource_policy, key_policy=is_key)
    except UnsupportedCondition as error:
        # The strict reading of a condition we cannot evaluate: the request is denied, and the
        # message says which operator to model.
        raise access_denied(
            service,
            protocol,
            f"{denial_message(request, Decision.IMPLICIT_DENY, 'policy')}"
            f" (the emulator cannot evaluate it: {error})",
        ) from error
    if decision is Decision.ALLOW:
        return
    kind = "a resource-based policy" if resource_policy else "identity-based policy"
    if decision is Decision.EXPLICIT_DENY:
        kind = "a resource-based policy" if resource_policy else "an identity-based policy"
    raise access_denied(service, protocol, denial_message(request, decision, kind))


def role_decision(
    service: str,
    role_arn: str,
    action: str,
    resource: str,
    source: Mapping[str, tuple[str, ...]],
) -> tuple[Decision, str]:
    """May ``service``, acting as ``role_arn``, do ``action`` on ``resource``? The role must
    trust ``service`` (with the request's ``source`` condition keys, e.g. ``aws:SourceArn``),
    then its identity policies and the resource's policy decide. With AWS's denial message."""
    from types import SimpleNamespace

    parts = role_arn.split(":")
    account = parts[4] if len(parts) > 5 else ""
    partition = parts[1] if len(parts) > 5 else "aws"
    principal = Principal(
        arn=f"arn:{partition}:sts::{account}:assumed-role/{role_arn.rsplit('/', 1)[-1]}/{service}",
        role_arn=role_arn,
        account=account,
    )
    request = Request(action, resource, principal, {**source, "aws:securetransport": ("true",)})
    trusted = assumable_by(service, role_arn)
    if not trusted:
        return Decision.IMPLICIT_DENY, (
            f"{service} is not authorized to perform: sts:AssumeRole on resource: {role_arn}"
        )
    session = SimpleNamespace(role_arn=role_arn, account_id=account, partition=partition)
    resource_policy = resource_policy_of(resource, account) if resource != "*" else None
    decision = decide(request, identity_policies(session), resource_policy)
    kind = "a resource-based policy" if resource_policy else "identity-based policy"
    return decision, denial_message(request, decision, kind)
