"""The local SageMaker pipeline executor runs the real pipeline definition against moto.

The committed ``ml/pipeline_definition.json`` is rendered like Terraform does, the real scripts
are staged in the emulated S3, and the executor (registered as moto's pipeline runner) runs
PrepareData, the CheckProblemType condition, then the branch it picks (binary or multiclass):
a small optuna search over the real ``train.py`` and the evaluation, as subprocesses.
The tuner's pure pieces (metric reading, the search) are tested first; the definition's and the
job runners' pure pieces are in tests/unit/test_sagemaker_{definition,jobs}.py.
"""

from __future__ import annotations

import copy
import csv
import io
import json
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from contracts import s3_layout
from devtools.build import SOURCEDIR_FILES, tar_gz
from emulator.aws import sagemaker as aws_sagemaker
from emulator.containers import interpreters
from emulator.runner import local_pipeline_executor
from emulator.sagemaker_executor import tuning
from emulator.sagemaker_executor.definition import StepGraph
from tests.helpers import datasets
from tests.helpers.pipeline_definition import (
    BUCKET,
    REGION,
    ROLE_ARN,
    ROLE_NAME,
    SAGEMAKER_TRUST,
    VALUES,
    rendered_text,
    sagemaker_policy,
    stage_code_bundles,
)
from tests.helpers.pipeline_definition import rendered_definition as _definition

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
IRIS = ROOT / "data" / "raw" / "iris.csv"
IRIS_LABEL = "Species"
PIPELINE = "local-executor"
DEADLINE_SECONDS = 90
TUNE_MULTICLASS = "TuneXGBoostMulticlass"
EVALUATE_MULTICLASS = "EvaluateModelMulticlass"


def _definition_step(definition: dict[str, Any], name: str) -> dict[str, Any]:
    """A step of the definition by name, a Condition step's branches included (the same dict,
    so a test may change it in place)."""
    return next(s for s in StepGraph.of(definition["Steps"]).steps if s["Name"] == name)


def test_last_metric_takes_the_last_match() -> None:
    regex = tuning.XGBOOST_BUILTIN_METRICS["validation:mlogloss"].regex
    logs = "[0]#011validation-mlogloss:0.9\nnoise\n[7]#011validation-mlogloss:1.5e-2\n"
    assert tuning.last_metric(regex, logs) == pytest.approx(0.015)
    assert tuning.last_metric(regex, "nothing here") is None


# The tuner reads the objective the service's way for this image.
XGBOOST_LOG = (
    "[0]\ttrain-merror:0.05000\ttrain-mlogloss:0.74\tvalidation-merror:0.06667"
    "\tvalidation-mlogloss:0.75123\n"
    "[1]\ttrain-merror:0.03000\ttrain-mlogloss:0.52\tvalidation-merror:0.03333"
    "\tvalidation-mlogloss:0.54321\n"
)


def test_log_is_read_as_cloudwatch_shows_it() -> None:
    assert tuning.cloudwatch_log_text("[1]\ta\tb\n") == "[1]#011a#011b\n"
    definition = _definition_step(_definition(), TUNE_MULTICLASS)["Arguments"]
    regexes = tuning.objective_metric_regexes(
        definition["TrainingJobDefinition"]["AlgorithmSpecification"],
        definition["HyperParameterTuningJobConfig"]["HyperParameterTuningJobObjective"],
    )
    assert regexes["validation:mlogloss"] == r".*\[[0-9]+\].*#011validation-mlogloss:(\S+)"
    metrics = tuning.read_metrics(regexes, XGBOOST_LOG)
    assert metrics["validation:mlogloss"] == pytest.approx(0.54321)
    # `(\S+)` runs over the following "#011...": a metric that is not last on its line is no
    # number to the service (hence train.py lists mlogloss last).
    assert "validation:merror" not in metrics
    # Our old line format is invisible to the service's regex.
    assert tuning.read_metrics(regexes, "validation:mlogloss=0.1;\n") == {}


def test_metric_definitions_are_refused_for_the_xgboost_image() -> None:
    algorithm = {
        "TrainingImage": VALUES["xgboost_image_uri"],
        "MetricDefinitions": [{"Name": "validation:mlogloss", "Regex": "mlogloss=(\\S+)"}],
    }
    objective = {"MetricName": "validation:mlogloss", "Type": "Minimize"}
    with pytest.raises(tuning.TuningConfigError, match="ValidationException: MetricDefinitions"):
        tuning.objective_metric_regexes(algorithm, objective)
    with pytest.raises(tuning.TuningConfigError, match="not a metric of the XGBoost image"):
        tuning.objective_metric_regexes(
            {"TrainingImage": VALUES["xgboost_image_uri"]}, {"MetricName": "rmse"}
        )
    # A bring-your-own image still needs MetricDefinitions for its objective.
    custom = {"TrainingImage": "123456789012.dkr.ecr.us-east-1.amazonaws.com/mine:1"}
    with pytest.raises(tuning.TuningConfigError, match="no MetricDefinition"):
        tuning.objective_metric_regexes(custom, objective)


