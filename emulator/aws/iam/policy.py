"""The IAM policy evaluator: pure functions, no moto, no request parsing.

A question (``Request``: principal, action, resource, condition keys) and the policies that
bear on it go in; a ``Decision`` comes out, by AWS's documented rules:

- Policy evaluation logic (same account): an explicit Deny in any policy wins; otherwise an
  Allow in an identity policy OR in the resource's policy allows; otherwise implicit deny.
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
- KMS is the exception: a key policy must allow, directly or by delegating to the account
  (principal ``arn:aws:iam::<account>:root``), before identity policies count.
  https://docs.aws.amazon.com/kms/latest/developerguide/key-policies.html
- Action: case-insensitive, ``*`` and ``?`` wildcards; Resource: case-sensitive, same wildcards.
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html
- Conditions: operators, ``...IfExists``, ``Null``, ``ForAnyValue:``/``ForAllValues:``; a
  missing key makes a condition false, except for negated operators, where it is true.
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html
- Trust policies: who may assume a role (a service principal, or an OIDC provider's token).

No policy variables (``${aws:username}``), session policies, permission boundaries or SCPs; a
condition operator not modelled raises ``UnsupportedCondition`` rather than being guessed.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any
from urllib.parse import urlparse


class Decision(Enum):
    ALLOW = "allow"
    EXPLICIT_DENY = "explicit deny"
    IMPLICIT_DENY = "implicit deny"


@dataclass(frozen=True)
class Principal:
    """Who calls: an STS role session (``arn``) of role ``role_arn`` in ``account``."""

    arn: str
    role_arn: str
    account: str

    @property
    def partition(self) -> str:
        return self.role_arn.split(":")[1]


@dataclass(frozen=True)
class Request:
    """One authorisation question: may ``principal`` do ``action`` on ``resource``?"""

    action: str
    resource: str
    principal: Principal
    #: Condition keys, lower-cased names (keys are case-insensitive), each with its values.
    context: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


def as_list(value: Any) -> list[Any]:
    """A policy element that may be one value or a list of them, as a list."""
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def wildcard_match(pattern: str, value: str, *, case_sensitive: bool = True) -> bool:
    """IAM's ``*`` (any run) and ``?`` (one character); nothing else is special."""
    regex = "".join(
        ".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in str(pattern)
    )
    flags = 0 if case_sensitive else re.IGNORECASE
    return re.fullmatch(regex, value, flags | re.DOTALL) is not None


def _matches_any(patterns: Any, value: str, *, case_sensitive: bool) -> bool:
    return any(wildcard_match(p, value, case_sensitive=case_sensitive) for p in as_list(patterns))


def action_applies(statement: Mapping[str, Any], action: str) -> bool:
    if "NotAction" in statement:
        return not _matches_any(statement["NotAction"], action, case_sensitive=False)
    return _matches_any(statement.get("Action"), action, case_sensitive=False)


def resource_applies(statement: Mapping[str, Any], resource: str) -> bool:
    if "NotResource" in statement:
        return not _matches_any(statement["NotResource"], resource, case_sensitive=True)
    if "Resource" not in statement:
        return True  # resource policies may omit it: the statement is about their resource
    return _matches_any(statement["Resource"], resource, case_sensitive=True)


def _account_principal_ids(principal: Principal) -> set[str]:
    return {principal.account, f"arn:{principal.partition}:iam::{principal.account}:root"}


def principal_applies(
    statement: Mapping[str, Any], principal: Principal, *, via_account: bool
) -> bool:
    """Whether a resource policy's Principal/NotPrincipal names the caller.

    A role session is named by its session ARN or its role ARN. The account (``<id>`` or
    ``arn:...:root``) names every principal of the account only where ``via_account`` holds:
    for a Deny (it applies to them all), and for KMS's delegation to IAM policies; an Allow to
    the account alone delegates to identity policies and grants the role nothing by itself.
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html
    """
    own = {principal.arn, principal.role_arn}
    if via_account:
        own |= _account_principal_ids(principal)

    def names(block: Any) -> bool:
        if block == "*":
            return True
        if not isinstance(block, Mapping):
            return False
        return any(p == "*" or p in own for p in as_list(block.get("AWS")))

    if "NotPrincipal" in statement:
        return not names(statement["NotPrincipal"])
    return names(statement.get("Principal"))


# Condition operators: name -> (compare one request value with one policy value, negated).
def _str_eq(a: str, b: str) -> bool:
    return a == b


def _str_eq_ci(a: str, b: str) -> bool:
    return a.lower() == b.lower()


def _str_like(a: str, b: str) -> bool:
    return wildcard_match(b, a)


