"""S3 upload trigger: turns an EventBridge "Object Created" event into one Step Functions run.

Only `handler.py` and `logic.py` ship in the Lambda zip, at its root; this file exists so the
tests can import the code as `lambdas.trigger`.
"""
