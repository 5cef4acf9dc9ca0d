"""IAM least-privilege checks on the Terraform policy documents.

The state machine's role must grant exactly the service integrations its ASL calls: the actions
are derived from the committed `statemachines/*.asl.json` Task `Resource` fields
(`arn:aws:states:::aws-sdk:<svc>:<action>` -> `<svc>:<Action>`, optimised integrations such as
`arn:aws:states:::sagemaker:createModel` -> `sagemaker:CreateModel`) and compared with the
`aws_iam_policy_document.state_machine` statements parsed from terraform/iam.tf. Every policy
document may use `Resource "*"` only for actions AWS does not authorise per resource.

The CI deploy role (terraform/bootstrap) may manage and pass only the roles terraform/ creates:
one list, terraform/iam_roles.json (role name suffix -> the service it trusts and is passed to),
is compared with every `aws_iam_role` of terraform/*.tf and every resource that passes a role.
"""

from __future__ import annotations

import functools
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
BOOTSTRAP_DIR = TERRAFORM_DIR / "bootstrap"
ROLE_LIST = TERRAFORM_DIR / "iam_roles.json"
ASL_FILES = sorted((ROOT / "statemachines").glob("*.asl.json"))
HCL_OPTIONS = SerializationOptions(
    with_comments=False, explicit_blocks=False, strip_string_quotes=True
)

# The integrations agreed in the design, per machine (the ASL may not call anything else).
CONTRACT_INTEGRATIONS = {
    "training": {
        "arn:aws:states:::aws-sdk:sagemaker:startPipelineExecution",
        "arn:aws:states:::aws-sdk:sagemaker:describePipelineExecution",
        "arn:aws:states:::aws-sdk:sagemaker:stopPipelineExecution",
        "arn:aws:states:::aws-sdk:sagemaker:createModelPackage",
        # The input check, the snapshot, the pipeline's outcome, the finish (lambdas/*).
        "arn:aws:states:::lambda:invoke",
    },
    "deployment": {
        "arn:aws:states:::sagemaker:createModel",
        "arn:aws:states:::sagemaker:createEndpointConfig",
        "arn:aws:states:::sagemaker:createEndpoint",
        # A guarded update with DeploymentConfig: the aws-sdk integration passes every field.
        "arn:aws:states:::aws-sdk:sagemaker:updateEndpoint",
        "arn:aws:states:::aws-sdk:sagemaker:describeEndpoint",
        # A Failed endpoint can only be deleted, then created again.
        "arn:aws:states:::aws-sdk:sagemaker:deleteEndpoint",
        # The plan, the smoke test, the finish (lambdas/*).
        "arn:aws:states:::lambda:invoke",
    },
    "monitoring": {
        # The drift monitor's Processing job, polled.
        "arn:aws:states:::aws-sdk:sagemaker:createProcessingJob",
        "arn:aws:states:::aws-sdk:sagemaker:describeProcessingJob",
        # The plan, the verdict, the finish (lambdas/*).
        "arn:aws:states:::lambda:invoke",
    },
}
# SDK service names that differ from their IAM prefix.
IAM_PREFIX = {"sfn": "states", "cloudwatchlogs": "logs", "eventbridge": "events"}
# Optimized integrations whose action is not the IAM action: lambda:invoke needs
# lambda:InvokeFunction (https://docs.aws.amazon.com/step-functions/latest/dg/lambda-iam.html).
IAM_ACTION = {"lambda:Invoke": "lambda:InvokeFunction"}
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
MACHINE_EXTRAS = {
    "training": {
        "sagemaker:AddTags",  # tags on the packages it registers
        *LOG_DELIVERY,
        *XRAY,
    },
    "deployment": {
        "sagemaker:AddTags",  # tags on created models, endpoint configs, endpoints
        "sagemaker:DescribeModelPackage",  # CreateModel from a package reads the package
        "cloudwatch:DescribeAlarms",  # the caller of a guarded UpdateEndpoint (guardrails guide)
        "iam:PassRole",  # the SageMaker role, to CreateModel
        *LOG_DELIVERY,
        *XRAY,
    },
}
MACHINES = ("training", "deployment")


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


