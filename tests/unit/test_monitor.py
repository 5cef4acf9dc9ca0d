"""Tests for the drift monitor (`ml/monitor.py` with `capture.py`, `monitor_stats.py`,
`monitor_report.py`): captured traffic in AWS's data capture format against the baseline."""

from __future__ import annotations

import base64
import json
import math
import shutil
import subprocess
from pathlib import Path
from typing import Any

import botocore.session
import numpy as np
import pytest
from botocore.validate import ParamValidator

from contracts import dataset, failures
from emulator.containers import interpreters as container_python
from ml import baseline, capture, evaluate, monitor, monitor_report, monitor_stats, train
from ops import traffic
from tests.helpers import bundles
from tests.helpers.events import event_file

ROOT = Path(__file__).resolve().parents[2]
HOUR = "2024-05-01T13"
START, END = f"{HOUR}:00:00Z", "2024-05-01T14:00:00Z"
ENDPOINT = "demo-endpoint"


# --------------------------------------------------------------------------- helpers


def payload(mode: str, content_type: str, text: str, encoding: str) -> dict[str, str]:
    data = base64.b64encode(text.encode()).decode() if encoding == "BASE64" else text
    return {"observedContentType": content_type, "mode": mode, "data": data, "encoding": encoding}


def record(
    body: str | None,
    answer: str | None,
    when: str = f"{HOUR}:05:00Z",
    encoding: str = "CSV",
    event_id: str = "0f3c6a8e-0000-4000-8000-000000000000",
) -> str:
    """One data capture line as AWS documents it (model-monitor-data-capture-endpoint.html)."""
    data: dict[str, Any] = {}
    if body is not None:
        data["endpointInput"] = payload("INPUT", "text/csv", body, encoding)
    if answer is not None:
        answer_encoding = "BASE64" if encoding == "BASE64" else "JSON"
        data["endpointOutput"] = payload("OUTPUT", "application/json", answer, answer_encoding)
    return json.dumps(
        {
            "captureData": data,
            "eventMetadata": {"eventId": event_id, "inferenceTime": when},
            "eventVersion": "0",
        }
    )


def write_capture(directory: Path, lines: list[str], name: str = "capture.jsonl") -> Path:
    """Lines in a file where data capture puts it: <endpoint>/<variant>/yyyy/mm/dd/hh/."""
    folder = directory / ENDPOINT / "AllTraffic" / "2024" / "05" / "01" / "13"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text("".join(line + "\n" for line in lines))
    return directory


def run_monitor(
    inputs: dict[str, Path], capture_dir: Path, output_dir: Path, *extra: str
) -> dict[str, Any]:
    argv = [
        "--baseline-dir",
        str(inputs["baseline"]),
        "--contract-dir",
        str(inputs["contract"]),
        "--capture-dir",
        str(capture_dir),
        "--output-dir",
        str(output_dir),
        "--endpoint-name",
        ENDPOINT,
        "--start",
        START,
        "--end",
        END,
        *extra,
    ]
    assert monitor.main(argv) == 0
    return {
        name: json.loads((output_dir / name).read_text())
        for name in ("drift.json", "summary.json", "metric_data.json")
    }


