"""SageMaker's model-quality statistics of a classifier's predictions on a test split.

The shape of https://docs.aws.amazon.com/sagemaker/latest/dg/model-monitor-model-quality-metrics.html
: ``binary_classification_metrics`` or ``multiclass_classification_metrics``, each metric as
``{"value": x, "standard_deviation": "NaN"}`` (a single test split has no deviation), the
confusion matrix as actual ─► predicted ─► count. evaluate.py records the candidate and the
serving model (the champion) in it; shipped beside evaluate.py in its code bundle
(ml/code_bundles.json). Python 3.8-compatible: numpy, scikit-learn and the contracts package.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    precision_recall_curve,
    precision_recall_fscore_support,
    roc_auc_score,
    roc_curve,
)

from contracts import dataset
from contracts import evaluation as reports

# SageMaker's model-quality statistics carry a standard deviation; a single test split has none.
NO_DEVIATION = "NaN"
# Points kept of the ROC and precision-recall curves and of the learning curve: evaluation.json
# stays small on big test sets.
CURVE_POINTS = 101


def metric_entry(value: float) -> dict[str, Any]:
    return {"value": float(value), "standard_deviation": NO_DEVIATION}


def compute_metrics(
    y_true: np.ndarray, y_pred: np.ndarray, class_names: Sequence[str]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Return (multiclass_classification_metrics, per_class_metrics) for the report."""
    labels = list(range(len(class_names)))
    precision, recall, f1, _ = precision_recall_fscore_support(
        y_true, y_pred, labels=labels, average="weighted", zero_division=0
    )
    per_precision, per_recall, per_f1, support = precision_recall_fscore_support(
        y_true, y_pred, labels=labels, average=None, zero_division=0
    )
    matrix = confusion_matrix(y_true, y_pred, labels=labels)
    overall = {
        "accuracy": metric_entry(accuracy_score(y_true, y_pred)),
        "weighted_f1": metric_entry(f1),
        "weighted_precision": metric_entry(precision),
        "weighted_recall": metric_entry(recall),
        # actual class -> predicted class -> count, as in SageMaker's model-quality statistics.
        "confusion_matrix": {
            actual: {predicted: int(matrix[i][j]) for j, predicted in enumerate(class_names)}
            for i, actual in enumerate(class_names)
        },
    }
    per_class = {
        name: {
            "precision": float(per_precision[i]),
            "recall": float(per_recall[i]),
            "f1": float(per_f1[i]),
            "support": int(support[i]),
        }
        for i, name in enumerate(class_names)
    }
    return overall, per_class


def downsample(values: np.ndarray, points: int = CURVE_POINTS) -> list[float]:
    if len(values) > points:
        values = values[np.linspace(0, len(values) - 1, points).round().astype(int)]
    return [float(v) for v in values]


def compute_binary_metrics(
    y_true: np.ndarray, positive_probability: np.ndarray, class_names: Sequence[str]
) -> dict[str, Any]:
    """SageMaker's `binary_classification_metrics` (model-quality statistics), positive = index 1.

    Shape as in https://docs.aws.amazon.com/sagemaker/latest/dg/model-monitor-model-quality-metrics.html
    (binary classification metrics): `{"value": x, "standard_deviation": "NaN"}` per metric, the
    confusion matrix as actual -> predicted -> count, the ROC and precision-recall curves as
    lists.
    """
    y_pred = (positive_probability >= 0.5).astype("int64")
    matrix = confusion_matrix(y_true, y_pred, labels=[0, 1])
    (tn, fp), (fn, tp) = matrix.tolist()
    precision, recall, f1, _ = precision_recall_fscore_support(
        y_true, y_pred, labels=[1], average=None, zero_division=0
    )
    both_present = len(np.unique(y_true)) == 2
    # AUC is undefined when the test set holds one class only; SageMaker writes NaN then.
    auc = float(roc_auc_score(y_true, positive_probability)) if both_present else float("nan")
    metrics: dict[str, Any] = {
        "accuracy": metric_entry(accuracy_score(y_true, y_pred)),
        "precision": metric_entry(precision[0]),
        "recall": metric_entry(recall[0]),
        "f1": metric_entry(f1[0]),
        "auc": {"value": auc if math.isfinite(auc) else "NaN", "standard_deviation": NO_DEVIATION},
        "true_positive_rate": metric_entry(tp / (tp + fn) if tp + fn else 0.0),
        "true_negative_rate": metric_entry(tn / (tn + fp) if tn + fp else 0.0),
        "false_positive_rate": metric_entry(fp / (fp + tn) if fp + tn else 0.0),
        "false_negative_rate": metric_entry(fn / (fn + tp) if fn + tp else 0.0),
        "confusion_matrix": {
            actual: {predicted: int(matrix[i][j]) for j, predicted in enumerate(class_names)}
            for i, actual in enumerate(class_names)
        },
    }
    if both_present:
        fpr, tpr, _ = roc_curve(y_true, positive_probability)
        precisions, recalls, _ = precision_recall_curve(y_true, positive_probability)
        metrics["receiver_operating_characteristic_curve"] = {
            "false_positive_rates": downsample(fpr),
            "true_positive_rates": downsample(tpr),
        }
        metrics["precision_recall_curve"] = {
            "precisions": downsample(precisions),
            "recalls": downsample(recalls),
        }
    return metrics


def quality_block(
    y_true: np.ndarray, probabilities: np.ndarray, contract: dataset.Contract
) -> dict[str, Any]:
    """``{<the problem type's block name>: metrics}``: the statistics of these predictions, the
    shape both the candidate and the champion are recorded in."""
    class_names = list(contract.class_names)
    if contract.binary:
        block = compute_binary_metrics(y_true, probabilities[:, 1], class_names)
    else:
        block, _ = compute_metrics(y_true, probabilities.argmax(axis=1), class_names)
    return {reports.BLOCKS[contract.problem_type]: block}