def test_search_space_comes_from_the_definition_ranges() -> None:
    ranges = _definition_step(_definition(), TUNE_MULTICLASS)["Arguments"][
        "HyperParameterTuningJobConfig"
    ]["ParameterRanges"]
    specs = {spec.name: spec for spec in tuning.parse_parameter_ranges(ranges)}
    assert (specs["max_depth"].kind, specs["max_depth"].low, specs["max_depth"].high) == (
        "Integer",
        3,
        10,
    )
    assert specs["eta"].kind == "Continuous" and specs["num_round"].high == 150
    with pytest.raises(tuning.TuningConfigError, match="Logarithmic"):
        tuning.parse_parameter_ranges(
            {
                "ContinuousParameterRanges": [
                    {"Name": "x", "MinValue": "0", "MaxValue": "1", "ScalingType": "Logarithmic"}
                ]
            }
        )


def test_search_respects_budget_parallelism_and_stop() -> None:
    specs = tuning.parse_parameter_ranges(
        {
            "ContinuousParameterRanges": [
                {"Name": "x", "MinValue": "-5", "MaxValue": "5", "ScalingType": "Linear"}
            ],
            "IntegerParameterRanges": [{"Name": "n", "MinValue": "1", "MaxValue": "4"}],
        }
    )
    lock = threading.Lock()
    active = {"now": 0, "max": 0}

    def trial(number: int, params: dict[str, str]) -> tuple[float | None, dict[str, Any]]:
        with lock:
            active["now"] += 1
            active["max"] = max(active["max"], active["now"])
        time.sleep(0.02)
        with lock:
            active["now"] -= 1
        if number == 1:
            return None, {"error": "boom"}  # a failed job is recorded, not fatal
        x, n = float(params["x"]), int(params["n"])
        assert -5 <= x <= 5 and 1 <= n <= 4
        return (x - 1.0) ** 2 + n, {}

    results = tuning.run_search(specs, trial, minimize=True, max_jobs=8, max_parallel=3, seed=7)
    assert len(results) == 8 and sorted(r.number for r in results) == list(range(8))
    assert active["max"] <= 3
    best = tuning.ranked(results, minimize=True)
    objectives = [r.objective for r in best if r.objective is not None]
    assert len(objectives) == 7 and best[0].objective == min(objectives)

    stopped = tuning.run_search(
        specs, trial, minimize=True, max_jobs=8, max_parallel=1, should_stop=lambda: True
    )
    assert stopped == []


# --------------------------------------------------------------------------- against moto


@pytest.fixture
def stack(emulator: None, tmp_path: Path) -> Iterator[dict[str, Any]]:
    """Bucket with code and data, the pipeline created from the rendered definition."""
    s3: Any = boto3.client("s3", region_name=REGION)
    sm: Any = boto3.client("sagemaker", region_name=REGION)
    iam: Any = boto3.client("iam", region_name=REGION)
    # The pipeline and its jobs run as the SageMaker role, with the S3, SageMaker and
    # iam:PassRole permissions terraform/iam.tf gives it.
    iam.create_role(RoleName=ROLE_NAME, AssumeRolePolicyDocument=json.dumps(SAGEMAKER_TRUST))
    _put_role_policy(iam, sagemaker_policy())
    s3.create_bucket(Bucket=BUCKET)
    stage_code_bundles(s3)
    # As devtools/build.py builds it: train.py and the contracts package it imports.
    s3.put_object(Bucket=BUCKET, Key="code/sourcedir.tar.gz", Body=tar_gz(SOURCEDIR_FILES))
    s3.put_object(Bucket=BUCKET, Key="data/raw/iris.csv", Body=IRIS.read_bytes())
    # What ChampionModelUri names when nothing serves: Terraform keeps a marker object there,
    # since a processing input must name at least one object.
    s3.put_object(Bucket=BUCKET, Key=f"{s3_layout.NO_CHAMPION_PREFIX}README", Body=b"none\n")
    sm.create_pipeline(
        PipelineName=PIPELINE,
        PipelineDefinition=rendered_text(),
        RoleArn=ROLE_ARN,
    )
    events: list[dict[str, Any]] = []
    executor = local_pipeline_executor(
        tmp_path / "work", endpoint_url=None, on_event=events.append, tuning_seed=1
    )
    aws_sagemaker.set_pipeline_runner(executor)
    yield {
        "s3": s3,
        "sm": sm,
        "iam": iam,
        "events": events,
        "executor": executor,
        "workdir": tmp_path,
    }
    # Let a still-running execution finish before moto's mock goes away under it.
    assert executor.join(timeout=DEADLINE_SECONDS)


def _put_role_policy(iam: Any, policy: dict[str, Any]) -> None:
    iam.put_role_policy(
        RoleName=ROLE_NAME, PolicyName="sagemaker", PolicyDocument=json.dumps(policy)
    )


def _start(sm: Any, pipeline: str = PIPELINE, **parameters: str) -> str:
    """Start ``pipeline``; the real one gets the iris label unless the test names another (the
    state machine always passes LabelColumn, FeatureColumns and ClassOrder)."""
    if pipeline == PIPELINE:
        parameters = {"LabelColumn": IRIS_LABEL, **parameters}
    return str(
        sm.start_pipeline_execution(
            PipelineName=pipeline,
            PipelineParameters=[{"Name": k, "Value": v} for k, v in parameters.items()],
        )["PipelineExecutionArn"]
    )


def _wait(sm: Any, arn: str) -> dict[str, Any]:
    deadline = time.monotonic() + DEADLINE_SECONDS
    while time.monotonic() < deadline:
        described = sm.describe_pipeline_execution(PipelineExecutionArn=arn)
        if described["PipelineExecutionStatus"] in {"Succeeded", "Failed", "Stopped"}:
            return dict(described)
        time.sleep(0.2)
    raise AssertionError(f"pipeline execution {arn} did not finish in {DEADLINE_SECONDS}s")


