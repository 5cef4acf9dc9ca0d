# ---------------------------------------------------------------------------------------------
# Guarded deployment: SageMaker's blue/green canary with automatic rollback on the
# endpoint alarms below, and the smoke-test Lambda the state machine runs once the endpoint is
# InService. The state machine reads the settings from ${deployment_guardrails_json}.
# ---------------------------------------------------------------------------------------------
# UpdateEndpoint's DeploymentConfig (botocore's sagemaker model; API_TrafficRoutingConfig.html):
# WaitIntervalInSeconds 0-3600, TerminationWaitInSeconds 0-3600, MaximumExecutionTimeoutInSeconds
# 600-28800 and larger than the waits, 1-10 rollback alarms, and a canary "less than or equal to
# 50% of the variant's total instance count". An instance cannot be split, so a canary needs a
# fleet of at least two instances (variables.tf: endpoint_instance_count); the stricter reading
# is taken: the canary must be a whole number of instances, never rounded.
# https://docs.aws.amazon.com/sagemaker/latest/dg/deployment-guardrails-blue-green-canary.html

locals {
  # CloudWatch alarms watched during the canary's baking; SageMaker rolls back when one trips.
  # Metrics: https://docs.aws.amazon.com/sagemaker/latest/dg/monitoring-cloudwatch.html
  # (ModelLatency is in microseconds).
  endpoint_alarms = {
    invocation-5xx = {
      metric    = "Invocation5XXErrors"
      statistic = "Sum"
      threshold = var.deployment_5xx_errors_threshold
      text      = "The endpoint returned at least ${var.deployment_5xx_errors_threshold} 5XX errors in a minute."
    }
    invocation-4xx = {
      metric    = "Invocation4XXErrors"
      statistic = "Sum"
      threshold = var.deployment_4xx_errors_threshold
      text      = "The endpoint refused at least ${var.deployment_4xx_errors_threshold} invocations (4XX) in a minute."
    }
    model-latency = {
      metric    = "ModelLatency"
      statistic = "Average"
      threshold = var.endpoint_latency_threshold_ms * 1000
      text      = "Average model latency over a minute is at least ${var.endpoint_latency_threshold_ms} ms."
    }
  }

  # Provisioning the green fleet, the canary's baking, the final baking after the full shift
  # and the wait before the blue fleet is terminated must fit in the deployment's timeout.
  deployment_max_execution_seconds = min(
    28800,
    max(600, 1800 + 2 * var.deployment_baking_seconds + var.deployment_termination_wait_seconds),
  )

  deployment_guardrails = {
    instance_count           = var.endpoint_instance_count
    canary_percent           = var.deployment_canary_percent
    baking_seconds           = var.deployment_baking_seconds
    termination_wait_seconds = var.deployment_termination_wait_seconds
    max_execution_seconds    = local.deployment_max_execution_seconds
    alarms                   = [for key in sort(keys(local.endpoint_alarms)) : { AlarmName = "${local.name}-endpoint-${key}" }]
  }

  smoke_test_name = "${local.name}-smoke-test"
}

resource "aws_cloudwatch_metric_alarm" "endpoint" {
  for_each = local.endpoint_alarms

  alarm_name        = "${local.name}-endpoint-${each.key}"
  alarm_description = "${local.endpoint_name}: ${each.value.text} Rolls a deployment back during its baking period."
  namespace         = "AWS/SageMaker"
  metric_name       = each.value.metric
  dimensions        = local.endpoint_dimensions
  statistic         = each.value.statistic
  # SageMaker publishes endpoint metrics at one-minute frequency: 60 s is the shortest period.
  period              = 60
  evaluation_periods  = 1
  threshold           = each.value.threshold
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.notifications.arn]
  ok_actions          = [aws_sns_topic.notifications.arn]
}

# ---- the smoke-test Lambda (lambdas/smoke_test) ----------------------------------------------

data "aws_iam_policy_document" "smoke_test" {
  statement {
    sid       = "ReadEvaluationReports"
    actions   = ["s3:GetObject"]
    resources = ["${local.bucket_arn}/evaluation/*"]
  }

  statement {
    sid       = "InvokeTheEndpoint"
    actions   = ["sagemaker:InvokeEndpoint"]
    resources = ["${local.sagemaker_arn_prefix}:endpoint/${local.endpoint_name}"]
  }

  dynamic "statement" {
    for_each = var.kms_key_arn == "" ? [] : [var.kms_key_arn]

    content {
      sid       = "DecryptEvaluationReports"
      actions   = ["kms:Decrypt"]
      resources = [statement.value]
    }
  }
}

module "smoke_test" {
  source = "./modules/lambda_function"

  name             = local.smoke_test_name
  description      = "Smoke-tests ${local.endpoint_name} after a deployment, against the evaluation's predictions."
  role_description = "Role of the ${local.smoke_test_name} Lambda: reads evaluation reports, invokes the endpoint."
  policy_name      = "smoke-test"
  policy_json      = data.aws_iam_policy_document.smoke_test.json
  filename         = "${local.build_dir}/smoke_test.zip"
  source_code_hash = filebase64sha256("${local.build_dir}/smoke_test.zip")
  # A cold endpoint container may take a while to answer its first request.
  timeout            = 120
  log_retention_days = var.log_retention_days
}
