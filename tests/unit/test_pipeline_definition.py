"""Tests for the SageMaker Pipeline definition generator (``ml/pipeline.py``).

They pin the committed ``ml/pipeline_definition.json`` to a fresh, offline generation and check
the contracts other parts rely on: placeholder names, the step graph (PrepareData, then the
CheckProblemType condition choosing the binary or the multiclass tuning and evaluation), the
tuning setup, the dataset contract's parameters and output, and where the evaluation report
lands.
"""

from __future__ import annotations

import json
import os
import re
import socket
from pathlib import Path
from typing import Any

import pytest

from devtools.generated import placeholders, render
from emulator.sagemaker_executor import tuning
from ml import pipeline
from tests.helpers.json_walk import json_strings

ROOT = Path(__file__).resolve().parents[2]
EXECUTION_ID = {"Get": "Execution.PipelineExecutionId"}
ECR = "683313688378.dkr.ecr.us-east-1.amazonaws.com"
SAMPLE_VALUES = {
    "bucket": "demo-bucket",
    "sagemaker_role_arn": "arn:aws:iam::123456789012:role/demo-sagemaker",
    "sklearn_image_uri": f"{ECR}/sagemaker-scikit-learn:1.2-1",
    "xgboost_image_uri": f"{ECR}/sagemaker-xgboost:1.7-1",
    "prepare_code_uri": "s3://demo-bucket/code/prepare-0123/",
    "evaluate_code_uri": "s3://demo-bucket/code/evaluate-4567/",
    "train_source_uri": "s3://demo-bucket/code/train_source.tar.gz",
    "default_data_uri": "s3://demo-bucket/data/raw/iris.csv",
}
# Region names (us-east-1, eu-central-2, us-gov-west-1, ...) and 12-digit account ids.
REGION_RE = re.compile(r"\b(?:us|eu|ap|sa|ca|me|af|il|mx|cn)-(?:gov-)?[a-z]+-\d\b")
ACCOUNT_RE = re.compile(r"(?<!\d)\d{12}(?!\d)")


@pytest.fixture(scope="module")
def fresh_text() -> str:
    return pipeline.definition_json()


@pytest.fixture(scope="module")
def definition(fresh_text: str) -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads(fresh_text)
    return parsed


