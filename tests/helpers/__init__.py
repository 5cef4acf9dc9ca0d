"""Helpers shared by the test suites (event payloads and the like)."""
