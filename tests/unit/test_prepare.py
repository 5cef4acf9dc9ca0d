"""Tests for `ml/prepare.py` and its `prepare_*.py` modules: the dataset contract, validation
refusals, the split and its scale."""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from contracts import dataset, failures
from ml import (
    prepare,
    prepare_classes,
    prepare_csv,
    prepare_errors,
    prepare_memory,
    prepare_output,
    prepare_read,
    prepare_split,
)
from ml.prepare_contract import DatasetSpec
from ml.prepare_errors import DataValidationError

REPO_ROOT = Path(__file__).resolve().parents[2]
IRIS_CSV = REPO_ROOT / "data" / "raw" / "iris.csv"
PREPARE_SCRIPT = REPO_ROOT / "ml" / "prepare.py"
HEADER = "SepalLength,SepalWidth,PetalLength,PetalWidth,Species"
IRIS = DatasetSpec("Species")
EXPECTED = (
    "expected an uncompressed UTF-8 CSV file with comma-separated columns and a header row "
    "naming them"
)


def iris_lines() -> list[str]:
    return IRIS_CSV.read_text(encoding="utf-8").splitlines()


def write_input(directory: Path, text: str, name: str = "iris.csv") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / name).write_text(text, encoding="utf-8")
    return directory


def with_line(line_number: int, new_line: str) -> str:
    """The iris CSV with 1-based line `line_number` replaced."""
    lines = iris_lines()
    lines[line_number - 1] = new_line
    return "\n".join(lines) + "\n"


def output_files(output_dir: Path) -> list[Path]:
    return sorted(p for p in output_dir.rglob("*") if p.is_file()) if output_dir.exists() else []


def run_on(directory: Path, spec: DatasetSpec = IRIS, **kwargs: object) -> dict:
    return prepare.run(directory, directory.parent / f"{directory.name}-out", spec, **kwargs)


def error_of(directory: Path, text: str | bytes, spec: DatasetSpec = IRIS) -> str:
    directory.mkdir(parents=True, exist_ok=True)
    raw = text.encode("utf-8") if isinstance(text, str) else text
    (directory / "iris.csv").write_bytes(raw)
    out = directory.parent / f"{directory.name}-out"
    with pytest.raises(DataValidationError) as caught:
        prepare.run(directory, out, spec)
    assert output_files(out) == []  # a refused run leaves nothing behind
    return str(caught.value)


