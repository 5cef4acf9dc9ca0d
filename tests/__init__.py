"""Test suite: `unit` (no AWS), `integration` (moto, Terraform on the emulator), `e2e`."""
