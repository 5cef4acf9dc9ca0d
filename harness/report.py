"""The local demo's run report: one self-contained HTML file, readable offline.

    summary + evaluation.json + tuning trials + execution history
        ─► run summary table ─► confusion matrix (PNG) ─► per-class metrics ─► best hyperparameters
        ─► tuning history (PNG: objective per trial + running best) ─► trials table ─► history

Pictures are drawn with matplotlib's Agg canvas (no display, no global backend switch) and
embedded as base64 PNG, so the file needs no network and no sibling files. Every value is
HTML-escaped: names and messages come from the run and may contain markup.
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
import os
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

#: The tuner's objective (``ml/pipeline.py``): validation:mlogloss, minimised.
OBJECTIVE_NAME = "validation:mlogloss"
OBJECTIVE_MINIMISED = True
#: Columns of ``evaluation["per_class_metrics"][class]``, as ``ml/evaluate.py`` writes them.
_PER_CLASS_KEYS = ("precision", "recall", "f1", "support")

#: Summary rows in display order: label and the summary keys that may hold the value.
SUMMARY_FIELDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Status", ("status",)),
    ("Execution", ("execution", "execution_name", "execution_arn")),
    ("States visited", ("states_visited", "states")),
    ("Test accuracy", ("accuracy",)),
    ("Weighted F1", ("weighted_f1",)),
    ("Accuracy threshold", ("accuracy_threshold", "threshold")),
    ("Model package", ("model_package_arn",)),
    ("Approval status", ("approval_status", "model_approval_status")),
    ("Endpoint", ("endpoint_name", "endpoint")),
    ("Deployment", ("deployment",)),
    ("Prediction", ("prediction",)),
)
#: Summary keys not shown as rows: ``title`` repeats the status (the state machine's output).
HIDDEN_SUMMARY_KEYS = frozenset({"title"})

STYLE = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 2rem auto;
       max-width: 980px; color: #1f2328; line-height: 1.45; padding: 0 1rem; }
h1 { font-size: 1.6rem; margin-bottom: .2rem; }
h2 { font-size: 1.2rem; border-bottom: 1px solid #d0d7de; padding-bottom: .3rem; margin-top: 2rem; }
table { border-collapse: collapse; margin: .5rem 0; }
th, td { border: 1px solid #d0d7de; padding: .3rem .6rem; text-align: left; vertical-align: top; }
th { background: #f6f8fa; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.best td { background: #dafbe1; }
tr.failed td { color: #9a6700; }
.status-ok { color: #1a7f37; font-weight: 600; }
.status-bad { color: #cf222e; font-weight: 600; }
code, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: .9em;
              word-break: break-all; }
img { max-width: 100%; border: 1px solid #d0d7de; }
.muted { color: #656d76; }
"""


# --------------------------------------------------------------------------- formatting


def esc(value: Any) -> str:
    """Text for HTML: every value from the run goes through here."""
    return html.escape("" if value is None else str(value), quote=True)


def fmt(value: Any, digits: int = 4) -> str:
    """A value as shown in a cell: floats rounded, lists and dicts as compact JSON, None as —."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return f"{value:.{digits}f}" if math.isfinite(value) else str(value)
    if isinstance(value, list | tuple | dict):
        return json.dumps(value, default=str)
    return str(value)


def finite(value: Any) -> float | None:
    """A trial's objective as a number, or None when the trial produced none."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def format_prediction(prediction: Any) -> str:
    """``{"row", "probabilities", "label"}`` (the demo's prediction) as one readable line."""
    if not isinstance(prediction, Mapping) or "probabilities" not in prediction:
        return fmt(prediction)
    probabilities = prediction["probabilities"]
    shown = fmt([round(p, 4) if isinstance(p, float) else p for p in probabilities])
    label = prediction.get("label")
    features = prediction.get("row")
    text = f"{label} " if label else ""
    text += f"for {fmt(features)} " if features is not None else ""
    return f"{text}(probabilities {shown})"