def read_split(out: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(out / name / f"{name}.csv", header=None)


# --------------------------------------------------------------------------- the committed data


def test_committed_iris_csv_matches_generator() -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "make_iris_csv", REPO_ROOT / "scripts" / "make_iris_csv.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert IRIS_CSV.read_text(encoding="utf-8") == module.iris_csv_text()
    lines = iris_lines()
    assert lines[0] == HEADER
    assert lines[1] == "5.1,3.5,1.4,0.2,Iris-setosa"
    assert len(lines) == 151


# --------------------------------------------------------------------------- the contract


def test_iris_contract_is_derived_from_the_data(split_dir: Path) -> None:
    text = (split_dir / "contract" / "contract.json").read_text()
    contract = json.loads(text)
    assert text == json.dumps(contract, indent=2, sort_keys=True) + "\n"  # sorted keys
    assert contract == {
        "schema_version": 1,
        "label_column": "Species",
        "feature_columns": ["SepalLength", "SepalWidth", "PetalLength", "PetalWidth"],
        "feature_types": {
            "SepalLength": "float64",
            "SepalWidth": "float64",
            "PetalLength": "float64",
            "PetalWidth": "float64",
        },
        "class_names": ["Iris-setosa", "Iris-versicolor", "Iris-virginica"],
        "num_classes": 3,
        "problem_type": "multiclass",
        "objective": "multi:softprob",
        "tuning_metric": "validation:mlogloss",
        "rows": {"total": 150, "train": 90, "validation": 30, "test": 30},
        "class_counts": {"Iris-setosa": 50, "Iris-versicolor": 50, "Iris-virginica": 50},
        "source_files": ["iris.csv"],
        "source_bytes": IRIS_CSV.stat().st_size,
    }


def test_outputs_are_the_three_splits_the_contract_and_the_baseline(split_dir: Path) -> None:
    assert [p.relative_to(split_dir).as_posix() for p in output_files(split_dir)] == [
        "baseline/baseline.json",
        "contract/contract.json",
        "test/test.csv",
        "train/train.csv",
        "validation/validation.csv",
    ]


def breast_cancer_csv() -> str:
    """sklearn's breast cancer data: label second, spaces in names, string labels."""
    from sklearn.datasets import load_breast_cancer

    data = load_breast_cancer(as_frame=True)
    frame = data.frame.drop(columns="target")
    frame.insert(1, "diagnosis", [data.target_names[t] for t in data.target])
    return frame.to_csv(index=False)


def test_binary_string_labels_label_not_last_spaces_in_names(tmp_path: Path) -> None:
    text = breast_cancer_csv()
    header = text.splitlines()[0].split(",")
    assert header[1] == "diagnosis" and " " in header[0]
    contract = run_on(write_input(tmp_path / "raw", text, "cancer.csv"), DatasetSpec("diagnosis"))
    assert contract["class_names"] == ["benign", "malignant"]  # sorted strings
    assert contract["feature_columns"] == [h for h in header if h != "diagnosis"]
    assert len(contract["feature_columns"]) == 30
    assert contract["problem_type"] == "binary"
    assert contract["objective"] == "binary:logistic"
    assert contract["tuning_metric"] == "validation:logloss"
    assert contract["class_counts"] == {"benign": 357, "malignant": 212}
    assert contract["rows"]["total"] == 569
    out = tmp_path / "raw-out"
    train = read_split(out, "train")
    assert train.shape[1] == 31 and set(train[0]) == {0, 1}
    # Feature text is written exactly as in the file, in contract order.
    source = pd.read_csv(tmp_path / "raw" / "cancer.csv", dtype=str)
    first = (out / "train" / "train.csv").read_text().splitlines()[0].split(",")
    matches = source[source["mean radius"] == first[1]]
    assert [list(row) for row in matches[contract["feature_columns"]].to_numpy()].count(
        first[1:]
    ) >= 1


def test_numeric_labels_sort_numerically_and_become_strings(tmp_path: Path) -> None:
    rows = [f"{i % 7}.5,{i},{[10, 2, 1][i % 3]}" for i in range(60)]
    rows[4] = "1.5,4,2.0"  # 2.0 is the class "2" (row 4 held a 2)
    contract = run_on(
        write_input(tmp_path / "raw", "a,b,grade\n" + "\n".join(rows) + "\n"), DatasetSpec("grade")
    )
    assert contract["class_names"] == ["1", "2", "10"]
    assert contract["class_counts"] == {"1": 20, "2": 20, "10": 20}


def test_feature_columns_choose_and_order_the_features(tmp_path: Path) -> None:
    spec = DatasetSpec("Species", feature_columns=["PetalWidth", "SepalLength"])
    contract = run_on(write_input(tmp_path / "raw", IRIS_CSV.read_text()), spec)
    assert contract["feature_columns"] == ["PetalWidth", "SepalLength"]
    lines = (tmp_path / "raw-out" / "train" / "train.csv").read_text().splitlines()
    assert all(len(line.split(",")) == 3 for line in lines)
    original = {tuple(line.split(",")[::-1][1::3]) for line in iris_lines()[1:]}
    # (SepalLength, PetalWidth) pairs of the file, written as label, PetalWidth, SepalLength.
    assert {(line.split(",")[2], line.split(",")[1]) for line in lines} <= {
        (cells[0], cells[3]) for cells in (line.split(",") for line in iris_lines()[1:])
    }
    assert original  # the file has rows


def test_class_order_sets_the_label_indices(tmp_path: Path) -> None:
    order = ["Iris-virginica", "Iris-setosa", "Iris-versicolor"]
    contract = run_on(
        write_input(tmp_path / "raw", IRIS_CSV.read_text()), DatasetSpec("Species", None, order)
    )
    assert contract["class_names"] == order
    lines = (tmp_path / "raw-out" / "test" / "test.csv").read_text().splitlines()
    # Setosa has the smallest petals (PetalLength < 2.5): its index is now 1.
    for line in lines:
        label, *features = line.split(",")
        assert (label == "1") == (float(features[2]) < 2.5)


def test_extra_columns_are_ignored_when_features_are_named(tmp_path: Path) -> None:
    text = "Id,Species,PetalWidth,PetalLength,SepalWidth,SepalLength,note\n"
    names = ["Iris-setosa", "Iris-versicolor", "Iris-virginica"]
    text += "\n".join(f"{i},{names[i % 3]},0.2,1.4,3.5,5.1,n{i}" for i in range(1, 31))
    spec = DatasetSpec("Species", ["SepalLength", "SepalWidth", "PetalLength", "PetalWidth"])
    run_on(write_input(tmp_path / "raw", text + "\n"), spec)
    first = (tmp_path / "raw-out" / "train" / "train.csv").read_text().splitlines()[0]
    assert first.split(",")[1:] == ["5.1", "3.5", "1.4", "0.2"]


# --------------------------------------------------------------------------- refusals (#11.3)


def test_missing_label_column_lists_the_available_columns(tmp_path: Path) -> None:
    message = error_of(tmp_path / "raw", IRIS_CSV.read_text(), DatasetSpec("species"))
    assert message == (
        "iris.csv line 1: label column 'species' not found; available columns: SepalLength, "
        "SepalWidth, PetalLength, PetalWidth, Species. Set label_column to the column that holds "
        "the class of each row"
    )


def test_one_class_is_refused(tmp_path: Path) -> None:
    text = "\n".join(iris_lines()[:51]) + "\n"
    assert error_of(tmp_path / "raw", text) == (
        "iris.csv: column 'Species' has a single class 'Iris-setosa': classification needs at "
        "least two "
        "classes; add rows of the other classes or choose another label column"
    )


@pytest.mark.parametrize(
    ("values", "distinct"),
    [
        pytest.param([f"{v / 7:.3f}" for v in range(200)], 200, id="fractional"),
        pytest.param([str(v) for v in range(200)], 200, id="many-integers"),
    ],
)
def test_regression_like_label_is_refused(tmp_path: Path, values: list[str], distinct: int) -> None:
    text = "x,price\n" + "\n".join(f"{i},{v}" for i, v in enumerate(values)) + "\n"
    message = error_of(tmp_path / "raw", text, DatasetSpec("price"))
    assert message.startswith(
        f"iris.csv: column 'price' has {distinct} distinct numeric values (e.g. 0"
    )
    assert "regression is not supported, only classification" in message


def test_few_fractional_label_values_are_classes(tmp_path: Path) -> None:
    text = "x,dose\n" + "\n".join(f"{i},{[0.5, 1.5][i % 2]}" for i in range(40)) + "\n"
    contract = run_on(write_input(tmp_path / "raw", text), DatasetSpec("dose"))
    assert contract["class_names"] == ["0.5", "1.5"]


def test_non_numeric_feature_columns_are_all_listed(tmp_path: Path) -> None:
    lines = ["id,colour,size,shape,y"]
    lines += [f"{i},red,{i}.5,round,{'ab'[i % 2]}" for i in range(30)]
    message = error_of(tmp_path / "raw", "\n".join(lines) + "\n", DatasetSpec("y"))
    assert message == (
        "iris.csv: feature column(s) 'colour' (e.g. 'red' on line 2), 'shape' (e.g. 'round' on "
        "line 2) are not numeric (XGBoost needs numbers); encode them as numbers first (one-hot "
        "or ordinal encoding), or leave them out by setting feature_columns to the numeric "
        "columns (the label column 'y' may hold text)"
    )


def test_duplicate_column_names_come_from_the_raw_header(tmp_path: Path) -> None:
    # pandas would read the second 'a' as 'a.1'; the raw header is checked first.
    text = "a,b, a,y\n" + "\n".join(f"{i},1,2,{'xy'[i % 2]}" for i in range(20)) + "\n"
    assert error_of(tmp_path / "raw", text, DatasetSpec("y")) == (
        "iris.csv line 1: duplicate column(s) a; every column needs a unique name: rename or "
        "remove the repeated column(s)"
    )


def test_feature_list_naming_absent_columns(tmp_path: Path) -> None:
    spec = DatasetSpec("Species", ["SepalLength", "Sepal Width", "petal"])
    assert error_of(tmp_path / "raw", IRIS_CSV.read_text(), spec) == (
        "iris.csv line 1: feature column(s) 'Sepal Width', 'petal' not found; available columns: "
        "SepalLength, SepalWidth, PetalLength, PetalWidth, Species. Fix feature_columns (or "
        "leave it empty to use every column except 'Species')"
    )


def test_feature_list_naming_the_label(tmp_path: Path) -> None:
    spec = DatasetSpec("Species", ["SepalLength", "Species"])
    assert "feature_columns names the label column 'Species'" in error_of(
        tmp_path / "raw", IRIS_CSV.read_text(), spec
    )


def test_class_order_must_name_exactly_the_classes(tmp_path: Path) -> None:
    spec = DatasetSpec("Species", None, ["Iris-setosa", "Iris-virginica", "Iris-germanica"])
    assert error_of(tmp_path / "raw", IRIS_CSV.read_text(), spec) == (
        "iris.csv: class_order does not match the classes in column 'Species': it leaves out "
        "'Iris-versicolor'; 'Iris-germanica' never occur; list exactly the classes present "
        "(Iris-setosa, Iris-versicolor, Iris-virginica), or leave class_order empty to sort them"
    )


def test_too_few_rows_of_a_class_to_stratify(tmp_path: Path) -> None:
    lines = iris_lines()
    text = "\n".join(lines[:101] + lines[101:103]) + "\n"  # only 2 virginica rows
    assert error_of(tmp_path / "raw", text) == (
        "iris.csv lines 102, 103, column 'Species': class 'Iris-virginica' has 2 row(s), at "
        "least 5 are needed to "
        "stratify train/validation/test; add rows of that class or remove it"
    )


# --------------------------------------------------------------------------- precise locations


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            with_line(8, "5.0,abc,1.5,0.2,Iris-setosa"),
            "iris.csv line 8 (data row 7), column 'SepalWidth': value 'abc' is not a number "
            "(expected a decimal number such as 5.1)",
            id="non-numeric",
        ),
        pytest.param("", "iris.csv: file is empty (no header row)", id="empty-file"),
        pytest.param("\n\n", "iris.csv: file is empty (no header row)", id="blank-lines-only"),
        pytest.param(
            with_line(5, "4.6,3.1,,0.2,Iris-setosa"),
            "iris.csv line 5 (data row 4), column 'PetalLength': missing value",
            id="missing-feature",
        ),
        pytest.param(
            with_line(5, "4.6,3.1,1.5,0.2,"),
            "iris.csv line 5 (data row 4), column 'Species': missing value",
            id="missing-label",
        ),
        pytest.param(
            with_line(6, "4.6,3.1,nan,0.2,Iris-setosa"),
            "iris.csv line 6 (data row 5), column 'PetalLength': missing or non-finite value",
            id="nan-feature",
        ),
        pytest.param(
            with_line(6, "4.6,3.1,inf,0.2,Iris-setosa"),
            "iris.csv line 6 (data row 5), column 'PetalLength': missing or non-finite value",
            id="inf-feature",
        ),
        pytest.param(
            with_line(4, "4.7,3.2,1.3,Iris-setosa"),
            "iris.csv line 4 (data row 3): expected 5 fields like the header, found 4",
            id="short-row",
        ),
        pytest.param(
            with_line(4, "4.7,3.2,1.3,0.2,Iris-setosa,extra"),
            "iris.csv line 4 (data row 3): expected 5 fields like the header, found 6",
            id="long-row",
        ),
        pytest.param(
            with_line(9, "4.4;2.9;1.4;0.2;Iris-setosa"),
            "iris.csv line 9 (data row 8): the row is separated by ';', not by commas; "
            "expected 5 comma-separated fields like the header",
            id="delimiter-in-a-row",
        ),
        pytest.param(
            with_line(9, ",,,,"),
            "iris.csv line 9 (data row 8), column 'SepalLength': missing value",
            id="row-of-commas",
        ),
    ],
)
def test_bad_value_is_located_precisely(tmp_path: Path, text: str, expected: str) -> None:
    assert error_of(tmp_path / "raw", text) == expected


