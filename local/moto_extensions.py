"""Compatibility path: the emulator's extensions now live in the ``local.aws`` package.

Kept only for modules that still import the old names (``local/sagemaker_executor.py``,
``tests/integration/test_state_machine.py``, ``test_ops_moto.py``, ``test_trigger_moto.py``,
``test_sagemaker_executor.py``); new code imports from ``local.aws.<service>`` directly. Each
name below is the package's own object, not a copy.
"""

from __future__ import annotations

from local.aws import install_all as apply
from local.aws.core import clear_faults, inject_fault
from local.aws.lambda_ import clear_lambda_cache
from local.aws.sagemaker import PipelineRun, PipelineRunner, set_pipeline_runner

__all__ = [
    "PipelineRun",
    "PipelineRunner",
    "apply",
    "clear_faults",
    "clear_lambda_cache",
    "inject_fault",
    "set_pipeline_runner",
]