@pytest.fixture(scope="module")
def steps(definition: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every step by name, the Condition step's IfSteps/ElseSteps included."""
    return {step["Name"]: step for step in pipeline.flattened_steps(definition["Steps"])}


BRANCHES = [
    pytest.param(pipeline.BINARY, id="binary"),
    pytest.param(pipeline.MULTICLASS, id="multiclass"),
]


def _references(node: Any) -> set[str]:
    """Every ``{"Get": ...}`` reference inside ``node``."""
    found: set[str] = set()
    if isinstance(node, dict):
        if set(node) == {"Get"}:
            found.add(node["Get"])
        for value in node.values():
            found |= _references(value)
    elif isinstance(node, list):
        for item in node:
            found |= _references(item)
    return found


# --- the committed file --------------------------------------------------------------------


def test_committed_definition_is_fresh(fresh_text: str) -> None:
    committed = pipeline.DEFINITION_PATH.read_text(encoding="utf-8")
    assert committed == fresh_text, (
        "ml/pipeline_definition.json is stale: run `make definitions` and commit it"
    )


def test_generation_is_byte_identical(fresh_text: str) -> None:
    assert pipeline.definition_json() == fresh_text


def test_definition_text_is_sorted_indented_and_newline_terminated(fresh_text: str) -> None:
    reformatted = json.dumps(json.loads(fresh_text), indent=2, sort_keys=True) + "\n"
    assert fresh_text == reformatted


def test_committed_file_has_no_sentinel_region_or_account() -> None:
    text = pipeline.DEFINITION_PATH.read_text(encoding="utf-8")
    assert pipeline.SENTINEL_MARKER not in text
    for sentinel in pipeline.SENTINELS.values():
        assert sentinel not in text
    assert REGION_RE.findall(text) == []
    assert ACCOUNT_RE.findall(text) == []
    assert "arn:aws" not in text


# --- placeholders and rendering ------------------------------------------------------------


def test_placeholder_set_matches_contract(fresh_text: str) -> None:
    assert placeholders(fresh_text) == pipeline.PLACEHOLDERS
    assert set(pipeline.SENTINELS) == pipeline.PLACEHOLDERS


def test_placeholders_sit_only_inside_json_strings(
    fresh_text: str, definition: dict[str, Any]
) -> None:
    in_text = re.findall(r"\$\{", fresh_text)
    in_strings = [hit for value in json_strings(definition) for hit in re.findall(r"\$\{", value)]
    assert len(in_text) == len(in_strings) > 0


def test_no_other_template_sequences(fresh_text: str) -> None:
    # templatefile() would try to interpret any other ${...} or %{...} and fail.
    assert "%{" not in fresh_text
    assert "$${" not in fresh_text
    for match in re.finditer(r"\$\{([^}]*)\}", fresh_text):
        assert match.group(1) in pipeline.PLACEHOLDERS


def test_rendered_definition_is_valid_json_without_placeholders(fresh_text: str) -> None:
    rendered = render(fresh_text, SAMPLE_VALUES)
    assert "${" not in rendered
    parsed = json.loads(rendered)
    prepare = {s["Name"]: s for s in pipeline.flattened_steps(parsed["Steps"])}["PrepareData"][
        "Arguments"
    ]
    assert prepare["RoleArn"] == SAMPLE_VALUES["sagemaker_role_arn"]
    assert prepare["AppSpecification"]["ImageUri"] == SAMPLE_VALUES["sklearn_image_uri"]
    input_param = {p["Name"]: p for p in parsed["Parameters"]}["InputDataUri"]
    assert input_param["DefaultValue"] == "s3://demo-bucket/data/raw/iris.csv"


def test_sentinels_are_distinct_and_not_nested() -> None:
    # Nesting would let one replacement corrupt another, whatever the order.
    sentinels = list(pipeline.SENTINELS.values())
    for sentinel in sentinels:
        assert pipeline.SENTINEL_MARKER in sentinel
        assert [other for other in sentinels if sentinel in other] == [sentinel]


def test_to_placeholders_fails_on_a_leftover_sentinel() -> None:
    with pytest.raises(ValueError, match="sentinel"):
        pipeline.to_placeholders("s3://sentinel-unknown/x")


# --- parameters and graph ------------------------------------------------------------------


def test_parameters(definition: dict[str, Any]) -> None:
    params = {p["Name"]: (p["Type"], p["DefaultValue"]) for p in definition["Parameters"]}
    assert params == {
        # Terraform supplies the default (the object it names exists after apply).
        "InputDataUri": ("String", "${default_data_uri}"),
        # The dataset contract's settings: "" lets prepare.py derive them.
        "LabelColumn": ("String", ""),
        "FeatureColumns": ("String", ""),
        "ClassOrder": ("String", ""),
        "MaxTuningJobs": ("Integer", 9),
        "MaxParallelTuningJobs": ("Integer", 3),
        # The gate's defaults are the execution input schema's.
        "AccuracyThreshold": ("Float", 0.9),
        "ChampionMargin": ("Float", 0.0),
        # No champion: the prefix holding only the marker Terraform keeps.
        "ChampionModelUri": ("String", "s3://${bucket}/models/none/"),
        "ChampionPackageArn": ("String", "none"),
        "RunName": ("String", ""),
        "ProcessingInstanceType": ("String", "ml.m5.large"),
        "ProcessingInstanceCount": ("Integer", 1),
        "TrainingInstanceType": ("String", "ml.m5.large"),
        "TrainingInstanceCount": ("Integer", 1),
    }


def test_the_pipeline_declares_exactly_what_the_training_machine_sends() -> None:
    """The committed definition declares contracts.pipeline.PARAMETERS, in order, then only the
    instance settings a run keeps at their defaults: SageMaker refuses an undeclared parameter,
    and a declared one the machine never sends would silently keep its default."""
    from contracts import execution_input, s3_layout
    from contracts import pipeline as sent

    definition = json.loads(pipeline.DEFINITION_PATH.read_text(encoding="utf-8"))
    names = [p["Name"] for p in definition["Parameters"]]
    assert tuple(names[: len(sent.PARAMETERS)]) == sent.PARAMETERS
    assert names[len(sent.PARAMETERS) :] == [
        "ProcessingInstanceType",
        "ProcessingInstanceCount",
        "TrainingInstanceType",
        "TrainingInstanceCount",
    ]
    defaults = {p["Name"]: p["DefaultValue"] for p in definition["Parameters"]}
    fields = execution_input.schema()["fields"]
    assert defaults[sent.ACCURACY_THRESHOLD] == fields["accuracy_threshold"]["default"]
    assert defaults[sent.CHAMPION_MARGIN] == fields["champion_margin"]["default"]
    assert defaults[sent.CHAMPION_MODEL_URI] == "s3://${bucket}/" + s3_layout.NO_CHAMPION_PREFIX
    assert defaults[sent.CHAMPION_PACKAGE_ARN] == sent.NO_CHAMPION_PACKAGE


def test_terraform_keeps_the_no_champion_marker_where_the_contract_says() -> None:
    """ChampionModelUri's "nothing serves" prefix must hold an object, or the processing
    input fails ("No S3 objects found"): Terraform's marker lies under it."""
    from contracts import s3_layout

    s3_tf = (ROOT / "terraform" / "s3.tf").read_text()
    [key] = re.findall(
        r'resource "aws_s3_object" "no_champion" \{.*?key\s*=\s*"([^"]+)"', s3_tf, re.S
    )
    prefix = s3_layout.NO_CHAMPION_PREFIX[len(s3_layout.MODELS) :]
    assert key.startswith("${local.s3_prefix.models}" + prefix), key


def test_no_experiment_is_created(fresh_text: str, definition: dict[str, Any]) -> None:
    """SageMaker Pipelines creates an experiment and a run group per execution unless the
    definition carries no PipelineExperimentConfig (the SDK's pipeline_experiment_config=None;
    https://docs.aws.amazon.com/sagemaker/latest/dg/pipelines-experiments-none.html): the
    SageMaker role has no Experiments permissions."""
    assert pipeline.EXPERIMENT_CONFIG_KEY == "PipelineExperimentConfig"
    assert definition.get("PipelineExperimentConfig") is None
    assert "PipelineExperimentConfig" not in fresh_text
    assert "Experiment" not in fresh_text and "TrialName" not in fresh_text
    committed = json.loads(pipeline.DEFINITION_PATH.read_text(encoding="utf-8"))
    assert committed.get("PipelineExperimentConfig") is None


def test_step_order_types_and_dependencies(
    definition: dict[str, Any], steps: dict[str, dict[str, Any]]
) -> None:
    assert [(s["Name"], s["Type"]) for s in definition["Steps"]] == [
        ("PrepareData", "Processing"),
        ("CheckProblemType", "Condition"),
    ]
    condition = steps["CheckProblemType"]["Arguments"]
    assert [(s["Name"], s["Type"]) for s in condition["IfSteps"]] == [
        ("TuneXGBoostBinary", "Tuning"),
        ("EvaluateModelBinary", "Processing"),
    ]
    assert [(s["Name"], s["Type"]) for s in condition["ElseSteps"]] == [
        ("TuneXGBoostMulticlass", "Tuning"),
        ("EvaluateModelMulticlass", "Processing"),
    ]
    # Data dependencies (not DependsOn) order the graph; a branch's steps never read the
    # other branch's.
    step_refs = {
        name: {ref.split(".")[1] for ref in _references(step) if ref.startswith("Steps.")}
        for name, step in steps.items()
        if step["Type"] != "Condition"
    }
    assert step_refs == {
        "PrepareData": set(),
        "TuneXGBoostBinary": {"PrepareData"},
        "EvaluateModelBinary": {"PrepareData", "TuneXGBoostBinary"},
        "TuneXGBoostMulticlass": {"PrepareData"},
        "EvaluateModelMulticlass": {"PrepareData", "TuneXGBoostMulticlass"},
    }
    assert all("DependsOn" not in step for step in steps.values())


def test_condition_branches_on_the_contracts_number_of_classes(
    steps: dict[str, dict[str, Any]],
) -> None:
    """The objective follows the number of classes, read from the contract that
    PrepareData derived (Std:JsonGet on its PropertyFile, resolved by SageMaker at run time)."""
    assert steps["CheckProblemType"]["Arguments"]["Conditions"] == [
        {
            "Type": "Equals",
            "LeftValue": {
                "Std:JsonGet": {
                    "PropertyFile": {"Get": "Steps.PrepareData.PropertyFiles.DatasetContract"},
                    "Path": "num_classes",
                }
            },
            "RightValue": 2,
        }
    ]
    assert steps["PrepareData"]["PropertyFiles"] == [
        {
            "FilePath": "contract.json",
            "OutputName": "contract",
            "PropertyFileName": "DatasetContract",
        }
    ]
    assert "PropertyFiles" not in steps["CheckProblemType"]


def test_no_dataset_name_in_the_definition(fresh_text: str) -> None:
    """The pipeline serves any dataset; only the default data URI names one,
    and that comes from Terraform."""
    assert "iris" not in fresh_text.lower()


@pytest.mark.parametrize(
    ("script", "step", "required"),
    [
        ("prepare", pipeline.STEP_PREPARE, ["--label-column", "label"]),
        ("evaluate", pipeline.BINARY.evaluate_step, ["--accuracy-threshold", "0.9"]),
        ("evaluate", pipeline.MULTICLASS.evaluate_step, ["--accuracy-threshold", "0.9"]),
    ],
)
def test_every_container_path_a_script_defaults_to_is_passed(
    steps: dict[str, dict[str, Any]], script: str, step: str, required: list[str]
) -> None:
    """A script's path options default to its container's paths; the definition passes each
    one, so a runtime that maps /opt/ml elsewhere (the emulator) sees every path it must map."""
    import importlib

    defaults = vars(importlib.import_module(f"ml.{script}").parse_args(required))
    container_paths = {
        "--" + name.replace("_", "-")
        for name, value in defaults.items()
        if str(value).startswith("/opt/ml")
    }
    assert container_paths, script
    arguments = steps[step]["Arguments"]["AppSpecification"]["ContainerArguments"]
    flags = {argument for argument in arguments if isinstance(argument, str)}
    assert container_paths <= flags, container_paths - flags


def test_prepare_step(steps: dict[str, dict[str, Any]]) -> None:
    args = steps["PrepareData"]["Arguments"]
    # prepare.py's command line: the dataset settings as text, every flag with its value.
    assert args["AppSpecification"] == {
        "ContainerEntrypoint": ["python3", "/opt/ml/processing/input/code/prepare.py"],
        "ContainerArguments": [
            "--input-dir",
            "/opt/ml/processing/input",
            "--output-dir",
            "/opt/ml/processing",
            "--label-column",
            {"Get": "Parameters.LabelColumn"},
            "--feature-columns",
            {"Get": "Parameters.FeatureColumns"},
            "--class-order",
            {"Get": "Parameters.ClassOrder"},
            # The serving model's model.tar.gz: prepare.py keeps its feature order.
            "--champion-dir",
            "/opt/ml/processing/champion",
        ],
        "ImageUri": "${sklearn_image_uri}",
    }
    inputs = {i["InputName"]: i["S3Input"] for i in args["ProcessingInputs"]}
    assert list(inputs) == ["input", "champion", "code"]
    assert inputs["input"]["S3Uri"] == {"Get": "Parameters.InputDataUri"}
    assert inputs["input"]["LocalPath"] == "/opt/ml/processing/input"
    assert inputs["champion"]["S3Uri"] == {"Get": "Parameters.ChampionModelUri"}
    assert inputs["champion"]["LocalPath"] == "/opt/ml/processing/champion"
    assert inputs["champion"]["S3DataType"] == "S3Prefix"
    # The code bundle (prepare.py and the modules it imports) where ScriptProcessor puts a script.
    assert inputs["code"]["S3Uri"] == "${prepare_code_uri}"
    assert inputs["code"]["LocalPath"] == "/opt/ml/processing/input/code"
    assert inputs["code"]["S3DataType"] == "S3Prefix"
    outputs = {o["OutputName"]: o["S3Output"] for o in args["ProcessingOutputConfig"]["Outputs"]}
    assert list(outputs) == ["train", "validation", "test", "contract", "baseline"]
    for split, output in outputs.items():
        assert output["LocalPath"] == f"/opt/ml/processing/{split}"
        assert output["S3Uri"] == {
            "Std:Join": {
                "On": "/",
                "Values": ["s3:/", "${bucket}", "pipelines", EXECUTION_ID, "prepare", split],
            }
        }
    assert args["RoleArn"] == "${sagemaker_role_arn}"
    cluster = args["ProcessingResources"]["ClusterConfig"]
    assert cluster["InstanceType"] == {"Get": "Parameters.ProcessingInstanceType"}
    assert cluster["InstanceCount"] == {"Get": "Parameters.ProcessingInstanceCount"}


# --- tuning --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("step", "metric"),
    [("TuneXGBoostBinary", "validation:logloss"), ("TuneXGBoostMulticlass", "validation:mlogloss")],
)
def test_tuning_job_config(steps: dict[str, dict[str, Any]], step: str, metric: str) -> None:
    config = steps[step]["Arguments"]["HyperParameterTuningJobConfig"]
    assert config["Strategy"] == "Bayesian"
    assert config["HyperParameterTuningJobObjective"] == {"MetricName": metric, "Type": "Minimize"}
    assert config["ResourceLimits"] == {
        "MaxNumberOfTrainingJobs": {"Get": "Parameters.MaxTuningJobs"},
        "MaxParallelTrainingJobs": {"Get": "Parameters.MaxParallelTuningJobs"},
    }
    ranges = config["ParameterRanges"]
    integer = {r["Name"]: (r["MinValue"], r["MaxValue"]) for r in ranges["IntegerParameterRanges"]}
    continuous = {
        r["Name"]: (r["MinValue"], r["MaxValue"]) for r in ranges["ContinuousParameterRanges"]
    }
    assert integer == {"max_depth": ("3", "10"), "num_round": ("30", "150")}
    assert continuous == {"eta": ("0.01", "0.3")}
    assert ranges["CategoricalParameterRanges"] == []