def metric_value(evaluation: Mapping[str, Any], name: str) -> float | None:
    # One block, after the dataset contract's problem type (ml/evaluate.py).
    metrics = (
        evaluation.get("multiclass_classification_metrics")
        or evaluation.get("binary_classification_metrics")
        or {}
    )
    entry = metrics.get(name)
    return finite(entry.get("value")) if isinstance(entry, Mapping) else None


def table(headers: Sequence[str], rows: Iterable[str]) -> str:
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def row(*cells: str, css: str = "") -> str:
    """A table row from already-escaped cell HTML (``<td>...</td>``)."""
    attribute = f' class="{css}"' if css else ""
    return f"<tr{attribute}>{''.join(cells)}</tr>"


def td(value: Any, *, numeric: bool = False, digits: int = 4) -> str:
    css = ' class="num"' if numeric else ""
    return f"<td{css}>{esc(fmt(value, digits))}</td>"


def png_data_uri(figure: Figure) -> str:
    FigureCanvasAgg(figure)  # attaches the Agg canvas, so savefig never needs pyplot
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def img(uri: str, alt: str) -> str:
    return f'<img src="{uri}" alt="{esc(alt)}">'


# --------------------------------------------------------------------------- pictures


def confusion_matrix_rows(evaluation: Mapping[str, Any]) -> tuple[list[str], list[list[int]]]:
    """(class names, counts[actual][predicted]) in ``class_names`` order; empty if absent."""
    # One block, after the dataset contract's problem type (ml/evaluate.py).
    metrics = (
        evaluation.get("multiclass_classification_metrics")
        or evaluation.get("binary_classification_metrics")
        or {}
    )
    matrix = metrics.get("confusion_matrix") or {}
    if not matrix:
        return [], []
    names = [str(n) for n in (evaluation.get("class_names") or list(matrix))]
    counts = [[int((matrix.get(a) or {}).get(p, 0)) for p in names] for a in names]
    return names, counts


def confusion_matrix_png(names: Sequence[str], counts: Sequence[Sequence[int]]) -> str:
    size = max(3.6, 1.3 * len(names) + 1.4)
    figure = Figure(figsize=(size, size * 0.85))
    axes = figure.add_subplot()
    image = axes.imshow(counts, cmap="Blues", vmin=0)
    peak = max((max(r) for r in counts), default=0)
    for i, counts_row in enumerate(counts):
        for j, count in enumerate(counts_row):
            # White text on dark cells, dark on light ones, so every count stays legible.
            colour = "white" if peak and count > peak / 2 else "#1f2328"
            axes.text(j, i, str(count), ha="center", va="center", color=colour, fontsize=13)
    axes.set_xticks(range(len(names)), labels=names, rotation=20, ha="right")
    axes.set_yticks(range(len(names)), labels=names)
    axes.set_xlabel("Predicted")
    axes.set_ylabel("Actual")
    axes.set_title("Confusion matrix (test set)")
    figure.colorbar(image, ax=axes, fraction=0.046, pad=0.04)
    return png_data_uri(figure)


def running_best(objectives: Sequence[float | None], minimise: bool = True) -> list[float | None]:
    """The best objective seen up to each trial (None until a trial succeeds)."""
    best: float | None = None
    out: list[float | None] = []
    for value in objectives:
        if value is not None and (best is None or (value < best if minimise else value > best)):
            best = value
        out.append(best)
    return out


