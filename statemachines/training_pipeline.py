"""The training state machine, built with the Step Functions Data Science SDK.

It runs one training cycle end to end: start the SageMaker Pipeline, wait for it, read the
evaluation it wrote, gate on accuracy, register the model and optionally deploy it, and notify
SNS on every outcome. ``python -m statemachines`` writes the ASL to
``statemachines/training_pipeline.asl.json``; Terraform renders its ``${...}`` placeholders with
``templatefile()``.

One builder per phase, each wiring its own transitions (``build_definition`` composes them)::

    input:     CheckInput (validator Lambda) -> InputChecked --(invalid)--> InvalidInput -----+
               (validator failed) -> InputCheckFailed ---------------------------------------+
    entry:     (valid) LoadDefaults -> ApplyDefaults -> RouteRequest -> approved | rejected |  |
               training -> snapshot                                                         |
    snapshot:  LocateInput -> InputHasKey -> StartInputKey -> (AppendInputKeyPart)*
               -> RebuildInputUri -> InputUriExact -> InputVersionGiven -> PinInputVersion |
               CurrentInputVersion
               -> SnapshotInput (copy into runs/<execution>/input/) -> InputVersioned
    pipeline:  StartPipeline -> WaitForPipeline -> DescribePipeline -> CountPoll -> PipelineStatus
                   ^  (Executing)                                                      |     |
                   +-------------------------------------------------------------------+     |
               PipelineStatus: Failed/Stopped -> DescribeFailedSteps -> FindDataStep         |
                   -> RanDataJob -> DescribeDataJob -> IsDataError -> DataInvalid (its       |
                      ExitMessage starts with DataValidationError: ) | PipelineFailed ------+
                               budget spent   -> StopPipeline -> PollBudgetExhausted --------+
    gate:      ReadEvaluation -> EvaluationKind -> BinaryEvaluation | MulticlassEvaluation    |
               (neither or both: EvaluationHasNoMetrics) -> CheckEvaluation              |
               -> QualityGate --(below)--> QualityGateFailed ---------------------------+
    registry:  DecideApproval -> ApproveAutomatically | AwaitManualApproval -> RegisterModel |
               -> DeployRequested --(no)--> NoDeploy | DeploySkipped -> Summary             |
    deployment (yes, Approved): NameDeployment -> ReadGuardrails -> CreateModel             |
               -> CreateEndpointConfig -> CheckEndpoint -> ExistingEndpointStatus           |
                    not found (EndpointLookupFailed) -> NoteFirstDeployment -> CreateEndpoint
                    InService -> CheckDeployedConfig -> CheckDeployedModel                  |
                              -> AlreadyDeployed (serves it) | NoteUpdate -> UpdateEndpoint |
                                 (blue/green canary, automatic rollback on the alarms)      |
                    Failed -> NoteFailedEndpoint -> DeleteFailedEndpoint                    |
                           -> NotifyReplacingFailedEndpoint -> (wait, look again)           |
                    busy, Deleting, lookup error -> EndpointCheckBudget -> CountEndpointCheck
                           -> WaitBeforeEndpointCheck -> CheckEndpoint  (budget spent:      |
                              EndpointBusyTimedOut) ----------------------------------------+
               Create/UpdateEndpoint -> WaitForEndpoint <-> DescribeEndpoint               |
               -> EndpointStatus: InService on the new config -> ReadSmokeTestSource       |
                    -> SmokeTest (Lambda) -> SmokeTestVerdict -> Deployed -> NoteDeployed   |
                       -> RecordDeployment -> SummaryRoute -> Summary | ApprovalSummary    |
                    failed: update -> StartRestore -> RestorePreviousConfig -> (wait) ->    |
                            SmokeTestFailedRestored; first -> DeleteUnverifiedEndpoint      |
                    InService on another config (rolled back) -> FindTrippedAlarms ->      |
                       RolledBack;  Failed (first) -> DeleteFailedNewEndpoint               |
               every failed attempt -> NoteFailedDeployment -> RecordFailedDeployment -----+
    success:   -> NotifySuccess (end)                every failure -> NotifyFailure -> Failed
    approved:  DescribeApprovedPackage -> ApprovedPackageRoute -> PackageNotDeployable |
               (deployed_by_run) DescribeRegisteringRun -> RegisteringRunRoute
               -> AlreadyDeployedByRun (run still RUNNING, end) |
               PrepareApprovedDeployment -> CheckServingEndpoint
               -> (pending or current) config -> CheckServingModel -> ServingPackageRoute
               -> AlreadyServing (end) | NameDeployment (deployment above)
    rejected:  FindServingEndpoint -> FindServingConfig -> FindServingModel -> RejectedRoute
               -> RejectedWhileServing -> NotifySuccess | RejectedNotServing (end)

Conventions: the merged execution config lives at ``$.config``; every failure branch writes
``$.failure = {error, cause, state, execution}`` and joins ``NotifyFailure`` -> ``Failed``,
whose ``ErrorPath``/``CausePath`` make that the execution's error. Numeric and boolean defaults
arrive as one escaped JSON string (``${defaults_json}``) so the committed file stays valid JSON.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from stepfunctions.steps import Catch, Choice, ChoiceRule, Pass, Retry, Wait
from stepfunctions.steps.states import State

from ml.prepare import DATA_ERROR_MARKER
from statemachines.sdk_ext import Fail, Task, graph_dict

ROOT = Path(__file__).resolve().parents[1]
ASL_PATH = ROOT / "statemachines" / "training_pipeline.asl.json"

#: Terraform ``templatefile()`` variables the ASL expects (all inside JSON strings).
PLACEHOLDERS = frozenset(
    {
        "defaults_json",
        "auto_approve_allowed",
        "pipeline_name",
        "bucket",
        "model_package_group_name",
        "notification_topic_arn",
        "sagemaker_role_arn",
        "xgboost_image_uri",
        "endpoint_name",
        "endpoint_instance_type",
        "model_name_prefix",
        "input_validator_function_arn",
        "smoke_test_function_arn",
        "deployment_guardrails_json",
    }
)

SAGEMAKER_SDK = "arn:aws:states:::aws-sdk:sagemaker:"
SAGEMAKER_OPTIMISED = "arn:aws:states:::sagemaker:"
SFN_SDK = "arn:aws:states:::aws-sdk:sfn:"
S3_GET_OBJECT = "arn:aws:states:::aws-sdk:s3:getObject"
S3_COPY_OBJECT = "arn:aws:states:::aws-sdk:s3:copyObject"
S3_PUT_OBJECT = "arn:aws:states:::aws-sdk:s3:putObject"
CLOUDWATCH_SDK = "arn:aws:states:::aws-sdk:cloudwatch:"
SNS_PUBLISH = "arn:aws:states:::sns:publish"

DATA_JOB_ARN = "$.data_step.steps[0].Metadata.ProcessingJob.Arn"

# Retried error names, as emulator/sfn_errors.py names them (test_asl_error_names.py checks
# that each can occur for its task). aws-sdk tasks report every error their operation does not
# model (throttling, 5xx, validation) as the SDK's base exception; optimized integrations as the
# older SDK's base exception. A genuine validation error then fails after the last attempt with
# its own message in the cause.
SAGEMAKER_SDK_TRANSIENT = ["SageMaker.SageMakerException"]
SAGEMAKER_OPTIMISED_TRANSIENT = ["SageMaker.AmazonSageMakerException"]
# InternalError and KMSThrottling are modeled errors of Publish (botocore's sns model); throttling
# of Publish itself is not, so it arrives as the base exception.
SNS_TRANSIENT = [
    "SNS.AmazonSNSException",
    "SNS.InternalErrorException",
    "SNS.KMSThrottlingException",
]
SFN_SDK_TRANSIENT = ["Sfn.SfnException"]
# DescribeAlarms models only InvalidNextToken: throttling arrives as the base exception.
CLOUDWATCH_TRANSIENT = ["CloudWatch.CloudWatchException"]
# SlowDown and InternalError are not modeled for GetObject: both are S3Exception.
S3_TRANSIENT = ["S3.S3Exception"]
# DescribeEndpoint models no errors: "Could not find endpoint" (ValidationException) and
# throttling both arrive as SageMaker.SageMakerException, told apart only by the cause.
# *Likely*: the cause carries the service's message; one describeEndpoint of a missing endpoint
# from a state machine on a real account settles it (its TaskFailed cause).
ENDPOINT_LOOKUP_ERROR = ["SageMaker.SageMakerException"]
ENDPOINT_NOT_FOUND_CAUSE = "*Could not find endpoint*"
# Lambda's optimized integration (https://docs.aws.amazon.com/step-functions/latest/dg/connect-lambda.html):
# AWS's documented retry of transient Lambda errors, less Lambda.SdkClientException (raised by the
# client, never by the service: emulator/sfn_errors.py cannot name it for the task). A function
# error would surface as its errorType; the validator answers instead of raising.
LAMBDA_INVOKE = "arn:aws:states:::lambda:invoke"
LAMBDA_TRANSIENT = [
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.TooManyRequestsException",
]

EXECUTION_NAME = "$$.Execution.Name"
#: Where the serving container finds train.py (model_fn etc.): the code/ directory of
#: model.tar.gz, the sagemaker SDK's repack convention.
MODEL_CODE_DIRECTORY = "/opt/ml/model/code"
EVALUATION_KEY = "States.Format('evaluation/{}/evaluation.json', $.pipeline.id)"
#: The report's metrics block, binary or multiclass (EvaluationKind copies it to $.quality).
BINARY_METRICS = "$.evaluation.report.binary_classification_metrics"
MULTICLASS_METRICS = "$.evaluation.report.multiclass_classification_metrics"
ACCURACY = "$.quality.metrics.accuracy.value"
#: The dataset contract prepare.py derived, as evaluate.py copies it into the report.
CONTRACT = "$.evaluation.report.dataset_contract"


def _retry(errors: list[str], attempts: int = 4) -> Retry:
    return Retry(error_equals=errors, interval_seconds=2, max_attempts=attempts, backoff_rate=2.0)


def _failure(state_id: str, error: str, cause: str, comment: str, *, dataset: bool = False) -> Pass:
    """A Pass state recording a failure (``cause`` is an intrinsic expression) at ``$.failure``.

    ``dataset``: the failure happened in a training run after the defaults were merged, so the
    notification names the data and its label column too.
    """
    parameters = {
        "error": error,
        "cause.$": cause,
        "state": state_id,
        "execution.$": EXECUTION_NAME,
    }
    if dataset:
        parameters["data_uri.$"] = "$.config.data_uri"
        parameters["label_column.$"] = "$.config.label_column"
    return Pass(state_id, comment=comment, parameters=parameters, result_path="$.failure")


class _Failures:
    """The one failure exit: every failure branch records ``$.failure`` and joins NotifyFailure."""

    def __init__(self) -> None:
        self.failed = Fail(
            "Failed",
            comment="Ends every failure path.",
            error_path="$.failure.error",
            cause_path="$.failure.cause",
        )
        self.notify = Task(
            "NotifyFailure",
            comment="Tell the topic what failed and why.",
            resource=SNS_PUBLISH,
            parameters={
                "TopicArn": "${notification_topic_arn}",
                "Subject.$": "States.Format('Training run failed: {}', $.failure.error)",
                "Message.$": "States.JsonToString($.failure)",
            },
            result_path=None,
        )
        self.notify.add_retry(_retry(SNS_TRANSIENT))
        # A failure to notify must not hide the original failure: fail with it anyway.
        self.notify.add_catch(
            Catch(error_equals=["States.ALL"], next_step=self.failed, result_path="$.notify_error")
        )
        self.notify.next(self.failed)

    def fail_with(
        self, state_id: str, error: str, cause: str, comment: str, *, dataset: bool = False
    ) -> Pass:
        state = _failure(state_id, error, cause, comment, dataset=dataset)
        state.next(self.notify)
        return state

    def caught(self, state_id: str, error: str, what: str, *, dataset: bool = False) -> Pass:
        """A failure branch for a Catch that stored the task error at ``$.error``."""
        return self.fail_with(
            state_id,
            error,
            f"States.Format('{what}: {{}} ({{}})', $.error.Cause, $.error.Error)",
            f"{what} (after retries).",
            dataset=dataset,
        )


def _input_phase(failures: _Failures, accepted: State) -> Task:
    """CheckInput -> InputChecked: the raw input, checked by the validator Lambda before anything.

    The schema lives in ``contracts/execution_input.json`` (one home: the ops CLI and the
    reference table read it too); pure ASL can neither list unknown keys nor suggest names. The
    result replaces the state (``ResultPath`` ``$``) because a non-object input (``[]``, ``3``)
    cannot take a ``ResultPath`` field; the validator echoes the input back.
    """
    check_input = Task(
        "CheckInput",
        comment="Schema check of the raw input and the execution name (lambdas/input_validator).",
        resource=LAMBDA_INVOKE,
        parameters={
            "FunctionName": "${input_validator_function_arn}",
            "Payload": {
                "input.$": "$",
                "bucket": "${bucket}",
                "defaults_json": "${defaults_json}",
                "execution_name.$": EXECUTION_NAME,
            },
        },
        result_selector={"check.$": "$.Payload"},
        result_path="$",
    )
    check_input.add_retry(_retry(LAMBDA_TRANSIENT))
    # The validator crashing is not the input's fault: its own name. The Catch replaces the state
    # for the same reason as the ResultPath above.
    check_failed = failures.fail_with(
        "InputCheckFailed",
        "InputCheckFailed",
        "States.Format('The execution input could not be checked: {} ({})', $.Cause, $.Error)",
        "The validator Lambda failed (after retries).",
    )
    check_input.add_catch(
        Catch(error_equals=["States.ALL"], next_step=check_failed, result_path="$")
    )
    input_checked = Choice("InputChecked", comment="Did the input pass the schema?")
    invalid_input = failures.fail_with(
        "InvalidInput",
        "InvalidExecutionInput",
        "$.check.cause",
        "Reject bad input before anything is started; the cause names each bad field.",
    )
    check_input.next(input_checked)
    input_checked.add_choice(ChoiceRule.BooleanEquals("$.check.valid", True), accepted)
    input_checked.default_choice(invalid_input)
    return check_input


#: Where a run keeps its own copy of the object its data_uri names (SnapshotInput). Only the run
#: writes below runs/<execution name>/input/, so the pipeline's S3Prefix input there matches
#: exactly that one object, and overwriting or deleting the source key changes nothing.
SNAPSHOT_KEY = "States.Format('runs/{}/input/{}', $$.Execution.Name, $.input_object.name)"


def _snapshot_phase(failures: _Failures, pipeline: State) -> Pass:
    """LocateInput -> ... -> SnapshotInput: copy the one object data_uri names into the run.

    SageMaker's S3Prefix input reads every key that *starts with* its URI (ProcessingS3Input,
    https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_ProcessingS3Input.html), so
    ``data/raw/a.csv`` would also read ``data/raw/a.csv.1.csv``. The run therefore copies the
    exact object (S3 CopyObject, which copies the current version and returns its
    ``CopySourceVersionId``; or the version the input's ``data_version_id`` names) to a key only
    it writes, and the pipeline reads that copy.

    JSONPath intrinsics have no substring, so the key is rebuilt from ``States.StringSplit``
    (which drops empty parts) one part at a time; a URI the rebuild does not reproduce exactly
    (``//``, a trailing ``/``, no key) names no single object and is refused.
    """
    locate = Pass(
        "LocateInput",
        comment="data_uri split at '/': [s3:, bucket, key parts...].",
        parameters={
            "parts.$": "States.StringSplit($.config.data_uri, '/')",
            "count.$": "States.ArrayLength(States.StringSplit($.config.data_uri, '/'))",
        },
        result_path="$.input_object",
    )
    not_an_object = failures.fail_with(
        "InputNotAnObject",
        "InputNotAnObject",
        "States.Format('data_uri {} does not name one S3 object: expected s3://<bucket>/<key> "
        "with no empty path segment (no //, no trailing /).', $.config.data_uri)",
        "A run reads exactly one object, never a key prefix.",
        dataset=True,
    )
    has_key = Choice("InputHasKey", comment="At least s3:, a bucket and one key part.")
    start_key = Pass(
        "StartInputKey",
        parameters={
            "parts.$": "$.input_object.parts",
            "count.$": "$.input_object.count",
            "bucket.$": "States.ArrayGetItem($.input_object.parts, 1)",
            "key.$": "States.ArrayGetItem($.input_object.parts, 2)",
            "next": 3,
        },
        result_path="$.input_object",
    )
    key_complete = Choice("InputKeyComplete")
    append_part = Pass(
        "AppendInputKeyPart",
        parameters={
            "parts.$": "$.input_object.parts",
            "count.$": "$.input_object.count",
            "bucket.$": "$.input_object.bucket",
            "key.$": "States.Format('{}/{}', $.input_object.key, "
            "States.ArrayGetItem($.input_object.parts, $.input_object.next))",
            "next.$": "States.MathAdd($.input_object.next, 1)",
        },
        result_path="$.input_object",
    )
    rebuild = Pass(
        "RebuildInputUri",
        comment="The URI the parts describe, and the run's own key for the copy.",
        parameters={
            "bucket.$": "$.input_object.bucket",
            "key.$": "$.input_object.key",
            "scheme.$": "States.ArrayGetItem($.input_object.parts, 0)",
            "uri.$": "States.Format('s3://{}/{}', $.input_object.bucket, $.input_object.key)",
            "name.$": "States.ArrayGetItem($.input_object.parts, "
            "States.MathAdd($.input_object.count, -1))",
        },
        result_path="$.input_object",
    )
    exact = Choice("InputUriExact", comment="The rebuilt URI is data_uri, character for character.")
    snapshot = Task(
        "SnapshotInput",
        comment="Copy the current version of the object into the run's own prefix.",
        resource=S3_COPY_OBJECT,
        parameters={
            "Bucket": "${bucket}",
            "Key.$": SNAPSHOT_KEY,
            # *Likely*: botocore URL-encodes a string CopySource (handle_copy_source_param);
            # AWS's SDK integration is assumed to do the same for keys with spaces or %.
            "CopySource.$": "$.copy_source.value",
            # REPLACE without Tagging: the copy carries no tags, so the role needs no
            # s3:GetObjectTagging / s3:PutObjectTagging (CopyObject's permissions section:
            # https://docs.aws.amazon.com/AmazonS3/latest/API/API_CopyObject.html).
            "TaggingDirective": "REPLACE",
        },
        result_path="$.snapshot",
    )
    snapshot.add_retry(_retry(S3_TRANSIENT))
    snapshot.add_catch(
        Catch(
            error_equals=["States.ALL"],
            result_path="$.error",
            next_step=failures.caught(
                "InputSnapshotFailed",
                "InputUnreadable",
                "Could not copy the object data_uri names into the run",
                dataset=True,
            ),
        )
    )
    versioned = Choice("InputVersioned", comment="The package records the version it trained on.")
    # The trigger names the uploaded version (data_version_id), so an upload waiting in the
    # queue is trained on even if its key is overwritten meanwhile; without one (make start, the
    # console) the current version is copied.
    version_given = Choice("InputVersionGiven", comment="Copy a named version, or the current one.")
    pin_version = Pass(
        "PinInputVersion",
        parameters={
            "value.$": "States.Format('{}/{}?versionId={}', $.input_object.bucket, "
            "$.input_object.key, $.config.data_version_id)"
        },
        result_path="$.copy_source",
    )
    current_version = Pass(
        "CurrentInputVersion",
        parameters={"value.$": "States.Format('{}/{}', $.input_object.bucket, $.input_object.key)"},
        result_path="$.copy_source",
    )
    not_versioned = failures.fail_with(
        "InputNotVersioned",
        "InputNotVersioned",
        "States.Format('data_uri {} is in a bucket without versioning: S3 returned no version "
        "id, so the model package could not record exactly what it trained on. Enable "
        "versioning on bucket {}.', $.config.data_uri, $.input_object.bucket)",
        "Without a version the package could not name its data.",
        dataset=True,
    )
    locate.next(has_key)
    has_key.add_choice(ChoiceRule.NumericGreaterThanEquals("$.input_object.count", 3), start_key)
    has_key.default_choice(not_an_object)
    start_key.next(key_complete)
    key_complete.add_choice(
        ChoiceRule.NumericLessThanPath("$.input_object.next", "$.input_object.count"),
        append_part,
    )
    key_complete.default_choice(rebuild)
    append_part.next(key_complete)
    rebuild.next(exact)
    exact.add_choice(
        ChoiceRule.And(
            [
                ChoiceRule.StringEquals("$.input_object.scheme", "s3:"),
                ChoiceRule.StringEqualsPath("$.input_object.uri", "$.config.data_uri"),
            ]
        ),
        version_given,
    )
    # CheckInput has already refused a data_version_id that is not a non-empty string.
    version_given.add_choice(ChoiceRule.IsPresent("$.config.data_version_id", True), pin_version)
    version_given.default_choice(current_version)
    pin_version.next(snapshot)
    current_version.next(snapshot)
    exact.default_choice(not_an_object)
    snapshot.next(versioned)
    versioned.add_choice(ChoiceRule.IsPresent("$.snapshot.CopySourceVersionId", True), pipeline)
    versioned.default_choice(not_versioned)
    return locate


def _pipeline_phase(failures: _Failures, gate: State) -> Task:
    """Start the SageMaker pipeline and poll it within the budget; ``gate`` on success."""
    start_pipeline = Task(
        "StartPipeline",
        comment="Idempotent start: the token derives from this execution's ARN.",
        resource=SAGEMAKER_SDK + "startPipelineExecution",
        parameters={
            "PipelineName": "${pipeline_name}",
            "ClientRequestToken.$": "States.Hash($$.Execution.Id, 'SHA-256')",
            "PipelineExecutionDescription.$": "States.Format('Started by Step Functions "
            "execution {}', $$.Execution.Name)",
            "PipelineParameters": [
                # The run's own copy (SnapshotInput), never data_uri itself.
                {
                    "Name": "InputDataUri",
                    "Value.$": "States.Format('s3://${bucket}/{}', " + SNAPSHOT_KEY + ")",
                },
                {
                    "Name": "MaxTuningJobs",
                    "Value.$": "States.Format('{}', $.config.max_tuning_jobs)",
                },
                {
                    "Name": "MaxParallelTuningJobs",
                    "Value.$": "States.Format('{}', $.config.parallel_tuning_jobs)",
                },
                # The dataset settings (INTERFACES: prepare.py reads the lists as JSON text,
                # "[]" meaning derive from the data). CheckInput has bounded each list's JSON
                # text to a pipeline parameter's 1024 characters.
                {"Name": "LabelColumn", "Value.$": "$.config.label_column"},
                {
                    "Name": "FeatureColumns",
                    "Value.$": "States.JsonToString($.config.feature_columns)",
                },
                {"Name": "ClassOrder", "Value.$": "States.JsonToString($.config.class_order)"},
            ],
        },
        result_selector={
            "arn.$": "$.PipelineExecutionArn",
            "id.$": "States.ArrayGetItem(States.StringSplit($.PipelineExecutionArn, '/'), 3)",
        },
        result_path="$.pipeline",
    )
    start_pipeline.add_retry(_retry(SAGEMAKER_SDK_TRANSIENT))
    start_pipeline.add_catch(
        Catch(
            error_equals=["States.ALL"],
            result_path="$.error",
            next_step=failures.caught(
                "PipelineStartFailed",
                "PipelineStartFailed",
                "Could not start the SageMaker pipeline ${pipeline_name}",
                dataset=True,
            ),
        )
    )
    wait_pipeline = Wait("WaitForPipeline", seconds_path="$.config.poll_interval_seconds")
    describe_pipeline = Task(
        "DescribePipeline",
        resource=SAGEMAKER_SDK + "describePipelineExecution",
        parameters={"PipelineExecutionArn.$": "$.pipeline.arn"},
        result_selector={"status.$": "$.PipelineExecutionStatus"},
        result_path="$.pipeline_status",
    )
    describe_pipeline.add_retry(_retry(SAGEMAKER_SDK_TRANSIENT))
    describe_pipeline.add_catch(
        Catch(
            error_equals=["States.ALL"],
            result_path="$.error",
            next_step=failures.caught(
                "PipelineMonitoringFailed",
                "PipelineMonitoringFailed",
                "Could not read the status of the pipeline execution",
                dataset=True,
            ),
        )
    )
    count_poll = Pass(
        "CountPoll",
        parameters={
            "pipeline.$": "States.MathAdd($.poll.pipeline, 1)",
            "endpoint.$": "$.poll.endpoint",
        },
        result_path="$.poll",
    )
    pipeline_status = Choice("PipelineStatus")
    stop_pipeline = Task(
        "StopPipeline",
        comment="The poll budget is spent: do not leave the pipeline running unobserved.",
        resource=SAGEMAKER_SDK + "stopPipelineExecution",
        parameters={
            "PipelineExecutionArn.$": "$.pipeline.arn",
            "ClientRequestToken.$": "States.Hash(States.Format('{}/stop', $$.Execution.Id), "
            "'SHA-256')",
        },
        result_path=None,
    )
    stop_pipeline.add_retry(_retry(SAGEMAKER_SDK_TRANSIENT))
    poll_budget = failures.fail_with(
        "PollBudgetExhausted",
        "PipelinePollBudgetExhausted",
        "States.Format('Pipeline execution {} was still {} after {} polls, {} s apart; it was "
        "stopped. Raise pipeline_max_polls or pipeline_poll_interval_seconds if runs take this "
        "long.', $.pipeline.arn, $.pipeline_status.status, $.poll.pipeline, "
        "$.config.poll_interval_seconds)",
        "Poll budget exhausted.",
        dataset=True,
    )
    stop_pipeline.add_catch(
        Catch(error_equals=["States.ALL"], next_step=poll_budget, result_path="$.stop_error")
    )
    describe_failed_steps = Task(
        "DescribeFailedSteps",
        comment="Find which pipeline steps failed and why, for the failure message.",
        resource=SAGEMAKER_SDK + "listPipelineExecutionSteps",
        parameters={"PipelineExecutionArn.$": "$.pipeline.arn", "SortOrder": "Ascending"},
        # statelint (and so this project) avoids JSONPath filters; only failed steps carry a
        # FailureReason, so the reasons list is the failed steps' reasons in step order.
        result_selector={
            "steps.$": "$.PipelineExecutionSteps[*].StepName",
            "statuses.$": "$.PipelineExecutionSteps[*].StepStatus",
            "failure_reasons.$": "$.PipelineExecutionSteps[*].FailureReason",
        },
        result_path="$.pipeline_steps",
    )
    describe_failed_steps.add_retry(_retry(SAGEMAKER_SDK_TRANSIENT))
    pipeline_failed = failures.fail_with(
        "PipelineFailed",
        "PipelineExecutionFailed",
        "States.Format('SageMaker pipeline execution {} ended with status {}. Steps and "
        "failure reasons: {}', $.pipeline.arn, $.pipeline_status.status, "
        "States.JsonToString($.pipeline_steps))",
        "The pipeline failed or was stopped; nothing is registered.",
        dataset=True,
    )
    describe_failed_steps.add_catch(
        Catch(
            error_equals=["States.ALL"], next_step=pipeline_failed, result_path="$.pipeline_steps"
        )
    )
    # A data error is the prepare script's: its processing job's ExitMessage (the first 1 KB of
    # /opt/ml/output/message, https://docs.aws.amazon.com/sagemaker/latest/dg/byoc-metadata.html)
    # starts with DATA_ERROR_MARKER. FailureReason is not documented to carry the container's
    # message, so the machine reads ExitMessage.
    # The data step is the pipeline's first (ListPipelineExecutionSteps, Ascending); definite
    # paths only: a wildcard path gives one match as a scalar in the emulator's interpreter.
    find_data_step = Task(
        "FindDataStep",
        comment="The pipeline's first step: the one that reads the uploaded data.",
        resource=SAGEMAKER_SDK + "listPipelineExecutionSteps",
        parameters={
            "PipelineExecutionArn.$": "$.pipeline.arn",
            "SortOrder": "Ascending",
            "MaxResults": 1,
        },
        result_selector={"steps.$": "$.PipelineExecutionSteps"},
        result_path="$.data_step",
    )
    find_data_step.add_retry(_retry(SAGEMAKER_SDK_TRANSIENT))
    find_data_step.add_catch(
        Catch(error_equals=["States.ALL"], next_step=pipeline_failed, result_path="$.data_error")
    )
    ran_processing = Choice("RanDataJob", comment="Did the data step get as far as its job?")
    describe_data_job = Task(
        "DescribeDataJob",
        comment="Its ExitMessage tells a data error from any other failure.",
        resource=SAGEMAKER_SDK + "describeProcessingJob",
        parameters={
            "ProcessingJobName.$": "States.ArrayGetItem(States.StringSplit("
            f"{DATA_JOB_ARN}, '/'), 1)"
        },
        # Whole answer: ExitMessage is absent when the script wrote none, and a ResultSelector
        # path that matches nothing would fail the state.
        result_path="$.processing_job",
    )
    describe_data_job.add_retry(_retry(SAGEMAKER_SDK_TRANSIENT))
    describe_data_job.add_catch(
        Catch(error_equals=["States.ALL"], next_step=pipeline_failed, result_path="$.data_error")
    )
    data_error = Choice("IsDataError", comment="Does the job's ExitMessage name a data error?")
    data_invalid = failures.fail_with(
        "DataInvalid",
        "DataValidationError",
        "States.Format('{} (SageMaker pipeline execution {}, processing job {})', "
        "$.processing_job.ExitMessage, $.pipeline.arn, $.processing_job.ProcessingJobName)",
        "The data broke the contract: the prepare script's message, first; nothing registered.",
        dataset=True,
    )

    start_pipeline.next(wait_pipeline)
    wait_pipeline.next(describe_pipeline)
    describe_pipeline.next(count_poll)
    count_poll.next(pipeline_status)
    pipeline_status.add_choice(
        ChoiceRule.StringEquals("$.pipeline_status.status", "Succeeded"), gate
    )
    pipeline_status.add_choice(
        ChoiceRule.Or(
            [
                ChoiceRule.StringEquals("$.pipeline_status.status", "Failed"),
                ChoiceRule.StringEquals("$.pipeline_status.status", "Stopped"),
            ]
        ),
        describe_failed_steps,
    )
    pipeline_status.add_choice(
        ChoiceRule.NumericGreaterThanEqualsPath("$.poll.pipeline", "$.config.max_polls"),
        stop_pipeline,
    )
    pipeline_status.default_choice(wait_pipeline)
    stop_pipeline.next(poll_budget)
    describe_failed_steps.next(find_data_step)
    find_data_step.next(ran_processing)
    ran_processing.add_choice(ChoiceRule.IsPresent(DATA_JOB_ARN, True), describe_data_job)
    ran_processing.default_choice(pipeline_failed)
    describe_data_job.next(data_error)
    data_error.add_choice(
        ChoiceRule.And(
            [
                ChoiceRule.IsPresent("$.processing_job.ExitMessage", True),
                ChoiceRule.StringMatches("$.processing_job.ExitMessage", f"{DATA_ERROR_MARKER}*"),
            ]
        ),
        data_invalid,
    )
    data_error.default_choice(pipeline_failed)
    return start_pipeline


def _gate_phase(failures: _Failures, registry: State) -> Task:
    """Read evaluation.json, check its shape, and gate on accuracy; ``registry`` if it passes."""
    read_evaluation = Task(
        "ReadEvaluation",
        comment="The pipeline's evaluation report is the only thing the gate reads.",
        resource=S3_GET_OBJECT,
        parameters={"Bucket": "${bucket}", "Key.$": EVALUATION_KEY},
        result_selector={"report.$": "States.StringToJson($.Body)"},
        result_path="$.evaluation",
    )
    read_evaluation.add_retry(_retry(S3_TRANSIENT, attempts=3))
    read_evaluation.add_catch(
        Catch(
            error_equals=["S3.NoSuchKeyException"],
            result_path="$.error",
            next_step=failures.fail_with(
                "EvaluationMissing",
                "EvaluationMissing",
                f"States.Format('The pipeline succeeded but s3://${{bucket}}/{{}} does not exist: "
                f"the EvaluateModel step did not write its report.', {EVALUATION_KEY})",
                "No evaluation.json: nothing to gate on.",
                dataset=True,
            ),
        )
    )
    read_evaluation.add_catch(
        Catch(
            error_equals=["States.ALL"],
            result_path="$.error",
            next_step=failures.caught(
                "EvaluationUnreadable",
                "EvaluationUnreadable",
                "Could not read the evaluation report",
                dataset=True,
            ),
        )
    )
    # evaluate.py writes exactly one metrics block, SageMaker's model-quality shape for the
    # problem type; the gate reads accuracy from whichever it is (copied to $.quality).
    evaluation_kind = Choice("EvaluationKind", comment="Binary or multiclass metrics?")
    binary = Pass(
        "BinaryEvaluation",
        parameters={"problem_type": "binary", "metrics.$": BINARY_METRICS},
        result_path="$.quality",
    )
    multiclass = Pass(
        "MulticlassEvaluation",
        parameters={"problem_type": "multiclass", "metrics.$": MULTICLASS_METRICS},
        result_path="$.quality",
    )
    no_metrics = failures.fail_with(
        "EvaluationHasNoMetrics",
        "EvaluationHasNoMetrics",
        "States.Format('evaluation.json must hold exactly one of binary_classification_metrics "
        "and multiclass_classification_metrics (the EvaluateModel step writes one for the "
        "dataset contract problem type); it holds neither or both: {}', "
        "States.JsonToString($.evaluation.report))",
        "No metrics block to gate on.",
        dataset=True,
    )
    check_evaluation = Choice("CheckEvaluation")
    evaluation_invalid = failures.fail_with(
        "EvaluationInvalid",
        "EvaluationInvalid",
        "States.Format('evaluation.json has no numeric accuracy.value in its {} metrics, or no "
        "model.artifact_uri, or no dataset_contract with label_column, class_names and "
        "num_classes: {}', $.quality.problem_type, States.JsonToString($.evaluation.report))",
        "The report does not follow the contract.",
        dataset=True,
    )
    quality_gate = Choice("QualityGate", comment="Register only models at or above the threshold.")
    gate_failed = failures.fail_with(
        "QualityGateFailed",
        "QualityGateFailed",
        f"States.Format('Model accuracy {{}} (label {{}}, {{}}) is below the threshold {{}}; the "
        f"model was not registered.', {ACCURACY}, {CONTRACT}.label_column, "
        "$.quality.problem_type, $.config.accuracy_threshold)",
        "Rejected by the quality gate.",
        dataset=True,
    )

    read_evaluation.next(evaluation_kind)
    evaluation_kind.add_choice(
        ChoiceRule.And(
            [
                ChoiceRule.IsPresent(BINARY_METRICS, True),
                ChoiceRule.IsPresent(MULTICLASS_METRICS, False),
            ]
        ),
        binary,
    )
    evaluation_kind.add_choice(
        ChoiceRule.And(
            [
                ChoiceRule.IsPresent(MULTICLASS_METRICS, True),
                ChoiceRule.IsPresent(BINARY_METRICS, False),
            ]
        ),
        multiclass,
    )
    evaluation_kind.default_choice(no_metrics)
    binary.next(check_evaluation)
    multiclass.next(check_evaluation)
    check_evaluation.add_choice(
        ChoiceRule.And(
            [
                ChoiceRule.IsPresent(ACCURACY, True),
                ChoiceRule.IsNumeric(ACCURACY, True),
                ChoiceRule.IsPresent("$.evaluation.report.model.artifact_uri", True),
                ChoiceRule.IsString("$.evaluation.report.model.artifact_uri", True),
                ChoiceRule.IsPresent(f"{CONTRACT}.label_column", True),
                ChoiceRule.IsString(f"{CONTRACT}.label_column", True),
                ChoiceRule.IsPresent(f"{CONTRACT}.class_names", True),
                ChoiceRule.IsPresent(f"{CONTRACT}.num_classes", True),
                ChoiceRule.IsNumeric(f"{CONTRACT}.num_classes", True),
                ChoiceRule.IsPresent("$.evaluation.report.registry_metadata.class_names", True),
                ChoiceRule.IsString("$.evaluation.report.registry_metadata.class_names", True),
            ]
        ),
        quality_gate,
    )
    check_evaluation.default_choice(evaluation_invalid)
    quality_gate.add_choice(
        ChoiceRule.NumericGreaterThanEqualsPath(ACCURACY, "$.config.accuracy_threshold"),
        registry,
    )
    quality_gate.default_choice(gate_failed)
    return read_evaluation


def _registry_phase(failures: _Failures, deployment: State, summary: State) -> Choice:
    """Decide approval, register the package, then ``deployment`` (if approved) or ``summary``."""
    decide_approval = Choice(
        "DecideApproval",
        comment="Approved only when the run asks for it and Terraform allows it.",
    )
    # run_deploys marks packages this run deploys itself, so the approval event that registering
    # an Approved package emits does not deploy the same package a second time.
    approved = Pass(
        "ApproveAutomatically",
        parameters={"status": "Approved", "run_deploys.$": "States.Format('{}', $.config.deploy)"},
        result_path="$.approval",
    )
    pending = Pass(
        "AwaitManualApproval",
        parameters={"status": "PendingManualApproval", "run_deploys": "false"},
        result_path="$.approval",
    )
    register_model = Task(
        "RegisterModel",
        comment="A new version in the model package group, with the evaluation attached.",
        resource=SAGEMAKER_SDK + "createModelPackage",
        parameters={
            "ModelPackageGroupName": "${model_package_group_name}",
            # The full data URI lives here: a description may hold any letter, symbol or
            # punctuation, a metadata value may not (see CustomerMetadataProperties below).
            "ModelPackageDescription.$": "States.Format('Trained by Step Functions execution {}"
            " (pipeline execution {}) on {} version {} (read from its copy s3://${bucket}/"
            "{}); test accuracy {}.', $$.Execution.Name, "
            f"$.pipeline.id, $.config.data_uri, $.snapshot.CopySourceVersionId, {SNAPSHOT_KEY}, "
            f"{ACCURACY})",
            "ModelApprovalStatus.$": "$.approval.status",
            "InferenceSpecification": {
                "Containers": [
                    {
                        "Image": "${xgboost_image_uri}",
                        "ModelDataUrl.$": "$.evaluation.report.model.artifact_uri",
                        "Environment": {
                            "SAGEMAKER_PROGRAM": "train.py",
                            # train.py travels inside model.tar.gz (code/), where the
                            # sagemaker SDK's repack puts it; nothing outside the artifact.
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
                        "S3Uri.$": "States.Format('s3://${bucket}/{}', " + EVALUATION_KEY + ")",
                    }
                }
            },
            # Values must match [\p{L}\p{Z}\p{N}_.:\/=+\-@]* and hold at most 256
            # characters (botocore's sagemaker model, shape CustomerMetadataValue). A data URI
            # may hold anything (%, #, ...), so only its SHA-256 (64 hex) is stored; the
            # execution name's other characters are refused by ValidateInput.
            "CustomerMetadataProperties": {
                "sfn_execution.$": EXECUTION_NAME,
                "pipeline_execution_id.$": "$.pipeline.id",
                "accuracy.$": f"States.Format('{{}}', {ACCURACY})",
                "data_uri_sha256.$": "States.Hash($.config.data_uri, 'SHA-256')",
                # Exactly what was trained on: the bucket and the source object's version
                # (SnapshotInput's CopySourceVersionId); the key is the URI's hash above.
                "data_bucket.$": "$.input_object.bucket",
                "data_version_id.$": "$.snapshot.CopySourceVersionId",
                "deployed_by_run.$": "$.approval.run_deploys",
                # The dataset contract (prepare.py): its label column (CheckInput refuses a name
                # this pattern would refuse), its shape, and the class names in label-index
                # order as evaluate.py made them storable (joined by " / ", or a pointer to the
                # report's dataset_contract when a name or the list cannot be stored: ASL cannot
                # check a label against this pattern, and a refused value would fail
                # registration).
                "label_column.$": f"{CONTRACT}.label_column",
                "class_names.$": "$.evaluation.report.registry_metadata.class_names",
                "problem_type.$": "$.quality.problem_type",
                "num_classes.$": f"States.Format('{{}}', {CONTRACT}.num_classes)",
            },
        },
        result_selector={
            "arn.$": "$.ModelPackageArn",
            "version.$": "States.ArrayGetItem(States.StringSplit($.ModelPackageArn, '/'), 2)",
        },
        result_path="$.model_package",
    )
    register_model.add_retry(_retry(SAGEMAKER_SDK_TRANSIENT))
    register_model.add_catch(
        Catch(
            error_equals=["States.ALL"],
            result_path="$.error",
            next_step=failures.caught(
                "RegistrationFailed",
                "ModelRegistrationFailed",
                "Could not register the model package",
                dataset=True,
            ),
        )
    )
    deploy_requested = Choice("DeployRequested")
    no_deploy = Pass(
        "NoDeploy",
        parameters={"deployed": False, "reason": "deploy was not requested for this run"},
        result_path="$.deployment",
    )
    deploy_skipped = Pass(
        "DeploySkipped",
        comment="Governance: only an Approved package is ever deployed.",
        parameters={
            "deployed": False,
            "reason.$": "States.Format('deploy was requested, but model package {} is {}: "
            "approve it in the Model Registry to deploy it', $.model_package.arn, "
            "$.approval.status)",
        },
        result_path="$.deployment",
    )

    decide_approval.add_choice(
        ChoiceRule.And(
            [
                ChoiceRule.BooleanEquals("$.config.auto_approve", True),
                ChoiceRule.StringEquals("$.policy.auto_approve_allowed", "true"),
            ]
        ),
        approved,
    )
    decide_approval.default_choice(pending)
    approved.next(register_model)
    pending.next(register_model)
    register_model.next(deploy_requested)
    deploy_requested.add_choice(
        ChoiceRule.And(
            [
                ChoiceRule.BooleanEquals("$.config.deploy", True),
                ChoiceRule.StringEquals("$.approval.status", "Approved"),
            ]
        ),
        deployment,
    )
    deploy_requested.add_choice(ChoiceRule.BooleanEquals("$.config.deploy", True), deploy_skipped)
    deploy_requested.default_choice(no_deploy)
    no_deploy.next(summary)
    deploy_skipped.next(summary)
    return decide_approval


#: Where each deployment attempt is recorded: one JSON object per attempt, named so that keys
#: sort by start time (``make status`` lists the endpoint's history from them).
DEPLOYMENT_RECORD_KEY = (
    "States.Format('deployments/${endpoint_name}/{}-{}.json', $.record.started, $$.Execution.Name)"
)


class _DeploymentHistory:
    """Record every deployment attempt, then go on: ``succeeded`` -> done, ``failed`` -> notify.

    An attempt starts at NoteFirstDeployment / NoteUpdate (``$.attempt``); its record names the
    package, the config deployed and the one it replaced, start and end, and the outcome.
    """

    def __init__(self, failures: _Failures, done: State) -> None:
        self.succeeded = Pass(
            "NoteDeployed",
            parameters=self._record("deployed", "$.smoke.description"),
            result_path="$.record",
        )
        self._note_failed = Pass(
            "NoteFailedDeployment",
            parameters=self._record(None, "$.failure.cause"),
            result_path="$.record",
        )
        record_deployed = self._put("RecordDeployment")
        record_failed = self._put("RecordFailedDeployment")
        # The model serves either way: a lost record must not fail the deployment (the
        # execution's output keeps $.history_error, and the run's notification says so).
        record_deployed.add_catch(
            Catch(error_equals=["States.ALL"], next_step=done, result_path="$.history_error")
        )
        record_failed.add_catch(
            Catch(
                error_equals=["States.ALL"],
                next_step=failures.notify,
                result_path="$.history_error",
            )
        )
        self.succeeded.next(record_deployed)
        record_deployed.next(done)
        self._note_failed.next(record_failed)
        record_failed.next(failures.notify)

    @staticmethod
    def _record(outcome: str | None, detail: str) -> dict[str, Any]:
        record: dict[str, Any] = {
            "endpoint_name": "${endpoint_name}",
            "execution.$": EXECUTION_NAME,
            "model_package_arn.$": "$.model_package.arn",
            "model_package_version.$": "$.model_package.version",
            "endpoint_config.$": "$.deployment_names.name",
            "previous_config.$": "$.attempt.previous_config",
            "mode.$": "$.attempt.mode",
            "started.$": "$.attempt.started",
            "ended.$": "$$.State.EnteredTime",
            "detail.$": detail,
        }
        if outcome is None:
            record["outcome.$"] = "$.failure.outcome"
        else:
            record["outcome"] = outcome
        return record

    @staticmethod
    def _put(state_id: str) -> Task:
        put = Task(
            state_id,
            comment="deployments/<endpoint>/<start>-<execution>.json, read by make status.",
            resource=S3_PUT_OBJECT,
            parameters={
                "Bucket": "${bucket}",
                "Key.$": DEPLOYMENT_RECORD_KEY,
                "Body.$": "States.JsonToString($.record)",
                "ContentType": "application/json",
            },
            result_path=None,
        )
        put.add_retry(_retry(S3_TRANSIENT))
        return put

    def failed(
        self, state_id: str, error: str, cause: str, outcome: str, comment: str, **extra: str
    ) -> Pass:
        """A failed attempt: ``$.failure`` (with the package and configs), recorded, notified."""
        state = Pass(
            state_id,
            comment=comment,
            parameters={
                "error": error,
                "cause.$": cause,
                "state": state_id,
                "execution.$": EXECUTION_NAME,
                "outcome": outcome,
                "endpoint_name": "${endpoint_name}",
                "model_package_arn.$": "$.model_package.arn",
                "endpoint_config.$": "$.deployment_names.name",
                "previous_config.$": "$.attempt.previous_config",
                **extra,
            },
            result_path="$.failure",
        )
        state.next(self._note_failed)
        return state


def _smoke_test(history: _DeploymentHistory, deployed: State) -> Task:
    """InService on the new config: invoke it with the evaluation's rows before calling it done.

    A failure after an update restores the previous config; after a first deployment (nothing to
    go back to) it deletes the endpoint. Either way the run ends ``DeploymentFailed`` with what
    the smoke test saw.
    """
    read_source = Task(
        "ReadSmokeTestSource",
        comment="The package's own evaluation report: runs and approval events read the same.",
        resource=SAGEMAKER_SDK + "describeModelPackage",
        parameters={"ModelPackageName.$": "$.model_package.arn"},
        result_selector={"statistics_uri.$": "$.ModelMetrics.ModelQuality.Statistics.S3Uri"},
        result_path="$.smoke_source",
    )
    run = Task(
        "SmokeTest",
        comment="lambdas/smoke_test: the report's smoke_test rows against the endpoint.",
        resource=LAMBDA_INVOKE,
        parameters={
            "FunctionName": "${smoke_test_function_arn}",
            "Payload": {
                "endpoint_name": "${endpoint_name}",
                "statistics_uri.$": "$.smoke_source.statistics_uri",
            },
        },
        result_selector={"passed.$": "$.Payload.passed", "description.$": "$.Payload.description"},
        result_path="$.smoke",
    )
    read_source.add_retry(_retry(SAGEMAKER_SDK_TRANSIENT))
    run.add_retry(_retry(LAMBDA_TRANSIENT))
    # A deployment that cannot be verified is not kept: the same path as a failed check.
    not_run = Pass(
        "SmokeTestNotRun",
        parameters={
            "passed": False,
            "description.$": "States.Format('the smoke test could not run: {} ({})', "
            "$.error.Cause, $.error.Error)",
        },
        result_path="$.smoke",
    )
    for task in (read_source, run):
        task.add_catch(Catch(error_equals=["States.ALL"], next_step=not_run, result_path="$.error"))
    verdict = Choice("SmokeTestVerdict")
    restore = _restore_previous_config(history)
    deleted = history.failed(
        "SmokeTestFailedEndpointDeleted",
        "DeploymentFailed",
        "States.Format('The smoke test of model package {} on the new endpoint ${endpoint_name} "
        "failed: {}. This was the first deployment, with no previous configuration to go back "
        "to, so the endpoint was deleted. Fix the model, then approve a new version.', "
        "$.model_package.arn, $.smoke.description)",
        "smoke test failed: endpoint deleted",
        "A first deployment that fails its smoke test leaves no endpoint behind.",
    )
    delete_failed = history.failed(
        "SmokeTestFailedDeleteFailed",
        "DeploymentFailed",
        "States.Format('The smoke test of model package {} on the new endpoint ${endpoint_name} "
        "failed: {}; deleting the endpoint then failed too: {} ({}). Delete it (make "
        "endpoint-down).', $.model_package.arn, $.smoke.description, $.error.Cause, "
        "$.error.Error)",
        "smoke test failed: endpoint not deleted",
        "The endpoint that failed its smoke test could not be deleted.",
    )
    delete_endpoint = Task(
        "DeleteUnverifiedEndpoint",
        resource=SAGEMAKER_SDK + "deleteEndpoint",
        parameters={"EndpointName": "${endpoint_name}"},
        result_path=None,
    )
    delete_endpoint.add_retry(_retry(SAGEMAKER_SDK_TRANSIENT))
    delete_endpoint.add_catch(
        Catch(error_equals=["States.ALL"], next_step=delete_failed, result_path="$.error")
    )
    read_source.next(run)
    run.next(verdict)
    not_run.next(verdict)
    verdict.add_choice(ChoiceRule.BooleanEquals("$.smoke.passed", True), deployed)
    verdict.add_choice(ChoiceRule.StringEquals("$.attempt.mode", "create"), delete_endpoint)
    verdict.default_choice(restore)
    delete_endpoint.next(deleted)
    return read_source


def _restore_previous_config(history: _DeploymentHistory) -> Pass:
    """The smoke test failed after an update: put the previous config back, wait for InService.

    Without a DeploymentConfig on purpose: the previous config served (and passed its own smoke
    test) until minutes ago, and its rollback alarms may still be in ALARM because of the model
    being replaced; under AutoRollbackConfiguration such an alarm would roll the restore back
    and leave the failed model serving.
    """
    start = Pass(
        "StartRestore",
        comment="A fresh poll budget for the restore.",
        parameters={"pipeline.$": "$.poll.pipeline", "endpoint": 0},
        result_path="$.poll",
    )
    restore = Task(
        "RestorePreviousConfig",
        resource=SAGEMAKER_OPTIMISED + "updateEndpoint",
        parameters={
            "EndpointName": "${endpoint_name}",
            "EndpointConfigName.$": "$.attempt.previous_config",
        },
        result_path=None,
    )
    wait = Wait("WaitForRestore", seconds_path="$.config.endpoint_poll_interval_seconds")
    describe = Task(
        "DescribeRestoredEndpoint",
        resource=SAGEMAKER_SDK + "describeEndpoint",
        parameters={"EndpointName": "${endpoint_name}"},
        result_path="$.endpoint",
    )
    count = Pass(
        "CountRestorePoll",
        parameters={
            "pipeline.$": "$.poll.pipeline",
            "endpoint.$": "States.MathAdd($.poll.endpoint, 1)",
        },
        result_path="$.poll",
    )
    status = Choice("RestoreStatus")
    restored = history.failed(
        "SmokeTestFailedRestored",
        "DeploymentFailed",
        "States.Format('The smoke test of model package {} (endpoint config {}) on endpoint "
        "${endpoint_name} failed: {}. Configuration restored: {} serves again. Fix the model, "
        "then approve a new version.', $.model_package.arn, $.deployment_names.name, "
        "$.smoke.description, $.attempt.previous_config)",
        "smoke test failed: previous configuration restored",
        "The previous configuration serves again.",
        **{"restored_config.$": "$.attempt.previous_config"},
    )
    not_restored = history.failed(
        "RestoreFailed",
        "DeploymentFailed",
        "States.Format('The smoke test of model package {} on endpoint ${endpoint_name} failed: "
        "{}. Restoring configuration {} did not complete: the endpoint is {} on {} after {} "
        "polls. Roll back by hand (make rollback) or delete the endpoint (make endpoint-down).', "
        "$.model_package.arn, $.smoke.description, $.attempt.previous_config, "
        "$.endpoint.EndpointStatus, $.endpoint.EndpointConfigName, $.poll.endpoint)",
        "smoke test failed: restore failed",
        "The previous configuration could not be restored.",
    )
    restore_error = history.failed(
        "RestoreRefused",
        "DeploymentFailed",
        "States.Format('The smoke test of model package {} on endpoint ${endpoint_name} failed: "
        "{}. Restoring configuration {} was refused: {} ({}). Roll back by hand (make "
        "rollback) or delete the endpoint (make endpoint-down).', $.model_package.arn, "
        "$.smoke.description, $.attempt.previous_config, $.error.Cause, $.error.Error)",
        "smoke test failed: restore failed",
        "UpdateEndpoint back to the previous configuration failed (after retries).",
    )
    restore.add_retry(_retry(SAGEMAKER_OPTIMISED_TRANSIENT))
    describe.add_retry(_retry(SAGEMAKER_SDK_TRANSIENT))
    for task in (restore, describe):
        task.add_catch(
            Catch(error_equals=["States.ALL"], next_step=restore_error, result_path="$.error")
        )
    start.next(restore)
    restore.next(wait)
    wait.next(describe)
    describe.next(count)
    count.next(status)
    status.add_choice(
        ChoiceRule.And(
            [
                ChoiceRule.StringEquals("$.endpoint.EndpointStatus", "InService"),
                ChoiceRule.StringEqualsPath(
                    "$.endpoint.EndpointConfigName", "$.attempt.previous_config"
                ),
            ]
        ),
        restored,
    )
    status.add_choice(
        ChoiceRule.Or(
            [
                ChoiceRule.StringEquals("$.endpoint.EndpointStatus", "InService"),
                ChoiceRule.StringEquals("$.endpoint.EndpointStatus", "Failed"),
                ChoiceRule.StringEquals("$.endpoint.EndpointStatus", "UpdateRollbackFailed"),
                ChoiceRule.NumericGreaterThanEqualsPath(
                    "$.poll.endpoint", "$.config.max_endpoint_polls"
                ),
            ]
        ),
        not_restored,
    )
    status.default_choice(wait)
    return start


def _rollback_report(history: _DeploymentHistory) -> Task:
    """SageMaker rolled the update back: name the package, the alarm and the config restored."""
    find_alarms = Task(
        "FindTrippedAlarms",
        comment="Which of the rollback alarms is in ALARM?",
        resource=CLOUDWATCH_SDK + "describeAlarms",
        parameters={
            "AlarmNames.$": "$.guardrails.settings.alarms[*].AlarmName",
            "StateValue": "ALARM",
        },
        result_selector={"names.$": "$.MetricAlarms[*].AlarmName"},
        result_path="$.tripped",
    )
    find_alarms.add_retry(_retry(CLOUDWATCH_TRANSIENT))
    unknown_alarms = Pass(
        "TrippedAlarmsUnknown",
        parameters={
            "names.$": "States.Array(States.Format('unknown: DescribeAlarms failed ({})', "
            "$.error.Error))"
        },
        result_path="$.tripped",
    )
    find_alarms.add_catch(
        Catch(error_equals=["States.ALL"], next_step=unknown_alarms, result_path="$.error")
    )
    reason_given = Choice("RollbackReasonGiven")
    with_reason = Pass(
        "RollbackReason",
        parameters={"text.$": "$.endpoint.FailureReason"},
        result_path="$.rollback_reason",
    )
    without_reason = Pass(
        "RollbackReasonMissing",
        parameters={"text": "none given"},
        result_path="$.rollback_reason",
    )
    rolled_back = history.failed(
        "RolledBack",
        "DeploymentFailed",
        "States.Format('SageMaker rolled back the deployment of model package {} (endpoint "
        "config {}) on endpoint ${endpoint_name}. Rollback alarms in ALARM: {} ("
        "FailureReason: {}). Configuration restored: {} serves again. See the alarms in "
        "CloudWatch, fix the model, then approve a new version.', $.model_package.arn, "
        "$.deployment_names.name, "
        "States.JsonToString($.tripped.names), $.rollback_reason.text, "
        "$.endpoint.EndpointConfigName)",
        "rolled back",
        "The new fleet tripped a rollback alarm or could not serve: the old one serves.",
        **{
            "restored_config.$": "$.endpoint.EndpointConfigName",
            "alarms.$": "$.tripped.names",
        },
    )
    find_alarms.next(reason_given)
    unknown_alarms.next(reason_given)
    reason_given.add_choice(ChoiceRule.IsPresent("$.endpoint.FailureReason", True), with_reason)
    reason_given.default_choice(without_reason)
    with_reason.next(rolled_back)
    without_reason.next(rolled_back)
    return find_alarms


def _deployment_phase(failures: _Failures, done: State) -> Pass:
    """Model, endpoint config, create or update the endpoint, wait for InService; then ``done``."""
    deploy_failed = failures.caught(
        "DeploymentFailed",
        "DeploymentFailed",
        "Could not deploy the model to endpoint ${endpoint_name}",
    )
    name_deployment = Pass(
        "NameDeployment",
        comment="Unique model / endpoint-config name: <prefix>-v<package version>-<8 hex>.",
        parameters={
            "name.$": "States.Format('${model_name_prefix}-v{}-{}', $.model_package.version, "
            "States.ArrayGetItem(States.StringSplit(States.UUID(), '-'), 0))",
            # Terraform's guardrail settings (deployment_guardrails.tf), an escaped JSON text
            # like defaults_json: numbers cannot be placeholders of a JSON document.
            "guardrails_json": "${deployment_guardrails_json}",
        },
        result_path="$.deployment_names",
    )
    read_guardrails = Pass(
        "ReadGuardrails",
        comment="Instance count, canary size, baking period and rollback alarms, as JSON.",
        parameters={"settings.$": "States.StringToJson($.deployment_names.guardrails_json)"},
        result_path="$.guardrails",
    )
    create_model = Task(
        "CreateModel",
        resource=SAGEMAKER_OPTIMISED + "createModel",
        parameters={
            "ModelName.$": "$.deployment_names.name",
            "PrimaryContainer": {"ModelPackageName.$": "$.model_package.arn"},
            "ExecutionRoleArn": "${sagemaker_role_arn}",
        },
        result_path=None,
    )
    create_config = Task(
        "CreateEndpointConfig",
        resource=SAGEMAKER_OPTIMISED + "createEndpointConfig",
        parameters={
            "EndpointConfigName.$": "$.deployment_names.name",
            "ProductionVariants": [
                {
                    "VariantName": "AllTraffic",
                    "ModelName.$": "$.deployment_names.name",
                    "InstanceType": "${endpoint_instance_type}",
                    # A canary is at most 50% of the fleet, in whole instances: at least two.
                    "InitialInstanceCount.$": "$.guardrails.settings.instance_count",
                }
            ],
            "DataCaptureConfig": {
                "EnableCapture": True,
                "InitialSamplingPercentage": 100,
                "DestinationS3Uri": "s3://${bucket}/data-capture",
                "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
                "CaptureContentTypeHeader": {
                    "CsvContentTypes": ["text/csv"],
                    "JsonContentTypes": ["application/json"],
                },
            },
        },
        result_path=None,
    )
    check_endpoint = Task(
        "CheckEndpoint",
        comment="Does the endpoint exist, and in which status? Decides create, update or wait.",
        resource=SAGEMAKER_SDK + "describeEndpoint",
        parameters={"EndpointName": "${endpoint_name}"},
        result_selector={"status.$": "$.EndpointStatus", "config_name.$": "$.EndpointConfigName"},
        result_path="$.existing_endpoint",
    )
    endpoint_params = {
        "EndpointName": "${endpoint_name}",
        "EndpointConfigName.$": "$.deployment_names.name",
    }
    create_endpoint = Task(
        "CreateEndpoint",
        comment="No previous configuration: the smoke test guards the first deployment.",
        resource=SAGEMAKER_OPTIMISED + "createEndpoint",
        parameters=endpoint_params,
        result_path=None,
    )
    settings = "$.guardrails.settings"
    update_endpoint = Task(
        "UpdateEndpoint",
        comment="Only an InService endpoint accepts UpdateEndpoint. Blue/green with a canary: "
        "SageMaker rolls back by itself when a rollback alarm trips during baking.",
        resource=SAGEMAKER_OPTIMISED + "updateEndpoint",
        parameters={
            **endpoint_params,
            # https://docs.aws.amazon.com/sagemaker/latest/dg/deployment-guardrails-blue-green-canary.html
            "DeploymentConfig": {
                "BlueGreenUpdatePolicy": {
                    "TrafficRoutingConfiguration": {
                        "Type": "CANARY",
                        "CanarySize": {
                            "Type": "CAPACITY_PERCENT",
                            "Value.$": f"{settings}.canary_percent",
                        },
                        "WaitIntervalInSeconds.$": f"{settings}.baking_seconds",
                    },
                    "TerminationWaitInSeconds.$": f"{settings}.termination_wait_seconds",
                    "MaximumExecutionTimeoutInSeconds.$": f"{settings}.max_execution_seconds",
                },
                "AutoRollbackConfiguration": {"Alarms.$": f"{settings}.alarms"},
            },
        },
        result_path=None,
    )
    # What this attempt replaces: recorded in the history, restored after a failed smoke test.
    note_first = Pass(
        "NoteFirstDeployment",
        parameters={
            "mode": "create",
            "previous_config": "none",
            "started.$": "$$.State.EnteredTime",
        },
        result_path="$.attempt",
    )
    note_update = Pass(
        "NoteUpdate",
        parameters={
            "mode": "update",
            "previous_config.$": "$.existing_endpoint.config_name",
            "started.$": "$$.State.EnteredTime",
        },
        result_path="$.attempt",
    )
    # Not found and throttled share one error name (see ENDPOINT_LOOKUP_ERROR): the cause tells
    # them apart. Anything but "not found" is retried through the bounded wait below, never
    # taken for "create" (a CreateEndpoint on an existing endpoint would fail the deploy).
    lookup_failed = Choice("EndpointLookupFailed", comment="Not found, or a transient error?")
    existing_status = Choice(
        "ExistingEndpointStatus",
        comment="InService: update. Failed: delete, then create. Creating, Updating, "
        "SystemUpdating, RollingBack, Deleting: wait, then look again.",
    )
    delete_failed_endpoint = Task(
        "DeleteFailedEndpoint",
        comment="A Failed endpoint can only be deleted; it is re-created once it is gone.",
        resource=SAGEMAKER_SDK + "deleteEndpoint",
        parameters={"EndpointName": "${endpoint_name}"},
        result_path=None,
    )
    notify_replacing = Task(
        "NotifyReplacingFailedEndpoint",
        comment="Say that the endpoint was Failed and is being replaced.",
        resource=SNS_PUBLISH,
        parameters={
            "TopicArn": "${notification_topic_arn}",
            "Subject": "Endpoint ${endpoint_name} was Failed: replacing it",
            "Message.$": "States.JsonToString($.replaced_endpoint)",
        },
        result_path=None,
    )
    note_failed_endpoint = Pass(
        "NoteFailedEndpoint",
        parameters={
            "endpoint_name": "${endpoint_name}",
            "status": "Failed",
            "action": "deleted; it is created again with the model package below",
            "model_package_arn.$": "$.model_package.arn",
            "execution.$": EXECUTION_NAME,
        },
        result_path="$.replaced_endpoint",
    )
    endpoint_check_budget = Choice(
        "EndpointCheckBudget", comment="Wait for the endpoint within the endpoint poll budget."
    )
    count_endpoint_check = Pass(
        "CountEndpointCheck",
        parameters={
            "pipeline.$": "$.poll.pipeline",
            "endpoint.$": "States.MathAdd($.poll.endpoint, 1)",
        },
        result_path="$.poll",
    )
    wait_before_check = Wait(
        "WaitBeforeEndpointCheck", seconds_path="$.config.endpoint_poll_interval_seconds"
    )
    endpoint_busy = failures.fail_with(
        "EndpointBusyTimedOut",
        "EndpointNotUpdatable",
        "States.Format('Endpoint ${endpoint_name} could not be updated: it was not InService, "
        "or could not be described, after {} checks {} s apart. Raise max_endpoint_polls, or "
        "see the execution history for its status.', $.poll.endpoint, "
        "$.config.endpoint_poll_interval_seconds)",
        "The endpoint never became updatable within the poll budget.",
    )
    check_endpoint.add_catch(
        Catch(
            error_equals=ENDPOINT_LOOKUP_ERROR,
            next_step=lookup_failed,
            result_path="$.lookup_error",
        )
    )
    wait_endpoint = Wait("WaitForEndpoint", seconds_path="$.config.endpoint_poll_interval_seconds")
    describe_endpoint = Task(
        "DescribeEndpoint",
        resource=SAGEMAKER_SDK + "describeEndpoint",
        parameters={"EndpointName": "${endpoint_name}"},
        result_path="$.endpoint",
    )
    for task in (create_model, create_config, create_endpoint, update_endpoint):
        task.add_retry(_retry(SAGEMAKER_OPTIMISED_TRANSIENT))
    for task in (describe_endpoint, delete_failed_endpoint):
        task.add_retry(_retry(SAGEMAKER_SDK_TRANSIENT))
    notify_replacing.add_retry(_retry(SNS_TRANSIENT))
    for task in (
        create_model,
        create_config,
        check_endpoint,
        create_endpoint,
        update_endpoint,
        describe_endpoint,
        delete_failed_endpoint,
    ):
        task.add_catch(
            Catch(error_equals=["States.ALL"], next_step=deploy_failed, result_path="$.error")
        )
    # A lost notification must not stop the replacement.
    notify_replacing.add_catch(
        Catch(
            error_equals=["States.ALL"],
            next_step=endpoint_check_budget,
            result_path="$.notify_error",
        )
    )
    count_endpoint_poll = Pass(
        "CountEndpointPoll",
        parameters={
            "pipeline.$": "$.poll.pipeline",
            "endpoint.$": "States.MathAdd($.poll.endpoint, 1)",
        },
        result_path="$.poll",
    )
    endpoint_status = Choice(
        "EndpointStatus",
        comment="InService on the new config: smoke test. InService on another config: "
        "SageMaker rolled the update back. Failed, UpdateRollbackFailed: fail.",
    )
    history = _DeploymentHistory(failures, done)
    endpoint_failed = history.failed(
        "EndpointFailed",
        "EndpointDeploymentFailed",
        "States.Format('Endpoint ${endpoint_name} is {}: {}', $.endpoint.EndpointStatus, "
        "$.endpoint.FailureReason)",
        "endpoint failed",
        "SageMaker could not bring the endpoint into service.",
    )
    new_endpoint_deleted = history.failed(
        "NewEndpointFailedDeleted",
        "EndpointDeploymentFailed",
        "States.Format('Endpoint ${endpoint_name} could not be created with model package {}: "
        "{}. This was the first deployment, with no previous configuration to go back to, so "
        "the endpoint was deleted. Fix the model, then approve a new version.', "
        "$.model_package.arn, $.endpoint.FailureReason)",
        "endpoint failed: endpoint deleted",
        "A first deployment that never reached InService leaves no endpoint behind.",
    )
    delete_new_endpoint = Task(
        "DeleteFailedNewEndpoint",
        resource=SAGEMAKER_SDK + "deleteEndpoint",
        parameters={"EndpointName": "${endpoint_name}"},
        result_path=None,
    )
    delete_new_endpoint.add_retry(_retry(SAGEMAKER_SDK_TRANSIENT))
    # Not deleted: say so (the next deployment replaces a Failed endpoint anyway).
    delete_new_endpoint.add_catch(
        Catch(error_equals=["States.ALL"], next_step=endpoint_failed, result_path="$.error")
    )
    delete_new_endpoint.next(new_endpoint_deleted)
    endpoint_timeout = history.failed(
        "EndpointTimedOut",
        "EndpointDeploymentTimedOut",
        "States.Format('Endpoint ${endpoint_name} was still {} after {} polls, {} s apart.', "
        "$.endpoint.EndpointStatus, $.poll.endpoint, $.config.endpoint_poll_interval_seconds)",
        "timed out",
        "The endpoint did not reach InService within the poll budget.",
    )
    # Just before updating, once more: a duplicate approval handled concurrently may have
    # deployed this package while this run waited for the endpoint.
    deployed_config = Task(
        "CheckDeployedConfig",
        resource=SAGEMAKER_SDK + "describeEndpointConfig",
        parameters={"EndpointConfigName.$": "$.existing_endpoint.config_name"},
        result_selector={"model_name.$": "$.ProductionVariants[0].ModelName"},
        result_path="$.existing_endpoint.config",
    )
    deployed_model = Task(
        "CheckDeployedModel",
        resource=SAGEMAKER_SDK + "describeModel",
        parameters={"ModelName.$": "$.existing_endpoint.config.model_name"},
        result_path="$.existing_endpoint.model",
    )
    deployed_route = Choice("DeployedPackageRoute", comment="Already serving this package?")
    already_deployed = Pass(
        "AlreadyDeployed",
        parameters={
            "deployed": False,
            "endpoint_name": "${endpoint_name}",
            "reason": "the endpoint already serves this package (deployed by another execution)",
        },
        result_path="$.deployment",
    )
    for task in (deployed_config, deployed_model):
        task.add_retry(_retry(SAGEMAKER_SDK_TRANSIENT))
        # The check only avoids a duplicate: a config or model deleted behind the endpoint's
        # back must not block the update.
        task.add_catch(
            Catch(error_equals=["States.ALL"], next_step=note_update, result_path="$.check_error")
        )
    deployed = Pass(
        "Deployed",
        parameters={
            "deployed": True,
            "endpoint_name": "${endpoint_name}",
            "model_name.$": "$.deployment_names.name",
            "previous_config.$": "$.attempt.previous_config",
            "smoke_test.$": "$.smoke.description",
            "reason": "deployed the approved package; the smoke test passed",
        },
        result_path="$.deployment",
    )
    smoke_test = _smoke_test(history, deployed)
    rolled_back = _rollback_report(history)

    name_deployment.next(read_guardrails)
    read_guardrails.next(create_model)
    create_model.next(create_config)
    create_config.next(check_endpoint)
    check_endpoint.next(existing_status)
    lookup_failed.add_choice(
        ChoiceRule.StringMatches("$.lookup_error.Cause", ENDPOINT_NOT_FOUND_CAUSE), note_first
    )
    note_first.next(create_endpoint)
    note_update.next(update_endpoint)
    lookup_failed.default_choice(endpoint_check_budget)
    existing_status.add_choice(
        ChoiceRule.StringEquals("$.existing_endpoint.status", "InService"), deployed_config
    )
    deployed_config.next(deployed_model)
    deployed_model.next(deployed_route)
    deployed_route.add_choice(
        ChoiceRule.And(
            [
                ChoiceRule.IsPresent(
                    "$.existing_endpoint.model.PrimaryContainer.ModelPackageName", True
                ),
                ChoiceRule.StringEqualsPath(
                    "$.existing_endpoint.model.PrimaryContainer.ModelPackageName",
                    "$.model_package.arn",
                ),
            ]
        ),
        already_deployed,
    )
    deployed_route.default_choice(note_update)
    already_deployed.next(done)
    existing_status.add_choice(
        ChoiceRule.StringEquals("$.existing_endpoint.status", "Failed"), note_failed_endpoint
    )
    note_failed_endpoint.next(delete_failed_endpoint)
    existing_status.default_choice(endpoint_check_budget)
    delete_failed_endpoint.next(notify_replacing)
    notify_replacing.next(endpoint_check_budget)
    endpoint_check_budget.add_choice(
        ChoiceRule.NumericGreaterThanEqualsPath("$.poll.endpoint", "$.config.max_endpoint_polls"),
        endpoint_busy,
    )
    endpoint_check_budget.default_choice(count_endpoint_check)
    count_endpoint_check.next(wait_before_check)
    wait_before_check.next(check_endpoint)
    create_endpoint.next(wait_endpoint)
    update_endpoint.next(wait_endpoint)
    wait_endpoint.next(describe_endpoint)
    describe_endpoint.next(count_endpoint_poll)
    count_endpoint_poll.next(endpoint_status)
    endpoint_status.add_choice(
        ChoiceRule.And(
            [
                ChoiceRule.StringEquals("$.endpoint.EndpointStatus", "InService"),
                ChoiceRule.StringEqualsPath(
                    "$.endpoint.EndpointConfigName", "$.deployment_names.name"
                ),
            ]
        ),
        smoke_test,
    )
    # InService, but not on the config this run deployed: SageMaker rolled the update back
    # (an alarm tripped, or the new fleet could not serve) and the previous config serves.
    endpoint_status.add_choice(
        ChoiceRule.StringEquals("$.endpoint.EndpointStatus", "InService"), rolled_back
    )
    # The first deployment is protected too: a new endpoint that could not start is deleted
    # (a Failed endpoint can only be deleted) rather than left behind.
    endpoint_status.add_choice(
        ChoiceRule.And(
            [
                ChoiceRule.StringEquals("$.endpoint.EndpointStatus", "Failed"),
                ChoiceRule.StringEquals("$.attempt.mode", "create"),
            ]
        ),
        delete_new_endpoint,
    )
    endpoint_status.add_choice(
        ChoiceRule.Or(
            [
                ChoiceRule.StringEquals("$.endpoint.EndpointStatus", "Failed"),
                ChoiceRule.StringEquals("$.endpoint.EndpointStatus", "UpdateRollbackFailed"),
            ]
        ),
        endpoint_failed,
    )
    endpoint_status.add_choice(
        ChoiceRule.NumericGreaterThanEqualsPath("$.poll.endpoint", "$.config.max_endpoint_polls"),
        endpoint_timeout,
    )
    endpoint_status.default_choice(wait_endpoint)
    deployed.next(history.succeeded)
    return name_deployment


def _success_phase() -> tuple[Choice, Pass, Task]:
    """Summaries and the success notification: (SummaryRoute, Summary, NotifySuccess)."""
    summary = Pass(
        "Summary",
        comment="The execution's output and the success notification.",
        parameters={
            "title": "Training run succeeded",
            "status": "SUCCEEDED",
            "execution.$": EXECUTION_NAME,
            "pipeline_execution_arn.$": "$.pipeline.arn",
            "data_uri.$": "$.config.data_uri",
            "accuracy.$": ACCURACY,
            "problem_type.$": "$.quality.problem_type",
            "label_column.$": f"{CONTRACT}.label_column",
            "class_names.$": f"{CONTRACT}.class_names",
            "accuracy_threshold.$": "$.config.accuracy_threshold",
            "evaluation_uri.$": "States.Format('s3://${bucket}/{}', " + EVALUATION_KEY + ")",
            "model_package_arn.$": "$.model_package.arn",
            "approval_status.$": "$.approval.status",
            "deployment.$": "$.deployment",
        },
    )
    notify_success = Task(
        "NotifySuccess",
        resource=SNS_PUBLISH,
        parameters={
            "TopicArn": "${notification_topic_arn}",
            "Subject.$": "$.title",
            "Message.$": "States.JsonToString($)",
        },
        result_path=None,
    )
    notify_success.add_retry(_retry(SNS_TRANSIENT))
    notification_failed = Fail(
        "NotificationFailed",
        error="SuccessNotificationFailed",
        cause="The run succeeded (see the execution output) but SNS could not be notified.",
    )
    notify_success.add_catch(
        Catch(
            error_equals=["States.ALL"], next_step=notification_failed, result_path="$.notify_error"
        )
    )
    summary_route = Choice("SummaryRoute")
    approval_summary = Pass(
        "ApprovalSummary",
        parameters={
            "title": "Approved model deployed",
            "status": "SUCCEEDED",
            "execution.$": EXECUTION_NAME,
            "model_package_arn.$": "$.model_package.arn",
            "approval_status.$": "$.approval.status",
            "deployment.$": "$.deployment",
        },
    )
    summary_route.add_choice(ChoiceRule.IsPresent("$.pipeline", True), summary)
    summary_route.default_choice(approval_summary)
    approval_summary.next(notify_success)
    summary.next(notify_success)
    return summary_route, summary, notify_success


def _approval_event_phase(failures: _Failures, deployment: State) -> Task:
    """A person approved a package: deploy it (only Approved packages of this group)."""
    describe_package = Task(
        "DescribeApprovedPackage",
        resource=SAGEMAKER_SDK + "describeModelPackage",
        parameters={"ModelPackageName.$": "$.config.approved_model_package_arn"},
        result_path="$.package",
    )
    describe_package.add_retry(_retry(SAGEMAKER_SDK_TRANSIENT))
    describe_package.add_catch(
        Catch(
            error_equals=["States.ALL"],
            result_path="$.error",
            next_step=failures.caught(
                "ApprovedPackageUnreadable",
                "ModelPackageUnreadable",
                "Could not read the approved model package",
            ),
        )
    )
    approved_package_route = Choice("ApprovedPackageRoute")
    not_deployable = failures.fail_with(
        "PackageNotDeployable",
        "ModelPackageNotDeployable",
        "States.Format('Model package {} is {} in group {}: only Approved packages of "
        "${model_package_group_name} are deployed.', $.package.ModelPackageArn, "
        "$.package.ModelApprovalStatus, $.package.ModelPackageGroupName)",
        "Governance: only an Approved package of this project's group is ever deployed.",
    )
    already_deployed = Pass(
        "AlreadyDeployedByRun",
        comment="Its training run is deploying it: nothing to do for the registration event.",
        parameters={
            "status": "SKIPPED",
            "model_package_arn.$": "$.package.ModelPackageArn",
            "reason": "the training run that registered this package is deploying it",
        },
    )
    # deployed_by_run is written once, at registration, and never updated (an update could emit
    # another event). It means "my run deploys me" only while that run is running: once it has
    # ended, a later approval (say, after a rejection) is handled like any other.
    registering_run = Task(
        "DescribeRegisteringRun",
        comment="Is the run that registered (and deploys) this package still running?",
        resource=SFN_SDK + "describeExecution",
        parameters={
            "ExecutionArn.$": "States.Format('arn:{}:states:{}:{}:execution:{}:{}', "
            + ", ".join(
                f"States.ArrayGetItem(States.StringSplit($$.StateMachine.Id, ':'), {i})"
                for i in (1, 3, 4, 6)
            )
            + ", $.package.CustomerMetadataProperties.sfn_execution)"
        },
        result_selector={"status.$": "$.Status"},
        result_path="$.registering_run",
    )
    registering_route = Choice("RegisteringRunRoute")
    prepare_approved = Pass(
        "PrepareApprovedDeployment",
        parameters={
            "config.$": "$.config",
            "poll.$": "$.poll",
            "model_package": {
                "arn.$": "$.package.ModelPackageArn",
                "version.$": "States.Format('{}', $.package.ModelPackageVersion)",
            },
            "approval": {"status.$": "$.package.ModelApprovalStatus", "run_deploys": "false"},
        },
    )

    describe_package.next(approved_package_route)
    approved_package_route.add_choice(
        ChoiceRule.Or(
            [
                ChoiceRule.Not(
                    ChoiceRule.StringEquals("$.package.ModelApprovalStatus", "Approved")
                ),
                ChoiceRule.Not(
                    ChoiceRule.StringEquals(
                        "$.package.ModelPackageGroupName", "${model_package_group_name}"
                    )
                ),
            ]
        ),
        not_deployable,
    )
    approved_package_route.add_choice(
        ChoiceRule.And(
            [
                ChoiceRule.IsPresent("$.package.CustomerMetadataProperties.deployed_by_run", True),
                ChoiceRule.StringEquals(
                    "$.package.CustomerMetadataProperties.deployed_by_run", "true"
                ),
                ChoiceRule.IsPresent("$.package.CustomerMetadataProperties.sfn_execution", True),
            ]
        ),
        registering_run,
    )
    approved_package_route.default_choice(prepare_approved)
    registering_run.add_retry(_retry(SFN_SDK_TRANSIENT))
    # A run that cannot be found (or read) is not deploying anything: the serving check decides.
    registering_run.add_catch(
        Catch(error_equals=["States.ALL"], next_step=prepare_approved, result_path="$.run_error")
    )
    registering_run.next(registering_route)
    registering_route.add_choice(
        ChoiceRule.StringEquals("$.registering_run.status", "RUNNING"), already_deployed
    )
    registering_route.default_choice(prepare_approved)
    prepare_approved.next(_serving_check(failures, deployment))
    return describe_package


def _lookup_retry() -> Retry:
    """Short retries for a lookup whose "not found" shares its name with throttling."""
    return Retry(
        error_equals=ENDPOINT_LOOKUP_ERROR, interval_seconds=1, max_attempts=2, backoff_rate=2.0
    )


def _serving_check(failures: _Failures, deployment: State) -> Task:
    """Skip a package the endpoint already serves, or is being updated to; else ``deployment``.

    SageMaker "may send multiple events" for one state change: the same approval arriving
    twice must not deploy the same package twice.
    """
    check_failed = failures.caught(
        "ServingCheckFailed",
        "ServingCheckFailed",
        "Could not check which model package endpoint ${endpoint_name} serves",
    )
    serving_endpoint = Task(
        "CheckServingEndpoint",
        comment="Which endpoint config serves now, or is being deployed?",
        resource=SAGEMAKER_SDK + "describeEndpoint",
        parameters={"EndpointName": "${endpoint_name}"},
        result_path="$.serving_endpoint",
    )
    lookup_failed = Choice("ServingLookupFailed", comment="No endpoint yet, or an error?")
    config_route = Choice("ServingConfigRoute")
    pending_config = Task(
        "CheckPendingConfig",
        resource=SAGEMAKER_SDK + "describeEndpointConfig",
        parameters={
            "EndpointConfigName.$": "$.serving_endpoint.PendingDeploymentSummary.EndpointConfigName"
        },
        result_selector={"model_name.$": "$.ProductionVariants[0].ModelName"},
        result_path="$.serving_config",
    )
    current_config = Task(
        "CheckServingConfig",
        resource=SAGEMAKER_SDK + "describeEndpointConfig",
        parameters={"EndpointConfigName.$": "$.serving_endpoint.EndpointConfigName"},
        result_selector={"model_name.$": "$.ProductionVariants[0].ModelName"},
        result_path="$.serving_config",
    )
    serving_model = Task(
        "CheckServingModel",
        resource=SAGEMAKER_SDK + "describeModel",
        parameters={"ModelName.$": "$.serving_config.model_name"},
        result_path="$.serving_model",
    )
    package_route = Choice("ServingPackageRoute")
    already_serving = Pass(
        "AlreadyServing",
        comment="A repeated approval event: the endpoint already has this package.",
        parameters={
            "status": "SKIPPED",
            "model_package_arn.$": "$.model_package.arn",
            "endpoint_name": "${endpoint_name}",
            "reason": "the endpoint already serves, or is being updated to, this package",
        },
    )
    serving_endpoint.add_retry(_lookup_retry())
    for task in (pending_config, current_config, serving_model):
        task.add_retry(_retry(SAGEMAKER_SDK_TRANSIENT))
    serving_endpoint.add_catch(
        Catch(error_equals=ENDPOINT_LOOKUP_ERROR, next_step=lookup_failed, result_path="$.error")
    )
    for task in (serving_endpoint, pending_config, current_config, serving_model):
        task.add_catch(
            Catch(error_equals=["States.ALL"], next_step=check_failed, result_path="$.error")
        )
    serving_endpoint.next(config_route)
    # A Deleting or Failed endpoint serves nothing: deploy (the deployment path waits for the
    # deletion, or replaces the failed endpoint) instead of skipping as "already serving".
    config_route.add_choice(
        ChoiceRule.Or(
            [
                ChoiceRule.StringEquals("$.serving_endpoint.EndpointStatus", "Deleting"),
                ChoiceRule.StringEquals("$.serving_endpoint.EndpointStatus", "Failed"),
            ]
        ),
        deployment,
    )
    lookup_failed.add_choice(
        ChoiceRule.StringMatches("$.error.Cause", ENDPOINT_NOT_FOUND_CAUSE), deployment
    )
    lookup_failed.default_choice(check_failed)
    config_route.add_choice(
        ChoiceRule.IsPresent(
            "$.serving_endpoint.PendingDeploymentSummary.EndpointConfigName", True
        ),
        pending_config,
    )
    config_route.default_choice(current_config)
    pending_config.next(serving_model)
    current_config.next(serving_model)
    serving_model.next(package_route)
    package_route.add_choice(
        ChoiceRule.And(
            [
                ChoiceRule.IsPresent("$.serving_model.PrimaryContainer.ModelPackageName", True),
                ChoiceRule.StringEqualsPath(
                    "$.serving_model.PrimaryContainer.ModelPackageName", "$.model_package.arn"
                ),
            ]
        ),
        already_serving,
    )
    package_route.default_choice(deployment)
    return serving_endpoint


def _rejection_event_phase(failures: _Failures, notify_success: State) -> Task:
    """A person rejected a package: say so if the endpoint still serves it.

    Read-only on purpose: any update of the package could emit another state-change event that
    matches the rule again, so nothing here writes to the Model Registry.
    """
    find_serving = Task(
        "FindServingEndpoint",
        comment="Is the rejected package the one the endpoint serves?",
        resource=SAGEMAKER_SDK + "describeEndpoint",
        parameters={"EndpointName": "${endpoint_name}"},
        result_selector={"config_name.$": "$.EndpointConfigName"},
        result_path="$.serving",
    )
    find_serving_config = Task(
        "FindServingConfig",
        resource=SAGEMAKER_SDK + "describeEndpointConfig",
        parameters={"EndpointConfigName.$": "$.serving.config_name"},
        result_selector={"model_name.$": "$.ProductionVariants[0].ModelName"},
        result_path="$.serving",
    )
    find_serving_model = Task(
        "FindServingModel",
        resource=SAGEMAKER_SDK + "describeModel",
        parameters={"ModelName.$": "$.serving.model_name"},
        result_path="$.serving_model",
    )
    rejected_route = Choice("RejectedRoute")
    lookup_failed = Choice("RejectedLookupFailed", comment="No endpoint, or an error?")
    rejected_not_serving = Pass(
        "RejectedNotServing",
        parameters={
            "status": "SUCCEEDED",
            "model_package_arn.$": "$.config.rejected_model_package_arn",
            "serving": False,
        },
    )
    rejected_serving = Pass(
        "RejectedWhileServing",
        parameters={
            "title": "Rejected model is still serving",
            "status": "SUCCEEDED",
            "model_package_arn.$": "$.config.rejected_model_package_arn",
            "endpoint_name": "${endpoint_name}",
            "serving": True,
            "action": "roll back to the previously serving approved package (make rollback: "
            "the guarded deployment path), approve and deploy another version, or delete the "
            "endpoint (make endpoint-down)",
        },
    )
    find_serving.add_retry(_lookup_retry())
    for task in (find_serving_config, find_serving_model):
        task.add_retry(_retry(SAGEMAKER_SDK_TRANSIENT))
    find_serving.add_catch(
        Catch(error_equals=ENDPOINT_LOOKUP_ERROR, next_step=lookup_failed, result_path="$.error")
    )
    rejection_check_failed = failures.caught(
        "RejectionCheckFailed",
        "RejectionCheckFailed",
        "Could not check whether the rejected package is serving",
    )
    for task in (find_serving, find_serving_config, find_serving_model):
        task.add_catch(
            Catch(
                error_equals=["States.ALL"], result_path="$.error", next_step=rejection_check_failed
            )
        )

    lookup_failed.add_choice(
        ChoiceRule.StringMatches("$.error.Cause", ENDPOINT_NOT_FOUND_CAUSE), rejected_not_serving
    )
    lookup_failed.default_choice(rejection_check_failed)
    find_serving.next(find_serving_config)
    find_serving_config.next(find_serving_model)
    find_serving_model.next(rejected_route)
    rejected_route.add_choice(
        ChoiceRule.And(
            [
                ChoiceRule.IsPresent("$.serving_model.PrimaryContainer.ModelPackageName", True),
                ChoiceRule.StringEqualsPath(
                    "$.serving_model.PrimaryContainer.ModelPackageName",
                    "$.config.rejected_model_package_arn",
                ),
            ]
        ),
        rejected_serving,
    )
    rejected_route.default_choice(rejected_not_serving)
    rejected_serving.next(notify_success)
    return find_serving


def _entry(failures: _Failures, training: State, approved: State, rejected: State) -> Task:
    """CheckInput -> LoadDefaults -> ApplyDefaults -> RouteRequest: a run or a registry event."""
    load_defaults = Pass(
        "LoadDefaults",
        comment="Defaults baked in by Terraform, as an escaped JSON string.",
        parameters={"defaults_json": "${defaults_json}", "input.$": "$.check.input"},
    )
    apply_defaults = Pass(
        "ApplyDefaults",
        comment="Execution input overrides Terraform's defaults; auto-approval policy cannot be "
        "overridden by input.",
        parameters={
            "config.$": "States.JsonMerge(States.StringToJson($.defaults_json), $.input, false)",
            "policy": {"auto_approve_allowed": "${auto_approve_allowed}"},
            "poll": {"pipeline": 0, "endpoint": 0},
        },
    )
    # EventBridge starts the machine with {"approved_model_package_arn": ...} when a person approves
    # a package in the Model Registry, and {"rejected_model_package_arn": ...} when one is rejected.
    route_request = Choice("RouteRequest", comment="Training run, or a Model Registry event?")
    load_defaults.next(apply_defaults)
    apply_defaults.next(route_request)
    route_request.add_choice(
        ChoiceRule.IsPresent("$.config.approved_model_package_arn", True), approved
    )
    route_request.add_choice(
        ChoiceRule.IsPresent("$.config.rejected_model_package_arn", True), rejected
    )
    route_request.default_choice(training)
    return _input_phase(failures, accepted=load_defaults)


def build_definition() -> dict[str, Any]:
    """The state machine as an ASL ``dict`` (placeholders unrendered): the phases, composed."""
    failures = _Failures()
    summary_route, summary, notify_success = _success_phase()
    deployment = _deployment_phase(failures, done=summary_route)
    registry = _registry_phase(failures, deployment=deployment, summary=summary)
    gate = _gate_phase(failures, registry=registry)
    pipeline = _pipeline_phase(failures, gate=gate)
    snapshot = _snapshot_phase(failures, pipeline=pipeline)
    approved = _approval_event_phase(failures, deployment=deployment)
    rejected = _rejection_event_phase(failures, notify_success=notify_success)
    return graph_dict(
        _entry(failures, snapshot, approved, rejected),
        comment="Train, tune, evaluate, gate, register and optionally deploy the XGBoost model "
        "(generated by statemachines/training_pipeline.py; do not edit by hand).",
    )


def definition_json() -> str:
    """The ASL text exactly as committed (stable key order, two-space indent, final newline)."""
    return json.dumps(build_definition(), indent=2, ensure_ascii=False) + "\n"
