"""Tests for `ops/traffic.py`: the rows `make traffic ROWS=n SHIFT=<feature>=<factor>` sends."""

from __future__ import annotations

from collections import Counter

import pytest

from ops import traffic
from ops.errors import ConfigError
from ops.traffic import Shift, TrafficError

FEATURES = ["length", "width", "depth"]
SPLIT = "0,1.5,2.0,3\n1,2.5,4.0,6\n2,3.5,6.0,9\n\n"


def test_rows_come_from_the_split_without_the_label() -> None:
    assert traffic.split_rows(SPLIT, FEATURES) == [
        ["1.5", "2.0", "3"],
        ["2.5", "4.0", "6"],
        ["3.5", "6.0", "9"],
    ]


def test_draws_are_seeded_passes_without_replacement() -> None:
    rows = [[str(i)] for i in range(30)]
    drawn = traffic.draw_rows(rows, 70, seed=1)
    assert drawn == traffic.draw_rows(rows, 70, seed=1) != traffic.draw_rows(rows, 70, seed=2)
    counts = Counter(row[0] for row in drawn)
    # 70 rows of 30: two whole passes (each row twice), then 10 distinct rows of a third.
    assert sorted(counts.values()) == [2] * 20 + [3] * 10
    assert len({row[0] for row in drawn[:30]}) == 30


def test_a_shift_multiplies_one_feature_and_keeps_the_others_text() -> None:
    rows = traffic.split_rows(SPLIT, FEATURES)
    shifted = traffic.apply_shift(rows, FEATURES, Shift("width", 1.5))
    assert shifted == [["1.5", "3", "3"], ["2.5", "6", "6"], ["3.5", "9", "9"]]
    assert traffic.apply_shift(rows, FEATURES, None) == rows
    assert traffic.apply_shift([["1", "0.1", "1"]], FEATURES, Shift("width", 3))[0][1] == "0.3"


def test_bodies_are_csv_in_contract_order_with_many_rows_each() -> None:
    bodies = traffic.request_bodies([["1", "2", "3"]] * 5, rows_per_request=2)
    assert bodies == ["1,2,3\n1,2,3\n", "1,2,3\n1,2,3\n", "1,2,3\n"]


def test_traffic_composes_rows_shift_and_bodies() -> None:
    bodies = traffic.traffic(SPLIT, FEATURES, "6", "depth=2", rows_per_request=3)
    assert len(bodies) == 2
    rows = [line.split(",") for body in bodies for line in body.splitlines()]
    assert sorted(row[2] for row in rows) == ["12", "12", "18", "18", "6", "6"]
    assert traffic.traffic(SPLIT, FEATURES, "2", "") == traffic.traffic(SPLIT, FEATURES, "2")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", None),
        ("  ", None),
        ("width=1.5", Shift("width", 1.5)),
        ("depth=0", Shift("depth", 0.0)),
        (" length=-2 ", Shift("length", -2.0)),
    ],
)
def test_shift_parses(text: str, expected: Shift | None) -> None:
    assert traffic.parse_shift(text, FEATURES) == expected


def test_a_feature_name_holding_equals_signs_parses() -> None:
    assert traffic.parse_shift("a=b=2", ["a=b"]) == Shift("a=b", 2.0)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("width", "SHIFT='width' is not SHIFT=<feature>=<factor>"),
        ("=2", "SHIFT='=2' is not SHIFT=<feature>=<factor>"),
        (
            "height=2",
            "SHIFT names 'height', which is not a feature of the model; its features "
            "are length, width, depth",
        ),
        ("width=x", "SHIFT factor 'x' is not a number"),
        ("width=inf", "SHIFT factor 'inf' is not a finite number"),
    ],
)
def test_bad_shift_is_a_named_error(text: str, message: str) -> None:
    with pytest.raises(TrafficError) as caught:
        traffic.parse_shift(text, FEATURES)
    assert str(caught.value).startswith(message)
    assert isinstance(caught.value, ConfigError)  # the ops CLI's usage error: exit code 2


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ("ten", "ROWS='ten' is not a whole number"),
        ("0", "ROWS=0 is outside 1.."),
        ("-3", "outside"),
    ],
)
def test_bad_rows_is_a_named_error(rows: str, message: str) -> None:
    with pytest.raises(TrafficError, match=message):
        traffic.parse_rows(rows)


def test_a_split_of_another_model_is_refused() -> None:
    with pytest.raises(
        TrafficError, match="test split line 1 has 4 fields, expected the label and 2"
    ):
        traffic.split_rows(SPLIT, ["a", "b"])
    with pytest.raises(TrafficError, match="no rows"):
        traffic.split_rows("\n", FEATURES)
    with pytest.raises(TrafficError, match="'n/a' of width is not a number"):
        traffic.apply_shift([["1", "n/a", "2"]], FEATURES, Shift("width", 2))
    with pytest.raises(TrafficError, match="rows per request"):
        traffic.request_bodies([["1"]], 0)
