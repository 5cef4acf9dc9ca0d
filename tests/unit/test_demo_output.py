"""The demo's console lines (pure formatting)."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness import demo
from harness.console import describe_event, path_summary, progress_bar
from harness.summary import prediction_line


def test_progress_bar() -> None:
    assert progress_bar(0, 4, width=4) == "[....] 0/4"
    assert progress_bar(2, 4, width=4) == "[##..] 2/4"
    assert progress_bar(4, 4, width=4) == "[####] 4/4"


def test_path_summary_counts_polling_states() -> None:
    states = ["A", "Wait", "Describe", "Wait", "Describe", "B"]
    assert path_summary(states) == "A → Wait (x2) → Describe (x2) → B"


def test_trial_line_shows_parameters_metric_and_progress() -> None:
    line = describe_event(
        {
            "type": "trial_finished",
            "trial": 2,
            "of": 3,
            "params": {"eta": "0.20419964330920537", "max_depth": "6"},
            "objective": 0.13824,
            "objective_metric": "validation:mlogloss",
            "status": "Completed",
        }
    )
    assert line is not None
    assert "2/3" in line
    assert "eta=0.2042 max_depth=6" in line
    assert "validation:mlogloss=0.1382" in line


def test_failed_step_line_names_the_reason() -> None:
    line = describe_event(
        {
            "type": "step_finished",
            "step": "PrepareData",
            "status": "Failed",
            "seconds": 0.5,
            "failure_reason": "AlgorithmError: line 6, column 'SepalWidth'",
        }
    )
    assert line == (
        "    pipeline step PrepareData: Failed (0.5 s)"
        " - AlgorithmError: line 6, column 'SepalWidth'"
    )


def test_uninteresting_events_have_no_line() -> None:
    assert describe_event({"type": "pipeline_started"}) is None


def test_prediction_line_names_every_class_of_the_contract() -> None:
    line = prediction_line(
        {
            "row": "1.5,2",
            "probabilities": [0.25, 0.75],
            "class_names": ["benign", "malignant"],
            "label": "malignant",
        }
    )
    assert line == "1.5,2: malignant  [benign=0.250, malignant=0.750]"


def test_the_label_is_not_a_terraform_variable() -> None:
    # it travels with the upload as its label-column metadata (docs/own-data.md)
    assert "label_column" not in demo.demo_variables(True, None)
    assert demo.demo_variables(False, 3) == {
        "deploy_endpoint": False,
        "max_tuning_jobs": 3,
        "parallel_tuning_jobs": 2,
    }


def test_no_data_runs_the_seed_data() -> None:
    args = demo.parse_args([])
    demo.check_data(args)
    assert args.data == demo.DEFAULT_DATA


@pytest.mark.parametrize(
    ("files", "argv", "message"),
    [
        ({}, ["--label", "y"], "LABEL=y names a column of DATA, but no DATA was given"),
        ({}, ["--data", "{tmp}/missing.csv", "--label", "y"], "missing.csv: no such file"),
        ({"d.txt": "a,y\n1,0\n"}, ["--data", "{tmp}/d.txt", "--label", "y"], "is not a .csv"),
        ({"d.csv": "a,y\n1,0\n"}, ["--data", "{tmp}/d.csv"], "needs LABEL=<its label column>"),
        (
            {"d.csv": "a,y\n1,0\n"},
            ["--data", "{tmp}/d.csv", "--label", "y (class)"],
            "label_column: got",
        ),
        ({"d.csv": "a,y\n1,0\n"}, ["up", "--data", "{tmp}/d.csv"], "takes no DATA or LABEL"),
    ],
)
def test_data_and_label_preconditions_are_refused_with_what_to_do(
    tmp_path: Path, files: dict[str, str], argv: list[str], message: str
) -> None:
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    args = demo.parse_args([a.replace("{tmp}", str(tmp_path)) for a in argv])
    with pytest.raises(demo.DemoError, match=message.replace("(", r"\(").replace(")", r"\)")):
        demo.check_data(args)


def test_a_csv_with_its_label_is_accepted(tmp_path: Path) -> None:
    data = tmp_path / "Wine Data.CSV"
    data.write_text("a,y\n1,0\n")
    args = demo.parse_args(["--data", str(data), "--label", "class label"])
    demo.check_data(args)
    assert (args.data, args.label) == (data, "class label")