def test_gzip_content_is_named(tmp_path: Path) -> None:
    import gzip

    assert error_of(tmp_path / "raw", gzip.compress(IRIS_CSV.read_bytes())) == (
        "iris.csv: the file is gzip-compressed (starts with bytes 1f 8b), not CSV text; "
        f"{EXPECTED}: decompress it (gunzip) before uploading"
    )


def test_zip_content_is_named(tmp_path: Path) -> None:
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("iris.csv", IRIS_CSV.read_text())
    assert error_of(tmp_path / "raw", buffer.getvalue()) == (
        "iris.csv: the file is a zip archive (starts with bytes 50 4b 03 04), not CSV text; "
        f"{EXPECTED}: extract the CSV from the archive before uploading"
    )


def test_latin1_file_names_line_and_column_of_first_bad_byte(tmp_path: Path) -> None:
    # 'é' in Latin-1 is the single byte 0xe9, invalid UTF-8 here; line 7, after "5.4,3.9,".
    text = with_line(7, "5.4,3.9,1.7,0.4,Iris-setosa é")
    assert error_of(tmp_path / "raw", text.encode("latin-1")) == (
        "iris.csv line 7, byte column 29: byte 0xe9 is not valid UTF-8 (invalid continuation "
        "byte; the file is probably Latin-1 or Windows-1252); "
        f"{EXPECTED}: save it as UTF-8"
    )


