# ---------------------------------------------------------------------------------------------
# Monitoring: CloudWatch alarms on failed runs, dead letters and the endpoint's
# errors and latency (deployment_guardrails.tf); every alarm notifies the topic.
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
