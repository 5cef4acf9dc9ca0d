"""The endpoint's serving functions for the SageMaker XGBoost 1.7-1 container (script mode).

train.py (the module ``SAGEMAKER_PROGRAM`` names) exposes these; this file ships beside it in
the sourcedir and in the model's ``code/``, with the ``contracts`` package it imports.

Serving contract (`model_fn`, `input_fn`, `predict_fn`, `output_fn`), as the container's
sagemaker-containers 2.8.6 transformer runs them: `text/csv` rows of the contract's feature columns
in, `application/json` class probabilities out, one per class in the contract's class order
(binary: `[1-p, p]`). The contract is the endpoint's API: a first row naming the columns reorders
the data rows into the contract's order, or is refused when it names other columns; a leading
UTF-8 byte-order mark is dropped. A request the script refuses is answered with a 4xx JSON error
(`ErrorResponse`), never an exception (which the container turns into an HTML 500).
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path
from typing import Any

import numpy as np
import xgboost as xgb

from contracts import dataset

MODEL_FILE_NAME = "xgboost-model.json"
JSON_CONTENT_TYPE = "application/json"
CSV_CONTENT_TYPE = "text/csv"
#: The dataset contract prepare.py wrote (contracts/dataset.py): the endpoint's API.
Contract = dataset.Contract


def feature_names(contract: Contract) -> list[str] | None:
    """Names for xgboost's DMatrix, or None when a column name is one xgboost refuses.

    xgboost 1.7 and 3.x refuse feature names containing '[', ']' or '<' (core.py,
    DMatrix.feature_names setter); the contract keeps the real names either way.
    """
    if any(set(name) & set("[]<") for name in contract.feature_columns):
        return None
    return list(contract.feature_columns)


def make_dmatrix(
    features: np.ndarray, contract: Contract, labels: np.ndarray | None = None
) -> xgb.DMatrix:
    return xgb.DMatrix(features, label=labels, feature_names=feature_names(contract))


@dataclass
class LoadedModel:
    booster: xgb.Booster
    contract: Contract

    @property
    def class_names(self) -> list[str]:
        return self.contract.class_names


def model_fn(model_dir: str) -> LoadedModel:
    """Load the booster and the dataset contract (features, classes) from the model directory."""
    directory = Path(model_dir)
    model_path = directory / MODEL_FILE_NAME
    if not model_path.is_file():
        raise FileNotFoundError(f"no {MODEL_FILE_NAME} in {directory}")
    booster = xgb.Booster()
    booster.load_model(str(model_path))
    return LoadedModel(booster=booster, contract=dataset.read(directory, "model directory"))


def _media_type(content_type: str | None) -> str:
    return (content_type or "").split(";")[0].strip().lower()


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class CsvRows:
    """A `text/csv` request split into rows of stripped cells, checked against the model later.

    The container calls `input_fn(body, content_type)` without the model, so the rows are only
    matched against the contract's features in predict_fn.
    """

    rows: list[list[str]]


class ErrorResponse:
    """A refused request, answered with its own 4xx status and a JSON body (a WSGI application).

    Why not raise: the container's serving stack (sagemaker-containers 2.8.6.post2, pinned in
    aws/sagemaker-xgboost-container requirements.txt at v1.7-1) wraps input_fn, predict_fn and
    output_fn in `_functions.error_wrapper(fn, _errors.ClientError)` (`_transformer.Transformer`),
    and the XGBoost container's `serving.py` passes its defaults the same way. Any exception, the
    UnsupportedFormatError that `_default_transform_fn` would map to 415 included, so leaves the
    Flask view as ClientError, and Flask answers an HTML 500 (a ModelError with
    OriginalStatusCode 500 for the caller, and a 5XX for the alarms). What output_fn returns goes
    to Flask as is (`Transformer.transform` only turns tuples into a Response), and Flask 1.1
    turns a WSGI callable into the response (`Flask.make_response`), so a refusal travels
    input_fn ─► predict_fn ─► output_fn as this object. The body has the keys of the container's
    own `Transformer._error_response` ("error", "error-message").
    """

    def __init__(self, status: int, error: str, message: str) -> None:
        self.status = status
        self.error = error
        self.message = message

    def body(self) -> bytes:
        return json.dumps({"error": self.error, "error-message": self.message}).encode("utf-8")

    def __call__(self, environ: Any, start_response: Any) -> list[bytes]:
        body = self.body()
        start_response(
            f"{self.status} {HTTPStatus(self.status).phrase}",
            [("Content-Type", JSON_CONTENT_TYPE), ("Content-Length", str(len(body)))],
        )
        return [body]

    def __repr__(self) -> str:
        return f"ErrorResponse({self.status}, {self.error!r}, {self.message!r})"


#: Delimiters people send by mistake instead of commas (locales with a decimal comma use ';').
WRONG_DELIMITERS = {";": "';'", "\t": "tabs", "|": "'|'"}


def _expected_row(features: Sequence[str]) -> str:
    return f"expected {len(features)} comma-separated numbers ({','.join(features)})"


def _is_header(row: list[str], features: Sequence[str]) -> bool:
    """A first row that names columns: no cell is a number, and it has as many cells as there
    are features or names one of them. A row of words that is neither ("hello world") is a data
    row, reported as such; names that look like numbers cannot be told from data."""
    if any(_is_number(cell) for cell in row):
        return False
    return len(row) == len(features) or any(cell in features for cell in row)


def header_order(names: Sequence[str], features: Sequence[str]) -> list[int]:
    """Where each feature is in a header row (``names``), in the contract's feature order.

    The header is the client's statement of its column order: the rows are reordered by it into
    the model's order. A header that repeats a name, leaves a feature out or names a column the
    model does not have is refused (ValueError naming each): guessing would answer confidently
    for the wrong columns.
    """
    repeated = sorted({name for name in names if names.count(name) > 1})
    missing = [name for name in features if name not in names]
    unknown = [name for name in names if name not in features]
    problems = []
    if repeated:
        problems.append(f"repeated {', '.join(repr(n) for n in repeated)}")
    if missing:
        problems.append(f"missing {', '.join(repr(n) for n in missing)}")
    if unknown:
        problems.append(f"unknown {', '.join(repr(n) for n in unknown)}")
    if problems:
        raise ValueError(
            f"the header row does not name the model's features: {'; '.join(problems)}; "
            f"send the columns {','.join(features)} (in any order, with a header row naming "
            "them) or no header row and the features in that order"
        )
    return [list(names).index(name) for name in features]


def _row_problem(number: int, row: list[str], features: Sequence[str]) -> str | None:
    """Why a data row is not the features' finite numbers, naming what was found and expected."""
    expected = len(features)
    if len(row) == 1 and expected > 1:
        for delimiter, name in WRONG_DELIMITERS.items():
            if delimiter in row[0]:
                return (
                    f"row {number}: wrong delimiter: found values separated by {name} "
                    f"('{row[0]}'), {_expected_row(features)}"
                )
    if len(row) != expected:
        words = [cell for cell in row if not _is_number(cell)]
        if words:
            return f"row {number}: '{words[0]}' is not numeric; {_expected_row(features)}"
        return f"row {number}: {_expected_row(features)}, got {len(row)} values"
    for column, cell in zip(features, row):
        if not _is_number(cell):
            return f"row {number}, {column}: '{cell}' is not a number; {_expected_row(features)}"
        if not math.isfinite(float(cell)):
            return f"row {number}, {column}: '{cell}' is not a finite number"
    return None


