"""The drift monitor's outputs: drift.json, drift.html, metric_data.json and summary.json.

Shipped beside monitor.py (ml/code_bundles.json): standard library only, Python 3.8 compatible.

- `drift.json`: everything the run found (monitor_stats.judge).
- `drift.html`: a short self-contained HTML section of the same, every text escaped.
- `metric_data.json`: a list ready to pass as CloudWatch PutMetricData's `MetricData` under
  `METRIC_NAMESPACE`: per endpoint (dimension `EndpointName`) DriftDetected (0 or 1),
  RecordsAnalysed, RowsAnalysed, RecordsRefused and PredictionPSI; per endpoint and feature
  (dimensions `EndpointName`, `Feature`) FeaturePSI and FeatureKS. botocore's CloudWatch model
  allows at most 1000 items per call and dimension values of 1 to 1024 characters; the list is
  also kept under METRIC_DATA_MAX_BYTES so that a state machine can carry it (Step Functions'
  payload limit is 256 KiB). Per-feature metrics go most drifted first, and those that do not
  fit are left out (and counted in summary.json). Per-feature and prediction metrics are only
  published when drift was judged: an `insufficient-data` run publishes DriftDetected 0 and the
  counts, so no alarm on a noisy statistic can fire.
- `summary.json`: the few fields the orchestration reads, bounded far below 256 KiB.
"""

from __future__ import annotations

import html
import json
import os
import tempfile
from pathlib import Path
from typing import Any

try:
    from . import monitor_stats as stats
except ImportError:
    import monitor_stats as stats  # type: ignore[no-redef]

DRIFT_FILE = "drift.json"
HTML_FILE = "drift.html"
METRIC_DATA_FILE = "metric_data.json"
SUMMARY_FILE = "summary.json"
METRIC_NAMESPACE = "MLOps/Drift"
ENDPOINT_DIMENSION = "EndpointName"
FEATURE_DIMENSION = "Feature"
DRIFT_DETECTED = "DriftDetected"
RECORDS_ANALYSED = "RecordsAnalysed"
ROWS_ANALYSED = "RowsAnalysed"
RECORDS_REFUSED = "RecordsRefused"
PREDICTION_PSI = "PredictionPSI"
FEATURE_PSI = "FeaturePSI"
FEATURE_KS = "FeatureKS"
#: botocore's cloudwatch model: PutMetricData MetricData max 1000, Dimension Value 1..1024.
MAX_METRIC_ITEMS = 1000
MAX_DIMENSION_VALUE = 1024
METRIC_DATA_MAX_BYTES = 200_000
#: summary.json keeps at most this many drifted feature names and "top" features.
SUMMARY_FEATURES = 20
SUMMARY_TOP = 5
SUMMARY_TEXT_MAX = 1000
SUMMARY_NAME_MAX = 255


def _datum(
    name: str, value: float, unit: str, dimensions: list[dict[str, str]], when: str | None
) -> dict[str, Any]:
    """One MetricDatum; the timestamp is the window's end when the window has one."""
    item: dict[str, Any] = {"MetricName": name, "Dimensions": dimensions, "Value": value}
    item["Unit"] = unit
    if when:
        item["Timestamp"] = when
    return item


def metric_data(result: dict[str, Any], endpoint: str) -> tuple[list[dict[str, Any]], int]:
    """(PutMetricData MetricData items, features left out to respect the limits)."""
    when = result["window"]["end"]
    counts = result["counts"]
    judged = result["verdict"] != stats.INSUFFICIENT_DATA
    by_endpoint = [{"Name": ENDPOINT_DIMENSION, "Value": endpoint}]
    items = [
        _datum(DRIFT_DETECTED, float(result["verdict"] == stats.DRIFT), "None", by_endpoint, when),
        _datum(RECORDS_ANALYSED, float(counts["records"]), "Count", by_endpoint, when),
        _datum(ROWS_ANALYSED, float(counts["rows"]), "Count", by_endpoint, when),
        _datum(RECORDS_REFUSED, float(counts["records_refused"]), "Count", by_endpoint, when),
    ]
    predictions = result["predictions"]
    if judged and predictions and predictions["judged"] and predictions["psi"] is not None:
        items.append(_datum(PREDICTION_PSI, predictions["psi"], "None", by_endpoint, when))
    if not judged:
        return items, 0
    thresholds = stats.Thresholds(**result["thresholds"])
    ordered = sorted(result["features"], key=lambda f: -stats.severity(f, thresholds))
    size = len(json.dumps(items))
    left_out = 0
    for stat in ordered:
        name = stat["name"]
        dimensions = [*by_endpoint, {"Name": FEATURE_DIMENSION, "Value": name}]
        pair = [
            _datum(metric, stat[key], "None", dimensions, when)
            for metric, key in ((FEATURE_PSI, "psi"), (FEATURE_KS, "ks"))
            if stat[key] is not None
        ]
        pair_size = len(json.dumps(pair)) + 2
        fits = len(items) + len(pair) <= MAX_METRIC_ITEMS and size + pair_size <= (
            METRIC_DATA_MAX_BYTES
        )
        if not name or len(name) > MAX_DIMENSION_VALUE or not fits:
            left_out += 1
            continue
        items.extend(pair)
        size += pair_size
    return items, left_out


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def summary(result: dict[str, Any], endpoint: str, metrics: int, left_out: int) -> dict[str, Any]:
    """The bounded summary: verdict, counts, drifted names and the most drifted numbers."""
    thresholds = stats.Thresholds(**result["thresholds"])
    ordered = sorted(result["features"], key=lambda f: -stats.severity(f, thresholds))
    drifted = result["drifted_features"]
    predictions = result["predictions"]
    return {
        "schema_version": stats.SCHEMA_VERSION,
        "verdict": result["verdict"],
        "endpoint": _clip(endpoint, SUMMARY_NAME_MAX),
        "window": result["window"],
        "counts": result["counts"],
        "thresholds": result["thresholds"],
        "drifted_feature_count": len(drifted),
        "drifted_features": [_clip(n, SUMMARY_NAME_MAX) for n in drifted[:SUMMARY_FEATURES]],
        "top_features": [
            {"name": _clip(f["name"], SUMMARY_NAME_MAX), "psi": f["psi"], "ks": f["ks"]}
            for f in ordered[:SUMMARY_TOP]
        ],
        "prediction_psi": predictions["psi"] if predictions else None,
        "prediction_drift": bool(predictions and predictions["drifted"]),
        "records_refused": result["counts"]["records_refused"],
        "message": _clip(result["message"], SUMMARY_TEXT_MAX),
        "metrics": {
            "namespace": METRIC_NAMESPACE,
            "file": METRIC_DATA_FILE,
            "items": metrics,
            "features_left_out": left_out,
        },
    }


