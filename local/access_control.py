"""Compatibility path: IAM enforcement now lives in ``local/aws/iam.py``.

``local.access_control`` *is* that module (same object, same sessions), for code that still
imports the old name (``local/sagemaker_executor/pipeline.py``); the names below are listed for
type checkers. New code imports ``local.aws.iam``.
"""

from __future__ import annotations

import sys

from local.aws import iam
from local.aws.iam import _assumable_by, task_credentials

sys.modules[__name__] = iam

__all__ = ["_assumable_by", "task_credentials"]
