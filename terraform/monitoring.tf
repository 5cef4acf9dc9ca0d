# ---------------------------------------------------------------------------------------------
# Monitoring: the CloudWatch alarms that notify the topic (failed runs, dead letters, the
# endpoint's errors and latency, drift) and the drift monitor on a schedule.
# ---------------------------------------------------------------------------------------------

locals {
  # The dead-letter queues: EventBridge's (trigger_dlq) and each trigger's (trigger.tf).
  dead_letter_queues = merge(
    { trigger = { name = aws_sqs_queue.trigger_dlq.name, what = "S3 events that could not start a run" } },
    {
      for key in keys(local.request_queues) : key => {
        name = aws_sqs_queue.request_dlq[key].name
        what = "Requests the ${key} trigger gave up on"
      }
    },
  )

  # Every alarm this module creates, by its name's suffix ("<project_name>-<key>"): each fires
  # at or above its threshold in one period, counts missing data as not breaching, and
  # notifies the topic (and, with notify_ok, notifies again when it clears). The rollback
  # alarms are not here: the deployment plan creates them per deployment, on the new fleet.
  alarms = merge(
    {
      for key, machine in local.state_machines : "${key}-executions-failed" => {
        description = "A ${machine.name} execution failed."
        namespace   = "AWS/States"
        metric      = "ExecutionsFailed"
        dimensions  = { StateMachineArn = aws_sfn_state_machine.this[key].arn }
        statistic   = "Sum"
        period      = 300
        threshold   = 1
        notify_ok   = true
      }
    },
    {
      for key, queue in local.dead_letter_queues : "${key}-dead-letters" => {
        description = "${queue.what} are waiting in ${queue.name}."
        namespace   = "AWS/SQS"
        metric      = "ApproximateNumberOfMessagesVisible"
        dimensions  = { QueueName = queue.name }
        statistic   = "Maximum"
        period      = 300
        threshold   = 1
        notify_ok   = false
      }
    },
    # The endpoint's own alarms (deployment_guardrails.tf): how the serving model is doing.
    {
      for key, alarm in local.endpoint_alarms : "endpoint-${key}" => {
        description = "${local.endpoint_name}: ${alarm.text}"
        namespace   = "AWS/SageMaker"
        metric      = alarm.metric
        dimensions  = local.endpoint_dimensions
        statistic   = alarm.statistic
        # SageMaker publishes endpoint metrics at one-minute frequency: 60 s is the shortest.
        period    = 60
        threshold = alarm.threshold
        notify_ok = true
      }
    },
    { drift-detected = local.drift_alarm },
  )
}

resource "aws_cloudwatch_metric_alarm" "this" {
  for_each = local.alarms

  alarm_name          = "${local.name}-${each.key}"
  alarm_description   = each.value.description
  namespace           = each.value.namespace
  metric_name         = each.value.metric
  dimensions          = each.value.dimensions
  statistic           = each.value.statistic
  period              = each.value.period
  evaluation_periods  = 1
  threshold           = each.value.threshold
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.notifications.arn]
  ok_actions          = each.value.notify_ok ? [aws_sns_topic.notifications.arn] : []
}

# ---- Drift: the monitoring machine on an EventBridge Scheduler schedule, and its alarm ---------
# SageMaker Model Monitor is closed to new customers; the monitoring machine (statemachines/
# monitoring) runs ml/monitor.py on the endpoint's captured traffic instead, publishes
# DriftDetected per endpoint (ml/monitor_report.py METRIC_NAMESPACE) and, with
# retrain_on_drift, sends one training request through the uploads queue.

locals {
  drift_metric_namespace = "MLOps/Drift"
  retrain_data_uri       = coalesce(var.retrain_data_uri, local.default_data_uri)

  # The drift alarm (one of local.alarms).
  drift_alarm = {
    description = "The drift monitor judged ${local.endpoint_name}'s traffic to have drifted from its model's training data (make monitor; docs/monitoring.md)."
    namespace   = local.drift_metric_namespace
    metric      = "DriftDetected"
    dimensions  = { EndpointName = local.endpoint_name }
    statistic   = "Maximum"
    # One monitoring run's window: each run publishes DriftDetected once; no run, or a run
    # that judged nothing (insufficient-data publishes 0), never alarms.
    period    = var.monitoring_window_minutes * 60
    threshold = 1
    # Each run's own notification says when the drift is gone; only the alarm notifies.
    notify_ok = false
  }
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
