"""Terraform stages the processing scripts under the file names the pipeline runs them by."""

from __future__ import annotations

import json
import re
from pathlib import Path

from ml import pipeline

ROOT = Path(__file__).resolve().parents[2]


def test_staged_script_names_match_the_pipeline_entrypoints() -> None:
    # Processing jobs download code objects under their own basename; the definition's
    # entrypoint names the file, so the staged key must end in exactly that name.
    locals_tf = (ROOT / "terraform" / "locals.tf").read_text()
    keys = dict(re.findall(r'^\s*(prepare|evaluate)_script_key\s*=\s*"([^"]+)"', locals_tf, re.M))
    definition = json.loads(pipeline.DEFINITION_PATH.read_text())
    entrypoints = {
        step["Name"]: step["Arguments"]["AppSpecification"]["ContainerEntrypoint"][-1]
        for step in pipeline.flattened_steps(definition["Steps"])
        if step["Type"] == "Processing"
    }
    assert entrypoints["PrepareData"].endswith("/" + keys["prepare"].rsplit("/", 1)[-1])
    for branch in (pipeline.BINARY, pipeline.MULTICLASS):
        assert entrypoints[branch.evaluate_step].endswith("/" + keys["evaluate"].rsplit("/", 1)[-1])
