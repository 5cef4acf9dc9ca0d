"""The SageMaker Pipeline's parameters: declared by ``ml/pipeline.py``, sent by the training run.

The input-check Lambda builds the run's ``PipelineParameters`` with ``run_parameters``; the
pipeline definition declares exactly ``PARAMETERS`` (a test holds the committed definition to
it). Every value is text of at most 1,024 characters (botocore: ``PipelineParameterValue``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

#: botocore's sagemaker model, shape PipelineParameterValue: "max": 1024.
VALUE_MAX = 1024
#: What ``ChampionModelUri`` points at when no model serves: an object Terraform keeps there, so
#: the evaluation step's champion input always exists and says "none".
NO_CHAMPION_PACKAGE = "none"

INPUT_DATA_URI = "InputDataUri"
LABEL_COLUMN = "LabelColumn"
FEATURE_COLUMNS = "FeatureColumns"
CLASS_ORDER = "ClassOrder"
MAX_TUNING_JOBS = "MaxTuningJobs"
MAX_PARALLEL_TUNING_JOBS = "MaxParallelTuningJobs"
ACCURACY_THRESHOLD = "AccuracyThreshold"
CHAMPION_MARGIN = "ChampionMargin"
CHAMPION_MODEL_URI = "ChampionModelUri"
CHAMPION_PACKAGE_ARN = "ChampionPackageArn"
RUN_NAME = "RunName"

#: The parameters the training machine sends on every run, in this order.
PARAMETERS: tuple[str, ...] = (
    INPUT_DATA_URI,
    LABEL_COLUMN,
    FEATURE_COLUMNS,
    CLASS_ORDER,
    MAX_TUNING_JOBS,
    MAX_PARALLEL_TUNING_JOBS,
    ACCURACY_THRESHOLD,
    CHAMPION_MARGIN,
    CHAMPION_MODEL_URI,
    CHAMPION_PACKAGE_ARN,
    RUN_NAME,
)


def as_text(value: Any) -> str:
    """A parameter value: strings as they are, lists as JSON, booleans as ``true``/``false``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return json.dumps(list(value), ensure_ascii=False, separators=(",", ":"))
    return str(value)


def run_parameters(values: Mapping[str, Any]) -> list[dict[str, str]]:
    """``PipelineParameters`` for StartPipelineExecution: every name of ``PARAMETERS``, in order.

    ``values`` must name each parameter; a value over 1,024 characters is an error here, before
    SageMaker would refuse the request.
    """
    missing = [name for name in PARAMETERS if name not in values]
    extra = sorted(set(values) - set(PARAMETERS))
    if missing or extra:
        raise ValueError(f"pipeline parameters: missing {missing}, unknown {extra}")
    parameters = []
    for name in PARAMETERS:
        text = as_text(values[name])
        if len(text) > VALUE_MAX:
            raise ValueError(f"pipeline parameter {name} is {len(text)} characters; at most 1024")
        parameters.append({"Name": name, "Value": text})
    return parameters


#: Step and output names the training machine reads back (ml/pipeline.py declares them).
STEP_PREPARE = "PrepareData"
EVALUATE_STEP_PREFIX = "EvaluateModel"
OUTPUT_EVALUATION = "evaluation"
OUTPUT_CONTRACT = "contract"
OUTPUT_BASELINE = "baseline"