@pytest.mark.parametrize("branch", BRANCHES)
def test_tuning_asks_for_what_the_xgboost_image_accepts(
    fresh_text: str, steps: dict[str, dict[str, Any]], branch: pipeline.ProblemBranch
) -> None:
    """No MetricDefinitions for the built-in XGBoost image, and an objective the container itself
    defines (aws/sagemaker-xgboost-container issue #121, algorithm_mode/metrics.py)."""
    args = steps[branch.tune_step]["Arguments"]
    algorithm = args["TrainingJobDefinition"]["AlgorithmSpecification"]
    assert "MetricDefinitions" not in algorithm
    assert "MetricDefinitions" not in fresh_text
    objective = args["HyperParameterTuningJobConfig"]["HyperParameterTuningJobObjective"]
    builtin = tuning.XGBOOST_BUILTIN_METRICS[objective["MetricName"]]
    assert objective["Type"] == builtin.direction
    rendered = json.loads(render(fresh_text, SAMPLE_VALUES))
    rendered_steps = {s["Name"]: s for s in pipeline.flattened_steps(rendered["Steps"])}
    tuning_args = rendered_steps[branch.tune_step]["Arguments"]
    assert (
        tuning.objective_metric_regexes(
            tuning_args["TrainingJobDefinition"]["AlgorithmSpecification"], objective
        )[objective["MetricName"]]
        == builtin.regex
    )