def machine_policy(machine: str) -> list[dict[str, Any]]:
    """The machine's own statements and those of the documents it is built from."""
    documents = {name: body for _, name, body in policy_documents()}
    document = documents[f"{machine}_machine"]
    found = statements(document)
    for source in document.get("source_policy_documents", []):
        name = re.fullmatch(r"\$\{data\.aws_iam_policy_document\.([a-z0-9_]+)\.json\}", source)
        assert name, source
        found.extend(statements(documents[name[1]]))
    return found


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
    named = f"{service}:{action[0].upper()}{action[1:]}"
    return IAM_ACTION.get(named, named)


# API operations that IAM authorises as other actions: CopyObject is s3:GetObject (and
# s3:GetObjectVersion for a named version) on the source plus s3:PutObject on the copy
# (https://docs.aws.amazon.com/AmazonS3/latest/API/API_CopyObject.html).
IAM_ACTIONS_OF = {"s3:CopyObject": {"s3:GetObject", "s3:GetObjectVersion", "s3:PutObject"}}


def iam_actions(resource: str) -> set[str]:
    """The IAM actions a Task resource needs."""
    action = iam_action(resource)
    return IAM_ACTIONS_OF.get(action, {action})


def asl_integrations(machine: str) -> set[str]:
    path = ROOT / "statemachines" / f"{machine}.asl.json"
    return set(asl_resources(json.loads(path.read_text())))


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


@pytest.mark.parametrize("machine", MACHINES)
def test_asl_calls_only_contracted_integrations(machine: str) -> None:
    unexpected = asl_integrations(machine) - CONTRACT_INTEGRATIONS[machine]
    assert not unexpected, f"integrations outside the contract (update IAM + test): {unexpected}"


@pytest.mark.parametrize("machine", MACHINES)
def test_each_machines_role_grants_exactly_its_asls_integrations(machine: str) -> None:
    required = {
        a
        for r in asl_integrations(machine) | CONTRACT_INTEGRATIONS[machine]
        for a in iam_actions(r)
    }
    given = granted(machine_policy(machine))
    assert not required - given, f"{machine} role lacks {sorted(required - given)}"
    extra = given - required - MACHINE_EXTRAS[machine]
    assert not extra, f"{machine} role grants actions its ASL never calls: {sorted(extra)}"
    assert not MACHINE_EXTRAS[machine] - given, f"{machine} role lacks its stated extras"


def test_the_machines_read_and_write_no_object() -> None:
    """Python does the machines' S3 work (the input check, the snapshot, the outcome, the
    finish), each function with its own scoped role."""
    for machine in MACHINES:
        assert not [a for a in granted(machine_policy(machine)) if a.startswith("s3:")], machine


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
    assert checked >= 3, (
        "expected PassRole in the SageMaker, deployment machine and deploy policies"
    )


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


def test_the_serving_package_lookup_is_granted_from_its_one_local() -> None:
    """Every statement that finds the package the endpoint serves (endpoint -> config -> model
    -> package) grants local.serving_package_lookup, not a copy of its actions and ARNs."""
    copies = [
        f"{path.name}:{name}:{statement.get('sid')}"
        for path, name, document in policy_documents()
        for statement in statements(document)
        if isinstance(statement.get("actions"), list)
        and "sagemaker:DescribeEndpointConfig" in statement["actions"]
    ]
    assert not copies, f"use local.serving_package_lookup in {copies}"
    users = [
        statement.get("sid")
        for _, _, document in policy_documents()
        for statement in statements(document)
        if statement.get("actions") == "${local.serving_package_lookup.actions}"
    ]
    assert len(users) >= 4, users


# ---- the deploy role's IAM scope (terraform/bootstrap) ------------------------------------------

