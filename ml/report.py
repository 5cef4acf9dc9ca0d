"""The run report: one self-contained HTML page per run, for a success, a gate refusal or a failure.

    evaluation.json (+ tuning trials, gate verdict, run facts when known) ─► render_success
    {error, cause, state, step, run, data_uri}                            ─► render_failure
        ─► templates/*.html.j2 (Jinja2, autoescaped), pictures drawn on matplotlib's Agg canvas
           and embedded as PNG data URIs: the page needs no network and no sibling file.

One code, two places. The evaluation step runs it in the SageMaker XGBoost 1.7-1 image and writes
report.html beside evaluation.json; that image has Python 3.9, jinja2 2.11.3, MarkupSafe 1.1.1,
matplotlib 3.4.1 and numpy 1.24.1 (aws/sagemaker-xgboost-container: requirements.txt and
docker/1.7-1/base/Dockerfile.cpu, the last 1.7-1 state before 1.7-1-1). `make demo` renders the
same page, with what only the run knows (every tuning trial, the gate's verdict), under the
project's newer versions. So this file keeps to what both have: Python 3.8 syntax, jinja2 2.x's
API, matplotlib 3.4's (no ``set_xticks(labels=...)``), no pyplot. It is shipped beside
evaluate.py in the evaluation step's code bundle (ml/code_bundles.json): this file and
``templates/*.j2`` (BUNDLE_PATTERNS; a test holds the bundle to them).
"""

from __future__ import annotations

import base64
import io
import math
import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import jinja2
import matplotlib
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

# The evaluation report's reader (contracts/evaluation.py): beside evaluate.py in its code
# bundle, at the repository's root otherwise.
from contracts import evaluation as reports

HERE = Path(__file__).resolve().parent
TEMPLATE_DIR = HERE / "templates"
#: This module's files, relative to its directory: what the evaluation step needs beside
#: evaluate.py (terraform/s3.tf stages exactly these; tests/unit/test_report.py checks both).
BUNDLE_PATTERNS = ("report.py", "templates/*.j2")
SUCCESS_TEMPLATE = "success.html.j2"
FAILURE_TEMPLATE = "failure.html.j2"
#: Bars drawn in the feature-importance picture (the table lists every recorded feature).
IMPORTANCE_BARS = 20
#: Above this many classes a confusion matrix shows colours only (numbers would not fit).
ANNOTATED_CLASSES = 12
DPI = 100
BLUE, GREEN, RED, GREY = "#0969da", "#1a7f37", "#cf222e", "#6e7781"
SPLIT_COLOURS = {"train": BLUE, "validation": "#8250df", "test": "#bf8700"}
#: Run facts shown first, in this order, with their labels; other keys follow as given.
RUN_FIELDS = (
    ("name", "Run"),
    ("status", "Status"),
    ("data_uri", "Data"),
    ("model_package_arn", "Model package"),
    ("approval_status", "Approval"),
    ("endpoint", "Endpoint"),
    ("prediction", "Prediction"),
    ("path", "States"),
)


def bundle_files() -> dict[str, Path]:
    """BUNDLE_PATTERNS resolved: each file's name relative to this directory, and its path."""
    return {
        str(path.relative_to(HERE)): path
        for pattern in BUNDLE_PATTERNS
        for path in sorted(HERE.glob(pattern))
        if path.is_file()
    }


class ReportError(ValueError):
    """The input cannot make a report (a failure without its error or cause, no metrics)."""


# --------------------------------------------------------------------------- small helpers


def number(value: Any) -> float | None:
    """A finite float, or None (missing, "NaN", text, booleans)."""
    if value is None or isinstance(value, bool):
        return None
    try:
        result = float(value)
    except (TypeError, ValueError):
        return None
    return result if math.isfinite(result) else None


def fmt(value: Any, digits: int = 4) -> str:
    """A cell's text: floats rounded, None as an em dash, lists joined."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.{digits}f}" if math.isfinite(value) else str(value)
    if isinstance(value, (list, tuple)):
        return " → ".join(fmt(item, digits) for item in value)
    return str(value)


def short(value: Any) -> str:
    """A hyperparameter's value (tuners pass numbers as text): 8, 0.2972, else the text."""
    found = number(value)
    if found is None:
        return fmt(value)
    return str(int(found)) if found.is_integer() else f"{found:.4g}"


def plain(text: Any) -> str:
    """Text for a matplotlib label: a ``$`` would start mathtext, so it is escaped."""
    return str(text).replace("$", r"\$")