@pytest.fixture(scope="module")
def served(model_dir: Path, split_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The serving model's monitoring inputs (baseline with predictions, contract), its test
    split, and a function answering a CSV body as the endpoint does."""
    evaluation = tmp_path_factory.mktemp("evaluation")
    evaluate.run(
        model_dir,
        split_dir / "test",
        evaluation,
        "s3://b/m.tar.gz",
        split_dir / "baseline",
        gate=evaluate.Gate(threshold=0.9),
    )
    model = train.model_fn(str(model_dir))
    features = model.contract.feature_columns

    def answer(body: str) -> str:
        rows = train.parse_csv_request(body, features)
        return train.probabilities_json(train.predict_probabilities(rows, model))

    return {
        "inputs": {"baseline": evaluation, "contract": split_dir / "contract"},
        "features": list(features),
        "test": (split_dir / "test" / "test.csv").read_text(),
        "answer": answer,
    }


def traffic_lines(served: Any, rows: str, shift: str = "", encoding: str = "CSV") -> list[str]:
    bodies = traffic.traffic(served["test"], served["features"], rows, shift)
    return [
        record(body, served["answer"](body), f"{HOUR}:{i % 60:02d}:00Z", encoding)
        for i, body in enumerate(bodies)
    ]


# --------------------------------------------------------------------------- verdicts


def test_unshifted_traffic_is_no_drift(served: Any, tmp_path: Path) -> None:
    capture_dir = write_capture(tmp_path / "capture", traffic_lines(served, "300"))
    out = run_monitor(served["inputs"], capture_dir, tmp_path / "out")
    drift, summary = out["drift.json"], out["summary.json"]
    assert drift["verdict"] == summary["verdict"] == monitor_stats.NO_DRIFT
    assert drift["counts"]["rows"] == 300 and drift["counts"]["records"] == 30
    assert drift["counts"]["prediction_rows"] == 300
    assert drift["drifted_features"] == [] and summary["drifted_features"] == []
    assert all(f["psi"] < 0.2 and f["ks"] < 0.2 for f in drift["features"])
    assert drift["predictions"]["psi"] < 0.05 and drift["predictions"]["judged"]
    metrics = {m["MetricName"]: m for m in out["metric_data.json"] if len(m["Dimensions"]) == 1}
    assert metrics["DriftDetected"]["Value"] == 0.0
    assert metrics["RowsAnalysed"]["Value"] == 300.0
    assert metrics["DriftDetected"]["Timestamp"] == END


def test_a_shifted_feature_is_drift_naming_it(served: Any, tmp_path: Path) -> None:
    shifted = served["features"][2]
    lines = traffic_lines(served, "300", f"{shifted}=1.5")
    out = run_monitor(served["inputs"], write_capture(tmp_path / "c", lines), tmp_path / "out")
    drift, summary = out["drift.json"], out["summary.json"]
    assert drift["verdict"] == monitor_stats.DRIFT
    assert drift["drifted_features"] == summary["drifted_features"] == [shifted]
    stat = next(f for f in drift["features"] if f["name"] == shifted)
    assert stat["drifted"] and stat["psi"] > 0.2 and stat["ks"] > 0.2
    assert stat["out_of_range_share"] > 0
    assert summary["message"].startswith(f"drift: {shifted} (PSI {stat['psi']:.3f} > 0.2, KS")
    assert summary["top_features"][0]["name"] == shifted
    per_feature = {
        (m["MetricName"], m["Dimensions"][1]["Value"]): m["Value"]
        for m in out["metric_data.json"]
        if len(m["Dimensions"]) == 2
    }
    assert per_feature[("FeaturePSI", shifted)] == stat["psi"]
    assert per_feature[("FeatureKS", shifted)] == stat["ks"]
    assert out["metric_data.json"][0] == {
        "MetricName": "DriftDetected",
        "Dimensions": [{"Name": "EndpointName", "Value": ENDPOINT}],
        "Value": 1.0,
        "Unit": "None",
        "Timestamp": END,
    }


def test_too_few_rows_is_insufficient_data_and_publishes_no_statistic(
    served: Any, tmp_path: Path
) -> None:
    shifted = served["features"][0]
    lines = traffic_lines(served, "50", f"{shifted}=3")  # shifted, yet too few to judge
    out = run_monitor(served["inputs"], write_capture(tmp_path / "c", lines), tmp_path / "out")
    drift = out["drift.json"]
    assert drift["verdict"] == monitor_stats.INSUFFICIENT_DATA
    assert drift["drifted_features"] == [] and not any(f["drifted"] for f in drift["features"])
    assert out["summary.json"]["message"].startswith(
        "insufficient-data: 50 rows analysed in the window, 200 needed"
    )
    names = [m["MetricName"] for m in out["metric_data.json"]]
    assert names == ["DriftDetected", "RecordsAnalysed", "RowsAnalysed", "RecordsRefused"]
    assert out["metric_data.json"][0]["Value"] == 0.0


def test_no_capture_at_all_is_insufficient_data(served: Any, tmp_path: Path) -> None:
    out = run_monitor(served["inputs"], tmp_path / "missing", tmp_path / "out")
    assert out["drift.json"]["verdict"] == monitor_stats.INSUFFICIENT_DATA
    assert out["drift.json"]["counts"]["files"] == 0


def test_min_rows_is_an_option(served: Any, tmp_path: Path) -> None:
    capture_dir = write_capture(tmp_path / "c", traffic_lines(served, "50"))
    out = run_monitor(served["inputs"], capture_dir, tmp_path / "out", "--min-rows", "40")
    # Judged (at 50 rows a verdict is noisy: hence the default minimum of 200).
    assert out["drift.json"]["verdict"] != monitor_stats.INSUFFICIENT_DATA
    assert out["drift.json"]["thresholds"]["min_rows"] == 40


def test_a_prediction_shift_alone_is_drift(served: Any, tmp_path: Path) -> None:
    bodies = traffic.traffic(served["test"], served["features"], "300")
    classes = len(json.loads(served["answer"](bodies[0]))[0])
    always_first = json.dumps([[1.0] + [0.0] * (classes - 1)] * 10)
    lines = [record(body, always_first) for body in bodies]
    out = run_monitor(served["inputs"], write_capture(tmp_path / "c", lines), tmp_path / "out")
    drift = out["drift.json"]
    assert drift["verdict"] == monitor_stats.DRIFT and drift["drifted_features"] == []
    assert drift["predictions"]["drifted"] and drift["predictions"]["observed_shares"][0] == 1.0
    assert "predicted classes (PSI" in drift["message"]
    assert out["summary.json"]["prediction_drift"] is True
    assert any(m["MetricName"] == "PredictionPSI" for m in out["metric_data.json"])


def test_thresholds_are_options(served: Any, tmp_path: Path) -> None:
    capture_dir = write_capture(tmp_path / "c", traffic_lines(served, "300"))
    out = run_monitor(
        served["inputs"],
        capture_dir,
        tmp_path / "out",
        "--psi-threshold",
        "0.01",
        "--ks-threshold",
        "5",
    )
    assert out["drift.json"]["verdict"] == monitor_stats.DRIFT
    assert out["drift.json"]["thresholds"] == {
        "psi": 0.01,
        "ks": 5.0,
        "prediction_psi": 0.2,
        "min_rows": 200,
    }
    assert all("KS" not in " ".join(f["reasons"]) for f in out["drift.json"]["features"])


# --------------------------------------------------------------------------- capture format


def test_the_documented_capture_records_parse(tmp_path: Path) -> None:
    """AWS's own example (View Captured Data): CSV in, CSV out, the event's id and time."""
    path = event_file("data_capture_documented.jsonl")
    events = [item for _, item in capture.read_events(path)]
    assert len(events) == 2 and all(isinstance(e, capture.CapturedEvent) for e in events)
    first = events[0]
    assert isinstance(first, capture.CapturedEvent) and first.request and first.response
    assert first.request.content_type == "text/csv"
    assert first.request.text.startswith("69,0,153.7,109,") and first.request.text.endswith("\n")
    assert first.response == capture.Payload("text/csv; charset=utf-8", "0.0254181120544672")
    assert first.event_id == "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
    assert capture.iso(first.inference_time) == "2022-02-14T17:25:49Z"
    rows, header = capture.request_rows(first.request, [f"f{i}" for i in range(69)])
    assert (len(rows), len(rows[0]), header) == (1, 69, False)


def test_the_documented_records_of_another_model_are_refused_not_fatal(
    served: Any, tmp_path: Path
) -> None:
    folder = tmp_path / "c" / "other-endpoint" / "AllTraffic" / "2022" / "02" / "14" / "17"
    folder.mkdir(parents=True)
    shutil.copy2(event_file("data_capture_documented.jsonl"), folder / "a.jsonl")
    out = run_monitor(
        served["inputs"],
        tmp_path / "c",
        tmp_path / "out",
        "--start",
        "2022-02-14T17:00:00Z",
        "--end",
        "2022-02-14T18:00:00Z",
    )
    counts = out["drift.json"]["counts"]
    assert (counts["records"], counts["rows"], counts["rows_refused"]) == (2, 0, 2)
    assert counts["outputs_refused"] == 2
    assert out["drift.json"]["refusals"]["by_kind"] == {
        "output-not-probabilities": 2,
        "wrong-column-count": 2,
    }
    example = out["drift.json"]["refusals"]["examples"][0]
    assert example["where"] == "other-endpoint/AllTraffic/2022/02/14/17/a.jsonl line 1"


def test_base64_json_and_csv_encodings_give_the_same_statistics(
    served: Any, tmp_path: Path
) -> None:
    results = []
    for encoding in ("CSV", "BASE64", "JSON"):
        lines = traffic_lines(served, "240", encoding=encoding)
        capture_dir = write_capture(tmp_path / encoding, lines)
        results.append(run_monitor(served["inputs"], capture_dir, tmp_path / f"out-{encoding}"))
    assert results[1]["drift.json"]["counts"]["rows"] == 240
    features = [r["drift.json"]["features"] for r in results]
    assert features[0] == features[1] == features[2]
    line = json.loads(traffic_lines(served, "10", encoding="BASE64")[0])
    assert line["captureData"]["endpointInput"]["encoding"] == "BASE64"


def test_a_header_of_the_feature_names_is_skipped(served: Any, tmp_path: Path) -> None:
    features = served["features"]
    body = ",".join(features) + "\n" + traffic.traffic(served["test"], features, "5", "", 5)[0]
    lines = [record(body, served["answer"](body))] * 60
    out = run_monitor(served["inputs"], write_capture(tmp_path / "c", lines), tmp_path / "out")
    counts = out["drift.json"]["counts"]
    assert (counts["header_rows"], counts["rows"], counts["prediction_rows"]) == (60, 300, 300)
    assert all(f["missing_share"] == 0 for f in out["drift.json"]["features"])


def test_missing_and_out_of_range_shares(served: Any, tmp_path: Path) -> None:
    features = served["features"]
    entries = json.loads((served["inputs"]["baseline"] / "baseline.json").read_text())["features"]
    lowest = [repr(entry["min"]) for entry in entries]  # in range: the training minimum
    beyond = repr(entries[1]["max"] + 100)
    rows = [",".join(["", *lowest[1:]]), ",".join([lowest[0], beyond, *lowest[2:]])]
    lines = [record("\n".join(rows) + "\n", None)] * 100
    out = run_monitor(
        served["inputs"], write_capture(tmp_path / "c", lines), tmp_path / "out", "--min-rows", "1"
    )
    stats = {f["name"]: f for f in out["drift.json"]["features"]}
    assert stats[features[0]]["missing_share"] == 0.5
    assert stats[features[0]]["out_of_range_share"] == 0.0
    assert stats[features[1]]["out_of_range_share"] == 0.5
    assert stats[features[2]]["out_of_range_share"] == 0.0
    assert out["drift.json"]["counts"]["prediction_rows"] == 0  # input-only capture


def test_every_refusal_is_counted_and_reported(served: Any, tmp_path: Path) -> None:
    body = traffic.traffic(served["test"], served["features"], "2", "", 2)[0]
    good = record(body, served["answer"](body))
    error = json.dumps({"error": "ValueError", "error-message": "row 1: 'x' is not a number"})
    bad_base64 = json.loads(record(body, None, encoding="BASE64"))
    bad_base64["captureData"]["endpointInput"]["data"] = "***"
    json_input = json.loads(good)
    json_input["captureData"]["endpointInput"]["observedContentType"] = "application/json"
    lines = [
        good,
        "this is not json",
        json.dumps({"hello": "world"}),
        record(body, None, when="yesterday"),
        json.dumps(bad_base64),
        json.dumps(json_input),
        record("1,2\n", None),
        record(body, error),
        record(body, "[[0.5, 0.5]]"),
        record(body, None, when="2024-05-01T12:59:59Z"),  # before the window: not a refusal
        "",
    ]
    out = run_monitor(
        served["inputs"], write_capture(tmp_path / "c", lines), tmp_path / "out", "--min-rows", "1"
    )
    drift = out["drift.json"]
    assert drift["refusals"]["by_kind"] == {
        "bad-base64": 1,
        "bad-inference-time": 1,
        "input-content-type": 1,
        "not-a-capture-record": 1,
        "output-not-probabilities": 2,
        "unreadable-line": 1,
        "wrong-column-count": 1,
    }
    counts = drift["counts"]
    assert counts["records_refused"] == 4 and counts["records_outside_window"] == 1
    assert counts["records"] == 5 and counts["rows_refused"] == 1 and counts["outputs_refused"] == 2
    assert counts["rows"] == 2 + 2 + 2  # good, endpoint error, wrong answer width
    reasons: dict[str, str] = {}
    for example in drift["refusals"]["examples"]:
        reasons.setdefault(example["kind"], example["reason"])
    assert reasons["output-not-probabilities"].startswith("the endpoint answered an error: row 1")
    assert reasons["wrong-column-count"] == (
        f"row 1 has 2 values, the contract has {len(served['features'])} features"
    )
    assert out["summary.json"]["records_refused"] == 4


def test_an_answer_for_fewer_rows_than_asked_is_refused(served: Any, tmp_path: Path) -> None:
    body = traffic.traffic(served["test"], served["features"], "3", "", 3)[0]
    one = json.dumps(json.loads(served["answer"](body))[:1])
    out = run_monitor(
        served["inputs"],
        write_capture(tmp_path / "c", [record(body, one)]),
        tmp_path / "o",
        "--min-rows",
        "1",
    )
    assert out["drift.json"]["refusals"]["by_kind"] == {"output-row-count": 1}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2022-02-14T17:25:49Z", "2022-02-14T17:25:49Z"),
        ("2025-11-15T10:30:45.123Z", "2025-11-15T10:30:45.123000Z"),
        ("2024-05-01T15:00:00+02:00", "2024-05-01T13:00:00Z"),
    ],
)
def test_inference_times_parse_to_utc(text: str, expected: str) -> None:
    assert capture.iso(capture.parse_timestamp(text)) == expected


@pytest.mark.parametrize("text", ["2024-05-01T13:00:00", "2024-05-01", "yesterday", "", None])
def test_times_without_a_zone_are_refused(text: Any) -> None:
    with pytest.raises(ValueError, match="ISO 8601 time with a zone"):
        capture.parse_timestamp(text)


def test_the_window_is_start_inclusive_end_exclusive(served: Any, tmp_path: Path) -> None:
    body = traffic.traffic(served["test"], served["features"], "1", "", 1)[0]
    lines = [record(body, None, when) for when in (START, "2024-05-01T13:59:59.999Z", END)]
    out = run_monitor(
        served["inputs"], write_capture(tmp_path / "c", lines), tmp_path / "o", "--min-rows", "1"
    )
    assert out["drift.json"]["counts"]["records"] == 2
    assert out["drift.json"]["window"] == {"start": START, "end": END}


# --------------------------------------------------------------------------- statistics


def test_psi_and_ks_values() -> None:
    assert monitor_stats.psi([10, 20, 30], [10, 20, 30]) == 0.0
    assert monitor_stats.psi([10, 20, 30], [0, 0, 0]) is None
    # Add-half shares: expected (10.5, 10.5)/21, observed (0.5, 20.5)/21.
    e, o = np.asarray([0.5, 0.5]), np.asarray([0.5, 20.5]) / 21
    value = monitor_stats.psi([10, 10], [0, 20])
    assert value == pytest.approx(float(np.sum((o - e) * np.log(o / e))))
    tested = monitor_stats.ks([1.0, 2.0, 3.0, 4.0], np.asarray([3.0, 4.0, 5.0, 6.0]))
    assert tested is not None
    statistic, pvalue = tested
    assert statistic == 0.5 and 0 < pvalue <= 1
    assert monitor_stats.ks([], np.asarray([1.0])) is None


# --------------------------------------------------------------------------- inputs and errors


def test_a_missing_baseline_is_a_named_error(
    served: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    failure = tmp_path / "message"
    monkeypatch.setenv(failures.FAILURE_FILE_ENV, str(failure))
    argv = ["--baseline-dir", str(tmp_path), "--contract-dir", str(served["inputs"]["contract"])]
    code = monitor.main([*argv, "--output-dir", str(tmp_path / "o"), "--endpoint-name", "e"])
    assert code == monitor.INPUT_ERROR_EXIT_CODE
    assert failure.read_text().startswith(
        f"MonitorInputError: baseline: no baseline file at {tmp_path / 'baseline.json'}"
    )
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("contract", "MonitorInputError: no contract.json in"),
        ("features", "MonitorInputError: the baseline's features differ from the contract's"),
        ("window", "MonitorInputError: --start 2024-05-01T14:00:00Z is not before --end"),
        ("time", "MonitorInputError: --start/--end: '13:00' is not an ISO 8601 time"),
        ("threshold", "MonitorInputError: invalid arguments: argument --psi-threshold"),
        ("endpoint", "MonitorInputError: invalid arguments: argument --endpoint-name: must be"),
    ],
)
def test_bad_inputs_are_named_errors(
    served: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, change: str, message: str
) -> None:
    failure = tmp_path / "message"
    monkeypatch.setenv(failures.FAILURE_FILE_ENV, str(failure))
    contract_dir = tmp_path / "contract"
    contract = json.loads((served["inputs"]["contract"] / "contract.json").read_text())
    if change == "features":
        contract["feature_columns"] = list(reversed(contract["feature_columns"]))
    if change != "contract":
        contract_dir.mkdir()
        (contract_dir / "contract.json").write_text(json.dumps(contract))
    argv = [
        "--baseline-dir",
        str(served["inputs"]["baseline"]),
        "--contract-dir",
        str(contract_dir),
    ]
    argv += ["--output-dir", str(tmp_path / "o"), "--endpoint-name", "e"]
    argv += {
        "endpoint": ["--endpoint-name", ""],
        "window": ["--start", END, "--end", START],
        "time": ["--start", "13:00"],
        "threshold": ["--psi-threshold", "-1"],
    }.get(change, [])
    assert monitor.main(argv) == monitor.INPUT_ERROR_EXIT_CODE
    assert failure.read_text().startswith(message)


# --------------------------------------------------------------------------- outputs


def wide_inputs(directory: Path, names: list[str], shift: float) -> tuple[dict[str, Path], Path]:
    """A baseline of many features from random data, and capture of shifted rows."""
    rng = np.random.RandomState(1)
    split = directory / "train" / "train.csv"
    split.parent.mkdir(parents=True)
    data = rng.normal(size=(400, len(names)))
    split.write_text("".join("0," + ",".join(repr(float(v)) for v in row) + "\n" for row in data))
    built = baseline.feature_baseline(split, names)
    distribution = baseline.prediction_distribution(np.asarray([[0.6, 0.4]] * 10), ["a", "b"])
    (directory / "baseline").mkdir()
    (directory / "baseline" / "baseline.json").write_text(
        baseline.baseline_text(baseline.with_predictions(built, distribution))
    )
    (directory / "contract").mkdir()
    (directory / "contract" / "contract.json").write_text(
        dataset.text(
            dataset.build(
                label_column="y",
                feature_columns=names,
                class_names=["a", "b"],
                rows={"train": 400},
                class_counts={},
                source_files=["wide.csv"],
                source_bytes=1,
            )
        )
    )
    # Each feature shifted a little more than the one before it: severity orders them.
    rows = rng.normal(size=(300, len(names))) + shift * np.arange(len(names)) / len(names)
    body = "".join(",".join(repr(float(v)) for v in row) + "\n" for row in rows)
    capture_dir = write_capture(directory / "capture", [record(body, None)])
    return {"baseline": directory / "baseline", "contract": directory / "contract"}, capture_dir


def test_metric_data_is_valid_put_metric_data_and_bounded(tmp_path: Path) -> None:
    names = [f"feature_{i:04d}_" + "x" * 100 for i in range(600)] + ["y" * 1100]
    inputs, capture_dir = wide_inputs(tmp_path, names, shift=3.0)
    out = run_monitor(inputs, capture_dir, tmp_path / "out")
    items = out["metric_data.json"]
    assert len(items) <= monitor_report.MAX_METRIC_ITEMS
    text = (tmp_path / "out" / "metric_data.json").read_text()
    assert len(text.encode()) <= monitor_report.METRIC_DATA_MAX_BYTES
    model = botocore.session.get_session().get_service_model("cloudwatch")
    shape = model.operation_model("PutMetricData").input_shape
    assert shape is not None
    request = {"Namespace": monitor_report.METRIC_NAMESPACE, "MetricData": items}
    report = ParamValidator().validate(request, shape)
    assert not report.has_errors(), report.generate_report()
    per_feature = [m["Dimensions"][1]["Value"] for m in items if len(m["Dimensions"]) == 2]
    # The most drifted first (the last features are shifted most); the 1100-character name
    # exceeds a dimension value's 1024 and is left out, as are those that do not fit.
    assert per_feature[0] in names[550:600] and names[0] not in per_feature
    assert "y" * 1100 not in per_feature
    summary = out["summary.json"]
    assert summary["metrics"]["features_left_out"] == len(names) - len(per_feature) // 2
    assert summary["metrics"]["items"] == len(items)


def test_summary_stays_small_whatever_the_features(tmp_path: Path) -> None:
    names = [f"f{i:04d}" + "z" * 400 for i in range(600)]
    inputs, capture_dir = wide_inputs(tmp_path, names, shift=30.0)
    out = run_monitor(inputs, capture_dir, tmp_path / "out")
    summary = out["summary.json"]
    assert summary["verdict"] == monitor_stats.DRIFT
    drifted = out["drift.json"]["drifted_features"]
    assert summary["drifted_feature_count"] == len(drifted) > monitor_report.SUMMARY_FEATURES
    assert len(summary["drifted_features"]) == monitor_report.SUMMARY_FEATURES
    assert len(summary["top_features"]) == monitor_report.SUMMARY_TOP
    assert all(len(name) <= monitor_report.SUMMARY_NAME_MAX for name in summary["drifted_features"])
    assert len(summary["message"]) <= monitor_report.SUMMARY_TEXT_MAX
    assert len((tmp_path / "out" / "summary.json").read_bytes()) < 32 * 1024


def test_the_html_section_is_escaped_and_self_contained(tmp_path: Path) -> None:
    names = ["<script>alert(1)</script>", "a&b"]
    inputs, capture_dir = wide_inputs(tmp_path, names, shift=5.0)
    run_monitor(inputs, capture_dir, tmp_path / "out")
    page = (tmp_path / "out" / "drift.html").read_text()
    assert page.startswith('<section class="drift-report"') and page.rstrip().endswith("</section>")
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "a&amp;b" in page and "http" not in page


def test_drift_json_shape(served: Any, tmp_path: Path) -> None:
    out = run_monitor(
        served["inputs"],
        write_capture(tmp_path / "c", traffic_lines(served, "200")),
        tmp_path / "o",
    )
    drift = out["drift.json"]
    assert set(drift) == {
        "schema_version",
        "verdict",
        "endpoint",
        "window",
        "counts",
        "thresholds",
        "drifted_features",
        "features",
        "predictions",
        "refusals",
        "message",
    }
    assert drift["schema_version"] == monitor_stats.SCHEMA_VERSION and drift["endpoint"] == ENDPOINT
    feature = drift["features"][0]
    assert set(feature) == {
        "name",
        "rows",
        "psi",
        "ks",
        "ks_pvalue",
        "missing_share",
        "out_of_range_share",
        "baseline",
        "bins",
        "drifted",
        "reasons",
    }
    assert sum(feature["bins"]["observed_counts"]) == 200
    assert math.isclose(sum(feature["bins"]["observed_shares"]), 1.0, abs_tol=1e-5)


# --------------------------------------------------------------------------- container


@pytest.mark.sklearn12
def test_the_monitor_bundle_runs_alone_under_the_container_python(
    served: Any, tmp_path: Path
) -> None:
    """The bundle copied alone runs under the scikit-learn 1.2-1 image's environment, the image
    the monitoring job runs on (Python 3.9, numpy 1.24.1, scipy 1.8.0, pandas 1.1.3)."""
    python = container_python.sklearn12_python()
    code = bundles.copy_bundle("monitor", tmp_path / "code").parent
    shifted = served["features"][3]
    capture_dir = write_capture(tmp_path / "c", traffic_lines(served, "300", f"{shifted}=2"))
    completed = subprocess.run(
        [
            str(python),
            "-E",
            "-s",
            str(code / "monitor.py"),
            "--baseline-dir",
            str(served["inputs"]["baseline"]),
            "--contract-dir",
            str(served["inputs"]["contract"]),
            "--capture-dir",
            str(capture_dir),
            "--output-dir",
            str(tmp_path / "out"),
            "--endpoint-name",
            ENDPOINT,
        ],
        cwd=code,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    local = run_monitor(
        served["inputs"], capture_dir, tmp_path / "local", "--start", "", "--end", ""
    )
    container = json.loads((tmp_path / "out" / "drift.json").read_text())
    assert container["verdict"] == monitor_stats.DRIFT
    assert container["drifted_features"] == [shifted]
    # The same numbers as the local stack (numpy, scipy and Python versions apart).
    assert container["features"] == local["drift.json"]["features"]
