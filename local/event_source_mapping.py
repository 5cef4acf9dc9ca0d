"""Compatibility path: Lambda's SQS event source mappings now live in ``local/aws/sqs.py``.

``local.event_source_mapping`` *is* that module (same object, same poller), for the tests that
still import the old name (``tests/integration/test_trigger_moto.py``); the names below are
listed for type checkers.
"""

from __future__ import annotations

import sys

from local.aws import sqs
from local.aws.sqs import install, messages_to_delete, poll_once, reset, sqs_record, wait_idle

sys.modules[__name__] = sqs

__all__ = ["install", "messages_to_delete", "poll_once", "reset", "sqs_record", "wait_idle"]
