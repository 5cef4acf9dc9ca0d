"""Monitor outcome: read an ended drift job, publish its metrics, request a retraining."""
