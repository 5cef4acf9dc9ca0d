"""Gate -> Register -> Registered: promote a candidate the evaluation step judged.

The gate's verdict (threshold, and not worse than the serving model by more than the margin) is
computed once, in Python, by the evaluation step (``contracts.evaluation.decide_gate``) and read
here from the bounded summary. Registration records the deploy intent; only an approval, never
this machine, starts a deployment (``statemachines/deployment``).
"""

from __future__ import annotations

from stepfunctions.steps import Choice, ChoiceRule
from stepfunctions.steps.states import State

from statemachines.common import EXECUTION_NAME, Ending, sagemaker_task
from statemachines.sdk_ext import Task

#: Where the serving container finds train.py (model_fn etc.): the code/ directory of
#: model.tar.gz, the sagemaker SDK's repack convention.
MODEL_CODE_DIRECTORY = "/opt/ml/model/code"
SUMMARY = "$.evaluation.summary"


def promotion_phase(ending: Ending) -> State:
    """Returns the Gate; every path ends at ``ending``."""
    gate = Choice("Gate", comment="Register only a candidate the evaluation step let through.")
    gate_failed = ending.fail(
        "QualityGateFailed",
        "QualityGateFailed",
        f"{SUMMARY}.gate.cause",
        "Refused by the gate: below the threshold, or worse than the serving model.",
        **{"report_uri.$": "$.evaluation.report_uri", "data_uri.$": "$.config.data_uri"},
    )
    register = _register()
    ending.catch_all(
        register,
        ending.caught(
            "RegistrationFailed", "ModelRegistrationFailed", "Could not register the model package"
        ),
    )
    registered = ending.outcome(
        "Registered",
        {
            "status": "SUCCEEDED",
            "execution.$": EXECUTION_NAME,
            "model_package_arn.$": "$.model_package.arn",
            "approval_status.$": "$.evaluation.approval_status",
            "deploy.$": "$.config.deploy",
            "data_uri.$": "$.config.data_uri",
            "headline.$": f"{SUMMARY}.gate.headline",
            "promotion.$": f"{SUMMARY}.promotion",
            "report_uri.$": "$.evaluation.report_uri",
            "evaluation_uri.$": "$.evaluation.evaluation_uri",
        },
        "The execution's output and the success notification.",
    )
    gate.add_choice(ChoiceRule.BooleanEquals(f"{SUMMARY}.gate.passed", True), register)
    gate.default_choice(gate_failed)
    register.next(registered)
    return gate


def _register() -> Task:
    """CreateModelPackage: every value bounded by the contracts (input check, summary)."""
    return sagemaker_task(
        "Register",
        "createModelPackage",
        {
            "ModelPackageGroupName": "${model_package_group_name}",
            # Built and bounded by the input check (contracts.registry): at most 1,024 characters.
            "ModelPackageDescription.$": "$.registration.description",
            "ModelApprovalStatus.$": "$.evaluation.approval_status",
            "InferenceSpecification": {
                "Containers": [
                    {
                        "Image": "${xgboost_image_uri}",
                        "ModelDataUrl.$": f"{SUMMARY}.model_artifact_uri",
                        "Environment": {
                            "SAGEMAKER_PROGRAM": "train.py",
                            # train.py travels inside model.tar.gz (code/), where the sagemaker
                            # SDK's repack puts it; nothing outside the artifact.
                            "SAGEMAKER_SUBMIT_DIRECTORY": MODEL_CODE_DIRECTORY,
                            "SAGEMAKER_CONTAINER_LOG_LEVEL": "20",
                        },
                    }
                ],
                "SupportedContentTypes": ["text/csv"],
                "SupportedResponseMIMETypes": ["application/json"],
            },
            "ModelMetrics": {
                "ModelQuality": {
                    "Statistics": {
                        "ContentType": "application/json",
                        "S3Uri.$": "$.evaluation.evaluation_uri",
                    }
                }
            },
            "DriftCheckBaselines": {
                "ModelDataQuality": {
                    "Statistics": {
                        "ContentType": "application/json",
                        "S3Uri.$": "$.evaluation.baseline_uri",
                    }
                }
            },
            # Input-known values (run, data, deploy intent) and evaluation-known ones (metrics,
            # the dataset contract, the API fingerprint), each bounded by contracts.registry.
            "CustomerMetadataProperties.$": "States.JsonMerge($.registration.metadata, "
            f"{SUMMARY}.registration.metadata, false)",
        },
        comment="A new version in the model package group, with its evaluation and baseline.",
        result_path="$.model_package",
        result_selector={"arn.$": "$.ModelPackageArn"},
    )