def _steps(sm: Any, arn: str) -> dict[str, dict[str, Any]]:
    listed = sm.list_pipeline_execution_steps(PipelineExecutionArn=arn)["PipelineExecutionSteps"]
    return {step["StepName"]: step for step in listed}


def _contract(s3: Any, execution_id: str) -> dict[str, Any]:
    key = f"pipelines/{execution_id}/prepare/contract/contract.json"
    return dict(json.loads(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()))


def _container_xgboost_version() -> str:
    python = interpreters.xgboost17_python()
    answer = subprocess.run(
        [str(python), "-c", "import xgboost; print(xgboost.__version__)"],
        capture_output=True,
        text=True,
        check=True,
    )
    version = answer.stdout.strip()
    assert version.startswith("1.7."), version
    return version


def test_pipeline_runs_prepare_tune_evaluate(stack: dict[str, Any]) -> None:
    """Iris (3 classes): CheckProblemType is False, the multiclass branch runs, the binary
    branch never starts."""
    s3, sm, events = stack["s3"], stack["sm"], stack["events"]
    arn = _start(sm, MaxTuningJobs="3", MaxParallelTuningJobs="2")
    execution_id = arn.rsplit("/", 1)[-1]

    described = _wait(sm, arn)
    assert described["PipelineExecutionStatus"] == "Succeeded", described.get("FailureReason")
    steps = _steps(sm, arn)
    assert {name: s["StepStatus"] for name, s in steps.items()} == {
        "PrepareData": "Succeeded",
        "CheckProblemType": "Succeeded",
        TUNE_MULTICLASS: "Succeeded",
        EVALUATE_MULTICLASS: "Succeeded",
    }
    assert steps["CheckProblemType"]["Metadata"] == {"Condition": {"Outcome": "False"}}
    contract = _contract(s3, execution_id)
    assert (contract["num_classes"], contract["label_column"]) == (3, IRIS_LABEL)

    report = json.loads(
        s3.get_object(Bucket=BUCKET, Key=f"evaluation/{execution_id}/evaluation.json")[
            "Body"
        ].read()
    )
    assert report["multiclass_classification_metrics"]["accuracy"]["value"] >= 0.9
    assert "binary_classification_metrics" not in report
    assert report["row_counts"] == {"train": 90, "validation": 30, "test": 30}
    assert report["dataset_contract"] == contract
    # The run report, beside evaluation.json, rendered in the evaluation step under the image's
    # jinja2 and matplotlib (the container's interpreter).
    page = (
        s3.get_object(Bucket=BUCKET, Key=f"evaluation/{execution_id}/report.html")["Body"]
        .read()
        .decode("utf-8")
    )
    assert page.startswith("<!DOCTYPE html>")
    assert 'data-section="confusion-matrix"' in page and "validation:mlogloss" in page
    assert "matplotlib 3.4.1" in page, "rendered by the container's matplotlib"
    # Jobs on the XGBoost 1.7-1 image train and evaluate under the container's xgboost, the one
    # that serves the model (emulator/containers/interpreters.py): never the emulator's own.
    container_xgboost = _container_xgboost_version()
    assert report["model"]["trained_with_xgboost_version"] == container_xgboost
    assert report["xgboost_version"] == container_xgboost
    # The drift baseline: prepare.py's (from its code bundle), completed by evaluate.py beside
    # the report with the predicted classes on the test split.
    monitoring = json.loads(
        s3.get_object(Bucket=BUCKET, Key=f"evaluation/{execution_id}/baseline.json")["Body"].read()
    )
    assert monitoring["feature_columns"] == contract["feature_columns"]
    assert monitoring["source"]["rows"] == 90 and monitoring["predictions"]["rows"] == 30

    trials = [e for e in events if e["type"] == "trial_finished"]
    assert len(trials) == 3 and all(t["status"] == "Completed" for t in trials)
    best_trial = min(trials, key=lambda t: t["objective"])

    tuning_arn = steps[TUNE_MULTICLASS]["Metadata"]["TuningJob"]["Arn"]
    tuning_job = sm.describe_hyper_parameter_tuning_job(
        HyperParameterTuningJobName=tuning_arn.rsplit("/", 1)[-1]
    )
    assert tuning_job["HyperParameterTuningJobStatus"] == "Completed"
    assert tuning_job["TrainingJobStatusCounters"]["Completed"] == 3
    best = tuning_job["BestTrainingJob"]
    assert best["TrainingJobName"] == best_trial["training_job_name"]
    assert best["TunedHyperParameters"] == best_trial["params"]
    assert best["FinalHyperParameterTuningJobObjectiveMetric"]["MetricName"] == (
        "validation:mlogloss"
    )
    assert best["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] == pytest.approx(
        best_trial["objective"]
    )
    assert len(best["TrainingJobName"]) <= 63
    assert report["model"]["training_job_name"] == best["TrainingJobName"]
    assert report["model"]["artifact_uri"] == (
        f"s3://{BUCKET}/models/{execution_id}/training/{best['TrainingJobName']}"
        "/output/model.tar.gz"
    )

    training_job = sm.describe_training_job(TrainingJobName=best["TrainingJobName"])
    assert training_job["TrainingJobStatus"] == "Completed"
    assert training_job["ModelArtifacts"]["S3ModelArtifacts"] == report["model"]["artifact_uri"]
    metrics = {m["MetricName"]: m["Value"] for m in training_job["FinalMetricDataList"]}
    assert metrics["validation:mlogloss"] == pytest.approx(best_trial["objective"])
    for trial in trials:
        key = f"models/{execution_id}/training/{trial['training_job_name']}/output/model.tar.gz"
        assert s3.head_object(Bucket=BUCKET, Key=key)["ContentLength"] > 0

    prepare_arn = steps["PrepareData"]["Metadata"]["ProcessingJob"]["Arn"]
    prepare_job = sm.describe_processing_job(ProcessingJobName=prepare_arn.rsplit("/", 1)[-1])
    assert prepare_job["ProcessingJobStatus"] == "Completed"
    assert [e["step"] for e in events if e["type"] == "step_started"] == [
        "PrepareData",
        "CheckProblemType",
        TUNE_MULTICLASS,
        EVALUATE_MULTICLASS,
    ]
    assert (stack["workdir"] / "work" / execution_id / "PrepareData" / "stderr.log").is_file()


