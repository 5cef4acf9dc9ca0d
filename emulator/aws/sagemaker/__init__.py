"""SageMaker's control plane where the system relies on it (moto's ``sagemaker`` service).

Split by role::

    pipelines.py       pipeline executions, handed to a *pipeline runner* (``set_pipeline_runner``)
    model_packages.py  UpdateModelPackage as AWS merges it, DeleteModelPackageGroup, the
                       "SageMaker Model Package State Change" events
    endpoints.py       the endpoint status machine and UpdateEndpoint
    guardrails.py      UpdateEndpoint's DeploymentConfig: blue/green traffic steps, auto-rollback
    hosting.py         the model an endpoint serves, loaded by the container's serving stack
    capture.py         data capture: the invocations an endpoint config captures, written to S3
    processing.py      processing jobs a caller creates, handed to a *processing job runner*
    state.py           what endpoints keep (transitions, guardrails) and moto's backend
    jobs.py            moto's job objects given the state the local executor reports
    tuning_jobs.py     ListTrainingJobsForHyperParameterTuningJob from those job records

``install()`` composes them; ``reset()`` forgets the runners, the endpoint timing and the serving
processes. InvokeEndpoint is moto's ``sagemakerruntime`` service:
``emulator/aws/sagemaker_runtime.py``, which reads endpoints through this package (never the
other way round).
"""

from __future__ import annotations

from emulator.aws import core
from emulator.aws.sagemaker import (
    capture,
    endpoints,
    hosting,
    model_packages,
    pipelines,
    processing,
    tuning_jobs,
)
from emulator.aws.sagemaker.guardrails import deployment_config_refusal, traffic_steps
from emulator.aws.sagemaker.pipelines import PipelineRun, PipelineRunner, set_pipeline_runner
from emulator.aws.sagemaker.processing import (
    ProcessingJobRun,
    ProcessingJobRunner,
    set_processing_job_runner,
)
from emulator.aws.sagemaker.state import (
    DEFAULT_ENDPOINT_TRANSITION_SECONDS,
    ENDPOINT_SECONDS_ENV,
    endpoint_transition_seconds,
    moto_backend,
    reset_settings,
    set_endpoint_transition_seconds,
)


@core.once
def install() -> None:
    """Pipeline executions, model packages and their events, the endpoint status machine,
    processing jobs a caller creates, a tuning job's training jobs."""
    pipelines.install()
    processing.install()
    model_packages.install()
    endpoints.install()
    tuning_jobs.install()


def reset() -> None:
    """No pipeline or processing job runner; endpoint transitions take the configured default
    again; no model is served (the serving processes stop) and models are extracted to the
    default place; data capture's sampling starts afresh."""
    pipelines.reset()
    processing.reset()
    capture.reset()
    reset_settings()
    hosting.reset()


__all__ = [
    "DEFAULT_ENDPOINT_TRANSITION_SECONDS",
    "ENDPOINT_SECONDS_ENV",
    "PipelineRun",
    "PipelineRunner",
    "ProcessingJobRun",
    "ProcessingJobRunner",
    "deployment_config_refusal",
    "endpoint_transition_seconds",
    "install",
    "moto_backend",
    "reset",
    "set_endpoint_transition_seconds",
    "set_pipeline_runner",
    "set_processing_job_runner",
    "traffic_steps",
]