# Attributes that pass a role to a service, which needs iam:PassRole with iam:PassedToService set
# to that service (Lambda CreateFunction, EventBridge PutTargets, Step Functions
# CreateStateMachine, SageMaker CreatePipeline: each API reference lists iam:PassRole among the
# permissions the caller needs). An unknown role attribute fails test_every_role_attribute_is_known.
PASSED_TO = {
    ("aws_lambda_function", "role"): "lambda.amazonaws.com",
    ("aws_cloudwatch_event_target", "role_arn"): "events.amazonaws.com",
    ("aws_sfn_state_machine", "role_arn"): "states.amazonaws.com",
    ("aws_sagemaker_pipeline", "role_arn"): "sagemaker.amazonaws.com",
    # EventBridge Scheduler CreateSchedule: "iam:PassRole" of Target.RoleArn.
    ("aws_scheduler_schedule", "target.role_arn"): "scheduler.amazonaws.com",
}
ROLE_ATTRIBUTE = re.compile(r"^(.*\.)?(role|role_arn|.*_role_arn|execution_role)$")
# IAM calls the AWS provider makes for each IAM resource type of the main root
# (hashicorp/terraform-provider-aws internal/service/iam/role.go, role_policy.go: create, read,
# update and delete). PowerUserAccess denies every iam:* action except service-linked roles, so
# these must come from the bootstrap's own policy.
IAM_CALLS = {
    ("resource", "aws_iam_role"): {
        "iam:CreateRole",
        "iam:GetRole",
        "iam:DeleteRole",
        "iam:UpdateRole",
        "iam:UpdateRoleDescription",
        "iam:UpdateAssumeRolePolicy",
        "iam:TagRole",
        "iam:UntagRole",
        "iam:ListRoleTags",
        "iam:ListRolePolicies",
        "iam:GetRolePolicy",
        "iam:ListAttachedRolePolicies",
        "iam:ListInstanceProfilesForRole",
    },
    ("resource", "aws_iam_role_policy"): {
        "iam:PutRolePolicy",
        "iam:GetRolePolicy",
        "iam:DeleteRolePolicy",
    },
    ("data", "aws_iam_role"): {"iam:GetRole"},
    # Rendered locally by Terraform; no API call.
    ("data", "aws_iam_policy_document"): set(),
}
# Services PowerUserAccess leaves out (its NotAction list); any resource of theirs needs a grant.
OUTSIDE_POWER_USER = ("aws_iam_", "aws_organizations_", "aws_account_")
# Local names the main root derives role names from (resolved to "<project>-<suffix>").
NAME_PREFIX = "${var.project_name}-"
LOCAL_REF = re.compile(r"\$\{local\.([a-z0-9_]+)\}")


@functools.cache
def load_tf(path: Path) -> dict[str, Any]:
    """A .tf file parsed (once: the checks below read the same files many times; never mutated)."""
    with path.open() as handle:
        return dict(hcl2.load(handle, serialization_options=HCL_OPTIONS))