def tuning_png(trials: Sequence[Mapping[str, Any]]) -> str:
    numbers = [int(t.get("trial", i + 1)) for i, t in enumerate(trials)]
    objectives = [finite(t.get("objective")) for t in trials]
    best = running_best(objectives, OBJECTIVE_MINIMISED)
    figure = Figure(figsize=(7.5, 3.6))
    axes = figure.add_subplot()
    done = [(n, v) for n, v in zip(numbers, objectives, strict=True) if v is not None]
    if done:
        axes.plot(*zip(*done, strict=True), "o", color="#0969da", label="trial objective")
    else:  # an empty value axis would only show meaningless ticks
        axes.set_yticks([])
        axes.text(0.5, 0.5, "no trial produced an objective", ha="center", transform=axes.transAxes)
    steps = [(n, b) for n, b in zip(numbers, best, strict=True) if b is not None]
    if steps:
        axes.step(*zip(*steps, strict=True), where="post", color="#1a7f37", label="best so far")
    failed = [n for n, v in zip(numbers, objectives, strict=True) if v is None]
    if failed:
        # Failed trials have no objective: mark them on the x axis so the budget spent shows.
        axes.plot(
            failed,
            [0.0] * len(failed),
            "x",
            color="#cf222e",
            markersize=9,
            transform=axes.get_xaxis_transform(),
            clip_on=False,
            label="failed trial",
        )
    axes.set_xticks(numbers)
    axes.set_xlabel("Trial")
    axes.set_ylabel(f"{OBJECTIVE_NAME} ({'lower' if OBJECTIVE_MINIMISED else 'higher'} is better)")
    axes.set_title("Hyperparameter tuning")
    axes.grid(alpha=0.3)
    axes.legend(loc="best")
    return png_data_uri(figure)


# --------------------------------------------------------------------------- sections


def summary_section(summary: Mapping[str, Any], evaluation: Mapping[str, Any]) -> str:
    values = dict(summary)
    deployment = values.get("deployment")
    if isinstance(deployment, Mapping):
        # The state machine's output nests the endpoint in ``deployment``; show it on its own.
        if deployment.get("deployed") and deployment.get("endpoint_name"):
            values.setdefault("endpoint_name", deployment["endpoint_name"])
        values["deployment"] = deployment.get("reason") or fmt(dict(deployment))
    if values.get("prediction") is not None:
        values["prediction"] = format_prediction(values["prediction"])
    # A summary without the metrics still shows them when the evaluation has them.
    for name in ("accuracy", "weighted_f1"):
        if values.get(name) is None:
            values[name] = metric_value(evaluation, name)
    rows: list[str] = []
    used: set[str] = set(HIDDEN_SUMMARY_KEYS)
    for label, keys in SUMMARY_FIELDS:
        key = next((k for k in keys if values.get(k) is not None), None)
        used.update(keys)
        if key is None:
            continue
        value = values[key]
        if key in {"states_visited", "states"} and isinstance(value, list | tuple):
            cell = f"<td>{' → '.join(esc(v) for v in value)}</td>"
        elif key == "status":
            ok = str(value).upper() in {"SUCCEEDED", "SUCCESS", "OK"}
            cell = f'<td class="{"status-ok" if ok else "status-bad"}">{esc(value)}</td>'
        else:
            cell = td(value, numeric=isinstance(value, int | float))
        rows.append(row(f"<th>{esc(label)}</th>", cell))
    # Anything else the run reported is shown too, rather than silently dropped.
    for key, value in values.items():
        if key not in used and value is not None:
            rows.append(row(f"<th>{esc(key)}</th>", td(value)))
    body = f"<table><tbody>{''.join(rows)}</tbody></table>" if rows else _none("No summary.")
    return f"<h2>Run summary</h2>{body}"


def evaluation_section(evaluation: Mapping[str, Any]) -> str:
    names, counts = confusion_matrix_rows(evaluation)
    if not names:
        return "<h2>Evaluation</h2>" + _none("No evaluation.json: the run stopped before it.")
    parts = ["<h2>Evaluation</h2>", img(confusion_matrix_png(names, counts), "Confusion matrix")]
    per_class = evaluation.get("per_class_metrics") or {}
    if per_class:
        rows = [
            row(
                f"<td>{esc(name)}</td>",
                *(td((per_class.get(name) or {}).get(k), numeric=True) for k in _PER_CLASS_KEYS),
            )
            for name in names
        ]
        parts.append("<h3>Per-class metrics</h3>")
        parts.append(table(["Class", "Precision", "Recall", "F1", "Support"], rows))
    row_counts = evaluation.get("row_counts") or {}
    if row_counts:
        shown = ", ".join(f"{esc(k)} {esc(fmt(v))}" for k, v in row_counts.items())
        parts.append(f'<p class="muted">Rows: {shown}.</p>')
    return "".join(parts)


