"""Pipeline outcome: what a finished SageMaker Pipeline execution produced, for the machine."""
