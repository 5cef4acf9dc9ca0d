"""Which access keys the emulator knows, and AWS's answer to a key it does not.

A request is signed with one of three kinds of key:

- an STS session the emulator issued (AssumeRole, AssumeRoleWithWebIdentity, the sessions its
  own services act with): authorised by the role's policies (``wiring.authorize``);
- the configured local user's long-term key (``emulator/credentials.py``:
  ``$EMULATOR_ACCESS_KEY_ID``, default ``testing``, the key the harness, Terraform's local
  override and the test fixtures sign with): the account's root, as before;
- anything else: refused before anything is served, as AWS refuses a key it has no record of.

AWS's answers to an unknown key, by protocol:

- query services (STS, IAM, SNS): ``InvalidClientTokenId`` (403), "The security token included
  in the request is invalid." (IAM and STS API references, "Common Errors": "The X.509
  certificate or AWS access key ID provided does not exist in our records.");
- JSON and rest-json services (Step Functions, SageMaker, SageMaker Runtime, Lambda,
  EventBridge, CloudWatch Logs): ``UnrecognizedClientException``, with the same message
  (botocore ``logs/2014-03-28/service-2.json``, ``UnrecognizedClientException``: "The most
  likely cause is an Amazon Web Services access key ID or secret key that's not valid"). The
  status of this answer is not documented per service; 403, as for the query code, is used;
- JSON services that keep their query error codes (``awsQueryCompatible`` in botocore's model:
  SQS, CloudWatch) send the query code in ``x-amzn-query-error``, so clients read
  ``InvalidClientTokenId`` (botocore ``parsers.py``, ``_do_query_compatible_error_parse``);
- S3: ``InvalidAccessKeyId`` (403), "The AWS access key Id you provided does not exist in our
  records." (S3 API reference, "Error responses", list of error codes).

Stricter readings, each said here: the local user's key with a session token is refused too
(it is no session the emulator issued; AWS does not document accepting a token beside a
long-term key); an STS session's key with another session token is refused with the same code.
Not modelled: SigV4 signatures (the secret key is not checked), unsigned requests (served as
before; no client of this system sends one).
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from emulator.credentials import (
    DEFAULT_LOCAL_ACCESS_KEY_ID,
    DEFAULT_LOCAL_SECRET_ACCESS_KEY,
    LOCAL_ACCESS_KEY_ID_ENV,
    LOCAL_SECRET_ACCESS_KEY_ENV,
    local_access_key_id,
    local_secret_access_key,
)

__all__ = [
    "DEFAULT_LOCAL_ACCESS_KEY_ID",
    "DEFAULT_LOCAL_SECRET_ACCESS_KEY",
    "LOCAL_ACCESS_KEY_ID_ENV",
    "LOCAL_SECRET_ACCESS_KEY_ENV",
    "is_local_user",
    "local_access_key_id",
    "local_secret_access_key",
    "unknown_key_error",
]

INVALID_TOKEN_MESSAGE = "The security token included in the request is invalid."
S3_INVALID_KEY_MESSAGE = "The AWS access key Id you provided does not exist in our records."


def is_local_user(access_key_id: str, session_token: str | None) -> bool:
    """Whether a request signed with this key (and token) is the configured local user's."""
    return access_key_id == local_access_key_id() and not session_token


def unknown_key_error(
    service: str, protocol: str, *, access_key_id: str = "", query_compatible: bool = False
) -> Exception:
    """AWS's answer to a key it has no record of, in the protocol's error shape (see above).

    Every answer is an HTTP exception (status 403), which moto renders as it is on every path
    (``call_action``, the S3 handlers, the in-process stubber). ``query_compatible``: the
    ``x-amzn-query-error`` header to send beside the JSON body (``QUERY_ERROR_HEADER``).
    """
    from xml.sax.saxutils import escape

    from moto.core.exceptions import JsonRESTError

    from emulator.aws.iam.decisions import moto_errors

    query_error, _ = moto_errors()
    if protocol == "rest-xml":
        error: Any = query_error("InvalidAccessKeyId", S3_INVALID_KEY_MESSAGE)
        error.description = (
            '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>InvalidAccessKeyId</Code>'
            f"<Message>{escape(S3_INVALID_KEY_MESSAGE)}</Message>"
            f"<AWSAccessKeyId>{escape(access_key_id)}</AWSAccessKeyId>"
            f"<RequestId>{uuid.uuid4().hex[:16].upper()}</RequestId></Error>"
        )
        return error
    if protocol in ("query", "ec2"):
        return query_error("InvalidClientTokenId", INVALID_TOKEN_MESSAGE)
    return _json_error(JsonRESTError, query_compatible)


#: A JSON answer's header carrying the query code of an ``awsQueryCompatible`` service.
QUERY_ERROR_HEADER = ("x-amzn-query-error", "InvalidClientTokenId;Sender")


def _json_error(base: type, query_compatible: bool) -> Exception:
    class UnrecognizedClient(base):  # type: ignore[misc,valid-type]
        code = 403

        def get_headers(self, *args: Any, **kwargs: Any) -> list[tuple[str, str]]:
            headers = [
                ("Content-Type", "application/x-amz-json-1.1"),
                ("X-Amzn-ErrorType", "UnrecognizedClientException"),
                ("x-amzn-RequestId", str(uuid.uuid4())),
            ]
            return [*headers, QUERY_ERROR_HEADER] if query_compatible else headers

    error = UnrecognizedClient("UnrecognizedClientException", INVALID_TOKEN_MESSAGE)
    error.description = json.dumps(
        {"__type": "UnrecognizedClientException", "message": INVALID_TOKEN_MESSAGE}
    )
    return error  # type: ignore[no-any-return]