def test_trained_models_live_under_models_not_pipelines(steps: dict[str, dict[str, Any]]) -> None:
    """Trial models (what packages reference) are outside the expiring pipelines/."""
    for branch in (pipeline.BINARY, pipeline.MULTICLASS):
        training = steps[branch.tune_step]["Arguments"]["TrainingJobDefinition"]
        assert training["OutputDataConfig"]["S3OutputPath"]["Std:Join"]["Values"][2] == "models"
    for step in steps.values():
        for output in (step["Arguments"].get("ProcessingOutputConfig") or {}).get("Outputs", []):
            values = output["S3Output"]["S3Uri"]["Std:Join"]["Values"]
            assert values[2] != "models", output["OutputName"]


def _sagemaker_role_s3_prefixes(action: str) -> set[str]:
    """Top-level bucket prefixes the SageMaker role may use with ``action`` (terraform/iam.tf)."""
    import hcl2
    from hcl2.utils import SerializationOptions

    options = SerializationOptions(
        with_comments=False, explicit_blocks=False, strip_string_quotes=True
    )
    iam = ROOT / "terraform" / "iam.tf"
    with iam.open(encoding="utf-8") as handle:
        parsed = hcl2.load(handle, serialization_options=options)
    prefixes: set[str] = set()
    for block in parsed.get("data", []):
        document = block.get("aws_iam_policy_document", {}).get("sagemaker")
        for statement in (document or {}).get("statement", []):
            if action in statement.get("actions", []):
                for resource in statement.get("resources", []):
                    match = re.fullmatch(r"\$\{local\.bucket_arn\}/([^/*]+)/\*", resource)
                    if match:
                        prefixes.add(match.group(1))
    return prefixes


