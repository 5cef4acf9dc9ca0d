"""Put a dataset under ``data/raw/`` with its settings as user metadata, and know the version.

A local file is uploaded; an S3 object is copied server-side. Either way the new object version
is returned, so the run its upload starts can be recognised (its input names that version).

S3's limits, from the S3 user guide and API reference:

- a single CopyObject copies at most 5 GB ("Copy an object ... up to 5 GB in a single atomic
  operation"; larger objects need a multipart upload with UploadPartCopy);
- a multipart upload has at most 10,000 parts of 5 MiB to 5 GiB each (the last may be smaller)
  ("Amazon S3 multipart upload limits");
- user-defined metadata is at most 2 KB, the sum of the UTF-8 bytes of each key and value, and
  travels in HTTP headers, US-ASCII over REST ("Working with object metadata").
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, BinaryIO

from ops.errors import ConfigError

COPY_MAX = 5 * 1024**3
PART_MIN = 5 * 1024**2
PART_MAX = 5 * 1024**3
PARTS_MAX = 10_000
#: Files up to this size go in one PutObject; larger ones in parts of at least this size.
PART_SIZE = 64 * 1024**2
METADATA_MAX_BYTES = 2048
CONTENT_TYPE = "text/csv"


def part_size(size: int, preferred: int = PART_SIZE) -> int:
    """A part size that fits ``size`` bytes into at most 10,000 parts within S3's bounds."""
    chosen = max(preferred, PART_MIN, math.ceil(size / PARTS_MAX))
    if chosen > PART_MAX:
        raise ConfigError(
            f"an object of {size} bytes needs parts over 5 GiB: larger than S3 stores"
        )
    return chosen


def ranges(size: int, part: int) -> Iterator[tuple[int, int]]:
    """Inclusive byte ranges ``(first, last)`` of consecutive parts covering ``size`` bytes."""
    for first in range(0, size, part):
        yield first, min(first + part, size) - 1


def check_metadata(metadata: Mapping[str, str]) -> None:
    """Refuse metadata S3 would mangle or refuse, naming the value and the limit."""
    for key, value in metadata.items():
        if not value.isascii():
            raise ConfigError(
                f"{key} {value!r} has characters outside US-ASCII: S3 user metadata travels in "
                "HTTP headers as US-ASCII, so the run would read it back changed. Rename the "
                "column (letters a-z, digits, spaces, _ . : / = + - @)"
            )
    total = sum(len(k.encode()) + len(v.encode()) for k, v in metadata.items())
    if total > METADATA_MAX_BYTES:
        raise ConfigError(
            f"the dataset settings take {total} bytes of S3 user metadata; S3 keeps at most "
            f"{METADATA_MAX_BYTES}: leave feature_columns empty and drop unwanted columns from "
            "the file instead"
        )


def _multipart(s3: Any, bucket: str, key: str, metadata: Mapping[str, str], parts: Any) -> str:
    """Create, send each part (``parts`` yields (number, send) -> ETag), complete: the version."""
    upload = s3.create_multipart_upload(
        Bucket=bucket, Key=key, Metadata=dict(metadata), ContentType=CONTENT_TYPE
    )["UploadId"]
    try:
        done = [{"PartNumber": n, "ETag": send(upload)} for n, send in parts]
        answer = s3.complete_multipart_upload(
            Bucket=bucket, Key=key, UploadId=upload, MultipartUpload={"Parts": done}
        )
    except BaseException:
        s3.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload)
        raise
    return str(answer.get("VersionId") or "")


def upload_file(s3: Any, path: Path, bucket: str, key: str, metadata: Mapping[str, str]) -> str:
    """Upload ``path`` to ``bucket/key`` with ``metadata``; return the new version id."""
    size = path.stat().st_size
    with path.open("rb") as handle:
        if size <= PART_SIZE:
            answer = s3.put_object(
                Bucket=bucket,
                Key=key,
                Body=handle,
                Metadata=dict(metadata),
                ContentType=CONTENT_TYPE,
            )
            return str(answer.get("VersionId") or "")
        part = part_size(size)

        def sender(number: int, stream: BinaryIO) -> Any:
            def send(upload: str) -> str:
                body = stream.read(part)
                return str(
                    s3.upload_part(
                        Bucket=bucket, Key=key, UploadId=upload, PartNumber=number, Body=body
                    )["ETag"]
                )

            return send

        parts = ((n, sender(n, handle)) for n, _ in enumerate(ranges(size, part), start=1))
        return _multipart(s3, bucket, key, metadata, parts)


def copy_object(
    s3: Any,
    source: Mapping[str, str],
    size: int,
    bucket: str,
    key: str,
    metadata: Mapping[str, str],
) -> str:
    """Copy ``source`` (Bucket, Key[, VersionId]) server-side to ``bucket/key`` with new
    ``metadata``; a multipart copy above CopyObject's 5 GB. Returns the new version id."""
    if size <= COPY_MAX:
        answer = s3.copy_object(
            Bucket=bucket,
            Key=key,
            CopySource=dict(source),
            Metadata=dict(metadata),
            MetadataDirective="REPLACE",
            ContentType=CONTENT_TYPE,
        )
        return str(answer.get("VersionId") or "")
    part = part_size(size)

    def sender(number: int, first: int, last: int) -> Any:
        def send(upload: str) -> str:
            answer = s3.upload_part_copy(
                Bucket=bucket,
                Key=key,
                UploadId=upload,
                PartNumber=number,
                CopySource=dict(source),
                CopySourceRange=f"bytes={first}-{last}",
            )
            return str(answer["CopyPartResult"]["ETag"])

        return send

    parts = ((n, sender(n, a, b)) for n, (a, b) in enumerate(ranges(size, part), start=1))
    return _multipart(s3, bucket, key, metadata, parts)
