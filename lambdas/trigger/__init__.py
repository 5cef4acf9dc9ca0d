"""S3 upload trigger: reads queued EventBridge "Object Created" events (an SQS FIFO queue with one
message group) and starts one Step Functions run at a time, in upload order.

Only `handler.py` and `logic.py` ship in the Lambda zip, at its root; this file exists so the
tests can import the code as `lambdas.trigger`.
"""
