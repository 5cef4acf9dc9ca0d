"""Step executors of the local SageMaker executor, one class per step type, from a registry.

The shape of the sagemaker SDK's local mode (``sagemaker/local/pipeline.py``): a
``_StepExecutorFactory`` picks the ``_StepExecutor`` subclass for a step's type, whose
``execute()`` returns the step's properties. Here ``STEP_EXECUTORS`` maps the definition's
``Type`` to the class; a type with no executor fails the step with a ValidationError. Each
executor turns its step's resolved arguments into jobs for the runners (``jobs.py``) and
answers the properties later steps read (``ProcessingOutputConfig...``,
``TrainingJobSummaries[0]...``) and the metadata ``ListPipelineExecutionSteps`` shows.
"""

from __future__ import annotations

import json
import shutil
import tarfile
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

from emulator.sagemaker_executor import conditions, tuning
from emulator.sagemaker_executor.definition import (
    CONDITION_TYPE,
    DefinitionError,
    Resolver,
    StepFailure,
    StepStopped,
    branch_step_names,
    get_property,
    own_arguments,
)
from emulator.sagemaker_executor.jobs import (
    DEFAULT_MAX_RUNTIME_SECONDS,
    FAILURE_REASON_MAX,
    ProcessingJobRunner,
    S3Transfer,
    TrainingCode,
    TrainingJobRunner,
    decode_hyperparameter,
    job_python,
    map_container_path,
    slug,
    truncate,
)
from emulator.sagemaker_executor.ports import JobRecords

StepResult = tuple[dict[str, Any], dict[str, Any]]  # (properties, metadata)


@dataclass
class StepContext:
    """What a step executor may use of its pipeline execution."""

    execution_id: str
    directory: Path  # <workdir>/<execution id>
    resolver: Resolver
    records: JobRecords  # the step's own jobs, created as the pipeline's role
    #: Training jobs of a tuning job: the tuning service creates them itself (with the
    #: tuning job's RoleArn passed on), not the pipeline's role.
    tuning_records: JobRecords
    storage_for: Callable[[str], S3Transfer]  # a job's S3 access, given the job's RoleArn
    event: Callable[..., None]  # event(kind, **fields): progress for the on_event callback
    should_stop: Callable[[], bool]
    python: str
    max_workers: int
    tuning_seed: int | None
    #: skip(names): these steps (and every step waiting for them) must never start, as a
    #: Condition step's untaken branch.
    skip: Callable[[Iterable[str]], None] = lambda _names: None


class StepExecutor(ABC):
    """Executes one step of one type (the SDK's ``_StepExecutor``)."""

    step_type: ClassVar[str]

    def __init__(self, context: StepContext, step: Mapping[str, Any]) -> None:
        self.context = context
        self.step = step
        self.name = str(step["Name"])

    def own_arguments(self) -> dict[str, Any]:
        """The part of the step's ``Arguments`` resolved before ``execute``: all of it, but a
        Condition step's branches, which reference steps that have not run."""
        return own_arguments(self.step)

    @abstractmethod
    def execute(self, arguments: dict[str, Any]) -> StepResult:
        """Run the step with its resolved ``Arguments``; answer (properties, metadata)."""


class ProcessingStepExecutor(StepExecutor):
    """``Type: Processing``: one processing job, then the step's PropertyFiles."""

    step_type = "Processing"

    def execute(self, arguments: dict[str, Any]) -> StepResult:
        context, name = self.context, self.name
        job_name = (
            f"pipelines-{slug(context.execution_id, 12)}-{slug(name, 20)}-{uuid.uuid4().hex[:8]}"
        )
        job_dir = context.directory / name
        shutil.rmtree(job_dir, ignore_errors=True)
        runner = ProcessingJobRunner(
            context.records,
            context.storage_for(str(arguments["RoleArn"])),
            context.python,
            context.should_stop,
        )
        try:
            job_arn, root = runner.run(job_name, arguments, job_dir)
        except StepFailure as error:
            if runner.job_arn:
                # The failed step still names its job, whose ExitMessage holds the script's words.
                error.metadata = {"ProcessingJob": {"Arn": runner.job_arn}}
            raise
        outputs = (arguments.get("ProcessingOutputConfig") or {}).get("Outputs") or []
        for spec in self.step.get("PropertyFiles") or []:
            output = get_property(outputs, [spec["OutputName"]], f"{name}.PropertyFiles")
            path = Path(map_container_path(output["S3Output"]["LocalPath"], root))
            document = path / spec["FilePath"]
            try:
                parsed = json.loads(document.read_text(encoding="utf-8"))
            except (OSError, ValueError) as error:
                failure = StepFailure(
                    f"ClientError: property file {spec['PropertyFileName']}: {error}"
                )
                failure.metadata = {"ProcessingJob": {"Arn": job_arn}}
                raise failure from None
            context.resolver.property_files[(name, spec["PropertyFileName"])] = parsed
        properties = {
            **arguments,
            "ProcessingJobName": job_name,
            "ProcessingJobArn": job_arn,
            "ProcessingJobStatus": "Completed",
        }
        return properties, {"ProcessingJob": {"Arn": job_arn}}


