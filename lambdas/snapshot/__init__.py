"""Snapshot: copy the exact object version a run was checked against into its own prefix."""
