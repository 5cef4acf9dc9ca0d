"""A single CopyObject copies at most 5 GB; larger objects are copied part by part with
UploadPartCopy (``emulator/aws/s3.py``). The limit is lowered through the emulator's
environment so a test can reach it with a few megabytes.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pytest
from boto3.s3.transfer import TransferConfig
from botocore.exceptions import ClientError

from emulator.aws import s3 as s3_extension

pytestmark = pytest.mark.integration

MIB = 1024 * 1024
LIMIT = 6 * MIB  # the lowered single-copy limit
SIZE = 10 * MIB  # above it


@pytest.fixture
def s3(clients: Callable[[str], Any], monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv(s3_extension.COPY_LIMIT_ENV, str(LIMIT))
    client = clients("s3")
    client.create_bucket(Bucket="data")
    client.put_bucket_versioning(Bucket="data", VersioningConfiguration={"Status": "Enabled"})
    return client


def test_the_default_limit_is_5_gib(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(s3_extension.COPY_LIMIT_ENV, raising=False)
    assert s3_extension.copy_limit_bytes() == 5 * 1024**3 == 5368709120


def test_a_bad_limit_is_refused_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(s3_extension.COPY_LIMIT_ENV, "five gigabytes")
    with pytest.raises(ValueError, match=s3_extension.COPY_LIMIT_ENV):
        s3_extension.copy_limit_bytes()


def test_copy_object_above_the_limit_is_refused_as_s3_refuses_it(s3: Any) -> None:
    s3.put_object(Bucket="data", Key="raw/big.csv", Body=os.urandom(SIZE))
    with pytest.raises(ClientError) as refused:
        s3.copy_object(
            Bucket="data", Key="runs/1/big.csv", CopySource={"Bucket": "data", "Key": "raw/big.csv"}
        )
    error = refused.value.response["Error"]
    assert error["Code"] == "InvalidRequest"
    assert error["Message"] == (
        "The specified copy source is larger than the maximum allowable size for a copy "
        f"source: {LIMIT}"
    )
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert "Contents" not in s3.list_objects_v2(Bucket="data", Prefix="runs/")


def test_copy_object_up_to_the_limit_copies(s3: Any) -> None:
    body = os.urandom(LIMIT)
    s3.put_object(Bucket="data", Key="raw/small.csv", Body=body)
    s3.copy_object(
        Bucket="data", Key="runs/1/small.csv", CopySource={"Bucket": "data", "Key": "raw/small.csv"}
    )
    assert s3.get_object(Bucket="data", Key="runs/1/small.csv")["Body"].read() == body


def test_a_managed_copy_of_one_version_copies_it_exactly_part_by_part(s3: Any) -> None:
    """boto3's managed copy (``s3.copy``, what the snapshot step uses) sends UploadPartCopy
    with ``CopySourceRange`` above its multipart threshold; each part is within the limit."""
    first, second = os.urandom(SIZE), os.urandom(SIZE)
    version = s3.put_object(Bucket="data", Key="raw/big.csv", Body=first)["VersionId"]
    s3.put_object(Bucket="data", Key="raw/big.csv", Body=second)  # a newer version
    config = TransferConfig(multipart_threshold=5 * MIB, multipart_chunksize=5 * MIB)

    s3.copy(
        {"Bucket": "data", "Key": "raw/big.csv", "VersionId": version},
        "data",
        "runs/1/input/big.csv",
        Config=config,
    )

    copied = s3.get_object(Bucket="data", Key="runs/1/input/big.csv")["Body"].read()
    assert copied == first


def test_upload_part_copy_above_the_limit_is_refused(s3: Any) -> None:
    s3.put_object(Bucket="data", Key="raw/big.csv", Body=os.urandom(SIZE))
    upload = s3.create_multipart_upload(Bucket="data", Key="runs/1/big.csv")["UploadId"]
    with pytest.raises(ClientError) as refused:
        s3.upload_part_copy(
            Bucket="data",
            Key="runs/1/big.csv",
            UploadId=upload,
            PartNumber=1,
            CopySource={"Bucket": "data", "Key": "raw/big.csv"},  # the whole source: 10 MiB
        )
    assert refused.value.response["Error"]["Code"] == "InvalidRequest"
    part = s3.upload_part_copy(
        Bucket="data",
        Key="runs/1/big.csv",
        UploadId=upload,
        PartNumber=1,
        CopySource={"Bucket": "data", "Key": "raw/big.csv"},
        CopySourceRange=f"bytes=0-{LIMIT - 1}",
    )
    assert part["CopyPartResult"]["ETag"]
