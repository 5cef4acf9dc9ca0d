# ---------------------------------------------------------------------------------------------
# Monitoring: CloudWatch alarms on failed runs, dead letters and the endpoint's
# errors and latency (deployment_guardrails.tf); the drift monitor on a schedule and its alarm.
# Every alarm notifies the topic.
# ---------------------------------------------------------------------------------------------

resource "aws_cloudwatch_metric_alarm" "executions_failed" {
  for_each = local.state_machines

  alarm_name          = "${local.name}-${each.key}-executions-failed"
  alarm_description   = "A ${each.value.name} execution failed."
  namespace           = "AWS/States"
  metric_name         = "ExecutionsFailed"
  dimensions          = { StateMachineArn = aws_sfn_state_machine.this[each.key].arn }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.notifications.arn]
  ok_actions          = [aws_sns_topic.notifications.arn]
}

resource "aws_cloudwatch_metric_alarm" "trigger_dead_letters" {
  alarm_name          = "${local.name}-trigger-dead-letters"
  alarm_description   = "S3 events that could not start a run are waiting in ${aws_sqs_queue.trigger_dlq.name}."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = aws_sqs_queue.trigger_dlq.name }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.notifications.arn]
}

# The endpoint alarms (5XX, model latency) live in deployment_guardrails.tf, beside the rollback
# alarms each deployment creates on its new fleet.

# ---- Drift: the monitoring machine on an EventBridge Scheduler schedule, and its alarm ---------
# SageMaker Model Monitor is closed to new customers; the monitoring machine (statemachines/
# monitoring) runs ml/monitor.py on the endpoint's captured traffic instead, publishes
# DriftDetected per endpoint (ml/monitor_report.py METRIC_NAMESPACE) and, with
# retrain_on_drift, sends one training request through the uploads queue.

locals {
  drift_metric_namespace = "MLOps/Drift"
  retrain_data_uri       = coalesce(var.retrain_data_uri, local.default_data_uri)
}

data "aws_iam_policy_document" "monitoring_schedule_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["scheduler.amazonaws.com"]
    }

    # Confused-deputy guard: only this account's schedule may assume the role
    # (https://docs.aws.amazon.com/scheduler/latest/UserGuide/cross-service-confused-deputy-prevention.html).
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "monitoring_schedule" {
  name               = "${local.name}-monitoring-schedule"
  description        = "Lets the drift monitor's schedule start ${local.monitoring_machine_name}."
  assume_role_policy = data.aws_iam_policy_document.monitoring_schedule_assume.json
}

data "aws_iam_policy_document" "monitoring_schedule" {
  statement {
    sid       = "StartTheMonitoringMachine"
    actions   = ["states:StartExecution"]
    resources = [aws_sfn_state_machine.this["monitoring"].arn]
  }
}

resource "aws_iam_role_policy" "monitoring_schedule" {
  name   = "start-monitoring"
  role   = aws_iam_role.monitoring_schedule.id
  policy = data.aws_iam_policy_document.monitoring_schedule.json
}

resource "aws_scheduler_schedule" "monitoring" {
  #checkov:skip=CKV_AWS_297:The schedule holds no data but a fixed input ({"scheduled_time"}); AWS encrypts it with its own key, and a CMK adds cost without a stated need.
  name        = "${local.name}-drift-monitor"
  description = "Judges ${local.endpoint_name}'s captured traffic for drift (${local.monitoring_machine_name})."

  schedule_expression = var.monitoring_schedule
  state               = var.monitoring_enabled ? "ENABLED" : "DISABLED"

  flexible_time_window {
    mode = "OFF"
  }

  target {
    arn      = aws_sfn_state_machine.this["monitoring"].arn
    role_arn = aws_iam_role.monitoring_schedule.arn
    # The run judges the window before its scheduled time (contracts/monitoring.py); the
    # scheduler replaces the context attribute's literal text at each run
    # (https://docs.aws.amazon.com/scheduler/latest/UserGuide/managing-schedule-context-attributes.html).
    # Not jsonencode(): it writes "<" as \u003c, which the scheduler would not recognise.
    input = "{\"scheduled_time\": \"<aws.scheduler.scheduled-time>\"}"

    retry_policy {
      maximum_event_age_in_seconds = 3600
      maximum_retry_attempts       = 3
    }
  }

  depends_on = [aws_iam_role_policy.monitoring_schedule]
}

resource "aws_cloudwatch_metric_alarm" "drift" {
  alarm_name        = "${local.name}-drift-detected"
  alarm_description = "The drift monitor judged ${local.endpoint_name}'s traffic to have drifted from its model's training data (make monitor; docs/monitoring.md)."
  namespace         = local.drift_metric_namespace
  metric_name       = "DriftDetected"
  dimensions        = { EndpointName = local.endpoint_name }
  statistic         = "Maximum"
  # One monitoring run's window: each run publishes DriftDetected once.
  period              = var.monitoring_window_minutes * 60
  evaluation_periods  = 1
  threshold           = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  # No run, or a run that judged nothing (insufficient-data publishes 0), never alarms.
  treat_missing_data = "notBreaching"
  # Each run's own notification says when the drift is gone; only the alarm itself notifies.
  alarm_actions = [aws_sns_topic.notifications.arn]
}
