# ---------------------------------------------------------------------------------------------
# Guarded deployment: SageMaker's blue/green update (ALL_AT_ONCE by default, or CANARY) with
# automatic rollback on alarms of the NEW fleet, which the deployment plan creates per deployment
# on the new config's EndpointConfigName and the notify function deletes when the attempt ends.
# ---------------------------------------------------------------------------------------------
# Why per deployment: SageMaker counts both fleets' errors toward an alarm on {EndpointName,
# VariantName}, and "if your old fleet trips the alarm during the deployment, SageMaker terminates
# your deployment"; an alarm on EndpointConfigName, which only the new fleet publishes, watches the
# new model alone (https://docs.aws.amazon.com/sagemaker/latest/dg/deployment-guardrails-configuration.html).
# Which metrics: the ones that measure the model. Invocation5XXErrors ("the number of
# InvokeEndpoint requests where the model returned a 5xx HTTP response code") and ModelLatency
# ("the interval of time taken by a model to respond", microseconds); not Invocation4XXErrors,
# which counts requests the caller got wrong, so a client sending bad requests cannot veto a
# deployment (https://docs.aws.amazon.com/sagemaker/latest/dg/monitoring-cloudwatch.html).
# UpdateEndpoint's DeploymentConfig (botocore's sagemaker model): WaitIntervalInSeconds 0-3600,
# TerminationWaitInSeconds 0-3600, MaximumExecutionTimeoutInSeconds 600-28800, 1-10 alarms.

locals {
  # Provisioning the new fleet, its baking periods and the wait before the old fleet is
  # terminated must fit in the deployment's timeout.
  deployment_max_execution_seconds = min(
    28800,
    max(600, 1800 + 2 * var.deployment_baking_seconds + var.deployment_termination_wait_seconds),
  )

  # The deployment plan's settings (lambdas/deployment_plan/settings.py reads this document).
  deployment_guardrails = {
    traffic                  = var.deployment_traffic
    canary_percent           = var.deployment_canary_percent
    baking_seconds           = var.deployment_baking_seconds
    termination_wait_seconds = var.deployment_termination_wait_seconds
    max_execution_seconds    = local.deployment_max_execution_seconds
    alarms = [
      # SageMaker publishes endpoint metrics at one-minute frequency: 60 s is the shortest period.
      { suffix = "model-5xx", metric = "Invocation5XXErrors", statistic = "Sum", threshold = var.deployment_5xx_errors_threshold, period = 60, evaluation_periods = 1, comparison = "GreaterThanOrEqualToThreshold" },
      { suffix = "model-latency", metric = "ModelLatency", statistic = "Average", threshold = var.endpoint_latency_threshold_ms * 1000, period = 60, evaluation_periods = 1, comparison = "GreaterThanOrEqualToThreshold" },
    ]
  }

  # The endpoint's own alarms (monitoring.tf creates them): they tell the topic how the serving
  # model is doing (both fleets, all callers); they never roll a deployment back.
  endpoint_alarms = {
    invocation-5xx = {
      metric    = "Invocation5XXErrors"
      statistic = "Sum"
      threshold = var.deployment_5xx_errors_threshold
      text      = "The endpoint returned at least ${var.deployment_5xx_errors_threshold} 5XX errors in a minute."
    }
    model-latency = {
      metric    = "ModelLatency"
      statistic = "Average"
      threshold = var.endpoint_latency_threshold_ms * 1000
      text      = "Average model latency over a minute is at least ${var.endpoint_latency_threshold_ms} ms."
    }
  }
}