def _bool_eq(a: str, b: str) -> bool:
    return a.lower() == str(b).lower()


def _num(op: Callable[[float, float], bool]) -> Callable[[str, str], bool]:
    def compare(a: str, b: str) -> bool:
        try:
            return op(float(a), float(b))
        except ValueError:
            return False

    return compare


OPERATORS: dict[str, tuple[Callable[[str, str], bool], bool]] = {
    "StringEquals": (_str_eq, False),
    "StringNotEquals": (_str_eq, True),
    "StringEqualsIgnoreCase": (_str_eq_ci, False),
    "StringNotEqualsIgnoreCase": (_str_eq_ci, True),
    "StringLike": (_str_like, False),
    "StringNotLike": (_str_like, True),
    # ARN operators compare component-wise with wildcards; matching the whole ARN with the
    # same wildcards gives the same answer for well-formed ARNs.
    "ArnEquals": (_str_like, False),
    "ArnLike": (_str_like, False),
    "ArnNotEquals": (_str_like, True),
    "ArnNotLike": (_str_like, True),
    "Bool": (_bool_eq, False),
    "NumericEquals": (_num(lambda a, b: a == b), False),
    "NumericNotEquals": (_num(lambda a, b: a == b), True),
    "NumericLessThan": (_num(lambda a, b: a < b), False),
    "NumericLessThanEquals": (_num(lambda a, b: a <= b), False),
    "NumericGreaterThan": (_num(lambda a, b: a > b), False),
    "NumericGreaterThanEquals": (_num(lambda a, b: a >= b), False),
}


class UnsupportedCondition(ValueError):
    """A condition operator this evaluator does not model (refused rather than guessed)."""


def condition_holds(
    operator: str, key: str, expected: Any, context: Mapping[str, tuple[str, ...]]
) -> bool:
    """One ``"Operator": {"key": values}`` entry against the request context."""
    policy_values = [str(v) for v in as_list(expected)]
    actual = context.get(key.lower())
    if operator == "Null":
        # "true": the key must be absent; "false": present.
        return (actual is None) == (policy_values[0].lower() == "true")
    qualifier = ""
    if ":" in operator:
        qualifier, operator = operator.split(":", 1)
    if_exists = operator.endswith("IfExists")
    base = operator.removesuffix("IfExists")
    if base not in OPERATORS:
        raise UnsupportedCondition(f"condition operator {operator!r} is not modelled")
    compare, negated = OPERATORS[base]
    if actual is None or (qualifier and not actual):
        if if_exists:
            return True
        if qualifier == "ForAllValues":
            return True  # vacuously true for an absent or empty key (AWS's documented trap)
        if qualifier == "ForAnyValue":
            return False
        return negated

    def one(value: str) -> bool:
        matched = any(compare(value, p) for p in policy_values)
        return not matched if negated else matched

    if qualifier == "ForAllValues":
        return all(one(v) for v in actual)
    if qualifier == "ForAnyValue":
        return any(one(v) for v in actual)
    if negated:  # a single-valued key: none of the policy values may match
        return all(one(v) for v in actual)
    return any(one(v) for v in actual)


def conditions_hold(statement: Mapping[str, Any], context: Mapping[str, tuple[str, ...]]) -> bool:
    return all(
        condition_holds(operator, key, expected, context)
        for operator, block in (statement.get("Condition") or {}).items()
        for key, expected in block.items()
    )


