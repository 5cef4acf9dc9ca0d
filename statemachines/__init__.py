"""The Step Functions state machine, defined in Python and exported to committed ASL."""
