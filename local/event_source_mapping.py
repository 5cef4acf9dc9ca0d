"""Compatibility path: Lambda's SQS event source mappings now live in ``local/aws/sqs.py``.

``local.event_source_mapping`` *is* that module (same object, same poller), for the tests that
still import the old name (``tests/integration/test_trigger_moto.py``).
"""

from __future__ import annotations

import sys

from local.aws import sqs

sys.modules[__name__] = sqs
