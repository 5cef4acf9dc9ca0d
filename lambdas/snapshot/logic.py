"""Copy one pinned object version into ``runs/<execution>/input/``, whatever its size.

A single S3 CopyObject copies at most 5 GB ("You can store individual objects of up to 5 TB in
Amazon S3. You create a copy of your object up to 5 GB in size in a single atomic action using
this API. However, to copy an object greater than 5 GB, you must use the multipart upload Upload
Part - Copy (UploadPartCopy) API", https://docs.aws.amazon.com/AmazonS3/latest/API/API_CopyObject.html).
boto3's managed copy does exactly that: one CopyObject below its multipart threshold, a
server-side multipart copy (UploadPartCopy) above it, with the part size grown to stay within
10,000 parts. ``CopySource`` is given as a dict, so botocore URL-encodes the key
(``handle_copy_source_param``) and a key with ``+``, ``%``, a space or ``é`` copies exactly that
object.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from boto3.s3.transfer import TransferConfig

#: boto3's defaults, stated: objects above 8 MiB are copied in parts, ten at a time.
MULTIPART_THRESHOLD = 8 * 1024 * 1024
TRANSFER = TransferConfig(multipart_threshold=MULTIPART_THRESHOLD, max_concurrency=10)
#: The copy carries no tags, so the role needs no s3:GetObjectTagging / s3:PutObjectTagging
#: (CopyObject's permissions section, URL above).
EXTRA_ARGS = {"TaggingDirective": "REPLACE"}


def snapshot(s3: Any, data: Mapping[str, Any]) -> dict[str, Any]:
    """Copy ``data``'s pinned version (as the input check answered it) to its run key."""
    source = {"Bucket": data["bucket"], "Key": data["key"], "VersionId": data["version_id"]}
    s3.copy(
        source,
        data["bucket"],
        data["run_input_key"],
        ExtraArgs=EXTRA_ARGS,
        Config=TRANSFER,
    )
    return {
        "uri": data["run_input_uri"],
        "version_id": data["version_id"],
        "multipart": int(data.get("size", 0)) > MULTIPART_THRESHOLD,
    }
