"""The KMS calls S3 makes as the caller for an object request (SSE-KMS), to be authorised.

``s3_write_key`` and ``s3_kms_actions`` are pure; ``s3_kms_calls`` reads the bucket and the
object from moto's S3 backend.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote

# S3 calls KMS as the caller for objects encrypted with SSE-KMS: "To upload an object encrypted
# with an AWS KMS key to Amazon S3, you need kms:GenerateDataKey permissions on the key. To
# download an object encrypted with an AWS KMS key, you need kms:Decrypt permissions", and a
# multipart upload needs both (S3 user guide, "Using server-side encryption with AWS KMS keys",
# https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingKMSEncryption.html#require-sse-kms,
# and "Multipart upload API and permissions"). The key policy and the caller's identity policies
# decide, as for any KMS call (``check`` treats ``kms:`` actions on a key as key-policy
# decisions), with ``kms:ViaService`` s3.<region>.amazonaws.com. Keys named by neither the
# request nor the bucket's default encryption (SSE-S3, or the AWS managed aws/s3 key, whose
# policy allows every principal of the account through S3) need nothing here. Stricter
# readings: UploadPart needs both actions like CreateMultipartUpload; a CopyObject's source
# needs kms:Decrypt; S3 Bucket Keys do not waive the checks.
S3_WRITE_KMS = ("kms:GenerateDataKey",)
S3_MULTIPART_KMS = ("kms:GenerateDataKey", "kms:Decrypt")
S3_READ_KMS = ("kms:Decrypt",)


def s3_write_key(
    headers: Mapping[str, str], bucket_encryption: Mapping[str, Any] | None
) -> str | None:
    """The KMS key a new object will be encrypted with: the request's SSE-KMS key, else the
    bucket's default customer managed key; ``None`` for SSE-S3 or the AWS managed key."""
    algorithm = headers.get("x-amz-server-side-encryption")
    default = dict(
        (bucket_encryption or {}).get("Rule", {}).get("ApplyServerSideEncryptionByDefault") or {}
    )
    if algorithm is not None:
        if not algorithm.startswith("aws:kms"):
            return None
        return headers.get("x-amz-server-side-encryption-aws-kms-key-id") or (
            default.get("KMSMasterKeyID")
            if str(default.get("SSEAlgorithm", "")).startswith("aws:kms")
            else None
        )
    if str(default.get("SSEAlgorithm", "")).startswith("aws:kms"):
        return default.get("KMSMasterKeyID") or None
    return None


def s3_kms_actions(
    method: str, query: Mapping[str, Any], headers: Mapping[str, str]
) -> tuple[str, tuple[str, ...]]:
    """Which object an object request reads or writes through KMS ("write", "read", "source",
    "multipart" or "") and the KMS actions S3 performs for it as the caller."""
    sub_resources = {"acl", "tagging", "retention", "legal-hold", "attributes", "restore", "select"}
    if sub_resources & set(query):
        return "", ()
    if method == "PUT" and "uploadId" in query:
        return "multipart", S3_MULTIPART_KMS
    if method == "POST" and "uploads" in query:
        return "write-multipart", S3_MULTIPART_KMS
    if method == "PUT":
        return ("copy" if "x-amz-copy-source" in headers else "write"), S3_WRITE_KMS
    if method == "GET" and "uploadId" not in query:
        return "read", S3_READ_KMS
    return "", ()


def s3_kms_calls(response: Any, account: str, partition: str) -> list[tuple[str, str]]:
    """The (KMS action, key id) pairs S3 performs as the caller for this object request."""
    from moto.s3.models import s3_backends

    key_name = getattr(response, "_s3_key_name", None)
    bucket_name = getattr(response, "bucket_name", None)
    if not bucket_name:
        return []
    try:
        key_name = key_name or response.parse_key_name()
    except Exception:  # a bucket request: nothing encrypted with KMS is read or written
        return []
    if not key_name:
        return []
    headers = {k.lower(): v for k, v in dict(response.headers).items()}
    query = getattr(response, "querystring", None) or {}
    kind, actions = s3_kms_actions(response.method, query, headers)
    if not kind:
        return []
    backend = s3_backends[account][partition]
    bucket = backend.buckets.get(bucket_name)
    if bucket is None:
        return []
    calls: list[tuple[str, str]] = []

    def object_key(bucket_of: Any, name: str) -> str | None:
        found = bucket_of.keys.get(name) if bucket_of is not None else None
        if found is None or not str(found.encryption or "").startswith("aws:kms"):
            return None
        return str(found.kms_key_id) if found.kms_key_id else None

    if kind == "read":
        key_id = object_key(bucket, key_name)
    elif kind == "multipart":
        upload_id = (
            query["uploadId"][0] if isinstance(query["uploadId"], list) else query["uploadId"]
        )
        upload = bucket.multiparts.get(upload_id)
        key_id = str(upload.kms_key_id) if upload is not None and upload.kms_key_id else None
    else:
        key_id = s3_write_key(headers, bucket.encryption)
    if key_id:
        calls += [(action, key_id) for action in actions]
    if kind == "copy":
        source = unquote(headers["x-amz-copy-source"].split("?", 1)[0]).lstrip("/")
        source_bucket, _, source_key = source.partition("/")
        source_id = object_key(backend.buckets.get(source_bucket), source_key)
        if source_id:
            calls += [(action, source_id) for action in S3_READ_KMS]
    return calls