def blocks_of(directory: Path, kind: str) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(type, name, body) of every `resource` or `data` block of directory/*.tf."""
    for path in sorted(directory.glob("*.tf")):
        for block in load_tf(path).get(kind, []):
            for type_, named in block.items():
                for name, body in named.items():
                    yield type_, name, body


EACH = re.compile(r"\$\{each\.(key|value\.([a-z0-9_]+))\}")


def instances(name: str, body: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """A block, or each instance of a `for_each` over a local map, with `each.key` and
    `each.value.<attribute>` (plain strings) filled in."""
    reference = body.get("for_each")
    if reference is None:
        yield name, body
        return
    match = re.fullmatch(r"\$\{local\.([a-z0-9_]+)\}", str(reference))
    if match is None:
        yield name, body  # another iteration (a set of names): the body as written
        return
    mapping = main_locals().get(match[1])
    if not isinstance(mapping, dict):
        yield name, body  # a computed collection: the body as written
        return
    for key, value in mapping.items():

        def fill(node: Any, key: str = key, value: Any = value) -> Any:
            if isinstance(node, dict):
                return {k: fill(v) for k, v in node.items() if k != "for_each"}
            if isinstance(node, list):
                return [fill(v) for v in node]
            if not isinstance(node, str):
                return node
            node = node.replace("[each.key]", f"[{key}]")
            return EACH.sub(
                lambda m: key
                if m[1] == "key"
                else (value[m[2]] if isinstance(value.get(m[2]), str) else m[0]),
                node,
            )

        yield f"{name}_{key}", fill(body)


def module_calls() -> Iterator[tuple[str, Path, dict[str, Any]]]:
    """(call name, module directory, arguments) of every local `module` block of the main root
    (one per instance of a `for_each` call)."""
    for path in sorted(TERRAFORM_DIR.glob("*.tf")):
        for block in load_tf(path).get("module", []):
            for call, arguments in block.items():
                source = arguments["source"]
                assert source.startswith("./modules/"), f"module.{call}: {source} is not local"
                for instance, filled in instances(call, arguments):
                    yield instance, TERRAFORM_DIR / source, filled


def as_called(node: Any, call: str, arguments: dict[str, Any]) -> Any:
    """A module's value as its call makes it: the module's own blocks named `<call>_<name>`,
    then each `${var.x}` replaced by the call's argument (an expression, for a string)."""
    if isinstance(node, dict):
        return {key: as_called(value, call, arguments) for key, value in node.items()}
    if isinstance(node, list):
        return [as_called(value, call, arguments) for value in node]
    if not isinstance(node, str):
        return node
    own = re.sub(r"\b(aws_[a-z0-9_]+)\.([a-z0-9_]+)\b", rf"\1.{call}_\2", node)
    return re.sub(
        r"\$\{var\.([a-z0-9_]+)\}",
        lambda m: arguments[m[1]] if isinstance(arguments.get(m[1]), str) else m[0],
        own,
    )


def main_blocks(kind: str) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(type, name, body) of every `resource` or `data` block of the main root, the blocks of
    each local module call included (named `<call>_<name>`, with the call's arguments); a
    `for_each` over a local map gives one block per instance."""
    for type_, name, body in blocks_of(TERRAFORM_DIR, kind):
        for instance, filled in instances(name, body):
            yield type_, instance, filled
    for call, directory, arguments in module_calls():
        for type_, name, body in blocks_of(directory, kind):
            yield type_, f"{call}_{name}", as_called(body, call, arguments)


def main_locals() -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for path in sorted(TERRAFORM_DIR.glob("*.tf")):
        for block in load_tf(path).get("locals", []):
            merged.update(block)
    return merged


def resolve_locals(text: str, values: dict[str, Any]) -> str:
    """Inline `${local.x}` references whose value is a plain string, until none is left."""
    for _ in range(10):
        expanded = LOCAL_REF.sub(
            lambda m: values[m[1]] if isinstance(values.get(m[1]), str) else m[0], text
        )
        if expanded == text:
            return text
        text = expanded
    return text


def role_list() -> dict[str, str]:
    roles = json.loads(ROLE_LIST.read_text())["roles"]
    assert isinstance(roles, dict) and roles, f"{ROLE_LIST.name}: 'roles' must be a non-empty map"
    return dict(roles)


def trusted_services(document_ref: str) -> set[str]:
    match = re.fullmatch(r"\$\{data\.aws_iam_policy_document\.([a-z0-9_]+)\.json\}", document_ref)
    assert match, f"assume_role_policy must reference an aws_iam_policy_document: {document_ref}"
    documents = {
        name: body
        for type_, name, body in main_blocks("data")
        if type_ == "aws_iam_policy_document"
    }
    services: set[str] = set()
    for statement in statements(documents[match[1]]):
        if "sts:AssumeRole" in statement.get("actions", []):
            for principal in statement.get("principals", []):
                if principal["type"] == "Service":
                    services.update(principal["identifiers"])
    return services


def created_roles() -> dict[str, tuple[str, str]]:
    """aws_iam_role resource name -> (name suffix, trusted service) for terraform/*.tf."""
    values = main_locals()
    found: dict[str, tuple[str, str]] = {}
    for type_, name, body in main_blocks("resource"):
        if type_ != "aws_iam_role":
            continue
        role_name = resolve_locals(body["name"], values)
        assert role_name.startswith(NAME_PREFIX) and "$" not in role_name[len(NAME_PREFIX) :], (
            f'aws_iam_role.{name}: name {body["name"]!r} must be "<project_name>-<suffix>" with '
            "a literal suffix, so the bootstrap can scope the deploy role to it"
        )
        services = trusted_services(body["assume_role_policy"])
        assert len(services) == 1, f"aws_iam_role.{name} must trust one service, got {services}"
        found[name] = (role_name[len(NAME_PREFIX) :], services.pop())
    return found


def role_passes() -> list[tuple[str, str, str, str]]:
    """(type, name, attribute, aws_iam_role name) for each attribute that passes a role.

    aws_iam_* resources name the role they manage (aws_iam_role_policy.role); that is no pass.
    """
    values = main_locals()
    passes = []
    for type_, name, body in main_blocks("resource"):
        if type_.startswith("aws_iam_"):
            continue
        for attribute, value in attributes(body):
            if not ROLE_ATTRIBUTE.match(attribute) or not isinstance(value, str):
                continue
            # data.aws_iam_role is a role terraform/ does not create (var.sagemaker_role_name).
            roles = {
                f"{role}_{key}" if key and not key.isdigit() else role  # [0]: a count, not a key
                for role, key in re.findall(
                    r"(?<!data\.)aws_iam_role\.([a-z0-9_]+)(?:\[([a-z0-9_]+)\])?",
                    resolve_locals(value, values),
                )
            }
            assert len(roles) == 1, f"{type_}.{name}.{attribute}: cannot tell which role {value}"
            passes.append((type_, name, attribute, roles.pop()))
    return passes


def attributes(body: dict[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    """A block's attributes, those of its nested blocks named ``<block>.<attribute>``."""
    for key, value in body.items():
        if isinstance(value, list) and value and all(isinstance(item, dict) for item in value):
            for item in value:
                yield from attributes(item, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value


def bootstrap_deploy_policy() -> dict[str, Any]:
    for path in sorted(BOOTSTRAP_DIR.glob("*.tf")):
        for block in load_tf(path).get("data", []):
            document = block.get("aws_iam_policy_document", {}).get("deploy")
            if document is not None:
                return dict(document)
    pytest.fail("terraform/bootstrap has no aws_iam_policy_document.deploy")


def test_role_list_names_exactly_the_roles_terraform_creates() -> None:
    created = {suffix: service for suffix, service in created_roles().values()}
    listed = role_list()
    assert created == listed, (
        f"terraform/*.tf creates {created}, {ROLE_LIST.name} lists {listed}: a role missing from "
        "the list makes CI's terraform apply AccessDenied; update the list (the bootstrap reads it)"
    )


def test_every_role_attribute_is_known() -> None:
    unknown = {(t, a) for t, _, a, _ in role_passes()} - set(PASSED_TO)
    assert not unknown, f"attributes passing a role with no known service: {sorted(unknown)}"


def test_each_role_is_passed_only_to_its_listed_service() -> None:
    roles = created_roles()
    listed = role_list()
    passes = role_passes()
    assert {r for *_, r in passes} == set(roles), "a created role is never passed, or vice versa"
    for type_, name, attribute, role in passes:
        suffix, trusted = roles[role]
        service = PASSED_TO[(type_, attribute)]
        assert listed[suffix] == service == trusted, (
            f"{type_}.{name}.{attribute} passes {suffix!r} to {service}; the role trusts {trusted} "
            f"and {ROLE_LIST.name} says {listed.get(suffix)}"
        )


def test_bootstrap_reads_the_role_list_and_keeps_no_copy() -> None:
    text = "\n".join(p.read_text() for p in sorted(BOOTSTRAP_DIR.glob("*.tf")))
    assert 'jsondecode(file("${path.module}/../iam_roles.json"))' in text
    copies = [v for kv in role_list().items() for v in kv if f'"{v}"' in text]
    assert not copies, f"terraform/bootstrap repeats {copies}; derive them from {ROLE_LIST.name}"


def test_deploy_role_may_make_every_iam_call_terraform_needs() -> None:
    kinds = [("resource", t) for t, _, _ in main_blocks("resource")]
    kinds += [("data", t) for t, _, _ in main_blocks("data")]
    uncovered = sorted({k for k in kinds if k[1].startswith(OUTSIDE_POWER_USER)} - set(IAM_CALLS))
    assert not uncovered, f"outside PowerUserAccess and not mapped to IAM calls: {uncovered}"
    needed = set().union(*(IAM_CALLS[k] for k in set(kinds) if k in IAM_CALLS))

    manage = [
        s for s in statements(bootstrap_deploy_policy()) if s.get("sid") == "ManageProjectRoles"
    ]
    assert len(manage) == 1, "expected one ManageProjectRoles statement in the deploy policy"
    missing = needed - set(manage[0]["actions"])
    assert not missing, f"the deploy role lacks {sorted(missing)} on the project roles"
    assert manage[0]["resources"] == "${local.project_role_arns}"


def test_deploy_role_passes_each_role_only_to_its_service() -> None:
    """One PassRole statement per listed service, built from the list.

    tests/unit/test_terraform.py renders `local.pass_role_arns_by_service` with Terraform.
    """
    document = bootstrap_deploy_policy()
    static = [s for s in document.get("statement", []) if "iam:PassRole" in s.get("actions", [])]
    assert not static, "PassRole must come from the role list, not a hand-written statement"
    dynamics = [d["statement"] for d in document.get("dynamic", []) if "statement" in d]
    passing = [d for d in dynamics if "iam:PassRole" in d["content"][0]["actions"]]
    assert len(passing) == 1, "expected one dynamic PassRole statement"
    assert passing[0]["for_each"] == "${local.pass_role_arns_by_service}"
    (content,) = passing[0]["content"]
    assert content["actions"] == ["iam:PassRole"]
    assert content["resources"] == "${statement.value}"
    (condition,) = content["condition"]
    assert (condition["test"], condition["variable"], condition["values"]) == (
        "StringEquals",
        "iam:PassedToService",
        ["${statement.key}"],
    )


def test_deploy_role_may_read_an_existing_role_the_main_root_uses() -> None:
    """With the main root's sagemaker_role_name set, apply reads that role (data.aws_iam_role)
    and passes it to the pipeline; the bootstrap takes the same variable and grants exactly
    iam:GetRole on it (PassRole: rendered in test_terraform)."""
    existing = [body for type_, _, body in main_blocks("data") if type_ == "aws_iam_role"]
    names = {re.fullmatch(r"\$\{var\.([a-z0-9_]+)\}", body["name"]) for body in existing}
    assert None not in names, f"data.aws_iam_role names must be a variable: {existing}"
    bootstrap_variables = {
        name
        for path in sorted(BOOTSTRAP_DIR.glob("*.tf"))
        for block in load_tf(path).get("variable", [])
        for name in block
    }
    for match in names:
        assert match is not None and match[1] in bootstrap_variables, (
            f"terraform/bootstrap needs variable {match and match[1]!r} to scope the deploy role"
        )
    reads = [
        s
        for s in statements(bootstrap_deploy_policy())
        if s.get("sid") == "ReadExistingSageMakerRole"
    ]
    assert [(s["actions"], s["resources"]) for s in reads] == [
        (["iam:GetRole"], "${statement.value}")
    ]
