"""The configured local user: the one long-term access key pair the emulator accepts.

The emulator process, its own clients (``process.Emulator.client``, the services inside it
acting as the account's root) and its callers (the harness, Terraform's local override, the
test fixtures) sign with this pair. Every other key is refused unless the emulator issued it as
an STS session (``emulator/aws/iam/keys.py``). Standard library only: ``process.py`` imports it
without loading moto.
"""

from __future__ import annotations

import os

#: The local user's access key id, read by the emulator process at each request.
LOCAL_ACCESS_KEY_ID_ENV = "EMULATOR_ACCESS_KEY_ID"
#: Its secret, for clients; the emulator never checks it (SigV4 signatures are not verified).
LOCAL_SECRET_ACCESS_KEY_ENV = "EMULATOR_SECRET_ACCESS_KEY"
DEFAULT_LOCAL_ACCESS_KEY_ID = "testing"
DEFAULT_LOCAL_SECRET_ACCESS_KEY = "testing"


def local_access_key_id() -> str:
    """The configured local user's access key id."""
    return os.environ.get(LOCAL_ACCESS_KEY_ID_ENV) or DEFAULT_LOCAL_ACCESS_KEY_ID


def local_secret_access_key() -> str:
    """The configured local user's secret access key."""
    return os.environ.get(LOCAL_SECRET_ACCESS_KEY_ENV) or DEFAULT_LOCAL_SECRET_ACCESS_KEY
