"""The demo's console lines (pure formatting)."""

from __future__ import annotations

from local.demo import describe_event, path_summary, progress_bar


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