def test_sagemaker_role_may_write_and_read_every_prefix_the_pipeline_writes(
    steps: dict[str, dict[str, Any]],
) -> None:
    """The move of trial models to models/ needs the role's S3 grants to follow."""
    written = set()
    for step in steps.values():
        training = step["Arguments"].get("TrainingJobDefinition")
        if training:
            written.add(training["OutputDataConfig"]["S3OutputPath"]["Std:Join"]["Values"][2])
        for output in (step["Arguments"].get("ProcessingOutputConfig") or {}).get("Outputs", []):
            written.add(output["S3Output"]["S3Uri"]["Std:Join"]["Values"][2])
    assert written == {"pipelines", "models", "evaluation"}
    assert written <= _sagemaker_role_s3_prefixes("s3:PutObject")
    assert written <= _sagemaker_role_s3_prefixes("s3:GetObject")


@pytest.mark.parametrize("branch", BRANCHES)
def test_training_job_definition(
    steps: dict[str, dict[str, Any]], branch: pipeline.ProblemBranch
) -> None:
    training = steps[branch.tune_step]["Arguments"]["TrainingJobDefinition"]
    algorithm = training["AlgorithmSpecification"]
    assert algorithm["TrainingImage"] == "${xgboost_image_uri}"
    assert training["RoleArn"] == "${sagemaker_role_arn}"
    channels = {c["ChannelName"]: c for c in training["InputDataConfig"]}
    # train.py reads the dataset contract from its own channel (contracts/README.md).
    assert list(channels) == ["train", "validation", "contract"]
    for name, channel in channels.items():
        assert channel["ContentType"] == ("application/json" if name == "contract" else "text/csv")
        assert channel["DataSource"]["S3DataSource"]["S3Uri"] == {
            "Get": f"Steps.PrepareData.ProcessingOutputConfig.Outputs['{name}'].S3Output.S3Uri"
        }
    assert training["OutputDataConfig"]["S3OutputPath"] == {
        "Std:Join": {
            "On": "/",
            "Values": ["s3:/", "${bucket}", "models", EXECUTION_ID, "training"],
        }
    }
    resources = training["HyperParameterTuningResourceConfig"]
    assert resources["InstanceType"] == {"Get": "Parameters.TrainingInstanceType"}
    assert resources["InstanceCount"] == {"Get": "Parameters.TrainingInstanceCount"}


