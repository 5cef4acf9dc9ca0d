"""Monitor plan: the monitoring machine's first state, finding what to compare and the job."""
