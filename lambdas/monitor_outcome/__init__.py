"""Monitor outcome: read a finished drift job, publish its metrics, request a retraining on drift."""