class TuningStepExecutor(StepExecutor):
    """``Type: Tuning``: an optuna search whose trials are real training jobs (tuning.py)."""

    step_type = "Tuning"

    def execute(self, arguments: dict[str, Any]) -> StepResult:
        context, name = self.context, self.name
        if "TrainingJobDefinitions" in arguments or "TrainingJobDefinition" not in arguments:
            raise DefinitionError("ValidationError: only one TrainingJobDefinition is supported")
        config = arguments["HyperParameterTuningJobConfig"]
        definition = arguments["TrainingJobDefinition"]
        objective = config["HyperParameterTuningJobObjective"]
        minimize = objective["Type"] == "Minimize"
        limits = config["ResourceLimits"]
        max_jobs = int(limits["MaxNumberOfTrainingJobs"])
        max_parallel = min(int(limits["MaxParallelTrainingJobs"]), context.max_workers)
        try:
            specs = tuning.parse_parameter_ranges(config.get("ParameterRanges") or {})
        except tuning.TuningConfigError as error:
            raise DefinitionError(f"ValidationError: {error}") from None
        try:
            # The service's reading of the objective (built-in table for the XGBoost image,
            # MetricDefinitions refused there): see tuning.py, "objective metric".
            metric_regexes = tuning.objective_metric_regexes(
                definition["AlgorithmSpecification"], objective
            )
        except tuning.TuningConfigError as error:
            raise DefinitionError(str(error)) from None
        static = {
            str(k): str(v) for k, v in (definition.get("StaticHyperParameters") or {}).items()
        }
        decoded = {k: decode_hyperparameter(v) for k, v in static.items()}
        if "sagemaker_submit_directory" not in decoded or "sagemaker_program" not in decoded:
            raise DefinitionError(
                "ValidationError: script mode needs sagemaker_submit_directory and "
                "sagemaker_program hyperparameters"
            )

        tuning_name = (
            f"{slug(name, 11).lower()}-{slug(context.execution_id, 12)}-{uuid.uuid4().hex[:6]}"
        )
        job_dir = context.directory / name
        shutil.rmtree(job_dir, ignore_errors=True)
        storage = context.storage_for(str(definition["RoleArn"]))
        image = (definition.get("AlgorithmSpecification") or {}).get("TrainingImage")
        python = job_python(image, context.python)
        code = self.stage_code(storage, job_dir, definition, static, decoded, metric_regexes)

        tuning_arn = self.create_tuning_job(tuning_name, config, definition)
        trainer = TrainingJobRunner(context.tuning_records, storage, python, context.should_stop)

        def run_trial(number: int, params: dict[str, str]) -> tuple[float | None, dict[str, Any]]:
            job_name = f"{tuning_name}-{number + 1:03d}-{uuid.uuid4().hex[:8]}"
            info = trainer.run(job_name, code, params, job_dir / "jobs" / job_name, tuning_arn)
            if info["status"] != "Completed":
                return None, info
            value = info["metrics"].get(objective["MetricName"])
            if value is None:
                # The job completed but its objective did not (SageMaker: ObjectiveStatus Failed).
                info["failure_reason"] = f"objective {objective['MetricName']} not in the logs"
            return value, info

        def on_trial(result: tuning.TrialResult) -> None:
            context.event(
                "trial_finished",
                step=name,
                trial=result.number + 1,
                of=max_jobs,
                training_job_name=result.info.get("training_job_name"),
                params=result.params,
                objective=result.objective,
                objective_metric=objective["MetricName"],
                status=result.info.get("status", "Failed"),
                failure_reason=result.info.get("failure_reason") or result.info.get("error"),
            )

        try:
            results = tuning.run_search(
                specs,
                run_trial,
                minimize=minimize,
                max_jobs=max_jobs,
                max_parallel=max_parallel,
                strategy=str(config.get("Strategy", "Bayesian")),
                should_stop=context.should_stop,
                on_trial=on_trial,
                seed=context.tuning_seed,
            )
        except tuning.TuningConfigError as error:
            self.finish_tuning_job(tuning_name, "Failed", [], [], reason=str(error))
            raise DefinitionError(f"ValidationError: {error}") from None
        best_first = tuning.ranked(results, minimize=minimize)
        summaries = [summary(r, tuning_name, objective) for r in best_first]
        if context.should_stop():
            self.finish_tuning_job(tuning_name, "Stopped", results, summaries)
            raise StepStopped()
        if not summaries:
            last = results[-1].info if results else {}
            detail = last.get("failure_reason") or last.get("error") or "no training job ran"
            reason = f"AlgorithmError: all {len(results)} training job(s) failed; last: {detail}"
            self.finish_tuning_job(tuning_name, "Failed", results, summaries, reason=reason)
            raise StepFailure(reason)
        self.finish_tuning_job(tuning_name, "Completed", results, summaries)
        properties = {
            "HyperParameterTuningJobName": tuning_name,
            "HyperParameterTuningJobArn": tuning_arn,
            "HyperParameterTuningJobStatus": "Completed",
            "HyperParameterTuningJobConfig": config,
            "TrainingJobDefinition": definition,
            "BestTrainingJob": summaries[0],
            "TrainingJobSummaries": summaries,
        }
        return properties, {"TuningJob": {"Arn": tuning_arn}}

    def stage_code(
        self,
        storage: S3Transfer,
        job_dir: Path,
        definition: Mapping[str, Any],
        static: Mapping[str, str],
        decoded: Mapping[str, str],
        metric_regexes: Mapping[str, str],
    ) -> TrainingCode:
        """Download the source directory and the channels every training job shares."""
        code_dir = job_dir / "code"
        archive = storage.download(decoded["sagemaker_submit_directory"], job_dir / "sourcedir")
        for path in archive:
            try:
                with tarfile.open(path, "r:*") as tar:
                    tar.extractall(code_dir, filter="data")
            except (tarfile.TarError, OSError) as error:
                raise StepFailure(f"ClientError: cannot extract {path.name}: {error}") from None
        program = code_dir / decoded["sagemaker_program"]
        if not program.is_file():
            raise StepFailure(
                f"ClientError: {decoded['sagemaker_program']} is not in the source directory"
            )
        channels: dict[str, Path] = {}
        for channel in definition.get("InputDataConfig") or []:
            source = channel["DataSource"]["S3DataSource"]
            local = job_dir / "input" / "data" / channel["ChannelName"]
            storage.download(str(source["S3Uri"]), local)
            channels[channel["ChannelName"]] = local
        return TrainingCode(
            program=program,
            code_dir=code_dir,
            channels=channels,
            definition=definition,
            static=static,
            script_hyperparameters={
                k: v for k, v in decoded.items() if not k.startswith("sagemaker_")
            },
            metric_regexes=metric_regexes,
            output_path=str(definition["OutputDataConfig"]["S3OutputPath"]).rstrip("/"),
            runtime=float(
                (definition.get("StoppingCondition") or {}).get(
                    "MaxRuntimeInSeconds", DEFAULT_MAX_RUNTIME_SECONDS
                )
            ),
        )

    def create_tuning_job(
        self, name: str, config: dict[str, Any], definition: dict[str, Any]
    ) -> str:
        now = datetime.now(UTC)
        return self.context.records.create(
            "HyperParameterTuningJob",
            {
                "HyperParameterTuningJobName": name,
                "HyperParameterTuningJobConfig": config,
                "TrainingJobDefinition": definition,
            },
            {
                "HyperParameterTuningJobStatus": "InProgress",
                "CreationTime": now,
                "LastModifiedTime": now,
                "HyperParameterTuningEndTime": None,
                "BestTrainingJob": None,
                "OverallBestTrainingJob": None,
                "FailureReason": None,
                "TuningJobCompletionDetails": None,
                "ConsumedResources": None,
                "TrainingJobStatusCounters": dict.fromkeys(
                    ("Completed", "InProgress", "RetryableError", "NonRetryableError", "Stopped"),
                    0,
                ),
                "ObjectiveStatusCounters": dict.fromkeys(("Succeeded", "Pending", "Failed"), 0),
            },
        )

    def finish_tuning_job(
        self,
        name: str,
        status: str,
        results: list[tuning.TrialResult],
        summaries: list[dict[str, Any]],
        reason: str | None = None,
    ) -> None:
        statuses = [r.info.get("status", "Failed") for r in results]
        best = summaries[0] if summaries else None
        self.context.records.update(
            "HyperParameterTuningJob",
            name,
            {
                "HyperParameterTuningJobStatus": status,
                "LastModifiedTime": datetime.now(UTC),
                "HyperParameterTuningEndTime": datetime.now(UTC),
                "BestTrainingJob": best,
                "OverallBestTrainingJob": best,
                "FailureReason": None if reason is None else truncate(reason, FAILURE_REASON_MAX),
                "TrainingJobStatusCounters": {
                    "Completed": statuses.count("Completed"),
                    "InProgress": 0,
                    "RetryableError": 0,
                    "NonRetryableError": statuses.count("Failed"),
                    "Stopped": statuses.count("Stopped"),
                },
                "ObjectiveStatusCounters": {
                    "Succeeded": len(summaries),
                    "Pending": 0,
                    "Failed": len(results) - len(summaries),
                },
            },
        )