def test_a_binary_dataset_takes_the_binary_branch(stack: dict[str, Any]) -> None:
    """Two classes ─► CheckProblemType True ─► binary:logistic tuned on
    validation:logloss, evaluated with binary_classification_metrics; nothing multiclass runs."""
    s3, sm = stack["s3"], stack["sm"]
    # scikit-learn's breast cancer set: string labels in the second column, spaces in names.
    body = datasets.breast_cancer_csv().encode()
    s3.put_object(Bucket=BUCKET, Key="data/raw/breast_cancer.csv", Body=body)
    arn = _start(
        sm,
        InputDataUri=f"s3://{BUCKET}/data/raw/breast_cancer.csv",
        LabelColumn=datasets.CANCER_LABEL,
        MaxTuningJobs="2",
        MaxParallelTuningJobs="2",
    )
    execution_id = arn.rsplit("/", 1)[-1]
    described = _wait(sm, arn)
    assert described["PipelineExecutionStatus"] == "Succeeded", described.get("FailureReason")
    steps = _steps(sm, arn)
    assert {name: s["StepStatus"] for name, s in steps.items()} == {
        "PrepareData": "Succeeded",
        "CheckProblemType": "Succeeded",
        "TuneXGBoostBinary": "Succeeded",
        "EvaluateModelBinary": "Succeeded",
    }
    assert steps["CheckProblemType"]["Metadata"] == {"Condition": {"Outcome": "True"}}

    contract = _contract(s3, execution_id)
    assert contract["num_classes"] == 2 and contract["problem_type"] == "binary"
    assert contract["class_names"] == ["benign", "malignant"]  # sorted distinct labels
    assert contract["label_column"] == datasets.CANCER_LABEL
    assert len(contract["feature_columns"]) == 30
    assert "mean radius" in contract["feature_columns"]

    tuning_arn = steps["TuneXGBoostBinary"]["Metadata"]["TuningJob"]["Arn"]
    tuning_job = sm.describe_hyper_parameter_tuning_job(
        HyperParameterTuningJobName=tuning_arn.rsplit("/", 1)[-1]
    )
    objective = tuning_job["HyperParameterTuningJobConfig"]["HyperParameterTuningJobObjective"]
    assert objective == {"Type": "Minimize", "MetricName": "validation:logloss"}
    static = tuning_job["TrainingJobDefinition"]["StaticHyperParameters"]
    assert json.loads(static["objective"]) == "binary:logistic"
    channels = [c["ChannelName"] for c in tuning_job["TrainingJobDefinition"]["InputDataConfig"]]
    assert channels == ["train", "validation", "contract"]
    best = tuning_job["BestTrainingJob"]
    assert best["FinalHyperParameterTuningJobObjectiveMetric"]["MetricName"] == (
        "validation:logloss"
    )
    training_job = sm.describe_training_job(TrainingJobName=best["TrainingJobName"])
    metrics = {m["MetricName"]: m["Value"] for m in training_job["FinalMetricDataList"]}
    assert metrics["validation:logloss"] == pytest.approx(
        best["FinalHyperParameterTuningJobObjectiveMetric"]["Value"]
    )

    report = json.loads(
        s3.get_object(Bucket=BUCKET, Key=f"evaluation/{execution_id}/evaluation.json")[
            "Body"
        ].read()
    )
    binary = report["binary_classification_metrics"]
    assert "multiclass_classification_metrics" not in report
    assert binary["accuracy"]["value"] >= 0.9
    assert {"precision", "recall", "f1", "auc", "confusion_matrix"} <= set(binary)
    assert report["dataset_contract"] == contract
    assert report["model"]["training_job_name"] == best["TrainingJobName"]


def _json(s3: Any, key: str) -> dict[str, Any]:
    return dict(json.loads(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()))