def model_section(evaluation: Mapping[str, Any]) -> str:
    model = evaluation.get("model") or {}
    hyperparameters = model.get("hyperparameters") or {}
    if not model:
        return ""
    rows = [row(f"<th>{esc(k)}</th>", td(v, numeric=True)) for k, v in hyperparameters.items()]
    parts = ["<h2>Best model</h2>"]
    for label, key in (("Training job", "training_job_name"), ("Artifact", "artifact_uri")):
        if model.get(key):
            parts.append(f'<p>{esc(label)}: <span class="mono">{esc(model[key])}</span></p>')
    parts.append(
        f"<table><tbody>{''.join(rows)}</tbody></table>"
        if rows
        else _none("No hyperparameters recorded.")
    )
    return "".join(parts)


def tuning_section(trials: Sequence[Mapping[str, Any]]) -> str:
    if not trials:
        return "<h2>Tuning</h2>" + _none("No tuning trials recorded.")
    objectives = [finite(t.get("objective")) for t in trials]
    done = [v for v in objectives if v is not None]
    best_value = (min(done) if OBJECTIVE_MINIMISED else max(done)) if done else None
    best_index = objectives.index(best_value) if best_value is not None else None
    rows = []
    for index, trial in enumerate(trials):
        params = trial.get("params") or {}
        css = "best" if index == best_index else ("failed" if objectives[index] is None else "")
        rows.append(
            row(
                td(trial.get("trial", index + 1), numeric=True),
                f'<td class="mono">{esc(trial.get("training_job_name") or "—")}</td>',
                f"<td>{esc(', '.join(f'{k}={v}' for k, v in params.items()) or '—')}</td>",
                td(objectives[index], numeric=True, digits=5),
                td(trial.get("status") or ("Failed" if objectives[index] is None else "—")),
                css=css,
            )
        )
    failed = sum(v is None for v in objectives)
    note = f"{len(trials)} trials, {failed} failed; best {fmt(best_value, 5)} ({OBJECTIVE_NAME})."
    return (
        "<h2>Tuning</h2>"
        + img(tuning_png(trials), "Tuning history")
        + f'<p class="muted">{esc(note)}</p>'
        + table(["Trial", "Training job", "Hyperparameters", OBJECTIVE_NAME, "Status"], rows)
    )


def history_section(history: Sequence[str]) -> str:
    if not history:
        return ""
    items = "".join(f"<li>{esc(line)}</li>" for line in history)
    return f"<h2>Execution history</h2><ol class='mono'>{items}</ol>"


def _none(message: str) -> str:
    return f'<p class="muted">{esc(message)}</p>'


# --------------------------------------------------------------------------- page


def render_report(
    *,
    summary: Mapping[str, Any],
    evaluation: Mapping[str, Any],
    trials: Sequence[Mapping[str, Any]],
    history: Sequence[str],
) -> str:
    """The whole page as text (pure: no file is touched)."""
    title = "Iris XGBoost pipeline run"
    name = summary.get("execution") or summary.get("execution_name")
    heading = f"{title}: {name}" if name else title
    sections = [
        summary_section(summary, evaluation),
        evaluation_section(evaluation),
        model_section(evaluation),
        tuning_section(trials),
        history_section(history),
    ]
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<title>{esc(heading)}</title><style>{STYLE}</style></head><body>"
        f"<h1>{esc(heading)}</h1>{''.join(sections)}</body></html>\n"
    )


def write_report(
    path: Path,
    *,
    summary: dict[str, Any],
    evaluation: dict[str, Any],
    trials: list[dict[str, Any]],
    history: list[str],
) -> Path:
    """Write the report to ``path`` atomically (a reader never sees half a page); return it."""
    text = render_report(summary=summary, evaluation=evaluation, trials=trials, history=history)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(temp_name, 0o644)  # mkstemp creates 0600; a report is an ordinary readable file
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
    return path