class ConditionStepExecutor(StepExecutor):
    """``Type: Condition``: evaluate ``Conditions``, run one branch, never start the other.

    SageMaker developer guide, Condition step
    (https://docs.aws.amazon.com/sagemaker/latest/dg/build-and-manage-steps.html#step-type-condition):
    IfSteps run when every condition is true, ElseSteps otherwise. The step's property is
    ``Outcome`` (the SDK's ``ConditionStep.properties``) and ``ListPipelineExecutionSteps``
    shows ``Metadata.Condition.Outcome`` "True" or "False" (botocore ``ConditionStepMetadata``,
    ``ConditionOutcome`` enum). The untaken branch's steps are never started, so they do not
    appear in ``ListPipelineExecutionSteps`` (which lists step executions), and neither does
    any step that waits for one of them (the SDK's local mode blocks the same sub-graph).
    """

    step_type = CONDITION_TYPE

    def execute(self, arguments: dict[str, Any]) -> StepResult:
        outcome = conditions.evaluate_all(arguments["Conditions"])
        untaken = "ElseSteps" if outcome else "IfSteps"
        self.context.skip(branch_step_names(self.step, untaken))
        text = "True" if outcome else "False"
        return {"Outcome": outcome}, {"Condition": {"Outcome": text}}


def summary(
    result: tuning.TrialResult, tuning_name: str, objective: Mapping[str, Any]
) -> dict[str, Any]:
    """A ``HyperParameterTrainingJobSummary`` as AWS returns it."""
    return {
        "TrainingJobName": result.info["training_job_name"],
        "TrainingJobArn": result.info["training_job_arn"],
        "TuningJobName": tuning_name,
        "CreationTime": result.info["started"],
        "TrainingStartTime": result.info["started"],
        "TrainingEndTime": result.info["ended"],
        "TrainingJobStatus": "Completed",
        "TunedHyperParameters": dict(result.params),
        "FinalHyperParameterTuningJobObjectiveMetric": {
            "Type": objective["Type"],
            "MetricName": objective["MetricName"],
            "Value": result.objective,
        },
        "ObjectiveStatus": "Succeeded",
    }


#: Step type (the definition's ``Type``) -> its executor: the one place a step type is named.
STEP_EXECUTORS: Mapping[str, type[StepExecutor]] = {
    cls.step_type: cls
    for cls in (ProcessingStepExecutor, TuningStepExecutor, ConditionStepExecutor)
}


def executor_for(context: StepContext, step: Mapping[str, Any]) -> StepExecutor:
    """The executor of ``step``'s type (the SDK's ``_StepExecutorFactory.get``)."""
    kind = step.get("Type")
    cls = STEP_EXECUTORS.get(str(kind))
    if cls is None:
        raise DefinitionError(f"ValidationError: step type {kind!r} is not supported locally")
    return cls(context, step)
