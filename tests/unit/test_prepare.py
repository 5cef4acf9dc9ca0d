"""Tests for `ml/prepare.py`: input validation, the stratified split and atomic outputs."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ml import prepare
from ml.prepare import DataValidationError

IRIS_CSV = Path(__file__).resolve().parents[2] / "data" / "raw" / "iris.csv"
HEADER = "SepalLength,SepalWidth,PetalLength,PetalWidth,Species"


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


# --------------------------------------------------------------------------- the committed data


def test_committed_iris_csv_matches_generator() -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "make_iris_csv", IRIS_CSV.parents[2] / "scripts" / "make_iris_csv.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert IRIS_CSV.read_text(encoding="utf-8") == module.iris_csv_text()
    lines = iris_lines()
    assert lines[0] == HEADER
    assert lines[1] == "5.1,3.5,1.4,0.2,Iris-setosa"
    assert len(lines) == 151


def test_real_iris_loads_with_balanced_classes(tmp_path: Path) -> None:
    frame = prepare.load_dataset(write_input(tmp_path, IRIS_CSV.read_text()))
    assert list(frame.columns) == ["label", *prepare.FEATURE_COLUMNS]
    assert frame["label"].value_counts().sort_index().tolist() == [50, 50, 50]
    assert frame.iloc[0].tolist() == [0, 5.1, 3.5, 1.4, 0.2]


# --------------------------------------------------------------------------- validation errors


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "SepalLength,SepalWidth,PetalLength,Species\n5.1,3.5,1.4,Iris-setosa\n",
            r"iris\.csv line 1: missing required column\(s\) PetalWidth",
            id="missing-column",
        ),
        pytest.param(
            with_line(8, "5.0,abc,1.5,0.2,Iris-setosa"),
            r"iris\.csv line 8 \(data row 7\), column 'SepalWidth': value 'abc' is not a number",
            id="non-numeric",
        ),
        pytest.param(
            with_line(3, "4.9,3.0,1.4,0.2,Iris-germanica"),
            r"iris\.csv line 3 \(data row 2\), column 'Species': unknown label 'Iris-germanica'",
            id="unknown-label",
        ),
        pytest.param("", r"iris\.csv: file is empty", id="empty-file"),
        pytest.param("\n\n", r"iris\.csv: file is empty", id="blank-lines-only"),
        pytest.param(HEADER + "\n", r"iris\.csv: header only, no data rows", id="header-only"),
        pytest.param(
            with_line(5, "4.6,3.1,,0.2,Iris-setosa"),
            r"iris\.csv line 5 \(data row 4\), column 'PetalLength': missing value",
            id="missing-feature",
        ),
        pytest.param(
            with_line(5, "4.6,3.1,1.5,0.2,"),
            r"iris\.csv line 5 \(data row 4\), column 'Species': missing value",
            id="missing-label",
        ),
        pytest.param(
            with_line(6, "4.6,3.1,nan,0.2,Iris-setosa"),
            r"line 6 \(data row 5\), column 'PetalLength': missing or non-finite value",
            id="nan-feature",
        ),
        pytest.param(
            with_line(4, "4.7,3.2,1.3,Iris-setosa"),
            r"iris\.csv line 4 \(data row 3\): expected 5 fields like the header, found 4",
            id="short-row",
        ),
        pytest.param(
            HEADER + ",Species\n",
            r"iris\.csv line 1: duplicate column\(s\) Species",
            id="duplicate-column",
        ),
    ],
)
def test_bad_input_is_rejected_with_location(tmp_path: Path, text: str, expected: str) -> None:
    with pytest.raises(DataValidationError, match=expected):
        prepare.load_dataset(write_input(tmp_path, text))


# --------------------------------------------------------------------------- named mistakes

EXPECTED = (
    "expected an uncompressed UTF-8 CSV file with comma-separated columns "
    "SepalLength,SepalWidth,PetalLength,PetalWidth,Species"
)


def load_bytes(directory: Path, raw: bytes) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "iris.csv").write_bytes(raw)
    prepare.load_dataset(directory)


def error_of(directory: Path, raw: bytes) -> str:
    with pytest.raises(DataValidationError) as caught:
        load_bytes(directory, raw)
    return str(caught.value)


def test_gzip_content_is_named(tmp_path: Path) -> None:
    import gzip

    raw = gzip.compress(IRIS_CSV.read_bytes())
    assert error_of(tmp_path, raw) == (
        "iris.csv: the file is gzip-compressed (starts with bytes 1f 8b), not CSV text; "
        f"{EXPECTED}: decompress it (gunzip) before uploading"
    )


def test_zip_content_is_named(tmp_path: Path) -> None:
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("iris.csv", IRIS_CSV.read_text())
    assert error_of(tmp_path, buffer.getvalue()) == (
        "iris.csv: the file is a zip archive (starts with bytes 50 4b 03 04), not CSV text; "
        f"{EXPECTED}: extract the CSV from the archive before uploading"
    )


def test_latin1_file_names_line_and_column_of_first_bad_byte(tmp_path: Path) -> None:
    # 'é' in Latin-1 is the single byte 0xe9, invalid UTF-8 here; line 7, after "5.4,3.9,".
    text = with_line(7, "5.4,3.9,1.7,0.4,Iris-setosa é")
    assert error_of(tmp_path, text.encode("latin-1")) == (
        "iris.csv line 7, byte column 29: byte 0xe9 is not valid UTF-8 (invalid continuation "
        "byte; the file is probably Latin-1 or Windows-1252); "
        f"{EXPECTED}: save it as UTF-8"
    )


def test_latin1_bad_byte_on_the_first_line(tmp_path: Path) -> None:
    message = error_of(tmp_path, b"Sepal\xe9Length," + IRIS_CSV.read_bytes()[12:])
    assert message.startswith("iris.csv line 1, byte column 6: byte 0xe9 is not valid UTF-8")


def test_utf16_content_is_named(tmp_path: Path) -> None:
    message = error_of(tmp_path, IRIS_CSV.read_text().encode("utf-16"))
    assert message == (
        f"iris.csv: the file is UTF-16 text (byte-order mark ff fe); {EXPECTED}: save it as UTF-8"
    )


@pytest.mark.parametrize(("delimiter", "name"), [(";", "';'"), ("\t", "a tab")])
def test_wrong_delimiter_in_header_is_named(tmp_path: Path, delimiter: str, name: str) -> None:
    text = IRIS_CSV.read_text().replace(",", delimiter)
    assert error_of(tmp_path, text.encode()) == (
        f"iris.csv line 1: the header is separated by {name}, not by commas; {EXPECTED}"
    )


def test_wrong_delimiter_in_a_data_row_is_named(tmp_path: Path) -> None:
    text = with_line(9, "4.4;2.9;1.4;0.2;Iris-setosa")
    assert error_of(tmp_path, text.encode()) == (
        "iris.csv line 9 (data row 8): the row is separated by ';', not by commas; "
        "expected 5 comma-separated fields like the header"
    )


def test_header_only_file_names_the_header_line(tmp_path: Path) -> None:
    assert error_of(tmp_path, ("\n" + HEADER + "\n\n").encode()) == (
        "iris.csv: header only, no data rows (expected at least one data row after the header "
        "on line 2)"
    )


def test_non_numeric_value_says_what_is_expected(tmp_path: Path) -> None:
    assert error_of(tmp_path, with_line(8, "5.0,abc,1.5,0.2,Iris-setosa").encode()) == (
        "iris.csv line 8 (data row 7), column 'SepalWidth': value 'abc' is not a number "
        "(expected a decimal number such as 5.1)"
    )


def test_main_writes_the_marker_only_for_data_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    failure_file = tmp_path / "sm-output" / "message"
    monkeypatch.setenv(prepare.FAILURE_FILE_ENV, str(failure_file))
    input_dir = tmp_path / "in"
    input_dir.mkdir()
    (input_dir / "iris.csv").write_bytes(b"\x1f\x8b\x08\x00")
    assert prepare.main(["--input-dir", str(input_dir), "--output-dir", str(tmp_path / "o")]) == 2
    assert failure_file.read_text() == prepare.DATA_ERROR_MARKER + error_of(
        tmp_path / "again", b"\x1f\x8b\x08\x00"
    )

    def crash(*_: object) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(prepare, "run", crash)
    with pytest.raises(RuntimeError):
        prepare.main(["--input-dir", str(input_dir), "--output-dir", str(tmp_path / "o")])
    assert failure_file.read_text() == "unexpected error: RuntimeError: disk on fire"
    assert not failure_file.read_text().startswith(prepare.DATA_ERROR_MARKER)


def test_line_numbers_count_blank_lines(tmp_path: Path) -> None:
    lines = iris_lines()
    lines.insert(2, "")  # a blank line 3 shifts the bad row from line 3 to line 4
    lines[3] = "4.9,3.0,1.4,zero,Iris-setosa"
    with pytest.raises(DataValidationError, match=r"line 4 \(data row 2\), column 'PetalWidth'"):
        prepare.load_dataset(write_input(tmp_path, "\n".join(lines) + "\n"))


def test_error_names_the_offending_file_among_several(tmp_path: Path) -> None:
    lines = iris_lines()
    write_input(tmp_path, "\n".join(lines[:76]) + "\n", name="a.csv")
    write_input(tmp_path, "\n".join([lines[0], "1,2,3,4,Iris-foo"]) + "\n", name="b.csv")
    with pytest.raises(DataValidationError, match=r"^b\.csv line 2 \(data row 1\)"):
        prepare.load_dataset(tmp_path)


def test_no_csv_in_directory(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("not data")
    with pytest.raises(DataValidationError, match=r"no \.csv file found in"):
        prepare.load_dataset(tmp_path)


def test_missing_input_directory(tmp_path: Path) -> None:
    with pytest.raises(DataValidationError, match="does not exist"):
        prepare.load_dataset(tmp_path / "absent")


def test_too_few_rows_of_a_class_to_stratify(tmp_path: Path) -> None:
    lines = iris_lines()
    # Keep all setosa and versicolor rows but only 2 virginica rows.
    text = "\n".join(lines[:101] + lines[101:103]) + "\n"
    with pytest.raises(
        DataValidationError, match=r"class 'Iris-virginica' has 2 row\(s\), at least 5"
    ):
        prepare.load_dataset(write_input(tmp_path, text))


def test_extra_columns_are_ignored_and_order_is_free(tmp_path: Path) -> None:
    text = "Id,Species,PetalWidth,PetalLength,SepalWidth,SepalLength\n"
    text += "\n".join(
        f"{i},{name},0.2,1.4,3.5,5.1" for i in range(1, 31) for name in [prepare.CLASS_NAMES[i % 3]]
    )
    frame = prepare.load_dataset(write_input(tmp_path, text + "\n"))
    assert list(frame.columns) == ["label", *prepare.FEATURE_COLUMNS]
    assert frame.iloc[0].tolist() == [1, 5.1, 3.5, 1.4, 0.2]


def test_validate_frame_reports_missing_values() -> None:
    frame = pd.DataFrame({"label": [0, 1], **{c: [1.0, np.nan] for c in prepare.FEATURE_COLUMNS}})
    with pytest.raises(DataValidationError, match=r"data row 2, column 'SepalLength'"):
        prepare.validate_frame(frame)


def test_invalid_ratios_are_rejected() -> None:
    with pytest.raises(DataValidationError, match="invalid split ratios"):
        prepare.SplitRatios(train=0.8, validation=0.2).check()


# --------------------------------------------------------------------------- split


def test_split_sizes_and_stratification(split_dir: Path) -> None:
    expected = {"train": 90, "validation": 30, "test": 30}
    all_rows = []
    for name, size in expected.items():
        frame = pd.read_csv(split_dir / name / f"{name}.csv", header=None)
        assert frame.shape == (size, 5)
        # Label first as an integer class index, then the four features.
        assert frame[0].dtype.kind == "i"
        assert frame[0].value_counts().sort_index().tolist() == [size // 3] * 3
        all_rows.append(frame)
    combined = pd.concat(all_rows)
    original = prepare.validate_frame(prepare.read_csv_file(IRIS_CSV))
    # Together the splits are exactly the original rows (as a multiset).
    as_tuples = sorted(map(tuple, combined.to_numpy().tolist()))
    assert as_tuples == sorted(map(tuple, original.to_numpy().tolist()))


def test_split_has_no_header_and_keeps_exact_values(split_dir: Path) -> None:
    first = (split_dir / "train" / "train.csv").read_text().splitlines()[0]
    label, *features = first.split(",")
    assert label in {"0", "1", "2"}
    assert all(len(value.split(".")[1]) == 1 for value in features)


def test_split_is_deterministic_and_seed_dependent(tmp_path: Path, split_dir: Path) -> None:
    input_dir = write_input(tmp_path / "raw", IRIS_CSV.read_text())

    def digest(seed: int, name: str) -> str:
        out = tmp_path / f"out-{seed}-{name}"
        prepare.run(input_dir, out, prepare.SplitRatios(), seed)
        files = [out / split / f"{split}.csv" for split in prepare.SPLIT_NAMES]
        return hashlib.sha256(b"".join(f.read_bytes() for f in files)).hexdigest()

    assert digest(42, "a") == digest(42, "b")
    assert digest(7, "a") != digest(42, "a")
    fixture_files = [split_dir / s / f"{s}.csv" for s in prepare.SPLIT_NAMES]
    assert (
        digest(42, "c")
        == hashlib.sha256(b"".join(f.read_bytes() for f in fixture_files)).hexdigest()
    )


def test_split_custom_ratios() -> None:
    frame = prepare.validate_frame(prepare.read_csv_file(IRIS_CSV))
    splits = prepare.split_dataset(frame, prepare.SplitRatios(0.7, 0.1), seed=1)
    assert {k: len(v) for k, v in splits.items()} == {"train": 105, "validation": 15, "test": 30}
    for part in splits.values():
        assert part["label"].nunique() == 3


# --------------------------------------------------------------------------- entry point


def test_main_writes_the_three_splits(tmp_path: Path) -> None:
    input_dir = write_input(tmp_path / "in", IRIS_CSV.read_text())
    out = tmp_path / "out"
    code = prepare.main(["--input-dir", str(input_dir), "--output-dir", str(out)])
    assert code == 0
    assert [p.relative_to(out).as_posix() for p in output_files(out)] == [
        "test/test.csv",
        "train/train.csv",
        "validation/validation.csv",
    ]


def test_main_failure_exit_code_message_and_no_outputs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    input_dir = write_input(tmp_path / "in", with_line(10, "4.4,2.9,1.4,0.2,Iris-unknown"))
    failure_file = tmp_path / "sm-output" / "message"
    monkeypatch.setenv(prepare.FAILURE_FILE_ENV, str(failure_file))
    out = tmp_path / "out"
    code = prepare.main(["--input-dir", str(input_dir), "--output-dir", str(out)])
    assert code == 2
    stderr = capsys.readouterr().err
    assert "ERROR: DataValidationError: iris.csv line 10 (data row 9), column 'Species'" in stderr
    assert failure_file.read_text().startswith(
        "DataValidationError: iris.csv line 10 (data row 9), column 'Species': unknown label"
    )
    assert output_files(out) == []


def test_failure_file_skipped_outside_sagemaker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(prepare.FAILURE_FILE_ENV, raising=False)
    monkeypatch.setattr(prepare, "DEFAULT_FAILURE_FILE", str(tmp_path / "absent" / "message"))
    prepare.write_failure_reason("boom")
    assert not (tmp_path / "absent").exists()


def test_write_failure_mid_way_leaves_no_partial_outputs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    frame = prepare.validate_frame(prepare.read_csv_file(IRIS_CSV))
    splits = prepare.split_dataset(frame)
    real_replace = prepare.os.replace
    calls = []

    def flaky_replace(src: str | Path, dst: str | Path) -> None:
        # The first file lands, the second rename fails.
        calls.append(dst)
        if len(calls) == 2:
            raise OSError("disk full")
        real_replace(src, dst)

    monkeypatch.setattr(prepare.os, "replace", flaky_replace)
    with pytest.raises(OSError, match="disk full"):
        prepare.write_splits(splits, tmp_path / "out")
    # Neither the already renamed file, nor the others, nor any temp file remain.
    assert len(calls) == 2
    assert output_files(tmp_path / "out") == []


def test_seed_changes_which_rows_are_held_out() -> None:
    frame = prepare.validate_frame(prepare.read_csv_file(IRIS_CSV))
    frame = frame.assign(row=range(len(frame)))

    def test_rows(seed: int) -> set[int]:
        return set(prepare.split_dataset(frame, seed=seed)["test"]["row"])

    assert test_rows(42) == test_rows(42)
    assert test_rows(42) != test_rows(7)
    # Not simply the first rows of each class.
    assert test_rows(42) != {*range(10), *range(50, 60), *range(100, 110)}