def statements(policy: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """A policy's statements (``Statement`` may be one statement or a list)."""
    return as_list(policy.get("Statement"))


def policy_effects(
    policy: Mapping[str, Any], request: Request, *, resource_policy: bool, via_account: bool
) -> set[str]:
    """The Effects (``Allow``/``Deny``) of the policy's statements that apply to the request."""
    effects: set[str] = set()
    for statement in statements(policy):
        if not action_applies(statement, request.action):
            continue
        if not resource_applies(statement, request.resource):
            continue
        if resource_policy and not principal_applies(
            statement,
            request.principal,
            via_account=via_account or statement.get("Effect") == "Deny",
        ):
            continue
        if conditions_hold(statement, request.context):
            effects.add(str(statement.get("Effect")))
    return effects


def decide(
    request: Request,
    identity_policies: Iterable[Mapping[str, Any]],
    resource_policy: Mapping[str, Any] | None = None,
    *,
    key_policy: bool = False,
) -> Decision:
    """AWS's evaluation for a same-account request (see the module docstring).

    ``key_policy``: ``resource_policy`` is a KMS key policy, which must allow (directly, or by
    delegating to the account) before identity policies count.
    """
    identity = set().union(
        *(
            policy_effects(p, request, resource_policy=False, via_account=False)
            for p in identity_policies
        )
    )
    direct = (
        policy_effects(resource_policy, request, resource_policy=True, via_account=False)
        if resource_policy
        else set()
    )
    if "Deny" in identity or "Deny" in direct:
        return Decision.EXPLICIT_DENY
    if key_policy:
        delegated = (
            policy_effects(resource_policy, request, resource_policy=True, via_account=True)
            if resource_policy
            else set()
        )
        if "Allow" in direct or ("Allow" in delegated and "Allow" in identity):
            return Decision.ALLOW
        return Decision.IMPLICIT_DENY
    if "Allow" in identity or "Allow" in direct:
        return Decision.ALLOW
    return Decision.IMPLICIT_DENY


def denial_message(request: Request, decision: Decision, policy_kind: str) -> str:
    """AWS's AccessDenied wording, with the reason it has given since 2021.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_access-denied.html
    """
    base = (
        f"User: {request.principal.arn} is not authorized to perform: {request.action} "
        f"on resource: {request.resource}"
    )
    if decision is Decision.EXPLICIT_DENY:
        return f"{base} with an explicit deny in {policy_kind}"
    return f"{base} because no {policy_kind} allows the {request.action} action"


def decide_for_service(
    service: str,
    action: str,
    resource: str,
    resource_policy: Mapping[str, Any] | None,
    context: Mapping[str, tuple[str, ...]],
) -> Decision:
    """A service principal (``events.amazonaws.com``...) acting on a resource for a customer:
    only the resource's policy can grant it (a service has no identity policies), with the
    request context the service sends (``aws:SourceAccount``, ``aws:SourceArn``).
    https://docs.aws.amazon.com/IAM/latest/UserGuide/confused-deputy.html
    """
    effects: set[str] = set()
    for statement in statements(resource_policy or {}):
        if not action_applies(statement, action) or not resource_applies(statement, resource):
            continue
        principal = statement.get("Principal")
        services = as_list(principal.get("Service")) if isinstance(principal, Mapping) else []
        if principal != "*" and service not in services:
            continue
        if conditions_hold(statement, context):
            effects.add(str(statement.get("Effect")))
    if "Deny" in effects:
        return Decision.EXPLICIT_DENY
    return Decision.ALLOW if "Allow" in effects else Decision.IMPLICIT_DENY


# --------------------------------------------------------------------------- trust policies


def trust_allows_service(
    trust_policy: Mapping[str, Any], service: str, context: Mapping[str, tuple[str, ...]]
) -> bool:
    """Whether a role's trust policy lets ``service`` (a service principal) assume it."""
    effects: set[str] = set()
    for statement in statements(trust_policy):
        if not action_applies(statement, "sts:AssumeRole"):
            continue
        principal = statement.get("Principal")
        services = as_list(principal.get("Service")) if isinstance(principal, Mapping) else []
        if principal != "*" and service not in services:
            continue
        if conditions_hold(statement, context):
            effects.add(str(statement.get("Effect")))
    return "Allow" in effects and "Deny" not in effects


def jwt_claims(token: str) -> dict[str, Any]:
    """The payload of a JWT, NOT verified (moto cannot check GitHub's signature offline)."""
    try:
        payload = token.split(".")[1]
        return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))
    except (IndexError, ValueError) as error:
        raise ValueError(f"the web identity token is not a JWT: {error}") from error


def web_identity_context(claims: Mapping[str, Any]) -> dict[str, tuple[str, ...]]:
    """Condition keys of AssumeRoleWithWebIdentity for an OIDC provider: ``<issuer host>:aud``,
    ``:sub``... https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_iam-condition-keys.html#condition-keys-wif
    """
    host = urlparse(str(claims.get("iss", ""))).netloc
    context = {}
    for claim in ("aud", "sub", "amr"):
        if claim in claims:
            context[f"{host}:{claim}".lower()] = tuple(str(v) for v in as_list(claims[claim]))
    return context


def trust_allows_web_identity(
    trust_policy: Mapping[str, Any], provider_arn: str, context: Mapping[str, tuple[str, ...]]
) -> bool:
    """Whether a role's trust policy lets the OIDC provider's token assume it (no Deny)."""
    effects: set[str] = set()
    for statement in statements(trust_policy):
        if not action_applies(statement, "sts:AssumeRoleWithWebIdentity"):
            continue
        federated = as_list((statement.get("Principal") or {}).get("Federated"))
        if provider_arn not in federated:
            continue
        if conditions_hold(statement, context):
            effects.add(str(statement.get("Effect")))
    return "Allow" in effects and "Deny" not in effects
