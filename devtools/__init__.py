"""Development helpers shared by the generators and tests (not shipped to AWS)."""
