"""Deployment plan: the deployment machine's first state, deciding what a request means."""
