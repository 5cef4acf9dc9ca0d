"""The state machine on the emulator's strict request validation: what it sends is valid.

The validation itself (botocore's constraints, AWS's error shapes) is tested with the emulator:
emulator/tests/test_request_validation.py.
"""

from __future__ import annotations

import pytest

from emulator.aws import sagemaker
from tests.helpers.stack import BUCKET, Stack, evaluation_report

pytestmark = pytest.mark.integration


def test_registration_never_fails_after_the_pipeline_for_the_repos_own_test_key(
    emulator: None,
) -> None:
    # On the strict emulator, a data key with a space and "%" (the repo's own test key) must
    # not make RegisterModel fail after the whole pipeline has run. Either the run registers
    # the model, or it is refused before the pipeline starts.
    stack = Stack()
    report = evaluation_report(0.97)

    def runner(run: sagemaker.PipelineRun) -> None:
        stack.put_evaluation(run.execution_id, report)
        run.set_status("Succeeded")

    sagemaker.set_pipeline_runner(runner)
    key = "data/raw/iris v2+extra 100%.CSV"
    stack.s3.put_object(Bucket=BUCKET, Key=key, Body=b"x")

    run = stack.run({"data_uri": f"s3://{BUCKET}/{key}", "auto_approve": True})

    if "StartPipeline" in run.states:
        assert run.status == "SUCCEEDED", (run.error, run.cause)
        assert "RegisterModel" in run.states
    else:
        assert run.status == "FAILED"