def data_uri(figure: Figure) -> str:
    """The figure as an embedded PNG (Agg canvas attached here: no pyplot, no global backend)."""
    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def file_stem(location: str) -> str:
    """``s3://b/data/raw/my-data.csv`` or ``my-data.csv`` ─► ``my-data``."""
    name = location.rstrip("/").rsplit("/", 1)[-1]
    return name[: -len(".csv")] if name.lower().endswith(".csv") else name


# --------------------------------------------------------------------------- facts


def metrics_block(evaluation: Mapping[str, Any]) -> tuple[str, Mapping[str, Any]]:
    """(problem type, the one model-quality metrics block evaluate.py wrote)."""
    try:
        return reports.metrics_block(evaluation)
    except reports.ReportError as error:
        raise ReportError(str(error)) from None


def champion_metrics(evaluation: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The serving model's metrics block, in the candidate's shape; None when it was not scored
    (no model serves, or its API differs)."""
    champion = evaluation.get("champion")
    metrics = champion.get("metrics") if isinstance(champion, Mapping) else None
    return metrics_block(metrics)[1] if isinstance(metrics, Mapping) and metrics else None


def scalar_metrics(block: Mapping[str, Any]) -> list[tuple[str, float | None]]:
    """The block's ``{"value": x}`` metrics in their order (curves and matrices left out)."""
    return [
        (name, number(entry.get("value")))
        for name, entry in block.items()
        if isinstance(entry, Mapping) and "value" in entry
    ]


def metric_rows(
    candidate: Mapping[str, Any], champion: Mapping[str, Any] | None
) -> list[dict[str, Any]]:
    """One row per candidate metric: the candidate's value, the champion's and the difference."""
    theirs = dict(scalar_metrics(champion)) if champion else {}
    rows = []
    for name, value in scalar_metrics(candidate):
        other = theirs.get(name)
        delta = value - other if value is not None and other is not None else None
        rows.append(
            {
                "name": name.replace("_", " "),
                "candidate": fmt(value),
                "champion": fmt(other),
                "delta": "—" if delta is None else f"{delta:+.4f}",
                "sign": "" if not delta else ("up" if delta > 0 else "down"),
            }
        )
    return rows


def dataset_facts(evaluation: Mapping[str, Any], run: Mapping[str, Any]) -> dict[str, Any]:
    """Name (from the data URI, else the contract's source files), label, classes, features."""
    contract = evaluation.get("dataset_contract") or {}
    sources = [str(s) for s in contract.get("source_files") or []]
    location = str(run.get("data_uri") or "")
    name = file_stem(location) if location else ", ".join(file_stem(s) for s in sources)
    problem_type, _ = metrics_block(evaluation)
    return {
        "name": name or "dataset",
        "source": location or ", ".join(sources) or "—",
        "label": str(contract.get("label_column") or "—"),
        "classes": [str(c) for c in evaluation.get("class_names") or []],
        "features": [str(f) for f in contract.get("feature_columns") or []],
        "problem_type": problem_type,
        "rows": evaluation.get("row_counts") or {},
    }


def confusion_counts(evaluation: Mapping[str, Any]) -> tuple[list[str], list[list[int]]]:
    """(class names, counts[actual][predicted]) in class order."""
    _, block = metrics_block(evaluation)
    matrix = block.get("confusion_matrix") or {}
    names = [str(n) for n in evaluation.get("class_names") or list(matrix)]
    return names, [[int((matrix.get(a) or {}).get(p, 0)) for p in names] for a in names]


def row_normalized(counts: Sequence[Sequence[int]]) -> list[list[float]]:
    """Each actual class's row as shares of that class (recall on the diagonal)."""
    return [[c / sum(row) if sum(row) else 0.0 for c in row] for row in counts]


def class_balance(evaluation: Mapping[str, Any]) -> tuple[list[str], dict[str, list[int]]]:
    """(class names, per split present in ``class_counts``: its count per class)."""
    names = [str(n) for n in evaluation.get("class_names") or []]
    recorded = evaluation.get("class_counts") or {}
    return names, {
        split: [int((recorded[split] or {}).get(n, 0)) for n in names]
        for split in ("train", "validation", "test")
        if isinstance(recorded.get(split), Mapping)
    }


def importance(evaluation: Mapping[str, Any]) -> list[tuple[str, float]]:
    """(feature, gain) of the features some split uses, as evaluate.py recorded them, largest
    first."""
    values = (evaluation.get("feature_importance") or {}).get("values") or {}
    pairs = [(str(k), number(v) or 0.0) for k, v in values.items()]
    return sorted((pair for pair in pairs if pair[1] > 0), key=lambda pair: -pair[1])


def running_best(values: Sequence[float | None]) -> list[float | None]:
    """The lowest objective seen up to each trial (the tuner minimises; None until one)."""
    best: float | None = None
    out: list[float | None] = []
    for value in values:
        if value is not None and (best is None or value < best):
            best = value
        out.append(best)
    return out


def trial_rows(trials: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The tuning trials as table rows, the best one marked, failed ones named."""
    objectives = [number(t.get("objective")) for t in trials]
    done = [v for v in objectives if v is not None]
    best = objectives.index(min(done)) if done else None
    rows = []
    for index, trial in enumerate(trials):
        params = trial.get("params") or trial.get("hyperparameters") or {}
        failed = objectives[index] is None
        rows.append(
            {
                "trial": trial.get("trial", index + 1),
                "job": trial.get("training_job_name") or "—",
                "params": ", ".join(f"{k}={short(v)}" for k, v in sorted(params.items())) or "—",
                "objective": fmt(objectives[index], 5),
                "status": trial.get("status") or ("Failed" if failed else "Completed"),
                "css": "best" if index == best else ("failed" if failed else ""),
            }
        )
    return rows


def gate_view(gate: Mapping[str, Any] | None, evaluation: Mapping[str, Any]) -> dict[str, Any]:
    """The gate section: what was compared, and the verdict (None: not decided in this report)."""
    if gate is None:
        return {"decided": False}
    metric = str(gate.get("metric") or "accuracy")
    _, block = metrics_block(evaluation)
    champion = champion_metrics(evaluation) or {}
    passed = gate.get("passed")
    return {
        "decided": passed is not None,
        "passed": bool(passed),
        "metric": metric,
        "candidate": fmt(number((block.get(metric) or {}).get("value"))),
        "champion": fmt(number((champion.get(metric) or {}).get("value"))),
        "threshold": fmt(number(gate.get("threshold"))),
        "margin": fmt(number(gate.get("margin"))),
        "cause": gate.get("cause") or "",
    }


def run_rows(run: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(label, text) for the run's facts: the known ones in order, then the rest by key."""
    known = {key for key, _ in RUN_FIELDS}
    rows = [(label, fmt(run[key])) for key, label in RUN_FIELDS if run.get(key) is not None]
    rows += [(str(k), fmt(v)) for k, v in run.items() if k not in known and v is not None]
    return rows


def versions() -> str:
    return f"jinja2 {jinja2.__version__}, matplotlib {matplotlib.__version__}"


# --------------------------------------------------------------------------- pictures


def _class_ticks(axes: Any, names: Sequence[str]) -> None:
    ticks = list(range(len(names)))
    axes.set_xticks(ticks)
    axes.set_xticklabels([plain(n) for n in names], rotation=30, ha="right")
    axes.set_yticks(ticks)
    axes.set_yticklabels([plain(n) for n in names])


def confusion_png(names: Sequence[str], values: Sequence[Sequence[float]], normalized: bool) -> str:
    """A confusion matrix, actual class by row: counts, or each row's shares."""
    size = min(9.0, max(3.8, 0.55 * len(names) + 2.4))
    figure = Figure(figsize=(size, size * 0.86))
    axes = figure.add_subplot(1, 1, 1)
    image = axes.imshow(values, cmap="Blues", vmin=0, vmax=1 if normalized else None)
    if len(names) <= ANNOTATED_CLASSES:
        peak = max((max(row) for row in values), default=0)
        for i, row in enumerate(values):
            for j, value in enumerate(row):
                # White on dark cells, dark on light ones: every number stays legible.
                colour = "white" if peak and value > peak / 2 else "#1f2328"
                text = f"{value:.2f}" if normalized else str(int(value))
                axes.text(j, i, text, ha="center", va="center", color=colour, fontsize=11)
    _class_ticks(axes, names)
    axes.set_xlabel("Predicted class")
    axes.set_ylabel("Actual class")
    axes.set_title("Share of each actual class" if normalized else "Test rows")
    figure.colorbar(image, ax=axes, fraction=0.046, pad=0.04)
    return data_uri(figure)


def roc_png(curve: Mapping[str, Any], auc: float | None) -> str:
    figure = Figure(figsize=(4.6, 4.2))
    axes = figure.add_subplot(1, 1, 1)
    label = "model" if auc is None else f"model (AUC {auc:.4f})"
    axes.plot(curve["false_positive_rates"], curve["true_positive_rates"], color=BLUE, label=label)
    axes.plot([0, 1], [0, 1], linestyle="--", color=GREY, label="chance")
    axes.set_xlabel("False positive rate")
    axes.set_ylabel("True positive rate")
    axes.set_title("ROC curve (test set)")
    axes.set_xlim(0, 1)
    axes.set_ylim(0, 1.02)
    axes.grid(alpha=0.3)
    axes.legend(loc="lower right")
    return data_uri(figure)


def pr_png(curve: Mapping[str, Any], positive: str) -> str:
    figure = Figure(figsize=(4.6, 4.2))
    axes = figure.add_subplot(1, 1, 1)
    axes.plot(curve["recalls"], curve["precisions"], color=GREEN)
    axes.set_xlabel(plain(f"Recall ({positive})"))
    axes.set_ylabel(plain(f"Precision ({positive})"))
    axes.set_title("Precision-recall curve (test set)")
    axes.set_xlim(0, 1)
    axes.set_ylim(0, 1.02)
    axes.grid(alpha=0.3)
    return data_uri(figure)


def importance_png(pairs: Sequence[tuple[str, float]]) -> str:
    shown = list(pairs[:IMPORTANCE_BARS])[::-1]  # largest at the top
    figure = Figure(figsize=(6.4, max(2.2, 0.32 * len(shown) + 1.0)))
    axes = figure.add_subplot(1, 1, 1)
    positions = list(range(len(shown)))
    axes.barh(positions, [gain for _, gain in shown], color=BLUE)
    axes.set_yticks(positions)
    axes.set_yticklabels([plain(name) for name, _ in shown])
    axes.set_xlabel("Gain (average loss reduction of the feature's splits)")
    axes.set_title("Feature importance")
    axes.grid(axis="x", alpha=0.3)
    return data_uri(figure)


def balance_png(names: Sequence[str], per_split: Mapping[str, Sequence[int]]) -> str:
    figure = Figure(figsize=(min(10.0, max(5.0, 0.9 * len(names) + 2.5)), 3.6))
    axes = figure.add_subplot(1, 1, 1)
    width = 0.8 / max(len(per_split), 1)
    for offset, (split, counts) in enumerate(per_split.items()):
        positions = [i + (offset - (len(per_split) - 1) / 2) * width for i in range(len(names))]
        axes.bar(positions, counts, width, label=split, color=SPLIT_COLOURS.get(split, GREY))
    axes.set_xticks(list(range(len(names))))
    axes.set_xticklabels([plain(n) for n in names], rotation=30, ha="right")
    axes.set_ylabel("Rows")
    axes.set_title("Class balance per split")
    axes.grid(axis="y", alpha=0.3)
    axes.legend(loc="best")
    return data_uri(figure)


def tuning_png(trials: Sequence[Mapping[str, Any]], metric: str) -> str:
    """Each trial's objective and the best so far; failed trials marked on the axis."""
    numbers = [int(t.get("trial", i + 1)) for i, t in enumerate(trials)]
    objectives = [number(t.get("objective")) for t in trials]
    figure = Figure(figsize=(7.0, 3.6))
    axes = figure.add_subplot(1, 1, 1)
    done = [(n, v) for n, v in zip(numbers, objectives) if v is not None]
    if done:
        axes.plot([n for n, _ in done], [v for _, v in done], "o", color=BLUE, label="trial")
        steps = [(n, b) for n, b in zip(numbers, running_best(objectives)) if b is not None]
        axes.step(
            [n for n, _ in steps], [b for _, b in steps], where="post", color=GREEN, label="best"
        )
    else:  # an empty value axis would only show meaningless ticks
        axes.set_yticks([])
        axes.text(0.5, 0.5, "no trial produced an objective", ha="center", transform=axes.transAxes)
    failed = [n for n, v in zip(numbers, objectives) if v is None]
    if failed:
        transform = axes.get_xaxis_transform()  # x in data, y in axes: on the axis line
        axes.plot(failed, [0.0] * len(failed), "x", color=RED, markersize=9, clip_on=False,
                  transform=transform, label="failed trial")  # fmt: skip
    axes.set_xticks(numbers)
    axes.set_xlabel("Trial")
    axes.set_ylabel(plain(f"{metric} (lower is better)"))
    axes.set_title("Hyperparameter tuning")
    axes.grid(alpha=0.3)
    axes.legend(loc="best")
    return data_uri(figure)


def learning_curve_png(curve: Mapping[str, Any], metric: str) -> str:
    """The chosen model's metric per boosting round, on both sets, its kept round marked."""
    figure = Figure(figsize=(7.0, 3.6))
    axes = figure.add_subplot(1, 1, 1)
    rounds = list(curve["rounds"])
    axes.plot(rounds, curve["train"], color=GREY, label="train")
    axes.plot(rounds, curve["validation"], color=BLUE, label="validation")
    if curve.get("best_iteration") is not None:
        axes.axvline(curve["best_iteration"], color=GREEN, linestyle="--", label="kept round")
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_xlabel("Boosting round")
    axes.set_ylabel(plain(f"{metric} (lower is better)"))
    axes.set_title("Training curve of the chosen model")
    axes.grid(alpha=0.3)
    axes.legend(loc="best")
    return data_uri(figure)


# --------------------------------------------------------------------------- sections


def confusion_section(evaluation: Mapping[str, Any]) -> dict[str, Any]:
    names, counts = confusion_counts(evaluation)
    return {
        "counts": confusion_png(names, counts, normalized=False),
        "normalized": confusion_png(names, row_normalized(counts), normalized=True),
    }


def curves_section(block: Mapping[str, Any], classes: Sequence[str]) -> dict[str, Any] | None:
    """ROC and precision-recall pictures of a binary model; None when evaluate.py recorded none
    (a test split holding one class has no curve)."""
    roc = block.get("receiver_operating_characteristic_curve")
    pr = block.get("precision_recall_curve")
    if not roc or not pr:
        return None
    auc = number((block.get("auc") or {}).get("value"))
    positive = classes[1] if len(classes) > 1 else "positive class"
    return {"roc": roc_png(roc, auc), "pr": pr_png(pr, positive), "positive": positive}


def importance_section(evaluation: Mapping[str, Any]) -> dict[str, Any] | None:
    pairs = importance(evaluation)
    if not pairs:
        return None
    recorded = evaluation.get("feature_importance") or {}
    return {
        "png": importance_png(pairs),
        "rows": [(name, fmt(gain)) for name, gain in pairs],
        "more": int(recorded.get("used_features", len(pairs))) - len(pairs),
        "unused": int(recorded.get("total_features", 0)) - int(recorded.get("used_features", 0)),
        "type": recorded.get("importance_type", "gain"),
    }


def balance_section(evaluation: Mapping[str, Any]) -> dict[str, Any] | None:
    names, per_split = class_balance(evaluation)
    if not per_split:
        return None
    return {
        "png": balance_png(names, per_split),
        "splits": list(per_split),
        "rows": [(name, [per_split[s][i] for s in per_split]) for i, name in enumerate(names)],
    }


def tuning_metric(evaluation: Mapping[str, Any], trials: Sequence[Mapping[str, Any]]) -> str:
    """The tuner's objective: the dataset contract's ``tuning_metric`` (validation:logloss for
    two classes, validation:mlogloss for more), else what the trials name."""
    contract = evaluation.get("dataset_contract") or {}
    named = [t.get("objective_metric") for t in trials if t.get("objective_metric")]
    return str(contract.get("tuning_metric") or (named[0] if named else "objective"))


def tuning_section(
    evaluation: Mapping[str, Any], trials: Sequence[Mapping[str, Any]] | None
) -> dict[str, Any]:
    """Every trial when the run passes them; else the chosen model's own training curve."""
    model = evaluation.get("model") or {}
    metric = tuning_metric(evaluation, trials or [])
    section: dict[str, Any] = {
        "metric": metric,
        "job": model.get("training_job_name") or "—",
        "hyperparameters": [
            (str(k), short(v)) for k, v in sorted((model.get("hyperparameters") or {}).items())
        ],
        "trials": None,
        "curve": None,
    }
    if trials:
        objectives = [number(t.get("objective")) for t in trials]
        done = [v for v in objectives if v is not None]
        section["trials"] = trial_rows(trials)
        section["png"] = tuning_png(trials, metric)
        section["note"] = (
            f"{len(trials)} trials, {len(trials) - len(done)} failed; best "
            f"{fmt(min(done) if done else None, 5)} ({metric}, lower is better)."
        )
    curve = model.get("learning_curve")
    if curve and curve.get("rounds"):
        section["curve"] = learning_curve_png(curve, str(curve.get("metric")))
    return section


def per_class_rows(evaluation: Mapping[str, Any]) -> list[tuple[str, list[str]]]:
    per_class = evaluation.get("per_class_metrics") or {}
    keys = ("precision", "recall", "f1", "support")
    return [
        (str(name), [fmt((values or {}).get(k)) for k in keys])
        for name, values in per_class.items()
    ]


def verdict(gate: Mapping[str, Any]) -> tuple[str, str]:
    if not gate["decided"]:
        return "evaluated", "Evaluated: the quality gate decides after this report"
    if gate["passed"]:
        return "passed", "Passed the quality gate"
    return "refused", "Refused by the quality gate"


# --------------------------------------------------------------------------- pages


def environment() -> jinja2.Environment:
    """Templates from TEMPLATE_DIR, every value escaped, an undefined name an error."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATE_DIR)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_success(
    evaluation: Mapping[str, Any],
    *,
    tuning: Sequence[Mapping[str, Any]] | None = None,
    gate: Mapping[str, Any] | None = None,
    run: Mapping[str, Any] | None = None,
) -> str:
    """The report of an evaluated model (passed or refused by the gate, or not yet gated).

    ``tuning``: the tuning trials (``trial``, ``training_job_name``, ``params``, ``objective``,
    ``status``); ``gate``: ``threshold``, ``margin``, ``passed``, ``cause``, ``metric``;
    ``run``: facts such as ``name``, ``data_uri``, ``status`` (RUN_FIELDS first).
    """
    run = dict(run or {})
    facts = dataset_facts(evaluation, run)
    _, block = metrics_block(evaluation)
    champion = evaluation.get("champion") or None
    gate_facts = gate_view(gate, evaluation)
    context = {
        "facts": facts,
        "run_name": run.get("name") or "",
        "run_rows": run_rows(run),
        "verdict": verdict(gate_facts),
        "metrics": metric_rows(block, champion_metrics(evaluation)),
        "champion": champion,
        "gate": gate_facts,
        "confusion": confusion_section(evaluation),
        "curves": curves_section(block, facts["classes"])
        if facts["problem_type"] == "binary"
        else None,
        "importance": importance_section(evaluation),
        "balance": balance_section(evaluation),
        "tuning": tuning_section(evaluation, tuning),
        "per_class": per_class_rows(evaluation),
        "versions": versions(),
    }
    return environment().get_template(SUCCESS_TEMPLATE).render(**context)


#: What a failure report shows, in order: (key of the failure, label).
FAILURE_FIELDS = (
    ("error", "Error"),
    ("state", "State"),
    ("step", "Pipeline step"),
    ("cause", "Cause"),
    ("run", "Run"),
    ("data_uri", "Data"),
)


def render_failure(failure: Mapping[str, Any]) -> str:
    """A short report of a run that failed: what (``error``), where (``state``, ``step``), why
    (``cause``), which run and data. ``error`` and ``cause`` are required."""
    missing = [key for key in ("error", "cause") if not failure.get(key)]
    if missing:
        raise ReportError(
            f"a failure report needs {' and '.join(missing)} (got keys: "
            f"{', '.join(sorted(failure)) or 'none'})"
        )
    known = {key for key, _ in FAILURE_FIELDS}
    rows = [(label, fmt(failure[key])) for key, label in FAILURE_FIELDS if failure.get(key)]
    rows += [(str(k), fmt(v)) for k, v in failure.items() if k not in known and v is not None]
    location = str(failure.get("data_uri") or "")
    context = {
        "error": str(failure["error"]),
        "where": " / ".join(str(failure[k]) for k in ("state", "step") if failure.get(k)),
        "run_name": str(failure.get("run") or ""),
        "dataset": file_stem(location) if location else "",
        "rows": rows,
        "versions": versions(),
    }
    return environment().get_template(FAILURE_TEMPLATE).render(**context)


def write_report(path: Path, text: str) -> Path:
    """Write ``text`` to ``path`` atomically (a reader never sees half a page); return ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(temp_name, 0o644)  # mkstemp creates 0600; a report is an ordinary readable file
        os.replace(temp_name, path)
    except BaseException:
        if os.path.exists(temp_name):
            os.unlink(temp_name)
        raise
    return path
