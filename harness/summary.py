"""What the demo prints when the run (and the deployment it led to) ended, and the prediction it
asks the endpoint for: the first smoke-test row of the run's evaluation report (a row of the
file's own test split), with one probability per class, named by the dataset contract."""

from __future__ import annotations

import json
from typing import Any

from contracts import evaluation as reports
from contracts import s3_layout
from harness import evidence
from harness.console import Console, _short, path_summary, rel
from harness.follow import RunResult, last_state
from harness.stack import LocalStack


def read_json(stack: LocalStack, uri: str) -> dict[str, Any]:
    bucket, key = s3_layout.split_s3_uri(uri)
    body = stack.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    return dict(json.loads(body))


def run_state(result: RunResult) -> dict[str, Any]:
    """The training run's data: its output, or (a failed run) its last state with a summary."""
    return result.output or last_state(result.history, "evaluation")


def read_evaluation(stack: LocalStack, result: RunResult) -> None:
    """The run's evaluation.json, when the pipeline got that far (a gate refusal too)."""
    uri = (run_state(result).get("evaluation") or {}).get("evaluation_uri")
    if uri:
        result.evaluation = read_json(stack, uri)


def predict(stack: LocalStack, endpoint: str, evaluation: dict[str, Any]) -> dict[str, Any]:
    """Send the report's first smoke-test row to the endpoint; name each probability."""
    contract = reports.contract_of(evaluation)
    row = reports.read_smoke_test(evaluation).rows[0]
    answer = stack.client("sagemaker-runtime").invoke_endpoint(
        EndpointName=endpoint, ContentType="text/csv", Accept="application/json", Body=row
    )
    [probabilities] = json.loads(answer["Body"].read())
    names = reports.class_names(evaluation)
    best = max(range(len(probabilities)), key=lambda i: probabilities[i])
    return {
        "row": row,
        "probabilities": probabilities,
        "class_names": names,
        "label": names[best],
        "label_column": contract.get("label_column"),
    }


def prediction_line(prediction: dict[str, Any]) -> str:
    """``<row>: <label>  [name=p, ...]``: every class by the contract's name, with its
    probability, so the line reads without knowing the dataset."""
    shown = ", ".join(
        f"{name}={p:.3f}"
        for name, p in zip(prediction["class_names"], prediction["probabilities"], strict=True)
    )
    return f"{prediction['row']}: {prediction['label']}  [{shown}]"


def print_failure(stack: LocalStack, what: str, result: RunResult, console: Console) -> None:
    console.say(f"✘ {what} {result.execution_name} {result.status} after {result.seconds:.0f} s")
    console.say(f"  failed in state: {result.failing_state}")
    console.say(f"  error: {result.error}")
    console.say(f"  cause: {result.cause}")
    console.say("  logs:")
    for line in evidence.lines(result.kept or evidence.Kept(), stack.workdir, rel):
        console.say(f"    {line}")


def print_training(result: RunResult, console: Console) -> None:
    state = run_state(result)
    summary = (state.get("evaluation") or {}).get("summary") or {}
    console.say(f"✔ Run {result.execution_name} SUCCEEDED in {result.seconds:.0f} s")
    console.say(f"  path: {path_summary(result.states)}")
    if result.evaluation:
        contract = reports.contract_of(result.evaluation)
        classes = ", ".join(str(name) for name in contract.get("class_names", []))
        console.say(
            f"  label {contract.get('label_column')} ({summary.get('problem_type')}): "
            f"classes {classes}"
        )
    candidate = summary.get("candidate") or {}
    if candidate.get("accuracy") is not None:
        f1 = candidate.get("f1")
        champion = (summary.get("champion") or {}).get("accuracy")
        console.say(
            f"  accuracy {candidate['accuracy']:.4f}"
            + (f"   F1 {f1:.4f}" if f1 is not None else "")
            + f"   (threshold {summary['gate']['threshold']}"
            + (f", serving model {champion:.4f}" if champion is not None else "")
            + ")"
        )
    if result.evaluation:
        params = result.evaluation.get("model", {}).get("hyperparameters", {})
        console.say(
            "  best hyperparameters: "
            + " ".join(f"{k}={_short(v)}" for k, v in sorted(params.items()))
        )
    outcome = state.get("outcome") or {}
    if outcome.get("model_package_arn"):
        console.say(
            f"  model package: {outcome['model_package_arn']} ({outcome.get('approval_status')})"
        )


def not_deployed_reason(result: RunResult) -> str:
    outcome = run_state(result).get("outcome") or {}
    if outcome.get("approval_status") != "Approved":
        return "awaiting approval: make approve PACKAGE=<arn>"
    return "deploy=false"


def print_deployment(stack: LocalStack, result: RunResult, console: Console) -> None:
    deployment = result.deployment
    if deployment is None:
        console.say(f"  endpoint: not deployed ({not_deployed_reason(result)})")
        return
    console.say()
    if deployment.status != "SUCCEEDED":
        print_failure(stack, "Deployment", deployment, console)
        return
    outcome = (deployment.output or {}).get("outcome") or {}
    endpoint = (outcome.get("deployment") or {}).get("endpoint_name")
    console.say(f"✔ Deployment {deployment.execution_name} SUCCEEDED in {deployment.seconds:.0f} s")
    console.say(f"  path: {path_summary(deployment.states)}")
    if outcome.get("status") == "SKIPPED":
        console.say(f"  endpoint: not deployed ({outcome.get('reason')})")
        return
    console.say(f"  endpoint: {endpoint} (InService; smoke test: {outcome.get('smoke_test')})")
    if result.prediction:
        console.say(f"  prediction for {prediction_line(result.prediction)}")


def print_summary(stack: LocalStack, result: RunResult, console: Console) -> None:
    console.say()
    if result.status != "SUCCEEDED":
        print_failure(stack, "Run", result, console)
    else:
        print_training(result, console)
    if result.report:
        console.say(f"  report: {rel(result.report)}")
    if result.status == "SUCCEEDED":
        print_deployment(stack, result, console)