def _reordered_iris(order: list[str]) -> bytes:
    """The iris file with its columns in ``order``: the same rows, another column order."""
    rows = list(csv.DictReader(io.StringIO(IRIS.read_text(encoding="utf-8"))))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=order, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def test_a_second_run_scores_the_serving_model_beside_the_candidate(
    stack: dict[str, Any],
) -> None:
    """Run 1 trains a model; run 2, with that model as the champion (ChampionModelUri,
    ChampionPackageArn) and an upload of the same columns in another order, trains in the
    champion's feature order, scores both models on the same test split, decides the gate
    (AccuracyThreshold, ChampionMargin) and records both scores in evaluation.json and
    summary.json, the run named in the report (RunName)."""
    s3, sm = stack["s3"], stack["sm"]
    first = _start(sm, MaxTuningJobs="1", MaxParallelTuningJobs="1")
    assert _wait(sm, first)["PipelineExecutionStatus"] == "Succeeded"
    first_id = first.rsplit("/", 1)[-1]
    first_report = _json(s3, f"evaluation/{first_id}/evaluation.json")
    first_summary = _json(s3, f"evaluation/{first_id}/summary.json")
    assert "champion" not in first_report and first_summary["champion"] is None
    serving_order = first_report["dataset_contract"]["feature_columns"]

    upload_order = ["PetalWidth", IRIS_LABEL, "SepalLength", "PetalLength", "SepalWidth"]
    s3.put_object(Bucket=BUCKET, Key="data/raw/reordered.csv", Body=_reordered_iris(upload_order))
    package = "arn:aws:sagemaker:us-east-1:123456789012:model-package/models/1"
    second = _start(
        sm,
        InputDataUri=f"s3://{BUCKET}/data/raw/reordered.csv",
        MaxTuningJobs="1",
        MaxParallelTuningJobs="1",
        AccuracyThreshold="0.5",
        ChampionMargin="0.01",
        ChampionModelUri=first_report["model"]["artifact_uri"],
        ChampionPackageArn=package,
        RunName="s3-reordered-2",
    )
    described = _wait(sm, second)
    assert described["PipelineExecutionStatus"] == "Succeeded", described.get("FailureReason")
    second_id = second.rsplit("/", 1)[-1]
    # Trained (and to be served) in the champion's order, not the upload's.
    assert _contract(s3, second_id)["feature_columns"] == serving_order
    report = _json(s3, f"evaluation/{second_id}/evaluation.json")
    champion = report["champion"]
    assert (champion["model_package_arn"], champion["contract_matches"]) == (package, True)
    block = "multiclass_classification_metrics"
    # The same rows in the same test split (the split follows labels and seed): the champion
    # scores what it scored as run 1's candidate.
    assert champion["metrics"][block]["accuracy"] == first_report[block]["accuracy"]
    summary = _json(s3, f"evaluation/{second_id}/summary.json")
    candidate = report[block]["accuracy"]["value"]
    serving = first_report[block]["accuracy"]["value"]
    assert summary["candidate"]["accuracy"] == candidate
    assert summary["champion"] == {
        "model_package_arn": package,
        "accuracy": serving,
        "contract_matches": True,
    }
    assert (summary["gate"]["threshold"], summary["gate"]["margin"]) == (0.5, 0.01)
    assert summary["gate"]["passed"] is (candidate >= serving - 0.01)
    page = s3.get_object(Bucket=BUCKET, Key=f"evaluation/{second_id}/report.html")["Body"]
    text = page.read().decode("utf-8")
    assert package in text and "s3-reordered-2" in text


def test_metric_definitions_for_the_xgboost_image_fail_the_tuning_step(
    stack: dict[str, Any],
) -> None:
    """The old definition (custom MetricDefinitions) is refused as the service would refuse it."""
    sm = stack["sm"]
    definition = _definition()
    algorithm = _definition_step(definition, TUNE_MULTICLASS)["Arguments"]["TrainingJobDefinition"][
        "AlgorithmSpecification"
    ]
    algorithm["MetricDefinitions"] = [
        {"Name": "validation:mlogloss", "Regex": "validation:mlogloss=([0-9.]+);"}
    ]
    sm.update_pipeline(PipelineName=PIPELINE, PipelineDefinition=json.dumps(definition))
    arn = _start(sm, MaxTuningJobs="1", MaxParallelTuningJobs="1")
    described = _wait(sm, arn)
    assert described["PipelineExecutionStatus"] == "Failed"
    step = _steps(sm, arn)[TUNE_MULTICLASS]
    assert step["StepStatus"] == "Failed"
    assert "ValidationException: MetricDefinitions cannot be set" in step["FailureReason"]
    assert not [e for e in stack["events"] if e["type"] == "trial_finished"]


def test_bad_row_fails_prepare_with_the_scripts_error(stack: dict[str, Any]) -> None:
    s3, sm = stack["s3"], stack["sm"]
    lines = IRIS.read_text(encoding="utf-8").splitlines()
    lines[5] = "5.4,abc,1.7,0.4,Iris-setosa"  # file line 6
    s3.put_object(Bucket=BUCKET, Key="data/raw/bad.csv", Body="\n".join(lines) + "\n")
    arn = _start(sm, InputDataUri=f"s3://{BUCKET}/data/raw/bad.csv")
    execution_id = arn.rsplit("/", 1)[-1]

    described = _wait(sm, arn)
    assert described["PipelineExecutionStatus"] == "Failed"
    steps = _steps(sm, arn)
    assert list(steps) == ["PrepareData"]
    # The script's words travel in the job's ExitMessage (the first 1 KB of
    # /opt/ml/output/message, byoc-metadata.html); FailureReason is SageMaker's own.
    reason = steps["PrepareData"]["FailureReason"]
    assert reason == "AlgorithmError: See job logs for more information"
    assert reason in described["FailureReason"]
    job_arn = steps["PrepareData"]["Metadata"]["ProcessingJob"]["Arn"]
    job = sm.describe_processing_job(ProcessingJobName=job_arn.rsplit("/", 1)[-1])
    assert (job["ProcessingJobStatus"], job["FailureReason"]) == ("Failed", reason)
    assert job["ExitMessage"] == (
        "DataValidationError: bad.csv line 6 (data row 5), column 'SepalWidth': value 'abc' is "
        "not a number (expected a decimal number such as 5.1)"
    )
    listed = s3.list_objects_v2(Bucket=BUCKET, Prefix="evaluation/")
    assert listed.get("KeyCount", 0) == 0
    listed = s3.list_objects_v2(Bucket=BUCKET, Prefix=f"pipelines/{execution_id}/")
    assert listed.get("KeyCount", 0) == 0