def test_utf8_check_across_small_blocks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Blocks of 7 bytes cut multi-byte characters and lines: same answers as one block."""
    monkeypatch.setattr(prepare_csv, "UTF8_BLOCK_BYTES", 7)
    good = IRIS_CSV.read_text().replace("Iris-setosa", "Iris-sétosa€")
    contract = run_on(write_input(tmp_path / "good", good))
    assert contract["class_names"][0] == "Iris-sétosa€"
    text = with_line(7, "5.4,3.9,1.7,0.4,Iris-setosa é")
    assert error_of(tmp_path / "bad", text.encode("latin-1")).startswith(
        "iris.csv line 7, byte column 29: byte 0xe9 is not valid UTF-8"
    )


def test_latin1_bad_byte_on_the_first_line(tmp_path: Path) -> None:
    message = error_of(tmp_path / "raw", b"Sepal\xe9Length," + IRIS_CSV.read_bytes()[12:])
    assert message.startswith("iris.csv line 1, byte column 6: byte 0xe9 is not valid UTF-8")


def test_utf16_content_is_named(tmp_path: Path) -> None:
    assert error_of(tmp_path / "raw", IRIS_CSV.read_text().encode("utf-16")) == (
        f"iris.csv: the file is UTF-16 text (byte-order mark ff fe); {EXPECTED}: save it as UTF-8"
    )


@pytest.mark.parametrize(("delimiter", "name"), [(";", "';'"), ("\t", "a tab")])
def test_wrong_delimiter_in_header_is_named(tmp_path: Path, delimiter: str, name: str) -> None:
    text = IRIS_CSV.read_text().replace(",", delimiter)
    assert error_of(tmp_path / "raw", text) == (
        f"iris.csv line 1: the header is separated by {name}, not by commas; {EXPECTED}"
    )


def test_header_only_file_names_the_header_line(tmp_path: Path) -> None:
    assert error_of(tmp_path / "raw", "\n" + HEADER + "\n\n") == (
        "iris.csv: header only, no data rows (expected at least one data row after the header "
        "on line 2)"
    )


def test_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "iris.csv").write_bytes(b"\xef\xbb\xbf" + IRIS_CSV.read_bytes())
    assert run_on(raw)["feature_columns"][0] == "SepalLength"


def test_line_numbers_count_blank_lines(tmp_path: Path) -> None:
    lines = iris_lines()
    lines.insert(2, "")  # a blank line 3 shifts the bad row from line 3 to line 4
    lines[3] = "4.9,3.0,1.4,zero,Iris-setosa"
    message = error_of(tmp_path / "raw", "\n".join(lines) + "\n")
    assert message.startswith("iris.csv line 4 (data row 2), column 'PetalWidth'")


def test_blank_lines_are_skipped_consistently(tmp_path: Path, split_dir: Path) -> None:
    lines = iris_lines()
    lines.insert(40, "")
    lines.insert(90, "   ")
    contract = run_on(write_input(tmp_path / "raw", "\n".join(lines) + "\n\n"))
    assert contract["rows"]["total"] == 150
    for name in prepare_split.SPLIT_NAMES:
        produced = (tmp_path / "raw-out" / name / f"{name}.csv").read_bytes()
        assert produced == (split_dir / name / f"{name}.csv").read_bytes()


def test_bad_row_in_a_later_chunk_is_located(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(prepare_read, "CHUNK_TEXT_BYTES", 1)
    monkeypatch.setattr(prepare_read, "MIN_CHUNK_ROWS", 16)
    message = error_of(tmp_path / "raw", with_line(140, "6.7,3.0,5.2,two,Iris-virginica"))
    assert message.startswith("iris.csv line 140 (data row 139), column 'PetalWidth'")


def test_small_chunks_give_the_same_outputs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, split_dir: Path
) -> None:
    monkeypatch.setattr(prepare_read, "CHUNK_TEXT_BYTES", 1)
    monkeypatch.setattr(prepare_read, "MIN_CHUNK_ROWS", 7)
    run_on(write_input(tmp_path / "raw", IRIS_CSV.read_text()))
    assert [p.read_bytes() for p in output_files(tmp_path / "raw-out")] == [
        p.read_bytes() for p in output_files(split_dir)
    ]


def test_error_names_the_offending_file_among_several(tmp_path: Path) -> None:
    lines = iris_lines()
    write_input(tmp_path / "raw", "\n".join(lines[:76]) + "\n", name="a.csv")
    write_input(tmp_path / "raw", "\n".join([lines[0], "1,2,,4,Iris-foo"]) + "\n", name="b.csv")
    with pytest.raises(DataValidationError, match=r"^b\.csv line 2 \(data row 1\)"):
        run_on(tmp_path / "raw")


def test_a_rare_class_is_located_by_file_and_line_among_several(tmp_path: Path) -> None:
    """The refusal names where the class's few rows are, across files, after blank lines."""
    lines = iris_lines()
    write_input(tmp_path / "raw", "\n".join([*lines[:101], "", lines[101]]) + "\n", name="a.csv")
    write_input(tmp_path / "raw", "\n".join([lines[0], lines[120]]) + "\n", name="b.csv")
    with pytest.raises(DataValidationError) as caught:
        run_on(tmp_path / "raw")
    assert str(caught.value) == (
        "a.csv line 103, b.csv line 2, column 'Species': class 'Iris-virginica' has 2 row(s), at "
        "least 5 are needed to stratify train/validation/test; add rows of that class or remove it"
    )


def test_a_rare_numeric_class_is_located_whatever_its_spelling(tmp_path: Path) -> None:
    # 1 and 1.0 are one class, "1"; its rows are found under either spelling.
    rows = [f"{i}.5,{i % 2}" for i in range(40)] + ["7.5,2", "8.5,2.0", "9.5,2"]
    text = "x,y\n" + "\n".join(rows) + "\n"
    assert error_of(tmp_path / "raw", text, DatasetSpec("y")).startswith(
        "iris.csv lines 42, 43, 44, column 'y': class '2' has 3 row(s), at least 5 are needed"
    )