def split_csv_request(request_body: str | bytes) -> CsvRows:
    """The body's non-blank CSV rows (cells stripped); ValueError if it is not UTF-8 text."""
    if isinstance(request_body, (bytes, bytearray)):
        try:
            request_body = bytes(request_body).decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ValueError("request body is not UTF-8 text") from None
    if "\ufffd" in request_body:
        # The container decodes text/csv bodies with errors="replace" (werkzeug get_data).
        raise ValueError("request body is not UTF-8 text")
    # A UTF-8 byte-order mark, as spreadsheet exports write it (training accepts such files).
    # The container hands text/csv bodies over already decoded as plain UTF-8
    # (sagemaker-containers 2.8.6 _worker.Request.content: get_data(as_text=True)), which keeps
    # the mark as U+FEFF at the start of the text.
    if request_body.startswith("\ufeff"):
        request_body = request_body[1:]
    return CsvRows(
        [
            [cell.strip() for cell in row]
            for row in csv.reader(io.StringIO(request_body))
            if row and any(cell.strip() for cell in row)
        ]
    )


def rows_to_features(request: CsvRows, features: Sequence[str]) -> np.ndarray:
    """The rows as an (n, number of features) array; ValueError names the first bad row.

    A first row of column names (a header) reorders the data rows into the features' order, or
    is refused when it does not name exactly the features (``header_order``).
    """
    rows = request.rows
    order: list[int] | None = None
    if rows and _is_header(rows[0], features):
        order = header_order(rows[0], features)
        rows = rows[1:]
    if not rows:
        raise ValueError(f"request body has no data rows; {_expected_row(features)}")
    ordered = []
    for number, row in enumerate(rows, start=1):
        if order is not None and len(row) == len(features):
            row = [row[position] for position in order]
        problem = _row_problem(number, row, features)
        if problem:
            raise ValueError(problem)
        ordered.append(row)
    return np.asarray([[float(cell) for cell in row] for row in ordered], dtype="float64")


