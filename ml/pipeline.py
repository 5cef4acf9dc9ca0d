"""Generate the SageMaker Pipeline definition (``ml/pipeline_definition.json``) offline.

The definition is built with the ``sagemaker`` 2.x SDK against a session that never touches the
network, then every environment-specific value is turned into a Terraform ``templatefile()``
placeholder (``${bucket}``, ``${sagemaker_role_arn}``, ...), so the committed file is byte-stable
and carries no account, region or bucket.  Terraform fills the placeholders; the local runtime
uses :func:`render` to do the same.

Pipeline graph (data dependencies; <execution-id> is ExecutionVariables.PIPELINE_EXECUTION_ID)::

     The parameters are exactly contracts.pipeline.PARAMETERS (what the training machine sends
     on every run), then the instance types and counts:
     InputDataUri (default ${default_data_uri}, supplied by Terraform; the state machine passes
            │      its run's own copy, s3://${bucket}/runs/<execution>/input/<name>, because an
            │      S3Prefix input reads every key that starts with the URI)
            │      LabelColumn, FeatureColumns, ClassOrder (text; "" = derive) ─► prepare.py's
            │      --label-column, --feature-columns, --class-order
            │      ChampionModelUri: the serving model's model.tar.gz, or the models/none/ marker
            ▼      prefix (contracts.s3_layout.NO_CHAMPION_PREFIX) ─► prepare's and evaluate's input
     ┌─────────────┐  processing: sklearn image, prepare.py (validation, stratified 60/20/20 split,
     │ PrepareData │  dataset contract in the serving model's feature order when it has the same
     └─────────────┘  features, drift baseline) ─► s3://${bucket}/pipelines/<execution-id>/
            │         prepare/{train,validation,test,contract,baseline}; PropertyFile
            │         DatasetContract (contract.json)
            ▼
     ┌──────────────────┐  JsonGet(DatasetContract, "num_classes") == 2 ?
     │ CheckProblemType │
     └──────────────────┘
         true │                                  │ false
              ▼                                  ▼
     ┌───────────────────┐              ┌───────────────────────┐  tuning: Bayesian, max_depth
     │ TuneXGBoostBinary │              │ TuneXGBoostMulticlass │  3-10, eta 0.01-0.3, num_round
     └───────────────────┘              └───────────────────────┘  30-150, MaxTuningJobs (9) and
      binary:logistic, minimise          multi:softprob, minimise   MaxParallelTuningJobs (3);
      validation:logloss                 validation:mlogloss        channels train, validation
              │                                  │                  (text/csv), contract (json);
              ▼                                  ▼                  models ─► s3://${bucket}/
     ┌─────────────────────┐            ┌─────────────────────────┐ models/<execution-id>/training
     │ EvaluateModelBinary │            │ EvaluateModelMulticlass │
     └─────────────────────┘            └─────────────────────────┘
      processing: xgboost image, evaluate.py on the best model (TrainingJobSummaries[0]) and the
      serving model (ChampionModelUri, ChampionPackageArn), both on the test split; the gate
      (AccuracyThreshold, ChampionMargin) decided there; PropertyFile EvaluationReport ─►
      s3://${bucket}/evaluation/<execution-id>/ (the same place on both branches):
      evaluation.json, summary.json (all the state machine reads), report.html (the run report,
      titled with RunName) and baseline.json: prepare's baseline with the predicted classes

prepare.py reads the serving order from the serving model's own contract.json in
ChampionModelUri, not from a parameter: a list reaches a script only as one ContainerArgument, at
most 256 characters (botocore ``ContainerArgument``), which thirty feature names exceed.

No PipelineExperimentConfig: Pipelines then creates no experiment and no run group (the SDK's
pipeline_experiment_config=None, https://docs.aws.amazon.com/sagemaker/latest/dg/
pipelines-experiments-none.html); the SageMaker role has no Experiments permissions.

Each processing step downloads its code bundle, ${<name>_code_uri}: the prefix where Terraform
stages the script and the sibling modules it imports (ml/code_bundles.json), into
/opt/ml/processing/input/code, where ScriptProcessor would put a lone script.

Only the branch the condition picks runs; the other never starts (nor appears in
ListPipelineExecutionSteps). Nothing follows the condition outside its branches.

Usage::

    python -m ml.pipeline [--output PATH] [--check] [--max-tuning-jobs 9] [--max-parallel-jobs 3]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sagemaker.inputs import TrainingInput
from sagemaker.parameter import ContinuousParameter, IntegerParameter
from sagemaker.processing import ProcessingInput, ProcessingOutput, Processor
from sagemaker.tuner import HyperparameterTuner
from sagemaker.workflow.condition_step import ConditionStep
from sagemaker.workflow.conditions import ConditionEquals
from sagemaker.workflow.execution_variables import ExecutionVariables
from sagemaker.workflow.functions import Join, JsonGet
from sagemaker.workflow.parameters import (
    Parameter,
    ParameterFloat,
    ParameterInteger,
    ParameterString,
)
from sagemaker.workflow.pipeline import Pipeline
from sagemaker.workflow.properties import PropertyFile
from sagemaker.workflow.steps import ProcessingStep, Step, TuningStep
from sagemaker.xgboost.estimator import XGBoost

from contracts import dataset, execution_input, s3_layout
from contracts import pipeline as pipeline_contract
from devtools.generated import write_or_check
from ml.pipeline_session import OfflinePipelineSession, offline, quiet_sdk

ROOT = Path(__file__).resolve().parents[1]
DEFINITION_PATH = ROOT / "ml" / "pipeline_definition.json"
REGENERATE_COMMAND = "make definitions"

# Terraform templatefile() variables the committed definition uses, and nothing else.
PLACEHOLDERS: frozenset[str] = frozenset(
    {
        "bucket",
        "sagemaker_role_arn",
        "sklearn_image_uri",
        "xgboost_image_uri",
        "prepare_code_uri",
        "evaluate_code_uri",
        "train_source_uri",
        "default_data_uri",
    }
)

# Valid-looking stand-ins the SDK accepts (it validates S3 URIs and ARNs). Every one contains
# "sentinel" so a leftover is easy to detect, and none is a substring of another, so the
# replacement order cannot matter. A code URI is a prefix (a bundle's "folder"), hence the slash.
SENTINELS: Mapping[str, str] = {
    "bucket": "sentinel-bucket-xyz",
    "sagemaker_role_arn": "arn:aws:iam::111111111111:role/sentinel-role",
    "sklearn_image_uri": "111111111111.dkr.ecr.sentinel-1.amazonaws.com/sentinel-sklearn:1",
    "xgboost_image_uri": "111111111111.dkr.ecr.sentinel-1.amazonaws.com/sentinel-xgboost:1",
    "prepare_code_uri": "s3://sentinel-code-prepare/code/prepare/",
    "evaluate_code_uri": "s3://sentinel-code-evaluate/code/evaluate/",
    "train_source_uri": "s3://sentinel-code-train/code/train_source.tar.gz",
    "default_data_uri": "s3://sentinel-default-data/data/raw/iris.csv",
}
SENTINEL_MARKER = "sentinel"

PROCESSING_ROOT = "/opt/ml/processing"
EXECUTION_ID = ExecutionVariables.PIPELINE_EXECUTION_ID
#: Where a processing job's code goes, as the SDK's ScriptProcessor places it (input "code").
CODE_DIR = f"{PROCESSING_ROOT}/input/code"
CODE_INPUT = "code"
#: Each processing script and the sibling modules it imports: one home, read by Terraform
#: (terraform/locals.tf stages each bundle under its own prefix) and by the tests.
CODE_BUNDLES_PATH = ROOT / "ml" / "code_bundles.json"
#: Bundle entries under these directories are shared packages, resolved from the repository's
#: root (Terraform's code_sources does the same); every other entry is a file of ml/.
ROOT_PACKAGES = ("contracts/",)
XGBOOST_FRAMEWORK_VERSION = "1.7-1"
#: Top-level prefix of the tuning trials' models (registered packages point at them).
MODELS_PREFIX = s3_layout.MODELS.rstrip("/")
DEFAULT_MAX_TUNING_JOBS = 9
DEFAULT_MAX_PARALLEL_JOBS = 3
STATIC_HYPERPARAMETERS: Mapping[str, str] = {"early_stopping_rounds": "10", "seed": "42"}
RUN_SPECIFIC_HYPERPARAMETERS = ("sagemaker_region", "sagemaker_job_name")
#: The definition key that would make SageMaker Pipelines create experiments (left out).
EXPERIMENT_CONFIG_KEY = "PipelineExperimentConfig"
# Neutral names: the pipeline serves any tabular dataset (Terraform names the real pipeline).
BASE_JOB_NAME = "xgboost"

STEP_PREPARE = pipeline_contract.STEP_PREPARE
STEP_CHECK_PROBLEM_TYPE = "CheckProblemType"
EVALUATION_PROPERTY_FILE = "EvaluationReport"
CONTRACT_PROPERTY_FILE = "DatasetContract"
CONTRACT_OUTPUT = pipeline_contract.OUTPUT_CONTRACT
#: prepare.py's drift baseline output (ml/baseline.py), an input of the evaluation step.
BASELINE_OUTPUT = pipeline_contract.OUTPUT_BASELINE
EVALUATION_OUTPUT = pipeline_contract.OUTPUT_EVALUATION
#: The file prepare.py writes in its contract output (contracts/dataset.py).
CONTRACT_FILE = dataset.FILE_NAME
SPLITS = ("train", "validation", "test")
#: Where prepare.py and evaluate.py find the serving model's model.tar.gz (ChampionModelUri).
CHAMPION_INPUT = "champion"
CHAMPION_DIR = f"{PROCESSING_ROOT}/{CHAMPION_INPUT}"


@dataclass(frozen=True)
class ProblemBranch:
    """One side of CheckProblemType: the objective and the tuner's objective metric.

    Both metrics are ones the XGBoost image itself defines (emulator/sagemaker_executor/tuning.py
    XGBOOST_BUILTIN_METRICS, from the container's algorithm_mode/metrics.py): tuning treats the
    image as a built-in algorithm, so the tuner sends NO MetricDefinitions
    (aws/sagemaker-xgboost-container issue #121) and train.py logs xgboost's own
    `[i]\t...\tvalidation-<metric>:<x>` lines that the built-in regex reads.
    """

    problem_type: str
    objective: str
    objective_metric: str

    @property
    def suffix(self) -> str:
        return self.problem_type.capitalize()

    @property
    def tune_step(self) -> str:
        return f"TuneXGBoost{self.suffix}"

    @property
    def evaluate_step(self) -> str:
        return f"EvaluateModel{self.suffix}"


#: The condition's true branch (num_classes == 2), then its false branch.
BINARY = ProblemBranch(
    dataset.BINARY, dataset.OBJECTIVES[dataset.BINARY], dataset.TUNING_METRICS[dataset.BINARY]
)
MULTICLASS = ProblemBranch(
    dataset.MULTICLASS,
    dataset.OBJECTIVES[dataset.MULTICLASS],
    dataset.TUNING_METRICS[dataset.MULTICLASS],
)
BINARY_NUM_CLASSES = 2


def code_bundles() -> dict[str, list[str]]:
    """Bundle name ─► its files, the entry script (``<name>.py``) first."""
    bundles: dict[str, list[str]] = json.loads(CODE_BUNDLES_PATH.read_text(encoding="utf-8"))
    return bundles


def bundle_source(entry: str) -> Path:
    """Where a bundle entry's file is: the repository's root for a shared package's module
    (``contracts/failures.py``), else ml/ (``baseline.py``, ``templates/base.html.j2``)."""
    return (ROOT if entry.startswith(ROOT_PACKAGES) else ROOT / "ml") / entry


def bundle_sources(name: str) -> dict[str, Path]:
    """A bundle as staged: each entry (its path below the code directory) and its file."""
    return {entry: bundle_source(entry) for entry in code_bundles()[name]}


def _bundle_processor(
    name: str,
    image_uri: str,
    role: str,
    instance_type: ParameterString,
    instance_count: ParameterInteger,
    session: OfflinePipelineSession,
) -> Processor:
    """A processor that runs ``python3 <code dir>/<name>.py`` (its bundle is the "code" input)."""
    script = code_bundles()[name][0]
    if script != f"{name}.py":
        raise ValueError(f"{CODE_BUNDLES_PATH.name}: bundle {name!r} must list {name}.py first")
    return Processor(
        role=role,
        image_uri=image_uri,
        entrypoint=["python3", f"{CODE_DIR}/{script}"],
        instance_type=instance_type,
        instance_count=instance_count,
        base_job_name=f"{BASE_JOB_NAME}-{name}",
        sagemaker_session=session,
    )


def _code_input(uri: str) -> ProcessingInput:
    """The bundle's prefix as the job's last input, where ScriptProcessor puts its script."""
    return ProcessingInput(input_name=CODE_INPUT, source=uri, destination=CODE_DIR)


def _s3(bucket: str, *parts: Any) -> Join:
    """``s3://<bucket>/<parts...>`` as a pipeline ``Join`` (parts may be pipeline variables)."""
    return Join(on="/", values=["s3:/", bucket, *parts])


def _flatten_join(join: Join) -> Join:
    """Splice nested ``Join``s with the same separator into one flat ``Std:Join``.

    SageMaker resolves Join values that are primitives or references; keeping a single level
    avoids relying on nested functions and keeps the local runtime's interpreter simple.
    """
    values: list[Any] = []
    for value in join.values:
        if isinstance(value, Join) and value.on == join.on:
            values.extend(_flatten_join(value).values)
        else:
            values.append(value)
    return Join(on=join.on, values=values)


@dataclass(frozen=True)
class _Shared:
    """What both branches of CheckProblemType build on."""

    values: Mapping[str, str]
    session: OfflinePipelineSession
    prepare_outputs: Any  # PrepareData's ProcessingOutputConfig.Outputs (a PropertiesList)
    processing_instance_type: ParameterString
    processing_instance_count: ParameterInteger
    training_instance_type: ParameterString
    training_instance_count: ParameterInteger
    #: contracts.pipeline.PARAMETERS by name.
    parameters: Mapping[str, Parameter]

    def __getitem__(self, name: str) -> Any:
        return self.parameters[name]


def _tuning_step(shared: _Shared, branch: ProblemBranch) -> TuningStep:
    """The branch's tuning step: the objective is a static hyperparameter, the tuner minimises
    the branch's built-in metric; channels train, validation (CSV) and contract (JSON)."""
    values = shared.values
    bucket = values["bucket"]
    execution_id = ExecutionVariables.PIPELINE_EXECUTION_ID
    estimator = XGBoost(
        entry_point="train.py",
        source_dir=values["train_source_uri"],
        framework_version=XGBOOST_FRAMEWORK_VERSION,
        image_uri=values["xgboost_image_uri"],
        role=values["sagemaker_role_arn"],
        instance_type=shared.training_instance_type,
        instance_count=shared.training_instance_count,
        output_path=_s3(bucket, MODELS_PREFIX, execution_id, "training"),
        base_job_name=f"{BASE_JOB_NAME}-training",
        hyperparameters={**STATIC_HYPERPARAMETERS, "objective": branch.objective},
        # Debugger/profiler rules would add region-specific images and extra jobs.
        disable_profiler=True,
        debugger_hook_config=False,
        sagemaker_session=shared.session,
    )
    tuner = HyperparameterTuner(
        estimator=estimator,
        objective_metric_name=branch.objective_metric,
        objective_type="Minimize",
        hyperparameter_ranges={
            "max_depth": IntegerParameter(3, 10),
            "eta": ContinuousParameter(0.01, 0.3),
            "num_round": IntegerParameter(30, 150),
        },
        strategy="Bayesian",
        max_jobs=shared[pipeline_contract.MAX_TUNING_JOBS],
        max_parallel_jobs=shared[pipeline_contract.MAX_PARALLEL_TUNING_JOBS],
        base_tuning_job_name=f"{BASE_JOB_NAME}-tuning",
    )
    outputs = shared.prepare_outputs
    channels = {
        split: TrainingInput(s3_data=outputs[split].S3Output.S3Uri, content_type="text/csv")
        for split in ("train", "validation")
    }
    channels[CONTRACT_OUTPUT] = TrainingInput(
        s3_data=outputs[CONTRACT_OUTPUT].S3Output.S3Uri, content_type="application/json"
    )
    return TuningStep(name=branch.tune_step, step_args=tuner.fit(inputs=channels))


def _evaluation_step(shared: _Shared, branch: ProblemBranch, tune_step: TuningStep) -> Step:
    """The branch's evaluation of its best model; both branches write the same report key."""
    values = shared.values
    bucket = values["bucket"]
    execution_id = ExecutionVariables.PIPELINE_EXECUTION_ID
    # The best trial's model: <output_path>/<training job name>/output/model.tar.gz. The SDK
    # annotates `prefix` as str, but it only becomes one more value of the returned Join.
    training_prefix = Join(on="/", values=[MODELS_PREFIX, execution_id, "training"])
    best_model_uri = _flatten_join(
        tune_step.get_top_model_s3_uri(
            top_k=0,
            s3_bucket=bucket,
            prefix=training_prefix,  # type: ignore[arg-type]
        )
    )
    processor = _bundle_processor(
        "evaluate",
        values["xgboost_image_uri"],
        values["sagemaker_role_arn"],
        shared.processing_instance_type,
        shared.processing_instance_count,
        shared.session,
    )
    report = PropertyFile(
        name=EVALUATION_PROPERTY_FILE,
        output_name=EVALUATION_OUTPUT,
        path=s3_layout.EVALUATION_FILE,
    )
    return ProcessingStep(
        name=branch.evaluate_step,
        step_args=processor.run(
            inputs=[
                ProcessingInput(
                    input_name="model",
                    source=best_model_uri,
                    destination=f"{PROCESSING_ROOT}/model",
                ),
                ProcessingInput(
                    input_name="test",
                    source=shared.prepare_outputs["test"].S3Output.S3Uri,
                    destination=f"{PROCESSING_ROOT}/test",
                ),
                ProcessingInput(
                    input_name=BASELINE_OUTPUT,
                    source=shared.prepare_outputs[BASELINE_OUTPUT].S3Output.S3Uri,
                    destination=f"{PROCESSING_ROOT}/{BASELINE_OUTPUT}",
                ),
                _champion_input(shared),
                _code_input(values["evaluate_code_uri"]),
            ],
            outputs=[
                ProcessingOutput(
                    output_name=EVALUATION_OUTPUT,
                    source=f"{PROCESSING_ROOT}/evaluation",
                    destination=_s3(bucket, s3_layout.EVALUATION.rstrip("/"), execution_id),
                )
            ],
            arguments=[
                "--model-dir",
                f"{PROCESSING_ROOT}/model",
                "--test-dir",
                f"{PROCESSING_ROOT}/test",
                "--output-dir",
                f"{PROCESSING_ROOT}/evaluation",
                "--model-uri",
                best_model_uri,
                "--baseline-dir",
                f"{PROCESSING_ROOT}/{BASELINE_OUTPUT}",
                "--champion-dir",
                CHAMPION_DIR,
                "--champion-package-arn",
                shared[pipeline_contract.CHAMPION_PACKAGE_ARN],
                # A ContainerArgument is text: the Float parameters go through Std:Join.
                "--accuracy-threshold",
                shared[pipeline_contract.ACCURACY_THRESHOLD].to_string(),
                "--champion-margin",
                shared[pipeline_contract.CHAMPION_MARGIN].to_string(),
                "--run-name",
                shared[pipeline_contract.RUN_NAME],
            ],
        ),
        property_files=[report],
    )


def _champion_input(shared: _Shared) -> ProcessingInput:
    """The serving model's model.tar.gz (or the "none" marker prefix) in CHAMPION_DIR."""
    return ProcessingInput(
        input_name=CHAMPION_INPUT,
        source=shared[pipeline_contract.CHAMPION_MODEL_URI],
        destination=CHAMPION_DIR,
    )


def _declared_parameters(
    values: Mapping[str, str], max_tuning_jobs: int, max_parallel_jobs: int
) -> dict[str, Parameter]:
    """contracts.pipeline.PARAMETERS, in that order. The machine always sends every one; the
    defaults serve a run started by hand: the execution input schema's for the gate, and no
    champion (the models/none/ marker prefix Terraform keeps)."""
    contract = pipeline_contract
    fields = execution_input.schema()["fields"]
    declared: dict[str, Parameter] = {
        contract.INPUT_DATA_URI: ParameterString(
            name=contract.INPUT_DATA_URI, default_value=values["default_data_uri"]
        ),
        # The dataset contract's settings, as text (lists as JSON); "" lets prepare.py derive them.
        contract.LABEL_COLUMN: ParameterString(name=contract.LABEL_COLUMN, default_value=""),
        contract.FEATURE_COLUMNS: ParameterString(name=contract.FEATURE_COLUMNS, default_value=""),
        contract.CLASS_ORDER: ParameterString(name=contract.CLASS_ORDER, default_value=""),
        contract.MAX_TUNING_JOBS: ParameterInteger(
            name=contract.MAX_TUNING_JOBS, default_value=max_tuning_jobs
        ),
        contract.MAX_PARALLEL_TUNING_JOBS: ParameterInteger(
            name=contract.MAX_PARALLEL_TUNING_JOBS, default_value=max_parallel_jobs
        ),
        contract.ACCURACY_THRESHOLD: ParameterFloat(
            name=contract.ACCURACY_THRESHOLD,
            default_value=float(fields["accuracy_threshold"]["default"]),
        ),
        contract.CHAMPION_MARGIN: ParameterFloat(
            name=contract.CHAMPION_MARGIN,
            default_value=float(fields["champion_margin"]["default"]),
        ),
        contract.CHAMPION_MODEL_URI: ParameterString(
            name=contract.CHAMPION_MODEL_URI,
            default_value=s3_layout.s3_uri(values["bucket"], s3_layout.NO_CHAMPION_PREFIX),
        ),
        contract.CHAMPION_PACKAGE_ARN: ParameterString(
            name=contract.CHAMPION_PACKAGE_ARN, default_value=contract.NO_CHAMPION_PACKAGE
        ),
        contract.RUN_NAME: ParameterString(name=contract.RUN_NAME, default_value=""),
    }
    if tuple(declared) != contract.PARAMETERS:
        raise ValueError("the pipeline must declare contracts.pipeline.PARAMETERS, in order")
    return declared


def _prepare_step(shared: _Shared) -> tuple[ProcessingStep, PropertyFile]:
    """PrepareData and its DatasetContract property file (contract.json, read by the
    condition). Every container path the script uses is passed, never left to its defaults: a
    runtime that maps /opt/ml elsewhere (the local emulator) then maps exactly these."""
    values = shared.values
    processor = _bundle_processor(
        "prepare",
        values["sklearn_image_uri"],
        values["sagemaker_role_arn"],
        shared.processing_instance_type,
        shared.processing_instance_count,
        shared.session,
    )
    contract_file = PropertyFile(
        name=CONTRACT_PROPERTY_FILE, output_name=CONTRACT_OUTPUT, path=CONTRACT_FILE
    )
    input_dir = f"{PROCESSING_ROOT}/input"
    prefix: list[Any] = [s3_layout.PIPELINES.rstrip("/"), EXECUTION_ID, "prepare"]
    step = ProcessingStep(
        name=STEP_PREPARE,
        step_args=processor.run(
            inputs=[
                ProcessingInput(
                    input_name="input",
                    source=shared[pipeline_contract.INPUT_DATA_URI],
                    destination=input_dir,
                ),
                _champion_input(shared),
                _code_input(values["prepare_code_uri"]),
            ],
            outputs=[
                ProcessingOutput(
                    output_name=name,
                    source=f"{PROCESSING_ROOT}/{name}",
                    destination=_s3(values["bucket"], *prefix, name),
                )
                for name in (*SPLITS, CONTRACT_OUTPUT, BASELINE_OUTPUT)
            ],
            # An empty value is a ContainerArgument of length 0 (botocore: ContainerArgument
            # "min": 0), so every flag keeps its value and prepare.py reads "" as "derive".
            arguments=[
                "--input-dir",
                input_dir,
                "--output-dir",
                PROCESSING_ROOT,
                "--label-column",
                shared[pipeline_contract.LABEL_COLUMN],
                "--feature-columns",
                shared[pipeline_contract.FEATURE_COLUMNS],
                "--class-order",
                shared[pipeline_contract.CLASS_ORDER],
                "--champion-dir",
                CHAMPION_DIR,
            ],
        ),
        property_files=[contract_file],
    )
    return step, contract_file


def _check_problem_type(shared: _Shared, contract_file: PropertyFile) -> ConditionStep:
    """CheckProblemType ─► one (tuning, evaluation) pair per problem type."""
    branches: dict[str, list[Step]] = {}
    for branch in (BINARY, MULTICLASS):
        tune_step = _tuning_step(shared, branch)
        branches[branch.problem_type] = [tune_step, _evaluation_step(shared, branch, tune_step)]
    return ConditionStep(
        name=STEP_CHECK_PROBLEM_TYPE,
        conditions=[
            # The SDK's annotation omits JsonGet, which its own docs use as a condition operand
            # (it serialises as Std:JsonGet on the PropertyFile).
            ConditionEquals(
                left=JsonGet(  # type: ignore[arg-type]
                    step_name=STEP_PREPARE,
                    property_file=contract_file,
                    json_path="num_classes",
                ),
                right=BINARY_NUM_CLASSES,
            )
        ],
        if_steps=branches[BINARY.problem_type],  # type: ignore[arg-type]
        else_steps=branches[MULTICLASS.problem_type],  # type: ignore[arg-type]
    )


def build_pipeline(
    *,
    max_tuning_jobs: int = DEFAULT_MAX_TUNING_JOBS,
    max_parallel_jobs: int = DEFAULT_MAX_PARALLEL_JOBS,
    values: Mapping[str, str] = SENTINELS,
) -> Pipeline:
    """Build PrepareData ─► CheckProblemType ─► (binary | multiclass) tuning ─► evaluation.

    ``values`` supplies the environment-specific strings (sentinels by default); the tuning
    limits are the defaults of the ``MaxTuningJobs`` / ``MaxParallelTuningJobs`` parameters.
    """
    session = OfflinePipelineSession(values["bucket"])
    parameters = _declared_parameters(values, max_tuning_jobs, max_parallel_jobs)
    shared = _Shared(
        values=values,
        session=session,
        prepare_outputs=None,  # PrepareData's, set once the step exists
        processing_instance_type=ParameterString(
            name="ProcessingInstanceType", default_value="ml.m5.large"
        ),
        processing_instance_count=ParameterInteger(name="ProcessingInstanceCount", default_value=1),
        training_instance_type=ParameterString(
            name="TrainingInstanceType", default_value="ml.m5.large"
        ),
        training_instance_count=ParameterInteger(name="TrainingInstanceCount", default_value=1),
        parameters=parameters,
    )
    instances = [
        shared.processing_instance_type,
        shared.processing_instance_count,
        shared.training_instance_type,
        shared.training_instance_count,
    ]
    prepare_step, contract_file = _prepare_step(shared)
    shared = dataclasses.replace(
        shared, prepare_outputs=prepare_step.properties.ProcessingOutputConfig.Outputs
    )
    # Terraform names the real pipeline; this name only exists inside the SDK. No experiment
    # config: SageMaker Pipelines creates no experiment or run group (module docstring).
    return Pipeline(
        name=f"{BASE_JOB_NAME}-pipeline",
        parameters=[*parameters.values(), *instances],
        pipeline_experiment_config=None,
        steps=[prepare_step, _check_problem_type(shared, contract_file)],
        sagemaker_session=session,
    )


def flattened_steps(steps: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Every step of a definition, a Condition step's IfSteps/ElseSteps included."""
    for step in steps:
        yield step
        if step.get("Type") == "Condition":
            arguments = step.get("Arguments") or {}
            yield from flattened_steps(
                [*(arguments.get("IfSteps") or []), *(arguments.get("ElseSteps") or [])]
            )


def _strip_run_specific_hyperparameters(definition: dict[str, Any]) -> dict[str, Any]:
    """Drop the script-mode hyperparameters that would pin the file to this machine and moment.

    ``sagemaker_region`` is the generating session's region (the training toolkit falls back to
    the container's own region) and ``sagemaker_job_name`` carries a timestamp (the toolkit
    defaults it to empty; every tuning trial has its own job name anyway).
    """
    for step in flattened_steps(definition["Steps"]):
        training = step.get("Arguments", {}).get("TrainingJobDefinition", {})
        static = training.get("StaticHyperParameters", {})
        for name in RUN_SPECIFIC_HYPERPARAMETERS:
            static.pop(name, None)
    return definition


def to_placeholders(text: str, sentinels: Mapping[str, str] = SENTINELS) -> str:
    """Replace every sentinel value with its ``${name}`` placeholder; fail if one survives."""
    for name, sentinel in sorted(sentinels.items(), key=lambda item: -len(item[1])):
        text = text.replace(sentinel, "${" + name + "}")
    if SENTINEL_MARKER in text:
        raise ValueError("a sentinel value survived placeholder substitution")
    return text


def definition_json(
    *,
    max_tuning_jobs: int = DEFAULT_MAX_TUNING_JOBS,
    max_parallel_jobs: int = DEFAULT_MAX_PARALLEL_JOBS,
) -> str:
    """The committed definition text: sorted, indented JSON with placeholders, newline-ended."""
    with offline(), quiet_sdk():
        pipeline = build_pipeline(
            max_tuning_jobs=max_tuning_jobs, max_parallel_jobs=max_parallel_jobs
        )
        definition = _strip_run_specific_hyperparameters(json.loads(pipeline.definition()))
        # The SDK writes null for no experiment config; AWS's own example of that definition
        # leaves the key out (pipelines-experiments-none.html): so does the committed file.
        if definition.get(EXPERIMENT_CONFIG_KEY, "absent") is None:
            del definition[EXPERIMENT_CONFIG_KEY]
    return to_placeholders(json.dumps(definition, indent=2, sort_keys=True) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=DEFINITION_PATH)
    parser.add_argument(
        "--check", action="store_true", help="exit 1 if the file differs from a fresh generation"
    )
    parser.add_argument("--max-tuning-jobs", type=int, default=DEFAULT_MAX_TUNING_JOBS)
    parser.add_argument("--max-parallel-jobs", type=int, default=DEFAULT_MAX_PARALLEL_JOBS)
    args = parser.parse_args(argv)
    if not 1 <= args.max_parallel_jobs <= args.max_tuning_jobs:
        parser.error("need 1 <= --max-parallel-jobs <= --max-tuning-jobs")

    fresh = definition_json(
        max_tuning_jobs=args.max_tuning_jobs, max_parallel_jobs=args.max_parallel_jobs
    )
    return write_or_check(args.output, fresh, check=args.check, regenerate=REGENERATE_COMMAND)


if __name__ == "__main__":
    sys.exit(main())