def test_a_class_with_many_rows_lists_the_first_and_counts_the_rest() -> None:
    found = [("a.csv", n) for n in (3, 9, 12)] + [("b.csv", 4), ("b.csv", 8)]
    assert (
        prepare_errors.rows_text(found, 7)
        == "a.csv lines 3, 9, 12, b.csv lines 4, 8 (and 2 more rows)"
    )
    assert prepare_errors.rows_text([("a.csv", 3)], 1) == "a.csv line 3"


def test_a_single_class_across_files_names_every_file(tmp_path: Path) -> None:
    lines = iris_lines()
    write_input(tmp_path / "raw", "\n".join(lines[:20]) + "\n", name="a.csv")
    write_input(tmp_path / "raw", "\n".join([lines[0], *lines[20:40]]) + "\n", name="b.csv")
    with pytest.raises(
        DataValidationError, match=r"^a\.csv, b\.csv: column 'Species' has a single"
    ):
        run_on(tmp_path / "raw")


def test_malformed_csv_names_the_line(tmp_path: Path) -> None:
    # A quoted field over the csv module's field size limit is a csv.Error, not a value error.
    text = "\n".join([*iris_lines()[:3], '5.0,3.6,1.4,0.2,"' + "x" * 200_000 + '"']) + "\n"
    assert error_of(tmp_path / "raw", text).startswith(
        "iris.csv line 4: malformed CSV (field larger than field limit"
    )


def test_a_class_the_split_cannot_place_is_located() -> None:
    labels = np.asarray([0] * 30 + [1] * 30 + [2], dtype="int8")
    with pytest.raises(DataValidationError) as caught:
        prepare_split.assign_splits(
            labels,
            prepare_split.SplitRatios(),
            1,
            ["a", "b", "c"],
            lambda name: f"x.csv line 9 ({name})",
        )
    assert str(caught.value) == (
        "x.csv line 9 (c), class 'c' has 1 row(s), too few to place at least one in each of "
        "train/validation/test; add rows of that class or remove it"
    )


def test_too_large_input_names_its_files() -> None:
    with pytest.raises(DataValidationError, match=r"MiB of CSV in a\.csv, b\.csv \(about"):
        prepare_memory.check_memory(2**34, 30.0, (2**30, "cgroup memory.max"), ["a.csv", "b.csv"])


def test_several_files_are_one_dataset(tmp_path: Path, split_dir: Path) -> None:
    lines = iris_lines()
    write_input(tmp_path / "raw", "\n".join(lines[:76]) + "\n", name="a.csv")
    write_input(tmp_path / "raw", "\n".join([lines[0], *lines[76:]]) + "\n", name="b.csv")
    contract = run_on(tmp_path / "raw")
    assert contract["source_files"] == ["a.csv", "b.csv"]
    # Everything but the contract (which names the source files) is the same.
    assert [
        p.read_bytes() for p in output_files(tmp_path / "raw-out") if p.parent.name != "contract"
    ] == [p.read_bytes() for p in output_files(split_dir) if p.parent.name != "contract"]


