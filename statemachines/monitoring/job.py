"""StartMonitor -> poll -> ReadDrift: run ``ml/monitor.py`` as a Processing job and read it.

The job's fixed shape (image, role, entry point, instance, output path) is here; what changes per
run (name, arguments, inputs, output location, run time) comes from the plan. ``ReadDrift``
(``lambdas/monitor_outcome``) reads the ended job: on success its bounded ``summary.json``,
publishing ``metric_data.json`` to CloudWatch and sending the training request on drift; on
failure why (the script's own ``MonitorInputError`` first, from the job's ExitMessage).
"""

from __future__ import annotations

from stepfunctions.steps import Choice, ChoiceRule
from stepfunctions.steps.states import State

from contracts import monitoring
from statemachines.common import EXECUTION_NAME, Ending, lambda_task, poll_loop, sagemaker_task
from statemachines.sdk_ext import Task

#: What ReadDrift answers: every key, null where it does not apply.
DRIFT_KEYS = monitoring.OUTCOME_KEYS
ENDED = ("Completed", "Failed", "Stopped")


def start_monitor(ending: Ending) -> Task:
    start = sagemaker_task(
        "StartMonitor",
        "createProcessingJob",
        {
            "ProcessingJobName.$": "$.job.name",
            "RoleArn": "${sagemaker_role_arn}",
            "AppSpecification": {
                "ImageUri": "${sklearn_image_uri}",
                "ContainerEntrypoint": [
                    "python3",
                    f"{monitoring.CODE_DIR}/{monitoring.ENTRY_POINT}",
                ],
                "ContainerArguments.$": "$.job.arguments",
            },
            "ProcessingResources": {
                "ClusterConfig": {
                    "InstanceCount": 1,
                    "InstanceType": "${monitoring_instance_type}",
                    "VolumeSizeInGB": 30,
                }
            },
            "ProcessingInputs.$": "$.job.inputs",
            "ProcessingOutputConfig": {
                "Outputs": [
                    {
                        "OutputName": "drift",
                        "S3Output": {
                            "S3Uri.$": "$.job.output_uri",
                            "LocalPath": monitoring.OUTPUT_DIR,
                            "S3UploadMode": "EndOfJob",
                        },
                    }
                ]
            },
            # SageMaker stops a job that outlives the poll budget (the plan computes it).
            "StoppingCondition": {"MaxRuntimeInSeconds.$": "$.job.max_runtime_seconds"},
        },
        comment="ml/monitor.py on the scikit-learn image: captured traffic vs the baseline.",
        result_path="$.job_arn",
        result_selector={"arn.$": "$.ProcessingJobArn"},
    )
    ending.catch_all(
        start,
        ending.caught("StartFailed", "MonitorStartFailed", "Could not start the drift job"),
    )
    return start


def read_drift(ending: Ending, judged: State) -> Task:
    read = lambda_task(
        "ReadDrift",
        "monitor_outcome_function_arn",
        {
            "run.$": "$.run",
            "job_name.$": "$.job.name",
            "status.$": "$.job_status.status",
            "execution_name.$": EXECUTION_NAME,
        },
        comment="The verdict: metrics published, a training request on drift if asked.",
        result_path="$.drift",
        result_selector={f"{key}.$": f"$.Payload.{key}" for key in DRIFT_KEYS},
    )
    ending.catch_all(
        read, ending.caught("ReadFailed", "DriftUnreadable", "Could not read the drift job")
    )
    route = Choice("DriftRoute", comment="Did the job judge the traffic?")
    job_failed = ending.fail(
        "JobFailed",
        "MonitorJobFailed",
        "$.drift.cause",
        "The drift job failed or was stopped; the cause holds its reason and message.",
        **{"endpoint.$": "$.run.endpoint"},
    )
    job_failed.parameters["error.$"] = "$.drift.error"
    del job_failed.parameters["error"]
    read.next(route)
    route.add_choice(ChoiceRule.BooleanEquals("$.drift.succeeded", True), judged)
    route.default_choice(job_failed)
    return read


def judged_outcome(ending: Ending) -> State:
    fields = {
        f"{key}.$": f"$.drift.{key}"
        for key in DRIFT_KEYS
        if key not in ("succeeded", "error", "cause")
    }
    return ending.outcome(
        "Judged",
        {
            "status": "SUCCEEDED",
            "endpoint.$": "$.run.endpoint",
            "model_package_arn.$": "$.run.model_package_arn",
            **fields,
        },
        "The verdict, its numbers, and what was done about it.",
    )


def job_phase(ending: Ending) -> Task:
    """Returns StartMonitor; every path ends at ``ending``."""
    start = start_monitor(ending)
    describe = sagemaker_task(
        "DescribeMonitor",
        "describeProcessingJob",
        {"ProcessingJobName.$": "$.job.name"},
        result_path="$.job_status",
        result_selector={"status.$": "$.ProcessingJobStatus"},
    )
    ending.catch_all(
        describe,
        ending.caught("DescribeFailed", "MonitorJobUnreadable", "Could not read the drift job"),
    )
    loop = poll_loop(
        "Monitor",
        describe,
        counter="job",
        interval_path="$.settings.poll_interval_seconds",
        budget_path="$.settings.max_polls",
        comment="Poll the drift job within the run's budget.",
    )
    budget_spent = ending.fail(
        "PollBudgetExhausted",
        "MonitorPollBudgetExhausted",
        "States.Format('Drift job {} was still {} after {} polls, {} s apart; its own run time "
        "limit stops it. Raise monitoring_max_polls if jobs take this long.', $.job.name, "
        "$.job_status.status, $.polls.job.count, $.settings.poll_interval_seconds)",
        "Poll budget exhausted.",
    )
    read = read_drift(ending, judged_outcome(ending))
    start.next(loop.wait)
    ended = ChoiceRule.Or([ChoiceRule.StringEquals("$.job_status.status", s) for s in ENDED])
    loop.exit(ended, read)
    loop.on_budget_spent(budget_spent)
    return start
