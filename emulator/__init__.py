"""An AWS emulator: moto in server mode, extended where the system depends on AWS's behaviour.

It imports moto, botocore, their own dependencies and the standard library only, and knows
nothing of the product that runs on it (emulator/README.md lists what it emulates)::

    process.py            the server as a child process: ``python -m emulator up|down|status``
    server.py             the server process: moto's app with the extensions, the pipeline runner
    runner.py             the local SageMaker executor wired to the emulator's SageMaker
    aws/                  the extensions of moto, one module per service, composed in order
    sfn_errors.py         the error names Step Functions tasks report
    sagemaker_executor/   SageMaker pipeline executions run by local processes
    containers/           the SageMaker containers' conventions and local interpreters
"""