def test_stop_request_ends_tuning_early(stack: dict[str, Any]) -> None:
    sm, events = stack["sm"], stack["events"]
    arn = _start(sm, MaxTuningJobs="6", MaxParallelTuningJobs="1")
    deadline = time.monotonic() + DEADLINE_SECONDS
    while not any(e["type"] == "trial_finished" for e in events):
        assert time.monotonic() < deadline, "no trial finished in time"
        time.sleep(0.1)
    sm.stop_pipeline_execution(PipelineExecutionArn=arn, ClientRequestToken="s" * 32)

    assert _wait(sm, arn)["PipelineExecutionStatus"] == "Stopped"
    steps = _steps(sm, arn)
    assert steps[TUNE_MULTICLASS]["StepStatus"] == "Stopped"
    assert EVALUATE_MULTICLASS not in steps
    assert len([e for e in events if e["type"] == "trial_finished"]) < 6


def test_missing_input_fails_with_a_client_error(stack: dict[str, Any]) -> None:
    sm = stack["sm"]
    arn = _start(sm, InputDataUri=f"s3://{BUCKET}/data/raw/nothing-here.csv")
    described = _wait(sm, arn)
    assert described["PipelineExecutionStatus"] == "Failed"
    assert "No S3 objects found" in _steps(sm, arn)["PrepareData"]["FailureReason"]


