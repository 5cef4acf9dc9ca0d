"""Snapshot: copy the exact object version a training run was checked against into its own prefix."""