def parse_csv_request(request_body: str | bytes, features: Sequence[str]) -> np.ndarray:
    """CSV rows of the given features as an (n, len(features)) array; ValueError says why not."""
    return rows_to_features(split_csv_request(request_body), features)


def input_fn(
    request_body: str | bytes, request_content_type: str | None
) -> CsvRows | ErrorResponse:
    """`text/csv` rows (checked against the model in predict_fn); else a 4xx ErrorResponse.

    A wrong content type gets 415 with the container's UnsupportedFormatError (sagemaker-containers
    `_errors.UnsupportedFormatError`, mapped to UNSUPPORTED_MEDIA_TYPE by
    `_transformer._default_transform_fn`); a body that is not UTF-8 text gets 400.
    """
    media_type = _media_type(request_content_type)
    if media_type != CSV_CONTENT_TYPE:
        return ErrorResponse(
            415,
            "UnsupportedFormatError",
            f"Content type {request_content_type} is not supported by this model: "
            f"send {CSV_CONTENT_TYPE}",
        )
    try:
        return split_csv_request(request_body)
    except ValueError as error:
        return ErrorResponse(400, "ValueError", str(error))


def predict_fn(
    input_data: CsvRows | np.ndarray | ErrorResponse, model: LoadedModel
) -> np.ndarray | ErrorResponse:
    """Class probabilities, shape (n, number of classes), each row summing to 1.

    Rows that are not the contract's feature columns as finite numbers get 400.
    """
    if isinstance(input_data, ErrorResponse):
        return input_data  # refused by input_fn: output_fn answers it
    if isinstance(input_data, CsvRows):
        try:
            input_data = rows_to_features(input_data, model.contract.feature_columns)
        except ValueError as error:
            return ErrorResponse(400, "ValueError", str(error))
    return predict_probabilities(input_data, model)


def predict_probabilities(features: np.ndarray, model: LoadedModel) -> np.ndarray:
    """Class probabilities for an (n, features) array, shape (n, number of classes).

    binary:logistic predicts P(class 1) only; the answer is [1-p, p] in class order.
    """
    features = np.atleast_2d(np.asarray(features, dtype="float64"))
    predicted = np.asarray(
        model.booster.predict(make_dmatrix(features, model.contract)), dtype="float64"
    )
    if model.contract.binary:
        positive = predicted.reshape(len(features))
        return np.column_stack([1.0 - positive, positive])
    return predicted.reshape(len(features), model.contract.num_classes)


def accepts_json(accept: str | None) -> bool:
    """Whether an Accept header admits `application/json` (absent means anything)."""
    accepted = [_media_type(part) for part in (accept or "").split(",")]
    return any(media in ("", "*/*", "application/*", JSON_CONTENT_TYPE) for media in accepted)


def output_fn(
    prediction: np.ndarray | ErrorResponse, accept: str | None
) -> tuple[str, str] | ErrorResponse:
    """`(JSON text, "application/json")`, e.g. `[[0.02, 0.96, 0.02]]`, or the refusal.

    The tuple is the form the container's transformer turns into a response with that content
    type (`_transformer.Transformer.transform`: `Response(response=result[0],
    mimetype=result[1])`); a bare string would go out as Flask's default `text/html`. An Accept
    that excludes JSON gets 406, as the container's `_default_transform_fn` answers an
    UnsupportedFormatError from output_fn (NOT_ACCEPTABLE).
    """
    if isinstance(prediction, ErrorResponse):
        return prediction
    if not accepts_json(accept):
        return ErrorResponse(
            406,
            "UnsupportedFormatError",
            f"Accept {accept} is not supported by this model: use {JSON_CONTENT_TYPE}",
        )
    return probabilities_json(prediction), JSON_CONTENT_TYPE


def probabilities_json(prediction: np.ndarray) -> str:
    """Probabilities as the endpoint's JSON body, 6 decimals, e.g. `[[0.02, 0.96, 0.02]]`."""
    rows = np.atleast_2d(np.asarray(prediction, dtype="float64"))
    return json.dumps([[round(float(value), 6) for value in row] for row in rows])