def test_a_missing_container_interpreter_fails_the_step_before_any_job(
    stack: dict[str, Any], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    missing = tmp_path / "no-such-venv" / "bin" / "python"
    monkeypatch.setenv(interpreters.XGB17_PYTHON_ENV, str(missing))
    sm = stack["sm"]
    arn = _start(sm)
    described = _wait(sm, arn)
    assert described["PipelineExecutionStatus"] == "Failed"
    steps = _steps(sm, arn)
    assert steps["PrepareData"]["StepStatus"] == "Succeeded"  # the scikit-learn image
    reason = steps[TUNE_MULTICLASS]["FailureReason"]
    assert str(missing) in reason and "make container-envs" in reason
    assert "Metadata" not in steps[TUNE_MULTICLASS] or not steps[TUNE_MULTICLASS]["Metadata"]


# Every job's S3 access is authorised against the SageMaker role.
MODELS = "${local.bucket_arn}/models/*"


def _without_writing_models() -> dict[str, Any]:
    """terraform/iam.tf's policy with models/* left out of the write statement only (reading
    the serving model, the champion input, stays granted)."""
    policy = sagemaker_policy()
    resource = f"arn:aws:s3:::{BUCKET}/models/*"
    for statement in policy["Statement"]:
        if "s3:PutObject" in statement["Action"]:
            statement["Resource"] = [r for r in statement["Resource"] if r != resource]
    return policy


def test_training_output_needs_the_roles_models_permission(stack: dict[str, Any]) -> None:
    """The policy as it was before terraform/iam.tf let the role write models/*: tuning fails,
    named."""
    sm, s3 = stack["sm"], stack["s3"]
    _put_role_policy(stack["iam"], _without_writing_models())
    arn = _start(sm, MaxTuningJobs="1", MaxParallelTuningJobs="1")
    execution_id = arn.rsplit("/", 1)[-1]
    described = _wait(sm, arn)
    assert described["PipelineExecutionStatus"] == "Failed"
    steps = _steps(sm, arn)
    assert steps["PrepareData"]["StepStatus"] == "Succeeded"
    tune = steps[TUNE_MULTICLASS]
    assert tune["StepStatus"] == "Failed"
    assert "AccessDenied" in tune["FailureReason"] and "PutObject" in tune["FailureReason"]
    assert s3.list_objects_v2(Bucket=BUCKET, Prefix=f"models/{execution_id}/")["KeyCount"] == 0
    [trial] = [e for e in stack["events"] if e["type"] == "trial_finished"]
    job = sm.describe_training_job(TrainingJobName=trial["training_job_name"])
    assert job["TrainingJobStatus"] == "Failed"
    assert "AccessDenied" in job["FailureReason"]


def test_the_champion_input_is_read_as_the_role(stack: dict[str, Any]) -> None:
    """PrepareData reads the serving model (or the "none" marker) under models/: without the
    role's read on models/* it fails before any split is written."""
    sm, s3 = stack["sm"], stack["s3"]
    _put_role_policy(stack["iam"], sagemaker_policy(without=(MODELS,)))
    arn = _start(sm)
    assert _wait(sm, arn)["PipelineExecutionStatus"] == "Failed"
    reason = _steps(sm, arn)["PrepareData"]["FailureReason"]
    assert reason.startswith("ClientError: ") and "AccessDenied" in reason, reason
    assert "GetObject" in reason and s3_layout.NO_CHAMPION_PREFIX in reason, reason
    assert s3.list_objects_v2(Bucket=BUCKET, Prefix="pipelines/").get("KeyCount", 0) == 0


def test_jobs_read_inputs_as_the_role(stack: dict[str, Any]) -> None:
    """An input outside the role's policy (the operator can read it) fails PrepareData."""
    sm, s3 = stack["sm"], stack["s3"]
    s3.put_object(Bucket=BUCKET, Key="elsewhere/iris.csv", Body=IRIS.read_bytes())
    arn = _start(sm, InputDataUri=f"s3://{BUCKET}/elsewhere/iris.csv")
    assert _wait(sm, arn)["PipelineExecutionStatus"] == "Failed"
    reason = _steps(sm, arn)["PrepareData"]["FailureReason"]
    assert reason.startswith("ClientError: ") and "AccessDenied" in reason and "GetObject" in reason


def test_a_role_sagemaker_cannot_assume_fails_the_step(stack: dict[str, Any]) -> None:
    sm, iam = stack["sm"], stack["iam"]
    statement = {
        **SAGEMAKER_TRUST["Statement"][0],
        "Principal": {"Service": "states.amazonaws.com"},
    }
    trust = {**SAGEMAKER_TRUST, "Statement": [statement]}
    iam.update_assume_role_policy(RoleName=ROLE_NAME, PolicyDocument=json.dumps(trust))
    arn = _start(sm)
    described = _wait(sm, arn)
    assert described["PipelineExecutionStatus"] == "Failed"
    # The pipeline's own role is the one SageMaker cannot assume here: nothing runs at all.
    reason = described["FailureReason"]
    assert reason.startswith(f"ValidationException: Could not assume role {ROLE_ARN}.")
    assert sm.list_processing_jobs()["ProcessingJobSummaries"] == []


# The pipeline's own calls are made as the pipeline's RoleArn, so terraform/iam.tf's
# RunPipelineJobs and PassSelfToJobs statements decide, as on AWS.


@pytest.mark.parametrize(
    "missing",
    ["sagemaker:CreateProcessingJob", "iam:PassRole"],
)
def test_the_pipeline_creates_its_jobs_as_the_pipeline_role(
    stack: dict[str, Any], missing: str
) -> None:
    sm = stack["sm"]
    _put_role_policy(stack["iam"], sagemaker_policy(without_actions=(missing,)))
    arn = _start(sm)
    assert _wait(sm, arn)["PipelineExecutionStatus"] == "Failed"
    reason = _steps(sm, arn)["PrepareData"]["FailureReason"]
    assert reason.startswith("AccessDeniedException: User: arn:aws:sts::"), reason
    assert f"assumed-role/{ROLE_NAME}/" in reason
    assert f"is not authorized to perform: {missing}" in reason
    assert sm.list_processing_jobs()["ProcessingJobSummaries"] == []


def test_the_tuning_step_needs_create_hyper_parameter_tuning_job(stack: dict[str, Any]) -> None:
    sm = stack["sm"]
    missing = "sagemaker:CreateHyperParameterTuningJob"
    _put_role_policy(stack["iam"], sagemaker_policy(without_actions=(missing,)))
    arn = _start(sm, MaxTuningJobs="1", MaxParallelTuningJobs="1")
    assert _wait(sm, arn)["PipelineExecutionStatus"] == "Failed"
    steps = _steps(sm, arn)
    assert steps["PrepareData"]["StepStatus"] == "Succeeded"
    reason = steps[TUNE_MULTICLASS]["FailureReason"]
    assert reason.startswith("AccessDeniedException: ") and missing in reason, reason
    assert sm.list_training_jobs()["TrainingJobSummaries"] == []


# --------------------------------------------------------------------- Condition steps
# A pipeline of tiny processing steps around a Condition on a parameter: what runs, what
# ListPipelineExecutionSteps shows, with no dependency on the ML scripts. Developer guide,
# Condition step: https://docs.aws.amazon.com/sagemaker/latest/dg/build-and-manage-steps.html
# #step-type-condition; outcome metadata: botocore ConditionStepMetadata.

CONDITION_PIPELINE = "condition-only"
TINY_SCRIPT = "import pathlib, sys\npathlib.Path(sys.argv[1], sys.argv[2]).write_text('ran')\n"


def _tiny_step(name: str, **extra: Any) -> dict[str, Any]:
    """A processing step (the role, image and cluster of the real PrepareData) whose script
    writes ``<name>`` to its one output."""
    prepare = _definition_step(_definition(), "PrepareData")["Arguments"]
    arguments = copy.deepcopy(prepare)
    arguments["ProcessingResources"]["ClusterConfig"].update(
        InstanceType="ml.m5.large", InstanceCount=1
    )
    arguments["AppSpecification"] = {
        "ImageUri": prepare["AppSpecification"]["ImageUri"],
        "ContainerEntrypoint": ["python3", "/opt/ml/processing/input/code/tiny.py"],
        "ContainerArguments": ["/opt/ml/processing/out", name],
    }
    [code] = [i for i in prepare["ProcessingInputs"] if i["InputName"] == "code"]
    code = copy.deepcopy(code)
    code["S3Input"]["S3Uri"] = f"s3://{BUCKET}/code/tiny.py"
    arguments["ProcessingInputs"] = [code]
    arguments["ProcessingOutputConfig"] = {
        "Outputs": [
            {
                "OutputName": "out",
                "AppManaged": False,
                "S3Output": {
                    "S3Uri": {
                        "Std:Join": {
                            "On": "/",
                            "Values": [
                                f"s3://{BUCKET}/pipelines",
                                {"Get": "Execution.PipelineExecutionId"},
                                name,
                            ],
                        }
                    },
                    "LocalPath": "/opt/ml/processing/out",
                    "S3UploadMode": "EndOfJob",
                },
            }
        ]
    }
    return {"Name": name, "Type": "Processing", "Arguments": arguments, **extra}


def _condition_pipeline(stack: dict[str, Any], right_value: Any = "yes") -> None:
    """Flag == right_value ? Yes : No; After waits for Yes (outside the condition)."""
    stack["s3"].put_object(Bucket=BUCKET, Key="code/tiny.py", Body=TINY_SCRIPT.encode())
    definition = {
        "Version": "2020-12-01",
        "Parameters": [{"Name": "Flag", "Type": "String", "DefaultValue": "no"}],
        "Steps": [
            {
                "Name": "Check",
                "Type": "Condition",
                "Arguments": {
                    "Conditions": [
                        {
                            "Type": "Equals",
                            "LeftValue": {"Get": "Parameters.Flag"},
                            "RightValue": right_value,
                        }
                    ],
                    "IfSteps": [_tiny_step("Yes")],
                    "ElseSteps": [_tiny_step("No")],
                },
            },
            _tiny_step("After", DependsOn=["Yes"]),
        ],
    }
    stack["sm"].create_pipeline(
        PipelineName=CONDITION_PIPELINE,
        PipelineDefinition=json.dumps(definition),
        RoleArn=ROLE_ARN,
    )


def _written(s3: Any, execution_id: str) -> set[str]:
    listed = s3.list_objects_v2(Bucket=BUCKET, Prefix=f"pipelines/{execution_id}/")
    return {item["Key"].split("/")[2] for item in listed.get("Contents", [])}


@pytest.mark.parametrize(
    ("flag", "outcome", "ran"),
    [("yes", "True", {"Yes", "After"}), ("no", "False", {"No"})],
)
def test_only_the_chosen_branch_runs_and_the_outcome_is_listed(
    stack: dict[str, Any], flag: str, outcome: str, ran: set[str]
) -> None:
    sm, s3 = stack["sm"], stack["s3"]
    _condition_pipeline(stack)
    arn = _start(sm, CONDITION_PIPELINE, Flag=flag)
    execution_id = arn.rsplit("/", 1)[-1]
    described = _wait(sm, arn)
    assert described["PipelineExecutionStatus"] == "Succeeded", described.get("FailureReason")
    steps = _steps(sm, arn)
    # The untaken branch, and After when it waits for the untaken Yes, never start: they are
    # not step executions, so ListPipelineExecutionSteps does not list them.
    assert {name: s["StepStatus"] for name, s in steps.items()} == {
        "Check": "Succeeded",
        **dict.fromkeys(ran, "Succeeded"),
    }
    assert steps["Check"]["Metadata"] == {"Condition": {"Outcome": outcome}}
    assert _written(s3, execution_id) == ran
    started = [e["step"] for e in stack["events"] if e["type"] == "step_started"]
    assert started[0] == "Check" and set(started) == {"Check", *ran}


def test_a_condition_that_cannot_be_evaluated_fails_its_step(stack: dict[str, Any]) -> None:
    """A String parameter compared with an Integer: the step fails by name, no branch runs
    (the SDK's local mode fails it the same way: "not of the same type")."""
    sm, s3 = stack["sm"], stack["s3"]
    _condition_pipeline(stack, right_value=2)
    arn = _start(sm, CONDITION_PIPELINE, Flag="2")
    described = _wait(sm, arn)
    assert described["PipelineExecutionStatus"] == "Failed"
    steps = _steps(sm, arn)
    assert list(steps) == ["Check"]
    reason = steps["Check"]["FailureReason"]
    assert reason.startswith("ValidationError: condition Equals: '2' (String) and 2 (Integer)")
    assert reason in described["FailureReason"]
    assert _written(s3, arn.rsplit("/", 1)[-1]) == set()


def test_a_feature_list_longer_than_a_container_argument_is_refused(
    stack: dict[str, Any],
) -> None:
    """FeatureColumns reaches prepare.py as one ContainerArgument, which AWS caps at 256
    characters (botocore ``ContainerArgument`` "max": 256): CreateProcessingJob refuses a
    longer list, so PrepareData fails before any job exists. The execution input must refuse
    such a list first (or name fewer columns and let prepare.py derive the rest)."""
    sm = stack["sm"]
    names = [f"a rather long feature column name {i:02d}" for i in range(8)]
    text = json.dumps(names)
    assert len(text) > 256
    arn = _start(sm, FeatureColumns=text)
    assert _wait(sm, arn)["PipelineExecutionStatus"] == "Failed"
    reason = _steps(sm, arn)["PrepareData"]["FailureReason"]
    assert reason.startswith("ValidationException"), reason
    # The 8th argument (1-based, AWS's member path): --input-dir, <dir>, --output-dir, <dir>,
    # --label-column, <label>, --feature-columns, <the list>.
    assert "at 'appSpecification.containerArguments.8.member'" in reason, reason
    assert reason.endswith("Member must have length less than or equal to 256"), reason
    assert sm.list_processing_jobs()["ProcessingJobSummaries"] == []
