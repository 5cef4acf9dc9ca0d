"""IAM least-privilege checks on the Terraform policy documents.

The state machine's role must grant exactly the service integrations its ASL calls: the actions
are derived from the committed `statemachines/*.asl.json` Task `Resource` fields
(`arn:aws:states:::aws-sdk:<svc>:<action>` -> `<svc>:<Action>`, optimised integrations such as
`arn:aws:states:::sagemaker:createModel` -> `sagemaker:CreateModel`) and compared with the
`aws_iam_policy_document.state_machine` statements parsed from terraform/iam.tf. Every policy
document may use `Resource "*"` only for actions AWS does not authorise per resource.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import hcl2
import pytest
from hcl2.utils import SerializationOptions

ROOT = Path(__file__).resolve().parents[2]
TERRAFORM_DIR = ROOT / "terraform"
ASL_FILES = sorted((ROOT / "statemachines").glob("*.asl.json"))
HCL_OPTIONS = SerializationOptions(
    with_comments=False, explicit_blocks=False, strip_string_quotes=True
)

# The integrations agreed in the design (the ASL may not call anything else).
CONTRACT_INTEGRATIONS = {
    "arn:aws:states:::aws-sdk:sagemaker:startPipelineExecution",
    "arn:aws:states:::aws-sdk:sagemaker:describePipelineExecution",
    "arn:aws:states:::aws-sdk:sagemaker:stopPipelineExecution",
    "arn:aws:states:::aws-sdk:sagemaker:listPipelineExecutionSteps",
    "arn:aws:states:::aws-sdk:s3:getObject",
    "arn:aws:states:::aws-sdk:sagemaker:createModelPackage",
    "arn:aws:states:::sagemaker:createModel",
    "arn:aws:states:::sagemaker:createEndpointConfig",
    "arn:aws:states:::sagemaker:createEndpoint",
    "arn:aws:states:::sagemaker:updateEndpoint",
    "arn:aws:states:::aws-sdk:sagemaker:describeEndpoint",
    # A Failed endpoint can only be deleted, then created again (issue 9 item 7).
    "arn:aws:states:::aws-sdk:sagemaker:deleteEndpoint",
    "arn:aws:states:::sns:publish",
    # Model Registry events: deploy an approved package, report a rejected one that serves
    # (read-only: an update of a package could emit an event that starts the machine again).
    "arn:aws:states:::aws-sdk:sagemaker:describeModelPackage",
    "arn:aws:states:::aws-sdk:sfn:describeExecution",
    "arn:aws:states:::aws-sdk:sagemaker:describeEndpointConfig",
    "arn:aws:states:::aws-sdk:sagemaker:describeModel",
}
# SDK service names that differ from their IAM prefix.
IAM_PREFIX = {"sfn": "states", "cloudwatchlogs": "logs", "eventbridge": "events"}
INTEGRATION = re.compile(
    r"^arn:aws:states:::(?:aws-sdk:)?(?P<service>[a-z0-9-]+):(?P<action>[A-Za-z0-9]+)"
    r"(?:\.(?:sync(?::2)?|waitForTaskToken))?$"
)

# Actions without resource-level permissions (AWS requires Resource "*"); each use carries a
# comment in the .tf file saying so.
LOG_DELIVERY = {
    "logs:CreateLogDelivery",
    "logs:GetLogDelivery",
    "logs:UpdateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:DescribeResourcePolicies",
    "logs:DescribeLogGroups",
}
XRAY = {
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    "xray:GetSamplingRules",
    "xray:GetSamplingTargets",
}
STAR_ALLOWED = LOG_DELIVERY | XRAY | {"ecr:GetAuthorizationToken", "cloudwatch:PutMetricData"}
# A KMS key policy's Resource "*" means "this key", not every resource.
KEY_POLICIES = {"sns_key"}
# Granted beyond the ASL's own calls, each for a stated reason in iam.tf.
STATE_MACHINE_EXTRAS = {
    "sagemaker:AddTags",  # tags on created models, endpoint configs, endpoints, packages
    "iam:PassRole",  # the SageMaker role, to CreateModel
    "kms:GenerateDataKey",  # publish to the KMS-encrypted topic
    "kms:Decrypt",
    *LOG_DELIVERY,
    *XRAY,
}


# ---- helpers ------------------------------------------------------------------------------------


def policy_documents() -> Iterator[tuple[Path, str, dict[str, Any]]]:
    """Every aws_iam_policy_document in every root: (file, name, body)."""
    for path in sorted(TERRAFORM_DIR.rglob("*.tf")):
        if ".terraform" in path.parts:
            continue
        with path.open() as handle:
            parsed = hcl2.load(handle, serialization_options=HCL_OPTIONS)
        for block in parsed.get("data", []):
            for name, body in block.get("aws_iam_policy_document", {}).items():
                yield path, name, body


def statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    """Static statements plus the content of `dynamic "statement"` blocks."""
    found = list(document.get("statement", []))
    for dynamic in document.get("dynamic", []):
        for content in dynamic.get("statement", {}).get("content", []):
            found.append(content)
    return found


def state_machine_policy() -> list[dict[str, Any]]:
    docs = [body for path, name, body in policy_documents() if name == "state_machine"]
    assert len(docs) == 1, "expected one aws_iam_policy_document.state_machine"
    return statements(docs[0])


def asl_resources(node: Any) -> Iterator[str]:
    """Task Resource ARNs anywhere in an ASL document (Map and Parallel included)."""
    if isinstance(node, dict):
        if node.get("Type") == "Task" and isinstance(node.get("Resource"), str):
            yield node["Resource"]
        for value in node.values():
            yield from asl_resources(value)
    elif isinstance(node, list):
        for item in node:
            yield from asl_resources(item)


def iam_action(resource: str) -> str:
    match = INTEGRATION.match(resource)
    assert match, f"unrecognised Task resource {resource!r}: add its IAM mapping to this test"
    service = IAM_PREFIX.get(match["service"], match["service"])
    action = match["action"]
    return f"{service}:{action[0].upper()}{action[1:]}"


def asl_integrations() -> set[str]:
    if not ASL_FILES:
        pytest.fail("no statemachines/*.asl.json found: generate the ASL before the IAM checks")
    found: set[str] = set()
    for path in ASL_FILES:
        found.update(asl_resources(json.loads(path.read_text())))
    return found


def granted(policy: list[dict[str, Any]]) -> set[str]:
    return {action for statement in policy for action in statement.get("actions", [])}


# ---- tests --------------------------------------------------------------------------------------


def test_action_mapping() -> None:
    assert iam_action("arn:aws:states:::aws-sdk:sagemaker:startPipelineExecution") == (
        "sagemaker:StartPipelineExecution"
    )
    assert iam_action("arn:aws:states:::sagemaker:createModel") == "sagemaker:CreateModel"
    assert iam_action("arn:aws:states:::sns:publish") == "sns:Publish"
    assert iam_action("arn:aws:states:::aws-sdk:sfn:startExecution.sync:2") == (
        "states:StartExecution"
    )


def test_asl_calls_only_contracted_integrations() -> None:
    unexpected = asl_integrations() - CONTRACT_INTEGRATIONS
    assert not unexpected, f"integrations outside the contract (update IAM + test): {unexpected}"


def test_state_machine_role_grants_every_asl_integration() -> None:
    required = {iam_action(r) for r in asl_integrations() | CONTRACT_INTEGRATIONS}
    missing = required - granted(state_machine_policy())
    assert not missing, f"state machine role lacks {sorted(missing)}"


def test_state_machine_role_grants_nothing_else() -> None:
    required = {iam_action(r) for r in asl_integrations() | CONTRACT_INTEGRATIONS}
    extra = granted(state_machine_policy()) - required - STATE_MACHINE_EXTRAS
    assert not extra, f"state machine role grants actions the ASL never calls: {sorted(extra)}"
    missing_extras = STATE_MACHINE_EXTRAS - granted(state_machine_policy())
    assert not missing_extras, f"state machine role lacks {sorted(missing_extras)}"


def test_state_machine_reads_only_evaluations() -> None:
    policy = state_machine_policy()
    s3 = [s for s in policy if any(a.startswith("s3:") for a in s["actions"])]
    assert s3, "no S3 statement for ReadEvaluation"
    for statement in s3:
        assert statement["actions"] == ["s3:GetObject"]
        assert all(r.endswith("/evaluation/*") for r in statement["resources"]), statement


def test_pass_role_is_conditioned_on_service() -> None:
    checked = 0
    for path, name, document in policy_documents():
        for statement in statements(document):
            if "iam:PassRole" not in statement.get("actions", []):
                continue
            checked += 1
            conditions = {c["variable"]: c for c in statement.get("condition", [])}
            assert "iam:PassedToService" in conditions, f"{path.name}:{name} PassRole unconditioned"
            assert conditions["iam:PassedToService"]["test"] == "StringEquals"
            assert "*" not in statement["resources"], f"{path.name}:{name} passes any role"
    assert checked >= 3, "expected PassRole in the SageMaker, state machine and deploy policies"


def test_star_resources_only_for_unscopable_actions() -> None:
    offenders = []
    for path, name, document in policy_documents():
        if name in KEY_POLICIES:
            continue
        for statement in statements(document):
            if "*" in statement.get("resources", []) and statement.get("effect", "Allow") != "Deny":
                scoped = set(statement["actions"]) - STAR_ALLOWED
                if scoped:
                    offenders.append(f"{path.name}:{name}:{statement.get('sid')} {sorted(scoped)}")
    assert not offenders, f'Resource "*" on actions that can be scoped: {offenders}'


def test_star_resources_carry_a_why_comment() -> None:
    """Each `resources = ["*"]` sits in a statement whose comment explains the "*"."""
    missing = []
    for path in sorted(TERRAFORM_DIR.rglob("*.tf")):
        text = path.read_text()
        for match in re.finditer(r'resources\s*=\s*\["\*"\]', text):
            start = text.rfind("statement {", 0, match.start())
            block = text[start : match.start()]
            header = text[text.rfind("data ", 0, start) : start]
            if not re.search(r'#.*Resource "\*"', block + header):
                line = text.count("\n", 0, match.start()) + 1
                missing.append(f"{path.relative_to(ROOT)}:{line}")
    assert not missing, f'Resource "*" without a comment saying why: {missing}'