@pytest.mark.parametrize(
    ("step", "objective"),
    [("TuneXGBoostBinary", "binary:logistic"), ("TuneXGBoostMulticlass", "multi:softprob")],
)
def test_static_hyperparameters_are_script_mode_and_run_independent(
    steps: dict[str, dict[str, Any]], step: str, objective: str
) -> None:
    static = steps[step]["Arguments"]["TrainingJobDefinition"]["StaticHyperParameters"]
    # Script-mode values are JSON-encoded strings; the training toolkit decodes them.
    decoded = {name: json.loads(value) for name, value in static.items()}
    assert decoded["sagemaker_program"] == "train.py"
    assert decoded["sagemaker_submit_directory"] == "${train_source_uri}"
    assert decoded["early_stopping_rounds"] == "10"
    assert decoded["seed"] == "42"
    assert decoded["objective"] == objective
    assert not set(pipeline.RUN_SPECIFIC_HYPERPARAMETERS) & set(static)
    assert not {"max_depth", "eta", "num_round"} & set(static)


# --- evaluation ----------------------------------------------------------------------------


@pytest.mark.parametrize("branch", BRANCHES)
def test_evaluate_step(steps: dict[str, dict[str, Any]], branch: pipeline.ProblemBranch) -> None:
    step = steps[branch.evaluate_step]
    args = step["Arguments"]
    best_model_uri = {
        "Std:Join": {
            "On": "/",
            "Values": [
                "s3:/",
                "${bucket}",
                "models",
                EXECUTION_ID,
                "training",
                {"Get": f"Steps.{branch.tune_step}.TrainingJobSummaries[0].TrainingJobName"},
                "output/model.tar.gz",
            ],
        }
    }
    app = args["AppSpecification"]
    assert app["ImageUri"] == "${xgboost_image_uri}"
    assert app["ContainerEntrypoint"] == ["python3", "/opt/ml/processing/input/code/evaluate.py"]
    assert app["ContainerArguments"] == [
        "--model-dir",
        "/opt/ml/processing/model",
        "--test-dir",
        "/opt/ml/processing/test",
        "--output-dir",
        "/opt/ml/processing/evaluation",
        "--model-uri",
        best_model_uri,
        "--baseline-dir",
        "/opt/ml/processing/baseline",
        "--champion-dir",
        "/opt/ml/processing/champion",
        "--champion-package-arn",
        {"Get": "Parameters.ChampionPackageArn"},
        # A ContainerArgument is a string: the Float parameters as text.
        "--accuracy-threshold",
        {"Std:Join": {"On": "", "Values": [{"Get": "Parameters.AccuracyThreshold"}]}},
        "--champion-margin",
        {"Std:Join": {"On": "", "Values": [{"Get": "Parameters.ChampionMargin"}]}},
        "--run-name",
        {"Get": "Parameters.RunName"},
    ]
    inputs = {i["InputName"]: i["S3Input"] for i in args["ProcessingInputs"]}
    assert list(inputs) == ["model", "test", "baseline", "champion", "code"]
    # The serving model (or the "none" marker prefix): the input always names objects.
    assert inputs["champion"]["S3Uri"] == {"Get": "Parameters.ChampionModelUri"}
    assert inputs["champion"]["LocalPath"] == "/opt/ml/processing/champion"
    assert inputs["champion"]["S3DataType"] == "S3Prefix"
    assert inputs["model"]["S3Uri"] == best_model_uri
    assert inputs["model"]["LocalPath"] == "/opt/ml/processing/model"
    assert inputs["test"]["S3Uri"] == {
        "Get": "Steps.PrepareData.ProcessingOutputConfig.Outputs['test'].S3Output.S3Uri"
    }
    assert inputs["test"]["LocalPath"] == "/opt/ml/processing/test"
    # prepare.py's drift baseline, completed by evaluate.py into evaluation/<id>/baseline.json.
    assert inputs["baseline"]["S3Uri"] == {
        "Get": "Steps.PrepareData.ProcessingOutputConfig.Outputs['baseline'].S3Output.S3Uri"
    }
    assert inputs["baseline"]["LocalPath"] == "/opt/ml/processing/baseline"
    assert inputs["code"]["S3Uri"] == "${evaluate_code_uri}"
    assert inputs["code"]["LocalPath"] == "/opt/ml/processing/input/code"
    [output] = args["ProcessingOutputConfig"]["Outputs"]
    assert output["OutputName"] == "evaluation"
    assert output["S3Output"]["LocalPath"] == "/opt/ml/processing/evaluation"
    # The state machine reads s3://<bucket>/evaluation/<execution-id>/evaluation.json.
    assert output["S3Output"]["S3Uri"] == {
        "Std:Join": {"On": "/", "Values": ["s3:/", "${bucket}", "evaluation", EXECUTION_ID]}
    }
    assert step["PropertyFiles"] == [
        {
            "FilePath": "evaluation.json",
            "OutputName": "evaluation",
            "PropertyFileName": "EvaluationReport",
        }
    ]
    assert args["RoleArn"] == "${sagemaker_role_arn}"