def test_no_csv_in_directory(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("not data")
    with pytest.raises(DataValidationError, match=r"no \.csv file found in"):
        prepare.run(tmp_path, tmp_path / "out", IRIS)


def test_missing_input_directory(tmp_path: Path) -> None:
    with pytest.raises(DataValidationError, match="does not exist"):
        prepare.run(tmp_path / "absent", tmp_path / "out", IRIS)


def test_invalid_ratios_are_rejected() -> None:
    with pytest.raises(DataValidationError, match="invalid split ratios"):
        prepare_split.SplitRatios(train=0.8, validation=0.2).check()


# --------------------------------------------------------------------------- split


def test_split_sizes_and_stratification(split_dir: Path) -> None:
    expected = {"train": 90, "validation": 30, "test": 30}
    rows = []
    for name, size in expected.items():
        frame = read_split(split_dir, name)
        assert frame.shape == (size, 5)
        assert frame[0].dtype.kind == "i"  # label first as an integer class index
        assert frame[0].value_counts().sort_index().tolist() == [size // 3] * 3
        rows += [
            line.split(",") for line in (split_dir / name / f"{name}.csv").read_text().splitlines()
        ]
    # Together the splits are exactly the file's rows (as a multiset), feature text unchanged.
    classes = ["Iris-setosa", "Iris-versicolor", "Iris-virginica"]
    original = sorted([*line.split(",")[:4], line.split(",")[4]] for line in iris_lines()[1:])
    assert sorted([*row[1:], classes[int(row[0])]] for row in rows) == original


def test_split_is_deterministic_and_seed_dependent(tmp_path: Path, split_dir: Path) -> None:
    raw = write_input(tmp_path / "raw", IRIS_CSV.read_text())

    def digest(seed: int, name: str) -> str:
        out = tmp_path / f"out-{seed}-{name}"
        prepare.run(raw, out, IRIS, prepare_split.SplitRatios(), seed)
        files = [out / split / f"{split}.csv" for split in prepare_split.SPLIT_NAMES]
        return hashlib.sha256(b"".join(f.read_bytes() for f in files)).hexdigest()

    assert digest(42, "a") == digest(42, "b")
    assert digest(7, "a") != digest(42, "a")
    fixture_files = [split_dir / s / f"{s}.csv" for s in prepare_split.SPLIT_NAMES]
    assert (
        digest(42, "c")
        == hashlib.sha256(b"".join(f.read_bytes() for f in fixture_files)).hexdigest()
    )


def test_assign_splits_custom_ratios_and_seed() -> None:
    labels = np.repeat(np.arange(3, dtype="int8"), 50)
    names = ["a", "b", "c"]
    assignment = prepare_split.assign_splits(labels, prepare_split.SplitRatios(0.7, 0.1), 1, names)
    assert np.bincount(assignment).tolist() == [105, 15, 30]
    for split in range(3):
        assert set(labels[assignment == split].tolist()) == {0, 1, 2}
    again = prepare_split.assign_splits(labels, prepare_split.SplitRatios(0.7, 0.1), 1, names)
    other = prepare_split.assign_splits(labels, prepare_split.SplitRatios(0.7, 0.1), 2, names)
    assert (assignment == again).all() and not (assignment == other).all()
    test_rows = set(np.flatnonzero(assignment == 2).tolist())
    assert test_rows != {*range(10), *range(50, 60), *range(100, 110)}  # not the first rows


# --------------------------------------------------------------------------- entry point


def test_cli_derives_features_and_classes_from_empty_options(tmp_path: Path) -> None:
    raw = write_input(tmp_path / "in", IRIS_CSV.read_text())
    for features, order in (("", ""), ("[]", "[]")):
        out = tmp_path / f"out{features}"
        argv = ["--input-dir", str(raw), "--output-dir", str(out), "--label-column", "Species"]
        argv += ["--feature-columns", features, "--class-order", order]
        assert prepare.main(argv) == 0
        contract = json.loads((out / "contract" / "contract.json").read_text())
        assert contract["feature_columns"][0] == "SepalLength"
        assert contract["class_names"][0] == "Iris-setosa"


def test_cli_passes_json_lists(tmp_path: Path) -> None:
    raw = write_input(tmp_path / "in", IRIS_CSV.read_text())
    out = tmp_path / "out"
    argv = ["--input-dir", str(raw), "--output-dir", str(out), "--label-column", "Species"]
    argv += ["--feature-columns", '["PetalLength", "PetalWidth"]']
    argv += ["--class-order", '["Iris-virginica", "Iris-versicolor", "Iris-setosa"]']
    assert prepare.main(argv) == 0
    contract = json.loads((out / "contract" / "contract.json").read_text())
    assert contract["feature_columns"] == ["PetalLength", "PetalWidth"]
    assert contract["class_names"] == ["Iris-virginica", "Iris-versicolor", "Iris-setosa"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        pytest.param([], "the following arguments are required: --label-column", id="no-label"),
        pytest.param(["--label-column", " "], "--label-column is empty", id="empty-label"),
        pytest.param(
            ["--label-column", "Species", "--feature-columns", "SepalLength"],
            "feature_columns must be a JSON list",
            id="not-json",
        ),
        pytest.param(
            ["--label-column", "Species", "--class-order", '["a", "a"]'],
            "class_order names a more than once",
            id="repeated",
        ),
    ],
)
def test_cli_refuses_bad_options(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, argv: list[str], message: str
) -> None:
    failure_file = tmp_path / "message"
    monkeypatch.setenv(failures.FAILURE_FILE_ENV, str(failure_file))
    raw = write_input(tmp_path / "in", IRIS_CSV.read_text())
    code = prepare.main(["--input-dir", str(raw), "--output-dir", str(tmp_path / "o"), *argv])
    assert code == 2
    assert failure_file.read_text().startswith(failures.DATA_ERROR_MARKER)
    assert message in failure_file.read_text()


def test_main_writes_the_marker_only_for_data_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    failure_file = tmp_path / "sm-output" / "message"
    monkeypatch.setenv(failures.FAILURE_FILE_ENV, str(failure_file))
    input_dir = tmp_path / "in"
    input_dir.mkdir()
    (input_dir / "iris.csv").write_bytes(b"\x1f\x8b\x08\x00")
    argv = ["--input-dir", str(input_dir), "--output-dir", str(tmp_path / "o")]
    argv += ["--label-column", "Species"]
    assert prepare.main(argv) == 2
    assert failure_file.read_text() == failures.DATA_ERROR_MARKER + error_of(
        tmp_path / "again", b"\x1f\x8b\x08\x00"
    )

    def crash(*_: object, **__: object) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(prepare, "run", crash)
    with pytest.raises(RuntimeError):
        prepare.main(argv)
    assert failure_file.read_text() == "unexpected error: RuntimeError: disk on fire"


def test_main_failure_exit_code_message_and_no_outputs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    input_dir = write_input(tmp_path / "in", with_line(10, "4.4,2.9,x,0.2,Iris-setosa"))
    failure_file = tmp_path / "sm-output" / "message"
    monkeypatch.setenv(failures.FAILURE_FILE_ENV, str(failure_file))
    out = tmp_path / "out"
    argv = ["--input-dir", str(input_dir), "--output-dir", str(out), "--label-column", "Species"]
    assert prepare.main(argv) == 2
    expected = "DataValidationError: iris.csv line 10 (data row 9), column 'PetalLength'"
    assert f"ERROR: {expected}" in capsys.readouterr().err
    assert failure_file.read_text().startswith(expected)
    assert output_files(out) == []


def test_failure_file_skipped_outside_sagemaker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(failures.FAILURE_FILE_ENV, raising=False)
    assert failures.write_failure_reason("boom", str(tmp_path / "absent" / "message")) is None
    assert not (tmp_path / "absent").exists()


def test_write_failure_mid_way_leaves_no_partial_outputs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw = write_input(tmp_path / "raw", IRIS_CSV.read_text())
    real_replace = os.replace
    calls = []

    def flaky_replace(src: str | Path, dst: str | Path) -> None:
        # The first files land, the contract's rename (the last) fails.
        calls.append(dst)
        if len(calls) == 4:
            raise OSError("disk full")
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", flaky_replace)
    with pytest.raises(OSError, match="disk full"):
        prepare.run(raw, tmp_path / "out", IRIS)
    assert [Path(c).name for c in calls][-1] == "contract.json"
    # Neither the renamed splits, nor the contract, nor any temp file remain.
    assert output_files(tmp_path / "out") == []


# --------------------------------------------------------------------------- memory (#11.5)


def test_memory_limit_reads_cgroup_and_meminfo(tmp_path: Path) -> None:
    v2, v1, meminfo = tmp_path / "memory.max", tmp_path / "limit", tmp_path / "meminfo"
    meminfo.write_text("MemTotal: 16000000 kB\nMemAvailable:    8000000 kB\n")
    paths = {"cgroup_v2": str(v2), "cgroup_v1": str(v1), "meminfo": str(meminfo)}
    assert prepare_memory.memory_limit({}, **paths) == (
        8000000 * 1024,
        f"MemAvailable in {meminfo}",
    )
    v2.write_text("max\n")  # no cgroup limit: the host's available memory decides
    assert prepare_memory.memory_limit({}, **paths)[0] == 8000000 * 1024
    v2.write_text("2147483648\n")
    assert prepare_memory.memory_limit({}, **paths) == (2147483648, f"cgroup {v2}")
    env = {prepare_memory.MEMORY_LIMIT_ENV: "1000"}
    assert prepare_memory.memory_limit(env, **paths) == (1000, prepare_memory.MEMORY_LIMIT_ENV)
    missing = {k: str(tmp_path / "none") for k in paths}
    assert prepare_memory.memory_limit({}, **missing) == (None, "")


def test_input_larger_than_memory_is_refused_with_the_instance_that_fits() -> None:
    """A 1.2 GB CSV against an 8 GiB instance: refused with the parameter to raise."""
    with pytest.raises(DataValidationError) as caught:
        prepare_memory.check_memory(1_200_000_000 * 30, 30.0, (8 * 2**30, "cgroup memory.max"))
    assert str(caught.value) == (
        "input too large for this instance: 34332 MiB of CSV (about 1200000001 rows) needs about "
        "45936 MiB of memory to prepare, but only 8192 MiB is available (cgroup memory.max); "
        "raise the pipeline parameter ProcessingInstanceType to an instance with more memory, "
        "e.g. ml.m5.4xlarge (64 GiB)"
    )
    prepare_memory.check_memory(30_000_000, 30.0, (8 * 2**30, "cgroup memory.max"))  # 1M rows fit


def test_input_larger_than_memory_is_refused_before_reading(tmp_path: Path) -> None:
    """The refusal comes before the full read: a bad row late in the file, which that read
    would name, is not what the run reports."""
    raw = write_input(tmp_path / "raw", with_line(140, "6.7,3.0,5.2,two,Iris-virginica"))
    environ = {prepare_memory.MEMORY_LIMIT_ENV: str(2**20)}
    with pytest.raises(DataValidationError, match=r"^input too large for this instance"):
        prepare.run(raw, tmp_path / "out", IRIS, environ=environ)
    with pytest.raises(DataValidationError, match=r"^iris\.csv line 140 \(data row 139\)"):
        prepare.run(raw, tmp_path / "out", IRIS, environ={})


def test_too_large_input_fails_clearly_in_a_subprocess(tmp_path: Path) -> None:
    """The whole script under a small memory limit: exit 2 and the message, no OOM kill."""
    raw = write_input(tmp_path / "in", IRIS_CSV.read_text())
    failure_file = tmp_path / "message"
    env = {**os.environ, prepare_memory.MEMORY_LIMIT_ENV: str(64 * 2**20)}
    env[failures.FAILURE_FILE_ENV] = str(failure_file)
    completed = subprocess.run(
        [
            sys.executable,
            str(PREPARE_SCRIPT),
            "--input-dir",
            str(raw),
            "--output-dir",
            str(tmp_path / "out"),
            "--label-column",
            "Species",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 2, completed.stderr
    message = failure_file.read_text()
    assert message.startswith("DataValidationError: input too large for this instance")
    assert f"64 MiB is available ({prepare_memory.MEMORY_LIMIT_ENV})" in message
    assert "ProcessingInstanceType" in message and "ml.m5.large (8 GiB)" in message
    assert output_files(tmp_path / "out") == []


def test_peak_memory_on_a_million_rows(tmp_path: Path) -> None:
    """Peak RSS <= 3x the input on the bench's 1M-row iris-like file.

    A bound on memory, not on time: time is compared with its baseline by `make bench`. The file
    and the measurement are the bench's own (bench/dataset.py, bench/children.py: a stdlib-only
    launcher, so the child's peak is its own and not inherited from pytest).
    """
    from bench import children, dataset

    raw = tmp_path / "in"
    raw.mkdir()
    profile = dataset.profile_of(pd.read_csv(dataset.SEED_CSV), "Species")
    (raw / "big.csv").write_bytes(
        dataset.csv_bytes(dataset.generate_frame(profile, 1_000_000, seed=0))
    )
    size = (raw / "big.csv").stat().st_size
    run = children.run_measured(
        [
            sys.executable,
            str(PREPARE_SCRIPT),
            "--input-dir",
            str(raw),
            "--output-dir",
            str(tmp_path / "out"),
            "--label-column",
            "Species",
        ],
        tmp_path / "prepare.log",
    )
    contract = json.loads((tmp_path / "out" / "contract" / "contract.json").read_text())
    expected_rows = {"total": 1_000_000, "train": 600_000, "validation": 200_000, "test": 200_000}
    assert contract["rows"] == expected_rows
    peak = run.peak_rss_bytes
    assert peak <= 3 * size, f"peak RSS {peak / 2**20:.0f} MiB > 3 x {size / 2**20:.0f} MiB"


def test_label_table_is_capped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A label with ever more distinct values stops the read early (the table stays small)."""
    monkeypatch.setattr(prepare_classes, "MAX_DISTINCT_LABELS", 50)
    numbers = "x,y\n" + "\n".join(f"{i},{i}" for i in range(200)) + "\n"
    message = error_of(tmp_path / "n", numbers, DatasetSpec("y"))
    # The examples are the smallest of the values met before the cap, in numeric order.
    assert message.startswith(
        "iris.csv: column 'y' has more than 50 distinct numeric values (e.g. 0, 1, "
    )
    assert "regression is not supported" in message
    ids = "x,y\n" + "\n".join(f"{i},id-{i}" for i in range(200)) + "\n"
    assert error_of(tmp_path / "s", ids, DatasetSpec("y")) == (
        "iris.csv: column 'y' has more than 50 distinct labels, too many for classification "
        "(is it an identifier?); set label_column to the column that holds the class of each row"
    )


def test_mmap_threshold_is_fixed_on_glibc() -> None:
    """The allocator setting behind the memory bound takes effect where the scripts run."""
    import platform

    assert platform.libc_ver()[0] == "glibc"  # the containers and this machine
    assert prepare_memory.fix_mmap_threshold() is True


# --------------------------------------------------------------------------- the serving order

DATA_ORDER = ["SepalLength", "SepalWidth", "PetalLength", "PetalWidth"]
SERVING_ORDER = ["PetalWidth", "SepalLength", "PetalLength", "SepalWidth"]


def split_rows(out: Path, name: str) -> list[list[str]]:
    return [line.split(",") for line in (out / name / f"{name}.csv").read_text().splitlines()]


def test_the_same_features_in_another_order_take_the_serving_order(tmp_path: Path) -> None:
    """The candidate is trained, and would be served, with the API clients already use: the
    contract, every split and the drift baseline follow the serving model's order."""
    raw = write_input(tmp_path / "in", IRIS_CSV.read_text())
    plain = prepare.run(raw, tmp_path / "plain", IRIS)
    served = prepare.run(raw, tmp_path / "served", IRIS, serving_features=SERVING_ORDER)
    assert plain["feature_columns"] == DATA_ORDER
    assert served["feature_columns"] == SERVING_ORDER
    assert served["feature_types"] == dict.fromkeys(SERVING_ORDER, "float64")
    assert {k: v for k, v in served.items() if k not in ("feature_columns", "feature_types")} == {
        k: v for k, v in plain.items() if k not in ("feature_columns", "feature_types")
    }
    moved = [DATA_ORDER.index(name) + 1 for name in SERVING_ORDER]
    for name in prepare_split.SPLIT_NAMES:
        # The same rows in the same splits (the split depends on labels and seed only), each
        # row's values moved with their columns, the label still first.
        expected = [
            [row[0], *(row[i] for i in moved)] for row in split_rows(tmp_path / "plain", name)
        ]
        assert split_rows(tmp_path / "served", name) == expected
    baseline = json.loads((tmp_path / "served" / "baseline" / "baseline.json").read_text())
    assert baseline["feature_columns"] == SERVING_ORDER


@pytest.mark.parametrize(
    "serving",
    [DATA_ORDER, DATA_ORDER[:3], [*DATA_ORDER[:3], "Colour"]],
    ids=["same-order", "fewer-features", "another-feature"],
)
def test_otherwise_the_data_keeps_its_order(tmp_path: Path, serving: list[str]) -> None:
    """Another feature set is another API anyway: the evaluation records the difference."""
    raw = write_input(tmp_path / "in", IRIS_CSV.read_text())
    contract = prepare.run(raw, tmp_path / "out", IRIS, serving_features=serving)
    assert contract["feature_columns"] == DATA_ORDER


def champion_archive(directory: Path, features: list[str]) -> Path:
    """A serving model's model.tar.gz as train.py leaves it: the contract at its root."""
    directory.mkdir(parents=True, exist_ok=True)
    document = dataset.build(
        label_column="Species",
        feature_columns=features,
        class_names=["Iris-setosa", "Iris-versicolor", "Iris-virginica"],
        rows={"train": 90, "validation": 30, "test": 30},
        class_counts={},
        source_files=["iris.csv"],
        source_bytes=1,
    )
    text = dataset.text(document).encode()
    with tarfile.open(directory / dataset.MODEL_ARCHIVE, "w:gz") as tar:
        info = tarfile.TarInfo(dataset.FILE_NAME)
        info.size = len(text)
        tar.addfile(info, io.BytesIO(text))
    return directory


@pytest.mark.parametrize(
    ("champion", "expected"),
    [("serving", SERVING_ORDER), ("marker", DATA_ORDER), ("absent", DATA_ORDER)],
)
def test_main_reads_the_serving_order_from_the_champions_model(
    tmp_path: Path, champion: str, expected: list[str]
) -> None:
    """--champion-dir holds the serving model's model.tar.gz, or only the "none" marker the
    pipeline's ChampionModelUri names when nothing serves."""
    champion_dir = tmp_path / "champion"
    if champion == "serving":
        champion_archive(champion_dir, SERVING_ORDER)
    elif champion == "marker":
        champion_dir.mkdir()
        (champion_dir / "README").write_text("No model serves the endpoint.\n")
    raw = write_input(tmp_path / "in", IRIS_CSV.read_text())
    out = tmp_path / "out"
    argv = ["--input-dir", str(raw), "--output-dir", str(out), "--label-column", "Species"]
    assert prepare.main([*argv, "--champion-dir", str(champion_dir)]) == 0
    assert json.loads(prepare_output.contract_path(out).read_text())["feature_columns"] == expected


def test_an_unreadable_champion_is_no_data_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A broken serving model is not the upload's fault: no data-error marker."""
    failure_file = tmp_path / "message"
    monkeypatch.setenv(failures.FAILURE_FILE_ENV, str(failure_file))
    champion_dir = tmp_path / "champion"
    champion_dir.mkdir()
    (champion_dir / dataset.MODEL_ARCHIVE).write_bytes(b"not a tarball")
    raw = write_input(tmp_path / "in", IRIS_CSV.read_text())
    argv = ["--input-dir", str(raw), "--output-dir", str(tmp_path / "o"), "--label-column"]
    with pytest.raises(dataset.ContractError, match="unreadable model archive"):
        prepare.main([*argv, "Species", "--champion-dir", str(champion_dir)])
    assert failure_file.read_text().startswith("unexpected error: ContractError: ")
    assert not failures.is_data_error(failure_file.read_text())