# --------------------------------------------------------------------------- HTML


def _number(value: Any) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def _feature_rows(result: dict[str, Any]) -> str:
    rows = []
    for f in result["features"]:
        mark = "drift" if f["drifted"] else ""
        rows.append(
            f'<tr class="{mark}"><td>{html.escape(f["name"])}</td><td>{_number(f["psi"])}</td>'
            f"<td>{_number(f['ks'])}</td><td>{_number(f['missing_share'])}</td>"
            f"<td>{_number(f['out_of_range_share'])}</td><td>{html.escape(mark or 'no')}</td></tr>"
        )
    return "\n".join(rows)


def _prediction_rows(result: dict[str, Any]) -> str:
    predictions = result["predictions"]
    if not predictions:
        return "<p>The baseline records no predictions: the class shift is not judged.</p>"
    cells = "".join(
        f"<tr><td>{html.escape(str(name))}</td><td>{_number(base)}</td><td>{_number(seen)}</td></tr>"
        for name, base, seen in zip(
            predictions["class_names"],
            predictions["baseline_shares"],
            predictions["observed_shares"],
        )
    )
    return (
        f"<p>Predicted-class PSI {_number(predictions['psi'])} over {predictions['rows']} "
        f"answers.</p><table><tr><th>class</th><th>baseline share</th><th>observed share</th>"
        f"</tr>{cells}</table>"
    )


def drift_html(result: dict[str, Any]) -> str:
    """A short self-contained HTML section (inline style, no script, every text escaped)."""
    window = result["window"]
    counts = result["counts"]
    thresholds = result["thresholds"]
    refusals = ", ".join(f"{k}: {v}" for k, v in result["refusals"]["by_kind"].items()) or "none"
    start, end = (html.escape(str(window[side] or "open")) for side in ("start", "end"))
    return f"""<section class="drift-report" style="font-family:sans-serif">
<style>.drift-report table{{border-collapse:collapse}}
.drift-report td,.drift-report th{{border:1px solid #ccc;padding:2px 6px}}
.drift-report tr.drift{{background:#fdd}}</style>
<h2>Drift: {html.escape(result["verdict"])}</h2>
<p>{html.escape(result["message"])}</p>
<p>Window {start} to {end}:
{counts["records"]} records, {counts["rows"]} rows analysed; refused: {html.escape(refusals)}.
Thresholds: PSI {thresholds["psi"]:g}, KS {thresholds["ks"]:g}, predicted-class PSI
{thresholds["prediction_psi"]:g}, at least {thresholds["min_rows"]} rows.</p>
<table><tr><th>feature</th><th>PSI</th><th>KS</th><th>missing</th><th>out of range</th>
<th>drift</th></tr>
{_feature_rows(result)}
</table>
{_prediction_rows(result)}
</section>
"""


# --------------------------------------------------------------------------- files


def _write(target: Path, text: str) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(temp_name, target)
    except BaseException:
        if os.path.exists(temp_name):
            os.unlink(temp_name)
        raise


def write_outputs(output_dir: Path, result: dict[str, Any], endpoint: str) -> dict[str, Any]:
    """Write the four files; return the summary."""
    items, left_out = metric_data(result, endpoint)
    brief = summary(result, endpoint, len(items), left_out)
    _write(output_dir / DRIFT_FILE, json.dumps(result, indent=2, allow_nan=False) + "\n")
    _write(output_dir / HTML_FILE, drift_html(result))
    _write(output_dir / METRIC_DATA_FILE, json.dumps(items, allow_nan=False) + "\n")
    _write(output_dir / SUMMARY_FILE, json.dumps(brief, indent=2, allow_nan=False) + "\n")
    return brief
