"""IAM enforcement in the emulator: requests signed with STS-issued credentials are authorised.

Split by role, as moto splits a service::

    policy.py      the evaluator: policies + a request ─► Decision (pure; trust policies too)
    resources.py   the request's IAM action and resource ARN, one resolver per service (pure)
    s3_kms.py      the KMS calls S3 makes as the caller for an object request
    keys.py        which access keys are known, and AWS's answer to one that is not
    backends.py    what decisions read from moto's state (sessions, roles, keys, policies)
    sessions.py    the role sessions services act with (Step Functions tasks, Lambda, jobs)
    decisions.py   decisions as the services ask for them, with AWS's wording and errors
    wiring.py      moto's authorization hook wrapped (``install``/``reset``)

Why not moto's own check: ``moto/iam/access_control.py`` (``IAMPolicyStatement``) matches Action
and, partly, Resource, but ignores NotResource, most condition operators, principals of
resource policies and ``iam:PassRole`` (its module docstring lists these TODOs), and it only runs
when ``INITIAL_NO_AUTH_ACTION_COUNT`` makes *every* caller an IAM user, which would end the
local operator's root access. PyPI has no maintained request-time evaluator (``iam-ape``
computes effective permissions, not one request's decision). So this package keeps moto's
hook (``ActionAuthenticatorMixin._authenticate_and_authorize_action``, which
``BaseResponse.call_action`` and the S3 handlers call), moto's STS sessions (access key + session
token) and moto's reading of managed policy documents (``IAMPolicy``), and evaluates each
statement by AWS's documented rules (``policy.py`` cites them).

Simplifications (each stricter or neutral for this repo's policies, see the fidelity notes):
- The configured local user's key (``emulator/credentials.py``, ``testing`` by default: the
  operator, and the emulator's own clients acting as the account) is the account's root with
  every permission; any key that is neither it nor an STS session the emulator issued is
  refused with each protocol's error (``keys.py``).
- The SigV4 signature is not verified; the session token must match the session's.
- A resource this package cannot name from the request is ``*`` (literally): an Allow scoped to
  specific ARNs then does not match (stricter), a Deny scoped to specific ARNs does not either.
- No policy variables (``${aws:username}``), session policies, permission boundaries or SCPs.
- Root is exempt from resource policies too (on AWS an explicit Deny in a bucket policy binds
  the root user as well): the local operator's and the emulator's own calls are unchanged.
- Unsigned requests are served as before (AWS refuses them, except AssumeRoleWithWebIdentity,
  which is checked against the role's trust policy and the OIDC provider).
- S3 is authorised only where moto's S3 handlers call the hook (bucket and object operations).
- Step Functions tasks run as the state machine's role when the role trusts
  ``states.amazonaws.com``; any other role keeps moto's root client (on AWS, CreateStateMachine
  refuses a role Step Functions cannot assume). Their calls count as TLS
  (``sessions.INTERNAL_KEYS``).

The names below are the package's public interface for the other extensions and the server.
"""

from __future__ import annotations

from emulator.aws.iam.decisions import (
    access_denied,
    check,
    role_decision,
    service_decision,
    service_delivery_decision,
    topic_key_decision,
)
from emulator.aws.iam.policy import (
    Decision,
    Principal,
    Request,
    UnsupportedCondition,
    action_applies,
    condition_holds,
    decide,
    decide_for_service,
    denial_message,
    jwt_claims,
    trust_allows_service,
    trust_allows_web_identity,
    web_identity_context,
)
from emulator.aws.iam.resources import PASS_ROLE, iam_action, passed_roles, resource_arn
from emulator.aws.iam.sessions import service_role_credentials
from emulator.aws.iam.wiring import authorize, install, reset

__all__ = [
    "PASS_ROLE",
    "Decision",
    "Principal",
    "Request",
    "UnsupportedCondition",
    "access_denied",
    "action_applies",
    "authorize",
    "check",
    "condition_holds",
    "decide",
    "decide_for_service",
    "denial_message",
    "iam_action",
    "install",
    "jwt_claims",
    "passed_roles",
    "reset",
    "resource_arn",
    "role_decision",
    "service_decision",
    "service_delivery_decision",
    "service_role_credentials",
    "topic_key_decision",
    "trust_allows_service",
    "trust_allows_web_identity",
    "web_identity_context",
]
