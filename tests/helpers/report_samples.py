"""Evaluations, trials, gates and failures as the run report receives them, for its tests.

Shaped as ml/evaluate.py writes evaluation.json (a binary and a multiclass model), the demo's
tuning trials, the gate's verdict and a failed run; deliberately asymmetric numbers, so a
transposed matrix or a swapped column would show.
"""

from __future__ import annotations

import copy
from typing import Any

BINARY_CLASSES = ["no", "yes"]
MULTI_CLASSES = ["alpha", "beta", "gamma"]
CHAMPION_ARN = "arn:aws:sagemaker:us-east-1:123456789012:model-package/demo-models/3"


def _metric(value: float) -> dict[str, Any]:
    return {"value": value, "standard_deviation": "NaN"}


def _contract(label: str, features: list[str], classes: list[str], source: str) -> dict[str, Any]:
    binary = len(classes) == 2
    return {
        "schema_version": 1,
        "label_column": label,
        "feature_columns": features,
        "class_names": classes,
        "num_classes": len(classes),
        "problem_type": "binary" if binary else "multiclass",
        "objective": "binary:logistic" if binary else "multi:softprob",
        "tuning_metric": "validation:logloss" if binary else "validation:mlogloss",
        "source_files": [source],
    }


def _model(job: str, metric: str) -> dict[str, Any]:
    return {
        "artifact_uri": f"s3://bucket/models/p-1/training/{job}/output/model.tar.gz",
        "training_job_name": job,
        "hyperparameters": {"max_depth": 4, "eta": 0.2345, "num_round": 117},
        "best_iteration": 6,
        "rounds_trained": 12,
        "learning_curve": {
            "metric": metric,
            "rounds": list(range(12)),
            "train": [0.9 - 0.07 * i for i in range(12)],
            "validation": [0.95 - 0.06 * i + (0.02 * (i - 6) if i > 6 else 0) for i in range(12)],
            "best_iteration": 6,
        },
    }


def binary_evaluation() -> dict[str, Any]:
    features = ["age", "income $", "score<1>"]
    return {
        "binary_classification_metrics": {
            "accuracy": _metric(0.9123),
            "precision": _metric(0.8765),
            "recall": _metric(0.8421),
            "f1": _metric(0.8589),
            "auc": _metric(0.9555),
            "confusion_matrix": {"no": {"no": 40, "yes": 3}, "yes": {"no": 2, "yes": 12}},
            "receiver_operating_characteristic_curve": {
                "false_positive_rates": [0.0, 0.05, 0.1, 0.3, 1.0],
                "true_positive_rates": [0.0, 0.6, 0.85, 0.95, 1.0],
            },
            "precision_recall_curve": {
                "precisions": [0.3, 0.8, 0.9, 1.0],
                "recalls": [1.0, 0.9, 0.6, 0.0],
            },
        },
        "per_class_metrics": {
            "no": {"precision": 0.9524, "recall": 0.9302, "f1": 0.9412, "support": 43},
            "yes": {"precision": 0.8, "recall": 0.8571, "f1": 0.8276, "support": 14},
        },
        "model": _model("xgboost-tuning-001-abc", "logloss"),
        "class_names": BINARY_CLASSES,
        "row_counts": {"train": 171, "validation": 57, "test": 57},
        "class_counts": {
            "train": {"no": 128, "yes": 43},
            "validation": {"no": 43, "yes": 14},
            "test": {"no": 43, "yes": 14},
        },
        "feature_importance": {
            "importance_type": "gain",
            "values": {"income $": 12.5, "age": 3.25},
            "used_features": 2,
            "total_features": 3,
        },
        "dataset_contract": _contract("churned", features, BINARY_CLASSES, "customers.csv"),
    }


def multiclass_evaluation() -> dict[str, Any]:
    matrix = {
        "alpha": {"alpha": 10, "beta": 0, "gamma": 0},
        "beta": {"alpha": 0, "beta": 9, "gamma": 1},
        "gamma": {"alpha": 0, "beta": 2, "gamma": 8},
    }
    return {
        "multiclass_classification_metrics": {
            "accuracy": _metric(0.9),
            "weighted_f1": _metric(0.8989),
            "weighted_precision": _metric(0.9024),
            "weighted_recall": _metric(0.9),
            "confusion_matrix": matrix,
        },
        "per_class_metrics": {
            "alpha": {"precision": 1.0, "recall": 1.0, "f1": 1.0, "support": 10},
            "beta": {"precision": 0.8182, "recall": 0.9, "f1": 0.8571, "support": 10},
            "gamma": {"precision": 0.8889, "recall": 0.8, "f1": 0.8421, "support": 10},
        },
        "model": _model("xgboost-tuning-002-def", "mlogloss"),
        "class_names": MULTI_CLASSES,
        "row_counts": {"train": 90, "validation": 30, "test": 30},
        "class_counts": {
            "train": {"alpha": 30, "beta": 30, "gamma": 30},
            "validation": {"alpha": 10, "beta": 10, "gamma": 10},
            "test": {"alpha": 10, "beta": 10, "gamma": 10},
        },
        "feature_importance": {
            "importance_type": "gain",
            "values": {"width": 4.5, "length": 1.5},
            "used_features": 2,
            "total_features": 2,
        },
        "dataset_contract": _contract("kind", ["length", "width"], MULTI_CLASSES, "shapes.csv"),
    }


def with_champion(
    evaluation: dict[str, Any], accuracy: float, differences: list[str] | None = None
) -> dict[str, Any]:
    """The evaluation with a champion block as evaluate.py writes it: the serving model scored
    on the same test split (its metrics in the candidate's block shape) when the contracts
    match; with ``differences``, only those (a model with another API is not scored)."""
    result = copy.deepcopy(evaluation)
    if differences:
        result["champion"] = {
            "model_package_arn": CHAMPION_ARN,
            "contract_matches": False,
            "differences": differences,
        }
        return result
    block = next(k for k in result if k.endswith("_classification_metrics"))
    metrics = copy.deepcopy(result[block])
    metrics["accuracy"] = _metric(accuracy)
    result["champion"] = {
        "model_package_arn": CHAMPION_ARN,
        "metrics": {block: metrics},
        "contract_matches": True,
        "differences": [],
    }
    return result


def trials(*objectives: float | None, metric: str = "validation:mlogloss") -> list[dict[str, Any]]:
    """Tuning trials as the demo collects them (the local executor's trial_finished events)."""
    return [
        {
            "trial": number,
            "of": len(objectives),
            "training_job_name": f"xgboost-tuning-{number:03d}",
            "params": {"max_depth": str(2 + number), "eta": "0.1"},
            "objective": objective,
            "objective_metric": metric,
            "status": "Completed" if objective is not None else "Failed",
        }
        for number, objective in enumerate(objectives, start=1)
    ]


def gate(passed: bool, margin: float | None = 0.01) -> dict[str, Any]:
    """The gate's verdict on the multiclass sample (accuracy 0.9): passes 0.85, refuses 0.95."""
    threshold = 0.85 if passed else 0.95
    return {
        "metric": "accuracy",
        "threshold": threshold,
        "margin": margin,
        "passed": passed,
        "cause": None if passed else f"Model accuracy 0.9 is below the threshold {threshold}.",
    }


def failure() -> dict[str, Any]:
    return {
        "error": "DataValidationError",
        "state": "DataInvalid",
        "step": "PrepareData",
        "cause": "DataValidationError: shapes.csv line 6 (data row 5), column 'width': value "
        "'abc' is not a number",
        "run": "s3-shapes-1234",
        "data_uri": "s3://bucket/data/raw/shapes.csv",
    }
