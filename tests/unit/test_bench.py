"""`make bench`'s pure parts: the generator, percentiles, results.json's schema, targets, table.

Nothing here runs the 1M-row bench: the generator and the baselines run on a few thousand rows,
and the child-process measurement on a tiny Python child.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from bench import baselines, children, cli, dataset, endpoint, results, subjects
from ml import train

SEED_CSV = dataset.SEED_CSV


def sample_results(**overrides: Any) -> dict[str, Any]:
    """A results document with round, hand-checkable figures."""
    doc: dict[str, Any] = {
        "prepare": {
            "rows": 1_000_000,
            "input_bytes": 30_000_000,
            "seconds": 12.0,
            "peak_rss_bytes": 60_000_000,
            "baseline_seconds": 10.0,
            "baseline_peak_rss_bytes": 200_000_000,
        },
        "train": {
            "rows": 800_000,
            "input_bytes": 14_000_000,
            "seconds": 33.0,
            "peak_rss_bytes": 300_000_000,
            "baseline_seconds": 30.0,
            "baseline_peak_rss_bytes": 290_000_000,
        },
        "endpoint": {
            "samples": 200,
            "floor_call": "sts:GetCallerIdentity",
            "p50_1_row_seconds": 0.05,
            "p99_1_row_seconds": 0.09,
            "p50_100_rows_seconds": 0.06,
            "p99_100_rows_seconds": 0.12,
            "floor_p50_seconds": 0.02,
            "floor_p99_seconds": 0.04,
        },
    }
    for block, fields in overrides.items():
        doc[block] = {**doc[block], **fields}
    return doc


# --------------------------------------------------------------------------- percentiles


@pytest.mark.parametrize("q", [0, 1, 50, 90, 99, 100])
def test_percentile_matches_numpys_linear_interpolation(q: float) -> None:
    samples = list(np.random.RandomState(3).exponential(0.05, size=200))
    assert results.percentile(samples, q) == pytest.approx(float(np.percentile(samples, q)))


def test_percentile_by_hand() -> None:
    assert results.percentile([4.0, 1.0, 3.0, 2.0], 50) == 2.5  # unsorted input is sorted
    assert results.percentile([1.0, 2.0, 3.0, 4.0, 5.0], 99) == pytest.approx(4.96)
    assert results.percentile([7.0], 99) == 7.0


def test_percentile_refuses_no_samples_and_bad_q() -> None:
    with pytest.raises(ValueError, match="no samples"):
        results.percentile([], 50)
    with pytest.raises(ValueError, match=r"outside 0\.\.100"):
        results.percentile([1.0], 101)


def test_latency_fields_are_the_endpoint_schema() -> None:
    fields = results.latency_fields(
        [0.01] * 200, [0.02] * 197 + [0.5] * 3, [0.005] * 200, endpoint.FLOOR_CALL
    )
    assert tuple(sorted(fields)) == tuple(sorted(results.ENDPOINT_FIELDS))
    assert fields["samples"] == 200
    assert fields["p50_100_rows_seconds"] == 0.02
    assert fields["p99_100_rows_seconds"] == 0.5  # the slowest 1.5% show in p99


# --------------------------------------------------------------------------- schema


def test_issue_fields_are_the_schema() -> None:
    """The field names results.json must carry, verbatim."""
    required = {
        "rows",
        "input_bytes",
        "seconds",
        "peak_rss_bytes",
        "baseline_seconds",
        "baseline_peak_rss_bytes",
    }
    assert set(results.SCHEMA["prepare"]) == required
    assert set(results.SCHEMA["train"]) == required


def test_sample_results_pass_the_schema() -> None:
    results.check_results(sample_results())


def test_run_block_writes_exactly_the_schema() -> None:
    run = children.ChildRun(seconds=1.5, cpu_seconds=1.0, peak_rss_bytes=10, returncode=0)
    block = cli.run_block(run, run, rows=5, input_bytes=100)
    assert tuple(block) == results.RUN_FIELDS


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        (
            {"prepare": sample_results()["prepare"], "train": sample_results()["train"]},
            "no 'endpoint' block",
        ),
        (
            {**sample_results(), "train": {**sample_results()["train"], "extra": 1}},
            r"unexpected fields \['extra'\]",
        ),
        (
            {
                **sample_results(),
                "prepare": {
                    k: v for k, v in sample_results()["prepare"].items() if k != "peak_rss_bytes"
                },
            },
            r"missing fields \['peak_rss_bytes'\]",
        ),
        (sample_results(train={"seconds": -1.0}), "'train.seconds' must be a non-negative"),
        (sample_results(train={"rows": True}), "'train.rows' must be a non-negative"),
        (sample_results(endpoint={"floor_call": ""}), "must name the API call"),
    ],
)
def test_check_results_refuses(doc: dict[str, Any], message: str) -> None:
    with pytest.raises(results.ResultsError, match=message):
        results.check_results(doc)


# --------------------------------------------------------------------------- targets + table


def test_targets_are_the_issues() -> None:
    found = {t.name: t for t in results.targets(sample_results())}
    assert found["prepare time"].measured == pytest.approx(1.2)
    assert found["prepare time"].limit == 1.5
    assert found["prepare memory"].measured == pytest.approx(2.0)  # 60 MB over a 30 MB input
    assert found["prepare memory"].limit == 3.0
    assert found["train time"].measured == pytest.approx(1.1)
    assert found["train time"].limit == 1.1
    assert all(t.passed for t in found.values())  # at the limit is within it


def test_targets_over() -> None:
    doc = sample_results(prepare={"seconds": 16.0, "peak_rss_bytes": 91_000_000})
    over = {t.name for t in results.targets(doc) if not t.passed}
    assert over == {"prepare time", "prepare memory"}
    assert "prepare time (1.60x > 1.5x)" in results.summary(results.targets(doc))
    assert "exits 0" in results.summary(results.targets(doc))


def test_table_shows_each_figure_beside_its_baseline() -> None:
    table = results.render_table(sample_results(train={"seconds": 36.0}))
    lines = {line.split("  ")[0]: line for line in table.splitlines()}
    assert "12.00 s" in lines["prepare time"]
    assert "10.00 s" in lines["prepare time"]
    assert "1.20x" in lines["prepare time"]
    assert "PASS" in lines["prepare time"]
    assert "2.00x input" in lines["prepare peak RSS"]
    assert "1.20x" in lines["train time"]
    assert "OVER TARGET" in lines["train time"]
    assert "50.0 ms" in lines["invoke 1 row p50"]
    assert "20.0 ms" in lines["invoke 1 row p50"]
    assert "2.50x" in lines["invoke 1 row p50"]
    assert "3.00x" in lines["invoke 100 rows p99"]
    assert "floor = sts:GetCallerIdentity" in table


def test_table_shows_cpu_time_when_measured() -> None:
    assert "CPU time" not in results.render_table(sample_results())
    cpu = {"seconds": 30.0, "baseline_seconds": 25.0}
    doc = {**sample_results(), "cpu": {"prepare": cpu, "train": cpu}}
    lines = {line.split("  ")[0]: line for line in results.render_table(doc).splitlines()}
    assert "30.00 s" in lines["train CPU time"]
    assert "25.00 s" in lines["train CPU time"]
    assert "1.20x" in lines["train CPU time"]


def test_table_notes_the_import_floor_when_measured() -> None:
    assert "nothing read" not in results.render_table(sample_results())
    doc = {**sample_results(), "environment": {"pandas_import_peak_rss_bytes": 75_000_000}}
    assert "nothing read: 75 MB peak, 2.50x the input" in results.render_table(doc)


def test_targets_block_records_verdicts() -> None:
    block = results.targets_block(results.targets(sample_results(train={"seconds": 40.0})))
    assert {b["name"]: b["passed"] for b in block} == {
        "prepare time": True,
        "prepare memory": True,
        "train time": False,
    }
    json.dumps(block)  # results.json can hold it


# --------------------------------------------------------------------------- the generator


def seed_profile() -> dataset.Profile:
    return dataset.profile_of(pd.read_csv(SEED_CSV), str(pd.read_csv(SEED_CSV).columns[-1]))


def test_generator_is_deterministic() -> None:
    profile = seed_profile()
    first = dataset.csv_bytes(dataset.generate_frame(profile, 3000, seed=11))
    again = dataset.csv_bytes(dataset.generate_frame(profile, 3000, seed=11))
    other = dataset.csv_bytes(dataset.generate_frame(profile, 3000, seed=12))
    assert first == again
    assert first != other


def test_generated_data_looks_like_the_seed() -> None:
    seed = pd.read_csv(SEED_CSV)
    label = str(seed.columns[-1])
    frame = dataset.generate_frame(dataset.profile_of(seed, label), 3001, seed=11)
    assert list(frame.columns) == list(seed.columns)
    assert len(frame) == 3001
    counts = frame[label].value_counts()
    assert set(counts.index) == set(seed[label])
    assert counts.max() - counts.min() <= 1  # the seed's classes are balanced
    for name, group in frame.groupby(label):
        seed_means = seed[seed[label] == name].drop(columns=[label]).mean()
        assert np.allclose(group.drop(columns=[label]).mean(), seed_means, atol=0.05)
    assert (frame.drop(columns=[label]) > 0).all().all()


def test_profile_refuses_an_absent_label() -> None:
    with pytest.raises(ValueError, match="'Nope' is not in the seed file's columns"):
        dataset.profile_of(pd.read_csv(SEED_CSV), "Nope")


def test_ensure_dataset_reuses_only_an_identical_file(tmp_path: Path) -> None:
    path = tmp_path / "input" / "data.csv"
    first = dataset.ensure_dataset(path, 2000, seed=5)
    assert first.generated
    assert first.input_bytes == path.stat().st_size
    assert first.label_column == str(pd.read_csv(SEED_CSV).columns[-1])
    assert not dataset.ensure_dataset(path, 2000, seed=5).generated
    content = path.read_bytes()

    path.write_bytes(content.replace(b"\n", b"\r\n", 1))  # tampered: regenerated
    assert dataset.ensure_dataset(path, 2000, seed=5).generated
    assert path.read_bytes() == content
    assert dataset.ensure_dataset(path, 2001, seed=5).generated  # another recipe
    assert dataset.ensure_dataset(path, 2001, seed=6).generated
    assert [p.name for p in path.parent.iterdir() if p.suffix == ".csv"] == ["data.csv"]


# --------------------------------------------------------------------------- children


def test_maxrss_units() -> None:
    assert children.maxrss_bytes(1000, "linux") == 1_024_000
    assert children.maxrss_bytes(1000, "darwin") == 1000


def test_run_measured_sees_the_childs_peak(tmp_path: Path) -> None:
    # The child touches 200 MB and frees it; the parent never holds it. This test process holds
    # pandas and numpy: a child forked from it directly would start near its size.
    allocate = "b = bytearray(200 * 1024 * 1024); del b"
    run = children.run_measured([sys.executable, "-c", allocate], tmp_path / "child.log")
    idle = children.run_measured([sys.executable, "-c", "pass"], tmp_path / "idle.log")
    assert run.returncode == 0
    assert run.peak_rss_bytes >= 200 * 1024 * 1024
    assert idle.peak_rss_bytes < 50 * 1024 * 1024
    assert run.seconds > 0
    assert run.cpu_seconds > 0


def test_run_measured_names_a_failed_child_and_its_log(tmp_path: Path) -> None:
    log = tmp_path / "fail.log"
    with pytest.raises(children.ChildFailed, match=f"exited with code 3; its output is in {log}"):
        children.run_measured([sys.executable, "-c", "import sys; print('boom'); sys.exit(3)"], log)
    assert "boom" in log.read_text()


# --------------------------------------------------------------------------- subjects + baselines


def test_prepare_is_invoked_as_the_contract_says(tmp_path: Path) -> None:
    argv = subjects.prepare_command(tmp_path / "in", tmp_path / "out", "Species")
    assert argv[1] == str(subjects.PREPARE_SCRIPT)
    assert argv[argv.index("--label-column") + 1] == "Species"
    assert argv[argv.index("--input-dir") + 1] == str(tmp_path / "in")


def test_train_runs_in_script_mode(tmp_path: Path) -> None:
    env = subjects.train_environment(tmp_path / "p", tmp_path / "m", tmp_path / "o", base={})
    assert env["SM_CHANNEL_TRAIN"] == str(tmp_path / "p" / "train")
    assert env["SM_CHANNEL_VALIDATION"] == str(tmp_path / "p" / "validation")
    assert env["SM_CHANNEL_CONTRACT"] == str(tmp_path / "p" / "contract")
    assert env["SM_MODEL_DIR"] == str(tmp_path / "m")
    # train.py accepts the bench's hyperparameters as script mode passes them.
    args, unknown = train.parse_args(subjects.hyperparameter_args(subjects.HYPERPARAMETERS))
    assert unknown == []
    for name, value in subjects.HYPERPARAMETERS.items():
        assert getattr(args, name) == value


def test_baseline_trains_with_the_same_hyperparameters(tmp_path: Path) -> None:
    argv = subjects.baseline_train_command(tmp_path, subjects.HYPERPARAMETERS)
    assert argv[1:3] == ["-m", "bench.baselines"]
    args = baselines.parse_args(argv[3:])
    for name, value in subjects.HYPERPARAMETERS.items():
        assert getattr(args, name) == value


def test_baseline_booster_params_follow_the_class_count() -> None:
    hp = subjects.HYPERPARAMETERS
    multi = baselines.booster_params(hp, 3)
    assert multi["objective"] == "multi:softprob"
    assert multi["num_class"] == 3
    assert multi["eval_metric"] == train.EVAL_METRICS["multi:softprob"]
    binary = baselines.booster_params(hp, 2)
    assert binary["objective"] == "binary:logistic"
    assert "num_class" not in binary
    assert binary["eval_metric"] == train.EVAL_METRICS["binary:logistic"]
    assert multi["max_depth"] == hp["max_depth"]
    assert multi["eta"] == hp["eta"]


def test_stratified_split_is_60_20_20_per_class() -> None:
    labels = np.repeat([0, 1, 2], [500, 300, 200])
    parts = baselines.stratified_split(labels, seed=42)
    everything = np.concatenate(list(parts.values()))
    assert sorted(everything) == list(range(1000))  # disjoint and complete
    for name, share in baselines.SPLIT_SHARES:
        counts = np.bincount(labels[parts[name]], minlength=3)
        assert list(counts) == [round(n * share) for n in (500, 300, 200)]


def test_baseline_prepare_writes_label_index_first(tmp_path: Path) -> None:
    data = dataset.ensure_dataset(tmp_path / "in" / "d.csv", 1000, seed=1)
    baselines.prepare(data.path, tmp_path / "out", data.label_column)
    train_split = pd.read_csv(tmp_path / "out" / "train" / "train.csv", header=None)
    assert len(train_split) == 600
    assert set(train_split[0]) == {0, 1, 2}
    assert train_split.shape[1] == len(pd.read_csv(data.path).columns)


def test_check_answer() -> None:
    endpoint.check_answer(b"[[0.1, 0.8, 0.1], [0.7, 0.2, 0.1]]", 2)
    with pytest.raises(RuntimeError, match="not 3 rows of probabilities"):
        endpoint.check_answer(b"[[0.1, 0.8, 0.1]]", 3)
    with pytest.raises(RuntimeError, match="non-JSON"):
        endpoint.check_answer(b"<html>500</html>", 1)


def test_request_rows_are_features_only(tmp_path: Path) -> None:
    split = tmp_path / "test.csv"
    split.write_text("1,6.4,3.2,4.5,1.5\n0,5.1,3.5,1.4,0.2\n2,7.7,3.0,6.1,2.3\n")
    assert endpoint.request_rows(split, 2) == "6.4,3.2,4.5,1.5\n5.1,3.5,1.4,0.2\n"
    with pytest.raises(ValueError, match="has 3 rows, 100 are needed"):
        endpoint.request_rows(split, 100)
