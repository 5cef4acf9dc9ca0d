"""Run SageMaker pipeline executions on this machine: the local runtime's SageMaker.

Split as the sagemaker SDK's local mode is (``sagemaker/local/pipeline.py``)::

    pipeline.py       LocalPipelineExecutor: the pipeline runner a SageMaker calls; drives steps
    ports.py          what it is given: a SageMaker's executions, job records, role sessions
    definition.py     pure: parameters, property paths, Get / Std:Join / Std:JsonGet, order
                      (a Condition step's branches flattened), what a skipped branch takes along
    conditions.py     pure: a Condition step's Conditions (Equals, In, Not, Or, orderings)
    steps.py          one StepExecutor per step type (Processing, Tuning, Condition),
                      STEP_EXECUTORS
    jobs.py           job runners (processing, training) as local processes, reporting
                      a job's life through JobRecords (ports.py)
    tuning.py         the tuning job's search (optuna), its objective read as the service reads it

The tuner's objective is read as the service reads it (for the XGBoost image: the container's
built-in regexes on the log as CloudWatch shows it, MetricDefinitions refused): ``tuning.py``.
The execution's own calls (each step's Create*Job with iam:PassRole of the job's role, and
Std:JsonGet's S3 reads) are made as the pipeline's RoleArn; a tuning job's training jobs are
created by the tuning service itself; each job's S3 access is as the job's RoleArn.
Container paths (``/opt/ml/...``) map to ``<workdir>/<execution-id>/<step>/opt/ml/...``; each
script's stdout and stderr go to log files there. A failing script fails its step and the
execution as SageMaker reports it: a processing script's ``/opt/ml/output/message`` becomes the
job's ``ExitMessage`` (its FailureReason stays SageMaker's own); a training script's
``/opt/ml/output/failure`` (else its last ``ERROR:`` line) becomes the job's FailureReason.
"""

from emulator.sagemaker_executor.pipeline import LocalPipelineExecutor

__all__ = ["LocalPipelineExecutor"]