# --- options, offline guard and CLI --------------------------------------------------------


def test_tuning_limit_options_change_parameter_defaults() -> None:
    parsed = json.loads(pipeline.definition_json(max_tuning_jobs=20, max_parallel_jobs=5))
    defaults = {p["Name"]: p["DefaultValue"] for p in parsed["Parameters"]}
    assert (defaults["MaxTuningJobs"], defaults["MaxParallelTuningJobs"]) == (20, 5)


def test_offline_guard_refuses_connections() -> None:
    with (
        pipeline.offline(),
        socket.socket() as sock,
        pytest.raises(RuntimeError, match="network access"),
    ):
        sock.connect(("127.0.0.1", 9))


def test_offline_guard_hides_aws_profile_and_restores_env(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_PROFILE", "someone-elses-profile")
    original_connect = socket.socket.connect
    with pipeline.offline():
        assert socket.socket.connect is not original_connect
        assert "AWS_PROFILE" not in os.environ
        assert os.environ["AWS_CONFIG_FILE"] == os.devnull
    assert os.environ["AWS_PROFILE"] == "someone-elses-profile"
    assert socket.socket.connect is original_connect


def test_cli_writes_then_checks(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "out" / "definition.json"
    assert pipeline.main(["--output", str(target)]) == 0
    assert pipeline.main(["--output", str(target), "--check"]) == 0
    target.write_text("{}\n", encoding="utf-8")
    assert pipeline.main(["--output", str(target), "--check"]) == 1
    assert "make definitions" in capsys.readouterr().err
